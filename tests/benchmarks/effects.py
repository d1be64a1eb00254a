"""The programmes' effects against the baseline, and what holds them: the measurement of issue 22.

    python -m tests.benchmarks.effects [--seeds 10] [--jobs 2] [--clusters generic,towels_adrian,carpet_kashan]

For each cluster and each of the standard CDA, trust-first and subsidy-only programmes, the paired
effect (programme minus baseline on the same seed; mean over seeds, with the 95% interval's half-width,
t distribution) at months 48 (the CDA's exit), 84 and 120 on mean trust, joint actions a month (mean of
the 6 months ending there), employment, exports and cumulative exits; and, for the standard CDA, the
effect at month 120 with each of its collectives switched off (association, facility, consortium, groups)
and with gossip off, to show what holds a lasting effect. Prints JSON and a Markdown table.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from joblib import Parallel, delayed

from analysis.stats import half_width

PROGRAMMES = ("standard_cda", "trust_first", "subsidy_only")
MONTHS = (48, 84, 120)
OUTCOMES = ("mean_trust", "joint_actions", "employment", "exports", "exits")
HOLDERS = {"association": {"policy_association": False}, "facility": {"policy_common_facility": False},
           "consortium": {"policy_consortium_size": 0}, "groups": {"policy_groups_per_year": 0.0},
           "gossip": {"gossip_weight": 0.0}}


def _run(cluster: str, policy: str, seed: int, overrides: dict) -> dict:
    from model import ClusterModel

    s = ClusterModel(cluster=cluster, policy=policy, rng=seed, **overrides).run().series().set_index("month")
    out = {}
    for m in MONTHS:
        out[m] = {"mean_trust": s.mean_trust.loc[m], "joint_actions": s.joint_actions.loc[m - 5:m].mean(),
                  "employment": float(s.employment.loc[m]), "exports": s.exports.loc[m],
                  "exits": float(s.exits.loc[1:m].sum())}
    return out


def _summary(diffs: np.ndarray) -> tuple[float, float]:
    return float(diffs.mean()), half_width(diffs)


def measure(clusters, seeds: int, jobs: int) -> dict:
    cases = [(c, "none", s, {}) for c in clusters for s in range(seeds)]
    cases += [(c, p, s, {}) for c in clusters for p in PROGRAMMES for s in range(seeds)]
    cases += [(c, "standard_cda", s, o) for c in clusters for o in HOLDERS.values() for s in range(seeds)]
    runs = Parallel(n_jobs=jobs)(delayed(_run)(*case) for case in cases)
    got = {(c, p, s, json.dumps(o, sort_keys=True)): r for (c, p, s, o), r in zip(cases, runs)}
    result = {}
    for c in clusters:
        base = [got[(c, "none", s, "{}")] for s in range(seeds)]
        for p in PROGRAMMES:
            pol = [got[(c, p, s, "{}")] for s in range(seeds)]
            for m in MONTHS:
                for o in OUTCOMES:
                    result[f"{c}|{p}|{m}|{o}"] = _summary(np.array([a[m][o] - b[m][o] for a, b in zip(pol, base)]))
        for name, o in HOLDERS.items():
            pol = [got[(c, "standard_cda", s, json.dumps(o, sort_keys=True))] for s in range(seeds)]
            for out in OUTCOMES:
                result[f"{c}|standard_cda without {name}|120|{out}"] = _summary(
                    np.array([a[120][out] - b[120][out] for a, b in zip(pol, base)]))
    return result


def table(result: dict) -> str:
    digits = {"mean_trust": 3, "joint_actions": 1, "employment": 0, "exports": 0, "exits": 1}
    lines = ["| cluster | programme | month | " + " | ".join(OUTCOMES) + " |",
             "|---|---|---:|" + "---:|" * len(OUTCOMES)]
    rows = sorted({k.rsplit("|", 1)[0] for k in result}, key=lambda k: (k.split("|")[0], k.split("|")[1],
                                                                       int(k.split("|")[2])))
    for row in rows:
        c, p, m = row.split("|")
        cells = [f"{result[f'{row}|{o}'][0]:+.{digits[o]}f} ±{result[f'{row}|{o}'][1]:.{digits[o]}f}"
                 for o in OUTCOMES]
        lines.append(f"| {c} | {p} | {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--clusters", default="generic,towels_adrian,carpet_kashan")
    args = ap.parse_args(argv)
    result = measure(args.clusters.split(","), args.seeds, args.jobs)
    print(json.dumps(result))
    print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
