"""The cluster development agent (5.9): phases, instruments with a budget, and what outlasts it.

Each funded cluster has one CDA. Its phases are shares of the contract
(diagnostic, trust building, pilot joint actions, strategic projects, exit and
hand-over). Its instruments are the table :data:`INSTRUMENTS` (each with the
phases it acts in, the parameter that switches it on, how it is paid and the
function that acts; docs/ODD.md shows it). Instruments act in their phases, in
the table's order, and only while the budget pays for them.

After the CDA leaves, brokered groups and the consortium hold while their
members' mean trust stays above ``group_trust_threshold``; the association
survives while member fees cover its running cost and members' mean trust
stays above ``association_trust_threshold``, and it keeps hosting events; the
facility runs while the association does (:func:`_maintain`). A CDA with zero
budget, or with no instrument switched on, does nothing at all (and draws no
random numbers).

Adding an instrument: see docs/CONTRIBUTING.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from . import keyed, kernels

# a CDA's phases, in order ("none" before its start or when it cannot act, "ended" after its contract)
PHASES = ("none", "diagnostic", "trust_building", "pilot", "strategic", "exit", "ended")


@dataclass(frozen=True)
class Instrument:
    """One of the CDA's instruments: a row of :data:`INSTRUMENTS`."""

    name: str
    phases: tuple[str, ...]  # the phases in which it acts (each month of them)
    switch: str  # the PolicyParams field that switches it on (a number > 0, or True)
    cost: str  # how it is paid, for docs (it charges the budget itself, through cda.charge)
    act: Callable | None  # act(model, cda, draws) in a month of its phases; None: it acts elsewhere (said in cost)

    def on(self, policy) -> bool:
        """Is it switched on in ``policy``?"""
        return bool(getattr(policy, self.switch))


def select_clusters(model) -> list[int]:
    """The clusters that get a CDA: every funded one, or the programme's pick among them.

    A programme that pays for ``programme_cdas`` CDAs, fewer than there are
    funded clusters, ranks them once, at the start, by its selection rule:
    ``largest`` (most firms), ``export_potential`` (highest share of firms at
    85% or more of the cluster's export threshold: those that promotion and
    consortia can lift over it), ``trust_gap`` (lowest mean prior trust), or
    ``random`` (keyed draws of its own, one per cluster: the smallest win). Ties go to the
    cluster listed first.
    """
    specs = model.params.clusters
    pol = model.params.policy
    eligible = [c for c, spec in enumerate(specs) if spec.funded]
    k = pol.programme_cdas
    if k == 0 or k >= len(eligible):
        return eligible
    f = model.firms
    live = f.live()
    by_cluster = f.cluster[live]
    n = np.bincount(by_cluster, minlength=model.n_clusters).astype(float)
    if pol.programme_selection == "random":
        picked = keyed.smallest(model.seed, keyed.code("programme"), 0, np.array(eligible, dtype=np.int64), k)
        return sorted(eligible[i] for i in picked)
    if pol.programme_selection == "largest":
        score = n
    elif pol.programme_selection == "export_potential":
        threshold = np.array([s.export_threshold for s in specs])[by_cluster]
        near = np.bincount(by_cluster, weights=(f.productivity[live] >= 0.85 * threshold).astype(float),
                           minlength=model.n_clusters)
        score = near / np.maximum(n, 1)
    else:  # trust_gap
        prior = np.bincount(by_cluster, weights=f.prior_trust[live], minlength=model.n_clusters)
        score = 1.0 - prior / np.maximum(n, 1)
    order = sorted(eligible, key=lambda c: (-score[c], c))
    return sorted(order[:k])


def phase_of(policy, month: int) -> tuple[str, int]:
    """(phase, months since the phase began) of a CDA in ``month``."""
    rel = month - policy.start_month
    d = policy.duration_months
    if rel < 0:
        return "none", 0  # reported like the baseline's: before its start a programme is invisible
    if rel >= d:
        return "ended", rel - d
    bounds = np.cumsum([policy.share_diagnostic, policy.share_trust_building, policy.share_pilot,
                        policy.share_strategic])
    ends = np.rint(bounds * d).astype(int)
    begin = 0
    for name, end in zip(PHASES[1:5], ends):  # diagnostic, trust building, pilot, strategic
        if rel < end:
            return name, rel - begin
        begin = end
    return "exit", rel - begin


def has_instruments(policy) -> bool:
    """Does ``policy`` switch on any instrument?"""
    return any(instrument.on(policy) for instrument in INSTRUMENTS)


def _acts(model, cda) -> bool:
    return cda is not None and cda.funded and has_instruments(model.params.policy)


def act(model) -> None:
    """Step 2: every CDA acts according to its phase and budget; collectives are maintained."""
    pol = model.params.policy
    for cda in model.cdas:
        if not _acts(model, cda):
            continue
        phase, months_in = phase_of(pol, model.month)
        cda.phase, cda.months_in_phase = phase, months_in
        if phase == "none":
            continue
        rng = Draws(model)
        if phase == "diagnostic":
            diag_len = max(1, int(round(pol.share_diagnostic * pol.duration_months)))
            cda.knowledge = min(1.0, (months_in + 1) / diag_len)
            cda.credibility += (1.0 - cda.credibility) * (1.0 / diag_len)
            continue
        cda.knowledge = 1.0
        for instrument in INSTRUMENTS:
            if instrument.act is not None and phase in instrument.phases and instrument.on(pol):
                instrument.act(model, cda, rng)
        _maintain(model, cda, rng, phase)


class Draws:
    """A CDA's keyed draws in one month: ``firms(purpose, slots)`` gives each firm's next uniform of
    the purpose (call k of the month takes draw k of each firm's key), so one extra event or group
    shifts no other firm's draws and none of the baseline's."""

    def __init__(self, model):
        self.model = model
        self.calls: dict[str, int] = {}

    def firms(self, purpose: str, slots: np.ndarray) -> np.ndarray:
        index = self.calls.get(purpose, 0)
        self.calls[purpose] = index + 1
        return keyed.firm_uniform(self.model, purpose, slots, index)


# ---------------------------------------------------------------- targeting
def target(model, cda, candidates: np.ndarray, n: int, rng: "Draws") -> np.ndarray:
    """Pick ``n`` of ``candidates`` by the policy's targeting rule, blurred by the CDA's ignorance.

    The score is ``knowledge * rank(rule) + (1 - knowledge) * noise``; before
    the diagnostic is done, the CDA's choice is close to random.
    """
    rule = model.params.policy.targeting
    noise = rng.firms("target", candidates)
    if n >= len(candidates):
        return candidates
    f = model.firms
    if rule == "random":
        key = noise
    else:
        if rule == "largest":
            value = f.employees[candidates].astype(float)
        elif rule in ("most_connected", "least_connected"):
            deg = model.ties.degree(f.capacity)[candidates].astype(float)
            value = deg if rule == "most_connected" else -deg
        else:  # lagging: lowest productivity first
            value = -f.productivity[candidates]
        rank = (np.argsort(np.argsort(value + 1e-9 * noise, kind="stable"), kind="stable") + 0.5) / len(candidates)
        key = cda.knowledge * rank + (1.0 - cda.knowledge) * noise
    return candidates[np.argsort(-key, kind="stable")[:n]]


def _cluster_firms(model, cda) -> np.ndarray:
    f = model.firms
    return np.flatnonzero(f.alive & (f.cluster == cda.cluster))


def _accrue(cda, name: str, per_year: float) -> int:
    """Whole actions due this month at ``per_year`` (fractions carry over)."""
    acc = cda.accrual.get(name, 0.0) + per_year / 12.0
    n = int(np.floor(acc + 1e-9))
    cda.accrual[name] = acc - n
    return n


# ---------------------------------------------------------------- instruments
def meet(model, members: np.ndarray, boost: float, n_new_ties: int, rng: "Draws") -> None:
    """A meeting: members form new ties with each other, and trust among them rises by ``boost``.

    Each member forms ``n_new_ties`` ties to other members drawn at random (new ties
    start at the priors; a pair drawn twice is one tie); then trust on every tie among members closes a
    share ``boost`` of its gap to 1, both ways.
    """
    f = model.firms
    ties = model.ties
    m = len(members)
    boost = min(max(boost, 0.0), 1.0)
    if m < 2:
        return
    if n_new_ties > 0:
        # each of its ties to one of the other members, by its keyed draw (members ordered by identity)
        order = np.argsort(model.firms.uid[members], kind="stable")
        by_uid = members[order]
        rank = np.empty(m, dtype=np.int64)
        rank[order] = np.arange(m)
        src, dst = [], []
        for _ in range(n_new_ties):
            pick = np.minimum((rng.firms("meet", members) * (m - 1)).astype(np.int64), m - 2)
            src.append(members)
            dst.append(by_uid[pick + (pick >= rank)])
        src, dst = np.concatenate(src), np.concatenate(dst)
        ties.add(src, dst, f.prior_trust[src], f.prior_trust[dst], model.month)
    inside = np.zeros(f.capacity, dtype=bool)
    inside[members] = True
    kernels.boost_trust_within(inside, boost, model.month, ties.i, ties.j, ties.trust_ij, ties.trust_ji, ties.last)
    # meeting the cluster's firms also raises trust in strangers of the cluster (generalised trust)
    f.prior_trust[members] += model.params.generalised_trust_share * boost * (1.0 - f.prior_trust[members])


def _events(model, cda, rng) -> None:
    p = model.params
    pol = p.policy
    f = model.firms
    for _ in range(_accrue(cda, "events", pol.events_per_year)):
        if not cda.charge(pol.event_cost):
            return
        invited = target(model, cda, _cluster_firms(model, cda), pol.event_size, rng)
        attend_p = p.attend_base + (1.0 - p.attend_base) * f.trust_cda[invited]
        came = invited[rng.firms("attend", invited) < attend_p]
        meet(model, came, pol.event_trust_boost * pol.effectiveness * cda.credibility, pol.event_ties, rng)
        f.trust_cda[came] += p.cda_trust_gain * (1.0 - f.trust_cda[came])
        cda.events_held += 1


def _linkage(model, cda, rng) -> None:
    pol = model.params.policy
    f = model.firms
    n = _accrue(cda, "linkage", pol.linkage_firms_per_year)
    if n == 0:
        return
    if pol.linkage_cost > 0:
        n = min(n, int(np.floor(cda.budget_left / pol.linkage_cost + 1e-9)))
    if n == 0 or not cda.charge(n * pol.linkage_cost):
        return
    chosen = target(model, cda, _cluster_firms(model, cda), n, rng)
    f.aware[chosen] = True  # every institution and supplier of its own cluster
    f.trust_cda[chosen] += 0.5 * model.params.cda_trust_gain * (1.0 - f.trust_cda[chosen])


def _broker_groups(model, cda, rng, *, kind: str) -> None:
    pol = model.params.policy
    f = model.firms
    field = "purchasing_group" if kind == "purchasing" else "marketing_group"
    for _ in range(_accrue(cda, f"groups_{kind}", pol.groups_per_year)):
        pool = _cluster_firms(model, cda)
        pool = pool[getattr(f, field)[pool] < 0]
        if len(pool) < 2 or not cda.charge(pol.group_cost):
            return
        members = target(model, cda, pool, pol.group_size, rng)
        gid = model.next_group_id
        model.next_group_id += 1
        getattr(f, field)[members] = gid
        meet(model, members, pol.event_trust_boost * pol.effectiveness * cda.credibility, len(members), rng)
        cda.groups.append({"kind": kind, "id": gid})


def _consortium(model, cda, rng) -> None:
    """Formed at the start of the strategic phase (its first month paid then) from the most productive firms
    that do not export on their own; the CDA pays its monthly cost from then on while it is there and can
    (when the money runs out the consortium holds only by its members' trust)."""
    pol = model.params.policy
    f = model.firms
    if not (cda.phase == "strategic" and cda.months_in_phase == 0):
        if cda.consortium_active and cda.consortium_funded:
            cda.consortium_funded = cda.charge(pol.consortium_cost)
        return
    pool = _cluster_firms(model, cda)
    pool = pool[~f.exporter[pool]]
    if len(pool) < 2 or not cda.charge(pol.consortium_cost):
        return
    members = pool[np.argsort(-f.productivity[pool], kind="stable")[: pol.consortium_size]]
    f.consortium[members] = cda.cluster
    cda.consortium_active = True
    cda.consortium_funded = True
    meet(model, members, pol.event_trust_boost * pol.effectiveness * cda.credibility, len(members), rng)


def _set_up_facility(model, cda, rng) -> None:
    """Set up once, at the start of the strategic phase."""
    if cda.months_in_phase == 0 and cda.charge(model.params.policy.facility_cost):
        cda.facility_active = True


def _form_association(model, cda, rng) -> None:
    """Formed once, at the start of the strategic phase, by the firms that trust the CDA enough."""
    p = model.params
    f = model.firms
    if cda.months_in_phase > 0 or not cda.charge(p.policy.association_cost):
        return
    firms = _cluster_firms(model, cda)
    f.member[firms[f.trust_cda[firms] >= p.join_trust]] = True
    cda.association_active = True


# ---------------------------------------------------------------- the instruments
# In the order in which they act within a month (the order draws random numbers and spends the budget).
_ACTIVE = ("trust_building", "pilot", "strategic")
INSTRUMENTS = (
    Instrument("events", _ACTIVE, "events_per_year", "`event_cost` per event", _events),
    Instrument("linkage", _ACTIVE, "linkage_firms_per_year", "`linkage_cost` per firm", _linkage),
    Instrument("purchasing_groups", ("pilot",), "groups_per_year", "`group_cost` per group",
               partial(_broker_groups, kind="purchasing")),
    Instrument("marketing_groups", ("strategic",), "groups_per_year", "`group_cost` per group",
               partial(_broker_groups, kind="marketing")),
    Instrument("consortium", ("strategic", "exit"), "consortium_size",
               "`consortium_cost` a month, from its forming at the start of the strategic phase", _consortium),
    Instrument("facility", ("strategic",), "common_facility",
               "`facility_cost` once, at the start of the strategic phase", _set_up_facility),
    Instrument("association", ("strategic",), "association",
               "`association_cost` once, at the start of the strategic phase", _form_association),
    Instrument("subsidy", ("pilot", "strategic"), "subsidy_rate",
               "`subsidy_rate` x c per contribution made (in the games: `subsidy_shares`)", None),
)
SUBSIDY = next(i for i in INSTRUMENTS if i.name == "subsidy")


def instruments_markdown() -> str:
    """The instrument table for docs/ODD.md (docs/update_params.py writes it there)."""
    rows = ["| instrument | acts in | switched on by | paid |", "|---|---|---|---|"]
    for i in INSTRUMENTS:
        rows.append(f"| {i.name.replace('_', ' ')} | {', '.join(p.replace('_', ' ') for p in i.phases)} | "
                    f"`{i.switch}` | {i.cost} |")
    return "\n".join(rows)


# ---------------------------------------------------------------- collectives
def _cluster_ties(model, cluster: int) -> np.ndarray:
    """Indices of the ties of one cluster, ascending (grouped once per change of the tie table)."""
    ties = model.ties
    cache = model.ties_by_cluster
    if cache is None or cache[0] != ties.version or cache[1] != len(ties):
        if model.n_clusters == 1:
            order, bounds = np.arange(len(ties)), np.array([0, len(ties)])
        else:
            by = model.firms.cluster[ties.i]
            order = kernels.group_order(by, model.n_clusters)
            bounds = np.concatenate([[0], np.cumsum(np.bincount(by, minlength=model.n_clusters))])
        cache = (ties.version, len(ties), order, bounds)
        model.ties_by_cluster = cache
    order, bounds = cache[2], cache[3]
    return order[bounds[cluster]:bounds[cluster + 1]]


def _mean_trust_within(model, label: np.ndarray, n_labels: int, cluster: int) -> np.ndarray:
    """Mean trust on the cluster's ties whose two ends carry the same label (0..n_labels-1; -1 = none)."""
    ties = model.ties
    return kernels.mean_trust_within(label, n_labels, _cluster_ties(model, cluster), ties.i, ties.j,
                                     ties.trust_ij, ties.trust_ji)


def _labels(f, slots: np.ndarray, values) -> np.ndarray:
    """A label per firm slot: ``values`` at ``slots``, -1 (none) elsewhere (for _mean_trust_within)."""
    label = np.full(f.capacity, -1, dtype=np.int64)
    label[slots] = values
    return label


def _maintain(model, cda, rng, phase: str) -> None:
    """Groups, consortium, facility and association: hold, pay, or dissolve."""
    p = model.params
    f = model.firms
    mine = _cluster_firms(model, cda)  # slots of the cluster's firms, ascending
    cda_present = phase not in ("ended",)
    # brokered groups dissolve when their members' mean trust falls (the CDA keeps them together)
    if not cda_present and cda.groups:
        for field in ("purchasing_group", "marketing_group"):
            group = getattr(f, field)
            grouped = mine[group[mine] >= 0]
            if len(grouped):
                trust = _mean_trust_within(model, _labels(f, grouped, group[grouped]), model.next_group_id,
                                           cda.cluster)
                group[grouped[trust[group[grouped]] < p.group_trust_threshold]] = -1
    # marketing groups and the consortium give export access while they hold
    marketing = mine[f.marketing_group[mine] >= 0]
    f.export_until[marketing] = np.maximum(f.export_until[marketing], model.month)
    if cda.consortium_active:
        members = mine[f.consortium[mine] == cda.cluster]
        if not (cda_present and cda.consortium_funded):
            trust = _mean_trust_within(model, _labels(f, members, 0), 1, cda.cluster)[0]
            if trust < p.group_trust_threshold or len(members) < 2:
                f.consortium[members] = -1
                cda.consortium_active = False
                members = members[:0]
        f.export_until[members] = np.maximum(f.export_until[members], model.month)
    _maintain_association(model, cda, rng, phase, mine)
    # the facility runs while the CDA or the association runs it
    if cda.facility_active and not (cda_present or cda.association_active):
        cda.facility_active = False
    if cda.facility_active:
        tx, ty = cda.town_xy
        d = np.maximum(np.abs(f.x[mine] - tx), np.abs(f.y[mine] - ty))
        f.facility_user[mine] = d <= p.policy.facility_range
    else:
        f.facility_user[mine] = False


def _maintain_association(model, cda, rng, phase: str, mine: np.ndarray) -> None:
    """``mine``: slots of the cluster's firms, ascending."""
    p = model.params
    f = model.firms
    if not cda.association_active:
        return
    # members who cannot pay leave; firms that trust the programme join
    members = mine[f.member[mine]]
    leave = members[(f.cash[members] < 0) & (rng.firms("association", members) < p.association_leave_rate)]
    f.member[leave] = False
    others = mine[~f.member[mine]]
    join = others[(f.trust_cda[others] >= p.join_trust) & (rng.firms("association", others) < p.association_join_rate)]
    f.member[join] = True
    members = mine[f.member[mine]]
    f.cash[members] -= p.association_fee
    income = p.association_fee * len(members)
    deficit = p.association_running_cost - income
    # while the CDA is there and can pay, it covers the deficit; otherwise the association
    # must live on its fees and its members' trust
    if phase != "ended" and (deficit <= 0 or cda.charge(deficit)):
        pass
    else:
        trust = _mean_trust_within(model, _labels(f, members, 0), 1, cda.cluster)[0]
        if deficit > 0 or trust < p.association_trust_threshold:
            f.member[mine] = False
            cda.association_active = False
            return
    # from the hand-over on, the association hosts events among its members (paid by fees)
    if phase in ("exit", "ended"):
        for _ in range(_accrue(cda, "association_events", p.association_events_per_year)):
            came = members[rng.firms("association", members) < 0.5]
            meet(model, came, 0.5 * p.policy.event_trust_boost, 1, rng)


# ---------------------------------------------------------------- subsidy
def subsidy_shares(model, a: np.ndarray, b: np.ndarray, cost: np.ndarray):
    """Subsidy share for each side of each pair, reserved within the budget.

    Pairs of a cluster whose CDA is in the pilot or strategic phase get
    ``subsidy_rate`` on both sides, in order, while the worst case (both sides
    contribute) still fits in the budget left.
    """
    pol = model.params.policy
    s_a = np.zeros(len(a))
    s_b = np.zeros(len(a))
    if pol.subsidy_rate == 0 or len(a) == 0:
        return s_a, s_b
    cluster = model.firms.cluster[a]
    for cda in model.cdas:
        if not _acts(model, cda) or cda.phase not in SUBSIDY.phases or cda.budget_left <= 0:
            continue
        idx = np.flatnonzero(cluster == cda.cluster)
        worst = np.cumsum(2.0 * pol.subsidy_rate * cost[idx])
        ok = idx[worst <= cda.budget_left + 1e-12]
        s_a[ok] = pol.subsidy_rate
        s_b[ok] = pol.subsidy_rate
    return s_a, s_b


def charge_subsidies(model, a, b, coop_a, coop_b, s_a, s_b, cost) -> None:
    """Charge each CDA for the subsidised contributions made (never beyond its budget)."""
    if not (s_a.any() or s_b.any()):
        return
    cluster = model.firms.cluster[a]
    paid = np.where(coop_a, s_a * cost, 0.0) + np.where(coop_b, s_b * cost, 0.0)
    for cda in model.cdas:
        if cda is None:
            continue
        amount = float(paid[cluster == cda.cluster].sum())
        if amount > 0:
            cda.charge(min(amount, cda.budget_left))

