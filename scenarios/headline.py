"""``khusheh-headline``: the default cluster with and without the standard CDA, in numbers.

Runs the baseline and the ``standard_cda`` policy on the same seeds (common
random numbers) and prints, for chosen months, the mean over seeds of firms,
employment, mean trust and joint actions, and the difference CDA - baseline.
A quick look without Hydra; ``khusheh-run`` and ``khusheh-report`` are the full path.
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

from model import ClusterModel, ModelParams, ParameterError, presets

COLUMNS = ["firms", "employment", "mean_trust", "joint_actions"]


def compare(policy: str = "standard_cda", seeds: int = 5, months: int = 120, n_firms: int = 500,
            report_months=(12, 60, 120)) -> pd.DataFrame:
    """Mean over seeds of the headline columns, baseline vs ``policy``, at ``report_months``."""
    params = ModelParams(months=months).with_overrides(n_firms=n_firms)
    rows = []
    for name in ("none", policy):
        runs = [ClusterModel(params.with_overrides(**_policy_fields(name)), rng=seed).run().series()
                for seed in range(seeds)]
        mean = sum(r[COLUMNS] for r in runs) / len(runs)
        for month in report_months:
            if month <= months:
                rows.append({"policy": name, "month": month, **mean.loc[month].to_dict()})
    table = pd.DataFrame(rows).set_index(["month", "policy"]).unstack("policy")
    return table


def _policy_fields(name: str) -> dict:
    from dataclasses import asdict
    return {f"policy_{k}": v for k, v in asdict(presets.policy(name)).items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="khusheh-headline", description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="standard_cda", help=f"one of: {', '.join(presets.names('policy'))}")
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (0..seeds-1)")
    parser.add_argument("--months", type=int, default=120, help="horizon in months")
    parser.add_argument("--n-firms", type=int, default=500, help="initial firms in the cluster")
    args = parser.parse_args(argv)
    if args.policy not in presets.names("policy"):
        print(f"khusheh-headline: unknown policy {args.policy!r}; choose one of {', '.join(presets.names('policy'))}",
              file=sys.stderr)
        return 2
    if args.seeds < 1:
        print("khusheh-headline: --seeds must be at least 1", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        table = compare(args.policy, args.seeds, args.months, args.n_firms)
    except ParameterError as err:
        print(f"khusheh-headline: {err}", file=sys.stderr)
        return 2
    pd.set_option("display.width", 200)
    print(f"Default cluster ({args.n_firms} firms), baseline vs {args.policy}, mean of {args.seeds} seeds")
    for col in COLUMNS:
        sub = table[col].copy()
        sub["difference"] = sub[args.policy] - sub["none"]
        print(f"\n{col}:\n{sub.round(3).to_string()}")
    print(f"\n({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
