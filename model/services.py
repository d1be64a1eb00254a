"""Support services (5.4): requests by need, capacity-limited service, effects, awareness spread."""

from __future__ import annotations

import numpy as np

from . import kernels
from .agents import INSTITUTION_KINDS

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
    """Step 4: awareness spreads through ties; firms request services; institutions serve."""
    spread_awareness(model)
    p = model.params
    f = model.firms
    t = model.month
    rng = model.streams["services"]
    live = f.live()
    for inst in model.institutions:
        inst.served_last_month = 0
    if len(live) == 0 or not model.institutions:
        return
    a = f.productivity[live]
    c = f.cluster[live]
    median = group_median(a, c, model.n_clusters)
    wage_bill = p.wage * f.employees[live]
    thr = np.array([s.export_threshold for s in p.clusters])[c]
    tie_break = rng.random(len(live))
    promoted = rng.random(len(live))
    requests = {
        # kind(s): (requesting, need): higher need is served first
        (TRAINING,): (a < median[c], median[c] - a),
        (CREDIT,): ((f.cash[live] < p.cash_buffer_months * wage_bill) & (f.margin[live] > 0)
                    & (f.loan_left[live] == 0), -f.cash[live] / wage_bill),
        (TECHNOLOGY,): ((f.margin[live] > 0.05) & (a >= median[c]), f.margin[live]),
        (PARKS, BSP): ((~f.exporter[live]) & (a > 0.85 * thr), a / thr),
    }
    cols_of = _request_columns(model)
    for kinds, (want, need) in requests.items():
        cols = cols_of[kinds]
        req = np.flatnonzero(want)
        if len(req) == 0 or len(cols) == 0:
            continue
        first = kernels.first_known(live[req], f.aware, cols)  # the first institution it knows of
        has = first >= 0
        req = req[has]
        inst = model.cluster_institutions[c[req], first[has]]
        # each institution serves up to its capacity, the neediest first (ties broken at random)
        served = kernels.served_first(inst, model.inst_capacity, -need[req], tie_break[req])
        req, inst = req[served], inst[served]
        slots = live[req]
        count = np.bincount(inst, minlength=len(model.institutions))
        for k_inst in np.flatnonzero(count):
            model.institutions[k_inst].served_last_month = int(count[k_inst])
        f.cash[slots] -= model.inst_fee[inst]
        q = model.inst_quality[inst]
        if kinds == (TRAINING,):
            f.productivity[slots] *= 1.0 + p.training_gain * q
        elif kinds == (TECHNOLOGY,):
            f.productivity[slots] *= 1.0 + p.technology_gain * q
        elif kinds == (CREDIT,):
            amount = p.loan_size_months * wage_bill[req]
            f.cash[slots] += amount
            f.loan_payment[slots] = amount * (1.0 + 0.01 * p.loan_months) / p.loan_months
            f.loan_left[slots] = p.loan_months
        else:
            win = promoted[req] < q
            f.export_until[slots[win]] = np.maximum(f.export_until[slots[win]], t + p.export_promotion_months)


def _request_columns(model) -> dict:
    """Per kind of request, the columns (links of the firm's own cluster) of the institutions that serve it."""
    cache = getattr(model, "_request_cols", None)
    if cache is None:
        kinds = ((TRAINING,), (CREDIT,), (TECHNOLOGY,), (PARKS, BSP))
        cache = {k: np.flatnonzero(np.isin(model.local_inst_kind, k)) for k in kinds}
        model._request_cols = cache
    return cache


def spread_awareness(model) -> None:
    """Each tie passes on awareness of an institution or supplier with a small monthly chance."""
    p = model.params
    f = model.firms
    ties = model.ties
    rng = model.streams["services"]
    if len(ties) == 0 or p.awareness_spread == 0:
        return
    # only pairs where one end knows and the other does not can pass anything on
    rows, cols = kernels.awareness_differences(f.aware, ties.i, ties.j)
    passed = rng.random(len(rows)) < p.awareness_spread
    rows, cols = rows[passed], cols[passed]
    # whichever end did not know learns it
    learner = np.where(f.aware[ties.i[rows], cols], ties.j[rows], ties.i[rows])
    f.aware[learner, cols] = True
