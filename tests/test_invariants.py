"""Invariants that must hold under any valid parameters (hypothesis, derandomised)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import ClusterModel, ModelParams, PolicyParams
from model.params import TARGETING_RULES

shares = st.floats(0.0, 1.0)


@st.composite
def configurations(draw):
    policy = PolicyParams(
        budget=draw(st.floats(0.0, 200.0)), start_month=draw(st.integers(1, 10)),
        duration_months=draw(st.integers(1, 20)), subsidy_rate=draw(shares),
        events_per_year=draw(st.floats(0.0, 24.0)), groups_per_year=draw(st.floats(0.0, 12.0)),
        linkage_firms_per_year=draw(st.floats(0.0, 50.0)), consortium_size=draw(st.integers(0, 6)),
        common_facility=draw(st.booleans()), association=draw(st.booleans()),
        targeting=draw(st.sampled_from(TARGETING_RULES)), association_cost=draw(st.floats(0.0, 30.0)),
        event_games=draw(st.booleans()), event_game_subsidy=draw(shares),
        facility_running_cost=draw(st.floats(0.0, 5.0)), group_contribution=draw(st.floats(0.0, 1.0)))
    overrides = dict(
        n_firms=draw(st.integers(1, 60)), p_seek=draw(shares), learning_rate=draw(shares),
        betrayal_weight=draw(st.floats(0.0, 5.0)), gossip_weight=draw(shares), spillover=draw(shares),
        hazard_base=draw(st.floats(0.0, 0.1)), spinoff_rate=draw(st.floats(0.0, 0.1)),
        debt_limit=draw(st.floats(0.0, 2.0)), fire_sensitivity=draw(st.floats(0.0, 10.0)),
        generalised_learning=draw(shares), record_weight=draw(shares), subsidy_attribution=draw(shares),
        export_share=draw(st.floats(0.0, 0.95)), variety_elasticity=draw(st.floats(1.5, 20.0)),
        shock_kind=draw(st.sampled_from(["none", "demand_drop", "input_price_spike", "export_restriction"])),
        shock_start_month=draw(st.integers(1, 20)), shock_magnitude=draw(st.floats(0.0, 0.95)))
    return ModelParams(months=24, policy=policy).with_overrides(**overrides), draw(st.integers(0, 2**31))


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(configurations())
def test_invariants_hold_every_month(config):
    params, seed = config
    m = ClusterModel(params, rng=seed)
    budget = params.policy.budget
    prev_firms = m.stats["firms"]
    while m.running:
        m.step()
        f, t = m.firms, m.ties
        live = f.live()
        s = m.stats
        assert ((t.trust_ij >= 0) & (t.trust_ij <= 1) & (t.trust_ji >= 0) & (t.trust_ji <= 1)).all()
        assert ((f.prior_trust[live] >= 0) & (f.prior_trust[live] <= 1)).all()
        assert ((f.trust_cda[live] >= 0) & (f.trust_cda[live] <= 1)).all()
        assert (f.employees[live] >= 1).all()
        for cda in m.cdas:
            assert cda.budget_left >= 0
            assert cda.spent <= budget + 1e-9
        assert s["firms"] == prev_firms + s["entries"] - s["exits"]
        assert s["firms"] == len(live) == len(m.agents_by_type.get(type(m.firm_agent(live[0])), [])) if len(live) else True
        assert s["output"] >= 0 and s["employment"] >= 0 and s["exports"] >= 0
        assert 0 <= s["cooperation_rate"] <= 1 and 0 <= s["network_density"] <= 1
        assert np.isfinite([s[k] for k in ("output", "mean_trust", "mean_productivity")]).all()
        prev_firms = s["firms"]
