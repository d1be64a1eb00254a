"""Compiled kernels (numba) for the loops that NumPy cannot express in a few passes.

Each kernel computes exactly what the NumPy code it replaced computed (the same
integers; floating-point operations in the same order), so results do not
depend on whether a kernel is used. Compiled code is cached on disk beside
this file (numba's ``cache=True``): the first run on a machine compiles for a
few seconds, later runs load it.
"""

from __future__ import annotations

import numba
import numpy as np

KEY_BASE = np.int64(1) << 32  # tie key = i * KEY_BASE + j (as in model.state)

_jit = numba.njit(cache=True, nogil=True)


@_jit
def _contains(sorted_keys, q):
    """Is ``q`` in the ascending array ``sorted_keys``? (binary search)"""
    lo, hi = 0, len(sorted_keys)
    while lo < hi:
        mid = (lo + hi) >> 1
        if sorted_keys[mid] < q:
            lo = mid + 1
        else:
            hi = mid
    return lo < len(sorted_keys) and sorted_keys[lo] == q


@_jit
def csr_adjacency(i, j, capacity):
    """CSR adjacency over slots of the undirected ties (i[k], j[k]), both directions.

    Returns (offsets, neighbour, tie index). Within a row, entries come in the
    order of a stable sort of the sources ``concatenate([i, j])``: first the
    ties where the slot is ``i`` (in tie order), then those where it is ``j``.
    """
    n = len(i)
    counts = np.zeros(capacity + 1, dtype=np.int64)
    for k in range(n):
        counts[i[k] + 1] += 1
        counts[j[k] + 1] += 1
    offsets = np.cumsum(counts)
    fill = offsets[:-1].copy()
    nbr = np.empty(2 * n, dtype=np.int64)
    tie = np.empty(2 * n, dtype=np.int64)
    for k in range(n):
        a = i[k]
        nbr[fill[a]] = j[k]
        tie[fill[a]] = k
        fill[a] += 1
    for k in range(n):
        b = j[k]
        nbr[fill[b]] = i[k]
        tie[fill[b]] = k
        fill[b] += 1
    return offsets, nbr, tie


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
    for e in range(len(changed)):
        own = changed[e]
        lo = own // KEY_BASE
        hi = own - lo * KEY_BASE
        if offsets[lo + 1] - offsets[lo] <= offsets[hi + 1] - offsets[hi]:
            x, y = lo, hi
        else:
            x, y = hi, lo
        for k in range(offsets[x], offsets[x + 1]):
            w = nbr[k]
            if w == y:
                continue
            yw = min(y, w) * KEY_BASE + max(y, w)
            if not _contains(key, yw):
                continue
            xw = min(x, w) * KEY_BASE + max(x, w)
            if (xw < own and _contains(changed, xw)) or (yw < own and _contains(changed, yw)):
                continue
            out[lo] += 1
            out[hi] += 1
            out[w] += 1
    return out
