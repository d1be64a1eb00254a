"""The collectives live on their own economics (DESIGN.md 5.9, revised 2026-12-07): hand-made cases.

Each test builds a cluster whose CDA has set up one collective, then changes the one thing the rule is
about (the money, the contributions) and checks the collective ends exactly when the rule says, and not
before. Each could fail: a collective held by a trust threshold, by the CDA's presence, or by nothing
(as the associations and facilities of the model before 2026-12-07 were) would outlive these cases.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest

from model import PolicyParams
from model import market
from model.cda import _hold_groups, act, credit_event_games
from model.game import realised_value

from .conftest import small_model, set_trust

# a short contract that reaches its strategic phase (where collectives are set up) in month 3 and ends
# after month 8
SHORT = dict(budget=400.0, start_month=1, duration_months=8, share_diagnostic=0.0, share_trust_building=0.25,
             share_pilot=0.0, share_strategic=0.5)


def _after_exit(policy: PolicyParams, months: int = 12, **overrides):
    """A 60-firm cluster run through its CDA's contract and a little after."""
    return small_model(n_firms=60, policy=policy, months=120, **overrides).run(months)


def test_an_association_that_cannot_pay_its_running_cost_dissolves_after_its_grace_period():
    grace = 4
    m = _after_exit(PolicyParams(association=True, **SHORT), association_grace_months=grace,
                    association_quorum=2, association_running_cost=0.1)
    cda = m.cdas[0]
    assert cda.phase == "ended" and cda.association is not None and m.firms.member.any()
    # its running cost now beyond what it has and what its fees bring: it fails to pay month after month
    m.params = replace(m.params, association_running_cost=1e6)
    budget = cda.association.budget_left
    for month in range(1, grace):
        m.step()
        assert cda.association is not None and cda.association.unpaid_months == month
        assert cda.association.budget_left > budget  # the fees still come in; nothing is spent
        budget = cda.association.budget_left
    members = np.flatnonzero(m.firms.member)
    # (and its money goes back to its members, not into thin air: against the same month with its money
    # gone, each member has its share, fees paid before it dissolves)
    broke = copy.deepcopy(m)
    broke.cdas[0].association.budget_left = 0.0
    for run in (m, broke):  # the month's first steps, up to the CDA's and the association's (Model.step)
        run.month += 1
        run.month_log = {}
        market.update(run)
        act(run)
    assert cda.association is None and not m.firms.member.any()
    assert len(members) and budget > 0
    np.testing.assert_allclose(m.firms.cash[members] - broke.firms.cash[members], budget / len(members))


def test_an_association_survives_while_its_fees_pay_and_dissolves_below_its_quorum():
    m = _after_exit(PolicyParams(association=True, **SHORT), association_quorum=2, association_running_cost=0.1)
    cda = m.cdas[0]
    n = int(m.firms.member.sum())
    assert n >= 2 and m.params.association_fee * n > m.params.association_running_cost
    m.step()
    assert cda.association is not None and cda.association.unpaid_months == 0
    # a quorum above its membership: it dissolves (after the CDA's exit) that month
    m.params = replace(m.params, association_quorum=n + 50)
    m.step()
    assert cda.association is None


def test_what_a_game_gave_a_side_known_values():
    # value 10, cost 2 of which the host pays half, a withholder captures 0.3 of the effect
    mine = np.array([True, False, True, False])
    theirs = np.array([True, True, False, False])
    got = realised_value(np.full(4, 10.0), np.full(4, 2.0), np.full(4, 0.5), np.full(4, 0.3), mine, theirs)
    np.testing.assert_allclose(got, [9.0, 3.0, -1.0, 0.0])


def test_an_association_event_s_first_games_credit_its_members_only():
    m = small_model(n_firms=6)
    f = m.firms
    f.member[[0, 1, 2]] = True
    f.member_benefit[:] = 0.0
    a, b = np.array([0, 2]), np.array([1, 3])  # two members; a member and a non-member
    played = {"coop_a": np.array([True, True]), "coop_b": np.array([True, False]), "value_a": np.array([4.0, 6.0]),
              "value_b": np.array([5.0, 7.0]), "s_a": np.array([0.5, 0.5]), "s_b": np.array([0.5, 0.5]),
              "cost": np.array([1.0, 1.0]), "tau": np.array([0.3, 0.3])}
    credit_event_games(m, a, b, played)
    # both contributed: 4 - 0.5 and 5 - 0.5; firm 2 contributed alone: -0.5; firm 3 is not a member
    np.testing.assert_allclose(f.member_benefit[:6], [3.5, 4.5, -0.5, 0.0, 0.0, 0.0])


def test_members_whom_the_association_gives_nothing_leave_at_its_yearly_review():
    # Could fail: a review that values an event attended at a flat sum (the model before 2026-12-08) keeps
    # these members, who attend its events (12 a year) but whose events start no game, and who have no
    # facility. With nothing to show against a year's fees, nearly all leave and it falls below its quorum.
    policy = PolicyParams(association=True, event_games=False, **SHORT)
    m = _after_exit(policy, months=9, association_quorum=2, association_running_cost=0.01,
                    association_events_per_year=12.0)
    cda = m.cdas[0]
    assert cda.phase == "ended" and cda.association is not None
    n = int(m.firms.member.sum())
    assert n >= 10
    review = cda.association.formed + 12  # the step that makes this month holds the review
    while m.month < review - 1:
        m.step()
        assert cda.association is not None and int(m.firms.member.sum()) == n
    m.step()
    assert cda.association is None or int(m.firms.member.sum()) <= n // 5


def test_a_facility_whose_fees_and_grants_stop_closes():
    m = _after_exit(PolicyParams(common_facility=True, **SHORT))
    cda = m.cdas[0]
    assert cda.phase == "ended" and cda.facility_active and m.firms.facility_user.any()
    reserve = cda.facility_reserve
    # the fees stop (no association, no CDA any more): the reserve pays the running cost while it lasts
    m.params = replace(m.params, policy=replace(m.params.policy, facility_fee=0.0, facility_member_fee=0.0))
    cost = m.params.policy.facility_running_cost
    months = int(np.floor(reserve / cost + 1e-9))
    for _ in range(months):
        m.step()
        assert cda.facility_active
    m.step()
    assert not cda.facility_active and not m.firms.facility_user.any()


def test_a_facility_runs_on_the_cda_s_grant_and_closes_when_the_money_runs_out():
    # no fees at all: while the CDA is there and can pay, it covers the running cost; the month it cannot,
    # the facility closes, though the CDA's contract still runs
    policy = PolicyParams(common_facility=True, facility_fee=0.0, facility_member_fee=0.0,
                          **{**SHORT, "budget": 60.0 + 2.5 * 2.0, "duration_months": 40})
    m = small_model(n_firms=60, policy=policy, months=120)
    cda = m.cdas[0]
    opened = None
    while m.month < 40:
        m.step()
        if cda.facility_active and opened is None:
            opened = m.month
        if opened is not None and not cda.facility_active:
            break
    assert opened is not None and cda.phase not in ("ended", "none")
    assert m.month - opened == 2  # 5 wage-months left after the set-up: two months at 2.0, not a third
    assert cda.spent == pytest.approx(60.0 + 2 * 2.0)


def _group_of(m, size: int = 5):
    """Firms 0..size-1 of the live firms made a purchasing group, with ties among them at trust 0.9."""
    f = m.firms
    members = f.live()[:size]
    f.purchasing_group[members] = 0
    m.next_group_id = 1
    for k, a in enumerate(members):
        for b in members[k + 1:]:
            set_trust(m, a, b, 0.9, 0.9)
    return members


def test_a_group_whose_members_stop_contributing_dissolves():
    m = small_model(n_firms=20, months=60, reciprocity=0.0)  # (the baseline: no CDA holds the group)

    class Host:  # what _hold_groups reads of the CDA
        cluster = 0

    members = _group_of(m)
    mine = m.firms.live()
    # worth contributing (cost 0): every month the group holds
    m.params = replace(m.params, policy=replace(m.params.policy, group_contribution=0.0))
    for _ in range(3):
        m.month += 1
        _hold_groups(m, Host(), mine, "purchasing_group")
        assert (m.firms.purchasing_group[members] == 0).all()
    # now the contribution costs far more than the action is worth: no one contributes, the group ends
    cash = m.firms.cash[members].copy()
    m.params = replace(m.params, policy=replace(m.params.policy, group_contribution=100.0))
    m.month += 1
    _hold_groups(m, Host(), mine, "purchasing_group")
    assert (m.firms.purchasing_group[members] == -1).all()
    assert np.array_equal(m.firms.cash[members], cash)  # no one paid
    # and their trust in one another fell: each saw the others withhold
    k = m.ties.find(members[:1], members[1:2])[0]
    assert m.ties.trust_ij[k] < 0.9 and m.ties.trust_ji[k] < 0.9


def test_zero_budget_and_no_instruments_are_the_baseline_bit_for_bit():
    full = dict(association=True, common_facility=True, consortium_size=6, groups_per_year=4.0,
                events_per_year=6.0, subsidy_rate=0.5, linkage_firms_per_year=20.0)
    base = small_model(n_firms=60, months=40).run().series()
    zero = small_model(n_firms=60, months=40, policy=PolicyParams(**{**SHORT, **full, "budget": 0.0})).run()
    none = small_model(n_firms=60, months=40, policy=PolicyParams(**SHORT)).run()
    for m in (zero, none):
        assert m.cdas[0].spent == 0.0
        assert m.series().equals(base)
