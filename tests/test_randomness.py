"""DESIGN.md section 7: common random numbers, as tests."""

from __future__ import annotations

import pandas as pd
import pandas.testing as pdt
import pytest

from model import ClusterModel, ModelParams, presets

PARAMS = ModelParams(months=48).with_overrides(n_firms=200)


def _run(policy_name: str, seed: int, **changes) -> pd.DataFrame:
    from dataclasses import replace
    pol = replace(presets.policy(policy_name), **changes)
    return ClusterModel(replace(PARAMS, policy=pol), rng=seed).run().series()


def test_same_seed_and_configuration_give_identical_series():
    a = _run("standard_cda", 7, budget=300.0)
    b = _run("standard_cda", 7, budget=300.0)
    pdt.assert_frame_equal(a, b, check_exact=True)


def test_different_seeds_give_different_series():
    assert not _run("none", 1).equals(_run("none", 2))


@pytest.mark.parametrize("policy", [p for p in presets.names("policy") if p not in ("none", "zero_budget")])
def test_every_policy_equals_the_baseline_before_it_starts(policy):
    seed, start = 11, 20
    base = _run("none", seed)
    run = _run(policy, seed, start_month=start)
    pdt.assert_frame_equal(run.iloc[:start], base.iloc[:start], check_exact=True)
    # and it does act afterwards
    assert not run.iloc[start:].equals(base.iloc[start:])


@pytest.mark.parametrize("changes", [{}, {"budget": 0.0, "subsidy_rate": 0.9}])
def test_zero_budget_policy_equals_the_baseline_over_the_whole_horizon(changes):
    base = _run("none", 5)
    pdt.assert_frame_equal(_run("zero_budget", 5, **changes), base, check_exact=True)


def test_policy_with_money_but_no_instrument_equals_the_baseline():
    base = _run("none", 3)
    pdt.assert_frame_equal(_run("none", 3, budget=500.0), base, check_exact=True)
