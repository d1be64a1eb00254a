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

from . import keyed, kernels


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


SETTLE_TOLERANCE = 1e-9  # |log(MRPL / wage)| at which an initial firm counts as at its optimum
SETTLE_ROUNDS = 200  # at most this many rounds per stage of settle_productivity
THRESHOLD_STEP = 1e-9  # how far on its side of the export threshold a firm pinned there sits (relative)


def _log_gap(model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Month 0's production and sales at the reference prices (the model's own kernels): per live
    firm, log(MRPL / wage), revenue and input cost."""
    produce(model, initial=True)
    live, mrpl = model.month_log["mrpl"]
    f = model.firms
    revenue = f.revenue[live]
    rho = 1.0 - 1.0 / model.params.variety_elasticity
    inputs = rho * revenue - mrpl * f.employees[live] / model.params.alpha
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.log(np.maximum(mrpl, 1e-300) / model.params.wage)
    return gap, revenue, inputs


def settle_productivity(model) -> dict[str, int]:
    """Set the initial productivities so that every initial firm is at its optimal size, as the
    model's own production and sales kernels value it; returns counts for the record.

    :func:`solve_initial_productivity` solves MRPL = wage for a closed domestic
    market: it leaves out exports (an exporter sells a share abroad, in a market
    shared among exporters only, at another price) and each firm's own
    transport cost (its cell's infrastructure). Left there, exporters start
    well below their optimal size and everyone else above it (generic cluster:
    MRPL 20-33% above the wage for exporters, 13% below for the others), and the
    hiring rule takes employment up by about half in the first year. Here that
    solution is the starting point of a damped Newton iteration on each firm's
    log productivity, with ``MRPL`` from :func:`produce` itself (month 0, the
    reference prices, the markets calibrated to this supply), until
    ``|log(MRPL / wage)| < SETTLE_TOLERANCE`` for every firm; the cluster's
    scale is renormalised every round so that its median productivity is 1.

    The export threshold (relative productivity) makes MRPL jump: a firm may
    have no productivity at which it is at its optimum (below the threshold it
    needs more, above it less). Such a firm is put at the threshold, on the
    side where its MRPL is nearer the wage (it then hires or sheds toward the
    size it would choose there). A firm too large to be at its optimum at any
    productivity (its MRPL peaks below the wage) is put at that peak. The
    counts of both kinds are returned (``at_threshold``, ``at_peak``).
    """
    p = model.params
    f = model.firms
    live = f.live()
    cl = f.cluster[live]
    n = len(live)
    threshold = np.array([c.export_threshold for c in p.clusters])[cl]
    rho = 1.0 - 1.0 / p.variety_elasticity
    order = np.argsort(cl, kind="stable")
    bounds = np.searchsorted(cl[order], np.arange(model.n_clusters + 1))
    pinned = np.zeros(n, dtype=bool)  # held where they are (at the threshold or at the peak)
    at_peak = np.zeros(n, dtype=bool)
    at_threshold = np.zeros(n, dtype=bool)
    pin_value = np.zeros(n)  # the relative productivity of a firm held at the threshold

    def renormalise(a):
        for c in range(model.n_clusters):
            members = order[bounds[c]:bounds[c + 1]]
            if len(members):
                med = float(np.median(a[members]))
                model.scale[c] *= med
                a[members] /= med
        return a

    def iterate(a, rounds=SETTLE_ROUNDS):
        """Newton rounds, no firm crossing the threshold; returns the firms held at it and their gap."""
        held = np.zeros(n, dtype=bool)
        gap = np.zeros(n)
        for _ in range(rounds):
            f.productivity[live] = a
            gap, revenue, inputs = _log_gap(model)
            # the log distance to the peak of MRPL in A, the others' output fixed (where rho^2 R = C)
            with np.errstate(divide="ignore", invalid="ignore"):
                to_peak = np.log(rho * rho * revenue / inputs) / (1.0 - rho)
            to_peak = np.where(np.isfinite(to_peak), to_peak, np.inf)
            # held at its peak, but its MRPL there is above the wage: it has an optimum below after all
            release = at_peak & (gap > 0)
            pinned[release] = at_peak[release] = False
            # at (or past) the peak and still below the wage: no optimum; held at the peak
            top = ~pinned & (gap < 0) & (to_peak < 1e-3)
            if top.any():
                a[top] *= np.exp(to_peak[top])
                pinned[top] = at_peak[top] = True
            free = ~pinned & (np.abs(gap) >= SETTLE_TOLERANCE)
            if not free.any() and not top.any() and not release.any():
                break
            # a step of -gap: exact for the cluster as a whole (MRPL is proportional to a common factor on
            # every A), an under-relaxed Newton step for a firm alone (its own slope is below 1)
            step = np.clip(-gap, -0.5, 0.5)
            # upward at most half way to the peak, so that no firm steps past it
            step = np.where(step > 0, np.minimum(step, 0.5 * np.maximum(to_peak, 0.0)), step)
            new = a.copy()
            new[free] = a[free] * np.exp(step[free])
            exporter = a > threshold
            new = renormalise(new)
            new[at_threshold] = pin_value[at_threshold]  # (renormalised with the others: put back)
            # stay on this side of the export threshold
            up = free & ~exporter & (new > threshold)
            down = free & exporter & (new <= threshold)
            new[up] = threshold[up] * (1.0 - THRESHOLD_STEP)
            new[down] = threshold[down] * (1.0 + THRESHOLD_STEP)
            held = (up & (a == new)) | (down & (a == new))
            if not (free & ~held).any():
                a = new
                break
            a = new
        f.productivity[live] = a
        gap, _revenue, _inputs = _log_gap(model)
        return held & (np.abs(gap) >= SETTLE_TOLERANCE), gap

    a = renormalise(f.productivity[live].copy())
    held, gap = iterate(a)
    a = f.productivity[live].copy()
    # the firms held at the threshold: is their optimum on the other side?
    if held.any():
        first_gap = gap[held]
        a[held] = np.where(a[held] > threshold[held], threshold[held] * (1.0 - THRESHOLD_STEP),
                           threshold[held] * (1.0 + THRESHOLD_STEP))
        held_again, gap = iterate(a)
        a = f.productivity[live].copy()
        stuck = held & held_again
        if stuck.any():
            # no optimum on either side: the side whose MRPL is nearer the wage
            back = np.abs(first_gap[stuck[held]]) < np.abs(gap[stuck])
            idx = np.flatnonzero(stuck)[back]
            a[idx] = np.where(a[idx] > threshold[idx], threshold[idx] * (1.0 - THRESHOLD_STEP),
                              threshold[idx] * (1.0 + THRESHOLD_STEP))
            pinned[stuck] = at_threshold[stuck] = True
            pin_value[stuck] = a[stuck]
            iterate(a)
    # the firms left off their optimum: at the export threshold or at their peak
    gap, _revenue, _inputs = _log_gap(model)
    off = np.abs(gap) >= SETTLE_TOLERANCE
    near = np.abs(f.productivity[live] / threshold - 1.0) <= 2.0 * THRESHOLD_STEP
    return {"at_threshold": int((off & near).sum()), "at_peak": int((off & at_peak & ~near).sum())}


def cluster_constants(model) -> dict[str, np.ndarray]:
    """Per-cluster constants of production as arrays indexed by cluster id (once the firms are built)."""
    cs = model.params.clusters
    return {
        "scale": model.scale,
        "p0": np.array([c.price for c in cs]),
        "input_share": np.array([c.input_share for c in cs]),
        "export_share": np.array([c.export_share for c in cs]),
        "export_threshold": np.array([c.export_threshold for c in cs]),
    }


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
    _markup, chosen = kernels.cheapest_known(live, f.arrays(), model.cluster_institutions.shape[1], raw,
                                             model.cluster_suppliers, model.sup_markup, np.inf)
    has = chosen >= 0
    priority, delivered = keyed.firm_uniforms(model, "supply", live, 2)
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
    """Step 5: output, sales at home and abroad, costs and profit (to cash).

    Output ``q = scale_c * A * L**alpha * K**beta`` (times the subcontracting
    bonus while it lasts); exporters (productivity above the cluster's
    threshold, or export access from a joint action) sell a share of it
    abroad. Unit input cost: the input price, times transport (worse with poor
    infrastructure), the supplier's markup and the purchasing discounts. Each
    firm sells a variety of the cluster's good (Dixit-Stiglitz): a market's
    spending, price x total quantity, is shared in proportion to ``q ** rho``,
    rho = 1 - 1/sigma. Profit = revenue - wages - inputs - fixed cost (lower
    in an industrial park) + the month's payoffs from joint actions.
    """
    p = model.params
    f = model.firms
    live = f.live()
    clusters = kernels.ClusterArrays(**model.cluster_consts, price=model.price, export_price=model.export_price)
    l_pow = f.employees[live].astype(float) ** p.alpha
    k_pow = f.capital[live] ** p.beta
    supplier_factor = np.ones(len(live)) if initial else choose_suppliers(model, live)
    terms = kernels.ProductionTerms(
        month=model.month, subcontract_factor=1.0 + p.subcontract_bonus,
        facility_factor=1.0 + p.policy.facility_level, export_open=model.export_open,
        purchase_discount=p.purchase_discount, default_group_discount=_default_group_discount(model),
        input_price=model.input_price, transport_cost=p.transport_cost, fixed_cost=p.fixed_cost,
        park_cut=p.park_fixed_cost_cut, infrastructure=model.region.infrastructure,
        industrial_park=model.region.industrial_park, sup_discount=model.sup_discount)
    out = kernels.production(live, f.arrays(), clusters, terms, l_pow, k_pow, supplier_factor)
    rho = 1.0 - 1.0 / p.variety_elasticity
    payoff = model.month_log.get("payoff")
    sales_terms = kernels.SalesTerms(wage=p.wage, alpha=p.alpha, rho=rho, initial=initial)
    mrpl, model.domestic_supply, model.export_supply = kernels.sales(
        live, f.arrays(), clusters, out, _weight(out.q_exp, rho), _weight(out.q_dom, rho),
        np.zeros(0) if payoff is None else payoff, sales_terms)
    # value added net of inputs, for the hiring rule (marginal revenue product of labour)
    model.month_log["mrpl"] = (live, mrpl)


def _weight(q, rho):
    """A firm's weight in its market's sales: q ** rho (0 for q = 0)."""
    return np.where(q > 0, np.maximum(q, 0.0) ** rho, 0.0)


def _default_group_discount(model) -> float:
    """The group discount of a purchasing group that buys on the open market: the mean of the suppliers'."""
    return float(model.sup_discount[model.sup_raw].mean()) if model.sup_raw.any() else 0.0


def learn(model) -> None:
    """Step 6: productivity walk, investment, knowledge sharing, local spillover, facility.

    ``A`` takes a Laplace step, then grows with investment (a share of
    profit, relative to capital), then moves toward the mean of its (cluster,
    town) when below it (Marshallian spillover). (The common facility is a level effect on its users'
    output, in production.)
    Partners who both contributed to a knowledge action close part of their gap.
    """
    p = model.params
    f = model.firms
    live = f.live()
    shocks = keyed.laplaces(keyed.firm_uniform(model, "learning", live), p.productivity_noise)
    terms = kernels.LearningTerms(invest_share=p.invest_share, invest_learning=p.invest_learning,
                                  local_spillover=p.local_spillover)
    model.month_log["investment"] = kernels.learning(live, f.arrays(), model.town_group(live), model.n_town_groups,
                                                     np.exp(shocks), terms)
    share_knowledge(model)


def share_knowledge(model) -> None:
    """Knowledge actions of this month (cooperation.play_game logs each side that gets the effect as
    firm, partner, share): the less productive side closes ``share x spillover`` of its gap to the other,
    the more productive one gains ``knowledge_return`` of that (the share is 1 when both contributed,
    ``tau`` for a withholder facing a contributor; the largest gain counts when a firm has several)."""
    f = model.firms
    p = model.params
    pairs = model.month_log.get("knowledge_pairs")
    if pairs is not None and len(pairs[0]):
        firm, partner, share = pairs
        own, other = f.productivity[firm].copy(), f.productivity[partner].copy()
        gap = np.abs(other - own) * np.where(other > own, 1.0, p.knowledge_return)
        np.maximum.at(f.productivity, firm, own + share * p.spillover * gap)


def grow(model) -> None:
    """Step 7: investment into capital, hiring and shedding, loans, pay-outs.

    A firm hires when its margin is positive, its cash above a buffer and its
    marginal revenue product of labour above the wage (Poisson hires, at a
    rate bounded by the margin and that gap); it sheds workers (binomial) when
    its margin is negative or that product is well below the wage. Both rates
    carry a common Laplace shock. Loans are repaid; cash above a cap is paid out.
    With ``adjust_speed`` > 0 (the default; issue 21 part 2) a firm instead moves
    toward a target size, where its MRPL would equal the wage, times a lasting
    granular shock whose scale falls with its size: hiring by Poisson draws of the
    gap (a one-worker firm may hire several), shedding more slowly by binomial
    draws (``kernels.growth_draws``).

    All of the step's randomness is one array of uniforms ``u``, a column per
    live firm; its rows (``kernels.GROWTH_SHOCK``, ``GROWTH_HIRES``,
    ``GROWTH_FIRES``) are turned into the Laplace shock, the Poisson hires and
    the binomial fires by inverse CDF in ``kernels.growth_draws``; and one uniform
    per firm of purpose ``growth_target`` that lasts ``granular_months`` months in
    the firm's own calendar (``keyed.block_uniforms``), turned into the granular shock.
    """
    p = model.params
    f = model.firms
    live, mrpl = model.month_log["mrpl"]
    # exits do not happen between produce and grow, so ``live`` is still current
    terms = kernels.GrowthTerms(
        depreciation=p.depreciation, wage=p.wage, buffer_per_worker=p.cash_buffer_months * p.wage,
        hire_sensitivity=p.hire_sensitivity, max_hire_rate=p.max_hire_rate, max_fire_rate=p.max_fire_rate,
        fire_sensitivity=p.fire_sensitivity, cap_per_worker=p.cash_cap_months * p.wage, growth_noise=p.growth_noise,
        granular_noise=p.granular_noise, granular_exponent=p.granular_exponent, adjust_speed=p.adjust_speed,
        adjust_exponent=p.adjust_exponent, shed_speed=p.shed_speed,
        target_exponent=1.0 / (1.0 - p.alpha * (1.0 - 1.0 / p.variety_elasticity)))
    firms = f.arrays()
    plans = kernels.growth_plans(live, firms, model.month_log["investment"], _machinery_factor(model, live), mrpl,
                                 terms)
    # keyed uniforms of each firm (rows: kernels.GROWTH_SHOCK, GROWTH_HIRES, GROWTH_FIRES)
    u = keyed.firm_uniforms(model, "growth", live, kernels.GROWTH_DRAWS)
    # the granular shock to the target size (partial adjustment), its own purpose: the draws above stay
    w = keyed.firm_block_uniform(model, "growth_target", live, p.granular_months)
    hires, fires = kernels.growth_draws(live, firms, plans, u, terms, w)
    # loans are repaid monthly from cash; owners take out cash above the cap
    kernels.growth_settle(live, firms, hires, fires, terms)


def _machinery_factor(model, live) -> np.ndarray:
    """Price of a unit of capital: the cheapest aware machinery supplier's markup, else 1."""
    mach = np.flatnonzero(~model.local_sup_raw)
    if len(mach) == 0:
        return np.ones(len(live))
    f = model.firms
    markup, _who = kernels.cheapest_known(live, f.arrays(), model.cluster_institutions.shape[1], mach,
                                          model.cluster_suppliers, model.sup_markup, 1.0)
    return markup
