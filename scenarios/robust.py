"""``khusheh-robust``: which programme is robust? Every programme of a set over sampled uncertain worlds.

    khusheh-robust carpet_kashan --worlds 64 --seeds 8 --out robust/carpet_kashan
    khusheh-report robust/carpet_kashan --out briefs/robust_carpet_kashan

An EMA workbench experiment (the ``ema`` extra) on :func:`scenarios.ema.ema_model`: ``--worlds`` uncertain
worlds, a Latin hypercube sample (EMA's ``Samplers.LHS``) over ``conf/sensitivity.yaml``'s ranges, crossed
with every programme (one EMA ``Sample`` a programme, full factorial), each experiment replicated on
``--seeds`` seeds. Every programme is compared with the baseline (``none``) on the same world and seed; the
baseline of a world and seed is run once and shared by every programme and worker process through a cache
folder written atomically (removed at the end). On ``--n-jobs`` processes (EMA's ``MultiprocessingEvaluator``;
1: its ``SequentialEvaluator``).

Writes ``robustness.parquet`` (a row per world, programme and seed: the seed-level paired effects) and
``_robustness.json`` through :mod:`scenarios.results` (docs/RESULTS.md); the analysis (share of worlds with a
positive effect, median effect, regret, PRIM scenario discovery) is ``khusheh-report``'s
(:mod:`analysis.robust`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from model import ParameterError, presets

from . import results
from .ema import OUTCOMES, ema_model, policy_choices, uncertain_ranges

EFFECTS = tuple(f"{o}_effect_horizon" for o in OUTCOMES)
"""The seed-level outcomes kept: each model outcome's paired effect in the horizon's month."""


def default_programmes(baseline: str = "none") -> tuple[str, ...]:
    """The single-cluster policy presets but the baseline and ``zero_budget`` (the ``programme`` lever's)."""
    return policy_choices(baseline)


def robustness_model(cluster: str, programmes, seeds, *, months: int, n_firms: int | None, baseline: str,
                     cache_dir: Path, overrides: dict | None = None):
    """:func:`scenarios.ema.ema_model` with the programme as its only lever and the seed-level effects kept
    (an ``ArrayOutcome`` a model outcome: one value a seed) instead of their mean."""
    import ema_workbench as ema

    m = ema_model(cluster, months=months, n_firms=n_firms, seeds=seeds, baseline=baseline, levers={},
                  policies=programmes, overrides=overrides, cache_dir=cache_dir, name="khusheh_robust")
    # named apart from ema_model's (scalar) outcomes: EMA keeps one class per outcome name
    m.outcomes = [ema.ArrayOutcome(f"{name}_by_seed", variable_name=name, function=np.asarray, shape=(len(m.replications),),
                                   dtype=float) for name in EFFECTS]
    return m


def _check(cluster, programmes, baseline, worlds, seeds, months, n_firms, n_jobs) -> None:
    if cluster not in presets.names("cluster"):
        raise ParameterError(f"cluster = {cluster!r} is not a cluster preset; choose one of "
                             f"{', '.join(presets.names('cluster'))}")
    allowed = default_programmes(baseline)
    unknown = [p for p in programmes if p not in allowed]
    if unknown or not programmes:
        raise ParameterError(f"programmes: {', '.join(unknown) or 'none given'}; choose one or more of "
                             f"{', '.join(allowed)}")
    if len(set(programmes)) != len(programmes):
        raise ParameterError(f"programmes: {', '.join(programmes)} names one twice")
    for name, value, low in (("worlds", worlds, 2), ("seeds", seeds, 1), ("months", months, 1), ("n_jobs", n_jobs, 1)):
        if not isinstance(value, int | np.integer) or value < low:
            raise ParameterError(f"{name} = {value!r}: must be a whole number, at least {low}")
    if n_firms is not None and (not isinstance(n_firms, int | np.integer) or n_firms < 1):
        raise ParameterError(f"n_firms = {n_firms!r}: must be a whole number, at least 1")


def run(cluster: str, out: str | Path, *, worlds: int = 64, seeds: int = 8, programmes=None, months: int = 120,
        n_firms: int | None = None, baseline: str = "none", rng: int = 0, n_jobs: int = 2,
        overrides: dict | None = None) -> dict:
    """Run the robustness experiment and write it into ``out``; returns its description (``_robustness.json``).

    Seeds are ``0 .. seeds-1`` in every world (common random numbers across programmes and worlds); ``rng``
    seeds the Latin hypercube.
    """
    with warnings.catch_warnings():  # EMA warns at import of an optional package (ipyparallel) it does not need
        warnings.simplefilter("ignore", UserWarning)
        import ema_workbench as ema

    programmes = tuple(default_programmes(baseline) if programmes is None else programmes)
    _check(cluster, programmes, baseline, worlds, seeds, months, n_firms, n_jobs)
    out = Path(out)
    probe = out / ".khusheh-robust-probe"  # a folder it cannot write fails now, not after the runs
    results.write_text(probe, "")
    probe.unlink()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="khusheh-robust-") as cache:
        m = robustness_model(cluster, programmes, range(seeds), months=months, n_firms=n_firms, baseline=baseline,
                             cache_dir=Path(cache), overrides=overrides)
        samples = [ema.Sample(name=p, programme=p) for p in programmes]
        if n_jobs == 1:
            evaluator = ema.SequentialEvaluator(m)
        else:
            evaluator = ema.MultiprocessingEvaluator(m, n_processes=n_jobs)
        with warnings.catch_warnings():
            # EMA starts its log thread before it forks the pool, which Python warns of
            warnings.filterwarnings("ignore", message="This process .* is multi-threaded", category=DeprecationWarning)
            with evaluator as ev:
                experiments, outcomes = ev.perform_experiments(
                    scenarios=worlds, policies=samples, uncertainty_sampling=ema.Samplers.LHS,
                    uncertainty_sampling_kwargs={"rng": rng})
        baselines = len(list(Path(cache).glob("baseline-*.json")))
    seconds = time.perf_counter() - started
    table = tidy(experiments, outcomes, cluster=cluster, baseline=baseline, months=months, n_firms=n_firms)
    meta = {
        "kind": "khusheh-robust", "cluster": cluster, "baseline": baseline, "programmes": list(programmes),
        "worlds": worlds, "seeds": list(range(seeds)), "months": months, "n_firms": n_firms, "lhs_rng": rng,
        "overrides": dict(overrides or {}), "uncertainties": {k: list(v) for k, v in uncertain_ranges().items()},
        "outcomes": list(EFFECTS), "model_runs": len(experiments) * seeds + baselines,
        "baseline_runs": baselines, "n_jobs": n_jobs,
        "identity": [c for c in table.columns if c in results.ROBUSTNESS_IDENTITY or c == "cluster.n_firms"],
        "provenance": {**results.provenance(rng, results.config_hash({
            "cluster": cluster, "baseline": baseline, "programmes": list(programmes), "worlds": worlds,
            "seeds": seeds, "months": months, "n_firms": n_firms, "rng": rng, "overrides": dict(overrides or {})}),
            seconds), "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")},
    }
    results.write_robustness(out, table, meta)
    return meta


def tidy(experiments: pd.DataFrame, outcomes: dict, *, cluster: str, baseline: str, months: int,
         n_firms: int | None) -> pd.DataFrame:
    """EMA's experiments and seed-level outcomes as one row per world, programme and seed, identity first."""
    uncs = list(uncertain_ranges())
    world = pd.factorize(experiments["scenario"].astype(str))[0]
    n_seeds = outcomes[f"{EFFECTS[0]}_by_seed"].shape[1]
    rows = []
    for i in range(len(experiments)):
        for s in range(n_seeds):
            row = {"cluster_preset": cluster, "policy": str(experiments["programme"].iloc[i]), "shock": "none",
                   "seed": s, "world": int(world[i]), "baseline": baseline, "months": months}
            if n_firms is not None:
                row["cluster.n_firms"] = int(n_firms)
            row.update({u: float(experiments[u].iloc[i]) for u in uncs})
            row.update({e: float(outcomes[f"{e}_by_seed"][i, s]) for e in EFFECTS})
            rows.append(row)
    return pd.DataFrame(rows).astype({"seed": "int64", "world": "int64", "months": "int64"})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="khusheh-robust", description="Which programme is robust? Every programme over sampled uncertain "
        "worlds (Latin hypercube over conf/sensitivity.yaml) x seeds, each against the baseline on the same world "
        "and seed (EMA workbench; the ema extra). Then: khusheh-report OUT --out BRIEF.")
    parser.add_argument("cluster", help="a cluster preset (single cluster), e.g. carpet_kashan")
    parser.add_argument("--out", required=True, help="folder for robustness.parquet and _robustness.json")
    parser.add_argument("--worlds", type=int, default=64, help="uncertain worlds, Latin hypercube (default 64)")
    parser.add_argument("--seeds", type=int, default=8, help="seeds per world, 0..N-1 (default 8; docs/USAGE.md "
                        "says why)")
    parser.add_argument("--programmes", default="", help="comma-separated policy presets (default: every "
                        "single-cluster preset but none and zero_budget)")
    parser.add_argument("--months", type=int, default=120, help="horizon in months (default 120)")
    parser.add_argument("--n-firms", type=int, default=None, help="firms (default: the preset's)")
    parser.add_argument("--baseline", default="none", help="the policy preset compared against (default none)")
    parser.add_argument("--rng", type=int, default=0, help="seed of the Latin hypercube (default 0)")
    parser.add_argument("--n-jobs", type=int, default=2, help="worker processes (default 2; 1: sequential)")
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            import ema_workbench  # noqa: F401
    except ImportError:
        print("khusheh-robust: needs EMA workbench: uv sync --extra ema", file=sys.stderr)
        return 2
    programmes = [p.strip() for p in args.programmes.split(",") if p.strip()] or None
    try:
        meta = run(args.cluster, args.out, worlds=args.worlds, seeds=args.seeds, programmes=programmes,
                   months=args.months, n_firms=args.n_firms, baseline=args.baseline, rng=args.rng,
                   n_jobs=args.n_jobs)
    except ParameterError as err:
        print(f"khusheh-robust: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(results.write_error(Path(args.out), err).replace("khusheh-run", "khusheh-robust"), file=sys.stderr)
        return 2
    out = Path(args.out)
    print(f"robustness: {meta['worlds']} worlds x {len(meta['seeds'])} seeds x {len(meta['programmes'])} programmes "
          f"({meta['model_runs']} model runs, {meta['baseline_runs']} of the baseline) in "
          f"{meta['provenance']['wall_seconds']:.0f} s on {meta['n_jobs']} process(es): {out / results.ROBUSTNESS}\n"
          f"report:     khusheh-report {out} --out {out / 'report'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
