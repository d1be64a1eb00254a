"""Model-owned NumPy state: firms as a struct of arrays, ties as edge arrays.

Every monthly sub-step works on these arrays, vectorised over all firms or
ties; the Mesa agents in :mod:`model.agents` are thin views that read and write
them by slot index. Firm slots are reused after an exit (free list); arrays
grow by doubling when full. Always go through ``table.<field>`` (never keep a
reference to an array across an ``allocate``, which may replace it).
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .kernels import FirmArrays, TieArrays
from .schema import FIRM_FIELDS  # field: (dtype, fill value for a free slot)
from .tiekey import KEY_BASE  # tie key = i * KEY_BASE + j


class FirmTable:
    """Struct of arrays over firm slots, with an alive mask and free-slot reuse."""

    def __init__(self, capacity: int, n_links: int):
        self.capacity = max(16, int(capacity))
        for name, (dtype, fill) in FIRM_FIELDS.items():
            setattr(self, name, np.full(self.capacity, fill, dtype=dtype))
        # awareness of each support institution and supplier (the "links")
        self.aware = np.zeros((self.capacity, max(n_links, 1)), dtype=bool)
        self._live = None
        self._arrays = kernels.firm_arrays(self)  # (made again when the arrays are, in _grow)

    def arrays(self) -> FirmArrays:
        """The table's arrays (the same arrays, not copies) as one :class:`model.kernels.FirmArrays`, for
        the kernels. Take it again after :meth:`allocate`, which may replace them (only ``_grow``
        replaces an array, and it makes this view again)."""
        return self._arrays

    def __getstate__(self) -> dict:
        """For pickle and copy: the arrays without the kernels' view of them (numba's, which does not
        pickle; made again on loading)."""
        state = self.__dict__.copy()
        del state["_arrays"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._arrays = kernels.firm_arrays(self)

    def live(self) -> np.ndarray:
        """Slot indices of live firms, ascending.

        Kept until :meth:`allocate` or :meth:`release` changes which slots are
        alive (the only ways they change): the same array is returned to every
        caller until then, so never write into it.
        """
        if self._live is None:
            self._live = np.flatnonzero(self.alive)
        return self._live

    def allocate(self, n: int) -> np.ndarray:
        """Reserve ``n`` free slots, lowest first (deterministic), growing the arrays if needed.

        The slots are marked alive at once; the caller fills in their state.
        """
        free = np.flatnonzero(~self.alive)
        if n > len(free):
            self._grow(max(self.capacity * 2, self.capacity + n))
            free = np.flatnonzero(~self.alive)
        taken = free[:n].astype(np.int64)
        self.alive[taken] = True
        self._live = None
        return taken

    def release(self, slots: np.ndarray) -> None:
        """Free slots of exited firms and reset their state."""
        self._live = None
        for name, (_dtype, fill) in FIRM_FIELDS.items():
            getattr(self, name)[slots] = fill
        self.aware[slots] = False

    def _grow(self, new_capacity: int) -> None:
        old = self.capacity
        for name, (dtype, fill) in FIRM_FIELDS.items():
            arr = np.full(new_capacity, fill, dtype=dtype)
            arr[:old] = getattr(self, name)
            setattr(self, name, arr)
        aware = np.zeros((new_capacity, self.aware.shape[1]), dtype=bool)
        aware[:old] = self.aware
        self.aware = aware
        self.capacity = new_capacity
        self._arrays = kernels.firm_arrays(self)


def sorted_member(sorted_keys: np.ndarray, q: np.ndarray) -> np.ndarray:
    """For each of ``q``: is it in the ascending array ``sorted_keys``? (binary search)"""
    if len(sorted_keys) == 0 or len(q) == 0:
        return np.zeros(len(q), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, q), len(sorted_keys) - 1)
    return sorted_keys[pos] == q




def _flushed(name: str, doc: str):
    """A tie array, read after any removal still pending (see TieTable.drop_firms)."""
    def get(self):
        self._flush()
        return getattr(self, name)
    return property(get, doc=doc)


def _union(sorted_keys: list[np.ndarray]) -> np.ndarray:
    """The ascending union of ascending arrays of distinct keys."""
    out = sorted_keys[0] if sorted_keys else np.zeros(0, dtype=np.int64)
    for more in sorted_keys[1:]:
        out = kernels.union_sorted(out, more)
    return out


class TieTable:
    """Undirected inter-firm ties with directed trust, as compact edge arrays.

    ``i < j`` for every tie; ``trust_ij`` is i's trust in j, ``trust_ji`` j's in i;
    ``last`` the month of the last interaction. Ties are kept sorted by
    ``(i, j)``, so that a pair is found by binary search and removing ties
    (which keeps the order) never needs a sort.

    Removals may be held back (``drop_firms``): the next ``add`` then removes
    and inserts in one pass over the ties, and any read before it (of an array
    or the version) removes them first. New ties may be held back too
    (``stage``): the next ``rewrite`` merges them in its pass, and any read
    before it merges them first. The arrays are replaced, never resized in
    place, when ties come or go.
    """

    key = _flushed("_key", "i * 2**32 + j, ascending")
    i = _flushed("_i", "the lower slot of each tie")
    j = _flushed("_j", "the higher slot of each tie")
    trust_ij = _flushed("_trust_ij", "i's trust in j")
    trust_ji = _flushed("_trust_ji", "j's trust in i")
    last = _flushed("_last", "month of the last interaction")

    def __init__(self):
        self._i = np.zeros(0, dtype=np.int64)
        self._j = np.zeros(0, dtype=np.int64)
        self._trust_ij = np.zeros(0)
        self._trust_ji = np.zeros(0)
        self._last = np.zeros(0, dtype=np.int64)
        self._key = np.zeros(0, dtype=np.int64)
        self._version = 0  # bumped whenever ties are added or removed
        self._pending = None  # mask of the ties to keep, when a removal is held back
        self._n_pending = 0  # how many ties that removal drops
        self._staged = None  # new ties held back (TieArrays), keys ascending
        self._added: list[np.ndarray] = []  # keys added and removed since take_changes()
        self._removed: list[np.ndarray] = []
        self._adjacency = None

    def __len__(self) -> int:
        """The number of ties, held-back changes counted (read without applying them)."""
        n = len(self._i) - (self._n_pending if self._pending is not None else 0)
        return n + (len(self._staged.key) if self._staged is not None else 0)

    @property
    def version(self) -> int:
        self._flush()
        return self._version

    def _arrays(self) -> TieArrays:
        return TieArrays(self._key, self._i, self._j, self._trust_ij, self._trust_ji, self._last)

    def arrays(self) -> TieArrays:
        """The tie arrays (not copies), any held-back change applied, for the kernels."""
        self._flush()
        return self._arrays()

    def _set_arrays(self, arrays) -> None:
        self._key, self._i, self._j, self._trust_ij, self._trust_ji, self._last = arrays
        self._version += 1

    def _flush(self) -> None:
        """Apply a removal or an addition held back, if any (there is never both)."""
        if self._staged is not None:
            arrays, _removed, _at = kernels.merge_ties(np.zeros(0, dtype=np.bool_), self._arrays(), self._staged)
            self._staged = None  # (only once merged: a failed merge loses no tie)
            self._set_arrays(arrays)
        if self._pending is None:
            return
        keep, self._pending = self._pending, None
        arrays, removed = kernels.keep_ties(keep, self._arrays())
        self._set_arrays(arrays)
        self._removed.append(removed)

    @staticmethod
    def keys(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        return lo * KEY_BASE + hi

    def find(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Tie index of each pair (a[k], b[k]), or -1 where there is none."""
        key = self.key
        if len(key) == 0 or len(a) == 0:
            return np.full(len(a), -1, dtype=np.int64)
        q = self.keys(np.asarray(a), np.asarray(b))
        pos = np.minimum(np.searchsorted(key, q), len(key) - 1)
        return np.where(key[pos] == q, pos, -1)

    def add(self, a: np.ndarray, b: np.ndarray, trust_a: np.ndarray, trust_b: np.ndarray,
            month: int, *, untied: bool = False):
        """Add ties for pairs that have none (duplicates within the call are merged).

        ``trust_a`` is a's trust in b. Returns the tie index of every pair, old or new
        (indices of existing ties shift when new ones are inserted before them).
        ``untied=True``: the caller knows that no pair has a tie yet (nor is a firm with
        itself), removals held back included; the pairs are not looked up, before or
        after, and what is returned is (the new ties' keys, ascending, and their
        indices).
        """
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        if len(a) == 0:
            return (np.zeros(0, dtype=np.int64),) * 2 if untied else np.zeros(0, dtype=np.int64)
        if self._staged is not None:
            self._flush()  # (then no removal is held back: the merge below takes the new ties only)
        if untied:
            idx, new = None, np.arange(len(a))
        else:
            idx = self.find(a, b)
            new = np.flatnonzero((idx < 0) & (a != b))
        if len(new):
            added = self._new_ties(a, b, trust_a, trust_b, month, new)
            keys = added.key
            keep = self._pending
            arrays, removed, at = kernels.merge_ties(
                np.zeros(0, dtype=np.bool_) if keep is None else keep, self._arrays(), added)
            self._pending = None  # (only once the merge has taken them: a failed add loses no removal)
            self._set_arrays(arrays)
            if keep is not None:
                self._removed.append(removed)
            self._added.append(keys)
            if untied:
                return keys, at
            idx = self.find(a, b)
        return idx

    def _new_ties(self, a, b, trust_a, trust_b, month, new) -> TieArrays:
        """The tie arrays of the pairs ``new`` (indices into a and b),
        one per pair (the first), in key order (as np.unique(..., return_index=True), without its
        overhead)."""
        keys = self.keys(a[new], b[new])
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        keys, new = keys[first], new[order[first]]
        an, bn = a[new], b[new]
        swap = an > bn
        return TieArrays(keys, np.where(swap, bn, an), np.where(swap, an, bn),
                         np.where(swap, trust_b[new], trust_a[new]).astype(np.float64),
                         np.where(swap, trust_a[new], trust_b[new]).astype(np.float64),
                         np.full(len(new), month, dtype=np.int64))

    def stage(self, a: np.ndarray, b: np.ndarray, trust_a: np.ndarray, trust_b: np.ndarray, month: int):
        """Add ties for pairs that have none, as ``add(..., untied=True)``, but hold them back: the next
        :meth:`rewrite` merges them in its own pass (any read before it merges them first).

        Returns the held-back :class:`TieArrays`, keys ascending: the tie
        arrays' indices of the ties are unchanged until the merge, and new tie ``k`` is written at
        index ``k`` of these (see ``kernels.settle_games``).
        """
        self._flush()
        if len(a) == 0:
            return kernels.empty_ties(0)
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        self._staged = self._new_ties(a, b, trust_a, trust_b, month, np.arange(len(a)))
        self._added.append(self._staged.key)
        return self._staged

    def trust_of(self, idx: np.ndarray, who: np.ndarray) -> np.ndarray:
        """Trust that firm ``who`` holds in the other end of tie ``idx``."""
        return np.where(self.i[idx] == who, self.trust_ij[idx], self.trust_ji[idx])

    def set_trust_of(self, idx: np.ndarray, who: np.ndarray, value: np.ndarray) -> None:
        """Set the trust that ``who`` holds along tie ``idx`` (last write wins on repeats)."""
        is_i = self.i[idx] == who
        self.trust_ij[idx[is_i]] = value[is_i]
        self.trust_ji[idx[~is_i]] = value[~is_i]

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the ties where ``mask`` is true (order, hence sortedness, is kept)."""
        self._flush()
        if mask.all():
            return
        arrays, removed = kernels.keep_ties(mask, self._arrays())
        self._set_arrays(arrays)
        self._removed.append(removed)

    def rewrite(self, kernel, *args) -> None:
        """Let ``kernel(*args, ties, new)`` update the ties, merge in the new ties held back (``new``, empty
        if none; see :meth:`stage`) and drop some (order kept), in one pass: it returns the
        :class:`TieArrays` of the ties that stay and the keys of those that go (as :meth:`keep` with a
        mask it computes)."""
        if self._pending is not None:
            self._flush()
        staged = self._staged
        if len(self._i) == 0 and staged is None:
            return
        arrays, removed = kernel(*args, self._arrays(), kernels.empty_ties(0) if staged is None else staged)
        self._staged = None  # (only once merged: a failed kernel loses no tie)
        self._set_arrays(arrays)
        if len(removed):
            self._removed.append(removed)

    def take_changes(self) -> tuple[np.ndarray, np.ndarray]:
        """Sorted keys of the ties (added, removed) since the last call.

        A key can be in both (a tie removed and a new one made between the same slots).
        """
        self._flush()
        added, removed = _union(self._added), _union(self._removed)
        self._added, self._removed = [], []
        return added, removed

    def contains(self, keys: np.ndarray) -> np.ndarray:
        return sorted_member(self.key, keys)

    def drop_firms(self, dead: np.ndarray) -> None:
        """Remove every tie that touches a firm flagged in the boolean slot mask ``dead``.

        The removal is held back until the next ``add`` (one pass for both) or read.
        """
        self._flush()
        if len(self._i):
            keep = ~(dead[self._i] | dead[self._j])
            n_keep = int(np.count_nonzero(keep))
            if n_keep < len(keep):
                self._pending, self._n_pending = keep, len(keep) - n_keep

    def degree(self, capacity: int) -> np.ndarray:
        return (np.bincount(self.i, minlength=capacity) + np.bincount(self.j, minlength=capacity))

    def adjacency(self, capacity: int) -> kernels.Adjacency:
        """CSR adjacency over slots, both directions (:class:`model.kernels.Adjacency`).

        Built by a counting sort (O(ties + slots)); within a row, neighbours come
        in the order of the tie table (ties where the slot is ``i`` first). Kept
        until the ties change.
        """
        if self.has_adjacency(capacity):
            return self._adjacency[2]
        result = self._build_adjacency(capacity)
        self._adjacency = (self._version, capacity, result)
        return result

    def has_adjacency(self, capacity: int) -> bool:
        """Is the adjacency of the current ties (over ``capacity`` slots) at hand?"""
        version = self.version
        return self._adjacency is not None and self._adjacency[:2] == (version, capacity)

    def adjacency_of(self, slots: np.ndarray, capacity: int):
        """The rows of :meth:`adjacency` for ``slots`` (the other rows empty): the whole adjacency when it
        is at hand, else only these rows (cheaper to build when they are few)."""
        if self.has_adjacency(capacity):
            return self._adjacency[2]
        selected = np.zeros(capacity, dtype=bool)
        selected[slots] = True
        return kernels.adjacency_rows(selected, self.i, self.j)

    def _build_adjacency(self, capacity: int):
        return kernels.csr_adjacency(self.i, self.j, capacity)
