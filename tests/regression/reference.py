"""Reference runs whose summaries are stored in baseline.json.

Update the stored baseline when a change of results is intended:

    uv run python -m tests.regression.reference

and say in the commit message why the numbers moved.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from model import ClusterModel, ClusterSpec, ModelParams, presets

BASELINE = Path(__file__).with_name("baseline.json")
MONTHS = (0, 12, 36, 60, 120)


def reference_runs() -> dict[str, ClusterModel]:
    two = (ClusterSpec(name="carpet", town="Kashan", n_firms=300), ClusterSpec(name="gold", n_firms=200))
    configs = {
        "baseline_seed1": (ModelParams(policy=presets.policy("none")), 1),
        "standard_cda_seed1": (ModelParams(policy=presets.policy("standard_cda")), 1),
        "trust_first_demand_drop_seed2": (
            ModelParams(policy=presets.policy("trust_first")).with_overrides(shock_kind="demand_drop"), 2),
        "two_clusters_subsidy_seed3": (ModelParams(clusters=two, policy=presets.policy("subsidy_only")), 3),
    }
    return {name: ClusterModel(params, rng=seed).run() for name, (params, seed) in configs.items()}


def summarise(models: dict[str, ClusterModel]) -> dict:
    out = {}
    for name, m in models.items():
        df = m.series().set_index("month")
        out[name] = {str(t): {k: (v.item() if hasattr(v, "item") else v) for k, v in df.loc[t].items()}
                     for t in MONTHS}
    return out


def differences(stored: dict, fresh: dict, rel: float = 1e-9) -> list[str]:
    """Readable lines 'run / month / column: stored -> now' for every value that moved."""
    lines = []
    for run in sorted(set(stored) | set(fresh)):
        if run not in stored or run not in fresh:
            lines.append(f"{run}: {'missing now' if run not in fresh else 'not in the baseline'}")
            continue
        for month, row in stored[run].items():
            for col, old in sorted(row.items()):
                new = fresh[run].get(month, {}).get(col)
                same = (old == new) if isinstance(old, str) or new is None else math.isclose(
                    old, new, rel_tol=rel, abs_tol=1e-12)
                if not same:
                    lines.append(f"{run} / month {month} / {col}: {old!r} -> {new!r}")
    return lines


def main() -> None:
    summary = summarise(reference_runs())
    tmp = BASELINE.with_suffix(".tmp")
    tmp.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    tmp.replace(BASELINE)
    print(f"wrote {BASELINE}")


if __name__ == "__main__":
    main()
