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
    ({"cost": (1.0, float("inf"), 1.0, 1.0)}, ["cost", "inf", "non-negative finite"]),
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


# ---------------------------------------------------------------- types as users pass them
from dataclasses import fields  # noqa: E402

import numpy as np  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from model import PolicyParams, ShockParams  # noqa: E402

GROUPS = ((ModelParams, ""), (PolicyParams, "policy_"), (ShockParams, "shock_"), (ClusterSpec, "cluster_"))
# every single-number parameter, by its flat name: (name, lo, hi, lo_open, integer)
NUMERIC = [(prefix + f.name, f.metadata["lo"], f.metadata["hi"], f.metadata["lo_open"], f.metadata["integer"])
           for cls, prefix in GROUPS for f in fields(cls)
           if f.metadata.get("each") is None and f.metadata.get("lo") is not None]
FAST = settings(max_examples=80, deadline=None, derandomize=True)


def _params(**overrides) -> ModelParams:
    return ModelParams().with_overrides(**overrides).validate()


@st.composite
def in_range(draw):
    """A numeric parameter and an in-range value for it (phase shares kept small: they must sum to <= 1)."""
    name, lo, hi, lo_open, integer = draw(st.sampled_from(NUMERIC))
    hi = min(hi, 0.1) if name.startswith("policy_share_") else hi
    if integer:
        value = draw(st.integers(int(lo), int(min(hi, 2**31 - 1))))
    else:
        value = draw(st.floats(lo, hi, exclude_min=lo_open, allow_nan=False))
    return name, value, integer


@FAST
@given(in_range(), st.sampled_from(["int64", "int32", "float64", "float32"]))
def test_numpy_scalars_of_in_range_values_give_the_same_params_as_python_numbers(case, dtype):
    name, value, integer = case
    if dtype.startswith("int"):
        if not float(value).is_integer() or abs(value) > 2**31 - 1:
            return
        scalar = np.dtype(dtype).type(int(value))
    else:
        scalar = np.dtype(dtype).type(value)
        if float(scalar) != float(value) and dtype == "float32":  # (float32 rounds: compare with its own value)
            value = float(scalar)
            if integer and not value.is_integer():
                return
    python = int(value) if integer else float(value)
    try:
        expected = _params(**{name: python})
    except ParameterError:  # (float32 rounding can leave a range, e.g. above hi: then both are refused)
        with pytest.raises(ParameterError):
            _params(**{name: scalar})
        return
    got = _params(**{name: scalar})
    assert got == expected
    held = got.with_overrides()  # the value as held: the field's own Python type
    field_value = {f"{p}{f.name}": getattr(o, f.name) for o, p in ((held, ""), (held.policy, "policy_"),
                   (held.shock, "shock_"), (held.clusters[0], "cluster_")) for f in fields(o)}[name]
    assert type(field_value) is (int if integer else float)


@FAST
@given(st.sampled_from(NUMERIC), st.one_of(st.text(max_size=5), st.lists(st.floats(0, 1), max_size=3),
                                           st.none(), st.booleans(), st.just(np.bool_(True)),
                                           st.just(complex(1, 0)), st.just({"a": 1})))
def test_a_wrong_type_for_a_number_is_refused_naming_the_field(param, value):
    name = param[0]
    with pytest.raises(ParameterError) as err:
        _params(**{name: value})
    text = str(err.value)
    field = name.split("_", 1)[1] if name.startswith(("policy_", "shock_", "cluster_")) else name
    assert field in text and "number" in text and "\n" not in text
    if not isinstance(value, list):
        assert repr(value) in text


@pytest.mark.parametrize("overrides, expected", [
    ({"n_firms": np.int64(349)}, ("n_firms", 349)),
    ({"n_firms": 300.0}, ("n_firms", 300)),
    ({"months": np.float64(24.0)}, ("months", 24)),
    ({"policy_budget": 900}, ("budget", 900.0)),
    ({"funded": np.bool_(False)}, ("funded", False)),
    ({"targeting": np.str_("largest")}, ("targeting", "largest")),
    ({"institution_quality": [np.float32(0.5), 0.7, 0.7, 0.5, np.int64(1)]},
     ("institution_quality", (0.5, 0.7, 0.7, 0.5, 1.0))),
    ({"cost": np.array([1, 2, 3, 4])}, ("cost", (1.0, 2.0, 3.0, 4.0))),
    ({"snapshot_months": [np.int64(12), 24.0]}, ("snapshot_months", (12, 24))),
])
def test_values_are_held_in_their_fields_python_type(overrides, expected):
    params = _params(**overrides)
    name, value = expected
    held = [getattr(o, name) for o in (params, params.policy, params.clusters[0]) if hasattr(o, name)][0]
    assert held == value and type(held) is type(value)
    if isinstance(held, tuple):
        assert [type(v) for v in held] == [type(v) for v in value]


def test_numpy_integers_and_whole_floats_build_the_same_model():
    a = ClusterModel(rng=0, n_firms=np.int64(60), months=np.int32(3), policy_budget=np.float64(50),
                     policy_start_month=np.uint8(1))
    b = ClusterModel(rng=0, n_firms=60.0, months=3, policy_budget=50, policy_start_month=1.0)
    assert a.params == b.params and a.stats["firms"] == 60
    assert a.run().series().equals(b.run().series())


@pytest.mark.parametrize("overrides, words", [
    ({"n_firms": 300.5}, ["n_firms", "300.5", "whole number", "[1, 200000]"]),
    ({"n_firms": float("inf")}, ["n_firms", "inf", "whole number"]),
    ({"months": np.float64("nan")}, ["months", "nan", "whole number"]),
    ({"p_seek": float("nan")}, ["p_seek", "nan", "out of range"]),
    ({"p_seek": "0.3"}, ["p_seek", "'0.3'", "a number in [0, 1]"]),
    ({"n_firms": True}, ["n_firms", "True", "whole number"]),
    ({"association": 1}, ["association", "1", "True or False"]),
    ({"targeting": 3}, ["targeting", "3", "choose one of random"]),
    ({"cluster_name": None}, ["name", "None", "text"]),
    ({"cluster_town": ["Kashan"]}, ["town", "Kashan", "choose one of"]),
    ({"institution_quality": 0.5}, ["institution_quality", "0.5", "5 values"]),
    ({"institution_quality": (0.6, 0.7, "x", 0.5, 0.5)}, ["institution_quality[2]", "'x'", "number"]),
    ({"supplier_kind": None}, ["supplier_kind", "None", "tuple"]),
    ({"cost": 1.0}, ["cost", "1.0", "4 non-negative finite numbers"]),
    ({"snapshot_months": 12}, ["snapshot_months", "12", "tuple of whole months"]),
    ({"snapshot_months": (12.5,)}, ["snapshot_months", "12.5", "whole months"]),
    ({"clusters": None}, ["clusters", "None", "ClusterSpec"]),
    ({"clusters": ("a",)}, ["clusters[0]", "'a'", "ClusterSpec"]),
    ({"policy": 3}, ["policy", "3", "PolicyParams", "preset name"]),
    ({"shock": None, "shock_kind": 5}, ["kind", "5", "choose one of none"]),
])
def test_a_wrong_type_raises_parameter_error_naming_field_value_and_what_is_allowed(overrides, words):
    with pytest.raises(ParameterError) as err:
        ClusterModel(rng=0, **overrides)
    text = str(err.value)
    for word in words:
        assert word in text, (word, text)
    assert "\n" not in text


def test_a_params_that_is_not_model_params_is_refused():
    with pytest.raises(ParameterError, match="params = .* must be a ModelParams"):
        ClusterModel({"n_firms": 10})
