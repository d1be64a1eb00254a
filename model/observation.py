"""Observation (DESIGN.md section 6): monthly series for the region and per cluster, snapshots.

``COLUMNS`` is a contract that analysis, tests and users rely on: the names of
``conf/outcomes.yaml``, the one table of outcomes, in its order. Money
columns (``output``, ``exports``) are values in wage-months per month;
``output`` is the value of sales at home and abroad.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from conf import outcomes

from . import kernels
from .state import sorted_member

COLUMNS = tuple(outcomes())  # the outcomes' table, conf/outcomes.yaml (names, labels, units), in order


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = equal; 0 for fewer than two values)."""
    values = np.asarray(values)
    if values.dtype.kind in "iu" and len(values) >= 2:
        # integers (employees): from a histogram instead of a sort, the same exact integer sums
        n, total = len(values), int(values.sum())
        if total == 0:
            return 0.0
        weighted = int(_rank_weighted_sum(np.bincount(values)))
        return float(_gini(float(weighted), n, float(total)))
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n < 2 or x.sum() == 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(_gini(np.sum(i * x), n, x.sum()))


def _gini(weighted, n, total):
    """The Gini coefficient of ``n`` values summing to ``total``, from the sum of rank x value over the
    values sorted ascending (ranks from 1); vectorised over clusters too."""
    return 2.0 * weighted / (n * total) - (n + 1.0) / n


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


def compute(model) -> tuple[dict, list[dict]]:
    """Region-level stats and a list of per-cluster rows for the current month.

    The per-cluster totals are computed once (:func:`_cluster_totals`) and the region's row is
    aggregated from them, but for four columns: ``output``, ``exports``, ``mean_productivity`` and
    ``clustering_coefficient`` (and ``mean_trust`` when there is no tie) are sums or means of
    floats over every firm, which a sum of per-cluster sums gives only up to rounding; the region's
    are summed over its firms directly, so that its series stays bit for bit what it was. The
    other columns aggregate exactly (counts, integer sums and the sums of the tie kernel).
    """
    f = model.firms
    ties = model.ties
    live = f.live()
    trust_sum, tie_count, degree = kernels.tie_totals(f.cluster, model.n_clusters, f.capacity, ties.i, ties.j,
                                                      ties.trust_ij, ties.trust_ji)
    clustering = clustering_from(model.triangle_count.update(ties, f.capacity), degree)
    games = model.month_log.get("games", np.zeros((4, model.n_clusters)))
    per = _cluster_totals(model, live, clustering, rows=model.n_clusters > 1)
    n, n_ties = int(per["firms"].sum()), int(tie_count.sum())
    # every column that aggregates exactly comes from the per-cluster totals
    h = per["histogram"].sum(axis=0)  # the region's histogram of employees
    total = per["employment"].sum()
    gini_region = float(_gini(_rank_weighted_sum(h).astype(float), n, total)) if n >= 2 and total > 0 else 0.0
    spent = 0.0
    for amount in per["spent"]:  # (in turn: Python's sum() of floats is compensated, a different rounding)
        spent += amount
    phase = next((ph for ph in per["phase"] if ph != "none"), "none")
    if n_ties:
        mean_trust = float(trust_sum.sum() / (2 * n_ties))
    else:  # (direct: see above)
        mean_trust = float(f.prior_trust[live].mean()) if n else 0.0
    region = _row(model.month, firms=n, employment=total, output=float(f.revenue[live].sum()),
                  exports=float(f.exports[live].sum()),
                  mean_productivity=float(f.productivity[live].mean()) if n else 0.0,
                  entries=model.entries_by_cluster.sum(), exits=model.exits_by_cluster.sum(), mean_trust=mean_trust,
                  games=games.sum(axis=1), n_ties=n_ties, pairs=per["pairs"].sum(),
                  clustering=float(clustering[live].mean()) if n else 0.0,
                  members_share=float(per["members"].sum() / n) if n else 0.0, gini=gini_region, phase=phase,
                  spent=spent)
    if model.n_clusters == 1:  # the one cluster is the region (its sums over firms included)
        return region, [{"cluster": model.params.clusters[0].name, **region}]
    rows = []
    for j, spec in enumerate(model.params.clusters):
        n_j, t_j = int(per["firms"][j]), int(tie_count[j])
        if t_j:
            trust_j = float(trust_sum[j] / (2 * t_j))
        else:
            trust_j = float(per["prior_trust"][j] / n_j) if n_j else 0.0
        rows.append({"cluster": spec.name, **_row(
            model.month, firms=n_j, employment=per["employment"][j], output=float(per["output"][j]),
            exports=float(per["exports"][j]), mean_productivity=float(per["productivity"][j] / n_j) if n_j else 0.0,
            entries=model.entries_by_cluster[j], exits=model.exits_by_cluster[j], mean_trust=trust_j,
            games=games[:, j], n_ties=t_j, pairs=per["pairs"][j],
            clustering=float(per["clustering"][j] / n_j) if n_j else 0.0,
            members_share=float(per["members"][j] / n_j) if n_j else 0.0, gini=float(per["gini"][j]),
            phase=per["phase"][j], spent=per["spent"][j])})
    return region, rows


def _row(month, *, firms, employment, output, exports, mean_productivity, entries, exits, mean_trust, games,
         n_ties, pairs, clustering, members_share, gini, phase, spent) -> dict:
    """One row of :data:`COLUMNS` from a cluster's or the region's totals and means (``games``: choices,
    cooperative choices, games, joint actions; ``pairs``: pairs of firms that could be tied)."""
    firms = int(firms)
    return {
        "month": month,
        "firms": firms,
        "employment": int(employment),
        "output": output,
        "exports": exports,
        "export_share": exports / output if output > 0 else 0.0,
        "mean_productivity": mean_productivity,
        "entries": int(entries),
        "exits": int(exits),
        "mean_trust": mean_trust,
        "cooperation_rate": float(games[1] / games[0]) if games[0] > 0 else 0.0,
        "joint_actions": int(games[3]),
        # ties form only within a cluster, so the region's pairs are those within its clusters
        "network_density": float(n_ties / pairs) if pairs else 0.0,
        "mean_degree": 2.0 * n_ties / firms if firms else 0.0,
        "clustering_coefficient": clustering,
        "members_share": members_share,
        "gini_employment": gini,
        "cda_phase": phase,
        "cda_spent": spent,
    }


def _cluster_totals(model, live, clustering, rows: bool) -> dict:
    """Per cluster (arrays or lists indexed by cluster): the counts and integer sums the region's row
    aggregates, the histogram of employees and the CDA's phase and spending; with ``rows``, also the sums
    of floats and the Gini that only the clusters' own rows need."""
    f = model.firms
    k = model.n_clusters
    c = f.cluster[live]

    def total(values):
        return np.bincount(c, weights=values, minlength=k)

    # the histogram of employees per cluster gives the counts of firms and workers, and the Gini (exact integers)
    emp = f.employees[live]
    width = int(emp.max()) + 1 if len(emp) else 1
    h = np.bincount(emp if k == 1 else c * width + emp, minlength=k * width).reshape(k, width)
    n = h.sum(axis=1)
    out = {
        "firms": n, "employment": (h @ np.arange(width)).astype(float), "histogram": h,
        "members": np.bincount(c[f.member[live]], minlength=k), "pairs": n * (n - 1) / 2,
        "phase": ["none" if cda is None else cda.phase for cda in model.cdas],
        "spent": [0.0 if cda is None else cda.spent for cda in model.cdas],
    }
    if rows:
        # Gini per cluster: 2 sum(i x_i) / (n sum x) - (n + 1) / n over employees sorted within the cluster
        # (employees are integers: by a histogram per cluster, each size's ranks r0+1..r0+h summed at once;
        # the sums are exact integers, as when summed firm by firm after a sort)
        weighted = _rank_weighted_sum(out["histogram"]).astype(float)
        some = (n >= 2) & (out["employment"] > 0)  # (elsewhere 0; the 1s keep the division clear of 0)
        out["gini"] = np.where(some, _gini(weighted, np.where(some, n, 1), np.where(some, out["employment"], 1.0)),
                               0.0)
        out.update(output=total(f.revenue[live]), exports=total(f.exports[live]),
                   productivity=total(f.productivity[live]), prior_trust=total(f.prior_trust[live]),
                   clustering=total(clustering[live]))
    return out


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
        "uid": f.uid[live],
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
        "reached": f.reached[live],
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
