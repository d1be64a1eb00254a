"""The CDA's instruments are one table (model.cda.INSTRUMENTS): each is switched on by a parameter, acts
in its phases, and switching it off changes the run; with all of them off the run is the baseline."""

from __future__ import annotations

from dataclasses import fields, replace

import pandas as pd
import pytest

from model import ClusterModel, ModelParams, PolicyParams, presets
from model.cda import INSTRUMENTS, PHASES, has_instruments

SWITCHES = sorted({i.switch for i in INSTRUMENTS})


def _off(policy: PolicyParams, switch: str) -> PolicyParams:
    value = getattr(policy, switch)
    return replace(policy, **{switch: False if isinstance(value, bool) else type(value)(0)})


def _run(policy: PolicyParams) -> ClusterModel:
    return ClusterModel(ModelParams(policy=policy, months=60).with_overrides(n_firms=150), rng=7).run()


FULL = presets.policy("standard_cda", start_month=4, budget=600.0)


def test_the_table_names_each_instrument_once_with_its_switch_phases_cost_and_function():
    names = [i.name for i in INSTRUMENTS]
    assert len(set(names)) == len(names)
    assert set(names) == {"events", "linkage", "purchasing_groups", "marketing_groups", "consortium", "facility",
                          "association", "subsidy"}
    policy_fields = {f.name for f in fields(PolicyParams)}
    for i in INSTRUMENTS:
        assert i.switch in policy_fields and i.cost
        assert i.phases and set(i.phases) <= set(PHASES) - {"none", "diagnostic", "ended"}
        assert callable(i.act) or i.name == "subsidy"  # (the subsidy acts in the games)
    # the preset with every instrument on switches each of them on; the default policy none
    assert all(i.on(FULL) for i in INSTRUMENTS) and not has_instruments(PolicyParams())


@pytest.fixture(scope="module")
def full_run():
    return _run(FULL).series()


@pytest.mark.parametrize("switch", SWITCHES)
def test_switching_an_instrument_off_changes_the_run(switch, full_run):
    policy = _off(FULL, switch)
    assert [i.on(policy) for i in INSTRUMENTS] == [i.switch != switch for i in INSTRUMENTS]
    off = _run(policy).series()
    assert not off.equals(full_run)


def test_with_every_instrument_off_a_funded_cda_is_the_baseline():
    policy = FULL
    for switch in SWITCHES:
        policy = _off(policy, switch)
    assert policy.budget == 600.0 and not has_instruments(policy)
    m = _run(policy)
    assert m.cdas[0].spent == 0.0 and (m.series().cda_phase == "none").all()
    pd.testing.assert_frame_equal(m.series(), _run(presets.policy("none")).series(), check_exact=True)


def test_each_instrument_acts_only_in_its_phases():
    # a run that records, month by month, the CDA's phase and what it paid: nothing in the diagnostic,
    # the strategic projects' costs at the start of the strategic phase
    m = ClusterModel(ModelParams(policy=FULL, months=60).with_overrides(n_firms=150), rng=7)
    paid = {}
    while m.running:
        before = m.cdas[0].spent
        m.step()
        paid.setdefault(m.cdas[0].phase, []).append(m.cdas[0].spent - before)
    assert sum(paid["diagnostic"]) == 0.0 and sum(paid["trust_building"]) > 0
    first_strategic = paid["strategic"][0]
    assert first_strategic >= FULL.facility_cost + FULL.association_cost + FULL.consortium_cost
    assert max(paid["strategic"][1:]) < FULL.facility_cost
