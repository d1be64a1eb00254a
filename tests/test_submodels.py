"""Each submodel on a small hand-made situation whose right answer is known."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from model import ClusterModel, PolicyParams
from model.cda import Draws, meet, phase_of
from model.cooperation import choose_kinds, play_game
from model.game import KNOWLEDGE, PURCHASING, contribution_probability
from model.demography import exit_firms
from model.market import update as market_update
from model.observation import TriangleCount, gini, local_clustering, triangles
from model.services import serve
from model.state import TieTable

from .conftest import set_trust, small_model

# choices as good as certain: cheap actions, sharp choices (every firm values every action above 0.2 / 0.5)
SURE = dict(choice_sharpness=1000.0, reciprocity=0.0, cost=(0.01, 0.01, 0.01, 0.01), temptation=(0.0, 0.0, 0.0, 0.0))


@pytest.mark.parametrize("mix", [(0.35, 0.2, 0.2, 0.25), (1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 2.0),
                                 (0.1, 0.3, 0.0, 0.6), (3.0, 1.0, 1.0, 2.0)])
def test_joint_action_types_follow_the_mix(mix):
    """Over the 22,350 ordered pairs of 150 firms the types' shares are the mix's (each within 4.5
    standard errors), a type with no share is never drawn, and a pair's type is the same whatever
    other pairs are drawn with it."""
    model = small_model(n_firms=150, action_mix=mix)
    live = model.firms.live()
    a, b = np.repeat(live, len(live)), np.tile(live, len(live))
    a, b = a[a != b], b[a != b]
    kinds = choose_kinds(model, a, b)
    share = np.asarray(mix) / sum(mix)
    counts = np.bincount(kinds, minlength=4)
    assert (np.abs(counts / len(kinds) - share) <= 4.5 * np.sqrt(share * (1 - share) / len(kinds)) + 1e-12).all()
    assert (counts[share == 0] == 0).all()
    assert choose_kinds(model, a[7:8], b[7:8])[0] == kinds[7]


def _pair(model):
    live = model.firms.live()
    return np.array([live[0]]), np.array([live[1]])


def test_two_firms_that_both_cooperate_gain_trust():
    m = small_model(**SURE, learning_rate=0.2)
    a, b = _pair(m)
    k = set_trust(m, a[0], b[0], 0.5, 0.6)
    out = play_game(m, a, b, np.array([PURCHASING]))
    assert out["coop_a"][0] and out["coop_b"][0]
    assert m.ties.trust_of(np.array([k]), a)[0] == pytest.approx(0.5 + 0.2 * 0.5)
    assert m.ties.trust_of(np.array([k]), b)[0] == pytest.approx(0.6 + 0.2 * 0.4)
    # a joint purchase gives both partners the discount for effect_months
    assert m.firms.discount_until[a[0]] == m.month + m.params.effect_months
    assert m.month_log["games"][3].sum() == 1  # one joint action


def test_betrayal_lowers_trust_by_the_betrayal_weight():
    m = small_model(**{**SURE, "choice_sharpness": 1000.0}, learning_rate=0.2, betrayal_weight=1.5)
    a, b = _pair(m)
    # b trusts a not at all, so b withholds; a trusts b fully, so a contributes
    k = set_trust(m, a[0], b[0], 1.0, 0.0)
    out = play_game(m, a, b, np.array([PURCHASING]))
    assert out["coop_a"][0] and not out["coop_b"][0]
    assert m.ties.trust_of(np.array([k]), a)[0] == pytest.approx(1.0 * (1 - 0.2 * 1.5))
    # the sucker loses c and gets no discount; the free rider captures tau = 0 of it, and no cash either
    assert m.month_log["payoff"][a[0]] == pytest.approx(-0.01)
    assert m.month_log["payoff"][b[0]] == pytest.approx(0.0)
    assert m.firms.discount_until[a[0]] < m.month and m.firms.discount_until[b[0]] == m.month


def test_subsidy_lowers_contributors_cost_by_exactly_the_share():
    policy = PolicyParams(budget=100.0, subsidy_rate=0.25, start_month=1, duration_months=10)
    m = small_model(policy=policy, **SURE)
    cda = m.cdas[0]
    cda.phase = "pilot"
    a, b = _pair(m)
    set_trust(m, a[0], b[0], 1.0, 1.0)
    play_game(m, a, b, np.array([PURCHASING]))
    # both contribute: each pays c (1 - s) instead of c (and gets the discount, not cash)
    assert m.month_log["payoff"][a[0]] == pytest.approx(-0.01 * (1 - 0.25))
    assert m.month_log["payoff"][b[0]] == pytest.approx(-0.01 * (1 - 0.25))
    assert cda.spent == pytest.approx(2 * 0.25 * 0.01)
    assert cda.budget_left == pytest.approx(100.0 - 2 * 0.25 * 0.01)


def test_subsidy_lowers_the_trust_threshold():
    # with gain = p b (1 - tau) - c (1 - s), the break-even trust is c (1 - s) / (b (1 - tau))
    p_no = contribution_probability(0.5, 1.0, 0.6, 0.0, 0.0, 0.5, 10.0, 0.0)
    p_sub = contribution_probability(0.5, 1.0, 0.6, 0.0, 0.5, 0.5, 10.0, 0.0)
    assert p_no < 0.5 < p_sub
    assert contribution_probability(0.3, 1.0, 0.6, 0.0, 0.5, 0.5, 10.0, 0.0) == pytest.approx(0.5)


def test_knowledge_sharing_moves_the_laggard_toward_the_leader():
    m = small_model(**SURE, spillover=0.1, productivity_noise=0.0, local_spillover=0.0, invest_learning=0.0)
    a, b = _pair(m)
    f = m.firms
    f.productivity[a[0]], f.productivity[b[0]] = 1.0, 2.0
    f.facility_user[:] = False
    set_trust(m, a[0], b[0], 1.0, 1.0)
    play_game(m, a, b, np.array([KNOWLEDGE]))
    from model.economy import learn
    m.month_log.setdefault("investment", None)
    f.profit[:] = 0.0
    learn(m)
    assert f.productivity[a[0]] == pytest.approx(1.1)
    assert f.productivity[b[0]] == pytest.approx(2.0 + 0.25 * 0.1 * 1.0)  # knowledge_return x the gain


def test_firm_below_its_debt_limit_exits():
    m = small_model(debt_limit=0.5)
    f = m.firms
    live = f.live()
    victim = live[0]
    f.cash[live] = 10.0
    f.cash[victim] = -0.5 * f.capital[victim] - 0.01
    set_trust(m, live[0], live[1], 0.5, 0.5)
    uid = m.firm_agent(victim).unique_id
    n_agents = len(m.agents)
    gone = exit_firms(m)
    assert list(gone) == [victim]
    assert not f.alive[victim]
    assert len(m.agents) == n_agents - 1
    assert uid not in {a.unique_id for a in m.agents}
    assert not ((m.ties.i == victim) | (m.ties.j == victim)).any()
    # a firm exactly at the limit stays
    f.cash[live[1]] = -0.5 * f.capital[live[1]]
    assert len(exit_firms(m)) == 0


def test_networking_event_creates_ties_among_attendees_at_their_priors():
    m = small_model(n_firms=12)
    live = m.firms.live()
    m.ties.keep(np.zeros(len(m.ties), dtype=bool))
    attendees = live[:5]
    meet(m, attendees, n_new_ties=2, rng=Draws(m))
    inside = np.isin(m.ties.i, attendees) & np.isin(m.ties.j, attendees)
    assert len(m.ties) > 0 and inside.all()
    assert set(np.concatenate([m.ties.i, m.ties.j])) == set(attendees)  # every attendee got a tie
    # no one has played a game yet: nothing to report, so every new tie is at its ends' priors
    assert m.ties.trust_ij == pytest.approx(m.firms.prior_trust[m.ties.i])
    assert m.ties.trust_ji == pytest.approx(m.firms.prior_trust[m.ties.j])
    outsiders = live[5:]
    assert not (np.isin(m.ties.i, outsiders) | np.isin(m.ties.j, outsiders)).any()


def test_an_event_without_games_moves_no_trust_when_gossip_is_off():
    # DESIGN.md 5.9: with gossip_weight = 0, an event whose attendees play no game leaves every trust
    # value between firms unchanged. Could fail: a meeting that writes trust (as the model did before
    # 2026-12-07) or hears reputations regardless of the weight.
    m = small_model(n_firms=40, gossip_weight=0.0).run(30)
    live = m.firms.live()
    m.firms.record[live] = np.linspace(0.0, 1.0, len(live))  # reputations to report, were gossip on
    before = (m.ties.key.copy(), m.ties.trust_ij.copy(), m.ties.trust_ji.copy(), m.firms.prior_trust.copy())
    meet(m, live[:20], n_new_ties=0, rng=Draws(m))  # no host: no facilitated first game
    assert np.array_equal(m.ties.key, before[0])
    assert np.array_equal(m.ties.trust_ij, before[1]) and np.array_equal(m.ties.trust_ji, before[2])
    assert np.array_equal(m.firms.prior_trust, before[3])
    # with gossip on, the same meeting moves trust toward the attendees' reputations
    m2 = small_model(n_firms=40, gossip_weight=0.5).run(30)
    m2.firms.record[live] = np.linspace(0.0, 1.0, len(live))
    tij = m2.ties.trust_ij.copy()
    meet(m2, live[:20], n_new_ties=0, rng=Draws(m2))
    assert not np.array_equal(m2.ties.trust_ij, tij)


def test_cda_stops_acting_when_budget_is_spent():
    policy = PolicyParams(budget=10.0, start_month=1, duration_months=48, share_diagnostic=0.0,
                          events_per_year=12, event_cost=4.0, event_games=False)
    m = small_model(n_firms=30, policy=policy, months=24)
    m.run()
    cda = m.cdas[0]
    assert cda.events_held == 2
    assert cda.spent == pytest.approx(8.0)
    assert cda.budget_left == pytest.approx(2.0)
    spent = m.series()["cda_spent"]
    assert spent.is_monotonic_increasing and spent.iloc[-1] == pytest.approx(8.0)
    assert (spent.iloc[3:] == 8.0).all()  # nothing after the second event (month 2)


def test_strategic_projects_start_even_when_the_programme_starts_in_month_one():
    policy = PolicyParams(budget=500.0, start_month=1, duration_months=10, share_diagnostic=0.0,
                          share_trust_building=0.0, share_pilot=0.0, share_strategic=0.5, consortium_size=4,
                          common_facility=True, association=True)
    m = small_model(n_firms=60, policy=policy, months=3, export_threshold=100.0).run()
    cda = m.cdas[0]
    assert cda.consortium_active and cda.facility_active and cda.association is not None
    # consortium formed (paid once, then monthly), facility and association set up
    pol = policy
    assert cda.spent >= pol.consortium_cost * 3 + pol.facility_cost + pol.association_cost - 1e-9


def test_phases_follow_the_shares_of_the_contract():
    pol = PolicyParams(start_month=12, duration_months=20, share_diagnostic=0.1, share_trust_building=0.2,
                       share_pilot=0.3, share_strategic=0.3)
    assert phase_of(pol, 11) == ("none", 0)
    assert phase_of(pol, 12) == ("diagnostic", 0)
    assert phase_of(pol, 14) == ("trust_building", 0)
    assert phase_of(pol, 18) == ("pilot", 0)
    assert phase_of(pol, 24) == ("strategic", 0)
    assert phase_of(pol, 30) == ("exit", 0)
    assert phase_of(pol, 32) == ("ended", 0)


def test_domestic_price_follows_the_inverse_demand_curve():
    m = small_model(n_firms=20)
    spec = m.params.clusters[0]
    m.domestic_supply = m.q0 * 2.0
    m.month = 0
    market_update(m)
    assert m.price[0] == pytest.approx(spec.price * 2.0 ** (-1.0 / spec.elasticity))


def test_demand_drop_shock_lowers_price_by_its_magnitude():
    m = small_model(n_firms=20, shock_kind="demand_drop", shock_start_month=1, shock_magnitude=0.3)
    m.domestic_supply = m.q0.copy()
    m.month = 1
    market_update(m)
    spec = m.params.clusters[0]
    growth = (1 + spec.market_growth) ** (1 / 12)  # demand grows by month 1; supply stayed at Q0
    assert m.price[0] == pytest.approx(spec.price * 0.7 * growth ** (1 / spec.elasticity))


def test_training_serves_at_most_capacity_and_neediest_first():
    m = small_model(n_firms=40, awareness_spread=0.0)
    f = m.firms
    live = f.live()
    train = [i.index for i in m.institutions if i.kind == "training_centre"][0]
    cap = m.institutions[train].capacity
    f.aware[live] = False
    f.aware[live, list(m.cluster_institutions[0]).index(train)] = True
    f.productivity[live] = np.linspace(0.5, 1.5, len(live))
    before = f.productivity[live].copy()
    serve(m)
    improved = f.productivity[live] > before
    assert improved.sum() == cap
    assert improved[:cap].all()  # lowest productivity = highest need


def test_idle_ties_decay_toward_the_prior_and_go_below_tie_min():
    from model.cooperation import decay_ties
    m = small_model(n_firms=6, tie_memory=5, tie_decay=0.5, tie_min=0.3)
    live = m.firms.live()
    m.ties.keep(np.zeros(len(m.ties), dtype=bool))
    f = m.firms
    f.prior_trust[live] = [0.4, 0.4, 0.1, 0.1, 0.1, 0.1]
    k_idle = set_trust(m, live[0], live[1], 0.8, 0.8)     # idle, good: decays toward 0.4 and stays
    set_trust(m, live[2], live[3], 0.3, 0.34)             # idle, low priors: decays below tie_min, removed
    k_used = set_trust(m, live[4], live[5], 0.1, 0.1)     # low trust but used this month: kept (spec 5.3)
    m.ties.last[:] = 0
    m.month = 6
    m.ties.last[k_used] = 6
    decay_ties(m)
    assert len(m.ties) == 2
    k = m.ties.find(np.array([live[0]]), np.array([live[1]]))[0]
    assert m.ties.trust_ij[k] == pytest.approx(0.8 + 0.5 * (0.4 - 0.8))
    assert m.ties.find(np.array([live[2]]), np.array([live[3]]))[0] == -1
    assert m.ties.find(np.array([live[4]]), np.array([live[5]]))[0] >= 0
    assert k_idle == 0
    # a tie idle for more than twice tie_memory is forgotten whatever its trust
    m.month = 11
    decay_ties(m)
    assert m.ties.find(np.array([live[0]]), np.array([live[1]]))[0] == -1


def test_partner_search_respects_distance_decay():
    from model.cooperation import draw_new_partners
    m = small_model(n_firms=50, interaction_range=1e-6)
    f = m.firms
    live = f.live()
    partners = draw_new_partners(m, live)
    found = partners >= 0
    assert found.any()
    # with a vanishing range only firms in the same cell are ever accepted
    assert (f.x[partners[found]] == f.x[live[found]]).all()
    assert (f.y[partners[found]] == f.y[live[found]]).all()
    assert (partners[found] != live[found]).all()


def test_spin_offs_start_micro_near_their_parent_with_a_tie():
    from model.demography import enter_firms
    m = small_model(n_firms=100, spinoff_rate=0.05, entry_profit_sensitivity=0.0)
    before = set(m.firms.live())
    new = enter_firms(m)
    assert len(new) > 0
    f = m.firms
    assert (f.employees[new] == 1).all()
    assert set(new).isdisjoint(before)
    # every spin-off keeps a tie to a parent within one cell
    for s in new:
        k = np.flatnonzero((m.ties.i == s) | (m.ties.j == s))
        assert len(k) == 1
        other = m.ties.j[k[0]] if m.ties.i[k[0]] == s else m.ties.i[k[0]]
        assert max(abs(f.x[s] - f.x[other]), abs(f.y[s] - f.y[other])) <= 1
    assert len(m.agents_by_type[type(m.firm_agent(new[0]))]) == len(before) + len(new)


def test_clustering_coefficient_matches_networkx():
    g = nx.gnm_random_graph(60, 200, seed=3)
    t = TieTable()
    e = np.array(g.edges())
    t.add(e[:, 0], e[:, 1], np.full(len(e), 0.5), np.full(len(e), 0.5), 0)
    ours = local_clustering(t, 60)
    theirs = nx.clustering(g)
    assert np.allclose(ours, [theirs[k] for k in range(60)])


def test_triangle_count_kept_up_to_date_equals_a_recount():
    """Months of random tie churn (some months heavy, slots growing): the running count stays exact."""
    rng = np.random.default_rng(11)
    t = TieTable()
    counter = TriangleCount()
    capacity = 40
    for month in range(30):
        if month in (10, 20):
            capacity *= 2  # the firm table grew
        n_add = 200 if month == 15 else int(rng.integers(0, 25))
        a, b = rng.integers(0, capacity, n_add), rng.integers(0, capacity, n_add)
        t.keep(rng.random(len(t)) > (0.5 if month == 25 else 0.05))
        t.add(a, b, np.full(n_add, 0.5), np.full(n_add, 0.5), month)
        g = nx.Graph()
        g.add_nodes_from(range(capacity))
        g.add_edges_from(zip(t.i.tolist(), t.j.tolist()))
        expected = nx.triangles(g)
        running = counter.update(t, capacity)
        assert running.tolist() == [expected[k] for k in range(capacity)]
        assert running.tolist() == triangles(t, capacity).tolist()


def test_model_clustering_equals_a_recount_every_month():
    m = ClusterModel(rng=4, n_firms=150)
    for _ in range(30):
        m.step()
        recount = local_clustering(m.ties, m.firms.capacity)[m.firms.live()].mean()
        assert m.stats["clustering_coefficient"] == recount


def test_gini_known_values():
    assert gini(np.array([1, 1, 1, 1])) == 0.0
    assert gini(np.array([0, 0, 0, 4])) == pytest.approx(0.75)
    assert gini(np.array([0, 0, 0, 4.0])) == pytest.approx(0.75)


def test_gini_of_integers_by_histogram_equals_the_sorted_sum_exactly():
    rng = np.random.default_rng(8)
    for n in (2, 3, 50, 20_000):
        emp = np.maximum(1, rng.lognormal(1.5, 1.2, n)).astype(np.int64)
        assert gini(emp) == gini(emp.astype(float))
    assert gini(np.array([0, 0])) == 0.0 and gini(np.array([7])) == 0.0


def test_output_follows_the_production_function():
    from model.economy import produce
    m = small_model(n_firms=10)
    f = m.firms
    live = f.live()
    f.subcontract_until[:] = -1
    produce(m)
    p = m.params
    expected = m.scale[0] * f.productivity[live] * f.employees[live] ** p.alpha * f.capital[live] ** p.beta
    assert np.allclose(f.output[live], expected)
    # a subcontracting pair takes subcontract_bonus more orders
    f.subcontract_until[live[0]] = m.month
    produce(m)
    assert f.output[live[0]] == pytest.approx(expected[0] * (1 + p.subcontract_bonus))


def test_profitable_firm_below_its_optimum_hires_and_a_loss_maker_sheds():
    from model.economy import grow, produce
    m = small_model(n_firms=10, growth_noise=0.0, max_hire_rate=1.0, hire_sensitivity=10.0,
                    fire_sensitivity=10.0, max_fire_rate=1.0)
    f = m.firms
    live = f.live()
    f.employees[live] = 20
    f.cash[live] = 1e6
    produce(m)
    m.month_log["investment"] = np.zeros(len(live))
    f.margin[live[0]] = 0.5     # profitable and, with 20 workers but tiny capital, ...
    f.margin[live[1]] = -0.5    # loss-making
    mrpl_live, mrpl = m.month_log["mrpl"]
    mrpl[0] = 2.0 * m.params.wage  # ... the next worker earns twice the wage
    mrpl[1] = 0.5 * m.params.wage
    grow(m)
    assert f.employees[live[0]] > 20
    assert 1 <= f.employees[live[1]] < 20


def test_partial_adjustment_lets_a_one_worker_firm_hire_several_and_a_large_one_shed_toward_its_target():
    """Known answers (issue 21 part 2), no shocks (growth_noise 0, granular_noise 0), adjust_speed 0.1,
    adjust_exponent 0, shed_speed 0.5, max_hire_rate 0.08 (kernels.growth_draws).
    A one-worker firm whose target is 4 hires Poisson(min(0.1 x (4 - 1 - 1/2), max(0.08, 0.5)) = 0.25):
    at the uniform 0.99 that is 2 hires in a month (P(X <= 1) = 0.974, P(X <= 2) = 0.998); the integer rule
    never lets such a firm hire more than L x max_hire_rate = 0.08 in expectation. A ten-worker firm whose
    target is 4 sheds Binomial(9, 0.5 x (10 - 1/2 - 4) / 10 = 0.275): at the uniform 0.5, 2
    (P(X <= 1) = 0.244, P(X <= 2) = 0.531)."""
    from model import kernels
    m = small_model(n_firms=3)
    p = m.params
    f = m.firms
    live = f.live()[:2]
    f.employees[live] = [1, 10]
    f.margin[live] = 0.2
    eta = 1.0 / (1.0 - p.alpha * (1.0 - 1.0 / p.variety_elasticity))
    gap = np.array([4.0 ** (1.0 / eta) - 1.0, 0.4 ** (1.0 / eta) - 1.0])  # targets 4 and 4 workers
    plans = kernels.Plans(np.zeros(2), gap < -0.05, gap, np.array([True, True]))
    terms = kernels.GrowthTerms(depreciation=0.0, wage=p.wage, buffer_per_worker=0.0, hire_sensitivity=1.0,
                                max_hire_rate=0.08, max_fire_rate=1.0, fire_sensitivity=0.0, cap_per_worker=1e9,
                                growth_noise=0.0, granular_noise=0.0, granular_exponent=0.5, adjust_speed=0.1,
                                adjust_exponent=0.0, shed_speed=0.5, target_exponent=eta)
    u = np.full((kernels.GROWTH_DRAWS, 2), 0.5)
    u[kernels.GROWTH_HIRES, 0] = 0.99
    w = np.full(2, 0.5)
    hires, fires = kernels.growth_draws(live, f.arrays(), plans, u, terms, w)
    assert list(hires) == [2, 0] and list(fires) == [0, 2]
    # the granular shock, scale granular_noise x L ** -granular_exponent, its mean taken out (x (1 - b^2)):
    # at w = 0.9, e = b log 5; the one-worker firm (b = 0.4) aims at 4 x 5 ** 0.4 x 0.84 = 6.40 and hires
    # Poisson(0.490): 3 at 0.99 (P(X <= 2) = 0.986); the ten-worker firm (b = 0.126) aims at 4.82 and sheds
    # Binomial(9, 0.234): 2 at 0.5
    hires, fires = kernels.growth_draws(live, f.arrays(), plans, u, terms._replace(granular_noise=0.4),
                                        np.full(2, 0.9))
    assert hires[0] == 3 and fires[1] == 2
    # the hiring speed falls with size: adjust_exponent 1 halves it for a two-worker firm
    # (the same gap, at two workers: target 8; Poisson(min(0.1 / 2 x 5.5, 0.5) = 0.275) at 0.99: 2)
    f.employees[live[0]] = 2
    hires, _ = kernels.growth_draws(live, f.arrays(), plans, u, terms._replace(adjust_exponent=1.0), w)
    assert hires[0] == 2
    hires, _ = kernels.growth_draws(live, f.arrays(), plans, u, terms, w)  # speed 0.1: min(0.55, 0.5) = 0.5
    assert hires[0] == 3  # Poisson(0.5) at 0.99: P(X <= 2) = 0.986, P(X <= 3) = 0.998
    # switched off (adjust_speed 0): the integer rule (hire rate 0 in these plans: no hires)
    hires, fires = kernels.growth_draws(live, f.arrays(), plans, u, terms._replace(adjust_speed=0.0), w)
    assert hires[0] == 0


def test_block_uniforms_last_their_block_in_each_identitys_own_calendar():
    """keyed.block_uniforms: identity i's draw is keyed on (month + i % months) // months, so it stays the same
    for ``months`` months and changes in the months where that block index changes (identity 5, blocks of
    12 months: month 6 ends block 0, (6 + 5) // 12 = 0 and (7 + 5) // 12 = 1); identities differ."""
    from model import keyed
    ids = np.array([5, 12], dtype=np.int64)
    draws = np.array([keyed.block_uniforms(7, 27, month, ids, 12) for month in range(30)])
    assert (draws[:7, 0] == draws[0, 0]).all() and draws[7, 0] != draws[6, 0]
    assert (draws[7:19, 0] == draws[7, 0]).all() and draws[19, 0] != draws[18, 0]
    assert (draws[:12, 1] == draws[0, 1]).all() and draws[12, 1] != draws[11, 1]
    assert draws[0, 0] != draws[0, 1]
    assert ((draws > 0) & (draws < 1)).all()


def test_local_spillover_lifts_laggards_toward_the_town_mean():
    from model.economy import learn
    m = small_model(n_firms=2, productivity_noise=0.0, invest_learning=0.0, local_spillover=0.5)
    f = m.firms
    live = f.live()
    f.town[live] = f.town[live[0]]
    f.productivity[live] = [1.0, 3.0]
    f.profit[live] = 0.0
    f.facility_user[live] = False
    learn(m)
    assert f.productivity[live[0]] == pytest.approx(1.0 + 0.5 * (2.0 - 1.0))
    assert f.productivity[live[1]] == pytest.approx(3.0)  # above the mean: no loss


def test_group_median_equals_numpy_median_per_group():
    from model.services import group_median
    rng = np.random.default_rng(2)
    values = rng.random(101)
    group = rng.integers(0, 6, 101)
    group[group == 4] = 5  # group 4 is empty
    got = group_median(values, group, 7)
    for g in range(7):
        expected = np.median(values[group == g]) if (group == g).any() else 0.0
        assert got[g] == expected


def test_per_cluster_series_equal_a_direct_count_of_each_cluster():
    from model import ModelParams, presets
    from model.params import ClusterSpec
    clusters = (ClusterSpec(name="a", n_firms=120), ClusterSpec(name="b", town="Kashan", n_firms=80),
                ClusterSpec(name="c", town="Najafabad", n_firms=60, size_exponent=0.9))
    m = ClusterModel(ModelParams(clusters=clusters, policy=presets.policy("standard_cda"), months=30).with_overrides(
        policy_start_month=3), rng=6).run()
    rows = m.cluster_series().set_index(["cluster", "month"])
    f = m.firms
    live = f.live()
    clustering = local_clustering(m.ties, f.capacity)
    for k, name in enumerate("abc"):
        r = rows.loc[(name, 30)]
        mine = live[f.cluster[live] == k]
        assert r.firms == len(mine) and r.employment == f.employees[mine].sum()
        assert r.output == pytest.approx(f.revenue[mine].sum(), rel=1e-12)
        assert r.mean_productivity == pytest.approx(f.productivity[mine].mean(), rel=1e-12)
        assert r.gini_employment == pytest.approx(gini(f.employees[mine]), rel=1e-12)
        assert r.clustering_coefficient == pytest.approx(clustering[mine].mean(), rel=1e-12)
        assert r.members_share == pytest.approx(f.member[mine].mean(), rel=1e-12)
        n_ties = int(((f.cluster[m.ties.i] == k)).sum())
        assert r.network_density == pytest.approx(2 * n_ties / (len(mine) * (len(mine) - 1)), rel=1e-12)
    # the region is the sum of its clusters
    region = m.series().set_index("month").loc[30]
    assert region.firms == rows.xs(30, level="month").firms.sum()
    assert region.joint_actions == rows.xs(30, level="month").joint_actions.sum()


def test_the_region_row_is_its_clusters_rows_aggregated():
    import pandas as pd

    from model import ModelParams, presets
    from model.params import ClusterSpec
    clusters = (ClusterSpec(name="a", n_firms=90), ClusterSpec(name="b", town="Kashan", n_firms=4),
                ClusterSpec(name="c", town="Najafabad", n_firms=50, funded=False))
    m = ClusterModel(ModelParams(clusters=clusters, policy=presets.policy("standard_cda", budget=300.0),
                                 months=30).with_overrides(policy_start_month=2), rng=2)
    rows = []
    while m.running:
        m.step()
        rows.append(m.stats)
    region = pd.DataFrame(rows).set_index("month")
    per = m.cluster_series().query("month > 0").groupby("month")
    for col in ("firms", "employment", "entries", "exits", "joint_actions"):
        assert (region[col] == per[col].sum()).all(), col
    for col in ("output", "exports"):
        assert np.allclose(region[col], per[col].sum(), rtol=1e-12, atol=0), col
    n = per["firms"].sum()
    for col in ("mean_productivity", "clustering_coefficient", "members_share", "mean_degree"):
        means = per.apply(lambda g, col=col: (g[col] * g["firms"]).sum()) / n
        assert np.allclose(region[col], means, rtol=1e-12, atol=1e-15), col
    assert np.allclose(region.cda_spent, per["cda_spent"].sum(), rtol=1e-12) and region.cda_spent.iloc[-1] > 0
    assert (region.cda_phase == per["cda_phase"].agg(lambda p: next((x for x in p if x != "none"), "none"))).all()
    # at the end: the region's Gini and density over all its firms, directly
    f = m.firms
    live = f.live()
    assert m.stats["gini_employment"] == gini(f.employees[live])
    pairs = sum(k * (k - 1) / 2 for k in np.bincount(f.cluster[live]))
    assert m.stats["network_density"] == pytest.approx(len(m.ties) / pairs, rel=1e-15)


def test_demography_lists_every_entry_and_exit_with_its_month():
    m = ClusterModel(rng=3, n_firms=120, months=36).run()
    d = m.demography()
    s = m.series()
    by_month = d.groupby(["event", "month"]).size()
    for t in (5, 20, 36):
        assert by_month.get(("exit", t), 0) == s.exits.iloc[t]
        assert by_month.get(("entry", t), 0) == s.entries.iloc[t]
    exits = d[d.event == "exit"]
    assert (exits.month == exits.birth_month + exits.age + 1).all() and (exits.month >= 1).all()
    assert len(d[d.event == "entry"]) == s.entries.sum()


def test_initial_productivity_is_remembered_only_for_identical_inputs():
    from model import economy
    from model.params import ModelParams
    p = ModelParams()
    spec = p.clusters[0]
    employees, capital = [np.array([1, 1, 2, 5, 9])], [np.array([3.0, 3.0, 6.0, 15.0, 27.0])]
    first = economy.initial_productivity(p, [spec], employees, capital)
    again = economy.initial_productivity(p, [spec], [employees[0].copy()], [capital[0].copy()])
    assert again is first and not first[0][0].flags.writeable
    fresh = economy.solve_initial_productivity(p, [spec], employees, capital)
    assert np.array_equal(fresh[0][0], first[0][0]) and fresh[0][1] == first[0][1]
    # one more worker changes the answer
    other = economy.initial_productivity(p, [spec], [np.array([1, 1, 2, 5, 10])], capital)
    assert other is not first and not np.array_equal(other[0][0], first[0][0])


def test_glibc_keeps_freed_memory_unless_told_not_to(monkeypatch):
    import platform

    from model.memory import keep_freed_memory
    monkeypatch.setenv("KHUSHEH_MALLOC", "default")
    assert keep_freed_memory() is False
    monkeypatch.delenv("KHUSHEH_MALLOC")
    assert keep_freed_memory() is (platform.libc_ver()[0] == "glibc")


def test_nearest_town_by_hand_and_over_the_whole_grid():
    from model.geography import _nearest_town, build_region
    region = build_region(["Isfahan", "Kashan", "Aran-Bidgol"], cell_km=2.0, margin=3)
    # a town's own cell is nearest to that town
    for k, (x, y) in enumerate(region.town_xy):
        if region.town_layer[x, y] == k:
            assert region.nearest_town(np.array([x]), np.array([y])).tolist() == [k]
    # the table holds, for every cell, what the distance rule gives (Chebyshev, then Euclidean)
    gx, gy = np.meshgrid(np.arange(region.width), np.arange(region.height), indexing="ij")
    x, y = gx.ravel(), gy.ravel()
    assert np.array_equal(region.nearest_town(x, y), _nearest_town(region.town_xy, x, y))
    # a cell two cells west and one south of a town, with no other town within 3 cells, is that town's
    k = region.town_id("Kashan")
    tx, ty = region.town_xy[k]
    others = np.delete(region.town_xy, k, axis=0)
    assert np.abs(others - [tx - 2, ty - 1]).max(axis=1).min() > 3
    assert region.nearest_town(np.array([tx - 2]), np.array([ty - 1])).tolist() == [k]


def test_a_town_added_for_a_cluster_of_its_own_is_placed_only_where_a_cluster_names_it():
    """Khorzuq (added for the province's named clothing cluster) lies about 14 km north of Isfahan, inside the
    box of every Isfahan cluster. Fails if it joins the map of a region that does not name it: the generic
    cluster's towns, layers and so its runs would move (tests/test_regression.py would fail too)."""
    from model.geography import PLACED_WHEN_NAMED, TOWNS, build_region
    assert "Khorzuq" in PLACED_WHEN_NAMED and "Khorzuq" in TOWNS
    without = build_region(["Isfahan"], cell_km=5.0, margin=8)
    assert "Khorzuq" not in without.town_names and "Kordabad" in without.town_names  # its neighbour is placed
    with_it = build_region(["Isfahan", "Khorzuq"], cell_km=5.0, margin=8)
    assert with_it.town_names[:2] == ("Isfahan", "Khorzuq")
    # about 14 km north (2-3 cells of 5 km) and within a cell east-west of Isfahan
    dx, dy = with_it.town_xy[1] - with_it.town_xy[0]
    assert abs(dx) <= 1 and 2 <= dy <= 3
    assert set(without.town_names) <= set(with_it.town_names)
