"""Statistics for stochastic scenario comparison on common random numbers.

- ``bands``: per scenario and month, the median and the 10-90% band over seeds;
- ``effects``: paired differences against the baseline on the same seeds, at the
  end of the CDA and at the horizon, with a bootstrap 95% CI, the effect size
  (mean difference / SD of the differences, Cohen's d_z) and the seeds used;
- ``seeds_needed``: how many seeds a CI half-width needs (normal approximation).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

BOOTSTRAP = 4000
BOOT_SEED = 20261127  # the CIs are reproducible


def bands(series: pd.DataFrame, columns, by=("context", "policy")) -> pd.DataFrame:
    """Median, 10% and 90% quantiles over seeds, per scenario and month, for each column."""
    g = series.groupby([*by, "month"])[list(columns)]
    out = pd.concat({"p10": g.quantile(0.1), "median": g.median(), "p90": g.quantile(0.9)}, axis=1)
    return out


def bootstrap_ci(diffs: np.ndarray, level: float = 0.95, n: int = BOOTSTRAP, seed: int = BOOT_SEED):
    """Percentile bootstrap CI of the mean of ``diffs``."""
    diffs = np.asarray(diffs, dtype=float)
    if len(diffs) < 2:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, len(diffs), (n, len(diffs)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def seeds_needed(sd: float, half_width: float, z: float = 1.96) -> int:
    """Seeds for a 95% CI of the mean paired difference with the given half-width."""
    if not np.isfinite(sd) or half_width <= 0:
        return 0
    return max(2, math.ceil((z * sd / half_width) ** 2))


def effects(series: pd.DataFrame, summary: pd.DataFrame, outcomes, baseline: str = "none",
            target_half_width: dict | None = None) -> pd.DataFrame:
    """Paired effects of each policy against the baseline, per context, at the CDA's end and the horizon.

    The CDA's end is ``start_month + duration_months`` of the policy (from its
    summary); the horizon is the last month. Pairs are runs with the same seed.
    """
    rows = []
    for ctx, runs in summary.groupby("context"):
        base = runs[runs.policy == baseline]
        if base.empty:
            continue
        base_series = series[series.run.isin(base.run)]
        horizon = int(base_series.month.max())
        for policy, pol_runs in runs.groupby("policy"):
            if policy == baseline:
                continue
            first = pol_runs.iloc[0]
            cda_end = int(first.start_month + first.duration_months) if first.budget > 0 else None
            pol_series = series[series.run.isin(pol_runs.run)]
            for when, month in (("cda_end", cda_end), ("horizon", horizon)):
                if month is None or month > horizon:
                    continue
                a = pol_series[pol_series.month == month].set_index("seed")
                b = base_series[base_series.month == month].set_index("seed")
                seeds = a.index.intersection(b.index)
                for col in outcomes:
                    d = (a.loc[seeds, col] - b.loc[seeds, col]).to_numpy(dtype=float)
                    base_mean = float(b.loc[seeds, col].mean()) if len(seeds) else float("nan")
                    mean = float(d.mean()) if len(d) else float("nan")
                    sd = float(d.std(ddof=1)) if len(d) > 1 else float("nan")
                    lo, hi = bootstrap_ci(d)
                    row = {"context": ctx, "policy": policy, "when": when, "month": month, "outcome": col,
                           "n_seeds": len(seeds), "baseline_mean": base_mean, "policy_mean": base_mean + mean,
                           "effect": mean, "ci_low": lo, "ci_high": hi, "sd": sd,
                           "effect_size": mean / sd if sd and np.isfinite(sd) and sd > 0 else float("nan"),
                           "relative": mean / base_mean if base_mean else float("nan"),
                           "budget": float(first.budget)}
                    if target_half_width and col in target_half_width:
                        row["seeds_for_target"] = seeds_needed(sd, target_half_width[col])
                    rows.append(row)
    return pd.DataFrame(rows)
