"""Mesa agents: thin views over the model's arrays.

A :class:`Firm` holds only its slot index; its attributes read and write the
model's :class:`~model.state.FirmTable`, so that ``AgentSet.get``, ``agg`` and
``select`` and the ``DataCollector`` see the same state as the vectorised
sub-steps. Suppliers and support institutions are few and keep their own
attributes; the CDA holds the programme's state. (Their ``model`` is the
:class:`~model.model.ClusterModel`; annotated as Mesa's ``Model``, so that this
module does not import the one that builds its agents.)
"""

from __future__ import annotations

import numpy as np
from mesa import Agent, Model
from mesa.discrete_space import CellAgent, FixedAgent

from .cda import pay

SIZE_CLASSES = ("micro", "small", "medium", "large")


def size_class(employees):
    """Iran's size classes: micro < 10, small < 50, medium <= 150, large above (vectorised)."""
    e = np.asarray(employees)
    return np.select([e < 10, e < 50, e <= 150], [0, 1, 2], 3)


def _view(name: str, doc: str, cast=None):
    def getter(self):
        value = getattr(self.model.firms, name)[self.slot]
        return cast(value) if cast else value

    def setter(self, value):
        getattr(self.model.firms, name)[self.slot] = value

    return property(getter, setter, doc=doc)


class Firm(CellAgent):
    """A small firm of a cluster: a view over slot ``slot`` of the model's firm arrays."""

    def __init__(self, model: Model, slot: int, cell):
        super().__init__(model)
        self.slot = int(slot)
        self.cell = cell

    cluster = _view("cluster", "cluster id", int)
    employees = _view("employees", "employees [workers], >= 1", int)
    capital = _view("capital", "capital stock [wage-months]", float)
    productivity = _view("productivity", "total factor productivity A [-]", float)
    cash = _view("cash", "cash, negative = debt [wage-months]", float)
    age = _view("age", "age [months]", int)
    cooperation_propensity = _view("propensity", "fixed trait 0..1", float)
    prior_trust = _view("prior_trust", "trust in a new partner 0..1", float)
    trust_in_cda = _view("trust_cda", "trust in the CDA 0..1", float)
    exporter = _view("exporter", "sells abroad this month", bool)
    member = _view("member", "association member", bool)
    output = _view("output", "output this month [units]", float)
    profit = _view("profit", "profit this month [wage-months]", float)

    @property
    def size_class(self) -> str:
        return SIZE_CLASSES[int(size_class(self.employees))]

    @property
    def awareness(self) -> np.ndarray:
        """Boolean per support institution of the firm's cluster (``model.cluster_institutions`` order)."""
        return self.model.firms.aware[self.slot, : self.model.cluster_institutions.shape[1]].copy()

    @property
    def ties(self) -> list[tuple[int, float, float]]:
        """(partner unique_id, my trust in them, their trust in me) for each tie."""
        t = self.model.ties
        out = []
        for k in np.flatnonzero((t.i == self.slot) | (t.j == self.slot)):
            mine = t.i[k] == self.slot
            other = t.j[k] if mine else t.i[k]
            out.append((self.model.firm_agent(other).unique_id,
                        float(t.trust_ij[k] if mine else t.trust_ji[k]),
                        float(t.trust_ji[k] if mine else t.trust_ij[k])))
        return out


class Supplier(FixedAgent):
    """A raw-material or machinery supplier serving firms within reach."""

    def __init__(self, model: Model, cell, cluster: int, kind: str, markup: float,
                 capacity: int, reliability: float, group_discount: float):
        super().__init__(model)
        self.cell = cell
        self.cluster = cluster
        self.kind = kind  # raw_material | machinery
        self.markup = markup  # price relative to the open market (1 = same)
        self.capacity = capacity  # firms served a month
        self.reliability = reliability  # chance an order is delivered on terms
        self.group_discount = group_discount  # extra cut for a joint-purchasing group
        self.index = -1  # position in model.suppliers


class SupportInstitution(FixedAgent):
    """A training centre, credit fund, university, parks company or business-service provider."""

    def __init__(self, model: Model, cell, cluster: int, kind: str, capacity: int,
                 quality: float, fee: float):
        super().__init__(model)
        self.cell = cell
        self.cluster = cluster  # -1 = serves every cluster of the region
        self.kind = kind
        self.capacity = capacity  # firms served a month
        self.quality = quality  # 0..1
        self.fee = fee  # per service [wage-months]
        self.served_last_month = 0
        self.index = -1  # column in the firms' awareness matrix


class ClusterDevelopmentAgent(Agent):
    """The CDA of one funded cluster: budget, phase and instruments (DESIGN.md 5.9)."""

    def __init__(self, model: Model, cluster: int, budget: float, town_xy: tuple[int, int]):
        super().__init__(model)
        self.cluster = cluster
        self.budget = float(budget)  # the contract's whole budget [wage-months]
        self.budget_left = float(budget)
        self.funded = self.budget_left > 0  # a CDA without money does nothing at all
        self.spent = 0.0
        self.phase = "none"  # "none" while it cannot act (no budget or no instrument)
        self.events_held = 0
        self.consortium_funded = False  # the CDA still pays for the consortium
        self.months_in_phase = 0
        self.credibility = model.params.cda_credibility  # rises during the diagnostic
        self.knowledge = 0.0  # of the network, 0..1: sharpens targeting
        self.town_xy = town_xy
        self.association = None  # the cluster's association (cda.Association) while it exists
        self.facility_active = False
        self.facility_reserve = 0.0  # the facility's fees not yet spent [wage-months]
        self.consortium_active = False
        self.groups: list[dict] = []  # brokered groups: {"kind", "id"}
        self.accrual: dict[str, float] = {}  # instrument -> fractional actions carried over

    @property
    def association_active(self) -> bool:
        """Does the cluster's association exist?"""
        return self.association is not None

    def charge(self, amount: float) -> bool:
        """Pay ``amount`` from the budget if it is there; never lets the budget go below 0."""
        return pay(self, amount)
