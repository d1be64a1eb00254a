"""The compiled support services, production, learning and growth against the NumPy code they replaced.

The reference functions below are the model's NumPy implementation of
DESIGN.md 5.4-5.7 as it was before the steps were compiled
(``model.kernels.serve_requests``, ``production``, ``sales``, ``learning``,
``growth_*``). From the same state and the same keyed draws (turned into
Laplace, Poisson and binomial numbers by model.keyed's quantile functions,
tested against scipy's in tests/test_keyed.py), both must
leave every firm array, the institutions' counts, the market totals and the
month's scratch identical to the last bit. (The growth step's Poisson and
binomial draws are inverse CDFs of uniforms in the kernel, SciPy's quantile
functions here: they agree unless a uniform falls within rounding of a CDF
step, about once in 10^15 draws.)
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from model import ClusterModel, ModelParams, ShockParams, cda, cooperation, demography, economy, keyed, kernels
from model import market
from model import presets, services
from model.state import FIRM_FIELDS, FirmTable


# ------------------------------------------------------------------ the NumPy reference
def ref_serve(model):
    p = model.params
    f = model.firms
    t = model.month
    services.spread_awareness(model)
    live = f.live()
    for inst in model.institutions:
        inst.served_last_month = 0
    a = f.productivity[live]
    c = f.cluster[live]
    median = services.group_median(a, c, model.n_clusters)
    wage_bill = p.wage * f.employees[live]
    thr = np.array([s.export_threshold for s in p.clusters])[c]
    tie_break, promoted = keyed.firm_uniforms(model, "services", live, 2)
    requests = {
        (services.TRAINING,): (a < median[c], median[c] - a),
        (services.CREDIT,): ((f.cash[live] < p.cash_buffer_months * wage_bill) & (f.margin[live] > 0)
                             & (f.loan_left[live] == 0), -f.cash[live] / wage_bill),
        (services.TECHNOLOGY,): ((f.margin[live] > 0.05) & (a >= median[c]), f.margin[live]),
        (services.PARKS, services.BSP): ((~f.exporter[live]) & (a > 0.85 * thr), a / thr),
    }
    for kinds, (want, need) in requests.items():
        cols = np.flatnonzero(np.isin(model.local_inst_kind, kinds))
        req = np.flatnonzero(want)
        if len(req) == 0 or len(cols) == 0:
            continue
        first = kernels.first_known(live[req], f.aware, cols)
        has = first >= 0
        req = req[has]
        inst = model.cluster_institutions[c[req], first[has]]
        served = kernels.served_first(inst, model.inst_capacity, -need[req], tie_break[req])
        req, inst = req[served], inst[served]
        slots = live[req]
        count = np.bincount(inst, minlength=len(model.institutions))
        for k_inst in np.flatnonzero(count):
            model.institutions[k_inst].served_last_month = int(count[k_inst])
        f.cash[slots] -= model.inst_fee[inst]
        q = model.inst_quality[inst]
        if kinds == (services.TRAINING,):
            f.productivity[slots] *= 1.0 + p.training_gain * q
        elif kinds == (services.TECHNOLOGY,):
            f.productivity[slots] *= 1.0 + p.technology_gain * q
        elif kinds == (services.CREDIT,):
            amount = p.loan_size_months * wage_bill[req]
            f.cash[slots] += amount
            f.loan_payment[slots] = amount * (1.0 + 0.01 * p.loan_months) / p.loan_months
            f.loan_left[slots] = p.loan_months
        else:
            win = promoted[req] < q
            f.export_until[slots[win]] = np.maximum(f.export_until[slots[win]], t + p.export_promotion_months)


def ref_produce(model, initial=False):
    p = model.params
    f = model.firms
    t = model.month
    live = f.live()
    k = model.cluster_consts
    c = f.cluster[live]
    L = f.employees[live].astype(float)
    K = f.capital[live]
    a = f.productivity[live]
    q = k["scale"][c] * a * L ** p.alpha * K ** p.beta
    q = q * np.where(f.subcontract_until[live] >= t, 1.0 + p.subcontract_bonus, 1.0)
    q = q * np.where(f.facility_user[live], 1.0 + p.policy.facility_level, 1.0)
    exporter = (a > k["export_threshold"][c]) | (f.export_until[live] >= t)
    f.exporter[live] = exporter
    q_exp = np.where(exporter, q * k["export_share"][c] * model.export_open, 0.0)
    q_dom = q - q_exp
    x, y = f.x[live], f.y[live]
    infra = model.region.infrastructure[x, y]
    park = model.region.industrial_park[x, y]
    supplier_factor = np.ones(len(live)) if initial else economy.choose_suppliers(model, live)
    discount = np.where(f.discount_until[live] >= t, p.purchase_discount, 0.0)
    sup = f.supplier[live]
    default = float(model.sup_discount[model.sup_raw].mean()) if model.sup_raw.any() else 0.0
    group_discount = np.where(sup >= 0, model.sup_discount[np.maximum(sup, 0)], default)
    discount = discount + np.where(f.purchasing_group[live] >= 0, group_discount, 0.0)
    unit_input = (model.input_price * k["input_share"][c] * k["p0"][c]
                  * (1.0 + p.transport_cost * (1.0 - infra)) * supplier_factor * (1.0 - np.minimum(discount, 0.9)))
    inv_sigma = 1.0 / p.variety_elasticity
    revenue_dom = _ref_shares(c, q_dom, model.n_clusters, inv_sigma) * model.price[c]
    revenue_exp = _ref_shares(c, q_exp, model.n_clusters, inv_sigma) * model.export_price[c]
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
    ratio = np.clip(np.divide(profit, revenue, out=np.zeros_like(profit), where=revenue > 1e-9), -1.0, 1.0)
    if initial:
        f.margin[live] = ratio
    else:
        f.cash[live] += profit
        f.margin[live] = 0.5 * f.margin[live] + 0.5 * ratio
    model.month_log["mrpl"] = (live, p.alpha * ((1.0 - inv_sigma) * revenue - input_cost) / L)
    model.domestic_supply = np.bincount(c, weights=q_dom, minlength=model.n_clusters)
    model.export_supply = np.bincount(c, weights=q_exp, minlength=model.n_clusters)


def _ref_shares(cluster, q, n_clusters, inv_sigma):
    rho = 1.0 - inv_sigma
    weight = np.where(q > 0, np.maximum(q, 0.0) ** rho, 0.0)
    total_w = np.bincount(cluster, weights=weight, minlength=n_clusters)
    total_q = np.bincount(cluster, weights=q, minlength=n_clusters)
    return np.divide(total_q[cluster] * weight, total_w[cluster], out=np.zeros_like(q), where=total_w[cluster] > 0)


def ref_learn(model):
    p = model.params
    f = model.firms
    live = f.live()
    shocks = keyed.laplaces(keyed.firm_uniform(model, "learning", live), p.productivity_noise)
    a = f.productivity[live]
    a = a * np.exp(shocks)
    investment = p.invest_share * np.maximum(f.profit[live], 0.0)
    a = a * (1.0 + p.invest_learning * investment / np.maximum(f.capital[live], 1e-9))
    model.month_log["investment"] = investment
    n_groups = model.n_town_groups
    group = model.town_group(live)
    counts = np.bincount(group, minlength=n_groups)
    mean_a = np.divide(np.bincount(group, weights=a, minlength=n_groups), counts, out=np.zeros(n_groups),
                       where=counts > 0)
    a = a + p.local_spillover * np.maximum(mean_a[group] - a, 0.0)
    f.productivity[live] = a
    economy.share_knowledge(model)  # (not compiled)


def ref_grow(model):
    p = model.params
    f = model.firms
    live, mrpl = model.month_log["mrpl"]
    L = f.employees[live]
    investment = model.month_log["investment"]
    f.cash[live] -= investment
    f.capital[live] = f.capital[live] * (1.0 - p.depreciation) + investment / economy._machinery_factor(model, live)
    margin = f.margin[live]
    gap = mrpl / p.wage - 1.0
    buffer_ok = f.cash[live] > p.cash_buffer_months * p.wage * L
    # the growth step's uniforms, turned into its draws by inverse CDF (SciPy's quantile functions)
    u = keyed.firm_uniforms(model, "growth", live, kernels.GROWTH_DRAWS)
    d = u[kernels.GROWTH_SHOCK] - 0.5
    shock = np.maximum(0.0, 1.0 - np.sign(d) * p.growth_noise * np.log(1.0 - 2.0 * np.abs(d)))
    hire_rate = np.where((margin > 0) & buffer_ok & (gap > 0),
                         np.minimum(np.minimum(p.hire_sensitivity * margin, gap), p.max_hire_rate), 0.0)
    lam = L * hire_rate * shock
    shed = (margin < 0) | (gap < -0.05)
    fire_rate = np.where(shed, np.minimum(p.max_fire_rate, p.fire_sensitivity * np.maximum(-margin, -gap) * shock),
                         0.0)
    if p.adjust_speed > 0:  # partial adjustment toward a target size with a lasting granular shock
        w = keyed.block_uniforms(model.seed, keyed.code("growth_target"), model.month, f.uid[live],
                                 p.granular_months) - 0.5
        b = np.minimum(p.granular_noise * L ** -p.granular_exponent, 0.95)
        e = np.minimum(-np.sign(w) * b * np.log(1.0 - 2.0 * np.abs(w)), 5.0)
        eta = 1.0 / (1.0 - p.alpha * (1.0 - 1.0 / p.variety_elasticity))
        target = L * np.maximum(1.0 + gap, 0.0) ** eta * np.exp(e) * (1.0 - b * b)
        speed = p.adjust_speed * L ** -p.adjust_exponent
        lam = np.where((margin > 0) & buffer_ok & (target > L + 0.5),
                       np.minimum(speed * (target - L - 0.5), np.maximum(L * p.max_hire_rate, kernels.HIRE_CAP_WORKERS))
                       * shock, 0.0)
        shed = (target < L - 0.5) | (margin < 0)
        fire_rate = np.where(shed, np.minimum(p.max_fire_rate, np.maximum(p.shed_speed * (L - 0.5 - target) / L,
                                                                         p.fire_sensitivity * -margin) * shock), 0.0)
    hires = np.where(lam > 0, stats.poisson.ppf(u[kernels.GROWTH_HIRES], np.where(lam > 0, lam, 1.0)), 0)
    trials, prob = np.maximum(L - 1, 0), np.clip(fire_rate, 0.0, 1.0)
    fires = np.where((trials > 0) & (prob > 0), stats.binom.ppf(u[kernels.GROWTH_FIRES], trials, prob), 0)
    f.employees[live] = np.maximum(1, L + hires.astype(np.int64) - fires.astype(np.int64))
    paying = live[f.loan_left[live] > 0]
    f.cash[paying] -= f.loan_payment[paying]
    f.loan_left[paying] -= 1
    cap = p.cash_cap_months * p.wage * f.employees[live]
    f.cash[live] = np.minimum(f.cash[live], cap)


def ref_enter_firms(model) -> np.ndarray:
    """Spin-offs drawn per parent, outsiders per cluster (as model.demography.enter_firms)."""
    p = model.params
    f = model.firms
    live = f.live()
    parents = live[keyed.firm_uniform(model, "spinoff", live) < demography.spinoff_chance(model, live)]
    clusters = np.arange(model.n_clusters, dtype=np.int64)
    u_exo = keyed.uniforms(model.seed, keyed.code("outsiders"), model.month, clusters, 1)[0]
    n_exo = keyed.quantiles(u_exo, 1, np.full(len(u_exo), p.exogenous_entry), u_exo).astype(np.int64)
    exo_cluster = np.repeat(np.arange(model.n_clusters), n_exo)
    n_new = len(parents) + len(exo_cluster)
    model.entries_by_cluster = np.concatenate([f.cluster[parents], exo_cluster]).astype(np.int64)
    model.entries_by_cluster = np.bincount(model.entries_by_cluster, minlength=model.n_clusters)
    if n_new == 0:
        return np.zeros(0, dtype=np.int64)
    uid = np.concatenate([keyed.spinoff_uids(f.uid[parents], model.month)]
                         + [keyed.outsider_uids(c, model.month, int(n_exo[c])) for c in range(model.n_clusters)])
    code = keyed.code("entrant")
    noise = np.stack([keyed.normals(model.seed, code, model.month, uid, k) for k in range(5)])
    offsets = np.floor(3.0 * keyed.uniforms(model.seed, code, model.month, uid, 22)[20:22]).astype(np.int64) - 1
    parent_prior = f.prior_trust[parents].copy()
    parent_prop = f.propensity[parents].copy()
    parent_a = f.productivity[parents].copy()
    parent_xy = np.stack([f.x[parents], f.y[parents]])
    parent_aware = f.aware[parents].copy()
    slots = model.firms.allocate(n_new)  # the caller fills their state, then makes their agents
    f = model.firms  # arrays may have grown
    specs = model.params.clusters
    cl = np.concatenate([f.cluster[parents], exo_cluster]) if len(parents) else exo_cluster
    n_par = len(parents)
    # exogenous entrants: placed around the cluster's town, traits from the cluster's priors
    tx = model.cluster_town_xy[exo_cluster, 0] + np.rint(noise[0, n_par:] * np.array(
        [specs[c].spread_cells for c in exo_cluster]))
    ty = model.cluster_town_xy[exo_cluster, 1] + np.rint(noise[1, n_par:] * np.array(
        [specs[c].spread_cells for c in exo_cluster]))
    x = np.concatenate([parent_xy[0] + offsets[0, :n_par], tx])
    y = np.concatenate([parent_xy[1] + offsets[1, :n_par], ty])
    f.x[slots] = np.clip(x, 0, model.region.width - 1).astype(np.int64)
    f.y[slots] = np.clip(y, 0, model.region.height - 1).astype(np.int64)
    f.alive[slots] = True
    f.cluster[slots] = cl
    f.town[slots] = model.region.nearest_town(f.x[slots], f.y[slots])
    f.employees[slots] = 1
    f.capital[slots] = p.capital_per_worker
    # a spin-off inherits part of its parent's edge; outsiders start near the one-worker optimum
    base = model.entrant_productivity[cl]
    a_par = np.sqrt(parent_a * base[:n_par]) * np.exp(p.entrant_noise * noise[2, :n_par])
    a_exo = base[n_par:] * np.exp(p.entrant_noise * noise[2, n_par:])
    f.productivity[slots] = np.concatenate([a_par, a_exo])
    ta = np.array([s.trust_alpha for s in specs])[exo_cluster]
    tb = np.array([s.trust_beta for s in specs])[exo_cluster]
    pa = np.array([s.propensity_alpha for s in specs])[exo_cluster]
    pb = np.array([s.propensity_beta for s in specs])[exo_cluster]
    n_par = len(parents)
    prior_exo = keyed.betas(model.seed, code, model.month, uid[n_par:], 2, ta.astype(float), tb.astype(float))
    prop_exo = keyed.betas(model.seed, code, model.month, uid[n_par:], 1, pa.astype(float), pb.astype(float))
    f.uid[slots] = uid
    f.prior_trust[slots] = np.clip(np.concatenate([parent_prior + 0.05 * noise[3, :n_par], prior_exo]), 0, 1)
    f.propensity[slots] = np.clip(np.concatenate([parent_prop + 0.05 * noise[4, :n_par], prop_exo]), 0, 1)
    f.trust_cda[slots] = f.prior_trust[slots]
    f.cash[slots] = p.initial_cash_months * p.wage
    f.age[slots] = -1  # becomes 0 at the end of this month
    f.birth_month[slots] = model.month
    f.margin[slots] = 0.0
    # spin-offs know what their parents know and keep a tie to the parent
    f.aware[slots[:n_par]] = parent_aware
    demography.settle_entrants(model, slots, parents, cl)  # (not compiled)
    return slots


# ------------------------------------------------------------------ comparison
def _state(model):
    """Everything the four steps read or write, copied."""
    return {
        "firms": {name: getattr(model.firms, name).copy() for name in FIRM_FIELDS},
        "aware": model.firms.aware.copy(),
        "served": [inst.served_last_month for inst in model.institutions],
        "log": copy.deepcopy(model.month_log),
        "market": (model.domestic_supply.copy(), model.export_supply.copy()),
    }


def _restore(model, state):
    for name, values in state["firms"].items():
        getattr(model.firms, name)[...] = values
    model.firms.aware[...] = state["aware"]
    for inst, n in zip(model.institutions, state["served"]):
        inst.served_last_month = n
    model.month_log = copy.deepcopy(state["log"])
    model.domestic_supply, model.export_supply = (a.copy() for a in state["market"])


def _assert_same(a, b):
    for name in FIRM_FIELDS:
        np.testing.assert_array_equal(a["firms"][name], b["firms"][name], err_msg=name, strict=True)
    np.testing.assert_array_equal(a["aware"], b["aware"], strict=True)
    assert a["served"] == b["served"]
    for x, y in zip(a["market"], b["market"]):
        np.testing.assert_array_equal(x, y, strict=True)
    assert a["log"].keys() == b["log"].keys()
    for key in ("mrpl", "investment"):
        if key in a["log"]:
            x, y = a["log"][key], b["log"][key]
            for u, v in (zip(x, y) if isinstance(x, tuple) else [(x, y)]):
                np.testing.assert_array_equal(u, v, strict=True)


def _models():
    p = ModelParams(months=60)
    funded = replace(p, policy=presets.policy("standard_cda"))
    shocked = replace(funded, shock=ShockParams(kind="export_restriction", start_month=5, duration_months=30,
                                                magnitude=0.5))
    return {
        "baseline": ClusterModel(p, rng=3),
        "standard_cda": ClusterModel(funded, rng=3),  # (a seed whose first 40 months see loans)
        "export_restriction": ClusterModel(shocked, rng=5),
        "two_clusters": ClusterModel(replace(funded, clusters=(p.clusters[0], replace(p.clusters[0], name="other",
                                                                                      town="Kashan"))), rng=6),
    }


@pytest.mark.parametrize("name", ["baseline", "standard_cda", "export_restriction", "two_clusters"])
def test_compiled_steps_equal_the_numpy_code(name):
    model = _models()[name]
    touched = {"subcontract": 0, "exporter": 0, "group": 0, "facility": 0, "loan": 0, "knowledge": 0,
               "served": 0}
    for month in range(40):
        model.month += 1
        model.month_log = {}
        market.update(model)
        cda.act(model)
        cooperation.partnering(model)
        before = _state(model)
        results = []
        for serve, produce, learn, grow in ((ref_serve, ref_produce, ref_learn, ref_grow),
                                            (services.serve, economy.produce, economy.learn, economy.grow)):
            _restore(model, before)
            serve(model)
            produce(model)
            learn(model)
            grow(model)
            results.append(_state(model))
        _assert_same(*results)
        f = model.firms
        live = f.live()
        touched["subcontract"] += int((f.subcontract_until[live] >= model.month).sum())
        touched["exporter"] += int(f.exporter[live].sum())
        touched["group"] += int((f.purchasing_group[live] >= 0).sum())
        touched["facility"] += int(f.facility_user[live].sum())
        touched["loan"] += int((f.loan_left[live] > 0).sum())
        touched["knowledge"] += len(model.month_log.get("knowledge_pairs", ((),))[0])
        touched["served"] += sum(inst.served_last_month for inst in model.institutions)
        demography.exit_and_entry(model)
        f.age[f.alive] += 1
        model._collect()
    # the comparison went through every branch: each condition held for some firm in some month
    if name == "standard_cda":
        assert min(touched.values()) > 0, touched
    else:
        assert min(touched[k] for k in ("subcontract", "exporter", "loan", "knowledge", "served")) > 0, touched


def test_production_and_sales_by_hand():
    # two firms of one cluster, no exports, no discounts: q = scale * A * L**alpha * K**beta
    live = np.array([0, 1])
    table = FirmTable(2, 1)
    table.employees[:2] = [1, 4]
    table.productivity[:2] = 1.0
    firms = table.arrays()
    l_pow = table.employees[live].astype(float) ** 0.5
    k_pow = np.array([1.0, 4.0]) ** 0.5
    one = np.ones(1)
    clusters = kernels.ClusterArrays(scale=np.array([2.0]), p0=np.array([2.0]), input_share=np.array([0.5]),
                                     export_share=np.array([0.5]), export_threshold=np.array([9.0]), price=one,
                                     export_price=one)
    terms = kernels.ProductionTerms(month=5, subcontract_factor=1.5, facility_factor=1.25, export_open=1.0,
                                    purchase_discount=0.1,
                                    default_group_discount=0.0, input_price=1.0, transport_cost=0.2, fixed_cost=3.0,
                                    park_cut=0.5, infrastructure=np.ones((1, 1)), industrial_park=np.zeros((1, 1)),
                                    sup_discount=np.zeros(0))
    out = kernels.production(live, firms, clusters, terms, l_pow, k_pow, np.ones(2))
    np.testing.assert_allclose(out.q, [2.0, 8.0])
    np.testing.assert_allclose(out.q_exp, 0.0)
    np.testing.assert_allclose(out.q_dom, out.q)
    np.testing.assert_allclose(out.unit_input, 1.0)  # price 2 x input share 0.5, full infrastructure, no markup
    np.testing.assert_allclose(out.fixed, 3.0)
    assert not table.exporter.any()
    # rho = 1: sales proportional to output; price 1: revenue = output
    mrpl, dom, exp = kernels.sales(live, firms, clusters, out, out.q_exp, out.q_dom, np.zeros(0),
                                   kernels.SalesTerms(wage=0.5, alpha=0.5, rho=1.0, initial=False))
    profit = table.profit[live]
    np.testing.assert_allclose(table.revenue[live], [2.0, 8.0])
    np.testing.assert_allclose(profit, [2.0 - 0.5 - 2.0 - 3.0, 8.0 - 2.0 - 8.0 - 3.0])
    np.testing.assert_allclose(table.cash[live], profit)
    np.testing.assert_allclose(table.margin[live], 0.5 * np.clip(profit / table.revenue[live], -1, 1))
    np.testing.assert_allclose(mrpl, [0.5 * (2.0 - 2.0) / 1, 0.5 * (8.0 - 8.0) / 4])
    np.testing.assert_allclose(dom, [10.0])
    np.testing.assert_allclose(exp, [0.0])
    # a facility user's output is raised by the level effect, only in a month it uses the facility
    table.facility_user[1] = True
    out = kernels.production(live, table.arrays(), clusters, terms, l_pow, k_pow, np.ones(2))
    np.testing.assert_allclose(out.q, [2.0, 8.0 * 1.25])


@pytest.mark.parametrize("name", ["standard_cda", "two_clusters"])
def test_compiled_entry_equals_the_numpy_code(name):
    model = _models()[name]
    model.params = replace(model.params, exogenous_entry=2.0)  # outsiders every month, beside the spin-offs
    added, made = [], []
    real_add, real_make = model.ties.add, model._make_agents
    entrants = 0
    for month in range(24):
        model.run(1)
        # one more round of entry, by both codes from the same state, with the ties and agents it
        # would make recorded instead of made; then the model goes on from the state before it
        before = _state(model)
        model.ties.add = lambda *args, **kw: added.append([np.asarray(x).copy() for x in args])
        model._make_agents = lambda slots: made.append(slots.copy())
        results = []
        for enter in (ref_enter_firms, demography.enter_firms):
            _restore(model, before)
            added.clear()
            made.clear()
            n_records = len(model.entry_records)
            slots = enter(model)
            record = model.entry_records.pop() if len(model.entry_records) > n_records else None
            results.append((_state(model), slots, model.entries_by_cluster.copy(), record,
                            [x for call in added for x in call], list(made)))
        model.ties.add, model._make_agents = real_add, real_make
        _restore(model, before)
        (ref, *ref_rest), (new, *new_rest) = results
        _assert_same(ref, new)
        for x, y in zip(ref_rest[:3], new_rest[:3]):
            np.testing.assert_array_equal(x, y, strict=True)
        assert len(ref_rest[3]) == len(new_rest[3]) and len(ref_rest[4]) == len(new_rest[4])
        for x, y in zip(ref_rest[3] + ref_rest[4], new_rest[3] + new_rest[4]):
            np.testing.assert_array_equal(x, y)
        entrants += len(new_rest[0])
    assert entrants > 24
