"""Partner search (5.1), the cooperation game (5.2), trust and reputation (5.3).

All vectorised over seekers, pairs and ties; no per-firm Python loop.
"""

from __future__ import annotations

import numpy as np

from . import cda, kernels, keyed
from .game import KNOWLEDGE, action_values, betrayal_factor, contribution_probability  # (shared with model.cda)


BUCKETS = 16  # buckets (and sub-buckets of each) of a cell's firms, by identity, for draw_new_partners


def _runs(ascending: np.ndarray):
    """The distinct values of an ascending array, where each begins and how many there are (as
    ``np.unique(..., return_index=True, return_counts=True)``, without its sort)."""
    begin = np.flatnonzero(np.concatenate([[True], ascending[1:] != ascending[:-1]]))
    return ascending[begin], begin, np.diff(np.append(begin, len(ascending)))


def cells(model) -> kernels.Cells:
    """The live firms grouped by (cluster, town, cell), within a cell into ``BUCKETS`` buckets by their
    identities and within a bucket into ``BUCKETS`` sub-buckets, for the partner search's races (a
    seeker's race then costs about the number of cells plus 32 plus a 256th of a cell's firms)."""
    f = model.firms
    r = model.region
    live = f.live()
    n_cells = r.width * r.height
    uid = f.uid[live]
    cell_key = model.town_group(live) * n_cells + f.x[live] * r.height + f.y[live]
    key2 = (cell_key * BUCKETS + uid % BUCKETS) * BUCKETS + (uid // BUCKETS) % BUCKETS
    order = np.argsort(key2)  # (the order within a sub-bucket does not matter: its race is by identity)
    key2, start, size = _runs(key2[order])
    key1, first1, count1 = _runs(key2 // BUCKETS)
    key, first, count = _runs(key1 // BUCKETS)
    n1 = np.add.reduceat(size, first1)
    cell = key % n_cells
    return kernels.Cells(key=key, group=key // n_cells, x=cell // r.height, y=cell % r.height,
                         n=np.add.reduceat(n1, first), first=first, count=count, key1=key1, n1=n1, first1=first1,
                         count1=count1, key2=key2, start=start, size=size, members=live[order])


def draw_new_partners(model, seekers: np.ndarray, purpose: str = "search") -> np.ndarray:
    """A new candidate for each seeker by distance decay, preferring its own town: -1 for none.

    As rejection sampling within one pool would: the pool is the seeker's own town with probability
    ``own_town_preference`` (if it has other firms), else its whole cluster; the candidate is firm j
    with probability proportional to ``exp(-d_j / interaction_range)``, and the search fails with
    probability ``(1 - mean acceptance in the pool) ** search_rounds``. Drawn by keyed races (DESIGN.md
    section 7): first among the pool's cells, each weighted by its firms times their acceptance, then
    among the winning cell's buckets and sub-buckets (by identity, weighted by their firms), then
    uniformly among the sub-bucket's firms; so a firm that enters or leaves elsewhere changes no
    seeker's partner unless it tips the race of its cell or bucket.
    """
    p = model.params
    f = model.firms
    if len(seekers) == 0:
        return np.full(0, -1, dtype=np.int64)
    grouped = cells(model)
    r = model.region
    n_towns = len(r.town_names) + 1
    own = model.town_group(seekers)
    cluster = own // n_towns
    first_town, end_town = np.searchsorted(grouped.group, own), np.searchsorted(grouped.group, own, side="right")
    firms_before = np.concatenate([[0], np.cumsum(grouped.n)])
    pools = np.stack([first_town, end_town, np.searchsorted(grouped.group, cluster * n_towns),
                      np.searchsorted(grouped.group, (cluster + 1) * n_towns),
                      firms_before[end_town] - firms_before[first_town]], axis=1)
    own_cell = np.searchsorted(grouped.key, own * (r.width * r.height) + f.x[seekers] * r.height + f.y[seekers])
    search = kernels.Search(seed=model.seed, purpose=keyed.code(purpose), month=model.month,
                            own_town_preference=p.own_town_preference, rounds=p.search_rounds, buckets=BUCKETS)
    return kernels.propose_partners(seekers, own_cell, pools, grouped, f.arrays(), model.accept_by_distance, search)


def acceptance_by_distance(region, interaction_range: float) -> np.ndarray:
    """The chance of accepting a candidate at each distance on the grid, in cells: exp(-d / interaction_range)."""
    return np.exp(-np.arange(max(region.width, region.height)) / interaction_range)


def action_cdf(mix) -> np.ndarray:
    """Cumulative shares of the joint-action types, as ``Generator.choice`` makes them of ``p``."""
    cdf = (np.asarray(mix) / sum(mix)).cumsum()
    cdf /= cdf[-1]
    return cdf


def choose_kinds(model, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The joint-action type of each pair (a[k], b[k]), drawn by ``action_mix`` (inverting its
    cumulative shares at the pair's keyed uniform)."""
    return model.action_cdf.searchsorted(keyed.pair_uniform(model, "kind", a, b), side="right")


def partnering(model) -> None:
    """Step 3: firms seek partners, play the cooperation game, update trust and ties."""
    p = model.params
    f = model.firms
    ties = model.ties
    live = f.live()
    # the first joint actions of pairs who met at this month's events (model.cda.meet)
    for a, b, host in model.month_log.pop("facilitated", []):
        alive = f.alive[a] & f.alive[b]
        a, b = a[alive], b[alive]
        kind = model.action_cdf.searchsorted(keyed.pair_uniform(model, "event_kind", a, b), side="right")
        played = play_game(model, a, b, kind, purpose="event_game", host=host)
        if isinstance(host, cda.Association):  # what its events gave its members, for their yearly review
            cda.credit_event_games(model, a, b, played)
    seekers = live[keyed.firm_uniform(model, "seek", live) < p.p_seek]
    n_s = len(seekers)
    partner = np.full(n_s, -1, dtype=np.int64)
    tie = np.full(n_s, -1, dtype=np.int64)
    # one of its ties, by a keyed race, asked with probability equal to the trust in it
    if len(ties) and n_s:
        partner, tie = kernels.pick_known_partners(seekers, model.seed, keyed.code("pick"), model.month, f.uid,
                                                   ties.adjacency_of(seekers, f.capacity), ties.arrays())
    # otherwise a new candidate by distance decay (which may be a partner already: looked up in play_game)
    need = partner < 0
    partner[need] = draw_new_partners(model, seekers[need])
    ok = partner >= 0
    a, b = seekers[ok], partner[ok]
    play_game(model, a, b, choose_kinds(model, a, b), tie[ok])
    decay_ties(model)


def play_game(model, a: np.ndarray, b: np.ndarray, kind: np.ndarray, tie: np.ndarray | None = None,
              purpose: str = "choice", host=None) -> dict:
    """Pairs (a[k], b[k]) play one joint action of type kind[k]; returns the choices (``coop_a``,
    ``coop_b``) and what each side weighed: its value of the effect, its subsidy share, the cost and the
    share ``tau`` a withholder captures (``value_a``, ``value_b``, ``s_a``, ``s_b``, ``cost``, ``tau``).

    ``tie``: the pairs' tie indices where the caller knows them, -1 where not
    (those pairs are looked up). ``purpose``: the keyed draws of the choices (each caller its own,
    so that a pair playing in two of them in a month draws anew). ``host``: who pays (a CDA or an
    association: ``budget_left`` and ``charge``, see cda.pay) a share ``event_game_subsidy`` of the
    contributions in a facilitated first joint action (5.9), for the pairs its money covers; otherwise
    the CDA's subsidy applies.

    Contributors pay ``c (1 - s)``; nothing else is paid in cash (DESIGN.md 5.2): when both
    contribute, each gets the action's concrete effect (a lower input price, export access, the
    partner's spare capacity, the partner's knowledge) for ``effect_months``; a withholder facing a
    contributor captures a share ``tau`` of it (that share of the months; of the knowledge gap), the
    contributor nothing. Each side decides on the effect's value to itself (:func:`action_values`).
    Trust moves toward the
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
        none = np.zeros(0)
        return {"coop_a": np.zeros(0, bool), "coop_b": np.zeros(0, bool), "value_a": none, "value_b": none,
                "s_a": none, "s_b": none, "cost": none, "tau": none}
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
    cost = np.asarray(p.cost)[kind]
    tau = np.asarray(p.temptation)[kind]
    if host is None:
        s_a, s_b = cda.subsidy_shares(model, a, b, cost)
    else:
        s_a, s_b = cda.hosted_shares(host, p.policy.event_game_subsidy, cost)
    value_a, value_b = action_values(model, a, b, kind), action_values(model, b, a, kind)
    prob_a = contribution_probability(trust_a, value_a, cost, tau, s_a, f.propensity[a], p.choice_sharpness,
                                      p.reciprocity)
    prob_b = contribution_probability(trust_b, value_b, cost, tau, s_b, f.propensity[b], p.choice_sharpness,
                                      p.reciprocity)
    # each side's draw keys on (itself, its partner) and its role: a pair that meets twice in a month
    # (each seeking the other) draws anew
    coop_a = keyed.pair_uniform(model, purpose, a, b, 0) < prob_a
    coop_b = keyed.pair_uniform(model, purpose, b, a, 1) < prob_b
    if host is None:
        cda.charge_subsidies(model, a, b, coop_a, coop_b, s_a, s_b, cost)
    else:
        host.charge(float((np.where(coop_a, s_a, 0.0) + np.where(coop_b, s_b, 0.0)) @ cost))
    # the month's games by the firms' identities (for observation and tests/test_keyed.py)
    log.setdefault("played", []).append((f.uid[a], f.uid[b], kind, coop_a, coop_b))
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
                          trust_a=trust_a, trust_b=trust_b, cost=cost,
                          captured=np.rint(tau * p.effect_months).astype(np.int64))
    rules = kernels.GameRules(learning_rate=p.learning_rate, attribution=p.subsidy_attribution,
                              betrayal_factor=betrayal_factor(p), month=t, until=t + p.effect_months,
                              record_weight=p.record_weight, generalised_learning=p.generalised_learning)
    kernels.settle_games(games, rules, f.arrays(), tie_arrays, new, payoff, tally, member_tally)
    # knowledge (5.6): each side that gets the effect (both when both contributed, a withholder facing a
    # contributor a share tau) moves by its share of the gap (economy.share_knowledge)
    know = kind == KNOWLEDGE
    both = coop_a & coop_b
    got_a = know & (both | (~coop_a & coop_b))
    got_b = know & (both | (~coop_b & coop_a))
    share = np.where(both, 1.0, tau)
    old = log.get("knowledge_pairs", (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)))
    log["knowledge_pairs"] = (np.concatenate([old[0], a[got_a], b[got_b]]),
                              np.concatenate([old[1], b[got_a], a[got_b]]),
                              np.concatenate([old[2], share[got_a], share[got_b]]))
    return {"coop_a": coop_a, "coop_b": coop_b, "value_a": value_a, "value_b": value_b, "s_a": s_a, "s_b": s_b,
            "cost": cost, "tau": tau}


def decay_ties(model) -> None:
    """Association members move trust in fellow members toward their reputations (the gossip platform,
    5.3 ii); then ties idle for more than tie_memory months decay toward the priors and go below
    tie_min."""
    p = model.params
    f = model.firms
    ties = model.ties
    if len(ties) == 0:
        return
    rules = kernels.DecayRules(gossip=p.gossip_weight > 0 and bool(f.member.any()), gossip_weight=p.gossip_weight,
                               month=model.month, tie_memory=p.tie_memory, tie_decay=p.tie_decay, tie_min=p.tie_min)
    ties.rewrite(kernels.decay_ties, f.arrays(), rules)
