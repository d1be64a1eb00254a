"""The cluster development agent (5.9): phases, instruments with a budget, and what outlasts it.

Each funded cluster has one CDA. Its phases are shares of the contract
(diagnostic, trust building, pilot joint actions, strategic projects, exit and
hand-over). Its instruments are the table :data:`INSTRUMENTS` (each with the
phases it acts in, the parameter that switches it on, how it is paid and the
function that acts; docs/ODD.md shows it). Instruments act in their phases, in
the table's order, and only while the budget pays for them.

No instrument writes trust (DESIGN.md 5.3, 5.9): meetings make ties, pass on
reputations and (hosted events) start facilitated first games, and trust moves
with what happens in games. Every collective lives on its own economics
(:func:`_maintain`): brokered groups and the consortium hold while their members
keep contributing in a monthly collective game; the association lives on its
members' fees (and the CDA's grants while the CDA is there), spends only what it
has, and dissolves when it cannot pay its running cost or loses its quorum; the
facility runs while fees and grants pay its running cost. A CDA with zero
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
from .game import action_values, betrayal_factor, logistic, realised_value

# how a programme reaches a firm: bits of its ``reached`` field (set once reached, kept)
REACHED = {"attended": 1, "grouped": 2, "subsidised": 4, "member": 8, "linked": 16, "facility": 32}


def reach(model, slots: np.ndarray, how: str) -> None:
    """Mark ``slots`` as reached by the programme in the way ``how`` (a key of :data:`REACHED`)."""
    model.firms.reached[slots] |= REACHED[how]


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
def hosted_shares(host, share: float, cost: np.ndarray):
    """The host's share of each side's cost in facilitated games, for the pairs (in order) whose worst case
    (both sides contribute) its money still covers; 0 for the others."""
    s = np.zeros(len(cost))
    if share > 0 and len(cost):
        worst = np.cumsum(2.0 * share * cost)
        s[worst <= host.budget_left + 1e-12] = share
    return s, s.copy()


def meet(model, members: np.ndarray, n_new_ties: int, rng: "Draws", host=None) -> None:
    """A meeting (5.9): members form new ties, hear each other's reputation, and, where a ``host`` pays
    for it, the pairs who have just met play a facilitated first joint action.

    Each member forms ``n_new_ties`` ties to other members drawn at random (a pair drawn twice is one
    tie; a new tie starts at its ends' priors). Then on every tie among the members each end's trust
    moves ``gossip_weight`` toward the other's reputation, where it has one (5.3 ii). No trust is written
    otherwise: with ``gossip_weight = 0`` and no game, a meeting leaves every trust value as it was. The
    first joint actions are ordinary games (5.2) whose contributions the host pays a share
    ``event_game_subsidy`` of, while its money lasts (played in step 3 with the month's other games,
    cooperation.partnering); trust then moves with what happens in them.
    """
    f = model.firms
    ties = model.ties
    m = len(members)
    if m < 2:
        return
    a = b = np.zeros(0, dtype=np.int64)
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
        lo, hi = np.minimum(src, dst), np.maximum(src, dst)
        _, first = np.unique(ties.keys(lo, hi), return_index=True)
        lo, hi = lo[np.sort(first)], hi[np.sort(first)]
        fresh = ties.find(lo, hi) < 0
        a, b = lo[fresh], hi[fresh]
        ties.add(a, b, f.prior_trust[a], f.prior_trust[b], model.month)
    inside = np.zeros(f.capacity, dtype=bool)
    inside[members] = True
    arrays = ties.arrays()
    kernels.hear_reputation(inside, f.record, model.params.gossip_weight, model.month, arrays.i, arrays.j,
                            arrays.trust_ij, arrays.trust_ji, arrays.last)
    if host is not None and model.params.policy.event_games and len(a):
        # played with the month's other games (step 3, cooperation.partnering)
        model.month_log.setdefault("facilitated", []).append((a, b, host))


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
        reach(model, came, "attended")
        meet(model, came, pol.event_ties, rng, host=cda)
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
    reach(model, chosen, "linked")
    f.trust_cda[chosen] += 0.5 * model.params.cda_trust_gain * (1.0 - f.trust_cda[chosen])


def _broker_groups(model, cda, rng, *, kind: str) -> None:
    """A brokered group: the CDA brings ``group_size`` targeted firms together (a meeting, no first game:
    the group's own monthly game is its first); the group then holds only while its members keep
    contributing (:func:`_hold_groups`)."""
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
        reach(model, members, "grouped")
        meet(model, members, len(members), rng)
        cda.groups.append({"kind": kind, "id": gid})


def _consortium(model, cda, rng) -> None:
    """Formed at the start of the strategic phase (its first month paid then) from the most productive firms
    that do not export on their own; the CDA pays its monthly running cost from then on while it is there
    and can; then its members share it, or it ends (:func:`_hold_consortium`)."""
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
    reach(model, members, "grouped")
    cda.consortium_active = True
    cda.consortium_funded = True
    meet(model, members, len(members), rng)


def _set_up_facility(model, cda, rng) -> None:
    """Set up once, at the start of the strategic phase; it runs while fees and grants pay its running
    cost (:func:`_run_facility`)."""
    if cda.months_in_phase == 0 and cda.charge(model.params.policy.facility_cost):
        cda.facility_active = True
        cda.facility_reserve = 0.0


def _form_association(model, cda, rng) -> None:
    """Formed once, at the start of the strategic phase, by the firms that trust the CDA enough; it then
    lives on its members' fees (and the CDA's grants while the CDA is there), :func:`_run_association`."""
    p = model.params
    f = model.firms
    if cda.months_in_phase > 0 or not cda.charge(p.policy.association_cost):
        return
    firms = _cluster_firms(model, cda)
    joined = firms[f.trust_cda[firms] >= p.join_trust]
    f.member[joined] = True
    reach(model, joined, "member")
    f.member_benefit[firms] = 0.0
    cda.association = Association(formed=model.month)


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


def _labels(f, slots: np.ndarray, values) -> np.ndarray:
    """A label per firm slot: ``values`` at ``slots``, -1 (none) elsewhere (for the collective games)."""
    label = np.full(f.capacity, -1, dtype=np.int64)
    label[slots] = values
    return label


def pay(holder, amount: float) -> bool:
    """Pay ``amount`` from ``holder``'s ``budget_left`` (the CDA's or the association's) if it is all there,
    adding it to ``holder.spent``; never lets the budget go below 0 (no free lunch: whoever runs an instrument
    pays for it, or it does not act)."""
    if amount <= holder.budget_left + 1e-12:
        holder.budget_left = max(0.0, holder.budget_left - amount)
        holder.spent += amount
        return True
    return False


@dataclass
class Association:
    """The cluster's association (5.9): its budget (members' fees, and the CDA's grants while the CDA is
    there), the months in a row it could not pay its running cost, and when it was formed (its yearly
    membership review falls on that month of the year)."""

    formed: int
    budget_left: float = 0.0
    unpaid_months: int = 0
    spent: float = 0.0

    def charge(self, amount: float) -> bool:
        """Pay ``amount`` from the association's budget if it is there."""
        return pay(self, amount)


def _maintain(model, cda, rng, phase: str) -> None:
    """Groups, consortium, association and facility, each month: they hold, pay or end on their own
    economics (5.9). Nothing here writes trust: groups and the consortium play a collective game, whose
    outcome moves trust as games do; the association's events are meetings."""
    f = model.firms
    mine = _cluster_firms(model, cda)  # slots of the cluster's firms, ascending
    cda_present = phase != "ended"
    for field in ("purchasing_group", "marketing_group"):
        _hold_groups(model, cda, mine, field)
    # marketing groups give their members export access while they hold
    marketing = mine[f.marketing_group[mine] >= 0]
    f.export_until[marketing] = np.maximum(f.export_until[marketing], model.month)
    if cda.consortium_active:
        _hold_consortium(model, cda, mine, cda_present)
    if cda.association is not None:
        _run_association(model, cda, rng, mine, cda_present)
    _run_facility(model, cda, mine, cda_present)


def _fellow_trust(model, cluster: int, members: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Each member's mean trust in the other members of its label (its prior where it has no tie)."""
    f = model.firms
    ties = model.ties
    total, count = kernels.trust_in_fellows(label, _cluster_ties(model, cluster), ties.i, ties.j, ties.trust_ij,
                                            ties.trust_ji, f.capacity)
    size = np.bincount(label[members], minlength=int(label.max()) + 1)[label[members]]
    others = np.maximum(size - 1, 1)
    return (total[members] + f.prior_trust[members] * (others - count[members])) / others


def collective_game(model, cluster: int, members: np.ndarray, label: np.ndarray, value: np.ndarray,
                    temptation: float, cost: np.ndarray | float) -> np.ndarray:
    """One month of a collective action (a group's or the consortium's): each member contributes or
    withholds, as in the pair game (5.2), valuing the action at its ``value`` a month with its mean trust in
    the other members as the chance they contribute, ``temptation`` the share a withholder still gets,
    and ``cost`` its contribution. Returns the choices; trust on the ties among members moves toward each
    other's choice (5.3 i), and each member's reputation toward its own.
    """
    p = model.params
    f = model.firms
    trust = _fellow_trust(model, cluster, members, label)
    gain = trust * value * (1.0 - temptation) - np.asarray(cost, dtype=float)
    prob = logistic(p.choice_sharpness * gain + p.reciprocity * (f.propensity[members] - 0.5))
    coop = keyed.firm_uniform(model, "collective", members) < prob
    chose = np.zeros(f.capacity, dtype=bool)
    chose[members] = coop
    ties = model.ties
    kernels.learn_within(label, chose, p.learning_rate, betrayal_factor(p), model.month,
                         _cluster_ties(model, cluster), ties.i, ties.j, ties.trust_ij, ties.trust_ji, ties.last)
    rec = f.record[members]
    choice = coop.astype(float)
    f.record[members] = np.where(rec < 0, choice, rec + p.record_weight * (choice - rec))
    log = model.month_log.setdefault("collective", np.zeros((2, model.n_clusters)))
    log[0, cluster] += len(members)
    log[1, cluster] += coop.sum()
    return coop


def _hold_groups(model, cda, mine: np.ndarray, field: str) -> None:
    """Each brokered group plays its monthly collective game: contributors pay ``group_contribution``;
    the group's joint action goes on (for all members, free-riders too) while at least two contribute,
    and it dissolves otherwise."""
    p = model.params
    f = model.firms
    group = getattr(f, field)
    grouped = mine[group[mine] >= 0]
    if len(grouped) == 0:
        return
    kind = 0 if field == "purchasing_group" else 1
    label = _labels(f, grouped, group[grouped])
    # each member values a month of the group's action from its own state, as a pair's (5.2)
    value = action_values(model, grouped, grouped, np.full(len(grouped), kind)) / p.effect_months
    coop = collective_game(model, cda.cluster, grouped, label, value, p.temptation[kind],
                           p.policy.group_contribution)
    f.cash[grouped[coop]] -= p.policy.group_contribution
    contributors = np.bincount(group[grouped], weights=coop.astype(float), minlength=model.next_group_id)
    holds = contributors[group[grouped]] >= 2
    log = model.month_log.setdefault("group_actions", np.zeros(model.n_clusters))
    log[cda.cluster] += len(np.unique(group[grouped[holds]]))
    group[grouped[~holds]] = -1


def _hold_consortium(model, cda, mine: np.ndarray, cda_present: bool) -> None:
    """Members get export access while the consortium holds. While the CDA pays its running cost, it
    holds; after, its members play a collective game over their shares of the cost: it holds while at
    least half of them (and two) contribute, the contributors paying the cost between them."""
    p = model.params
    f = model.firms
    members = mine[f.consortium[mine] == cda.cluster]
    if not (cda_present and cda.consortium_funded):
        holds = len(members) >= 2
        if holds:
            cost = p.policy.consortium_cost
            value = action_values(model, members, members, np.ones(len(members), dtype=np.int64)) / p.effect_months
            coop = collective_game(model, cda.cluster, members, _labels(f, members, 0), value, p.temptation[1],
                                   cost / len(members))
            n = int(coop.sum())
            holds = n >= max(2, (len(members) + 1) // 2)
            if holds:
                f.cash[members[coop]] -= cost / n
        if not holds:
            f.consortium[members] = -1
            cda.consortium_active = False
            return
    f.export_until[members] = np.maximum(f.export_until[members], model.month)


def _run_association(model, cda, rng, mine: np.ndarray, cda_present: bool) -> None:
    """The association's month (5.9): fees in, the CDA's grant while it is there, its running cost, its
    events while it can pay them; the yearly membership review; dissolution when it has failed to pay
    its running cost for ``association_grace_months`` months in a row, or (after the CDA's exit) when
    it has fewer than ``association_quorum`` members. On dissolving, what is left of its budget goes
    back to its members in equal shares."""
    p = model.params
    f = model.firms
    assoc = cda.association
    # a member who cannot pay its fee leaves
    members = mine[f.member[mine]]
    broke = members[f.cash[members] < p.association_fee]
    f.member[broke] = False
    if (model.month - assoc.formed) % 12 == 0 and model.month > assoc.formed:
        _review_membership(model, cda, rng, mine, cda_present)
    members = mine[f.member[mine]]
    f.cash[members] -= p.association_fee
    assoc.budget_left += p.association_fee * len(members)
    shortfall = p.association_running_cost - assoc.budget_left
    if cda_present and shortfall > 0 and cda.charge(shortfall):
        assoc.budget_left += shortfall
    if assoc.charge(p.association_running_cost):
        assoc.unpaid_months = 0
    else:
        assoc.unpaid_months += 1
    if assoc.unpaid_months >= p.association_grace_months or (not cda_present and len(members) < p.association_quorum):
        if len(members):
            f.cash[members] += assoc.budget_left / len(members)
        f.member[mine] = False
        cda.association = None
        return
    # its events, among members, while it can pay for them and its next month's running cost
    if assoc.unpaid_months == 0:
        for _ in range(_accrue(cda, "association_events", p.association_events_per_year)):
            if assoc.budget_left < p.association_event_cost + p.association_running_cost:
                break
            assoc.charge(p.association_event_cost)
            came = members[rng.firms("association", members) < 0.5]
            meet(model, came, 1, rng, host=assoc)


def credit_event_games(model, a: np.ndarray, b: np.ndarray, played: dict) -> None:
    """What the first games of an association's event gave each member who played one
    (:func:`model.game.realised_value`, from the member's own valuation of the action): it adds to
    ``member_benefit``, which the member weighs against its fees at the yearly review."""
    f = model.firms
    for own, mine, theirs, value, s in ((a, played["coop_a"], played["coop_b"], played["value_a"], played["s_a"]),
                                        (b, played["coop_b"], played["coop_a"], played["value_b"], played["s_b"])):
        gain = realised_value(value, played["cost"], s, played["tau"], mine, theirs)
        member = f.member[own]
        np.add.at(f.member_benefit, own[member], gain[member])


def _review_membership(model, cda, rng, mine: np.ndarray, cda_present: bool) -> None:
    """Once a year each member weighs what membership gave it over the year (what the first games of the
    events it attended gave it, :func:`credit_event_games`; the facility at the member's price) against the
    year's fees, and each other firm weighs what membership would have given it: the members' benefits per
    unit of their revenue, times its own revenue (a joint action's value scales with the firm's own
    business, :func:`model.game.action_values`). Both choose as in the game (5.2), by a logistic in the
    gain over the year. While the CDA is there, firms that trust it enough join as it recruits."""
    p = model.params
    f = model.firms
    members = mine[f.member[mine]]
    others = mine[~f.member[mine]]
    fee = 12.0 * p.association_fee
    u = rng.firms("association", mine)
    draw = np.empty(f.capacity)
    draw[mine] = u
    gain = f.member_benefit[members] - fee
    stay = draw[members] < logistic(p.choice_sharpness * gain + p.reciprocity * (f.propensity[members] - 0.5))
    revenue = float(f.revenue[members].sum())
    per_revenue = float(f.member_benefit[members].sum()) / revenue if revenue > 0 else 0.0
    gain = per_revenue * f.revenue[others] - fee
    join = draw[others] < logistic(p.choice_sharpness * gain + p.reciprocity * (f.propensity[others] - 0.5))
    if cda_present:
        join |= f.trust_cda[others] >= p.join_trust
    f.member[members[~stay]] = False
    f.member[others[join]] = True
    reach(model, others[join], "member")
    f.member_benefit[mine] = 0.0


def _run_facility(model, cda, mine: np.ndarray, cda_present: bool) -> None:
    """The common facility's month (5.9): firms within ``facility_range`` of the cluster's town use it
    where the level effect on their output is worth more than the fee (members pay the member's fee),
    the most valuable first, up to its capacity; its fees pay its running cost, and any shortfall is
    met from its reserve, then by the CDA while it is there, then by the association; when none covers
    it, it closes."""
    p = model.params
    pol = p.policy
    f = model.firms
    f.facility_user[mine] = False
    if not cda.facility_active:
        return
    tx, ty = cda.town_xy
    near = mine[np.maximum(np.abs(f.x[mine] - tx), np.abs(f.y[mine] - ty)) <= pol.facility_range]
    fee = np.where(f.member[near], pol.facility_member_fee, pol.facility_fee)
    value = pol.facility_level * f.revenue[near]
    want = value > fee
    near, fee, value = near[want], fee[want], value[want]
    if len(near) > pol.facility_capacity > 0:  # only the firms that can make the cut (ties at it included) sorted
        cut = np.partition(value, len(value) - pol.facility_capacity)[len(value) - pol.facility_capacity]
        keep = value >= cut
        near, fee, value = near[keep], fee[keep], value[keep]
    order = np.lexsort((f.uid[near], -value))[: pol.facility_capacity]
    users, fee = near[order], fee[order]
    balance = cda.facility_reserve + float(fee.sum()) - pol.facility_running_cost
    if balance < 0 and cda_present and cda.charge(-balance):
        balance = 0.0
    if balance < 0 and cda.association is not None and cda.association.charge(-balance):
        balance = 0.0
    if balance < 0:  # no one covers its running cost: it closes, serving no one
        cda.facility_active = False
        cda.facility_reserve = 0.0
        return
    cda.facility_reserve = balance
    f.cash[users] -= fee
    f.member_benefit[users[f.member[users]]] += pol.facility_fee - pol.facility_member_fee
    f.facility_user[users] = True
    reach(model, users, "facility")


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
    reach(model, a[coop_a & (s_a > 0)], "subsidised")
    reach(model, b[coop_b & (s_b > 0)], "subsidised")
    for cda in model.cdas:
        if cda is None:
            continue
        amount = float(paid[cluster == cda.cluster].sum())
        if amount > 0:
            cda.charge(min(amount, cda.budget_left))

