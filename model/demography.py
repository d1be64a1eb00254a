"""Exit and entry (5.8): financial exit, an age-decreasing hazard, spin-offs and outside entry."""

from __future__ import annotations

import numpy as np

from . import kernels


def exit_hazard(p, age):
    """Monthly exit hazard: a mature base rate plus an extra for young firms, falling with age."""
    return p.hazard_base + p.hazard_young * np.exp(-np.asarray(age, dtype=float) / p.hazard_age_scale)


def exit_and_entry(model) -> None:
    """Step 8: firms exit, then entrants are born near their parents."""
    exits = exit_firms(model)
    enter_firms(model)
    return exits


def exit_firms(model) -> np.ndarray:
    p = model.params
    f = model.firms
    rng = model.streams["exit"]
    u = rng.random(f.capacity)
    live = f.live()
    broke = f.cash[live] < -p.debt_limit * f.capital[live]
    unlucky = u[live] < exit_hazard(p, f.age[live])
    gone = live[broke | unlucky]
    model.exits_by_cluster = np.bincount(f.cluster[gone], minlength=model.n_clusters)
    if len(gone):
        model.exit_records.append(np.stack([f.birth_month[gone], f.age[gone], f.cluster[gone]]))
    model.remove_firms(gone)
    return gone


def enter_firms(model) -> np.ndarray:
    """Spin-offs per (cluster, town): Poisson with mean rising with firm count and profitability."""
    p = model.params
    f = model.firms
    rng = model.streams["entry"]
    live = f.live()
    key = model.town_group(live)
    # the (cluster, town) groups with firms, ascending; each firm's group; group sizes (as np.unique)
    by_key = np.bincount(key, minlength=model.n_town_groups)
    groups = np.flatnonzero(by_key)
    counts = by_key[groups]
    rank = np.zeros(len(by_key), dtype=np.int64)
    rank[groups] = np.arange(len(groups))
    inverse = rank[key]
    mean_margin = np.bincount(inverse, weights=f.margin[live]) / np.maximum(counts, 1)
    lam = p.spinoff_rate * counts * np.maximum(0.0, 1.0 + p.entry_profit_sensitivity * mean_margin)
    n_spin = rng.poisson(lam)
    # parents: uniform within the group
    order = kernels.group_order(inverse, len(groups))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    group_of = np.repeat(np.arange(len(groups)), n_spin)
    pick = starts[group_of] + np.minimum((rng.random(len(group_of)) * counts[group_of]).astype(np.int64),
                                         counts[group_of] - 1)
    parents = live[order[pick]]
    n_exo = rng.poisson(p.exogenous_entry, model.n_clusters)
    exo_cluster = np.repeat(np.arange(model.n_clusters), n_exo)
    n_new = len(parents) + len(exo_cluster)
    model.entries_by_cluster = np.concatenate([f.cluster[parents], exo_cluster]).astype(np.int64)
    model.entries_by_cluster = np.bincount(model.entries_by_cluster, minlength=model.n_clusters)
    if n_new == 0:
        return np.zeros(0, dtype=np.int64)
    # draw every entrant's randomness up front, in a fixed layout
    noise = rng.normal(0.0, 1.0, (5, n_new))
    offsets = rng.integers(-1, 2, (2, n_new))
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
    prior_exo = rng.beta(ta, tb) if len(exo_cluster) else np.zeros(0)
    prop_exo = rng.beta(pa, pb) if len(exo_cluster) else np.zeros(0)
    f.prior_trust[slots] = np.clip(np.concatenate([parent_prior + 0.05 * noise[3, :n_par], prior_exo]), 0, 1)
    f.propensity[slots] = np.clip(np.concatenate([parent_prop + 0.05 * noise[4, :n_par], prop_exo]), 0, 1)
    f.trust_cda[slots] = f.prior_trust[slots]
    f.cash[slots] = p.initial_cash_months * p.wage
    f.age[slots] = -1  # becomes 0 at the end of this month
    f.birth_month[slots] = model.month
    f.margin[slots] = 0.0
    # spin-offs know what their parents know and keep a tie to the parent
    f.aware[slots[:n_par]] = parent_aware
    if n_par:
        # (a new firm's slot has no ties: they went with the firm that held it before)
        model.ties.add(slots[:n_par], parents, f.prior_trust[slots[:n_par]], f.prior_trust[parents], model.month,
                       untied=True)
    model.entry_records.append(np.stack([np.full(n_new, model.month), cl]))
    model._make_agents(slots)
    return slots

