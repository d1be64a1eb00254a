"""Statistics for the stylised facts of DESIGN.md section 9, computed from result tables.

Each function takes the tidy frames that a run writes (monthly ``series``,
firm ``snapshots`` keyed by month) or plain arrays, so that the validation
tests (in-process runs) and a validation report (result files) compute the
same numbers. Nothing here imports the model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


# ---------------------------------------------------------------- pattern 1: firm sizes
def size_stats(employees: np.ndarray) -> dict:
    """Micro share (< 10 workers), top-to-median ratio and the Hill tail exponent of the top decile."""
    e = np.sort(np.asarray(employees, dtype=float))[::-1]
    top = e[: max(len(e) // 10, 2)]
    hill = 1.0 / np.mean(np.log(top[:-1] / top[-1])) if top[-1] > 0 and top[0] > top[-1] else np.inf
    return {"micro_share": float((e < 10).mean()), "max_over_median": float(e[0] / np.median(e)),
            "hill": float(hill)}


# ---------------------------------------------------------------- pattern 2: exit and survival
def yearly_exit_rates(series: pd.DataFrame) -> np.ndarray:
    """Exits in each full year divided by the firms at the year's start."""
    years = (len(series) - 1) // 12
    exits = series["exits"].to_numpy()[1: 1 + 12 * years].reshape(years, 12).sum(axis=1)
    return exits / series["firms"].to_numpy()[0: 12 * years: 12]


def cohort_survival(birth: np.ndarray, exit_birth: np.ndarray, exit_age: np.ndarray, horizon: int,
                    ages: np.ndarray) -> np.ndarray:
    """Share of entrants still alive at each age (months), over the cohorts observed to that age.

    ``birth`` are the entry months of all entrants; ``exit_birth`` and
    ``exit_age`` the entry month and age at exit of those who left.
    """
    out = []
    for age in ages:
        cohort = (birth >= 1) & (birth <= horizon - age)
        died = (exit_birth >= 1) & (exit_birth <= horizon - age) & (exit_age < age)
        out.append(1.0 - died.sum() / cohort.sum() if cohort.sum() else np.nan)
    return np.array(out)


# ---------------------------------------------------------------- pattern 3: growth rates
def yearly_growth(snapshots: dict[int, pd.DataFrame], months: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Log growth of employees of firms alive at both ends of each year, and their size at its start."""
    rates, sizes = [], []
    for a, b in zip(months[:-1], months[1:]):
        first = snapshots[a].set_index("unique_id")["employees"]
        then = snapshots[b].set_index("unique_id")["employees"]
        both = first.index.intersection(then.index)
        rates.append(np.log(then[both] / first[both]).to_numpy())
        sizes.append(first[both].to_numpy())
    return np.concatenate(rates), np.concatenate(sizes)


SIZE_CLASSES = ((1, 2), (2, 5), (5, 20), (20, 50), (50, 10 ** 9))


def growth_stats(rates: np.ndarray, sizes: np.ndarray) -> dict:
    """Kurtosis (Laplace 6, normal 3) and the standard deviation of growth by size class."""
    g = rates - rates.mean()
    out = {"kurtosis": float(np.mean(g ** 4) / np.var(g) ** 2)}
    for lo, hi in SIZE_CLASSES:
        sel = (sizes >= lo) & (sizes < hi)
        out[f"sd_{lo}_{hi if hi < 10 ** 9 else 'up'}"] = float(rates[sel].std()) if sel.sum() > 1 else np.nan
    return out


# ---------------------------------------------------------------- patterns 4-7: effects
def paired_effect(policy: list[pd.DataFrame], baseline: list[pd.DataFrame], column: str) -> pd.Series:
    """Mean over seeds of policy minus baseline, month by month (runs paired by seed, in order)."""
    diffs = [p.set_index("month")[column] - b.set_index("month")[column] for p, b in zip(policy, baseline)]
    return sum(diffs) / len(diffs)


def mean_series(runs: list[pd.DataFrame], column: str) -> pd.Series:
    return sum(r.set_index("month")[column] for r in runs) / len(runs)


# ---------------------------------------------------------------- pattern 8: shocks
def survival_by_cooperation(before: pd.DataFrame, after: pd.DataFrame) -> dict:
    """Share of firms alive at ``before`` still alive at ``after``: cooperating (a joint action in
    the last months) and not cooperating firms."""
    alive = before["unique_id"].isin(after["unique_id"])
    coop = before["recent_joint_actions"].astype(bool)
    return {"cooperating": float(alive[coop].mean()) if coop.any() else np.nan,
            "not_cooperating": float(alive[~coop].mean()) if (~coop).any() else np.nan,
            "n_cooperating": int(coop.sum()), "n_not_cooperating": int((~coop).sum())}
