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
from .kernels import KEY_BASE  # tie key = i * KEY_BASE + j

# field: (dtype, fill value for a free slot)
FIRM_FIELDS: dict[str, tuple[type, float]] = {
    "alive": (bool, False),
    "cluster": (np.int64, -1),
    "x": (np.int64, 0),
    "y": (np.int64, 0),
    "town": (np.int64, -1),
    "employees": (np.int64, 0),
    "capital": (np.float64, 0.0),
    "productivity": (np.float64, 0.0),
    "cash": (np.float64, 0.0),
    "age": (np.int64, 0),
    "birth_month": (np.int64, 0),
    "propensity": (np.float64, 0.0),   # cooperation propensity, fixed trait 0..1
    "prior_trust": (np.float64, 0.0),  # trust in a stranger, fixed trait 0..1
    "trust_cda": (np.float64, 0.0),
    "exporter": (bool, False),
    "member": (bool, False),           # association member
    "revenue": (np.float64, 0.0),
    "profit": (np.float64, 0.0),
    "margin": (np.float64, 0.0),       # smoothed profit / revenue
    "output": (np.float64, 0.0),
    "exports": (np.float64, 0.0),
    "loan_payment": (np.float64, 0.0),
    "loan_left": (np.int64, 0),        # months of repayment left
    "discount_until": (np.int64, -1),  # joint purchasing discount valid through this month
    "export_until": (np.int64, -1),    # export access (marketing, promotion) through this month
    "subcontract_until": (np.int64, -1),
    "purchasing_group": (np.int64, -1),
    "marketing_group": (np.int64, -1),
    "consortium": (np.int64, -1),
    "facility_user": (bool, False),
    "supplier": (np.int64, -1),        # raw-material supplier used, -1 = open market
}


class FirmTable:
    """Struct of arrays over firm slots, with an alive mask and free-slot reuse."""

    def __init__(self, capacity: int, n_links: int):
        self.capacity = max(16, int(capacity))
        for name, (dtype, fill) in FIRM_FIELDS.items():
            setattr(self, name, np.full(self.capacity, fill, dtype=dtype))
        # awareness of each support institution and supplier (the "links")
        self.aware = np.zeros((self.capacity, max(n_links, 1)), dtype=bool)

    def live(self) -> np.ndarray:
        """Slot indices of live firms, ascending."""
        return np.flatnonzero(self.alive)

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
        return taken

    def release(self, slots: np.ndarray) -> None:
        """Free slots of exited firms and reset their state."""
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


def sorted_member(sorted_keys: np.ndarray, q: np.ndarray) -> np.ndarray:
    """For each of ``q``: is it in the ascending array ``sorted_keys``? (binary search)"""
    if len(sorted_keys) == 0 or len(q) == 0:
        return np.zeros(len(q), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, q), len(sorted_keys) - 1)
    return sorted_keys[pos] == q




class TieTable:
    """Undirected inter-firm ties with directed trust, as compact edge arrays.

    ``i < j`` for every tie; ``trust_ij`` is i's trust in j, ``trust_ji`` j's in i;
    ``last`` the month of the last interaction. Ties are kept sorted by
    ``(i, j)``, so that a pair is found by binary search and removing ties
    (which keeps the order) never needs a sort.
    """

    def __init__(self):
        self.i = np.zeros(0, dtype=np.int64)
        self.j = np.zeros(0, dtype=np.int64)
        self.trust_ij = np.zeros(0)
        self.trust_ji = np.zeros(0)
        self.last = np.zeros(0, dtype=np.int64)
        self.key = np.zeros(0, dtype=np.int64)  # i * 2**32 + j, ascending
        self.version = 0  # bumped whenever ties are added or removed
        self._added: list[np.ndarray] = []  # keys added and removed since take_changes()
        self._removed: list[np.ndarray] = []
        self._adjacency = None

    def __len__(self) -> int:
        return len(self.i)

    @staticmethod
    def keys(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        return lo * KEY_BASE + hi

    def find(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Tie index of each pair (a[k], b[k]), or -1 where there is none."""
        if len(self.i) == 0 or len(a) == 0:
            return np.full(len(a), -1, dtype=np.int64)
        q = self.keys(np.asarray(a), np.asarray(b))
        pos = np.minimum(np.searchsorted(self.key, q), len(self.key) - 1)
        return np.where(self.key[pos] == q, pos, -1)

    def add(self, a: np.ndarray, b: np.ndarray, trust_a: np.ndarray, trust_b: np.ndarray,
            month: int, *, untied: bool = False) -> np.ndarray | None:
        """Add ties for pairs that have none (duplicates within the call are merged).

        ``trust_a`` is a's trust in b. Returns the tie index of every pair, old or new
        (indices of existing ties shift when new ones are inserted before them).
        ``untied=True``: the caller knows that no pair has a tie yet (nor is a firm with
        itself); the pairs are not looked up, before or after, and None is returned.
        """
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        if len(a) == 0:
            return None if untied else np.zeros(0, dtype=np.int64)
        if untied:
            idx, new = None, np.arange(len(a))
        else:
            idx = self.find(a, b)
            new = np.flatnonzero((idx < 0) & (a != b))
        if len(new):
            keys, first = np.unique(self.keys(a[new], b[new]), return_index=True)
            new = new[first]  # one per pair, in key order
            an, bn = a[new], b[new]
            swap = an > bn
            (self.key, self.i, self.j, self.trust_ij, self.trust_ji, self.last) = kernels.merge_ties(
                self.key, self.i, self.j, self.trust_ij, self.trust_ji, self.last,
                keys, np.where(swap, bn, an), np.where(swap, an, bn),
                np.where(swap, trust_b[new], trust_a[new]).astype(np.float64),
                np.where(swap, trust_a[new], trust_b[new]).astype(np.float64),
                np.full(len(new), month, dtype=np.int64))
            self._added.append(keys)
            self.version += 1
            if not untied:
                idx = self.find(a, b)
        return idx

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
        if mask.all():
            return
        (self.key, self.i, self.j, self.trust_ij, self.trust_ji, self.last, removed) = kernels.keep_ties(
            mask, self.key, self.i, self.j, self.trust_ij, self.trust_ji, self.last)
        self._removed.append(removed)
        self.version += 1

    def take_changes(self) -> tuple[np.ndarray, np.ndarray]:
        """Sorted keys of the ties (added, removed) since the last call.

        A key can be in both (a tie removed and a new one made between the same slots).
        """
        added = np.unique(np.concatenate(self._added)) if self._added else np.zeros(0, dtype=np.int64)
        removed = np.unique(np.concatenate(self._removed)) if self._removed else np.zeros(0, dtype=np.int64)
        self._added, self._removed = [], []
        return added, removed

    def contains(self, keys: np.ndarray) -> np.ndarray:
        return sorted_member(self.key, keys)

    def drop_firms(self, dead: np.ndarray) -> None:
        """Remove every tie that touches a firm flagged in the boolean slot mask ``dead``."""
        if len(self.i):
            self.keep(~(dead[self.i] | dead[self.j]))

    def degree(self, capacity: int) -> np.ndarray:
        return (np.bincount(self.i, minlength=capacity) + np.bincount(self.j, minlength=capacity))

    def adjacency(self, capacity: int):
        """CSR adjacency over slots, both directions: (offsets, neighbour).

        Built by a counting sort (O(ties + slots)); within a row, neighbours come
        in the order of the tie table (ties where the slot is ``i`` first). Kept
        until the ties change.
        """
        if self._adjacency is not None and self._adjacency[:2] == (self.version, capacity):
            return self._adjacency[2]
        result = self._build_adjacency(capacity)
        self._adjacency = (self.version, capacity, result)
        return result

    def _build_adjacency(self, capacity: int):
        return kernels.csr_adjacency(self.i, self.j, capacity)
