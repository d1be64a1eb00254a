"""Every parameter of the model, defined once, with its meaning, unit and range.

Three typed groups, and the model takes them whole:

- :class:`ClusterSpec`: one industrial cluster (where it is, how big, its market);
- :class:`PolicyParams`: the cluster development programme (CDA) and its instruments;
- :class:`ShockParams`: an adverse shock scenario;

and :class:`ModelParams`, which holds the behavioural parameters plus the three
groups. Monetary quantities are in *wage-months*: one unit is what one worker
costs in one month. Time is in months.

``ModelParams.with_overrides`` maps flat keyword names onto the groups so that
``ClusterModel(policy_budget=500)`` or ``mesa.batch_run`` over ``subsidy_rate``
work (see its docstring). :meth:`ModelParams.validate` returns the parameters with each value in its
field's Python type or raises one :class:`ParameterError` that names the parameter, its value and what
is allowed; :func:`checked` is the one place where the types users pass (NumPy numbers, whole floats,
lists) are accepted or refused.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from .geography import TOWNS

TARGETING_RULES = ("random", "largest", "most_connected", "least_connected", "lagging")
SELECTION_RULES = ("largest", "export_potential", "trust_gap", "random")
SHOCK_KINDS = ("none", "demand_drop", "input_price_spike", "export_restriction")
JOINT_ACTION_TYPES = ("purchasing", "marketing", "subcontracting", "knowledge")
INSTITUTION_KINDS = ("training_centre", "credit_fund", "university", "industrial_parks_company",
                     "business_service_provider")
SUPPLIER_KINDS = ("raw_material", "machinery")
# where an institution or supplier sits: the cluster's own town, or Isfahan, the province's hub (the
# cluster's town when Isfahan is not on the grid)
PLACES = ("home", "hub")


class ParameterError(ValueError):
    """A parameter value outside its allowed range (raised before anything runs)."""


def p(default: Any, lo: float | None = None, hi: float | None = None, doc: str = "", *,
      integer: bool = False, choices: tuple | None = None, lo_open: bool = False, each: str | int | None = None):
    """A parameter: default, allowed range [lo, hi] (``lo_open``: lo excluded) and meaning.

    ``each``: the value is a tuple whose every item has that range (or is one of ``choices``), and either
    that many items (an int) or as many as the parameter of that name (a str).
    """
    meta = {"lo": lo, "hi": hi, "doc": doc, "integer": integer, "choices": choices,
            "lo_open": lo_open, "each": each}
    if isinstance(default, (list, dict, set)):
        raise TypeError("use tuples for sequence defaults")
    return field(default=default, metadata=meta)


def checked(obj: Any, prefix: str = "") -> Any:
    """``obj`` (one parameter group) with each value checked and given its field's Python type; raises
    :class:`ParameterError` naming the field, the value and what is allowed.

    This is the one place where the types users pass are accepted or refused:

    - a number field takes a Python or NumPy number (``np.int64(349)``, ``np.float32(0.5)``) and holds
      it as ``int`` (``integer`` fields) or ``float``; a float with a whole value is accepted for an
      ``integer`` field (``300.0`` -> ``300``), any other float is refused; ``bool`` (Python or NumPy)
      is refused where a number is expected (``True`` is not a count);
    - a yes/no field (choices ``True``/``False``) takes only ``bool`` or ``numpy.bool_`` (not 0/1);
    - a text field takes ``str`` (``numpy.str_`` too);
    - a field of several values takes a tuple, a list or a 1-d NumPy array (held as a tuple);
    - anything else (a string for a number, a list for a single value, ``None``, ...) is refused.
    """
    changes = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        meta = f.metadata
        name = f"{prefix}{f.name}"
        if not meta:
            continue
        each = meta.get("each")
        if each is None:
            if f.type == "tuple" or meta.get("choices") is None and meta.get("lo") is None \
                    and meta.get("hi") is None and f.type != "str":
                continue  # checked by the group (ModelParams.validate)
            new = _checked_value(name, value, meta, f.type)
        else:
            ref = each if isinstance(each, int) else changes.get(each, getattr(obj, each))
            n = ref if isinstance(ref, int) else len(ref) if isinstance(ref, (tuple, list)) else None
            value = _as_tuple(value)
            if n is None or not isinstance(value, tuple) or len(value) != n:
                like = (f"{n} values" if isinstance(each, int) else "a tuple of values" if n is None or each == f.name
                        else f"{n} values, one per item of {prefix}{each}")
                raise ParameterError(f"{name} = {value!r} must be {like}")
            new = tuple(_checked_value(f"{name}[{k}]", item, meta, "float" if meta.get("lo") is not None
                                       or meta.get("hi") is not None else "str")
                        for k, item in enumerate(value))
        if new is not getattr(obj, f.name):
            changes[f.name] = new
    return replace(obj, **changes) if changes else obj


def _as_tuple(value: Any) -> Any:
    """A list or a 1-d NumPy array as a tuple; anything else as it is."""
    if isinstance(value, list) or isinstance(value, np.ndarray) and value.ndim == 1:
        return tuple(value)
    return value


def _checked_value(name: str, value: Any, meta, kind: str) -> Any:
    choices = meta.get("choices")
    if choices is not None:
        if set(choices) == {True, False}:
            if not isinstance(value, (bool, np.bool_)):
                raise ParameterError(f"{name} = {value!r} must be True or False")
            return bool(value)
        if isinstance(value, np.str_):
            value = str(value)
        if not isinstance(value, str) or value not in choices:
            raise ParameterError(
                f"{name} = {value!r} is not allowed; choose one of {', '.join(map(str, choices))}")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise ParameterError(f"{name} = {value!r} must be a text (str)")
        return str(value)
    integer = meta.get("integer")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        what = "a whole number" if integer else "a number"
        raise ParameterError(f"{name} = {value!r} must be {what} in {_range_text(meta)}")
    if integer:
        if isinstance(value, (float, np.floating)):
            if not math.isfinite(value) or value != int(value):
                raise ParameterError(f"{name} = {value!r} must be a whole number in {_range_text(meta)}")
        number = value if type(value) is int else int(value)
    else:
        number = value if type(value) is float else float(value)
    lo, hi = meta.get("lo"), meta.get("hi")
    if math.isnan(number) or (lo is not None and (number < lo or (meta.get("lo_open") and number == lo))) \
            or (hi is not None and number > hi):
        raise ParameterError(f"{name} = {value!r} is out of range; allowed: {_range_text(meta)}")
    return number


def _range_text(meta: dict) -> str:
    lo, hi = meta.get("lo"), meta.get("hi")
    left = "(" if meta.get("lo_open") else "["
    lo_s = "-inf" if lo is None else f"{lo:g}"
    hi_s = "inf" if hi is None else f"{hi:g}"
    return f"{left}{lo_s}, {hi_s}]"


@dataclass(frozen=True)
class ClusterSpec:
    """One cluster: an industrial line concentrated around a town."""

    name: str = p("generic", doc="cluster name (for output and reports)")
    town: str = p("Isfahan", doc="main town; firms are placed around it", choices=tuple(TOWNS))
    n_firms: int = p(500, 1, 200_000, "initial number of firms [firms]", integer=True)
    spread_cells: float = p(1.0, 0, 20, "std. dev. of firm placement around the town [cells]")
    size_exponent: float = p(1.1, 0.5, 3, "Zipf/Pareto exponent of initial employees [-]")
    max_employees: int = p(400, 1, 5000, "cap on initial employees of one firm [workers]", integer=True)
    trust_alpha: float = p(2.0, 0, 100, "Beta(a, b) of firms' prior trust: a [-]", lo_open=True)
    trust_beta: float = p(3.0, 0, 100, "Beta(a, b) of firms' prior trust: b [-]", lo_open=True)
    propensity_alpha: float = p(2.0, 0, 100, "Beta(a, b) of cooperation propensity: a [-]", lo_open=True)
    propensity_beta: float = p(2.0, 0, 100, "Beta(a, b) of cooperation propensity: b [-]", lo_open=True)
    price: float = p(1.0, 0, 1e6, "reference domestic price P0 [wage-months per unit]", lo_open=True)
    elasticity: float = p(2.5, 1, 50, "price elasticity of domestic demand [-]", lo_open=True)
    market_growth: float = p(0.03, -0.5, 0.5, "yearly growth of domestic demand Q0 [1/year]")
    export_price: float = p(1.15, 0, 1e6, "export price at exchange rate 1 [wage-months per unit]")
    export_elasticity: float = p(5.0, 1, 100, "price elasticity of the cluster's export demand [-]", lo_open=True)
    export_share: float = p(0.35, 0, 0.95, "share of an exporter's output sold abroad [-]")
    export_threshold: float = p(2.3, 0.01, 100, "relative productivity above which a firm exports on its own [-]")
    input_share: float = p(0.35, 0.01, 0.95, "input cost per unit at base prices, share of P0 [-]")
    initial_export_market: float = p(0.1, 0, 100, "foreign market of a cluster that has no exporter at the "
                                     "start, as a share of its home market [-]", lo_open=True)
    funded: bool = p(True, doc="whether the policy's CDA works in this cluster", choices=(True, False))


@dataclass(frozen=True)
class PolicyParams:
    """A cluster development programme. Zero budget or no instrument = the baseline."""

    budget: float = p(0.0, 0, 1e9, "programme budget, shared equally by its CDAs [wage-months]")
    # a provincial programme: how many clusters get a CDA, and which
    programme_cdas: int = p(0, 0, 10_000, "CDAs the programme pays for; 0 = one in every funded cluster [CDAs]",
                            integer=True)
    programme_selection: str = p("largest", doc="which funded clusters get the programme's CDAs, when it pays for "
                                 "fewer than there are", choices=SELECTION_RULES)
    start_month: int = p(12, 1, 10_000, "month the CDA starts; month 0 is the initial state [month]", integer=True)
    duration_months: int = p(36, 1, 10_000, "CDA contract length [months]", integer=True)
    targeting: str = p("random", doc="which firms instruments reach first", choices=TARGETING_RULES)
    # phase shares of the duration: diagnostic, trust building, pilot, strategic; the rest is exit
    share_diagnostic: float = p(0.15, 0, 1, "diagnostic phase, share of duration [-]")
    share_trust_building: float = p(0.25, 0, 1, "trust-building phase, share of duration [-]")
    share_pilot: float = p(0.25, 0, 1, "pilot joint actions phase, share of duration [-]")
    share_strategic: float = p(0.25, 0, 1, "strategic projects phase, share of duration [-]")
    # networking events
    events_per_year: float = p(0.0, 0, 365, "networking events a year [1/year]")
    event_size: int = p(25, 2, 10_000, "firms invited to one event [firms]", integer=True)
    event_cost: float = p(4.0, 0, 1e6, "cost of one event [wage-months]")
    event_games: bool = p(True, doc="attendees who newly meet at an event play a facilitated first joint action",
                          choices=(True, False))
    event_game_subsidy: float = p(0.5, 0, 1, "share of a facilitated first joint action's cost paid by the host [-]")
    event_ties: int = p(3, 0, 100, "new ties an attendee forms at one event [ties]", integer=True)
    # joint-action subsidy
    subsidy_rate: float = p(0.0, 0, 1, "share s of contributors' cost paid by the CDA [-]")
    # brokering joint-purchasing and marketing groups
    groups_per_year: float = p(0.0, 0, 365, "joint-action groups brokered a year [1/year]")
    group_contribution: float = p(0.1, 0, 1e6, "a group member's monthly contribution to keep the group's joint "
                                  "action going [wage-months]")
    group_size: int = p(6, 2, 1000, "firms in a brokered group [firms]", integer=True)
    group_cost: float = p(3.0, 0, 1e6, "cost of brokering one group [wage-months]")
    # linkage to support institutions and suppliers
    linkage_firms_per_year: float = p(0.0, 0, 1e6, "firms linked to institutions a year [1/year]")
    linkage_cost: float = p(0.1, 0, 1e6, "cost of linking one firm [wage-months]")
    # export consortium
    consortium_size: int = p(0, 0, 1000, "members of the export consortium, 0 = none [firms]", integer=True)
    consortium_cost: float = p(1.5, 0, 1e6, "monthly cost of running the consortium [wage-months]")
    # common facility
    common_facility: bool = p(False, doc="set up a common service facility", choices=(True, False))
    facility_cost: float = p(60.0, 0, 1e6, "set-up cost of the facility [wage-months]")
    facility_level: float = p(0.04, 0, 1, "output gain of a firm in a month it uses the facility (a level effect) [-]")
    facility_running_cost: float = p(2.0, 0, 1e6, "monthly cost of running the facility [wage-months]")
    facility_fee: float = p(0.15, 0, 1e6, "a user's monthly fee [wage-months]")
    facility_member_fee: float = p(0.08, 0, 1e6, "an association member's monthly fee [wage-months]")
    facility_capacity: int = p(40, 0, 10**6, "firms the facility serves a month [firms]", integer=True)
    facility_range: float = p(4.0, 0, 1000, "firms within this distance use the facility [cells]")
    # association (governance body)
    association: bool = p(False, doc="form the cluster's association", choices=(True, False))
    association_cost: float = p(20.0, 0, 1e6, "set-up cost of the association [wage-months]")


@dataclass(frozen=True)
class ShockParams:
    """An adverse shock: what, when, how long and how strong."""

    kind: str = p("none", doc="shock type", choices=SHOCK_KINDS)
    start_month: int = p(60, 1, 10_000, "month the shock starts; month 0 is the initial state [month]", integer=True)
    duration_months: int = p(12, 1, 10_000, "months the shock lasts [months]", integer=True)
    magnitude: float = p(0.3, 0, 0.95, "demand fall, input-price rise, or export loss share [-]")


@dataclass(frozen=True)
class ModelParams:
    """Behavioural parameters; each line: default, allowed range, meaning [unit]."""

    months: int = p(120, 1, 100_000, "horizon [months]", integer=True)
    clusters: tuple = p((ClusterSpec(),), doc="the clusters of the region")
    policy: PolicyParams = p(PolicyParams(), doc="the cluster development programme")
    shock: ShockParams = p(ShockParams(), doc="adverse shock scenario")
    snapshot_months: tuple = p((), doc="months at which agent-level snapshots are kept")
    # grid
    cell_km: float = p(5.0, 0.5, 100, "edge of one grid cell [km]")
    grid_margin_cells: int = p(8, 0, 200, "grid margin around the clusters' towns [cells]", integer=True)
    # production (5.5)
    alpha: float = p(0.7, 0, 1, "output elasticity of labour [-]", lo_open=True)
    beta: float = p(0.2, 0, 1, "output elasticity of capital [-]")
    variety_elasticity: float = p(6.0, 1.5, 20, "elasticity of substitution between firms' varieties [-]")
    wage: float = p(1.0, 0, 1e6, "wage per worker-month [wage-months]", lo_open=True)
    capital_per_worker: float = p(12.0, 0, 1e6, "initial capital per worker [wage-months]", lo_open=True)
    fixed_cost: float = p(0.7, 0, 1e6, "fixed cost per firm-month, owner's draw included [wage-months]")
    park_fixed_cost_cut: float = p(0.3, 0, 1, "share of fixed cost saved inside an industrial park [-]")
    transport_cost: float = p(0.08, 0, 1, "extra input cost at zero infrastructure, share [-]")
    depreciation: float = p(0.01, 0, 0.5, "capital depreciation [1/month]")
    invest_share: float = p(0.3, 0, 1, "share of positive profit invested [-]")
    cash_buffer_months: float = p(1.0, 0, 120, "cash buffer needed to hire, in months of wage bill")
    cash_cap_months: float = p(6.0, 0, 1200, "cash above this many months of wage bill is paid out")
    initial_cash_months: float = p(3.0, 0, 120, "initial cash in months of wage bill")
    # the initial firms (section 7; their sizes and traits: ClusterSpec)
    initial_capital_spread: float = p(0.2, 0, 5, "std. dev. of an initial firm's log capital around "
                                      "capital_per_worker x employees [-]")
    initial_productivity_spread: float = p(0.05, 0, 5, "std. dev. of an initial firm's log productivity around "
                                           "the level at which its size is optimal [-]")
    initial_mean_age: float = p(60.0, 0, 1200, "mean age of the initial firms (exponential) [months]")
    initial_awareness: float = p(0.2, 0, 1, "chance that an initial firm knows of each institution and "
                                 "supplier of its cluster [-]")
    demand_noise: float = p(0.02, 0, 1, "std. dev. of monthly log demand noise [-]")
    # growth (5.7)
    hire_sensitivity: float = p(0.25, 0, 10, "monthly hiring rate per unit of profit margin [1/month]")
    fire_sensitivity: float = p(0.4, 0, 10, "monthly shedding rate per unit of loss margin [1/month]")
    growth_noise: float = p(0.75, 0, 5, "scale of the firm-level Laplace shock to hiring [-]")
    max_fire_rate: float = p(0.3, 0, 1, "cap on the monthly shedding rate [1/month]")
    max_hire_rate: float = p(0.08, 0, 1, "cap on the monthly hiring rate [1/month]")
    adjust_speed: float = p(0.3, 0, 1, "partial adjustment: share of the gap to its target size a one-worker firm "
                            "hires a month, in expectation; 0: the integer rule without a target [1/month]")
    adjust_exponent: float = p(0.5, 0, 2, "adjust_speed falls with size as employees ** -adjust_exponent [-]")
    shed_speed: float = p(0.02, 0, 1, "partial adjustment: share of the excess of employees over the target size "
                          "shed a month, in expectation [1/month]")
    granular_noise: float = p(0.7, 0, 5, "scale of a one-worker firm's Laplace shock to its log target size "
                              "(partial adjustment) [-]")
    granular_exponent: float = p(0.3, 0, 2, "the granular shock's scale falls as employees ** -granular_exponent [-]")
    granular_months: int = p(12, 1, 120, "months a firm's granular shock lasts (each firm's own calendar) "
                             "[months]", integer=True)
    # learning (5.6)
    productivity_noise: float = p(0.012, 0, 1, "scale of the monthly Laplace productivity walk [-]")
    invest_learning: float = p(0.02, 0, 1, "productivity gain per unit of investment/capital [-]")
    spillover: float = p(0.1, 0, 1, "share of the productivity gap closed by knowledge sharing [-]")
    knowledge_return: float = p(0.25, 0, 1, "what the more productive partner of a knowledge action gains, as a "
                                "share of the other's gain (questions asked, a partner trained) [-]")
    local_spillover: float = p(0.002, 0, 1, "monthly share of the gap to the town mean closed [1/month]")
    # partner search and cooperation (5.1-5.2)
    p_seek: float = p(0.3, 0, 1, "monthly probability that a firm seeks a joint action")
    interaction_range: float = p(2.0, 0, 1000, "distance decay length of partner search [cells]", lo_open=True)
    own_town_preference: float = p(0.6, 0, 1, "share of candidate draws from the firm's own town")
    search_rounds: int = p(6, 1, 100, "rejection-sampling rounds for a new partner", integer=True)
    action_mix: tuple = p((0.35, 0.2, 0.2, 0.25), doc="shares of joint action types: purchasing, marketing, subcontracting, knowledge")
    cost: tuple = p((0.4, 0.6, 0.3, 0.4), doc="cost c of each joint-action type [wage-months]")
    temptation: tuple = p((0.3, 0.5, 0.3, 0.45), doc="share tau of a joint action's effect a withholder captures "
                          "when its partner contributes, per type [-]")
    choice_sharpness: float = p(8.0, 0, 1000, "slope of the logistic contribution choice [1/wage-month]")
    reciprocity: float = p(2.0, 0, 100, "weight of the cooperation propensity in the choice [-]")
    purchase_discount: float = p(0.06, 0, 1, "input price cut after joint purchasing [-]")
    effect_months: int = p(6, 1, 1000, "months a joint action's effect lasts [months]", integer=True)
    subcontract_bonus: float = p(0.05, 0, 1, "extra sales a subcontracting pair can take [-]")
    subsidy_attribution: float = p(0.8, 0, 1, "how much of a subsidised partner's cooperation is put down to the subsidy [-]")
    # trust (5.3)
    learning_rate: float = p(0.2, 0, 1, "trust learning rate [-]")
    betrayal_weight: float = p(1.5, 0, 5, "weight of a betrayal relative to cooperation [-]")
    gossip_weight: float = p(0.05, 0, 1, "share of the gap to a reported reputation closed by hearing it [-]")
    record_weight: float = p(0.3, 0, 1, "weight of a firm's latest choice in its reputation (what others report "
                             "of it) [-]")
    generalised_learning: float = p(0.01, 0, 1, "share of the gap closed by a firm's trust in strangers toward "
                                    "each partner's choice it meets [-]")
    tie_memory: int = p(24, 1, 10_000, "months a tie stays without interaction before decaying", integer=True)
    tie_decay: float = p(0.1, 0, 1, "monthly decay of an idle tie's trust toward the prior [1/month]")
    tie_min: float = p(0.3, 0, 1, "ties whose mean trust (of both ends) falls below this are removed [-]")
    # support services (5.4)
    awareness_spread: float = p(0.03, 0, 1, "monthly chance that a tie passes on awareness of an institution")
    training_gain: float = p(0.04, 0, 1, "productivity gain of one training, at quality 1 [-]")
    technology_gain: float = p(0.03, 0, 1, "productivity gain of one technology service, at quality 1 [-]")
    loan_months: int = p(12, 1, 1000, "repayment period of a loan [months]", integer=True)
    loan_size_months: float = p(2.0, 0, 100, "loan size in months of wage bill")
    export_promotion_months: int = p(12, 1, 1000, "months of export access after promotion", integer=True)
    # the support institutions of every cluster: one of each kind, in this order: training centre,
    # credit fund, university, industrial parks company, business service provider
    hub_town: str = p("Isfahan", doc="the town where the institutions and suppliers placed at the hub sit (the "
                      "province's capital); where the region lacks it, they sit in the cluster's town",
                      choices=tuple(TOWNS))
    min_capacity: int = p(2, 1, 10**6, "the fewest firms an institution or a supplier serves a month [1/month]",
                          integer=True)
    institution_place: tuple = p(("home", "hub", "hub", "hub", "home"), doc="where each institution sits: "
                                 "home (the cluster's town) or hub (hub_town)", choices=PLACES,
                                 each=len(INSTITUTION_KINDS))
    institution_capacity: tuple = p((0.025, 0.025, 0.01, 0.01, 0.02), 0, 10, "firms each institution serves a "
                                    "month, per initial firm of its cluster; at least min_capacity [1/month]",
                                    each=len(INSTITUTION_KINDS))
    institution_quality: tuple = p((0.6, 0.7, 0.7, 0.5, 0.5), 0, 1, "quality of each institution's service, "
                                   "the share of the full gain it gives [-]", each=len(INSTITUTION_KINDS))
    institution_fee: tuple = p((0.10, 0.05, 0.20, 0.0, 0.15), 0, 1e6, "fee of each institution's service "
                               "[wage-months]", each=len(INSTITUTION_KINDS))
    # the suppliers of every cluster, one per item of supplier_kind
    supplier_kind: tuple = p(("raw_material", "raw_material", "machinery"), doc="kind of each supplier",
                             choices=SUPPLIER_KINDS, each="supplier_kind")
    supplier_place: tuple = p(("home", "hub", "hub"), doc="where each supplier sits: home (the cluster's "
                              "town) or hub (hub_town)", choices=PLACES, each="supplier_kind")
    supplier_markup: tuple = p((0.96, 0.94, 0.92), 0, 10, "each supplier's price relative to the open market [-]",
                               lo_open=True, each="supplier_kind")
    supplier_capacity: tuple = p((0.25, 0.25, 0.1), 0, 10, "firms each supplier serves a month, per initial firm "
                                 "of its cluster; at least min_capacity [1/month]", each="supplier_kind")
    supplier_reliability: tuple = p((0.9, 0.8, 0.9), 0, 1, "chance that each supplier delivers an order on "
                                    "terms [-]", each="supplier_kind")
    supplier_group_discount: tuple = p((0.05, 0.06, 0.0), 0, 1, "each supplier's extra price cut for a "
                                       "joint-purchasing group [-]", each="supplier_kind")
    # exit and entry (5.8)
    debt_limit: float = p(0.5, 0, 100, "exit when cash < -debt_limit x capital [-]")
    hazard_base: float = p(0.004, 0, 1, "monthly exit hazard of a mature firm [1/month]")
    hazard_young: float = p(0.012, 0, 1, "extra monthly exit hazard at age 0 [1/month]")
    hazard_age_scale: float = p(24.0, 0, 1e4, "age scale of the young-firm hazard [months]", lo_open=True)
    spinoff_rate: float = p(0.0055, 0, 1, "monthly spin-offs per firm in a town [1/month]")
    entry_profit_sensitivity: float = p(4.0, 0, 100, "change of the spin-off rate per unit of mean margin [-]")
    exogenous_entry: float = p(0.05, 0, 1000, "monthly entrants per cluster from outside [firms/month]")
    entrant_noise: float = p(0.08, 0, 1, "std. dev. of entrants' log productivity around the parent's [-]")
    # CDA and association (5.9)
    cda_credibility: float = p(0.3, 0, 1, "the CDA's credibility when it starts; it rises to 1 during the "
                               "diagnostic and scales the trust its meetings build [-]")
    attend_base: float = p(0.3, 0, 1, "probability of attending an event at zero trust in the CDA")
    cda_trust_gain: float = p(0.15, 0, 1, "share of the gap to full trust in the CDA closed by an event")
    association_fee: float = p(0.05, 0, 100, "monthly member fee [wage-months]")
    association_running_cost: float = p(1.0, 0, 1e6, "monthly cost of running the association [wage-months]")
    association_grace_months: int = p(6, 1, 10_000, "months the association may fail to pay its running cost "
                                      "before it dissolves [months]", integer=True)
    association_quorum: int = p(10, 2, 10**6, "the association dissolves when its members are fewer [firms]",
                                integer=True)
    association_events_per_year: float = p(4.0, 0, 365, "events the association hosts a year, while it can pay")
    association_event_cost: float = p(1.0, 0, 1e6, "cost of one association event [wage-months]")
    join_trust: float = p(0.45, 0, 1, "trust in the CDA at which a firm joins the association the CDA recruits for")

    # ------------------------------------------------------------------
    def validate(self) -> "ModelParams":
        """These parameters checked, with every value in its field's Python type (see :func:`checked`:
        NumPy numbers become ``int``/``float``, lists become tuples); raise :class:`ParameterError` on the
        first value of a wrong type or out of range. Use the returned copy (it equals ``self`` when every
        value was already of its type)."""
        params = checked(self)
        clusters = params.clusters
        if isinstance(clusters, ClusterSpec):
            clusters = (clusters,)
        if not isinstance(clusters, (tuple, list)) or not clusters:
            raise ParameterError(f"clusters = {clusters!r} must be a non-empty tuple of ClusterSpec "
                                 "(or, as ClusterModel(cluster=...), a cluster preset name)")
        names, checked_clusters = set(), []
        for k, c in enumerate(clusters):
            if not isinstance(c, ClusterSpec):
                raise ParameterError(f"clusters[{k}] = {c!r} must be a ClusterSpec, not {type(c).__name__}")
            c = checked(c, f"clusters[{k}].")
            if c.name in names:
                raise ParameterError(f"clusters[{k}].name = {c.name!r} is used twice; names must be unique")
            names.add(c.name)
            checked_clusters.append(c)
        for group, cls in (("policy", PolicyParams), ("shock", ShockParams)):
            if not isinstance(getattr(params, group), cls):
                raise ParameterError(f"{group} = {getattr(params, group)!r} must be a {cls.__name__} "
                                     f"(or, as a keyword of ClusterModel, a {group} preset name)")
        params = replace(params, clusters=tuple(checked_clusters), policy=checked(params.policy, "policy."),
                         shock=checked(params.shock, "shock."))
        pol = params.policy
        shares = (pol.share_diagnostic + pol.share_trust_building + pol.share_pilot + pol.share_strategic)
        if shares > 1 + 1e-12:
            raise ParameterError(f"policy phase shares sum to {shares:g}; allowed: at most 1 (the rest is exit)")
        if pol.budget > 0 and pol.start_month >= params.months:
            raise ParameterError(
                f"policy.start_month = {pol.start_month} is past the horizon; allowed: [1, {params.months - 1}]")
        if params.shock.kind != "none" and params.shock.start_month >= params.months:
            raise ParameterError(f"shock.start_month = {params.shock.start_month} is past the horizon; "
                                 f"allowed: [1, {params.months - 1}]")
        numbers = {}
        for name in ("action_mix", "cost", "temptation"):
            vals = _as_tuple(getattr(params, name))
            if not isinstance(vals, tuple) or len(vals) != len(JOINT_ACTION_TYPES) or any(
                    isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating))
                    or not 0 <= v < math.inf for v in vals):
                raise ParameterError(
                    f"{name} = {vals!r} must be {len(JOINT_ACTION_TYPES)} non-negative finite numbers "
                    f"({', '.join(JOINT_ACTION_TYPES)})")
            numbers[name] = tuple(v if type(v) is float else float(v) for v in vals)
        params = replace(params, **numbers)
        if not 0 < sum(params.action_mix) < math.inf:
            raise ParameterError(f"action_mix = {params.action_mix!r} must have a positive finite sum")
        if len(params.supplier_kind) > 64 - len(INSTITUTION_KINDS):  # (awareness is packed into 64-bit words)
            raise ParameterError(f"supplier_kind lists {len(params.supplier_kind)} suppliers; allowed: at most "
                                 f"{64 - len(INSTITUTION_KINDS)}")
        if any(t >= 1 for t in params.temptation):
            raise ParameterError(f"temptation = {params.temptation!r}; each tau must be in [0, 1)")
        snaps = _as_tuple(params.snapshot_months)
        if not isinstance(snaps, tuple):
            raise ParameterError(f"snapshot_months = {snaps!r} must be a tuple of whole months in "
                                 f"[0, {params.months}]")
        months = []
        for m in snaps:
            if isinstance(m, (bool, np.bool_)) or not isinstance(m, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(m) or m != int(m) or not 0 <= m <= params.months:
                raise ParameterError(f"snapshot_months contains {m!r}; allowed: whole months in [0, {params.months}]")
            months.append(int(m))
        params = replace(params, snapshot_months=tuple(months))
        return params

    # ------------------------------------------------------------------
    def with_overrides(self, **overrides: Any) -> "ModelParams":
        """Return a copy with flat keyword overrides applied (presets by name: :func:`model.presets.model_params`).

        A key is, in this order: a field of ``ModelParams`` (``p_seek=0.2``; ``policy``/``shock`` take a
        whole :class:`PolicyParams`/:class:`ShockParams`); a field of :class:`PolicyParams`, plain or
        prefixed (``subsidy_rate=0.5``, ``policy_budget=900``); a field of :class:`ShockParams` prefixed
        ``shock_`` (``shock_kind="demand_drop"``); or a field of :class:`ClusterSpec` prefixed
        ``cluster_`` or plain (``n_firms=2000``), applied to every cluster. An unknown key raises
        :class:`ParameterError` listing close names. Values are checked by :meth:`validate`.
        """
        params = self
        top, pol, shock, clus = {}, {}, {}, {}
        names_top = {f.name for f in fields(ModelParams)}
        names_pol = {f.name for f in fields(PolicyParams)}
        names_shock = {f.name for f in fields(ShockParams)}
        names_clus = {f.name for f in fields(ClusterSpec)}
        for key, value in overrides.items():
            if isinstance(value, list):
                value = tuple(value)
            if key in names_top:
                top[key] = value
            elif key.startswith("policy_") and key[7:] in names_pol:
                pol[key[7:]] = value
            elif key in names_pol:
                pol[key] = value
            elif key.startswith("shock_") and key[6:] in names_shock:
                shock[key[6:]] = value
            elif key.startswith("cluster_") and key[8:] in names_clus:
                clus[key[8:]] = value
            elif key in names_clus:
                clus[key] = value
            else:
                known = sorted(names_top | names_pol | {f"shock_{n}" for n in names_shock} | names_clus)
                close = difflib.get_close_matches(key, known, n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise ParameterError(f"unknown parameter {key!r}{hint}")
        if top:
            params = replace(params, **top)
        if pol:
            params = replace(params, policy=replace(params.policy, **pol))
        if shock:
            params = replace(params, shock=replace(params.shock, **shock))
        if clus:
            params = replace(params, clusters=tuple(replace(c, **clus) for c in params.clusters))
        return params


def describe(obj: Any = None) -> list[tuple[str, Any, str, str]]:
    """Rows (name, default, allowed range, meaning) of a parameter class, for docs."""
    obj = obj or ModelParams
    rows = []
    for f in fields(obj):
        meta = f.metadata
        if meta.get("choices") is not None:
            rng = " | ".join(map(str, meta["choices"]))
        elif meta.get("lo") is not None or meta.get("hi") is not None:
            rng = _range_text(meta)
        else:
            rng = ""
        if rng and meta.get("each") is not None:
            rng = f"each {rng}"
        default = f.default if f.default is not dataclasses.MISSING else None
        rows.append((f.name, default, rng, meta.get("doc", "")))
    return rows


def markdown_tables() -> str:
    """Markdown tables of every parameter group (name, default, allowed range, meaning), for docs/ODD.md."""
    out = []
    for title, cls in (("ModelParams (behaviour)", ModelParams), ("ClusterSpec (one per cluster)", ClusterSpec),
                       ("PolicyParams (the programme)", PolicyParams), ("ShockParams", ShockParams)):
        out.append(f"**{title}**\n\n| name | default | allowed | meaning [unit] |\n|---|---|---|---|")
        for name, default, rng, doc in describe(cls):
            if isinstance(default, (ClusterSpec, PolicyParams, ShockParams)) or name == "clusters":
                default = "see below"
            out.append(f"| `{name}` | {default} | {rng} | {doc} |")
        out.append("")
    return "\n".join(out)

