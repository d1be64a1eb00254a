"""Production and sales (5.5), learning (5.6) and growth (5.7), vectorised over firms.

Output ``q = scale_c * A * L**alpha * K**beta``: ``A`` is a firm's relative
productivity (state ``productivity``; the initial median is 1) and ``scale_c``
the cluster's constant set at initialisation (``initial_productivity``). Each
firm's product is a variety of the cluster's good (monopolistic competition),
which bounds firm size by demand as well as by decreasing returns. Money is in
wage-months.
"""

from __future__ import annotations

import numpy as np

from . import kernels


_SOLVED: dict = {}  # recent results of initial_productivity, by their inputs
_SOLVED_KEPT = 64


def initial_productivity(p, specs, employees, capital):
    """``solve_initial_productivity``, remembered for the last 64 inputs.

    A sweep builds the same seed's firms once per policy (the policy does not
    enter); a worker process that has solved them for one policy reuses the
    result (about 20 ms of the 35 ms a 500-firm run takes to start). The
    arrays returned are read-only.
    """
    key = (p.variety_elasticity, p.wage, p.alpha, p.beta, p.transport_cost,
           tuple((spec.input_share, spec.price) for spec in specs),
           tuple(np.asarray(e, dtype=float).tobytes() for e in employees),
           tuple(np.asarray(c, dtype=float).tobytes() for c in capital))
    out = _SOLVED.get(key)
    if out is None:
        out = solve_initial_productivity(p, specs, employees, capital)
        for productivity, _scale in out:
            productivity.setflags(write=False)
        if len(_SOLVED) >= _SOLVED_KEPT:
            del _SOLVED[next(iter(_SOLVED))]
        _SOLVED[key] = out
    return out


def solve_initial_productivity(p, specs, employees, capital):
    """Productivities at which every initial firm is at its optimal size, and each cluster's scale.

    For several clusters at once: ``specs``, ``employees`` and ``capital`` are
    lists with one entry per cluster; returns a list of (productivity, scale).

    A firm's product is a variety of the cluster's good: its revenue is
    ``P * Q * q**rho / sum(q**rho)`` with rho = 1 - 1/sigma, so with u = q / qbar
    it is ``kappa * P * qbar * u**rho``, kappa = 1 / mean(u**rho). Its marginal
    revenue product of labour is ``MRPL = alpha / L * (rho * revenue - input_cost)``.
    For each firm this solves MRPL = wage for u (on the branch where the optimum
    is stable), with ``qbar`` and ``kappa`` a fixed point per cluster (shares
    average 1); then sets ``scale`` so that the median productivity is 1. The
    optimum depends on a firm only through its size, so it is solved once per
    distinct size, for every cluster together.
    """
    sigma = p.variety_elasticity
    c1 = 1.0 - 1.0 / sigma
    k = len(specs)
    L = [np.asarray(e, dtype=float) for e in employees]
    uniq = [np.unique(e, return_inverse=True) for e in L]
    sizes = np.concatenate([s for s, _ in uniq])
    owner = np.repeat(np.arange(k), [len(s) for s, _ in uniq])
    bounds = np.concatenate([[0], np.cumsum([len(s) for s, _ in uniq])])
    s_in = np.array([spec.input_share * (1.0 + 0.5 * p.transport_cost) for spec in specs])
    price = np.array([spec.price for spec in specs])
    qbar, kappa, step = np.ones(k), np.ones(k), np.full(k, 0.5)
    active = np.ones(k, dtype=bool)
    u = [np.zeros(0)] * k
    for iteration in range(600):
        # MRPL = wage  <=>  g(u) = c1 u^c1 - (s / kappa) u = wage L / (alpha P qbar kappa)
        el = np.flatnonzero(active[owner])
        o = owner[el]
        s_k = (s_in / kappa)[o]
        rhs = p.wage * sizes[el] / (p.alpha * price[o] * qbar[o] * kappa[o])
        lo, hi = np.zeros(len(el)), (c1 * c1 / s_k) ** sigma  # g peaks at hi
        mid = 0.5 * (lo + hi)
        for _ in range(60):  # bisection on the increasing branch of g
            # NumPy's power (its SIMD code can differ from numba's in the last bit); the rest compiled
            kernels.bisection_round(c1, mid ** c1, s_k, rhs, lo, hi, mid)
        solved = np.zeros(len(sizes))
        solved[el] = mid
        if iteration and iteration % 100 == 0:
            step *= 0.5
        for c in np.flatnonzero(active):
            u[c] = solved[bounds[c]:bounds[c + 1]][uniq[c][1]]
            ratio = u[c].mean()
            kappa_new = 1.0 / np.mean((u[c] / ratio) ** c1)
            if abs(ratio - 1.0) < 1e-10 and abs(kappa_new / kappa[c] - 1.0) < 1e-10:
                active[c] = False
                continue
            # damped (geometric half-steps): the undamped iteration oscillates; when big firms sit at
            # the top of g (no interior optimum) even half-steps can cycle, so the step shrinks every
            # 100 rounds
            if step[c] == 0.5:
                qbar[c] *= np.sqrt(ratio)
                kappa[c] = np.sqrt(kappa[c] * kappa_new)
            else:
                qbar[c] *= ratio ** step[c]
                kappa[c] = kappa[c] ** (1.0 - step[c]) * kappa_new ** step[c]
        if not active.any():
            break
    out = []
    for c in range(k):
        raw = u[c] * qbar[c] / (L[c] ** p.alpha * np.asarray(capital[c]) ** p.beta)
        scale = float(np.median(raw))
        out.append((raw / scale, scale))
    return out


def _cluster_arrays(model):
    """Per-cluster constants as arrays indexed by cluster id (cached)."""
    cache = getattr(model, "_cluster_consts", None)
    if cache is None:
        p = model.params
        cs = p.clusters
        cache = {
            "scale": model.scale,
            "p0": np.array([c.price for c in cs]),
            "input_share": np.array([c.input_share for c in cs]),
            "export_share": np.array([c.export_share for c in cs]),
            "export_threshold": np.array([c.export_threshold for c in cs]),
        }
        model._cluster_consts = cache
    return cache


def choose_suppliers(model, live: np.ndarray) -> np.ndarray:
    """Markup factor on inputs per live firm: cheapest aware raw-material supplier, within capacity.

    A firm aware of no supplier, one whose supplier is full, or one whose order
    fails (probability 1 - reliability) buys on the open market (factor 1).
    """
    f = model.firms
    raw = np.flatnonzero(model.local_sup_raw)
    factor = np.ones(len(live))
    f.supplier[live] = -1
    if len(raw) == 0 or len(live) == 0:
        return factor
    # the cheapest raw-material supplier of its cluster that the firm knows of, else -1
    _markup, chosen = kernels.cheapest_known(live, f.aware, model.cluster_institutions.shape[1], raw,
                                             model.cluster_suppliers, f.cluster, model.sup_markup, np.inf)
    has = chosen >= 0
    rng = model.streams["services"]
    priority = rng.random(len(live))
    delivered = rng.random(len(live))
    # capacity: each supplier serves its customers by a random priority, up to its capacity
    idx = np.flatnonzero(has)
    if len(idx):
        sup = chosen[idx]
        served = kernels.served_first(sup, model.sup_capacity, priority[idx], priority[idx])
        served &= delivered[idx] < model.sup_reliability[sup]
        ok = idx[served]
        factor[ok] = model.sup_markup[chosen[ok]]
        f.supplier[live[ok]] = chosen[ok]
    return factor


def produce(model, initial: bool = False) -> None:
    """Step 5: output, sales at home and abroad, costs and profit (to cash)."""
    p = model.params
    f = model.firms
    t = model.month
    live = f.live()
    k = _cluster_arrays(model)
    c = f.cluster[live]
    L = f.employees[live].astype(float)
    K = f.capital[live]
    a = f.productivity[live]
    q = k["scale"][c] * a * L ** p.alpha * K ** p.beta
    q = q * np.where(f.subcontract_until[live] >= t, 1.0 + p.subcontract_bonus, 1.0)
    exporter = (a > k["export_threshold"][c]) | (f.export_until[live] >= t)
    f.exporter[live] = exporter
    q_exp = np.where(exporter, q * k["export_share"][c] * model.export_open, 0.0)
    q_dom = q - q_exp
    x, y = f.x[live], f.y[live]
    infra = model.region.infrastructure[x, y]
    park = model.region.industrial_park[x, y]
    supplier_factor = np.ones(len(live)) if initial else choose_suppliers(model, live)
    discount = np.where(f.discount_until[live] >= t, p.purchase_discount, 0.0)
    discount = discount + np.where(f.purchasing_group[live] >= 0, _group_discount(model, live), 0.0)
    unit_input = (model.input_price * k["input_share"][c] * k["p0"][c]
                  * (1.0 + p.transport_cost * (1.0 - infra)) * supplier_factor * (1.0 - np.minimum(discount, 0.9)))
    # each firm sells a variety of the cluster's good (Dixit-Stiglitz): the market's spending,
    # price x total quantity, is shared in proportion to q ** rho, rho = 1 - 1/sigma
    inv_sigma = 1.0 / p.variety_elasticity
    export_price = model.export_price[c]
    revenue_dom = _shares(c, q_dom, model.n_clusters, inv_sigma) * model.price[c]
    revenue_exp = _shares(c, q_exp, model.n_clusters, inv_sigma) * export_price
    revenue = revenue_dom + revenue_exp
    input_cost = unit_input * q
    fixed = p.fixed_cost * (1.0 - p.park_fixed_cost_cut * park)
    payoff = model.month_log.get("payoff")
    profit = revenue - p.wage * L - input_cost - fixed
    if payoff is not None:
        profit = profit + payoff[live]
    f.output[live] = q
    f.exports[live] = revenue_exp
    f.revenue[live] = revenue
    f.profit[live] = profit
    # the margin is bounded: a firm with (almost) no sales has a margin of -1..1, not +-1e9
    ratio = np.clip(np.divide(profit, revenue, out=np.zeros_like(profit), where=revenue > 1e-9), -1.0, 1.0)
    if initial:
        f.margin[live] = ratio
    else:
        f.cash[live] += profit
        f.margin[live] = 0.5 * f.margin[live] + 0.5 * ratio
    # value added net of inputs, for the hiring rule (marginal revenue product of labour)
    model.month_log["mrpl"] = (live, p.alpha * ((1.0 - inv_sigma) * revenue - input_cost) / L)
    model.domestic_supply = np.bincount(c, weights=q_dom, minlength=model.n_clusters)
    model.export_supply = np.bincount(c, weights=q_exp, minlength=model.n_clusters)


def _shares(cluster, q, n_clusters, inv_sigma):
    """Each firm's quantity-equivalent sales: Q_c * q**rho / sum_c(q**rho) (0 for q = 0)."""
    rho = 1.0 - inv_sigma
    weight = np.where(q > 0, np.maximum(q, 0.0) ** rho, 0.0)
    total_w = np.bincount(cluster, weights=weight, minlength=n_clusters)
    total_q = np.bincount(cluster, weights=q, minlength=n_clusters)
    return np.divide(total_q[cluster] * weight, total_w[cluster], out=np.zeros_like(q),
                     where=total_w[cluster] > 0)


def _group_discount(model, live):
    """Extra input discount of a joint-purchasing group: its supplier's group discount."""
    sup = model.firms.supplier[live]
    default = float(model.sup_discount[model.sup_raw].mean()) if model.sup_raw.any() else 0.0
    return np.where(sup >= 0, model.sup_discount[np.maximum(sup, 0)], default)


def learn(model) -> None:
    """Step 6: productivity walk, investment, knowledge sharing, local spillover, facility."""
    p = model.params
    f = model.firms
    rng = model.streams["learning"]
    shocks = rng.laplace(0.0, p.productivity_noise, f.capacity)
    live = f.live()
    a = f.productivity[live]
    a = a * np.exp(shocks[live])
    investment = p.invest_share * np.maximum(f.profit[live], 0.0)
    a = a * (1.0 + p.invest_learning * investment / np.maximum(f.capital[live], 1e-9))
    model.month_log["investment"] = investment
    # local (Marshallian) spillover toward the mean of the firm's cluster and town
    n_groups = model.n_town_groups
    group = model.town_group(live)
    counts = np.bincount(group, minlength=n_groups)
    mean_a = np.divide(np.bincount(group, weights=a, minlength=n_groups), counts, out=np.zeros(n_groups),
                       where=counts > 0)
    a = a + p.local_spillover * np.maximum(mean_a[group] - a, 0.0)
    # common facility users
    a = a * np.where(f.facility_user[live], 1.0 + model.params.policy.facility_gain, 1.0)
    f.productivity[live] = a
    # knowledge sharing among partners who both contributed this month
    pairs = model.month_log.get("knowledge_pairs")
    if pairs is not None and len(pairs[0]):
        i, j = pairs
        ai, aj = f.productivity[i].copy(), f.productivity[j].copy()
        lo = np.where(ai < aj, i, j)
        gap = np.abs(aj - ai)
        target = f.productivity[lo] + p.spillover * gap
        np.maximum.at(f.productivity, lo, target)


def grow(model) -> None:
    """Step 7: investment into capital, hiring and shedding, loans, pay-outs."""
    p = model.params
    f = model.firms
    rng = model.streams["growth"]
    live, mrpl = model.month_log["mrpl"]
    # exits do not happen between produce and grow, so ``live`` is still current
    L = f.employees[live]
    investment = model.month_log["investment"]
    f.cash[live] -= investment
    f.capital[live] = f.capital[live] * (1.0 - p.depreciation) + investment / _machinery_factor(model, live)
    margin = f.margin[live]
    gap = mrpl / p.wage - 1.0
    buffer_ok = f.cash[live] > p.cash_buffer_months * p.wage * L
    shock = np.maximum(0.0, 1.0 + rng.laplace(0.0, p.growth_noise, len(live)))
    hire_rate = np.where((margin > 0) & buffer_ok & (gap > 0),
                         np.minimum(np.minimum(p.hire_sensitivity * margin, gap), p.max_hire_rate), 0.0)
    hires = rng.poisson(L * hire_rate * shock)
    shed = (margin < 0) | (gap < -0.05)
    fire_rate = np.where(shed, np.minimum(p.max_fire_rate, p.fire_sensitivity * np.maximum(-margin, -gap) * shock), 0.0)
    fires = rng.binomial(np.maximum(L - 1, 0), np.clip(fire_rate, 0.0, 1.0))
    f.employees[live] = np.maximum(1, L + hires - fires)
    # loans are repaid monthly from cash
    paying = live[f.loan_left[live] > 0]
    f.cash[paying] -= f.loan_payment[paying]
    f.loan_left[paying] -= 1
    # owners take out cash above the cap
    cap = p.cash_cap_months * p.wage * f.employees[live]
    f.cash[live] = np.minimum(f.cash[live], cap)


def _machinery_factor(model, live) -> np.ndarray:
    """Price of a unit of capital: the cheapest aware machinery supplier's markup, else 1."""
    mach = np.flatnonzero(~model.local_sup_raw)
    if len(mach) == 0:
        return np.ones(len(live))
    f = model.firms
    markup, _who = kernels.cheapest_known(live, f.aware, model.cluster_institutions.shape[1], mach,
                                          model.cluster_suppliers, f.cluster, model.sup_markup, 1.0)
    return markup
