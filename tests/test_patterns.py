"""Patterns 1-5 of DESIGN.md section 9, over several fixed seeds, with stated tolerances.

Deterministic: fixed seeds, so each assertion has one answer; the tolerances
state how far from the stylised fact the model may sit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.validation import growth_stats, spread_by_size, spread_exponent, yearly_growth
from model import ClusterModel, ModelParams, presets

SEEDS = (0, 1, 2, 3)
YEARS = tuple(range(0, 121, 12))


@pytest.fixture(scope="module")
def runs():
    """Baseline and standard CDA on the default cluster, same seeds (common random numbers)."""
    out = {}
    for name in ("none", "standard_cda"):
        for seed in SEEDS:
            params = ModelParams(policy=presets.policy(name), snapshot_months=YEARS)
            out[name, seed] = ClusterModel(params, rng=seed).run()
    return out


def _mean_series(runs, name):
    return sum(runs[name, s].series().drop(columns="cda_phase") for s in SEEDS) / len(SEEDS)


def test_pattern1_sizes_right_skewed_micro_majority_heavy_tail(runs):
    for seed in SEEDS:
        e = runs["none", seed].snapshots[120]["firms"]["employees"].to_numpy()
        assert 0.80 <= (e < 10).mean() <= 0.97, "micro firms are the large majority (about 90%)"
        assert e.max() >= 50 * np.median(e), "the upper tail is long"
        top = np.sort(e)[::-1][: len(e) // 10]
        hill = 1.0 / np.mean(np.log(top[:-1] / top[-1]))  # tail exponent of the top decile
        assert 0.4 <= hill <= 1.6, f"roughly Zipf-like tail (Hill {hill:.2f}, Zipf = 1)"


def test_pattern2_exit_rates_and_first_year_survival(runs):
    for seed in SEEDS:
        m = runs["none", seed]
        df = m.series()
        yearly_exits = df["exits"].iloc[1:].to_numpy().reshape(10, 12).sum(axis=1)
        rate = yearly_exits / df["firms"].iloc[0:120:12].to_numpy()
        assert 0.03 <= rate.mean() <= 0.15, f"yearly exit rate a few to 15% (mean {rate.mean():.3f})"
        assert rate.max() <= 0.20
        exits = np.concatenate(m.exit_records, axis=1)
        born = np.concatenate(m.entry_records, axis=1)[0]
        cohort = (born >= 1) & (born <= 108)  # entrants with a full first year observed
        died_young = ((exits[0] >= 1) & (exits[0] <= 108) & (exits[1] < 12)).sum()
        survival = 1.0 - died_young / cohort.sum()
        assert 0.70 <= survival <= 0.92, f"about 80% of entrants survive their first year ({survival:.2f})"


def _growth(runs):
    """Yearly log growth of the baseline's firms alive at both ends of each year, and their size at its start."""
    return map(np.concatenate, zip(*(yearly_growth({t: x["firms"] for t, x in runs["none", s].snapshots.items()},
                                                   list(YEARS)) for s in SEEDS)))


def test_pattern3_growth_rates_tent_shaped_spread_falls_with_size_above_the_floor(runs):
    """Could fail if the firm-level shocks were normal (kurtosis 3) or growth were size-blind (Gibrat)."""
    g, size = _growth(runs)
    kurtosis = np.mean((g - g.mean()) ** 4) / g.var() ** 2
    assert kurtosis > 4.5, f"tent-shaped (Laplace kurtosis 6, normal 3): {kurtosis:.2f}"
    sd = [g[(size >= lo) & (size < hi)].std() for lo, hi in ((5, 20), (20, 10**9))]
    assert sd[0] > 1.15 * sd[1], f"spread falls with size: {sd}"
    small, medium = (g[(size >= 10) & (size < 50)].std(), g[size >= 50].std())
    assert small > 1.15 * medium, f"small vs medium+ (Iran's classes): {small:.3f} vs {medium:.3f}"


def test_pattern3_spread_falls_over_the_whole_size_range_micro_firms_included(runs):
    """DESIGN.md 9, pattern 3 (revised): the spread of yearly log growth falls from class to class over
    1, 2-4, 5-9, 10-49 and 50+ workers, one-worker firms the most volatile, with sd ~ size ** -beta,
    beta 0.1-0.3 (Stanley et al.: 0.15-0.2), and the rates tent-shaped.

    Fails when a class is calmer than a larger one: so it does with the integer hiring rule, under which
    one-worker firms rarely move (sd 0.21 against 0.36 for 2-4 workers, beta 0.03, seeds 0-3; with
    ``adjust_speed`` 0, the rule without partial adjustment: 0.31 against 0.40); fails
    also for a noise of +-1 worker (sd ~ 1 / size, beta near 1) or for size-blind growth (beta near 0).
    """
    g, size = _growth(runs)
    table = spread_by_size(g, size)
    assert (table["n"] >= 200).all(), table  # enough firm-years per class for a spread (seeds 0-3)
    sd = table["sd"].to_numpy()
    assert (sd[1:] < 0.97 * sd[:-1]).all(), f"spread falls class by class (by 3% at least):\n{table}"
    beta = spread_exponent(table)
    assert 0.1 <= beta <= 0.3, f"sd ~ size ** -beta with beta 0.1-0.3 (Stanley et al. 0.15-0.2): {beta:.3f}"
    assert growth_stats(g, size)["kurtosis"] > 4.5, "tent-shaped above the floor (Laplace 6, normal 3)"


def test_pattern4_low_trust_stays_low_without_cda(runs):
    base = _mean_series(runs, "none")
    coop = base["cooperation_rate"].iloc[12:]
    assert coop.max() < 0.40 and coop.mean() < 0.32, "low cooperation persists without a CDA"
    assert base["mean_trust"].iloc[-24:].mean() - base["mean_trust"].iloc[12:36].mean() < 0.05
    assert base["mean_trust"].max() < 0.5


# patterns 4 (the CDA's half) and 5 are validation, not tuning targets (DESIGN.md section 9, revised
# 2026-12-07): where one fails the validation report says so (docs/ODD.md, section 1); strict, so that a
# pattern that comes back is noticed
VALIDATION_FAILS = ("fails since the mechanisms were revised (issue 22): the CDA no longer writes trust, and most of "
                    "its trust effect comes from the association's events' games, from month 35 (docs/ODD.md, section 1)")


@pytest.mark.xfail(strict=True, reason=VALIDATION_FAILS)
def test_pattern4_trust_responds_to_a_cda_with_a_lag(runs):
    base = _mean_series(runs, "none")
    cda = _mean_series(runs, "standard_cda")
    # the diagnostic (months 12-16) touches no firm: the series are the baseline's
    pd.testing.assert_frame_equal(cda.iloc[:17], base.iloc[:17])
    diff = cda["mean_trust"] - base["mean_trust"]
    assert abs(diff.iloc[18]) < 0.01, "no effect on trust right after the diagnostic"
    assert diff.iloc[36] > diff.iloc[18] + 0.01 and diff.iloc[84] > diff.iloc[36], "trust builds up with a lag"
    jd = (cda["joint_actions"] - base["joint_actions"]).rolling(6).mean()
    assert jd.iloc[22] < 2 < jd.iloc[40], "joint actions rise only once the pilot phase starts"


def test_pattern5_cda_raises_trust_joint_actions_density_growth_later_and_smaller(runs):
    # could fail: with no facilitated first games (tests/validation/test_stylised_facts.py removes them) the CDA
    # raises joint actions by far less than 30%; the CDA's meetings write no trust
    base = _mean_series(runs, "none")
    cda = _mean_series(runs, "standard_cda")
    late = slice(36, 120)
    for col, margin in (("mean_trust", 0.02), ("network_density", 0.002)):
        assert (cda[col].iloc[late] - base[col].iloc[late]).mean() > margin, col
    assert cda["joint_actions"].iloc[late].mean() > 1.3 * base["joint_actions"].iloc[late].mean()
    # per seed too: the CDA beats the baseline on the same seed
    for seed in SEEDS:
        b, c = runs["none", seed].series(), runs["standard_cda", seed].series()
        assert c["mean_trust"].iloc[late].mean() > b["mean_trust"].iloc[late].mean()
        assert c["joint_actions"].iloc[late].sum() > b["joint_actions"].iloc[late].sum()
    rel = lambda col, t: (cda[col].iloc[t] - base[col].iloc[t]) / base[col].iloc[t]  # noqa: E731
    ja = (cda["joint_actions"].iloc[96:].mean() - base["joint_actions"].iloc[96:].mean()) / base[
        "joint_actions"].iloc[96:].mean()
    assert abs(rel("employment", 120)) < ja / 3, "growth effect smaller than the cooperation effect"
    assert rel("employment", 120) > rel("employment", 30), "growth effect comes later"
