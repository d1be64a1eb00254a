"""Partner search (5.1), the cooperation game (5.2), trust and reputation (5.3).

All vectorised over seekers, pairs and ties; no per-firm Python loop.
"""

from __future__ import annotations

import numpy as np

from . import cda, kernels
from .params import JOINT_ACTION_TYPES

PURCHASING, MARKETING, SUBCONTRACTING, KNOWLEDGE = range(len(JOINT_ACTION_TYPES))


def logistic(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -500, 500)))


def contribution_probability(trust, benefit, cost, tau, subsidy, propensity, sharpness, reciprocity):
    """P(contribute) = logistic(k * (p b (1 - tau) - c (1 - s)) + r (propensity - 0.5))."""
    gain = trust * benefit * (1.0 - tau) - cost * (1.0 - subsidy)
    return logistic(sharpness * gain + reciprocity * (propensity - 0.5))


def _pools(model):
    """Live firms grouped by (cluster, town) and by cluster: for each, (members in slot order, start of
    each group, size of each group)."""
    f = model.firms
    live = f.live()
    pools = []
    for key, n_groups in ((model.town_group(live), model.n_town_groups), (f.cluster[live], model.n_clusters)):
        order = kernels.group_order(key, n_groups)
        size = np.bincount(key, minlength=n_groups)
        pools.append((live[order], np.cumsum(size) - size, size))
    return pools


def draw_new_partners(model, seekers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A new candidate for each seeker by distance decay, preferring its own town.

    Rejection sampling: each round proposes a firm of the seeker's town (with
    probability ``own_town_preference``) or of its whole cluster, uniformly,
    and accepts it with probability ``exp(-d / interaction_range)``. Returns
    the partner slot, or -1 for seekers left without one after ``search_rounds``.
    """
    p = model.params
    f = model.firms
    n = len(seekers)
    partner = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return partner
    (pool_ct, start_ct, size_ct), (pool_c, start_c, size_c) = _pools(model)
    own_key, own_cluster = model.town_group(seekers), f.cluster[seekers]
    ct_lo, ct_n = start_ct[own_key], size_ct[own_key]
    c_lo, c_n = start_c[own_cluster], size_c[own_cluster]
    u = rng.random((p.search_rounds, 3, n))
    accept = model.accept_by_distance
    return kernels.propose_partners(seekers, u, p.own_town_preference, kernels.Pool(pool_ct, ct_lo, ct_n),
                                    kernels.Pool(pool_c, c_lo, c_n), f.arrays(), accept)


def acceptance_by_distance(region, interaction_range: float) -> np.ndarray:
    """The chance of accepting a candidate at each distance on the grid, in cells: exp(-d / interaction_range)."""
    return np.exp(-np.arange(max(region.width, region.height)) / interaction_range)


def action_cdf(mix) -> np.ndarray:
    """Cumulative shares of the joint-action types, as ``Generator.choice`` makes them of ``p``."""
    cdf = (np.asarray(mix) / sum(mix)).cumsum()
    cdf /= cdf[-1]
    return cdf


def choose_kinds(model, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` joint-action types drawn by ``action_mix``: the draws and the result of
    ``rng.choice(4, size=n, p=action_mix / sum(action_mix))``, without its checks of ``p`` on every
    call (the parameters are checked once; tests/test_submodels.py compares the two)."""
    return model.action_cdf.searchsorted(rng.random(n), side="right")


def partnering(model) -> None:
    """Step 3: firms seek partners, play the cooperation game, update trust and ties."""
    p = model.params
    f = model.firms
    ties = model.ties
    rng = model.streams["search"]
    u_seek = rng.random(f.capacity)
    seekers = np.flatnonzero(f.alive & (u_seek < p.p_seek))
    n_s = len(seekers)
    partner = np.full(n_s, -1, dtype=np.int64)
    tie = np.full(n_s, -1, dtype=np.int64)
    # an existing tie, drawn uniformly and kept with probability equal to the trust in it
    u_pick, u_keep = rng.random((2, n_s))
    if len(ties) and n_s:
        partner, tie = kernels.pick_known_partners(seekers, u_pick, u_keep, ties.adjacency_of(seekers, f.capacity),
                                                   ties.arrays())
    # otherwise a new candidate by distance decay (which may be a partner already: looked up in play_game)
    need = partner < 0
    partner[need] = draw_new_partners(model, seekers[need], rng)
    ok = partner >= 0
    a, b = seekers[ok], partner[ok]
    kind = choose_kinds(model, rng, len(a))
    play_game(model, a, b, kind, tie[ok])
    decay_ties(model)


def play_game(model, a: np.ndarray, b: np.ndarray, kind: np.ndarray, tie: np.ndarray | None = None) -> dict:
    """Pairs (a[k], b[k]) play one joint action of type kind[k]; returns the choices.

    ``tie``: the pairs' tie indices where the caller knows them, -1 where not
    (those pairs are looked up).

    Contributors pay ``c (1 - s)``; both contributing yields ``b`` each; a
    withholder facing a contributor captures ``tau b``. Trust moves toward the
    partner's choice (betrayals weigh ``betrayal_weight`` times more; a
    subsidised partner's cooperation says less, by ``subsidy_attribution * s``).
    """

    p = model.params
    f = model.firms
    t = model.month
    ties = model.ties
    n_c = model.n_clusters
    log = model.month_log
    payoff = log.setdefault("payoff", np.zeros(f.capacity))
    tally = log.setdefault("games", np.zeros((4, n_c)))  # choices, cooperative choices, games, joint actions
    member_tally = log.setdefault("member_games", np.zeros((2, n_c)))  # members' choices, cooperative
    if len(a) == 0:
        return {"coop_a": np.zeros(0, bool), "coop_b": np.zeros(0, bool)}
    # trust along an existing tie; in a stranger, the prior
    if tie is None:
        idx = ties.find(a, b)
    else:
        idx = tie.copy()
        unknown = np.flatnonzero(idx < 0)
        idx[unknown] = ties.find(a[unknown], b[unknown])
    existed = idx >= 0
    trust_a, trust_b = f.prior_trust[a], f.prior_trust[b]
    if existed.any():
        trust_a = np.where(existed, ties.trust_of(idx, a), trust_a)
        trust_b = np.where(existed, ties.trust_of(idx, b), trust_b)
    ben = np.asarray(p.benefit)[kind]
    cost = np.asarray(p.cost)[kind]
    tau = np.asarray(p.temptation)[kind]
    s_a, s_b = cda.subsidy_shares(model, a, b, cost)
    prob_a = contribution_probability(trust_a, ben, cost, tau, s_a, f.propensity[a], p.choice_sharpness,
                                      p.reciprocity)
    prob_b = contribution_probability(trust_b, ben, cost, tau, s_b, f.propensity[b], p.choice_sharpness,
                                      p.reciprocity)
    u = model.streams["choice"].random((2, len(a)))
    coop_a = u[0] < prob_a
    coop_b = u[1] < prob_b
    cda.charge_subsidies(model, a, b, coop_a, coop_b, s_a, s_b, cost)
    # a first encounter in which neither contributed leaves no relationship behind, unless the same
    # pair also met in another game this month and someone contributed there: tie the others
    # (held back: the month's decay merges them in its pass; until then new tie k is tie n_old + k, and
    # every game of a pair that got one, the others included, is played on it)
    tie_arrays = ties.arrays()  # (any held-back change applied)
    n_old = len(tie_arrays.key)
    fresh = ~existed & (coop_a | coop_b)
    new = ties.stage(a[fresh], b[fresh], f.prior_trust[a[fresh]], f.prior_trust[b[fresh]], t)
    if len(new.key):
        unknown = np.flatnonzero(~existed)
        q = ties.keys(a[unknown], b[unknown])
        at = np.minimum(np.searchsorted(new.key, q), len(new.key) - 1)
        hit = new.key[at] == q
        idx[unknown[hit]] = n_old + at[hit]
    # payoffs, trust (a learns from b's choice and b from a's), effects of joint actions, tallies
    games = kernels.Games(a=a, b=b, kind=kind, tie=idx, coop_a=coop_a, coop_b=coop_b, s_a=s_a, s_b=s_b,
                          trust_a=trust_a, trust_b=trust_b, benefit=ben, cost=cost, temptation=tau)
    rules = kernels.GameRules(learning_rate=p.learning_rate, attribution=p.subsidy_attribution,
                              betrayal_factor=1.0 - min(1.0, p.learning_rate * p.betrayal_weight), month=t,
                              until=t + p.effect_months)
    kernels.settle_games(games, rules, f.arrays(), tie_arrays, new, payoff, tally, member_tally)
    sel = coop_a & coop_b & (kind == KNOWLEDGE)
    old = log.get("knowledge_pairs", (np.zeros(0, np.int64), np.zeros(0, np.int64)))
    log["knowledge_pairs"] = (np.concatenate([old[0], a[sel]]), np.concatenate([old[1], b[sel]]))
    return {"coop_a": coop_a, "coop_b": coop_b}


def gossip_rate(model) -> np.ndarray:
    """Per cluster, the cooperation rate of members' choices this month (NaN: none), or an empty array
    when there is no gossip this month."""
    p = model.params
    f = model.firms
    if p.gossip_weight == 0 or len(model.ties) == 0 or not f.member.any():
        return np.zeros(0)
    choices, coop = model.month_log.get("member_games", np.zeros((2, model.n_clusters)))
    if choices.sum() == 0:
        return np.zeros(0)
    return np.divide(coop, choices, out=np.full(model.n_clusters, np.nan), where=choices > 0)


def decay_ties(model) -> None:
    """Association members move trust in fellow members toward the members' reported experience
    (gossip); then ties idle for more than tie_memory months decay toward the priors and go below
    tie_min."""
    p = model.params
    f = model.firms
    ties = model.ties
    if len(ties) == 0:
        return
    rules = kernels.DecayRules(gossip_rate=gossip_rate(model), gossip_weight=p.gossip_weight, month=model.month,
                               tie_memory=p.tie_memory, tie_decay=p.tie_decay, tie_min=p.tie_min)
    ties.rewrite(kernels.decay_ties, f.arrays(), rules)
