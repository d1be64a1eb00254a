"""Support services (5.4): requests by need, capacity-limited service, effects, awareness spread."""

from __future__ import annotations

import numpy as np

from . import keyed, kernels
from .params import INSTITUTION_KINDS

TRAINING = INSTITUTION_KINDS.index("training_centre")
CREDIT = INSTITUTION_KINDS.index("credit_fund")
TECHNOLOGY = INSTITUTION_KINDS.index("university")
PARKS = INSTITUTION_KINDS.index("industrial_parks_company")
BSP = INSTITUTION_KINDS.index("business_service_provider")


def group_median(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of ``values`` in each group 0..n_groups-1 (0 for an empty group), as np.median gives it."""
    # the one or two middle values of each group by selection (numpy's partition is much faster than a sort)
    group = np.asarray(group, dtype=np.int64)
    bucket = np.asarray(values, dtype=np.float64)[kernels.group_order(group, n_groups)]
    start = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=n_groups))])
    out = np.zeros(n_groups)
    for g in np.flatnonzero(start[1:] > start[:-1]):
        seg = bucket[start[g]:start[g + 1]]
        m = len(seg)
        seg.partition([(m - 1) // 2, m // 2])
        out[g] = seg[m // 2] if m % 2 == 1 else (seg[(m - 1) // 2] + seg[m // 2]) / 2
    return out


def serve(model) -> None:
    """Step 4: awareness spreads through ties; firms request services; institutions serve.

    Requests, each to the first institution of the kind that the firm knows of
    (higher need first; capacity-limited): training when productivity is below
    the cluster's median; credit when cash is below the buffer, the margin
    positive and no loan running; technology when the margin is above 0.05 and
    productivity at or above the median; parks and business services (export
    promotion) for a non-exporter above 0.85 of the export threshold.
    """
    spread_awareness(model)
    p = model.params
    f = model.firms
    live = f.live()
    for inst in model.institutions:
        inst.served_last_month = 0
    if len(live) == 0 or not model.institutions:
        return
    a = f.productivity[live]
    c = f.cluster[live]
    median = group_median(a, c, model.n_clusters)[c]
    wage_bill = p.wage * f.employees[live]
    thr = np.array([s.export_threshold for s in p.clusters])[c]
    tie_break, promoted = keyed.firm_uniforms(model, "services", live, 2)
    margin, cash = f.margin[live], f.cash[live]
    want = np.stack([
        a < median,
        (cash < p.cash_buffer_months * wage_bill) & (margin > 0) & (f.loan_left[live] == 0),
        (margin > 0.05) & (a >= median),
        (~f.exporter[live]) & (a > 0.85 * thr),
    ])
    need = np.stack([median - a, -cash / wage_bill, margin, a / thr])
    cols, n_cols = model.request_columns
    requests = kernels.Requests(want=want, need=need, tie_break=tie_break, promoted=promoted, wage_bill=wage_bill)
    institutions = kernels.Institutions(of_cluster=model.cluster_institutions, kind_cols=cols, kind_n_cols=n_cols,
                                        capacity=model.inst_capacity, fee=model.inst_fee, quality=model.inst_quality)
    terms = kernels.ServiceTerms(
        month=model.month, training_gain=p.training_gain, technology_gain=p.technology_gain,
        loan_size_months=p.loan_size_months, loan_repay_factor=1.0 + 0.01 * p.loan_months, loan_months=p.loan_months,
        export_promotion_months=p.export_promotion_months)
    count = kernels.serve_requests(live, f.arrays(), requests, institutions, terms)
    for k_inst in np.flatnonzero(count):
        model.institutions[k_inst].served_last_month = int(count[k_inst])


def request_columns(inst_kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per kind of request (training, credit, technology, parks and business services), the columns (links
    of the firm's own cluster, whose institutions are of kinds ``inst_kind``) of the institutions that serve
    it: a row per kind, padded, and each row's length."""
    kinds = ((TRAINING,), (CREDIT,), (TECHNOLOGY,), (PARKS, BSP))
    rows = [np.flatnonzero(np.isin(inst_kind, k)) for k in kinds]
    cols = np.full((len(rows), max(1, max(len(r) for r in rows))), -1, dtype=np.int64)
    for k, r in enumerate(rows):
        cols[k, :len(r)] = r
    return cols, np.array([len(r) for r in rows], dtype=np.int64)


def spread_awareness(model) -> None:
    """Each tie passes on awareness of an institution or supplier with a small monthly chance."""
    p = model.params
    f = model.firms
    ties = model.ties
    if len(ties) == 0 or p.awareness_spread == 0:
        return
    # only pairs where one end knows and the other does not can pass anything on
    rows, cols = kernels.awareness_differences(f.aware, ties.i, ties.j)
    # keyed on the tie's two firms and the link
    uid = f.uid
    passed = keyed.pair_uniforms(model.seed, keyed.code("awareness"), model.month, uid[ties.i[rows]] ^ cols,
                                 uid[ties.j[rows]], 0) < p.awareness_spread
    rows, cols = rows[passed], cols[passed]
    # whichever end did not know learns it
    learner = np.where(f.aware[ties.i[rows], cols], ties.j[rows], ties.i[rows])
    f.aware[learner, cols] = True
