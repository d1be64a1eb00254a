"""Named presets: written once in conf/*/*.yaml, read by the model as its parameters (model.presets)."""

from __future__ import annotations

from dataclasses import fields
from importlib.resources import files

import pytest
import yaml

from model import ClusterModel, ClusterSpec, ModelParams, ParameterError, PolicyParams, ShockParams, presets

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
