"""The province preset (about 70 clusters) and the programme-level policy that picks clusters for CDAs."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra

from model import ClusterModel, ModelParams, ParameterError, presets
from model.params import ClusterSpec
from model.province import Archetype, build_province
from scenarios.config import register, to_model_params

CLI = os.path.join(os.path.dirname(sys.executable), "khusheh-run")
NAMED = ("gold_jewellery", "carpet_kashan", "plastics", "tarpaulin_gauze_kordabad", "towels_adrian",
         "bedsheets_dorcheh", "stone_isfahan", "brick_isfahan", "shoes_isfahan", "rosewater_kashan", "textiles_dehaq",
         "clothing_khorzuq", "gaz_isfahan", "dairy_golpayegan", "agricultural_tools")  # the last 4: feasibility studies


def _province(*overrides):
    register()
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="conf", version_base="1.3"):
        cfg = compose(config_name="config", overrides=["cluster=isfahan_province", *overrides])
    return to_model_params(cfg)[0]


def test_the_province_preset_has_seventy_clusters_and_fifty_thousand_firms():
    params = _province()
    params.validate()
    clusters = params.clusters
    assert len(clusters) == 70
    assert sum(c.n_firms for c in clusters) == 50_000
    names = [c.name for c in clusters]
    assert len(set(names)) == 70 and names[:15] == list(NAMED)
    # the named clusters come in exactly as their own presets, the feasibility clusters in their towns
    single = {name: _single(name) for name in ("carpet_kashan", "towels_adrian", "clothing_khorzuq")}
    for c in clusters[:15]:
        if c.name in single:
            assert c == single[c.name]
    assert [c.town for c in clusters[11:15]] == ["Khorzuq", "Isfahan", "Golpayegan", "Isfahan"]
    kinds = {n.split("_")[0] for n in names[15:]}
    assert kinds == {"crafts", "textiles", "building", "food", "metal", "plastics"}
    # each named feasibility cluster took the place of one drawn cluster of its archetype
    count = {kind: sum(n.startswith(kind + "_") for n in names[15:]) for kind in ("textiles", "food", "metal")}
    assert count == {"textiles": 11, "food": 8, "metal": 7}
    # an archetype's market differs from the defaults as the preset says
    crafts = [c for c in clusters if c.name.startswith("crafts_")]
    assert len(crafts) == 14 and all(c.size_exponent == 1.4 and c.max_employees == 60 for c in crafts)
    # the same province in every run; another layout seed draws another one
    assert _province().clusters == clusters
    other = _province("cluster.province.layout_seed=1").clusters
    assert [c.n_firms for c in other] != [c.n_firms for c in clusters]
    assert sum(c.n_firms for c in other) == 50_000


def _single(name):
    register()
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="conf", version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"cluster={name}"])
    return to_model_params(cfg)[0].clusters[0]


def test_a_scaled_province_is_a_small_copy():
    full, small = _province().clusters, _province("cluster.province.scale=0.05").clusters
    assert [c.name for c in small] == [c.name for c in full]
    assert all(s.n_firms == max(5, round(f.n_firms * 0.05)) for s, f in zip(small, full))


def test_province_mistakes_get_a_clear_message():
    with pytest.raises(ParameterError, match="cluster.province.named: unknown cluster preset 'atlantis'; choose one of"):
        _province("cluster.province.named=[atlantis]")
    with pytest.raises(ParameterError, match="total_firms = 5000 leaves"):
        _province("cluster.province.total_firms=5000")
    with pytest.raises(ParameterError, match="scale"):
        _province("cluster.province.scale=0")
    with pytest.raises(ParameterError, match="archetype 'x'"):
        build_province((), (Archetype("x", 2, (), (10, 20)),), 1000)


def _four_clusters(**policy):
    """Four clusters with known sizes, trust and export potential (a, b, c, d)."""
    clusters = (
        ClusterSpec(name="a", town="Isfahan", n_firms=400, trust_alpha=4, trust_beta=2),
        ClusterSpec(name="b", town="Kashan", n_firms=100, trust_alpha=1, trust_beta=4, export_threshold=1.0),
        ClusterSpec(name="c", town="Najafabad", n_firms=300, trust_alpha=2, trust_beta=3),
        ClusterSpec(name="d", town="Shahreza", n_firms=200, trust_alpha=1, trust_beta=5, export_threshold=1.1),
    )
    pol = presets.policy("programme_largest", **{"budget": 1000.0, "programme_cdas": 2, "start_month": 6, **policy})
    return ClusterModel(ModelParams(clusters=clusters, policy=pol, months=8), rng=5)


@pytest.mark.parametrize("rule, chosen", [
    ("largest", [0, 2]),            # 400 and 300 firms
    ("trust_gap", [1, 3]),          # prior trust Beta(1, 4) and Beta(1, 5): means 0.20 and 0.17
    ("export_potential", [1, 3]),   # export thresholds 1.0 and 1.1: most firms near them
])
def test_the_programme_gives_its_cdas_to_the_clusters_its_rule_ranks_first(rule, chosen):
    m = _four_clusters(programme_selection=rule)
    assert [c for c, cda in enumerate(m.cdas) if cda is not None] == chosen
    assert [m.cdas[c].budget for c in chosen] == [500.0, 500.0]  # the budget is shared equally


def test_a_random_programme_draws_its_own_stream_and_leaves_the_rest_alone():
    picks = {s: sorted(c for c, cda in enumerate(_seeded(s).cdas) if cda is not None) for s in range(8)}
    assert all(len(p) == 2 for p in picks.values())
    assert len({tuple(p) for p in picks.values()}) > 1  # different seeds, different picks
    assert picks[3] == sorted(c for c, cda in enumerate(_seeded(3).cdas) if cda is not None)
    # before any CDA starts (month 6), the run is the same as the largest-first programme's on the same seed
    a = _four_clusters(programme_selection="random").run().series()
    b = _four_clusters(programme_selection="largest").run().series()
    pd.testing.assert_frame_equal(a[a.month < 6], b[b.month < 6])


def _seeded(seed):
    m = _four_clusters(programme_selection="random")
    params = m.params
    return ClusterModel(params, rng=seed)


def test_every_cluster_gets_a_cda_when_the_programme_pays_for_as_many():
    m = _four_clusters(programme_cdas=0)
    assert all(cda is not None and cda.budget == 250.0 for cda in m.cdas)
    m = _four_clusters(programme_cdas=9)
    assert all(cda is not None for cda in m.cdas)


def test_a_small_province_programme_sweep_from_the_command_line(tmp_path):
    args = [CLI, "-m", "cluster=isfahan_province", "cluster.province.scale=0.02",
            "policy=none,programme_trust_gap", "seed=0", "sim.months=14", "policy.start_month=2",
            "hydra.sweep.dir=sweep"]
    proc = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    runs = sorted((tmp_path / "sweep").glob("*/seed_0000"))
    assert len(runs) == 2
    by_policy = {}
    for run in runs:
        summary = pd.read_parquet(run / "summary.parquet")
        assert summary.loc[0, "cluster_preset"] == "isfahan_province"
        by_policy[summary.loc[0, "policy"]] = run
        per_cluster = pd.read_parquet(run / "cluster_series.parquet")
        assert per_cluster.cluster.nunique() == 70 and per_cluster.month.max() == 14
        region = pd.read_parquet(run / "series.parquet")
        last = per_cluster[per_cluster.month == 14]
        assert region.firms.iloc[-1] == last.firms.sum()
        assert region.employment.iloc[-1] == last.employment.sum()
    # ten CDAs spent money in the programme run, none in the baseline
    programme = pd.read_parquet(by_policy["programme_trust_gap"] / "cluster_series.parquet")
    spent = programme[programme.month == 14].set_index("cluster").cda_spent
    assert (spent > 0).sum() == 10
    baseline = pd.read_parquet(by_policy["none"] / "cluster_series.parquet")
    assert (baseline.cda_spent == 0).all()
    assert np.isclose(spent.sum(), pd.read_parquet(by_policy["programme_trust_gap"] / "series.parquet").cda_spent.iloc[-1])
