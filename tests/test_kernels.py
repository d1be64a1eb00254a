"""The numba kernels against hand-made answers and the NumPy code they replaced."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from model import kernels
from model.kernels import TieArrays
from model.state import KEY_BASE, FirmTable, TieTable


def _table(pairs):
    t = TieTable()
    a, b = np.array(pairs).T
    t.add(a, b, np.full(len(a), 0.5), np.full(len(a), 0.5), month=0)
    return t


def _firms(n_links: int = 1, **fields):
    """A firm table of 16 slots with the fields given set (the first slots)."""
    table = FirmTable(16, n_links)
    for name, values in fields.items():
        values = np.asarray(values)
        getattr(table, name)[:len(values)] = values
    return table


def _ties(key, i, j, trust_ij, trust_ji, last):
    return TieArrays(np.asarray(key, dtype=np.int64), np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64),
                     np.asarray(trust_ij, dtype=float), np.asarray(trust_ji, dtype=float),
                     np.asarray(last, dtype=np.int64))


NO_TIES = _ties([], [], [], [], [], [])


def test_adjacency_of_a_small_graph():
    # ties (0,1), (0,2), (1,2), (2,3): slot 2's row holds 3 (it is i) and then 0, 1 (it is j)
    t = _table([(0, 1), (0, 2), (1, 2), (2, 3)])
    offsets, nbr, _tie = kernels.csr_adjacency(t.i, t.j, 5)
    assert offsets.tolist() == [0, 2, 4, 7, 8, 8]
    assert nbr[offsets[2]:offsets[3]].tolist() == [3, 0, 1]
    assert nbr[offsets[0]:offsets[1]].tolist() == [1, 2]


def test_adjacency_equals_a_stable_sort_by_source():
    rng = np.random.default_rng(3)
    t = _table(rng.integers(0, 300, (2000, 2)))
    src = np.concatenate([t.i, t.j])
    order = np.argsort(src, kind="stable")
    offsets, nbr, _tie = kernels.csr_adjacency(t.i, t.j, 300)
    assert np.array_equal(nbr, np.concatenate([t.j, t.i])[order])
    assert np.array_equal(np.diff(offsets), np.bincount(src, minlength=300))


def test_merge_and_keep_ties_equal_insert_and_mask():
    rng = np.random.default_rng(4)
    old = np.unique(rng.integers(0, 10_000, 500))
    new = np.setdiff1d(np.unique(rng.integers(0, 10_000, 80)), old)
    vals = [rng.random(len(old)), rng.random(len(old))]
    nvals = [rng.random(len(new)), rng.random(len(new))]
    everything = np.zeros(0, dtype=bool)
    out, removed, _at = kernels.merge_ties(everything, _ties(old, old + 1, old + 2, *vals, old + 3),
                                           _ties(new, new + 1, new + 2, *nvals, new + 3))
    at = np.searchsorted(old, new)
    assert np.array_equal(out.key, np.insert(old, at, new))
    assert np.array_equal(out.trust_ij, np.insert(vals[0], at, nvals[0]))
    assert np.array_equal(out.last, np.insert(old + 3, at, new + 3))
    assert len(removed) == 0
    mask = rng.random(len(out.key)) < 0.7
    kept, removed = kernels.keep_ties(mask, out)
    for got, full in zip(kept, out):
        assert np.array_equal(got, full[mask])
    assert np.array_equal(removed, out.key[~mask])


def test_merge_ties_with_a_mask_equals_keep_then_insert():
    rng = np.random.default_rng(5)
    old = np.unique(rng.integers(0, 10_000, 500))
    mask = rng.random(len(old)) < 0.8
    mask[-3:] = False  # the last old ties go too
    # new keys: some fresh, some equal to old keys that are removed (a slot reused by a new firm)
    new = np.union1d(np.setdiff1d(np.unique(rng.integers(0, 10_000, 80)), old), old[~mask][::2])
    ties = _ties(old, old + 1, old + 2, rng.random(len(old)), rng.random(len(old)), old + 3)
    new_ties = _ties(new, new + 1, new + 2, rng.random(len(new)), rng.random(len(new)), new + 3)
    got, removed, _at = kernels.merge_ties(mask, ties, new_ties)
    kept, _removed = kernels.keep_ties(mask, ties)
    want, _removed, _at = kernels.merge_ties(np.zeros(0, dtype=bool), kept, new_ties)
    for g, w in zip(got, want):
        assert np.array_equal(g, w)
    assert np.array_equal(removed, old[~mask])


def test_union_sorted_equals_union1d():
    rng = np.random.default_rng(6)
    for n_a, n_b in ((0, 0), (0, 5), (7, 0), (50, 40), (300, 3)):
        a = np.unique(rng.integers(0, 200, n_a))
        b = np.unique(rng.integers(0, 200, n_b))
        assert np.array_equal(kernels.union_sorted(a, b), np.union1d(a, b))
    assert kernels.union_sorted(np.array([1, 4, 9]), np.array([2, 4, 10])).tolist() == [1, 2, 4, 9, 10]


def test_tie_table_holds_back_a_removal_until_the_next_add_or_read():
    t = _table([(0, 1), (1, 2), (2, 3), (3, 4)])
    version = t._version
    dead = np.zeros(6, dtype=bool)
    dead[2] = True
    t.drop_firms(dead)
    assert t._version == version and t._pending is not None  # held back
    # slot 2 is taken by a new firm, tied to 1 (the pair's old tie went with the old firm)
    t.add(np.array([2]), np.array([1]), np.array([0.9]), np.array([0.1]), month=7, untied=True)
    assert t._pending is None
    assert list(zip(t.i.tolist(), t.j.tolist())) == [(0, 1), (1, 2), (3, 4)]
    assert t.trust_ij.tolist() == [0.5, 0.1, 0.5] and t.last.tolist() == [0, 7, 0]
    added, removed = t.take_changes()
    assert removed.tolist() == [1 * KEY_BASE + 2, 2 * KEY_BASE + 3]
    assert (1 * KEY_BASE + 2) in added.tolist()
    # a read removes what is held back
    dead[:] = False
    dead[4] = True
    t.drop_firms(dead)
    assert len(t) == 2 and t.j.tolist() == [1, 2] and t._pending is None


def test_adjacency_tie_index_points_at_the_tie():
    rng = np.random.default_rng(7)
    t = _table(rng.integers(0, 200, (1500, 2)))
    offsets, nbr, tie = kernels.csr_adjacency(t.i, t.j, 200)
    rows = np.repeat(np.arange(200), np.diff(offsets))
    assert np.array_equal(np.minimum(rows, nbr), t.i[tie]) and np.array_equal(np.maximum(rows, nbr), t.j[tie])


def test_adjacency_rows_equal_the_whole_adjacency_on_the_selected_slots():
    rng = np.random.default_rng(9)
    t = _table(rng.integers(0, 300, (2000, 2)))
    whole = kernels.csr_adjacency(t.i, t.j, 300)
    selected = rng.random(300) < 0.2
    offsets, nbr, tie = kernels.adjacency_rows(selected, t.i, t.j)
    for s in range(300):
        row = slice(offsets[s], offsets[s + 1])
        full = slice(whole[0][s], whole[0][s + 1])
        if selected[s]:
            assert np.array_equal(nbr[row], whole[1][full]) and np.array_equal(tie[row], whole[2][full])
        else:
            assert offsets[s + 1] == offsets[s]


def test_pick_known_partners_is_a_keyed_race_asked_by_trust():
    """Seeker 0 has ties to 1 and 2, trusted fully: over 4,000 months it asks each about half the time
    (within 4.5 standard errors) and always asks one; seeker 3 trusts its only partner not at all and
    never asks; seeker 5 has no tie. Adding a tie to firm 6 changes a month's pick only to firm 6."""
    uid = np.arange(16, dtype=np.int64) * 7919 + 3
    t = _table([(0, 1), (0, 2), (3, 4)])
    t.trust_ij[:] = [1.0, 1.0, 0.0]
    more = _table([(0, 1), (0, 2), (0, 6), (3, 4)])
    more.trust_ij[:] = [1.0, 1.0, 1.0, 0.0]
    seekers = np.array([0, 3, 5])
    picks = []
    for month in range(4000):
        partner, chosen = kernels.pick_known_partners(seekers, 11, 6, month, uid, t.adjacency(16), t.arrays())
        assert partner[1] == partner[2] == -1 and chosen[1] == chosen[2] == -1
        assert t.i[chosen[0]] == 0 and t.j[chosen[0]] == partner[0]
        again, _ = kernels.pick_known_partners(seekers, 11, 6, month, uid, more.adjacency(16), more.arrays())
        assert again[0] in (partner[0], 6)
        picks.append(partner[0])
    assert abs(np.mean(np.array(picks) == 1) - 0.5) < 4.5 * np.sqrt(0.25 / 4000)


def test_staged_ties_merge_in_the_decay_pass_as_add_then_decay():
    rng = np.random.default_rng(8)
    pairs = rng.integers(0, 300, (2000, 2))
    added, staged = _table(pairs), _table(pairs)
    a, b = rng.integers(0, 300, (2, 500))
    untied = (added.find(a, b) < 0) & (a != b)  # (a pair may come twice)
    a, b = a[untied], b[untied]
    trust_a, trust_b = rng.random(len(a)), rng.random(len(a))
    prior = rng.random(300)
    # month 30: the old ties (month 0) are idle and decay toward the priors, some below tie_min
    firms = FirmTable(300, 1)
    firms.prior_trust[:] = prior
    rules = kernels.DecayRules(gossip=False, gossip_weight=0.5, month=30, tie_memory=24, tie_decay=0.5,
                               tie_min=0.45)
    decay = (kernels.decay_ties, firms.arrays(), rules)
    added.add(a, b, trust_a, trust_b, 30, untied=True)
    added.rewrite(*decay)
    n_before = len(staged)
    new = staged.stage(a, b, trust_a, trust_b, 30)
    assert len(staged) == n_before + len(new.key) and len(new.key) == len(np.unique(staged.keys(a, b)))
    assert staged._staged is not None  # held back (len read nothing)
    staged.rewrite(*decay)
    assert all(np.array_equal(x, y) for x, y in zip(added._arrays(), staged._arrays()))
    assert all(np.array_equal(x, y) for x, y in zip(added.take_changes(), staged.take_changes()))
    assert 0 < len(added) < n_before + len(new.key)
    # a read before the decay merges the held-back ties as add does
    read = _table(pairs)
    read.stage(a, b, trust_a, trust_b, 30)
    assert np.array_equal(read.key, np.union1d(_table(pairs).key, new.key))
    assert np.array_equal(read.trust_ij[np.searchsorted(read.key, new.key)], new.trust_ij)


def test_a_failed_add_keeps_the_removals_held_back():
    t = _table([(0, 1), (1, 2), (2, 3)])
    dead = np.zeros(4, dtype=bool)
    dead[3] = True
    t.drop_firms(dead)
    with pytest.raises(IndexError):  # trust_a too short for the pairs
        t.add(np.array([0, 0]), np.array([2, 3]), np.array([0.5]), np.array([0.5, 0.5]), 1, untied=True)
    assert t.i.tolist() == [0, 1] and t.j.tolist() == [1, 2]  # the removal still happened, nothing added


def test_float_helpers_follow_numpy_for_nan_and_signed_zeros():
    values = [-1.5, -0.0, 0.0, 0.3, 1.0, 2.0, np.nan]
    for x in values:
        for y in values:
            pairs = ((kernels._maximum(x, y), np.maximum(x, y)), (kernels._minimum(x, y), np.minimum(x, y)))
            for ours, theirs in pairs:
                assert np.array_equal(np.array([ours]), np.array([theirs]), equal_nan=True), (x, y)
                assert np.signbit(ours) == np.signbit(theirs), (x, y)
        got = kernels._clip(x, 0.0, 1.0)
        want = np.clip(np.array([x]), 0.0, 1.0)[0]
        assert np.array_equal([got], [want], equal_nan=True) and np.signbit(got) == np.signbit(want), x


def test_decay_ties_by_hand():
    # tie 0 fresh; tie 1 idle 30 > 24 months: trust 0.5 -> 0.5 + 0.1 (0.2 - 0.5) = 0.47 each way, kept;
    # tie 2 idle 30 with trust 0.3 -> 0.29 < 0.3: broken; tie 3 idle 50 > 48: forgotten
    firms = _firms(prior_trust=np.full(8, 0.2), cluster=np.zeros(8))
    i, j = np.array([0, 1, 2, 3]), np.array([4, 5, 6, 7])
    tij = np.array([0.9, 0.5, 0.3, 0.9])
    tji = tij.copy()
    key = i * kernels.KEY_BASE + j
    # and a new tie (1, 6) held back, merged in between (1, 5) and (2, 6): fresh, kept as it is
    new = _ties([1 * kernels.KEY_BASE + 6], [1], [6], [0.4], [0.6], [60])
    rules = kernels.DecayRules(gossip=False, gossip_weight=0.5, month=60, tie_memory=24, tie_decay=0.1,
                               tie_min=0.3)
    kept, removed = kernels.decay_ties(firms.arrays(), rules, _ties(key, i, j, tij, tji, [59, 30, 30, 10]), new)
    # the ties that stay, in key order, with their updated trust; the keys of those that went
    assert kept.key.tolist() == [key[0], key[1], new.key[0]] and kept.i.tolist() == [0, 1, 1]
    assert kept.j.tolist() == [4, 5, 6] and kept.last.tolist() == [59, 30, 60]
    assert kept.trust_ij == pytest.approx([0.9, 0.47, 0.4]) and kept.trust_ji == pytest.approx([0.9, 0.47, 0.6])
    assert removed.tolist() == key[2:].tolist()
    assert tij.tolist() == [0.9, 0.5, 0.3, 0.9] and tji.tolist() == tij.tolist()  # the inputs as they were


def test_gossip_then_decay_by_hand():
    # slots 0-3 members with reputations 0.8 (0, 1, 2) and none yet (3); 4-5 not members
    firms = _firms(member=[True, True, True, True, False, False], prior_trust=np.full(6, 0.2),
                   record=[0.8, 0.8, 0.8, -1.0, 0.8, 0.8])
    i, j = np.array([0, 2, 0, 4]), np.array([1, 3, 4, 5])
    tij = np.array([0.4, 0.4, 0.4, 0.4])
    tji = np.array([0.6, 0.6, 0.6, 0.6])
    # tie 0 members, used: gossip only, 0.4 + 0.5 (0.8 - 0.4) = 0.6 and 0.6 -> 0.7
    # tie 1 members, idle 30 > 24: 2 hears nothing of 3 (no record): 0.4, then decay 0.4 + 0.1 (0.2 - 0.4) = 0.38;
    #   3 hears of 2: 0.6 -> 0.7, then decay 0.7 + 0.1 (0.2 - 0.7) = 0.65
    # tie 2 a non-member: no gossip; tie 3 two non-members: no gossip
    key = i * kernels.KEY_BASE + j
    rules = kernels.DecayRules(gossip=True, gossip_weight=0.5, month=60, tie_memory=24, tie_decay=0.1, tie_min=0.3)
    kept, removed = kernels.decay_ties(firms.arrays(), rules, _ties(key, i, j, tij, tji, [60, 30, 60, 60]), NO_TIES)
    assert len(removed) == 0 and np.array_equal(kept.key, key)
    assert kept.trust_ij == pytest.approx([0.6, 0.38, 0.4, 0.4])
    assert kept.trust_ji == pytest.approx([0.7, 0.65, 0.6, 0.6])
    # with gossip off the members' ties are left alone
    rules = rules._replace(gossip=False)
    kept, _ = kernels.decay_ties(firms.arrays(), rules, _ties(key, i, j, tij, tji, [60, 60, 60, 60]), NO_TIES)
    assert kept.trust_ij.tolist() == tij.tolist() and kept.trust_ji.tolist() == tji.tolist()


def test_triangles_touching_a_new_tie():
    # square 0-1-2-3 with diagonal (0,2) added: the two triangles (0,1,2) and (0,2,3) contain it
    t = _table([(0, 1), (1, 2), (2, 3), (0, 3), (0, 2)])
    offsets, nbr, _tie = kernels.csr_adjacency(t.i, t.j, 4)
    got = kernels.triangles_touching(np.array([0 * KEY_BASE + 2]), t.key, offsets, nbr, 4)
    assert got.tolist() == [2, 1, 2, 1]


def test_awareness_differences_in_row_major_order():
    aware = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 1]], dtype=bool)
    rows, cols = kernels.awareness_differences(aware, np.array([0, 0, 1]), np.array([1, 2, 2]))
    # tie 0 (firms 0,1): columns 1, 2; tie 1 (0,2): column 0; tie 2 (1,2): columns 0, 1, 2
    assert list(zip(rows.tolist(), cols.tolist())) == [(0, 1), (0, 2), (1, 0), (2, 0), (2, 1), (2, 2)]


def test_propose_partners_by_distance_decay():
    """Three firms of one town at x = 0, 9 and 1 (seekers 0 and 1), accept = exp(-d / 2), 2 rounds.
    Seeker 0 finds nobody with probability (1 - (acc(1) + acc(9)) / 2)^2 = 0.478 and, when it finds
    someone, firm 2 with probability acc(1) / (acc(1) + acc(9)) = 0.982; seeker 1 (d = 8 and 9) finds
    nobody with probability 0.975. Over 4,000 months each frequency is within 4.5 standard errors."""
    x, y = np.array([0, 9, 1]), np.array([0, 0, 0])
    firms = _firms(x=x, y=y, uid=np.array([101, 202, 303])).arrays()
    one = np.ones(3, np.int64)
    # (one firm a cell; firm 0's bucket and sub-bucket by its identity: 101 % 32 = 5, 101 // 32 % 32 = 3)
    key1 = np.array([0 * 32 + 101 % 32, 10 * 32 + 303 % 32, 90 * 32 + 202 % 32])
    key2 = key1 * 32 + np.array([101 // 32 % 32, 303 // 32 % 32, 202 // 32 % 32])
    cells = kernels.Cells(key=np.array([0, 10, 90]), group=np.zeros(3, np.int64), x=np.array([0, 1, 9]),
                          y=np.zeros(3, np.int64), n=one, first=np.arange(3), count=one, key1=key1, n1=one,
                          first1=np.arange(3), count1=one, key2=key2, start=np.arange(3), size=one,
                          members=np.array([0, 2, 1]))
    pools = np.array([[0, 3, 0, 3, 3], [0, 3, 0, 3, 3]])  # town cells, cluster cells, the town's firms
    accept = np.exp(-np.arange(10) / 2.0)
    got = np.array([kernels.propose_partners(np.array([0, 1]), np.array([0, 2]), pools, cells, firms, accept,
                                             kernels.Search(seed=5, purpose=7, month=t, own_town_preference=1.0,
                                                            rounds=2, buckets=32)) for t in range(4000)])
    n = len(got)
    def close(freq, p, n):
        return abs(freq - p) < 4.5 * np.sqrt(p * (1 - p) / n)
    fail0 = (1 - (accept[1] + accept[9]) / 2) ** 2
    assert close(np.mean(got[:, 0] == -1), fail0, n)
    found = got[got[:, 0] >= 0, 0]
    assert close(np.mean(found == 2), accept[1] / (accept[1] + accept[9]), len(found))
    assert close(np.mean(got[:, 1] == -1), (1 - (accept[8] + accept[9]) / 2) ** 2, n)
    assert not (got[:, 0] == 0).any() and not (got[:, 1] == 1).any()  # never itself


def _games(a, b, kind, tie, coop_a, coop_b, s=0.0, trust=0.5, cost=1.0, captured=3):
    n = len(a)
    return kernels.Games(a=np.array(a), b=np.array(b), kind=np.array(kind), tie=np.array(tie),
                         coop_a=np.array(coop_a), coop_b=np.array(coop_b), s_a=np.full(n, s), s_b=np.full(n, s),
                         trust_a=np.full(n, trust), trust_b=np.full(n, trust), cost=np.full(n, cost),
                         captured=np.full(n, captured, dtype=np.int64))


RULES = kernels.GameRules(learning_rate=0.2, attribution=1.0, betrayal_factor=0.8, month=7, until=13,
                          record_weight=0.5, generalised_learning=0.1)


def test_settle_games_by_hand():
    # one purchasing game on tie 0 between firms 0 and 1: 0 contributes, 1 withholds
    # payoffs: 0 pays c (1 - s) = 1 x 0.5; 1 pays nothing and gets no cash; trust: 0 was betrayed
    # (0.5 x 0.8 = 0.4), 1 saw cooperation, discounted by the subsidy: 0.5 + 0.2 (1 - 1 x 0.5) 0.5 = 0.55
    games = _games([0], [1], [0], [0], [True], [False], s=0.5)
    firms = _firms(member=[True, False], prior_trust=[0.4, 0.4])
    payoff = np.zeros(2)
    ties = _ties([1], [0], [1], [0.5], [0.5], [0])
    tally, member_tally = np.zeros((4, 1)), np.zeros((2, 1))
    kernels.settle_games(games, RULES, firms.arrays(), ties, NO_TIES, payoff, tally, member_tally)
    assert payoff.tolist() == [-0.5, 0.0]
    assert ties.trust_ij[0] == pytest.approx(0.4) and ties.trust_ji[0] == pytest.approx(0.55) and ties.last[0] == 7
    # no joint action (one side withheld): the contributor gets nothing, the withholder captures 3 months of
    # the discount (month 7 + 3)
    assert firms.discount_until[:2].tolist() == [-1, 10]
    assert tally[:, 0].tolist() == [2.0, 1.0, 1.0, 0.0] and member_tally[:, 0].tolist() == [1.0, 1.0]
    # reputations: 0 had none, now its own choice (1); 1 withheld (0). Trust in strangers (prior 0.4):
    # 0 was betrayed, 0.4 + 0.1 (0 - 0.4) = 0.36; 1 met cooperation, 0.4 + 0.1 (1 - 0.4) = 0.46
    assert firms.record[:2].tolist() == [1.0, 0.0]
    assert firms.prior_trust[:2] == pytest.approx([0.36, 0.46])


def test_settle_games_without_a_tie_counts_the_game_but_writes_no_trust():
    # a first encounter in which neither contributed (tie -1): no tie to write to
    games = _games([0], [1], [3], [-1], [False], [False])
    payoff = np.zeros(2)
    ties = _ties([5], [5], [6], [0.9], [0.9], [2])  # another tie, untouched
    tally, member_tally = np.zeros((4, 1)), np.zeros((2, 1))
    kernels.settle_games(games, RULES, _firms().arrays(), ties, NO_TIES, payoff, tally, member_tally)
    assert payoff.tolist() == [0.0, 0.0]
    assert ties.trust_ij.tolist() == [0.9] and ties.trust_ji.tolist() == [0.9] and ties.last.tolist() == [2]
    assert tally[:, 0].tolist() == [2.0, 0.0, 1.0, 0.0]


def test_settle_games_writes_a_new_tie_in_the_held_back_arrays():
    # two ties; a game on tie 0 and one on new tie 0 (index 2 = 2 old ties + 0), between 3 (its i) and 1
    games = _games([0, 3], [2, 1], [3, 3], [0, 2], [True, True], [True, True])
    ties = _ties([2, KEY_BASE + 3], [0, 1], [2, 3], [0.5, 0.9], [0.5, 0.9], [1, 1])
    new = _ties([KEY_BASE + 3], [1], [3], [0.5], [0.5], [7])
    kernels.settle_games(games, RULES, _firms().arrays(), ties, new, np.zeros(4), np.zeros((4, 1)), np.zeros((2, 1)))
    # both cooperated: trust 0.5 -> 0.5 + 0.2 x 0.5 = 0.6 both ways, on tie 0 and on the new tie
    assert ties.trust_ij.tolist() == [0.6, 0.9] and ties.trust_ji.tolist() == [0.6, 0.9]
    assert ties.last.tolist() == [7, 1]
    assert new.trust_ij.tolist() == [0.6] and new.trust_ji.tolist() == [0.6] and new.last.tolist() == [7]


def test_hear_reputation_touches_only_ties_between_insiders_with_something_to_report():
    # firms 0, 1, 2 inside; 3 outside. Reputations: 0 -> 1.0, 1 -> none, 2 -> 0.0, 3 -> 1.0.
    # tie (0,1): 0 hears nothing of 1 (0.5 stays), 1 hears 0's 1.0: 1.0 -> 1.0; tie (1,2): 1 hears 2's 0.0:
    # 0.4 -> 0.2, 2 hears nothing; tie (2,3) crosses out: untouched, its month too
    inside = np.array([True, True, True, False])
    record = np.array([1.0, -1.0, 0.0, 1.0])
    i, j = np.array([0, 1, 2]), np.array([1, 2, 3])
    tij, tji, last = np.array([0.5, 0.4, 0.3]), np.array([1.0, 0.2, 0.3]), np.array([1, 1, 1])
    kernels.hear_reputation(inside, record, 0.5, 9, i, j, tij, tji, last)
    assert tij == pytest.approx([0.5, 0.2, 0.3]) and tji == pytest.approx([1.0, 0.2, 0.3])
    assert last.tolist() == [9, 9, 1]
    # weight 0: no trust moves at all
    tij2, tji2 = np.array([0.5, 0.4, 0.3]), np.array([0.7, 0.2, 0.3])
    kernels.hear_reputation(inside, record, 0.0, 9, i, j, tij2, tji2, last)
    assert tij2.tolist() == [0.5, 0.4, 0.3] and tji2.tolist() == [0.7, 0.2, 0.3]


def test_collective_lesson_by_hand():
    # group 0: firms 0, 1, 2 (0 and 1 contribute, 2 withholds); firm 3 in group 1; firm 4 in none
    label = np.array([0, 0, 0, 1, -1])
    coop = np.array([True, True, False, True, True])
    i, j = np.array([0, 0, 1, 2, 3]), np.array([1, 2, 2, 3, 4])
    tij, tji = np.full(5, 0.5), np.full(5, 0.5)
    last = np.zeros(5, dtype=np.int64)
    total, count = kernels.trust_in_fellows(label, np.arange(5), i, j, tij, tji, 5)
    assert total.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0] and count.tolist() == [2, 2, 2, 0, 0]
    kernels.learn_within(label, coop, 0.2, 0.8, 4, np.arange(5), i, j, tij, tji, last)
    # (0,1): both saw cooperation 0.5 + 0.2 x 0.5 = 0.6; (0,2), (1,2): 0 and 1 betrayed by 2 (0.4), 2 saw 0.6
    assert tij == pytest.approx([0.6, 0.4, 0.4, 0.5, 0.5]) and tji == pytest.approx([0.6, 0.6, 0.6, 0.5, 0.5])
    assert last.tolist() == [4, 4, 4, 0, 0]


def test_served_first_by_hand():
    # group 0 (capacity 2): keys 3, 1, 2 -> the requests with 1 and 2; group 1 (capacity 1): a tie at
    # key1 = 5 broken by key2 (0.2 before 0.7); group 2 (capacity 4) is within capacity
    group = np.array([0, 0, 0, 1, 1, 2])
    key1 = np.array([3.0, 1.0, 2.0, 5.0, 5.0, 9.0])
    key2 = np.array([0.1, 0.2, 0.3, 0.7, 0.2, 0.5])
    got = kernels.served_first(group, np.array([2, 1, 4]), key1, key2)
    assert got.tolist() == [False, True, True, False, True, True]


def test_served_first_equals_ranking_by_lexsort():
    rng = np.random.default_rng(5)
    for n, n_groups in ((1, 1), (50, 3), (2000, 7)):
        group = rng.integers(0, n_groups, n)
        key1 = np.round(rng.normal(size=n), 1)  # many equal needs
        key2 = rng.random(n)
        capacity = rng.integers(0, n // n_groups + 3, n_groups)
        order = np.lexsort((key2, key1, group))
        g = group[order]
        rank = np.arange(n) - np.searchsorted(g, g, side="left")
        expected = np.zeros(n, dtype=bool)
        expected[order[rank < capacity[g]]] = True
        assert np.array_equal(kernels.served_first(group, capacity, key1, key2), expected)


def test_cheapest_known_by_hand():
    # one cluster, links: 2 institutions, then suppliers 0, 1, 2 (columns 2, 3, 4); markups 1.1, 0.9, 0.9
    cluster_suppliers = np.array([[0, 1, 2]])
    markup = np.array([1.1, 0.9, 0.9])
    aware = np.array([[0, 0, 1, 1, 1],    # knows all: the first of the two cheapest, supplier 1
                      [0, 0, 1, 0, 0],    # knows supplier 0 only
                      [1, 1, 0, 0, 0]], dtype=bool)  # knows none
    live, cols = np.array([0, 1, 2]), np.array([0, 1, 2])
    firms = _firms(5, aware=aware, cluster=np.zeros(3))
    best, who = kernels.cheapest_known(live, firms.arrays(), 2, cols, cluster_suppliers, markup, np.inf)
    assert best.tolist() == [0.9, 1.1, np.inf] and who.tolist() == [1, 0, -1]
    # with unaware counted as 1.0 (no markup): firm 1 pays min(1.1, 1.0, 1.0) = 1.0
    best, _ = kernels.cheapest_known(live, firms.arrays(), 2, cols, cluster_suppliers, markup, 1.0)
    assert best.tolist() == [0.9, 1.0, 1.0]


def test_first_known_by_hand():
    aware = np.array([[0, 1, 1], [0, 0, 0], [1, 0, 1]], dtype=bool)
    assert kernels.first_known(np.array([0, 1, 2]), aware, np.array([1, 2])).tolist() == [1, -1, 2]
    assert kernels.first_known(np.array([2, 0]), aware, np.array([2, 0])).tolist() == [2, 2]


def test_group_order_by_hand():
    # groups 2, 0, 2, 1, 0 -> group 0 (slots 1, 4), group 1 (slot 3), group 2 (slots 0, 2)
    order = kernels.group_order(np.array([2, 0, 2, 1, 0], dtype=np.int64), 3)
    assert order.tolist() == [1, 4, 3, 0, 2]


def test_group_order_refuses_a_group_out_of_range():
    with pytest.raises(ValueError, match="outside"):
        kernels.group_order(np.array([0, 5, 1], dtype=np.int64), 3)
    with pytest.raises(ValueError, match="outside"):
        kernels.group_order(np.array([0, -1], dtype=np.int64), 3)


def test_group_order_equals_a_stable_argsort():
    rng = np.random.default_rng(3)
    for n, n_groups in ((0, 4), (1, 1), (500, 7), (20_000, 2_500)):
        group = rng.integers(0, n_groups, n)
        assert np.array_equal(kernels.group_order(group, n_groups), np.argsort(group, kind="stable"))


def test_bisection_round_moves_the_side_where_g_is_below_the_target():
    # c1 = 0.5, s = 0.25: g(1) = 0.5 - 0.25 = 0.25; below 0.5 -> lo moves up; above 0.1 -> hi moves down
    lo, hi, mid = np.array([0.0, 0.0]), np.array([2.0, 2.0]), np.array([1.0, 1.0])
    kernels.bisection_round(0.5, mid ** 0.5, np.array([0.25, 0.25]), np.array([0.5, 0.1]), lo, hi, mid)
    assert lo.tolist() == [1.0, 0.0] and hi.tolist() == [2.0, 1.0] and mid.tolist() == [1.5, 0.5]


def test_bisection_rounds_equal_the_numpy_bisection():
    rng = np.random.default_rng(4)
    c1, s_k, rhs = 0.8, rng.uniform(0.1, 0.9, 300), rng.uniform(0.01, 0.3, 300)
    lo, hi = np.zeros(300), (c1 * c1 / s_k) ** 5.0
    mid = 0.5 * (lo + hi)
    ref_lo, ref_hi = lo.copy(), hi.copy()
    for _ in range(60):
        kernels.bisection_round(c1, mid ** c1, s_k, rhs, lo, hi, mid)
        ref_mid = 0.5 * (ref_lo + ref_hi)
        g = c1 * ref_mid ** c1 - s_k * ref_mid
        ref_lo, ref_hi = np.where(g < rhs, ref_mid, ref_lo), np.where(g < rhs, ref_hi, ref_mid)
    assert np.array_equal(lo, ref_lo) and np.array_equal(hi, ref_hi)
    assert np.array_equal(mid, 0.5 * (ref_lo + ref_hi))


def test_a_failed_rewrite_keeps_the_ties_held_back():
    t = _table([(0, 1), (1, 2)])
    t.stage(np.array([0]), np.array([3]), np.array([0.4]), np.array([0.6]), 5)

    def broken(*_arrays):
        raise RuntimeError("kernel failed")

    with pytest.raises(RuntimeError):
        t.rewrite(broken)
    assert len(t) == 3 and t.key.tolist() == [1, 3, kernels.KEY_BASE + 2]  # (0,1), (0,3), (1,2)


def test_a_model_pickles_and_copies_with_the_kernels_view_of_its_firms():
    from model import ClusterModel, ModelParams
    model = ClusterModel(ModelParams(months=12), rng=3, n_firms=60)
    model.run(4)
    copies = [pickle.loads(pickle.dumps(model)), copy.deepcopy(model)]
    for m in (model, *copies):
        m.run(4)
    assert all(m.series().equals(model.series()) for m in copies)
    assert copies[0].firms.arrays() is not model.firms.arrays()
