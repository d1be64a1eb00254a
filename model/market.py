"""Market (DESIGN.md 2 and 5.5): domestic inverse demand, export market, input prices, shocks.

Per cluster, the domestic price of month t is set from last month's domestic
supply Q(t-1) on the inverse demand curve
``P = P0 * (Q / Q0(t)) ** (-1 / elasticity) * demand_shock(t)``, where Q0 grows
with the cluster's market trend. Firms sell at that price (a cobweb market: more
output this month lowers next month's price). Exports sell at
``export_price * exchange_rate(t) * (X(t-1) / X0(t)) ** (-1 / export_elasticity)``:
the cluster's foreign market is large but finite.
"""

from __future__ import annotations

import numpy as np

from . import keyed

MIN_SUPPLY_SHARE = 0.05  # floor of last month's supply relative to the reference demand


def init_market(model) -> None:
    clusters = model.params.clusters
    model.price = np.array([c.price for c in clusters], dtype=float)
    model.q0 = np.ones(len(clusters))
    model.domestic_supply = np.zeros(len(clusters))
    model.export_supply = np.zeros(len(clusters))
    model.x0 = np.ones(len(clusters))
    model.export_price = np.array([c.export_price for c in clusters], dtype=float)
    model.demand_shock = np.ones(len(clusters))
    model.input_price = 1.0
    model.exchange_rate = 1.0
    model.export_open = 1.0


def calibrate_demand(model) -> None:
    """Set Q0 to the initial domestic supply, so that the initial price is P0."""
    model.q0 = np.maximum(model.domestic_supply.copy(), 1e-9)
    # a cluster with no exporter yet gets a foreign market sized as a share of its home market
    share = np.array([c.initial_export_market for c in model.params.clusters])
    model.x0 = np.where(model.export_supply > 0, model.export_supply, share * model.q0)


def shock_active(model, kind: str) -> bool:
    s = model.params.shock
    return s.kind == kind and s.start_month <= model.month < s.start_month + s.duration_months


def update(model) -> None:
    """Step 1: this month's shocks and prices."""
    p = model.params
    t = model.month
    # keyed on the cluster (its index) and the month
    noise = np.exp(p.demand_noise * keyed.normals(model.seed, keyed.code("market"), t,
                                                  np.arange(model.n_clusters, dtype=np.int64), 0))
    mag = p.shock.magnitude
    drop = (1.0 - mag) if shock_active(model, "demand_drop") else 1.0
    model.demand_shock = noise * drop
    spike = shock_active(model, "input_price_spike")
    # a currency devaluation raises input prices and, with a lag, export revenue in rials
    model.input_price = 1.0 + mag if spike else 1.0
    model.exchange_rate = 1.0 + 0.5 * mag if spike else 1.0
    model.export_open = (1.0 - mag) if shock_active(model, "export_restriction") else 1.0
    growth = np.array([(1.0 + c.market_growth) ** (t / 12.0) for c in p.clusters])
    p0 = np.array([c.price for c in p.clusters])
    eps = np.array([c.elasticity for c in p.clusters])
    # supply is floored at a twentieth of the reference level, so that a market that sold
    # nothing last month (all firms gone, nobody exporting) does not quote an absurd price
    supply = np.maximum(model.domestic_supply, MIN_SUPPLY_SHARE * model.q0 * growth)
    model.price = p0 * (supply / (model.q0 * growth)) ** (-1.0 / eps) * model.demand_shock
    # the cluster's export market is finite too, with a more elastic demand
    px = np.array([c.export_price for c in p.clusters])
    eps_x = np.array([c.export_elasticity for c in p.clusters])
    exported = np.maximum(model.export_supply, MIN_SUPPLY_SHARE * model.x0 * growth)
    model.export_price = px * model.exchange_rate * (exported / (model.x0 * growth)) ** (-1.0 / eps_x)
