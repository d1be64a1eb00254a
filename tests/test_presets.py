"""Named presets: written once in conf/*/*.yaml, read by the model as its parameters (model.presets)."""

from __future__ import annotations

from dataclasses import fields
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest
import yaml

from model import COLUMNS, ClusterModel, ClusterSpec, ModelParams, ParameterError, PolicyParams, ShockParams
from model import parameter_names, presets

CLASSES = {"policy": PolicyParams, "shock": ShockParams, "cluster": ClusterSpec}


def _yaml(group: str, name: str) -> dict:
    return yaml.safe_load((files("conf") / group / f"{name}.yaml").read_text()) or {}


@pytest.mark.parametrize("group", ["policy", "shock", "cluster"])
def test_every_preset_file_gives_its_values_and_the_defaults_elsewhere(group):
    cls = CLASSES[group]
    listed = sorted(p.name[:-5] for p in (files("conf") / group).iterdir() if p.name.endswith(".yaml"))
    assert presets.names(group) == tuple(listed) and listed
    for name in listed:
        written = _yaml(group, name)
        if "province" in written:
            continue
        obj = getattr(presets, group)(name)
        for f in fields(cls):
            expected = written.get(f.name, f.default)
            assert getattr(obj, f.name) == expected, (name, f.name)
            assert type(getattr(obj, f.name)) is type(f.default), (name, f.name)  # 600 in YAML is 600.0 here


def test_the_model_runs_with_the_preset_values():
    m = ClusterModel(ModelParams(policy=presets.policy("standard_cda"), shock=presets.shock("demand_drop"),
                                 clusters=presets.clusters("carpet_kashan"), months=61), rng=0)
    pol, shock, (cluster,) = m.params.policy, m.params.shock, m.params.clusters
    assert (pol.budget, pol.duration_months, pol.subsidy_rate, pol.consortium_size, pol.association) == (
        600.0, 36, 0.5, 8, True)
    assert (shock.kind, shock.start_month, shock.duration_months, shock.magnitude) == ("demand_drop", 60, 12, 0.3)
    assert (cluster.name, cluster.town, cluster.n_firms) == ("carpet_kashan", "Kashan", 900)
    assert m.cdas[0].budget == 600.0 and m.stats["firms"] == 900


def test_the_programme_presets_are_the_standard_cda_times_ten():
    std = presets.policy("standard_cda")
    for rule, name in (("largest", "programme_largest"), ("export_potential", "programme_export"),
                       ("trust_gap", "programme_trust_gap"), ("random", "programme_random")):
        assert presets.policy(name) == presets.policy("standard_cda", budget=10 * std.budget, programme_cdas=10,
                                                      programme_selection=rule)


def test_changes_are_applied_and_checked():
    assert presets.policy("standard_cda", budget=900.0).budget == 900.0
    assert presets.policy("standard_cda", budget=900.0).subsidy_rate == 0.5
    with pytest.raises(ParameterError, match=r"policy standard_cda.subsidy_rate = 1.5 is out of range"):
        presets.policy("standard_cda", subsidy_rate=1.5)
    with pytest.raises(ParameterError, match="'subsidy' is not a field of PolicyParams"):
        presets.policy("standard_cda", subsidy=0.5)


@pytest.mark.parametrize("call, words", [
    (lambda: presets.policy("standard"), ["policy preset", "'standard'", "standard_cda", "trust_first"]),
    (lambda: presets.shock("flood"), ["shock preset", "'flood'", "demand_drop"]),
    (lambda: presets.cluster("saffron"), ["cluster preset", "'saffron'", "carpet_kashan"]),
    (lambda: presets.clusters("saffron"), ["cluster preset", "'saffron'", "isfahan_province"]),
    (lambda: presets.names("firm"), ["'firm'", "cluster, policy, shock"]),
    (lambda: presets.cluster("isfahan_province"), ["province", "clusters('isfahan_province')"]),
])
def test_an_unknown_name_raises_a_one_line_error_naming_it_and_the_choices(call, words):
    with pytest.raises(ParameterError) as err:
        call()
    text = str(err.value)
    assert all(w in text for w in words) and "\n" not in text


def test_a_province_preset_gives_all_its_clusters():
    province = presets.clusters("isfahan_province")
    assert len(province) == 70 and sum(c.n_firms for c in province) == 50_000
    named = _yaml("cluster", "isfahan_province")["province"]["named"]
    assert [c.name for c in province[:len(named)]] == named
    assert province[1] == presets.cluster("carpet_kashan")


def test_the_presets_with_public_figures_are_sized_from_them():
    """Counts of firms and jobs per firm from ../shared/SOURCES.md and the pages cited in docs/ODD.md section 6.
    Fails if a preset's size drifts from its source, or if its size exponent no longer gives the reported
    jobs per unit: the initial employees are min(floor(U^(-1/a)), cap), whose mean is sum_{k=1..cap} k^-a."""
    sizes = {name: presets.cluster(name).n_firms for name in
             ("gold_jewellery", "stone_isfahan", "rosewater_kashan", "shoes_isfahan", "carpet_kashan", "gaz_isfahan")}
    assert sizes == {"gold_jewellery": 800, "stone_isfahan": 2000, "rosewater_kashan": 1524, "shoes_isfahan": 464,
                     "carpet_kashan": 900, "gaz_isfahan": 400}
    assert 850 <= sizes["carpet_kashan"] <= 1300
    for name, jobs, units in (("stone_isfahan", 20_000, 2000), ("rosewater_kashan", 6000, 1524),
                              ("carpet_kashan", 20_000, 1300)):
        spec = presets.cluster(name)
        mean = float((np.arange(1, spec.max_employees + 1, dtype=float) ** -spec.size_exponent).sum())
        assert mean == pytest.approx(jobs / units, rel=0.02), name
    # the model draws them so: the stone cluster starts with about 20,000 workers (seed 0)
    m = ClusterModel(cluster="stone_isfahan", rng=0, months=1)
    assert m.stats["firms"] == 2000 and 0.85 * 20_000 <= m.firms.employees[m.firms.live()].sum() <= 1.15 * 20_000


# ---------------------------------------------------------------- presets by name in ClusterModel
def test_presets_by_name_with_flat_overrides_on_top():
    m = ClusterModel(cluster="carpet_kashan", policy="trust_first", shock="demand_drop", rng=3, policy_budget=900,
                     shock_start_month=30, months=40)
    p = m.params
    assert p.clusters == (presets.cluster("carpet_kashan"),)
    assert p.policy == presets.policy("trust_first", budget=900.0)
    assert p.shock == presets.shock("demand_drop", start_month=30)
    assert m.stats["firms"] == 900  # the preset's n_firms
    # overrides apply on top whatever their order; a plain cluster field goes to every cluster
    q = ClusterModel(n_firms=120, cluster="carpet_kashan", rng=3).params
    assert q.clusters == (presets.cluster("carpet_kashan", n_firms=120),)


def test_a_province_preset_by_name_gives_its_70_clusters():
    params = presets.model_params(cluster="isfahan_province", policy="programme_largest")
    assert params.clusters == presets.clusters("isfahan_province") and len(params.clusters) == 70
    assert params.policy == presets.policy("programme_largest")


def test_a_policy_by_name_gives_the_same_run_bit_for_bit():
    by_name = ClusterModel(policy="standard_cda", rng=1)
    by_object = ClusterModel(ModelParams(policy=presets.policy("standard_cda")), rng=1)
    assert by_name.params == by_object.params
    a, b = by_name.run().series(), by_object.run().series()
    assert len(a) == 121 and a["cda_spent"].iloc[-1] > 0
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_none_and_the_default_presets_are_the_defaults():
    assert ClusterModel(cluster=None, policy=None, shock=None, rng=0, n_firms=10).params == \
        ClusterModel(rng=0, n_firms=10).params
    assert ClusterModel(policy="none", shock="none", cluster="generic", rng=0).params == ModelParams()


def test_a_preset_with_a_model_params_fills_only_a_part_left_at_its_default():
    own = ModelParams(months=30, clusters=(ClusterSpec(name="mine", n_firms=40),))
    m = ClusterModel(own, policy="standard_cda", shock="demand_drop", shock_start_month=20, rng=0)
    assert m.params.clusters == own.clusters and m.params.months == 30
    assert m.params.policy == presets.policy("standard_cda")
    # the same preset twice is no conflict
    same = ModelParams(policy=presets.policy("trust_first"))
    assert ClusterModel(same, policy="trust_first", rng=0, n_firms=10).params.policy == same.policy
    # a part that the params set otherwise: refused, naming both
    for params, kw in ((own, {"cluster": "carpet_kashan"}),
                       (ModelParams(policy=presets.policy("trust_first")), {"policy": "standard_cda"}),
                       (ModelParams(shock=presets.shock("input_price_spike")), {"shock": "demand_drop"})):
        with pytest.raises(ParameterError) as err:
            ClusterModel(params, rng=0, **kw)
        (group, name), = kw.items()
        assert f"{group} = {name!r} names a preset" in str(err.value) and "ModelParams" in str(err.value)


@pytest.mark.parametrize("kw, words", [
    ({"policy": "standard"}, ["policy = 'standard'", "not a policy preset", "did you mean 'standard_cda'",
                              "trust_first"]),
    ({"cluster": "carpet"}, ["cluster = 'carpet'", "carpet_kashan"]),
    ({"shock": "flood"}, ["shock = 'flood'", "demand_drop"]),
    ({"cluster": ClusterSpec()}, ["cluster = ClusterSpec(", "cluster preset name", "clusters=(...)"]),
    ({"policy": 5}, ["policy = 5", "PolicyParams", "preset name"]),
    ({"clustr": "carpet_kashan"}, ["unknown parameter 'clustr'"]),
])
def test_an_unknown_preset_or_a_wrong_type_is_a_parameter_error(kw, words):
    with pytest.raises(ParameterError) as err:
        ClusterModel(rng=0, **kw)
    text = str(err.value)
    for word in words:
        assert word in text, (word, text)
    assert "\n" not in text


def test_the_preset_names_are_listed():
    listed = ClusterModel.presets()
    assert set(listed) == {"cluster", "policy", "shock"}
    for group, names in listed.items():
        assert names == presets.names(group) == ClusterModel.presets(group)
    assert "carpet_kashan" in listed["cluster"] and "standard_cda" in listed["policy"]
    assert "cluster" in parameter_names() and "policy_budget" in parameter_names()


def test_batch_run_sweeps_policies_by_name_with_the_same_series_as_the_model():
    import warnings

    import mesa

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = mesa.batch_run(ClusterModel, parameters={"policy": ["none", "standard_cda"], "n_firms": 50,
                                                        "months": 15}, rng=[1, 2], data_collection_period=1,
                              display_progress=False)
    df = pd.DataFrame(rows)
    assert len(df) == 2 * 2 * 16 and set(df["policy"]) == {"none", "standard_cda"}
    columns = list(COLUMNS)
    for (policy, seed), got in df.groupby(["policy", "rng"]):
        expected = ClusterModel(policy=policy, n_firms=50, months=15, rng=seed).run().series()
        pd.testing.assert_frame_equal(got[columns].reset_index(drop=True), expected[columns], check_exact=True,
                                      check_dtype=False)
    phase = df[df.month == 15].groupby("policy")["cda_phase"].unique()
    assert list(phase["standard_cda"]) == ["diagnostic"] and list(phase["none"]) != ["diagnostic"]
