"""ClusterModel: the Mesa model that wires the state, the agents and the submodels.

One step is one month, in the order of DESIGN.md section 3:
market -> CDA -> partnering and joint actions -> support services ->
production and sales -> learning -> growth -> exit and entry -> data.
"""

from __future__ import annotations

from dataclasses import fields
from functools import partial
from typing import Any

import mesa
import numpy as np
import pandas as pd
from mesa.discrete_space import OrthogonalMooreGrid, PropertyLayer

from . import cda, cooperation, demography, economy, keyed, market, observation, presets, services
from .agents import ClusterDevelopmentAgent, Firm, Supplier, SupportInstitution
from .geography import TOWNS, build_region
from .params import INSTITUTION_KINDS, ClusterSpec, ModelParams, ParameterError, PolicyParams, ShockParams
from .state import FirmTable, TieTable


def _read_stat(model: "ClusterModel", name: str):
    return model.stats[name]


class ClusterModel(mesa.Model):
    """An industrial cluster (or several) of small firms, with or without a CDA.

    Build with no arguments for the default cluster and baseline policy. Presets of ``conf/`` are
    chosen by name: ``ClusterModel(cluster="carpet_kashan", policy="trust_first", shock="demand_drop",
    rng=3)`` (the names: :meth:`presets`); keyword overrides with the flat names of
    :func:`parameter_names` change single fields on top of them (``policy_budget=900``,
    ``shock_start_month=30``, ``n_firms=300``), so ``mesa.batch_run`` can sweep presets and fields
    alike. ``params`` takes a whole :class:`~model.params.ModelParams`; a preset named together with it
    fills only a part that ``params`` leaves at its default, and is refused (``ParameterError``) where
    ``params`` sets that part otherwise (see :func:`model.presets.model_params`). Values may be Python or
    NumPy numbers; a wrong type or value raises ``ParameterError`` naming it (see
    ``model.params.checked``). ``rng`` is the run's seed, as in Mesa.
    """

    def __init__(self, params: ModelParams | None = None, *, cluster: str | None = None,
                 policy: str | PolicyParams | None = None, shock: str | ShockParams | None = None, rng=None,
                 **overrides: Any):
        params = presets.model_params(params, cluster=cluster, policy=policy, shock=shock, **overrides)
        self.seed = keyed.seed_from(rng)
        super().__init__(rng=self.seed)
        self.params = params
        self.month = 0
        self.n_clusters = len(params.clusters)
        self.next_group_id = 0

        # values derived from the parameters and the layout, fixed for the run (nothing invalidates them)
        self.action_cdf = cooperation.action_cdf(params.action_mix)  # for cooperation.choose_kinds
        self._build_space()
        # the chance of accepting a partner at each grid distance (cooperation.draw_new_partners)
        self.accept_by_distance = cooperation.acceptance_by_distance(self.region, params.interaction_range)
        self._build_institutions()
        # the columns of the institutions that serve each kind of request (services.serve)
        self.request_columns = services.request_columns(self.local_inst_kind)
        self._build_firms()
        # per-cluster constants of production (economy.produce), once the firms have set each cluster's scale
        self.cluster_consts = economy.cluster_constants(self)
        self._build_cdas()
        # the ties of each cluster (cda._cluster_ties): stale once the tie table's version or size changes
        self.ties_by_cluster: tuple | None = None

        # month-level scratch shared by the sub-steps of one month
        self.month_log: dict[str, Any] = {}
        self.entries_by_cluster = np.zeros(self.n_clusters, dtype=np.int64)
        self.exits_by_cluster = np.zeros(self.n_clusters, dtype=np.int64)
        self.exit_records: list[np.ndarray] = []  # (birth_month, age, cluster) of exits
        self.entry_records: list[np.ndarray] = []  # (birth_month, cluster) of entrants
        self.snapshots: dict[int, dict[str, pd.DataFrame]] = {}
        self.cluster_records: list[dict] = []
        self.stats: dict[str, Any] = {}
        self.triangle_count = observation.TriangleCount()

        market.init_market(self)
        self._settle_firms()
        economy.produce(self, initial=True)
        market.calibrate_demand(self)

        self.datacollector = mesa.DataCollector(
            model_reporters={name: partial(_read_stat, name=name) for name in observation.COLUMNS})
        self._collect()
        self.running = params.months > 0

    @staticmethod
    def presets(group: str | None = None):
        """The preset names that ``cluster=``, ``policy=`` and ``shock=`` take: a dict of the three
        groups' names, or the sorted names of ``group`` alone (the same as ``model.presets.names``)."""
        if group is not None:
            return presets.names(group)
        return {g: presets.names(g) for g in ("cluster", "policy", "shock")}

    # ------------------------------------------------------------------ build
    def _build_space(self) -> None:
        p = self.params
        towns = [c.town for c in p.clusters]
        self.region = build_region(towns, p.cell_km, p.grid_margin_cells)
        r = self.region
        self.grid = OrthogonalMooreGrid((r.width, r.height), torus=False, random=self.random)
        for name, data in (("town", r.town_layer), ("urban", r.urban),
                           ("infrastructure", r.infrastructure), ("industrial_park", r.industrial_park)):
            self.grid.add_property_layer(PropertyLayer.from_data(name, data))
        self.cluster_town_xy = np.array([r.town_xy[r.town_id(c.town)] for c in p.clusters])

    def _cell(self, x: int, y: int):
        return self.grid[(int(x), int(y))]

    def _build_institutions(self) -> None:
        """Each cluster's support institutions and suppliers, as the layout parameters place them."""
        p = self.params
        r = self.region
        hub = r.town_xy[r.town_id(p.hub_town)] if p.hub_town in r.town_names else None
        self.institutions: list[SupportInstitution] = []
        self.suppliers: list[Supplier] = []
        for c, spec in enumerate(p.clusters):
            home = tuple(self.cluster_town_xy[c])
            places = {"home": home, "hub": tuple(hub) if hub is not None else home}
            n = spec.n_firms
            for kind, place, per_firm, quality, fee in zip(INSTITUTION_KINDS, p.institution_place,
                                                           p.institution_capacity, p.institution_quality,
                                                           p.institution_fee):
                inst = SupportInstitution(self, self._cell(*places[place]), c, kind,
                                          max(p.min_capacity, int(round(n * per_firm))), quality, fee)
                inst.index = len(self.institutions)
                self.institutions.append(inst)
            for kind, place, markup, per_firm, rel, disc in zip(
                    p.supplier_kind, p.supplier_place, p.supplier_markup, p.supplier_capacity,
                    p.supplier_reliability, p.supplier_group_discount):
                sup = Supplier(self, self._cell(*places[place]), c, kind, markup, max(p.min_capacity, int(round(n * per_firm))),
                               rel, disc)
                sup.index = len(self.suppliers)
                self.suppliers.append(sup)
        # every cluster has the same layout of institutions and suppliers (its "links"); a firm's
        # awareness matrix has one column per link of its own cluster: institutions, then suppliers
        self.cluster_institutions = np.array([[i.index for i in self.institutions if i.cluster == c]
                                              for c in range(self.n_clusters)], dtype=np.int64)
        self.cluster_suppliers = np.array([[s.index for s in self.suppliers if s.cluster == c]
                                           for c in range(self.n_clusters)], dtype=np.int64)
        self.n_links = self.cluster_institutions.shape[1] + self.cluster_suppliers.shape[1]
        assert self.n_links <= 64, "awareness is packed into 64-bit words (kernels.awareness_differences)"
        self.inst_kind = np.array([INSTITUTION_KINDS.index(i.kind) for i in self.institutions], dtype=np.int64)
        self.inst_capacity = np.array([i.capacity for i in self.institutions], dtype=np.int64)
        self.inst_quality = np.array([i.quality for i in self.institutions])
        self.inst_fee = np.array([i.fee for i in self.institutions])
        self.sup_raw = np.array([s.kind == "raw_material" for s in self.suppliers])
        self.sup_markup = np.array([s.markup for s in self.suppliers])
        self.sup_capacity = np.array([s.capacity for s in self.suppliers], dtype=np.int64)
        self.sup_reliability = np.array([s.reliability for s in self.suppliers])
        self.sup_discount = np.array([s.group_discount for s in self.suppliers])
        self.local_inst_kind = self.inst_kind[self.cluster_institutions[0]]
        self.local_sup_raw = self.sup_raw[self.cluster_suppliers[0]]

    def _build_firms(self) -> None:
        p = self.params
        total = sum(c.n_firms for c in p.clusters)
        self.firms = FirmTable(int(total * 1.25) + 16, self.n_links)
        self.ties = TieTable()
        self._firm_agents: list[Firm | None] = [None] * self.firms.capacity
        self.scale = np.ones(self.n_clusters)
        self.entrant_productivity = np.ones(self.n_clusters)
        drawn = [self._create_initial_firms(c, spec) for c, spec in enumerate(p.clusters)]
        # relative productivity near the level at which a firm of its size is at its optimum
        solved = economy.initial_productivity(p, p.clusters, [d[1] for d in drawn], [d[2] for d in drawn])
        f = self.firms
        for c, ((slots, _employees, _capital, _noise), (productivity, scale)) in enumerate(zip(drawn, solved)):
            f.productivity[slots] = productivity
            self.scale[c] = scale
        self._initial_noise = [(d[0], d[3]) for d in drawn]
        self._initial_ties()

    def _settle_firms(self) -> None:
        """Each initial firm at its optimal size as the model's own kernels value it
        (economy.settle_productivity), then off it by the drawn noise (``initial_productivity_spread``)."""
        self.settled = economy.settle_productivity(self)
        f = self.firms
        for c, (slots, noise) in enumerate(self._initial_noise):
            f.productivity[slots] *= noise
            # outsiders enter at the productivity of a typical one-worker firm
            single = f.employees[slots] == 1
            self.entrant_productivity[c] = float(np.median(f.productivity[slots][single])) if single.any() else 1.0
        del self._initial_noise

    def _create_initial_firms(self, c: int, spec: ClusterSpec):
        """Cluster c's initial firms, but for their productivity; returns (slots, employees, capital, noise).

        Each firm's attributes are keyed draws of its identity (purpose ``population``, month 0): normals
        0-4 (x, y, -, capital, productivity), uniforms 10 (size) and 11 (age), Betas 1 and 2 (propensity,
        prior trust), uniforms from 20 on (awareness of each link)."""
        p = self.params
        n = spec.n_firms
        uid = keyed.initial_uids(c, n)
        seed, code = self.seed, keyed.code("population")
        u = keyed.uniforms(seed, code, 0, uid, 20 + self.n_links)
        normal = [keyed.normals(seed, code, 0, uid, k) for k in range(5)]
        tx, ty = self.cluster_town_xy[c]
        x = np.clip(np.rint(tx + spec.spread_cells * normal[0]), 0, self.region.width - 1)
        y = np.clip(np.rint(ty + spec.spread_cells * normal[1]), 0, self.region.height - 1)
        # Zipf-like sizes: P(L >= l) = l^-a
        employees = np.minimum(np.floor(u[10] ** (-1.0 / spec.size_exponent)), spec.max_employees)
        employees = employees.astype(np.int64)
        capital = p.capital_per_worker * employees * np.exp(p.initial_capital_spread * normal[3])
        # around the optimum's productivity (set once all are drawn)
        noise = np.exp(p.initial_productivity_spread * normal[4])
        age = (-p.initial_mean_age * np.log(u[11])).astype(np.int64)
        slots = self.firms.allocate(n)
        f = self.firms
        f.alive[slots] = True
        f.uid[slots] = uid
        f.cluster[slots] = c
        f.x[slots], f.y[slots] = x.astype(np.int64), y.astype(np.int64)
        f.town[slots] = self.region.nearest_town(f.x[slots], f.y[slots])
        f.employees[slots] = employees
        f.capital[slots] = capital
        f.cash[slots] = p.initial_cash_months * p.wage * employees
        f.age[slots] = age
        f.birth_month[slots] = -age
        f.propensity[slots] = keyed.betas(seed, code, 0, uid, 1, np.full(n, spec.propensity_alpha),
                                          np.full(n, spec.propensity_beta))
        f.prior_trust[slots] = keyed.betas(seed, code, 0, uid, 2, np.full(n, spec.trust_alpha),
                                           np.full(n, spec.trust_beta))
        f.trust_cda[slots] = f.prior_trust[slots]
        # each firm knows a few of its cluster's institutions and suppliers
        f.aware[slots] = u[20:].T < p.initial_awareness
        self._make_agents(slots)
        return slots, employees, capital, noise

    def _initial_ties(self) -> None:
        """An existing cluster has a sparse network: about one tie per firm to a near colleague."""
        live = self.firms.live()
        partners = cooperation.draw_new_partners(self, live, "initial_ties")
        ok = partners >= 0
        a, b = live[ok], partners[ok]
        f = self.firms
        self.ties.add(a, b, f.prior_trust[a], f.prior_trust[b], month=0)

    def _make_agents(self, slots: np.ndarray) -> None:
        f = self.firms
        if len(self._firm_agents) < f.capacity:
            self._firm_agents.extend([None] * (f.capacity - len(self._firm_agents)))
        grid, agents = self.grid, self._firm_agents
        for s, x, y in zip(slots.tolist(), f.x[slots].tolist(), f.y[slots].tolist()):
            agents[s] = Firm(self, s, grid[(x, y)])

    def _build_cdas(self) -> None:
        pol = self.params.policy
        self.cdas: list[ClusterDevelopmentAgent | None] = [None] * self.n_clusters
        funded = cda.select_clusters(self)
        for c in funded:
            share = 1.0 / len(funded)
            self.cdas[c] = ClusterDevelopmentAgent(self, c, pol.budget * share,
                                                   tuple(self.cluster_town_xy[c]))

    # ------------------------------------------------------------------ agents
    def town_group(self, slots: np.ndarray) -> np.ndarray:
        """(cluster, town) group of each slot's firm, in 0..n_town_groups-1 (for spillovers, pools, spin-offs)."""
        return self.firms.cluster[slots] * (len(self.region.town_names) + 1) + self.firms.town[slots]

    @property
    def n_town_groups(self) -> int:
        return self.n_clusters * (len(self.region.town_names) + 1)

    def firm_agent(self, slot: int) -> Firm:
        """The Mesa agent viewing firm slot ``slot``."""
        return self._firm_agents[int(slot)]

    def remove_firms(self, slots: np.ndarray) -> None:
        """Remove exited firms: Mesa agents, ties and array slots."""
        if len(slots) == 0:
            return
        dead = np.zeros(self.firms.capacity, dtype=bool)
        dead[slots] = True
        self.ties.drop_firms(dead)
        agents = self._firm_agents
        for s in slots.tolist():
            agents[s].remove()
            agents[s] = None
        self.firms.release(slots)

    # ------------------------------------------------------------------ run
    def step(self) -> None:
        """Simulate one month."""
        self.month += 1
        self.month_log = {}
        market.update(self)
        cda.act(self)
        cooperation.partnering(self)
        services.serve(self)
        economy.produce(self)
        economy.learn(self)
        economy.grow(self)
        demography.exit_and_entry(self)
        self.firms.age[self.firms.alive] += 1
        self._collect()
        if self.month >= self.params.months:
            self.running = False

    def run(self, months: int | None = None) -> "ClusterModel":
        """Run to the horizon (or ``months`` more months); returns self."""
        end = self.params.months if months is None else self.month + months
        while self.running and self.month < end:
            self.step()
        return self

    def _collect(self) -> None:
        self.stats, per_cluster = observation.compute(self)
        self.cluster_records.extend(per_cluster)
        self.datacollector.collect(self)
        if self.month in self.params.snapshot_months:
            self.snapshots[self.month] = observation.snapshot(self)

    # ------------------------------------------------------------------ results
    def series(self) -> pd.DataFrame:
        """Region-level monthly series (DESIGN.md section 6 columns), one row a month."""
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def demography(self) -> pd.DataFrame:
        """Every entry and exit so far: event, month, birth_month, age (at exit; 0 at entry), cluster.

        A firm that enters in month b is 0 months old at the end of month b; one
        that exits in month t was ``t - birth_month - 1`` months old then (its
        age before the month's ageing).
        """
        names = np.array([c.name for c in self.params.clusters])
        columns = ["event", "month", "birth_month", "age", "cluster"]
        entries = np.concatenate(self.entry_records, axis=1) if self.entry_records else np.zeros((2, 0), np.int64)
        exits = np.concatenate(self.exit_records, axis=1) if self.exit_records else np.zeros((3, 0), np.int64)
        n_in, n_out = entries.shape[1], exits.shape[1]
        frame = pd.DataFrame({
            "event": pd.array(["entry"] * n_in + ["exit"] * n_out, dtype="str"),  # (typed even when empty)
            "month": np.concatenate([entries[0], exits[0] + exits[1] + 1]).astype(np.int64),
            "birth_month": np.concatenate([entries[0], exits[0]]).astype(np.int64),
            "age": np.concatenate([np.zeros(n_in, np.int64), exits[1]]).astype(np.int64),
            "cluster": pd.array(names[np.concatenate([entries[1], exits[2]]).astype(np.int64)], dtype="str"),
        })
        return frame.sort_values(["month", "event"], kind="stable", ignore_index=True)[columns]

    def cluster_series(self) -> pd.DataFrame:
        """The same series per cluster, with a ``cluster`` column (the cluster's name)."""
        return pd.DataFrame(self.cluster_records, columns=["cluster", *observation.COLUMNS])


def parameter_names() -> list[str]:
    """Names accepted as keyword overrides by :class:`ClusterModel` (``cluster``, ``policy`` and
    ``shock`` also take a preset's name)."""
    names = ["cluster"] + [f.name for f in fields(ModelParams)]
    names += [f"policy_{f.name}" for f in fields(PolicyParams)]
    names += [f"shock_{f.name}" for f in fields(ShockParams)]
    names += [f"cluster_{f.name}" for f in fields(ClusterSpec)]
    return names


__all__ = ["ClusterModel", "ParameterError", "TOWNS", "parameter_names"]
