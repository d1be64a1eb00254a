"""Observation (DESIGN.md section 6): monthly series for the region and per cluster, snapshots.

``COLUMNS`` is a contract that analysis, tests and users rely on. Money
columns (``output``, ``exports``) are values in wage-months per month;
``output`` is the value of sales at home and abroad.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import kernels
from .state import sorted_member

COLUMNS = ("month", "firms", "employment", "output", "exports", "export_share", "mean_productivity",
           "entries", "exits", "mean_trust", "cooperation_rate", "joint_actions", "network_density",
           "mean_degree", "clustering_coefficient", "members_share", "gini_employment", "cda_phase",
           "cda_spent")


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = equal; 0 for fewer than two values)."""
    values = np.asarray(values)
    if values.dtype.kind in "iu" and len(values) >= 2:
        # integers (employees): from a histogram instead of a sort, the same exact integer sums
        n, total = len(values), int(values.sum())
        if total == 0:
            return 0.0
        weighted = int(_rank_weighted_sum(np.bincount(values)))
        return float(2.0 * float(weighted) / (n * float(total)) - (n + 1.0) / n)
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n < 2 or x.sum() == 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(2.0 * np.sum(i * x) / (n * x.sum()) - (n + 1.0) / n)


def _rank_weighted_sum(h: np.ndarray) -> np.ndarray:
    """Sum of rank x value over values sorted ascending, from a histogram ``h`` of non-negative integers
    (the last axis: counts of 0, 1, 2, ...): each value's ranks r0+1..r0+h summed at once (exact integers)."""
    r0 = np.cumsum(h, axis=-1) - h
    return ((h * r0 + h * (h + 1) // 2) * np.arange(h.shape[-1])).sum(axis=-1)


def triangles(ties, capacity: int) -> np.ndarray:
    """Number of triangles through every slot, counted from scratch.

    Triangles are counted on the degree-ordered orientation of the ties (each
    tie points from the lower- to the higher-ranked end), which keeps the
    sparse products small: a triangle u -> v -> w (with u -> w) is counted once
    at u and w by ``A o (A A)`` and once at its middle v by ``A' o (A A')``.
    """
    n_e = len(ties)
    if n_e == 0:
        return np.zeros(capacity, dtype=np.int64)
    deg = ties.degree(capacity)
    a, b = ties.i, ties.j
    forward = (deg[a] < deg[b]) | ((deg[a] == deg[b]) & (a < b))
    u = np.where(forward, a, b)
    w = np.where(forward, b, a)
    ones = np.ones(n_e, dtype=np.int64)
    up = sp.csr_matrix((ones, (u, w)), shape=(capacity, capacity))
    up_t = sp.csr_matrix((ones, (w, u)), shape=(capacity, capacity))
    ends = up.multiply(up @ up)
    middle = up_t.multiply(up @ up_t)
    return (np.asarray(ends.sum(axis=1)).ravel() + np.asarray(ends.sum(axis=0)).ravel()
            + np.asarray(middle.sum(axis=1)).ravel()).astype(np.int64)


def clustering_from(tri: np.ndarray, deg: np.ndarray) -> np.ndarray:
    """Local clustering coefficient (0 where degree < 2), as networkx defines it."""
    denom = deg * (deg - 1) / 2.0
    return np.divide(tri, denom, out=np.zeros(len(tri)), where=denom > 0)


def local_clustering(ties, capacity: int) -> np.ndarray:
    """Local clustering coefficient of every slot, counted from scratch."""
    return clustering_from(triangles(ties, capacity), ties.degree(capacity))


class TriangleCount:
    """Triangles through every slot, kept up to date from month to month.

    A cluster's ties change by a few per cent a month, so rather than count
    every triangle again, :meth:`update` removes the triangles that contained
    a tie that is gone and adds those that contain a new tie. The counts are
    exact integers, equal to :func:`triangles` (which the tests check).
    """

    def __init__(self):
        self.key = np.zeros(0, dtype=np.int64)
        self.offsets = np.zeros(1, dtype=np.int64)
        self.nbr = np.zeros(0, dtype=np.int64)
        self.count = np.zeros(0, dtype=np.int64)

    def update(self, ties, capacity: int) -> np.ndarray:
        if capacity > len(self.count):
            self.count = np.concatenate([self.count, np.zeros(capacity - len(self.count), dtype=np.int64)])
            self.offsets = np.concatenate(
                [self.offsets, np.full(capacity + 1 - len(self.offsets), self.offsets[-1])])
        key = ties.key
        added, removed = ties.take_changes()
        # removing the old ties that changed, then adding the new ones, goes from last month's graph to this one's
        removed = removed[sorted_member(self.key, removed)]
        added = added[ties.contains(added)]
        if len(removed) or len(added):
            offsets, nbr, _tie = ties.adjacency(capacity)
            if len(self.key) == 0 or len(removed) + len(added) > len(key) // 4:
                self.count = triangles(ties, capacity)
            else:
                gone = kernels.triangles_touching(removed, self.key, self.offsets, self.nbr, capacity)
                self.count = self.count - gone + kernels.triangles_touching(added, key, offsets, nbr, capacity)
            self.key, self.offsets, self.nbr = key, offsets, nbr  # (the tie table replaces its key array)
        return self.count


def _phase(model, clusters) -> tuple[str, float]:
    phase, spent = "none", 0.0
    for c in clusters:
        cda = model.cdas[c]
        if cda is None:
            continue
        spent += cda.spent
        if phase == "none" and cda.phase != "none":
            phase = cda.phase
    return phase, spent


def compute(model) -> tuple[dict, list[dict]]:
    """Region-level stats and a list of per-cluster rows for the current month."""
    f = model.firms
    ties = model.ties
    live = f.live()
    trust_sum, tie_count, degree = kernels.tie_totals(f.cluster, model.n_clusters, f.capacity, ties.i, ties.j,
                                                      ties.trust_ij, ties.trust_ji)
    clustering = clustering_from(model.triangle_count.update(ties, f.capacity), degree)
    games = model.month_log.get("games", np.zeros((4, model.n_clusters)))

    def row(sel_firms: np.ndarray, clusters: list[int]) -> dict:
        n = len(sel_firms)
        emp = f.employees[sel_firms]
        output = float(f.revenue[sel_firms].sum())
        exports = float(f.exports[sel_firms].sum())
        n_ties = int(tie_count[clusters].sum())
        g = games[:, clusters].sum(axis=1)
        phase, spent = _phase(model, clusters)
        if n_ties:
            mean_trust = float(trust_sum[clusters].sum() / (2 * n_ties))
        else:
            mean_trust = float(f.prior_trust[sel_firms].mean()) if n else 0.0
        return {
            "month": model.month,
            "firms": n,
            "employment": int(emp.sum()),
            "output": output,
            "exports": exports,
            "export_share": exports / output if output > 0 else 0.0,
            "mean_productivity": float(f.productivity[sel_firms].mean()) if n else 0.0,
            "entries": int(model.entries_by_cluster[clusters].sum()),
            "exits": int(model.exits_by_cluster[clusters].sum()),
            "mean_trust": mean_trust,
            "cooperation_rate": float(g[1] / g[0]) if g[0] > 0 else 0.0,
            "joint_actions": int(g[3]),
            "network_density": 2.0 * n_ties / (n * (n - 1)) if n > 1 else 0.0,
            "mean_degree": 2.0 * n_ties / n if n else 0.0,
            "clustering_coefficient": float(clustering[sel_firms].mean()) if n else 0.0,
            "members_share": float(f.member[sel_firms].mean()) if n else 0.0,
            "gini_employment": gini(emp),
            "cda_phase": phase,
            "cda_spent": spent,
        }

    all_clusters = list(range(model.n_clusters))
    region = row(live, all_clusters)
    if model.n_clusters > 1:
        # density of the region: ties can only form within a cluster, so pairs count within clusters
        counts = np.bincount(f.cluster[live], minlength=model.n_clusters)
        pairs = float((counts * (counts - 1) / 2).sum())
        region["network_density"] = float(tie_count.sum() / pairs) if pairs else 0.0
    if model.n_clusters == 1:
        return region, [{"cluster": model.params.clusters[0].name, **region}]
    return region, _cluster_rows(model, live, clustering, games, trust_sum, tie_count)


def _cluster_rows(model, live, clustering, games, trust_sum, tie_count) -> list[dict]:
    """The per-cluster rows of :func:`compute`, for every cluster at once (sums by cluster)."""
    f = model.firms
    k = model.n_clusters
    c = f.cluster[live]

    def total(values):
        return np.bincount(c, weights=values, minlength=k)

    n = np.bincount(c, minlength=k)
    some = np.maximum(n, 1)
    emp = f.employees[live]
    output, exports = total(f.revenue[live]), total(f.exports[live])
    # Gini per cluster: 2 sum(i x_i) / (n sum x) - (n + 1) / n over employees sorted within the cluster
    # (employees are integers: by a histogram per cluster, each size's ranks r0+1..r0+h summed at once;
    # the sums are exact integers, as when summed firm by firm after a sort)
    width = int(emp.max()) + 1 if len(emp) else 1
    h = np.bincount(c * width + emp, minlength=k * width).reshape(k, width)
    weighted = _rank_weighted_sum(h).astype(float)
    emp_sum = total(emp.astype(float))
    gini_c = np.divide(2.0 * weighted, n * emp_sum, out=np.zeros(k), where=(n >= 2) & (emp_sum > 0))
    gini_c = np.where((n >= 2) & (emp_sum > 0), gini_c - (n + 1.0) / some, 0.0)
    prior = total(f.prior_trust[live]) / some
    productivity, clustered = total(f.productivity[live]), total(clustering[live])
    members = total(f.member[live].astype(float))
    rows = []
    for j, spec in enumerate(model.params.clusters):
        phase, spent = _phase(model, [j])
        n_j, t_j = int(n[j]), int(tie_count[j])
        g = games[:, j]
        rows.append({
            "cluster": spec.name,
            "month": model.month,
            "firms": n_j,
            "employment": int(emp_sum[j]),
            "output": float(output[j]),
            "exports": float(exports[j]),
            "export_share": float(exports[j] / output[j]) if output[j] > 0 else 0.0,
            "mean_productivity": float(productivity[j] / n_j) if n_j else 0.0,
            "entries": int(model.entries_by_cluster[j]),
            "exits": int(model.exits_by_cluster[j]),
            "mean_trust": float(trust_sum[j] / (2 * t_j)) if t_j else (float(prior[j]) if n_j else 0.0),
            "cooperation_rate": float(g[1] / g[0]) if g[0] > 0 else 0.0,
            "joint_actions": int(g[3]),
            "network_density": 2.0 * t_j / (n_j * (n_j - 1)) if n_j > 1 else 0.0,
            "mean_degree": 2.0 * t_j / n_j if n_j else 0.0,
            "clustering_coefficient": float(clustered[j] / n_j) if n_j else 0.0,
            "members_share": float(members[j] / n_j) if n_j else 0.0,
            "gini_employment": float(gini_c[j]),
            "cda_phase": phase,
            "cda_spent": spent,
        })
    return rows


def snapshot(model) -> dict[str, pd.DataFrame]:
    """Agent-level state: firms (position, size, trust, ...) and ties, keyed by Mesa unique_id."""
    f = model.firms
    ties = model.ties
    live = f.live()
    uid = np.full(f.capacity, -1, dtype=np.int64)
    uid[live] = [model.firm_agent(s).unique_id for s in live]
    deg = ties.degree(f.capacity)
    trust_out = np.bincount(ties.i, weights=ties.trust_ij, minlength=f.capacity) + np.bincount(
        ties.j, weights=ties.trust_ji, minlength=f.capacity)
    firms = pd.DataFrame({
        "month": model.month,
        "unique_id": uid[live],
        "cluster": f.cluster[live],
        "x": f.x[live], "y": f.y[live],
        "employees": f.employees[live],
        "capital": f.capital[live],
        "revenue": f.revenue[live],
        "productivity": f.productivity[live],
        "cash": f.cash[live],
        "age": f.age[live],
        "birth_month": f.birth_month[live],
        "exporter": f.exporter[live],
        "member": f.member[live],
        "trust_in_cda": f.trust_cda[live],
        "degree": deg[live],
        "mean_tie_trust": np.divide(trust_out[live], deg[live], out=np.full(len(live), np.nan),
                                    where=deg[live] > 0),
        "recent_joint_actions": (f.discount_until[live] >= model.month) | (f.subcontract_until[live] >= model.month),
    })
    tie_df = pd.DataFrame({
        "month": model.month,
        "firm_a": uid[ties.i], "firm_b": uid[ties.j],
        "trust_ab": ties.trust_ij.copy(), "trust_ba": ties.trust_ji.copy(),
        "last_interaction": ties.last.copy(),
    })
    return {"firms": firms, "ties": tie_df, "places": places(model)}


def places(model) -> pd.DataFrame:
    """Towns, institutions, suppliers and CDAs with their cells, for maps."""
    r = model.region
    rows = [{"kind": "town", "name": n, "x": int(xy[0]), "y": int(xy[1]), "cluster": -1}
            for n, xy in zip(r.town_names, r.town_xy)]
    for inst in model.institutions:
        rows.append({"kind": inst.kind, "name": inst.kind.replace("_", " "), "x": int(inst.cell.coordinate[0]),
                     "y": int(inst.cell.coordinate[1]), "cluster": inst.cluster})
    for sup in model.suppliers:
        rows.append({"kind": f"supplier_{sup.kind}", "name": f"{sup.kind.replace('_', ' ')} supplier",
                     "x": int(sup.cell.coordinate[0]), "y": int(sup.cell.coordinate[1]), "cluster": sup.cluster})
    for cda in model.cdas:
        if cda is not None and cda.phase != "none":
            rows.append({"kind": "cda", "name": "CDA", "x": int(cda.town_xy[0]), "y": int(cda.town_xy[1]),
                         "cluster": cda.cluster})
    return pd.DataFrame(rows)
