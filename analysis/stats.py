"""Statistics for stochastic scenario comparison on common random numbers.

- ``bands``: per scenario and month, the median and the 10-90% band over seeds;
- ``effects``: paired differences against the baseline on the same seeds, at the
  end of the CDA and at the horizon, with a bootstrap 95% CI, the effect size
  (mean difference / SD of the differences, Cohen's d_z) and the seeds used, and what the
  CDA had spent by then with the gain per 100 wage-months spent (``per_spent``);
- ``half_width``: the t interval's half-width of a mean over seeds;
- ``seeds_needed``: how many seeds a CI half-width needs (normal approximation).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from conf import outcomes as _outcomes

OUTCOMES = _outcomes()  # each outcome's window (conf/outcomes.yaml)

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


def per_spent(diffs: np.ndarray, spent: np.ndarray, per: float = 100.0, level: float = 0.95, n: int = BOOTSTRAP,
              seed: int = BOOT_SEED):
    """Gain per ``per`` spent: ``per`` * mean(diffs) / mean(spent) over paired seeds (a ratio of
    means, steady when a seed spent little), with a percentile bootstrap CI that resamples the
    seeds' (gain, spent) pairs together. NaN when nothing was spent; no CI with fewer than 2 seeds."""
    diffs, spent = np.asarray(diffs, dtype=float), np.asarray(spent, dtype=float)
    if not len(diffs) or not spent.mean() > 0:
        return float("nan"), float("nan"), float("nan")
    value = per * diffs.mean() / spent.mean()
    if len(diffs) < 2:
        return float(value), float("nan"), float("nan")
    idx = np.random.default_rng(seed).integers(0, len(diffs), (n, len(diffs)))
    cost = spent[idx].mean(axis=1)
    ratios = per * diffs[idx].mean(axis=1)[cost > 0] / cost[cost > 0]
    lo, hi = np.quantile(ratios, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(value), float(lo), float(hi)


def half_width(values, level: float = 0.95) -> float:
    """Half the width of the ``level`` confidence interval of the mean of ``values`` (Student's t, one
    value per seed); NaN for fewer than two."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    n = len(v)
    return float(stats.t.ppf(0.5 + level / 2, n - 1) * v.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan


def seeds_needed(sd: float, half_width: float, z: float = 1.96) -> int:
    """Seeds for a 95% CI of the mean paired difference with the given half-width."""
    if not np.isfinite(sd) or half_width <= 0:
        return 0
    return max(2, math.ceil((z * sd / half_width) ** 2))


def _windowed(at: pd.DataFrame, series: pd.DataFrame, month: int, outcomes) -> pd.DataFrame:
    """``at`` (each seed's row at ``month``) with each outcome that has a ``window`` replaced by the seed's
    mean over the ``window`` months ending at ``month`` (the months it has, at the start of a run)."""
    at = at.copy()
    for col in outcomes:
        window = OUTCOMES[col].window if col in OUTCOMES else 1
        if window > 1:
            span = series[(series.month > month - window) & (series.month <= month)]
            at[col] = span.groupby("seed")[col].mean().reindex(at.index)
    return at


def effects(series: pd.DataFrame, summary: pd.DataFrame, outcomes, baseline: str = "none",
            target_half_width: dict | None = None) -> pd.DataFrame:
    """Paired effects of each policy against the baseline, per context, at the CDA's end and the horizon.

    The CDA's end is ``start_month + duration_months`` of the policy (from its
    summary); the horizon is the last month. Pairs are runs with the same seed. An outcome with a
    ``window`` (conf/outcomes.yaml: the monthly flows) is each run's mean over the ``window`` months
    ending at that month.
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
                a, b = _windowed(a, pol_series, month, outcomes), _windowed(b, base_series, month, outcomes)
                # what the CDA had spent by then (cumulative), per paired seed
                spent = (a.loc[seeds, "cda_spent"].to_numpy(dtype=float) if "cda_spent" in a.columns
                         else np.full(len(seeds), np.nan))
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
                           "budget": float(first.budget),
                           "spent": float(spent.mean()) if len(spent) else float("nan")}
                    row["per_100_spent"], row["per_100_low"], row["per_100_high"] = per_spent(d, spent)
                    if target_half_width and col in target_half_width:
                        row["seeds_for_target"] = seeds_needed(sd, target_half_width[col])
                    rows.append(row)
    return pd.DataFrame(rows)


def paired_differences(series: pd.DataFrame, columns, baseline: str = "none") -> pd.DataFrame:
    """Per policy, seed and month, each column of the policy's run minus the baseline's run on the same
    seed (the same context); seeds the baseline did not run are left out. Index (policy, seed, month)."""
    cols = list(columns)
    base = series[series.policy == baseline].set_index(["seed", "month"])[cols]
    parts = {}
    for policy, sub in series[series.policy != baseline].groupby("policy"):
        own = sub.set_index(["seed", "month"])[cols]
        common = own.index.intersection(base.index)
        if len(common):
            parts[policy] = own.loc[common] - base.loc[common]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, names=["policy"]).sort_index()


def difference_bands(series: pd.DataFrame, columns, baseline: str = "none") -> pd.DataFrame:
    """Median and 10-90% band over seeds of the paired differences against the baseline, per policy and
    month (the columns as :func:`bands`'s: (p10 | median | p90, column)), and the number of seeds."""
    diffs = paired_differences(series, columns, baseline)
    g = diffs.groupby(level=["policy", "month"])
    out = pd.concat({"p10": g.quantile(0.1), "median": g.median(), "p90": g.quantile(0.9)}, axis=1)
    out[("n", "seeds")] = g.size()
    return out


def chance_best(gains: pd.DataFrame, spent: pd.DataFrame) -> pd.Series:
    """How often each policy buys the most per unit spent, over seeds: ``gains`` and ``spent`` are
    tables seed x policy (the paired gain at one month and what the CDA had spent by then). On each seed
    that every policy ran, the policy with the largest gain per unit spent wins (a policy that spent
    nothing on that seed cannot); ties share the seed. Returns the share of seeds each policy wins (0-1)."""
    seeds = gains.dropna().index.intersection(spent.dropna().index)
    if not len(seeds) or gains.empty:
        return pd.Series(dtype=float)
    g, s = gains.loc[seeds], spent.loc[seeds, gains.columns]
    ratio = (g / s.where(s > 0)).astype(float)
    wins = pd.Series(0.0, index=gains.columns)
    counted = 0
    for _, row in ratio.iterrows():
        if row.notna().any():
            best = row[row == row.max()].index
            wins[best] += 1.0 / len(best)
            counted += 1
    return wins / counted if counted else wins * np.nan
