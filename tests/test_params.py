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
