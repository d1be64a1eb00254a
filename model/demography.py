"""Exit and entry (5.8): financial exit, an age-decreasing hazard, spin-offs and outside entry."""

from __future__ import annotations

import numpy as np

from . import keyed, kernels


def exit_hazard(p, age):
    """Monthly exit hazard: a mature base rate plus an extra for young firms, falling with age."""
    return p.hazard_base + p.hazard_young * np.exp(-np.asarray(age, dtype=float) / p.hazard_age_scale)


def spinoff_chance(model, live: np.ndarray) -> np.ndarray:
    """Each live firm's chance of a spin-off this month: ``spinoff_rate * max(0, 1 +
    entry_profit_sensitivity * m)``, m the mean margin of its (cluster, town): the town's recent
    profitability, as the spin-offs of a town were drawn before they were drawn per parent."""
    p = model.params
    group = model.town_group(live)
    n = np.bincount(group, minlength=model.n_town_groups)
    total = np.bincount(group, weights=model.firms.margin[live], minlength=model.n_town_groups)
    mean = np.divide(total, n, out=np.zeros(len(n)), where=n > 0)
    return p.spinoff_rate * np.maximum(0.0, 1.0 + p.entry_profit_sensitivity * mean[group])


def exit_and_entry(model) -> None:
    """Step 8: firms exit, then entrants are born near their parents."""
    exit_firms(model)
    enter_firms(model)


def exit_firms(model) -> np.ndarray:
    p = model.params
    f = model.firms
    live = f.live()
    broke = f.cash[live] < -p.debt_limit * f.capital[live]
    unlucky = keyed.firm_uniform(model, "exit", live) < exit_hazard(p, f.age[live])
    gone = live[broke | unlucky]
    model.exits_by_cluster = np.bincount(f.cluster[gone], minlength=model.n_clusters)
    if len(gone):
        model.exit_records.append(np.stack([f.birth_month[gone], f.age[gone], f.cluster[gone]]))
    model.remove_firms(gone)
    return gone


def enter_firms(model) -> np.ndarray:
    """Spin-offs, drawn per parent, and outsiders.

    Each firm spawns a spin-off this month with probability :func:`spinoff_chance` (its own keyed
    draw). A spin-off is born next to its parent,
    with the geometric mean of its parent's and the entrant productivity (times noise), its parent's
    traits (plus noise) and awareness, and a tie to the parent. Outsiders (Poisson per cluster) enter
    around the cluster's town, at the entrant productivity, with traits drawn from the cluster's
    priors. An entrant's identity comes from its parent and birth month (an outsider's from its
    cluster, month and number), and its attributes are keyed draws of that identity (purpose
    ``entrant``: normals 0-4, uniforms 20 and 21 for the cell offsets, Betas 1 and 2).
    """
    p = model.params
    f = model.firms
    live = f.live()
    parents = live[keyed.firm_uniform(model, "spinoff", live) < spinoff_chance(model, live)]
    seed, month = model.seed, model.month
    n_exo = keyed.poissons(seed, keyed.code("outsiders"), month, np.arange(model.n_clusters, dtype=np.int64), 0,
                           np.full(model.n_clusters, p.exogenous_entry))
    exo_cluster = np.repeat(np.arange(model.n_clusters), n_exo)
    n_par = len(parents)
    n_new = n_par + len(exo_cluster)
    cl = np.concatenate([f.cluster[parents], exo_cluster])
    model.entries_by_cluster = np.bincount(cl, minlength=model.n_clusters)
    if n_new == 0:
        return np.zeros(0, dtype=np.int64)
    uid = np.concatenate([keyed.spinoff_uids(f.uid[parents], month)]
                         + [keyed.outsider_uids(c, month, int(n_exo[c])) for c in range(model.n_clusters)])
    code = keyed.code("entrant")
    noise = np.stack([keyed.normals(seed, code, month, uid, k) for k in range(5)])
    offsets = np.floor(3.0 * keyed.uniforms(seed, code, month, uid, 22)[20:22]).astype(np.int64) - 1
    specs = model.params.clusters
    ta, tb, pa, pb = (np.array([getattr(s, name) for s in specs], dtype=float)[exo_cluster]
                      for name in ("trust_alpha", "trust_beta", "propensity_alpha", "propensity_beta"))
    prior_exo = keyed.betas(seed, code, month, uid[n_par:], 2, ta, tb)
    prop_exo = keyed.betas(seed, code, month, uid[n_par:], 1, pa, pb)
    slots = model.firms.allocate(n_new)  # the caller fills their state, then makes their agents
    f = model.firms  # arrays may have grown
    r = model.region
    entrants = kernels.Entrants(
        slots=slots, parents=parents, cluster=cl, noise=noise, offsets=offsets, base=model.entrant_productivity[cl],
        growth_par=np.exp(p.entrant_noise * noise[2, :n_par]), growth_exo=np.exp(p.entrant_noise * noise[2, n_par:]),
        prior_exo=prior_exo, propensity_exo=prop_exo)
    terms = kernels.EntryTerms(
        town_xy=model.cluster_town_xy, spread=np.array([s.spread_cells for s in specs]), width=r.width,
        height=r.height, nearest=r.nearest, capital_per_worker=p.capital_per_worker,
        initial_cash=p.initial_cash_months * p.wage, month=model.month)
    kernels.place_entrants(entrants, f.arrays(), terms)
    f.uid[slots] = uid
    settle_entrants(model, slots, parents, cl)
    return slots


def settle_entrants(model, slots: np.ndarray, parents: np.ndarray, cl: np.ndarray) -> None:
    """Entrants whose state is set (spin-offs of ``parents`` first): their ties to the parents, the
    entry records and their Mesa agents."""
    f = model.firms
    n_par = len(parents)
    if n_par:
        # spin-offs keep a tie to the parent (a new firm's slot has no ties: they went with the firm
        # that held it before)
        model.ties.add(slots[:n_par], parents, f.prior_trust[slots[:n_par]], f.prior_trust[parents], model.month,
                       untied=True)
    model.entry_records.append(np.stack([np.full(len(slots), model.month), cl]))
    model._make_agents(slots)
