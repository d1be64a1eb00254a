"""The model's compiled kernels (numba): whole submodels (services, production and sales, learning,
growth, entry) and the loops that NumPy cannot express in a few passes.

Each kernel computes exactly what the NumPy code it replaced computed (the same
integers; the same floating-point operations in the same order; the same order
of writes; tests/test_compiled_submodels.py). Random numbers are keyed
(:mod:`model.keyed`): the partner races draw them here, the rest come in as
arrays of uniforms or draws from keyed's own compiled functions; the growth
step turns its uniforms into Laplace, Poisson and binomial draws here, by
keyed's inverse distribution functions (:func:`growth_draws`). Powers and
exponentials are taken with NumPy, outside the kernels (numba's can differ
from NumPy's in the last bit).

They are numba's JIT functions, compiled at their first call and cached on
disk in a folder keyed on this file's source and on the constants it imports
(:mod:`model.kernel_cache`): the first run after an install or a change of
them compiles them (about 15 s), later runs load them (about 0.3 s).

The kernels take the model's state grouped and named: the firm table's
arrays as one structure (``firms``, a :class:`FirmArrays`: ``firms.cash``,
``firms.employees``, ...), the ties' arrays as a :class:`TieArrays`, and each
kernel's other inputs in the named tuples defined beside it. Each kernel
opens by naming the fields it reads and writes (``cash = firms.cash``):
numba counts a reference at every read of an array from a structure or a
named tuple, which inside a loop cost up to a quarter of a kernel's time
(``sales``); read once, they cost what separate arguments cost.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba.core import types
from numba.experimental import structref

from . import kernel_cache
from .keyed import absorb, binomial_from_uniform, draw, entry, laplace_from_uniform, poisson_from_uniform, stream
from .schema import FIRM_FIELDS
from .tiekey import KEY_BASE

_jit = kernel_cache.jit(__file__, __package__)


@structref.register
class FirmArraysType(types.StructRef):
    """numba's type of :class:`FirmArrays`."""


class FirmArrays(structref.StructRefProxy):
    """The firm table's arrays (model.state.FirmTable) for the kernels, one field per name of
    ``FIRM_FIELDS`` and ``aware``: ``firms.cash``, ``firms.employees``, ... Made by :func:`firm_arrays`.

    A numba structure (``numba.experimental.structref``) that refers to the table's arrays (not
    copies), made once per table and again when its arrays grow: a kernel takes it as one pointer.
    (As a named tuple, the 32 arrays cost 4-10 us a call to type and unpack: over the dozen calls
    a month that take the firms, about 6% of a 500-firm month.) Its fields are read in the kernels
    only; in Python, read the table.
    """


structref.define_proxy(FirmArrays, FirmArraysType, [*FIRM_FIELDS, "aware"])


@_jit
def _new_firm_arrays(*arrays):
    return FirmArrays(*arrays)  # (compiled here, and so cached, not at FirmArrays' first call)


def firm_arrays(table) -> FirmArrays:
    """The :class:`FirmArrays` of a firm table's current arrays (model.state.FirmTable.arrays keeps it)."""
    return _new_firm_arrays(*[getattr(table, name) for name in FIRM_FIELDS], table.aware)


class TieArrays(NamedTuple):
    """The tie table's arrays (model.state.TieTable), one entry per tie, in ascending key order."""
    key: np.ndarray       # i * KEY_BASE + j
    i: np.ndarray         # the lower slot
    j: np.ndarray         # the higher slot
    trust_ij: np.ndarray  # i's trust in j
    trust_ji: np.ndarray  # j's trust in i
    last: np.ndarray      # month of the last interaction


class Adjacency(NamedTuple):
    """CSR adjacency over firm slots: slot s's neighbours are ``nbr[offsets[s]:offsets[s + 1]]``, along
    the ties ``tie[offsets[s]:offsets[s + 1]]``."""
    offsets: np.ndarray
    nbr: np.ndarray
    tie: np.ndarray


@_jit
def _position(sorted_keys, q):
    """Where ``q`` goes in the ascending array ``sorted_keys`` (``np.searchsorted``, side left)."""
    lo, hi = 0, len(sorted_keys)
    while lo < hi:
        mid = (lo + hi) >> 1
        if sorted_keys[mid] < q:
            lo = mid + 1
        else:
            hi = mid
    return lo


@_jit
def _contains(sorted_keys, q):
    """Is ``q`` in the ascending array ``sorted_keys``? (binary search)"""
    at = _position(sorted_keys, q)
    return at < len(sorted_keys) and sorted_keys[at] == q


@_jit
def csr_adjacency(i, j, capacity):
    """The :class:`Adjacency` over slots of the undirected ties (i[k], j[k]), both directions.

    Within a row, neighbours come in the order of a stable sort of the sources
    ``concatenate([i, j])``: first the ties where the slot is ``i`` (in tie
    order), then those where it is ``j``.
    """
    return adjacency_rows(np.ones(capacity, dtype=np.bool_), i, j)


@_jit
def adjacency_rows(selected, i, j):
    """The rows of ``csr_adjacency`` for the slots flagged in ``selected`` (the others' rows are empty):
    three passes over the ties, writing only the selected slots' neighbours."""
    capacity = len(selected)
    n = len(i)
    counts = np.zeros(capacity + 1, dtype=np.int64)
    for k in range(n):
        if selected[i[k]]:
            counts[i[k] + 1] += 1
        if selected[j[k]]:
            counts[j[k] + 1] += 1
    offsets = np.cumsum(counts)
    fill = offsets[:-1].copy()
    nbr = np.empty(offsets[-1], dtype=np.int64)
    tie = np.empty(offsets[-1], dtype=np.int64)
    for k in range(n):
        if selected[i[k]]:
            at = fill[i[k]]
            nbr[at], tie[at] = j[k], k
            fill[i[k]] = at + 1
    for k in range(n):
        if selected[j[k]]:
            at = fill[j[k]]
            nbr[at], tie[at] = i[k], k
            fill[j[k]] = at + 1
    return Adjacency(offsets, nbr, tie)


@_jit
def triangles_touching(changed, key, offsets, nbr, capacity):
    """Per slot, the triangles of a graph that contain at least one tie of ``changed``.

    ``key`` holds the graph's sorted tie keys and ``offsets``/``nbr`` its CSR
    adjacency; ``changed`` is a sorted subset of ``key``. Each triangle is
    found from each of its changed ties (walking the neighbours of the tie's
    end with fewer of them) and counted once, from the changed tie with the
    smallest key.
    """
    out = np.zeros(capacity, dtype=np.int64)
    # stamp[w] == e + 1: w is a neighbour of changed tie e's end y (marking y's neighbours is
    # cheaper than a binary search per neighbour of x, unless y has many more neighbours)
    stamp = np.zeros(capacity, dtype=np.int64)
    for e in range(len(changed)):
        own = changed[e]
        lo = own // KEY_BASE
        hi = own - lo * KEY_BASE
        if offsets[lo + 1] - offsets[lo] <= offsets[hi + 1] - offsets[hi]:
            x, y = lo, hi
        else:
            x, y = hi, lo
        deg_x = offsets[x + 1] - offsets[x]
        mark = offsets[y + 1] - offsets[y] <= 16 * deg_x
        if mark:
            for k in range(offsets[y], offsets[y + 1]):
                stamp[nbr[k]] = e + 1
        for k in range(offsets[x], offsets[x + 1]):
            w = nbr[k]
            if w == y:
                continue
            yw = min(y, w) * KEY_BASE + max(y, w)
            if mark:
                if stamp[w] != e + 1:
                    continue
            elif not _contains(key, yw):
                continue
            xw = min(x, w) * KEY_BASE + max(x, w)
            if (xw < own and _contains(changed, xw)) or (yw < own and _contains(changed, yw)):
                continue
            out[lo] += 1
            out[hi] += 1
            out[w] += 1
    return out


@_jit
def empty_ties(size):
    """:class:`TieArrays` for ``size`` ties, not filled in."""
    return TieArrays(np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64),
                     np.empty(size, dtype=np.float64), np.empty(size, dtype=np.float64), np.empty(size, dtype=np.int64))


@_jit
def merge_ties(keep, ties, new):
    """Merge the ``new`` ties (sorted keys, none among ``ties``) into the sorted ``ties``, in one pass;
    returns the new :class:`TieArrays`, the keys of the ties not kept and the new ties' indices.

    ``keep``: which old ties stay (an empty array: all). The same arrays as
    ``keep_ties`` and then inserting each new tie before the first old key
    above it (``np.insert`` at ``np.searchsorted(ties.key, new.key)``).
    """
    key, i, j, trust_ij, trust_ji, last = ties
    n_key, n_i, n_j, n_trust_ij, n_trust_ji, n_last = new
    n, m = len(key), len(n_key)
    n_keep = n
    if len(keep):
        n_keep = 0
        for k in range(n):
            n_keep += keep[k]
    size = n_keep + m
    out_key, out_i, out_j, out_tij, out_tji, out_last = empty_ties(size)
    removed = np.empty(n - n_keep, dtype=np.int64)
    new_at = np.empty(m, dtype=np.int64)
    a = b = r = 0
    for k in range(size):
        while a < n and len(keep) and not keep[a]:
            removed[r] = key[a]
            r += 1
            a += 1
        if b < m and (a == n or n_key[b] < key[a]):
            out_key[k], out_i[k], out_j[k] = n_key[b], n_i[b], n_j[b]
            out_tij[k], out_tji[k], out_last[k] = n_trust_ij[b], n_trust_ji[b], n_last[b]
            new_at[b] = k
            b += 1
        else:
            out_key[k], out_i[k], out_j[k] = key[a], i[a], j[a]
            out_tij[k], out_tji[k], out_last[k] = trust_ij[a], trust_ji[a], last[a]
            a += 1
    while a < n:  # old ties after the last one kept
        removed[r] = key[a]
        r += 1
        a += 1
    return TieArrays(out_key, out_i, out_j, out_tij, out_tji, out_last), removed, new_at


@_jit
def union_sorted(a, b):
    """The ascending union of two ascending arrays of distinct values (``np.union1d``), by a merge."""
    out = np.empty(len(a) + len(b), dtype=a.dtype)
    x = y = n = 0
    while x < len(a) or y < len(b):
        if y == len(b) or (x < len(a) and a[x] < b[y]):
            out[n] = a[x]
            x += 1
        elif x == len(a) or b[y] < a[x]:
            out[n] = b[y]
            y += 1
        else:
            out[n] = a[x]
            x += 1
            y += 1
        n += 1
    return out[:n]


@_jit
def keep_ties(mask, ties):
    """The :class:`TieArrays` with only the ties where ``mask`` holds (order kept), and the removed keys."""
    key, i, j, trust_ij, trust_ji, last = ties
    n_keep = 0
    for k in range(len(mask)):
        n_keep += mask[k]
    n_drop = len(mask) - n_keep
    out_key, out_i, out_j, out_tij, out_tji, out_last = empty_ties(n_keep)
    removed = np.empty(n_drop, dtype=np.int64)
    a = r = 0
    for k in range(len(mask)):
        if mask[k]:
            out_key[a], out_i[a], out_j[a] = key[k], i[k], j[k]
            out_tij[a], out_tji[a], out_last[a] = trust_ij[k], trust_ji[k], last[k]
            a += 1
        else:
            removed[r] = key[k]
            r += 1
    return TieArrays(out_key, out_i, out_j, out_tij, out_tji, out_last), removed


class DecayRules(NamedTuple):
    """The inputs of :func:`decay_ties` besides the firms and the ties."""
    gossip: bool             # association members hear each other's reputation (5.3 ii) this month
    gossip_weight: float
    month: int
    tie_memory: int          # months a tie may stay idle before it decays
    tie_decay: float
    tie_min: float


@_jit
def decay_ties(firms, rules, ties, new):
    """Gossip, then idle ties' decay toward the priors, in one pass over the ties and the ``new`` ties
    (sorted keys, none among the ties; see TieTable.stage), merged in as they go (as ``merge_ties``).
    Returns the :class:`TieArrays` of the ties that stay, with their trust updated (the inputs are left
    as they were), and the keys of the ties that went.

    Gossip (when ``rules.gossip``): on a tie between two association members,
    each one's trust moves a share ``gossip_weight`` toward the other's
    reputation (``record``, the smoothed share of its cooperative choices in its
    games; none where it has played none). A tie idle for more than
    ``tie_memory`` months decays toward its ends' ``prior_trust``, and goes
    when its mean trust (both ends) is below ``tie_min``; one idle for more
    than twice that goes.
    """
    member, record, prior = firms.member, firms.record, firms.prior_trust
    gossip, gossip_weight, month = rules.gossip, rules.gossip_weight, rules.month
    tie_memory, tie_decay, tie_min = rules.tie_memory, rules.tie_decay, rules.tie_min
    key, i, j, trust_ij, trust_ji, last = ties
    n_key, n_i, n_j, n_trust_ij, n_trust_ji, n_last = new
    n, m = len(key), len(n_key)
    out_key, out_i, out_j, out_tij, out_tji, out_last = empty_ties(n + m)
    removed = np.empty(n + m, dtype=np.int64)
    a = b = w = r = 0
    while a < n or b < m:
        if b < m and (a == n or n_key[b] < key[a]):
            k_key, k_i, k_j, tij, tji, k_last = n_key[b], n_i[b], n_j[b], n_trust_ij[b], n_trust_ji[b], n_last[b]
            b += 1
        else:
            k_key, k_i, k_j, tij, tji, k_last = key[a], i[a], j[a], trust_ij[a], trust_ji[a], last[a]
            a += 1
        if gossip and member[k_i] and member[k_j]:
            if record[k_j] >= 0.0:
                tij += gossip_weight * (record[k_j] - tij)
            if record[k_i] >= 0.0:
                tji += gossip_weight * (record[k_i] - tji)
        idle = month - k_last
        old = idle > tie_memory
        if old:
            tij += tie_decay * (prior[k_i] - tij)
            tji += tie_decay * (prior[k_j] - tji)
        if (old and 0.5 * (tij + tji) < tie_min) or idle > 2 * tie_memory:
            removed[r] = k_key
            r += 1
        else:
            out_key[w], out_i[w], out_j[w] = k_key, k_i, k_j
            out_tij[w], out_tji[w], out_last[w] = tij, tji, k_last
            w += 1
    return TieArrays(out_key[:w], out_i[:w], out_j[:w], out_tij[:w], out_tji[:w], out_last[:w]), removed[:r]


@_jit
def hear_reputation(inside, record, weight, month, i, j, trust_ij, trust_ji, last):
    """A meeting of the firms flagged ``inside`` (5.3 ii, 5.9): on every tie between two of them, each
    one's trust moves a share ``weight`` toward the other's reputation (``record``; none where it has
    played no game: nothing to report), and the tie counts as used this month."""
    for k in range(len(i)):
        if inside[i[k]] and inside[j[k]]:
            if record[j[k]] >= 0.0:
                trust_ij[k] += weight * (record[j[k]] - trust_ij[k])
            if record[i[k]] >= 0.0:
                trust_ji[k] += weight * (record[i[k]] - trust_ji[k])
            last[k] = month


@_jit
def trust_in_fellows(label, sel, i, j, trust_ij, trust_ji, capacity):
    """For each firm slot, the sum of its trust in the other firms of its label (``label`` >= 0) over its
    ties ``sel``, and how many such ties it has."""
    total = np.zeros(capacity)
    count = np.zeros(capacity, dtype=np.int64)
    for s in sel:
        li = label[i[s]]
        if li >= 0 and li == label[j[s]]:
            total[i[s]] += trust_ij[s]
            count[i[s]] += 1
            total[j[s]] += trust_ji[s]
            count[j[s]] += 1
    return total, count


@_jit
def learn_within(label, coop, learning_rate, betrayal_factor, month, sel, i, j, trust_ij, trust_ji, last):
    """A collective game's lesson: on each tie ``sel`` between two firms of one label (>= 0), each one's
    trust moves toward the other's choice ``coop`` (per slot) as after a pair game (5.3 i)."""
    for s in sel:
        li = label[i[s]]
        if li >= 0 and li == label[j[s]]:
            t = trust_ij[s]
            trust_ij[s] = min(t + learning_rate * (1.0 - t), 1.0) if coop[j[s]] else t * betrayal_factor
            t = trust_ji[s]
            trust_ji[s] = min(t + learning_rate * (1.0 - t), 1.0) if coop[i[s]] else t * betrayal_factor
            last[s] = month


@_jit
def served_first(group, capacity, key1, key2):
    """Which requests are served: in each group g, the ``capacity[g]`` that come first by (key1, key2).

    The same set as ranking the requests by ``(group, key1, key2)`` (a lexsort)
    and serving those ranked below their group's capacity, for distinct
    ``key2`` (random tie-breaks), without sorting: a group within its capacity
    is served whole; an oversubscribed one by selection (``np.partition``) of
    the capacity-th smallest key1, with key2 deciding among equal key1.
    """
    n = len(group)
    count = np.zeros(len(capacity), dtype=np.int64)
    for k in range(n):
        count[group[k]] += 1
    served = np.ones(n, dtype=np.bool_)
    # the requests of each oversubscribed group, by a counting sort
    start = np.zeros(len(capacity) + 1, dtype=np.int64)
    for g in range(len(capacity)):
        start[g + 1] = start[g] + (count[g] if count[g] > capacity[g] else 0)
    if start[-1] == 0:
        return served
    members = np.empty(start[-1], dtype=np.int64)
    fill = start[:-1].copy()
    for k in range(n):
        g = group[k]
        if count[g] > capacity[g]:
            members[fill[g]] = k
            fill[g] += 1
    for g in range(len(capacity)):
        idx = members[start[g]:start[g + 1]]
        cap = capacity[g]
        if len(idx) == 0:
            continue
        if cap <= 0:
            served[idx] = False
            continue
        k1 = key1[idx]
        thr = np.partition(k1, cap - 1)[cap - 1]
        room = cap
        n_eq = 0
        for v in k1:
            if v < thr:
                room -= 1
            elif v == thr:
                n_eq += 1
        thr2 = np.inf
        if n_eq > room:  # more requests at the threshold than places left: the smallest key2 among them
            k2 = np.empty(n_eq)
            e = 0
            for m in range(len(idx)):
                if k1[m] == thr:
                    k2[e] = key2[idx[m]]
                    e += 1
            thr2 = np.partition(k2, room - 1)[room - 1]
        for m in range(len(idx)):
            v = k1[m]
            served[idx[m]] = v < thr or (v == thr and key2[idx[m]] <= thr2)
    return served


@_jit
def bisection_round(c1, mid_pow, s_k, rhs, lo, hi, mid):
    """One round of the initial-productivity bisection, in place: with g = c1 * mid**c1 - s_k * mid
    (``mid_pow`` = mid**c1, from NumPy), the side of ``mid`` where g < rhs moves to it; then mid is
    the new midpoint. The same operations, in the same order, as the NumPy code it replaced."""
    for k in range(len(mid)):
        g = c1 * mid_pow[k] - s_k[k] * mid[k]
        if g < rhs[k]:
            lo[k] = mid[k]
        else:
            hi[k] = mid[k]
        mid[k] = 0.5 * (lo[k] + hi[k])


@_jit
def group_order(group, n_groups):
    """The stable ascending order of ``group`` (values 0..n_groups-1), by a counting sort: equal to
    ``np.argsort(group, kind="stable")``, in O(len + n_groups)."""
    start = np.zeros(n_groups + 1, dtype=np.int64)
    for k in range(len(group)):
        if group[k] < 0 or group[k] >= n_groups:
            raise ValueError("group_order: a group outside 0..n_groups-1")
        start[group[k] + 1] += 1
    for g in range(n_groups):
        start[g + 1] += start[g]
    order = np.empty(len(group), dtype=np.int64)
    for k in range(len(group)):
        g = group[k]
        order[start[g]] = k
        start[g] += 1
    return order


@_jit
def cheapest_known(live, firms, col0, cols, cluster_suppliers, markup, unaware):
    """For each firm of ``live``: the lowest markup among its cluster's suppliers ``cols``, counting
    ``unaware`` for one it does not know (its awareness column ``col0 + cols[r]``); and that
    supplier's id (the first such, as ``np.argmin``), or -1 when the lowest is a supplier it does not know.
    """
    aware, cluster = firms.aware, firms.cluster
    n = len(live)
    best = np.full(n, unaware)
    who = np.full(n, -1, dtype=np.int64)
    for k in range(n):
        s = live[k]
        lowest = np.inf
        for r in range(len(cols)):
            sup = cluster_suppliers[cluster[s], cols[r]]
            v = markup[sup] if aware[s, col0 + cols[r]] else unaware
            if v < lowest or r == 0:
                lowest = v
                who[k] = sup if aware[s, col0 + cols[r]] else -1
        best[k] = lowest
    return best, who


@_jit
def first_known(slots, aware, cols):
    """For each firm slot: the first of the awareness columns ``cols`` it knows, or -1."""
    out = np.full(len(slots), -1, dtype=np.int64)
    for k in range(len(slots)):
        for c in cols:
            if aware[slots[k], c]:
                out[k] = c
                break
    return out


@_jit
def pick_known_partners(seekers, seed, purpose, month, uid, adjacency, ties):
    """For each seeker, one of its ties by a keyed race among them (all alike: the smallest draw of
    (seeker, partner) wins), asked with probability equal to its trust in it (the seeker's draw 0):
    (partner, tie index), -1 for none. Adding or removing another tie changes the pick only if that
    tie wins the race."""
    offsets, nbr, tie = adjacency
    trust_ij, trust_ji = ties.trust_ij, ties.trust_ji
    base = stream(seed, purpose, month)
    partner = np.full(len(seekers), -1, dtype=np.int64)
    chosen = np.full(len(seekers), -1, dtype=np.int64)
    for k in range(len(seekers)):
        s = seekers[k]
        if offsets[s + 1] == offsets[s]:
            continue
        h = absorb(base, uid[s])
        best = 2.0
        at = -1
        for e in range(offsets[s], offsets[s + 1]):
            u = entry(h, uid[nbr[e]])
            if u < best:
                best, at = u, e
        other, t = nbr[at], tie[at]
        trust = trust_ij[t] if s < other else trust_ji[t]
        if draw(h, 0) < trust:
            partner[k], chosen[k] = other, t
    return partner, chosen


class Cells(NamedTuple):
    """The live firms grouped by (cluster, town, cell) and, within a cell, in two levels of buckets by
    identity (``cooperation.cells``): a tree for the partner race. Cell g lies at (x[g], y[g]) in town
    group ``group[g]``, is keyed by ``key[g]`` and holds ``n[g]`` firms in its buckets ``first[g]`` to
    ``first[g] + count[g] - 1``; bucket b (keyed ``key1[b]``) holds ``n1[b]`` firms in its sub-buckets
    ``first1[b]`` to ``first1[b] + count1[b] - 1``; sub-bucket c (keyed ``key2[c]``) holds
    ``members[start[c]:start[c] + size[c]]``. Each level ascends by key, so a town group's and a
    cluster's cells are contiguous."""
    key: np.ndarray
    group: np.ndarray
    x: np.ndarray
    y: np.ndarray
    n: np.ndarray
    first: np.ndarray
    count: np.ndarray
    key1: np.ndarray
    n1: np.ndarray
    first1: np.ndarray
    count1: np.ndarray
    key2: np.ndarray
    start: np.ndarray
    size: np.ndarray
    members: np.ndarray


class Search(NamedTuple):
    """How a new partner is searched for (cooperation.draw_new_partners)."""
    seed: int
    purpose: int
    month: int
    own_town_preference: float
    rounds: int
    buckets: int            # a firm's bucket in its cell is uid % buckets, its sub-bucket (uid // buckets) % buckets


@_jit
def _race(h, keys, weights, first, end):
    """The winner of an exponential race among ``first..end-1`` (score ``-ln(u) / weight``, ``u`` keyed
    on ``h`` and ``keys[g]``; weight 0 never wins): its index, -1 if every weight is 0. A candidate
    whose ``(1 - u) / weight`` (at most its score) is already above the best is passed without the log."""
    best = np.inf
    won = -1
    for g in range(first, end):
        w = weights[g - first]
        if w > 0.0:
            u = entry(h, keys[g])
            if (1.0 - u) >= best * w:
                continue
            score = -np.log(u) / w
            if score < best:
                best, won = score, g
    return won


@_jit
def propose_partners(seekers, own_cell, pools, cells, firms, accept, search):
    """A new partner for each seeker by keyed races (see cooperation.draw_new_partners): -1 for none.

    ``own_cell[k]``: seeker k's cell (an index of ``cells``); ``pools[k]`` = (first, end) of its own
    town's cells, (first, end) of its cluster's, and the firms of its own town; ``accept[d]`` the chance
    of accepting a candidate at grid distance d. Seekers of one cell and pool share the cells'
    weights: they are computed once for them (the seekers are taken in that order; each one's draws
    are its own)."""
    uid, x, y = firms.uid, firms.x, firms.y
    base = stream(search.seed, search.purpose, search.month)
    n_seekers = len(seekers)
    partner = np.full(n_seekers, -1, dtype=np.int64)
    first_of = np.empty(n_seekers, dtype=np.int64)
    end_of = np.empty(n_seekers, dtype=np.int64)
    for k in range(n_seekers):
        use_town = draw(absorb(base, uid[seekers[k]]), 0) < search.own_town_preference and pools[k, 4] > 1
        first_of[k], end_of[k] = (pools[k, 0], pools[k, 1]) if use_town else (pools[k, 2], pools[k, 3])
    span = len(cells.key) + 1
    order = np.argsort((first_of * span + end_of) * span + own_cell, kind="mergesort")
    weight = np.empty(len(cells.key))
    scratch = np.empty(search.buckets)
    nb = search.buckets
    last_first, last_end, last_cell = -1, -1, -1
    total = 0.0
    n_pool = 0
    for k in order:
        s = seekers[k]
        h = absorb(base, uid[s])
        first, end = first_of[k], end_of[k]
        mine = own_cell[k]
        if first != last_first or mine != last_cell or end != last_end:
            # the cells, weighted by their firms other than the seeker times the acceptance at their distance
            total = 0.0
            n_pool = 0
            for g in range(first, end):
                n = cells.n[g] - (1 if g == mine else 0)
                d = max(abs(x[s] - cells.x[g]), abs(y[s] - cells.y[g]))
                weight[g - first] = n * accept[d]
                total += weight[g - first]
                n_pool += n
            last_first, last_cell, last_end = first, mine, end
        if n_pool == 0 or total <= 0.0:
            continue
        # as rejection sampling in the pool would: no partner with probability (1 - mean acceptance)^rounds
        if draw(h, 1) < (1.0 - total / n_pool) ** search.rounds:
            continue
        cell = _race(absorb(h, -1), cells.key, weight[:end - first], first, end)
        # within the cell, all alike: a bucket by its firms (less the seeker), a sub-bucket so, a firm of it
        b0, b1 = cells.first[cell], cells.first[cell] + cells.count[cell]
        for b in range(b0, b1):
            scratch[b - b0] = np.float64(cells.n1[b])
            if cell == mine and cells.key1[b] % nb == uid[s] % nb:
                scratch[b - b0] -= 1.0
        bucket = _race(absorb(h, -2), cells.key1, scratch, b0, b1)
        c0, c1 = cells.first1[bucket], cells.first1[bucket] + cells.count1[bucket]
        for c in range(c0, c1):
            scratch[c - c0] = np.float64(cells.size[c])
            if cell == mine and cells.key1[bucket] % nb == uid[s] % nb and cells.key2[c] % nb == (uid[s] // nb) % nb:
                scratch[c - c0] -= 1.0
        bucket = _race(absorb(h, -4), cells.key2, scratch, c0, c1)
        h_firm = absorb(h, -3)
        best = 2.0
        for e in range(cells.start[bucket], cells.start[bucket] + cells.size[bucket]):
            c = cells.members[e]
            if c != s:
                u = entry(h_firm, uid[c])
                if u < best:
                    best, partner[k] = u, c
    return partner


class Games(NamedTuple):
    """The month's games, one entry per game: pair (a, b) plays a joint action of ``kind``."""
    a: np.ndarray
    b: np.ndarray
    kind: np.ndarray        # 0 purchasing, 1 marketing, 2 subcontracting, 3 knowledge
    tie: np.ndarray         # the pair's tie (see settle_games), -1 for none
    coop_a: np.ndarray      # a contributed
    coop_b: np.ndarray
    s_a: np.ndarray         # the subsidised share of a's cost
    s_b: np.ndarray
    trust_a: np.ndarray     # a's trust in b before the game
    trust_b: np.ndarray
    cost: np.ndarray
    captured: np.ndarray    # the months of the effect a withholder captures when the other contributes


class GameRules(NamedTuple):
    """How the games' outcomes are settled (see cooperation.play_game)."""
    learning_rate: float
    attribution: float      # how much a subsidy discounts the partner's cooperation as a signal
    betrayal_factor: float  # trust is multiplied by it after a betrayal
    month: int
    until: int              # a joint action's effects last through this month
    record_weight: float    # weight of a firm's latest choice in its reputation
    generalised_learning: float  # share of the gap its trust in strangers closes toward the partner's choice


@_jit
def settle_games(games, rules, firms, ties, new, payoff, tally, member_tally):
    """The outcomes of the ``games``, in place (see cooperation.play_game).

    The ties are ``ties`` followed by the ``new`` ties (not merged in yet, see
    TieTable.stage): ``games.tie[k] >= len(ties.i)`` is new tie
    ``games.tie[k] - len(ties.i)``. ``games.tie[k]`` is -1 for a pair without
    a tie (a first encounter that left none): its game counts, but no trust
    or month of contact is written.

    Contributors' costs add up over a firm's games in ``payoff`` (there is no
    other cash: a joint action pays through its effects); trust along a tie is
    written by a's side for every game, then by b's side (the last write wins,
    as NumPy's fancy assignment); each side's reputation (``record``) moves
    toward its own choice and its trust in strangers (``prior_trust``) toward
    its partner's. When both contribute, purchasing (kind 0),
    marketing (1) and subcontracting (2) extend the firms' ``discount_until``,
    ``export_until`` and ``subcontract_until`` to ``rules.until``; a withholder
    facing a contributor gets them for ``games.captured`` months (knowledge,
    kind 3, is shared in economy.share_knowledge). Tallies per
    cluster: choices, cooperative choices, games, joint actions (``tally``);
    members' choices and cooperative choices (``member_tally``).
    """
    a, b, kind, idx = games.a, games.b, games.kind, games.tie
    coop_a, coop_b, s_a, s_b, trust_a, trust_b = (games.coop_a, games.coop_b, games.s_a, games.s_b, games.trust_a,
                                                  games.trust_b)
    cost, captured = games.cost, games.captured
    learning_rate, attribution, betrayal_factor = rules.learning_rate, rules.attribution, rules.betrayal_factor
    month, until = rules.month, rules.until
    tie_i, trust_ij, trust_ji, last = ties.i, ties.trust_ij, ties.trust_ji, ties.last
    new_i, new_trust_ij, new_trust_ji, new_last = new.i, new.trust_ij, new.trust_ji, new.last
    discount_until, export_until, subcontract_until = firms.discount_until, firms.export_until, firms.subcontract_until
    cluster, member, record, prior = firms.cluster, firms.member, firms.record, firms.prior_trust
    record_weight, generalised_learning = rules.record_weight, rules.generalised_learning
    n, n_old = len(a), len(tie_i)
    for side in range(2):  # every game's a side, then every game's b side
        for k in range(n):
            if side == 0:
                who, t, mine, theirs, s_mine, s_theirs = a[k], trust_a[k], coop_a[k], coop_b[k], s_a[k], s_b[k]
            else:
                who, t, mine, theirs, s_mine, s_theirs = b[k], trust_b[k], coop_b[k], coop_a[k], s_b[k], s_a[k]
            if mine:  # a contributor pays its share of the cost; the effects are concrete (below)
                payoff[who] -= cost[k] * (1.0 - s_mine)
            # trust moves toward the partner's choice
            if theirs:
                v = t + learning_rate * (1.0 - attribution * s_theirs) * (1.0 - t)
            else:
                v = t * betrayal_factor
            v = min(max(v, 0.0), 1.0)
            # its reputation (what others will report of it) and its trust in strangers (5.3 ii, iii)
            choice = 1.0 if mine else 0.0
            record[who] = choice if record[who] < 0.0 else record[who] + record_weight * (choice - record[who])
            prior[who] += generalised_learning * ((1.0 if theirs else 0.0) - prior[who])
            e = idx[k]
            if e < 0:
                continue
            if e < n_old:
                if tie_i[e] == who:
                    trust_ij[e] = v
                else:
                    trust_ji[e] = v
            elif new_i[e - n_old] == who:
                new_trust_ij[e - n_old] = v
            else:
                new_trust_ji[e - n_old] = v
    for k in range(n):
        if idx[k] >= n_old:
            new_last[idx[k] - n_old] = month
        elif idx[k] >= 0:
            last[idx[k]] = month
        both = coop_a[k] and coop_b[k]
        # the effect: both sides' for the action's months when both contributed; a withholder facing a
        # contributor captures a share of it (its months); the contributor then gets nothing
        until_a = until if both else (month + captured[k] if coop_b[k] else -1)
        until_b = until if both else (month + captured[k] if coop_a[k] else -1)
        if kind[k] == 0:
            discount_until[a[k]] = max(discount_until[a[k]], until_a)
            discount_until[b[k]] = max(discount_until[b[k]], until_b)
        elif kind[k] == 1:
            export_until[a[k]] = max(export_until[a[k]], until_a)
            export_until[b[k]] = max(export_until[b[k]], until_b)
        elif kind[k] == 2:
            subcontract_until[a[k]] = max(subcontract_until[a[k]], until_a)
            subcontract_until[b[k]] = max(subcontract_until[b[k]], until_b)
        c = cluster[a[k]]
        tally[0, c] += 2.0
        tally[1, c] += np.float64(coop_a[k]) + np.float64(coop_b[k])
        tally[2, c] += 1.0
        tally[3, c] += np.float64(both)
        if member[a[k]]:
            member_tally[0, c] += 1.0
            member_tally[1, c] += np.float64(coop_a[k])
        if member[b[k]]:
            member_tally[0, cluster[b[k]]] += 1.0
            member_tally[1, cluster[b[k]]] += np.float64(coop_b[k])


@_jit
def awareness_differences(aware, i, j):
    """(tie, column) of every link that exactly one end of a tie knows, in row-major order.

    Each firm's row of at most 64 links is packed into the bits of an integer,
    so a tie's differences are the set bits of one exclusive or.
    """
    n_links = aware.shape[1]
    packed = np.zeros(aware.shape[0], dtype=np.uint64)
    for s in range(aware.shape[0]):
        v = np.uint64(0)
        for c in range(n_links):
            if aware[s, c]:
                v |= np.uint64(1) << np.uint64(c)
        packed[s] = v
    n = 0
    for k in range(len(i)):
        x = packed[i[k]] ^ packed[j[k]]
        while x:
            x &= x - np.uint64(1)
            n += 1
    rows = np.empty(n, dtype=np.int64)
    cols = np.empty(n, dtype=np.int64)
    n = 0
    for k in range(len(i)):
        x = packed[i[k]] ^ packed[j[k]]
        c = 0
        while x:
            if x & np.uint64(1):
                rows[n], cols[n] = k, c
                n += 1
            x >>= np.uint64(1)
            c += 1
    return rows, cols


@_jit
def tie_totals(cluster, n_clusters, capacity, i, j, trust_ij, trust_ji):
    """Per cluster the sum of trust (both directions) and the number of ties; per slot the degree."""
    trust_sum = np.zeros(n_clusters)
    count = np.zeros(n_clusters, dtype=np.int64)
    degree = np.zeros(capacity, dtype=np.int64)
    for k in range(len(i)):
        c = cluster[i[k]]
        trust_sum[c] += trust_ij[k] + trust_ji[k]
        count[c] += 1
        degree[i[k]] += 1
        degree[j[k]] += 1
    return trust_sum, count, degree


@_jit
def _maximum(x, y):
    """``np.maximum`` of two floats: NaN if either is; the second when they are equal (-0.0 and 0.0)."""
    if x != x:
        return x
    return x if x > y else y


@_jit
def _minimum(x, y):
    """``np.minimum`` of two floats: NaN if either is; the second when they are equal."""
    if x != x:
        return x
    return x if x < y else y


@_jit
def _clip(x, lo, hi):
    """``np.clip`` of a float: NaN stays NaN, and a value equal to a bound (e.g. -0.0 at 0.0) is kept."""
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


class ClusterArrays(NamedTuple):
    """Per cluster (indexed by cluster id): its constants and this month's prices."""
    scale: np.ndarray             # the output scale (economy.initial_productivity)
    p0: np.ndarray                # the reference domestic price
    input_share: np.ndarray
    export_share: np.ndarray      # the share of an exporter's output sold abroad
    export_threshold: np.ndarray  # the productivity above which a firm exports
    price: np.ndarray             # this month's domestic price
    export_price: np.ndarray      # this month's export price


class ProductionTerms(NamedTuple):
    """The inputs of :func:`production` besides the firms and the clusters."""
    month: int
    subcontract_factor: float      # output bonus while subcontracting (1 + bonus)
    facility_factor: float         # output factor of a firm in a month it uses the common facility (1 + level)
    export_open: float             # 1, or less during an export restriction
    purchase_discount: float       # joint purchasing's discount, while it lasts
    default_group_discount: float  # a purchasing group's discount on the open market
    input_price: float
    transport_cost: float
    fixed_cost: float
    park_cut: float                # the cut of the fixed cost in an industrial park
    infrastructure: np.ndarray     # per cell of the grid, 0..1
    industrial_park: np.ndarray    # per cell of the grid, 0 or 1
    sup_discount: np.ndarray       # a purchasing group's discount, per supplier


class Output(NamedTuple):
    """Each live firm's output (q), exported and sold at home, unit input cost and fixed cost."""
    q: np.ndarray
    q_exp: np.ndarray
    q_dom: np.ndarray
    unit_input: np.ndarray
    fixed: np.ndarray


@_jit
def production(live, firms, clusters, terms, l_pow, k_pow, supplier_factor):
    """The :class:`Output` of each live firm (see economy.produce); writes ``firms.exporter``.
    ``l_pow``, ``k_pow``: L**alpha and K**beta (NumPy's power); ``supplier_factor``: the markup of the
    firm's raw-material supplier (1 on the open market)."""
    cluster, productivity, exporter, x, y = firms.cluster, firms.productivity, firms.exporter, firms.x, firms.y
    subcontract_until, export_until, discount_until = firms.subcontract_until, firms.export_until, firms.discount_until
    purchasing_group, supplier, facility_user = firms.purchasing_group, firms.supplier, firms.facility_user
    facility_factor = terms.facility_factor
    scale, p0, input_share = clusters.scale, clusters.p0, clusters.input_share
    export_share, export_threshold = clusters.export_share, clusters.export_threshold
    month, subcontract_factor, export_open = terms.month, terms.subcontract_factor, terms.export_open
    purchase_discount, default_group_discount = terms.purchase_discount, terms.default_group_discount
    input_price, transport_cost, fixed_cost, park_cut = (terms.input_price, terms.transport_cost, terms.fixed_cost,
                                                         terms.park_cut)
    infrastructure, industrial_park, sup_discount = terms.infrastructure, terms.industrial_park, terms.sup_discount
    n = len(live)
    q = np.empty(n)
    q_exp = np.empty(n)
    q_dom = np.empty(n)
    unit_input = np.empty(n)
    fixed = np.empty(n)
    for k in range(n):
        s = live[k]
        c = cluster[s]
        a = productivity[s]
        v = scale[c] * a * l_pow[k] * k_pow[k]
        v = v * (subcontract_factor if subcontract_until[s] >= month else 1.0)
        v = v * (facility_factor if facility_user[s] else 1.0)
        exports = a > export_threshold[c] or export_until[s] >= month
        exporter[s] = exports
        v_exp = v * export_share[c] * export_open if exports else 0.0
        q[k], q_exp[k], q_dom[k] = v, v_exp, v - v_exp
        infra = infrastructure[x[s], y[s]]
        discount = purchase_discount if discount_until[s] >= month else 0.0
        if purchasing_group[s] >= 0:
            group = sup_discount[supplier[s]] if supplier[s] >= 0 else default_group_discount
        else:
            group = 0.0
        discount = discount + group
        unit_input[k] = (input_price * input_share[c] * p0[c] * (1.0 + transport_cost * (1.0 - infra))
                         * supplier_factor[k] * (1.0 - _minimum(discount, 0.9)))
        fixed[k] = fixed_cost * (1.0 - park_cut * industrial_park[x[s], y[s]])
    return Output(q, q_exp, q_dom, unit_input, fixed)


class SalesTerms(NamedTuple):
    """The inputs of :func:`sales` besides the firms, the clusters and the output."""
    wage: float
    alpha: float    # the output elasticity of labour
    rho: float      # 1 - 1/sigma, sigma the elasticity of substitution between varieties
    initial: bool   # the initial month: margins set, cash left alone


@_jit
def sales(live, firms, clusters, out, w_exp, w_dom, payoff, terms):
    """Sales, profit and margin of each live firm, in place in ``firms`` (see economy.produce); returns
    (the marginal revenue product of labour per live firm, domestic supply and export supply per cluster).

    A firm's sales in a market are ``Q * w / sum(w)`` over its cluster (``w`` = q**rho,
    from NumPy, for the ``out``put of :func:`production`); sums run in the firms'
    order, as ``np.bincount``. ``payoff``: this month's payoffs from the games per
    slot, or an empty array for none.
    """
    cluster, employees = firms.cluster, firms.employees
    output, exports, revenue, profit, margin, cash = (firms.output, firms.exports, firms.revenue, firms.profit,
                                                      firms.margin, firms.cash)
    q, q_exp, q_dom, unit_input, fixed = out
    price, export_price, n_clusters = clusters.price, clusters.export_price, len(clusters.price)
    wage, alpha, rho, initial = terms.wage, terms.alpha, terms.rho, terms.initial
    n = len(live)
    total_w_dom = np.zeros(n_clusters)
    total_q_dom = np.zeros(n_clusters)
    total_w_exp = np.zeros(n_clusters)
    total_q_exp = np.zeros(n_clusters)
    for k in range(n):
        c = cluster[live[k]]
        total_w_dom[c] += w_dom[k]
        total_q_dom[c] += q_dom[k]
    for k in range(n):
        c = cluster[live[k]]
        total_w_exp[c] += w_exp[k]
        total_q_exp[c] += q_exp[k]
    mrpl = np.empty(n)
    for k in range(n):
        s = live[k]
        c = cluster[s]
        share_dom = total_q_dom[c] * w_dom[k] / total_w_dom[c] if total_w_dom[c] > 0 else 0.0
        share_exp = total_q_exp[c] * w_exp[k] / total_w_exp[c] if total_w_exp[c] > 0 else 0.0
        rev_exp = share_exp * export_price[c]
        rev = share_dom * price[c] + rev_exp
        labour = np.float64(employees[s])
        input_cost = unit_input[k] * q[k]
        gain = rev - wage * labour - input_cost - fixed[k]
        if len(payoff):
            gain = gain + payoff[s]
        output[s], exports[s], revenue[s], profit[s] = q[k], rev_exp, rev, gain
        ratio = gain / rev if rev > 1e-9 else 0.0
        ratio = _clip(ratio, -1.0, 1.0)
        if initial:
            margin[s] = ratio
        else:
            cash[s] += gain
            margin[s] = 0.5 * margin[s] + 0.5 * ratio
        mrpl[k] = alpha * (rho * rev - input_cost) / labour
    domestic = np.zeros(n_clusters)
    exported = np.zeros(n_clusters)
    for k in range(n):
        domestic[cluster[live[k]]] += q_dom[k]
    for k in range(n):
        exported[cluster[live[k]]] += q_exp[k]
    return mrpl, domestic, exported


class LearningTerms(NamedTuple):
    """The inputs of :func:`learning` besides the firms."""
    invest_share: float     # the share of profit invested
    invest_learning: float  # productivity gained per unit of investment relative to capital
    local_spillover: float  # the share of the gap to the group's mean closed


@_jit
def learning(live, firms, group, n_groups, growth, terms):
    """Productivity after the walk (``growth`` = exp of the shocks, from NumPy), investment and the
    local spillover toward the mean of the firm's (cluster, town) ``group``, in place (see economy.learn);
    returns each live firm's investment."""
    productivity, profit, capital = firms.productivity, firms.profit, firms.capital
    invest_share, invest_learning = terms.invest_share, terms.invest_learning
    local_spillover = terms.local_spillover
    n = len(live)
    a = np.empty(n)
    investment = np.empty(n)
    count = np.zeros(n_groups, dtype=np.int64)
    total = np.zeros(n_groups)
    for k in range(n):
        s = live[k]
        v = productivity[s] * growth[k]
        invest = invest_share * _maximum(profit[s], 0.0)
        v = v * (1.0 + invest_learning * invest / _maximum(capital[s], 1e-9))
        a[k], investment[k] = v, invest
        count[group[k]] += 1
        total[group[k]] += v
    mean = np.zeros(n_groups)
    for g in range(n_groups):
        if count[g] > 0:
            mean[g] = total[g] / count[g]
    for k in range(n):
        s = live[k]
        v = a[k] + local_spillover * _maximum(mean[group[k]] - a[k], 0.0)
        productivity[s] = v
    return investment


class GrowthTerms(NamedTuple):
    """The inputs of :func:`growth_plans`, :func:`growth_draws` and :func:`growth_settle` besides the firms."""
    depreciation: float
    wage: float
    buffer_per_worker: float  # the cash a firm keeps per worker before it hires
    hire_sensitivity: float
    max_hire_rate: float
    max_fire_rate: float
    fire_sensitivity: float
    cap_per_worker: float     # the cash per worker above which owners take it out
    growth_noise: float       # scale of the firm's Laplace shock to its hiring and shedding rates
    granular_noise: float     # scale of a one-worker firm's Laplace shock to its log target size
    granular_exponent: float  # the shock's scale falls as employees ** -granular_exponent
    adjust_speed: float       # a one-worker firm's share of the gap to its target hired a month (0: off)
    adjust_exponent: float    # adjust_speed falls as employees ** -adjust_exponent
    shed_speed: float         # share of the excess over the target shed a month
    target_exponent: float    # elasticity of the target size to MRPL / wage: 1 / (1 - alpha (1 - 1/sigma))


class Plans(NamedTuple):
    """Each live firm's hiring rate (before the shock), whether it sheds labour, the gap of its
    marginal product to the wage, and whether it may hire (positive margin, cash above the buffer)."""
    hire_rate: np.ndarray
    shed: np.ndarray
    gap: np.ndarray
    can_hire: np.ndarray


@_jit
def growth_plans(live, firms, investment, machinery_factor, mrpl, terms):
    """Investment into capital and cash, in place; returns the :class:`Plans` (economy.grow)."""
    employees, margin, cash, capital = firms.employees, firms.margin, firms.cash, firms.capital
    depreciation, wage, buffer_per_worker = terms.depreciation, terms.wage, terms.buffer_per_worker
    hire_sensitivity, max_hire_rate = terms.hire_sensitivity, terms.max_hire_rate
    n = len(live)
    hire_rate = np.empty(n)
    shed = np.empty(n, dtype=np.bool_)
    gap = np.empty(n)
    can_hire = np.empty(n, dtype=np.bool_)
    for k in range(n):
        s = live[k]
        cash[s] -= investment[k]
        capital[s] = capital[s] * (1.0 - depreciation) + investment[k] / machinery_factor[k]
        m = margin[s]
        g = mrpl[k] / wage - 1.0
        buffer_ok = cash[s] > buffer_per_worker * np.float64(employees[s])
        can_hire[k] = m > 0 and buffer_ok
        if m > 0 and buffer_ok and g > 0:
            hire_rate[k] = _minimum(_minimum(hire_sensitivity * m, g), max_hire_rate)
        else:
            hire_rate[k] = 0.0
        shed[k] = m < 0 or g < -0.05
        gap[k] = g
    return Plans(hire_rate, shed, gap, can_hire)


# The growth step's uniforms: one row each, one column per live firm (economy.grow draws them).
GROWTH_SHOCK, GROWTH_HIRES, GROWTH_FIRES = 0, 1, 2
GROWTH_DRAWS = 3
# with partial adjustment, a firm hires at most max(max_hire_rate x L, this many) workers a month in expectation
HIRE_CAP_WORKERS = 0.5


@_jit
def growth_draws(live, firms, plans, u, terms, w):
    """Each live firm's hires and fires this month from its own column of the uniforms ``u``
    (shape ``(GROWTH_DRAWS, len(live))``, purpose ``growth``) and its uniform ``w[k]`` (purpose
    ``growth_target``, lasting ``granular_months``), both drawn in economy.grow, as two int64 arrays.

    Row GROWTH_SHOCK: the firm's shock ``max(0, 1 + Laplace(0, growth_noise))``.

    With ``adjust_speed`` 0, the integer rule: hires ~ Poisson(L x hire_rate x shock) (row
    GROWTH_HIRES); fires ~ Binomial(L - 1, min(max_fire_rate, fire_sensitivity x max(-margin, -gap) x
    shock)) for a firm that sheds, else none (row GROWTH_FIRES).

    With ``adjust_speed`` > 0, partial adjustment toward a target size (issue 21 part 2):
    ``T = L x (1 + gap) ** target_exponent x exp(e) x (1 - b^2)``, the size at which the firm's MRPL
    would equal the wage, times a granular shock ``e ~ Laplace(0, b)`` from ``w[k]`` with
    ``b = min(0.95, granular_noise x L ** -granular_exponent)`` (a firm with few workers has few
    customers and orders, and its outlook moves by lumps; ``1 - b^2 = 1 / E[exp(e)]`` keeps the target
    unchanged in expectation). A firm that may hire (``plans.can_hire``) and whose target rounds above
    its size (``T > L + 1/2``) hires Poisson(min(s x (T - L - 1/2), max(L x max_hire_rate,
    HIRE_CAP_WORKERS)) x shock) with ``s = adjust_speed x L ** -adjust_exponent``, so a one-worker firm
    whose target is 3 may hire two; a firm whose target rounds below its size (``T < L - 1/2``) or
    whose margin is negative sheds Binomial(L - 1, min(max_fire_rate, max(shed_speed x (L - 1/2 - T) /
    L, fire_sensitivity x -margin) x shock)): shedding is slower than hiring, so a firm that has grown
    on a lasting order keeps its workers for a while.
    Every uniform is turned into its draw by inverse CDF.
    """
    employees, margin = firms.employees, firms.margin
    hire_rate, shed, gap, can_hire = plans
    max_fire_rate, fire_sensitivity, growth_noise = terms.max_fire_rate, terms.fire_sensitivity, terms.growth_noise
    eta = terms.target_exponent
    n = len(live)
    hires = np.zeros(n, dtype=np.int64)
    fires = np.zeros(n, dtype=np.int64)
    for k in range(n):
        s = live[k]
        labour = employees[s]
        size = np.float64(labour)
        shock = _maximum(0.0, 1.0 + laplace_from_uniform(u[GROWTH_SHOCK, k], growth_noise))
        if terms.adjust_speed > 0.0:
            speed = terms.adjust_speed * size ** -terms.adjust_exponent
            b = _minimum(terms.granular_noise * size ** -terms.granular_exponent, 0.95)
            e = _minimum(laplace_from_uniform(w[k], b), 5.0)
            target = size * _maximum(1.0 + gap[k], 0.0) ** eta * math.exp(e) * (1.0 - b * b)
            if can_hire[k] and target > size + 0.5:
                lam = _minimum(speed * (target - size - 0.5), _maximum(size * terms.max_hire_rate, HIRE_CAP_WORKERS))
                hires[k] = poisson_from_uniform(u[GROWTH_HIRES, k], lam * shock)
            if target < size - 0.5 or margin[s] < 0:
                rate = _maximum(terms.shed_speed * (size - 0.5 - target) / size, fire_sensitivity * -margin[s])
                fires[k] = binomial_from_uniform(u[GROWTH_FIRES, k], max(labour - 1, 0),
                                                 _clip(_minimum(max_fire_rate, rate * shock), 0.0, 1.0))
            continue
        hires[k] = poisson_from_uniform(u[GROWTH_HIRES, k], size * hire_rate[k] * shock)
        if shed[k]:
            rate = _minimum(max_fire_rate, fire_sensitivity * _maximum(-margin[s], -gap[k]) * shock)
            fires[k] = binomial_from_uniform(u[GROWTH_FIRES, k], max(labour - 1, 0), _clip(rate, 0.0, 1.0))
    return hires, fires


@_jit
def growth_settle(live, firms, hires, fires, terms):
    """New head counts, loan repayments and the cash cap, in place (economy.grow)."""
    employees, loan_left, loan_payment, cash = firms.employees, firms.loan_left, firms.loan_payment, firms.cash
    cap_per_worker = terms.cap_per_worker
    for k in range(len(live)):
        s = live[k]
        employees[s] = max(1, employees[s] + hires[k] - fires[k])
        if loan_left[s] > 0:
            cash[s] -= loan_payment[s]
            loan_left[s] -= 1
        cash[s] = _minimum(cash[s], cap_per_worker * np.float64(employees[s]))


class Requests(NamedTuple):
    """The month's requests for support services, per kind r (0 training, 1 credit, 2 technology, 3 parks
    and business services) and live firm k."""
    want: np.ndarray       # [r, k]: firm k asks for kind r
    need: np.ndarray       # [r, k]: how much it needs it (the largest are served first)
    tie_break: np.ndarray  # [k]: among equal needs, the smallest first
    promoted: np.ndarray   # [k]: a uniform draw; export promotion works when below the institution's quality
    wage_bill: np.ndarray  # [k]


class Institutions(NamedTuple):
    """The support institutions (indexed by id) and the awareness columns through which firms know them."""
    of_cluster: np.ndarray   # [cluster, column]: the institution behind a firm's awareness column
    kind_cols: np.ndarray    # [r, :kind_n_cols[r]]: the columns of the institutions that serve kind r
    kind_n_cols: np.ndarray
    capacity: np.ndarray     # firms served a month
    fee: np.ndarray
    quality: np.ndarray


class ServiceTerms(NamedTuple):
    """The inputs of :func:`serve_requests` besides the firms, the requests and the institutions."""
    month: int
    training_gain: float
    technology_gain: float
    loan_size_months: float       # a loan, in months of the firm's wage bill
    loan_repay_factor: float      # total repaid per unit lent
    loan_months: int
    export_promotion_months: int


@_jit
def serve_requests(live, firms, requests, institutions, terms):
    """The month's support services, in place (see services.serve); returns the firms served per institution.

    Request kind r is made by the live firms where ``requests.want[r]``, to the
    first of the institutions of ``institutions.kind_cols[r]`` that the firm
    knows of; each institution serves up to its capacity, largest
    ``requests.need[r]`` first (``tie_break`` among equals). The kinds are
    served in that order, each from the state the month began with.
    """
    cluster, aware, cash, productivity = firms.cluster, firms.aware, firms.cash, firms.productivity
    loan_payment, loan_left, export_until = firms.loan_payment, firms.loan_left, firms.export_until
    want, need, tie_break, promoted, wage_bill = requests
    cluster_institutions, kind_cols, kind_n_cols = (institutions.of_cluster, institutions.kind_cols,
                                                    institutions.kind_n_cols)
    inst_capacity, inst_fee, inst_quality = institutions.capacity, institutions.fee, institutions.quality
    month, training_gain, technology_gain = terms.month, terms.training_gain, terms.technology_gain
    loan_size_months, loan_repay_factor, loan_months = (terms.loan_size_months, terms.loan_repay_factor,
                                                        terms.loan_months)
    export_promotion_months = terms.export_promotion_months
    count = np.zeros(len(inst_capacity), dtype=np.int64)
    for r in range(4):
        cols = kind_cols[r, :kind_n_cols[r]]
        n_req = 0
        for k in range(len(live)):
            n_req += want[r, k]
        if n_req == 0 or len(cols) == 0:
            continue
        req = np.empty(n_req, dtype=np.int64)
        n_req = 0
        for k in range(len(live)):
            if want[r, k]:
                req[n_req] = k
                n_req += 1
        first = first_known(live[req], aware, cols)
        n_has = 0
        for m in range(len(req)):
            n_has += first[m] >= 0
        asked = np.empty(n_has, dtype=np.int64)
        inst = np.empty(n_has, dtype=np.int64)
        key1 = np.empty(n_has)
        key2 = np.empty(n_has)
        e = 0
        for m in range(len(req)):
            if first[m] >= 0:
                k = req[m]
                asked[e], inst[e] = k, cluster_institutions[cluster[live[k]], first[m]]
                key1[e], key2[e] = -need[r, k], tie_break[k]
                e += 1
        served = served_first(inst, inst_capacity, key1, key2)
        for m in range(n_has):
            if not served[m]:
                continue
            k, g = asked[m], inst[m]
            s = live[k]
            count[g] += 1
            cash[s] -= inst_fee[g]
            q = inst_quality[g]
            if r == 0:
                productivity[s] *= 1.0 + training_gain * q
            elif r == 2:
                productivity[s] *= 1.0 + technology_gain * q
            elif r == 1:
                amount = loan_size_months * wage_bill[k]
                cash[s] += amount
                loan_payment[s] = amount * loan_repay_factor / loan_months
                loan_left[s] = loan_months
            elif promoted[k] < q:
                export_until[s] = max(export_until[s], month + export_promotion_months)
    return count


class Entrants(NamedTuple):
    """The month's entrants, one entry each: the spin-offs (of ``parents``) first, then the outsiders."""
    slots: np.ndarray           # their firm slots
    parents: np.ndarray         # the spin-offs' parents' slots
    cluster: np.ndarray
    noise: np.ndarray           # [5, entrant]: standard normals (x, y, productivity, prior, propensity)
    offsets: np.ndarray         # [2, entrant]: a spin-off's cell next to its parent's, -1..1 each way
    base: np.ndarray            # the entrant productivity of the cluster
    growth_par: np.ndarray      # the spin-offs' exp of productivity noise (NumPy's)
    growth_exo: np.ndarray      # the outsiders' exp of productivity noise (NumPy's)
    prior_exo: np.ndarray       # the outsiders' prior trust (Beta draws)
    propensity_exo: np.ndarray  # the outsiders' cooperation propensity (Beta draws)


class EntryTerms(NamedTuple):
    """The inputs of :func:`place_entrants` besides the entrants and the firms."""
    town_xy: np.ndarray      # [cluster, 2]: the cell of the cluster's town
    spread: np.ndarray       # per cluster: how far around its town an outsider settles, in cells
    width: int
    height: int
    nearest: np.ndarray      # [x, y]: the nearest town of each cell
    capital_per_worker: float
    initial_cash: float
    month: int


@_jit
def place_entrants(entrants, firms, terms):
    """The state of the month's ``entrants`` in the firm table, in place (see demography.enter_firms)."""
    slots, parents, cl, noise, offsets = (entrants.slots, entrants.parents, entrants.cluster, entrants.noise,
                                          entrants.offsets)
    base, growth_par, growth_exo = entrants.base, entrants.growth_par, entrants.growth_exo
    prior_exo, propensity_exo = entrants.prior_exo, entrants.propensity_exo
    town_xy, spread, width, height, nearest = terms.town_xy, terms.spread, terms.width, terms.height, terms.nearest
    capital_per_worker, initial_cash, month = terms.capital_per_worker, terms.initial_cash, terms.month
    alive, cluster, x, y, town, employees = firms.alive, firms.cluster, firms.x, firms.y, firms.town, firms.employees
    capital, productivity = firms.capital, firms.productivity
    prior_trust, propensity = firms.prior_trust, firms.propensity
    trust_cda, cash, age, birth_month, margin = firms.trust_cda, firms.cash, firms.age, firms.birth_month, firms.margin
    aware = firms.aware
    n_par = len(parents)
    for e in range(len(slots)):
        s = slots[e]
        c = cl[e]
        if e < n_par:
            par = parents[e]
            px = np.float64(x[par] + offsets[0, e])
            py = np.float64(y[par] + offsets[1, e])
        else:
            px = town_xy[c, 0] + np.rint(noise[0, e] * spread[c])
            py = town_xy[c, 1] + np.rint(noise[1, e] * spread[c])
        sx = np.int64(_clip(px, 0.0, np.float64(width - 1)))
        sy = np.int64(_clip(py, 0.0, np.float64(height - 1)))
        alive[s] = True
        cluster[s] = c
        x[s], y[s] = sx, sy
        town[s] = nearest[sx, sy]
        employees[s] = 1
        capital[s] = capital_per_worker
        if e < n_par:
            productivity[s] = np.sqrt(productivity[par] * base[e]) * growth_par[e]
            prior = prior_trust[par] + 0.05 * noise[3, e]
            prop = propensity[par] + 0.05 * noise[4, e]
        else:
            productivity[s] = base[e] * growth_exo[e - n_par]
            prior = prior_exo[e - n_par]
            prop = propensity_exo[e - n_par]
        prior_trust[s] = _clip(prior, 0.0, 1.0)
        propensity[s] = _clip(prop, 0.0, 1.0)
        trust_cda[s] = prior_trust[s]
        cash[s] = initial_cash
        age[s] = -1
        birth_month[s] = month
        margin[s] = 0.0
        if e < n_par:
            for col in range(aware.shape[1]):
                aware[s, col] = aware[par, col]
