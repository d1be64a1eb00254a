"""Bad parameters raise one clear error naming the parameter, its value and the range."""

from __future__ import annotations

import pytest

from model import ClusterModel, ClusterSpec, ModelParams, ParameterError


@pytest.mark.parametrize("overrides, words", [
    ({"n_firms": -5}, ["n_firms", "-5", "[1, 200000]"]),
    ({"subsidy_rate": 1.5}, ["subsidy_rate", "1.5", "[0, 1]"]),
    ({"p_seek": -0.1}, ["p_seek", "-0.1", "[0, 1]"]),
    ({"policy_budget": -1.0}, ["budget", "-1", "[0,"]),
    ({"months": 24, "policy_start_month": 30, "policy_budget": 10.0}, ["start_month", "30", "past the horizon"]),
    ({"cluster_town": "Atlantis"}, ["town", "Atlantis", "Isfahan"]),
    ({"targeting": "biggest"}, ["targeting", "biggest", "largest"]),
    ({"months": "abc"}, ["months", "abc", "number"]),
    ({"n_firms": 2.5}, ["n_firms", "2.5", "whole"]),
    ({"temptation": (0.1, 0.2, 1.0, 0.3)}, ["temptation", "[0, 1)"]),
    ({"action_mix": (0.5, float("nan"), 0.2, 0.3)}, ["action_mix", "nan", "non-negative finite"]),
    ({"benefit": (1.0, float("inf"), 1.0, 1.0)}, ["benefit", "inf", "non-negative finite"]),
    ({"action_mix": (1e308, 1e308, 0.0, 0.0)}, ["action_mix", "1e+308", "positive finite sum"]),
    ({"share_diagnostic": 0.5, "share_pilot": 0.6}, ["phase shares", "1.6"]),
    ({"subsidy_rat": 0.5}, ["unknown parameter", "subsidy_rat", "subsidy_rate"]),
    ({"institution_quality": (0.6, 0.7, 1.5, 0.5, 0.5)}, ["institution_quality[2]", "1.5", "[0, 1]"]),
    ({"institution_fee": (0.1, 0.1)}, ["institution_fee", "5 values"]),
    ({"supplier_markup": (0.9, 0.9)}, ["supplier_markup", "3 values", "supplier_kind"]),
    ({"supplier_place": ("home", "moon", "hub")}, ["supplier_place[1]", "moon", "home, hub"]),
    ({"supplier_kind": ("raw_material",) * 60, "supplier_place": ("home",) * 60, "supplier_markup": (0.9,) * 60,
      "supplier_capacity": (0.1,) * 60, "supplier_reliability": (0.9,) * 60, "supplier_group_discount": (0.0,) * 60},
     ["supplier_kind", "60 suppliers", "at most 59"]),
])
def test_bad_parameter_is_named_with_value_and_range(overrides, words):
    with pytest.raises(ParameterError) as err:
        ClusterModel(rng=0, **overrides)
    text = str(err.value)
    for word in words:
        assert word in text
    assert "\n" not in text


def test_duplicate_cluster_names_are_refused():
    params = ModelParams(clusters=(ClusterSpec(name="a"), ClusterSpec(name="a", town="Kashan")))
    with pytest.raises(ParameterError, match="used twice"):
        ClusterModel(params, rng=0)


def test_every_default_is_valid_and_the_model_builds_without_arguments():
    m = ClusterModel()
    assert m.stats["firms"] == ModelParams().clusters[0].n_firms


def test_the_layout_parameters_place_and_size_the_institutions_and_suppliers():
    clusters = (ClusterSpec(name="a", n_firms=200), ClusterSpec(name="b", town="Kashan", n_firms=60))
    m = ClusterModel(ModelParams(clusters=clusters).with_overrides(
        institution_place=("hub", "home", "home", "hub", "home"), institution_capacity=(0.1, 0.05, 0.0, 1.0, 0.02),
        supplier_kind=("machinery", "raw_material"), supplier_place=("home", "hub"), supplier_markup=(0.9, 0.8),
        supplier_capacity=(0.5, 0.5), supplier_reliability=(1.0, 0.7), supplier_group_discount=(0.0, 0.1),
        cda_credibility=0.6, policy_budget=100.0, events_per_year=1.0), rng=0)
    isfahan, kashan = (tuple(m.cluster_town_xy[c]) for c in (0, 1))
    b = [i for i in m.institutions if i.cluster == 1]
    assert [i.cell.coordinate for i in b] == [isfahan, kashan, kashan, isfahan, kashan]
    assert [i.capacity for i in b] == [6, 3, 2, 60, 2]  # n x capacity, at least 2
    assert [(s.kind, s.cell.coordinate, s.markup, s.capacity, s.reliability, s.group_discount)
            for s in m.suppliers if s.cluster == 1] == [("machinery", kashan, 0.9, 30, 1.0, 0.0),
                                                         ("raw_material", isfahan, 0.8, 30, 0.7, 0.1)]
    assert m.n_links == 5 + 2 and m.firms.aware.shape[1] == 7
    assert m.cdas[0].credibility == 0.6
    m.run(12)  # runs with these suppliers
