"""What the dashboard runs: the conf/ presets, the levers and the model built from them.

The presets are the scenarios' own (``conf/cluster``, ``conf/policy``,
``conf/shock``), composed by Hydra and turned into :class:`~model.ModelParams`
by :func:`scenarios.config.to_model_params`, exactly as ``khusheh-run`` does.
The levers are a handful of parameters a programme designer tries by hand;
their ranges come from the parameter metadata in ``model/params.py``.

Nothing here imports Solara: the model and this module can be used and tested
without a browser.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Any

from conf import presets
from model import ClusterModel, ModelParams
from model.params import ClusterSpec, PolicyParams

DEFAULT_CLUSTER = "generic"
DEFAULT_POLICY = "standard_cda"  # the dashboard opens on a programme to watch; "none" is the baseline
DEFAULT_SHOCK = "none"


_HYDRA = threading.Lock()  # Hydra's global state: one composition at a time (several browser sessions)


@lru_cache(maxsize=256)
def preset_params(cluster: str = DEFAULT_CLUSTER, policy: str = DEFAULT_POLICY,
                  shock: str = DEFAULT_SHOCK) -> ModelParams:
    """The model's parameters for a choice of presets, as ``khusheh-run cluster=.. policy=.. shock=..``."""
    from hydra import compose, initialize_config_module

    from scenarios.config import register, to_model_params
    for group, name in (("cluster", cluster), ("policy", policy), ("shock", shock)):
        if name not in presets(group):
            raise ValueError(f"unknown {group} preset {name!r}; choose one of {', '.join(presets(group))}")
    with _HYDRA:
        register()
        with initialize_config_module(config_module="conf", version_base="1.3"):
            cfg = compose(config_name="config", return_hydra_config=False,
                          overrides=[f"cluster={cluster}", f"policy={policy}", f"shock={shock}"])
    params, _seed = to_model_params(cfg)
    return params


# ---------------------------------------------------------------------------------------------- levers
@dataclass(frozen=True)
class Lever:
    """One control: which parameter, its kind and its range (from the parameter's metadata)."""

    name: str  # keyword of DashboardModel
    label: str
    kind: str  # "SliderInt", "SliderFloat" or "Select"
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    choices: tuple = ()


def _meta(cls: type, name: str) -> dict:
    return next(f.metadata for f in fields(cls) if f.name == name)


# Where the metadata allows far more than a slider can show (a budget up to 1e9), the
# slider stops at a practical bound, or at the chosen preset's own value where that is
# higher; it never goes outside the metadata's range.
_PRACTICAL_HI = {
    "budget": 5000.0,          # wage-months: 5x the largest single-cluster preset budget (1000)
    "events_per_year": 52.0,   # one a week
    "duration_months": 120,    # the horizon of a run (ModelParams.months)
    "n_firms": 5000,           # the map stays readable and a month well under a second
}
_STEP = {"budget": 50.0, "subsidy_rate": 0.05, "events_per_year": 1.0}  # others: whole numbers


def _lever(cls: type, name: str, label: str, preset_value: Any = None) -> Lever:
    meta = _meta(cls, name)
    if meta.get("choices") is not None:
        return Lever(name, label, "Select", choices=tuple(meta["choices"]))
    lo, hi = meta["lo"], meta["hi"]
    if name in _PRACTICAL_HI:
        hi = min(hi, max(_PRACTICAL_HI[name], preset_value or 0))
    kind = "SliderInt" if meta.get("integer") else "SliderFloat"
    return Lever(name, label, kind, lo, hi, _STEP.get(name, 1))


def levers(params: ModelParams | None = None) -> dict[str, Lever]:
    """The dashboard's levers, in display order, keyed by DashboardModel keyword; ``params``: the
    chosen presets, whose values the ranges include."""
    v = lever_values(params) if params is not None else {}
    return {lv.name: lv for lv in (
        _lever(PolicyParams, "budget", "Budget [wage-months]", v.get("budget")),
        _lever(PolicyParams, "subsidy_rate", "Subsidy rate (share of cost)"),
        _lever(PolicyParams, "events_per_year", "Networking events a year", v.get("events_per_year")),
        _lever(PolicyParams, "duration_months", "CDA duration [months]", v.get("duration_months")),
        _lever(PolicyParams, "targeting", "Targeting"),
        _lever(ClusterSpec, "n_firms", "Firms (all clusters together)", v.get("n_firms")),
    )}


SEED_RANGE = (0, 999)  # any whole number is a valid seed; the slider offers a thousand of them


def lever_values(params: ModelParams) -> dict[str, Any]:
    """What a preset says for each lever (the sliders jump there when a preset is chosen)."""
    pol = params.policy
    return {"budget": float(pol.budget), "subsidy_rate": float(pol.subsidy_rate),
            "events_per_year": float(pol.events_per_year), "duration_months": int(pol.duration_months),
            "targeting": pol.targeting, "n_firms": sum(int(c.n_firms) for c in params.clusters)}


def with_total_firms(params: ModelParams, total: int) -> ModelParams:
    """``params`` with ``total`` firms: one cluster gets them all; several keep their shares (at least 1 each)."""
    clusters = params.clusters
    now = sum(c.n_firms for c in clusters)
    if total == now:
        return params
    if len(clusters) == 1:
        return params.with_overrides(cluster_n_firms=int(total))
    sizes = [max(1, int(round(c.n_firms * total / now))) for c in clusters]
    return replace(params, clusters=tuple(replace(c, n_firms=n) for c, n in zip(clusters, sizes)))


def _plain(value: Any) -> Any:
    # the dashboard may hand over a live control value (a Solara reactive) before it is touched
    return value.value if hasattr(value, "value") and hasattr(value, "subscribe") else value


class DashboardModel(ClusterModel):
    """A :class:`ClusterModel` built from presets and levers: what the dashboard's Reset builds.

    ``DashboardModel(cluster="towels_adrian", policy="trust_first", budget=900, seed=3)``: the
    presets' parameters, then each lever given (not None) in place of the preset's value;
    ``n_firms`` is the total over the region's clusters, shared as the preset shares it.
    ``params`` skips the presets (e.g. a region of several clusters built in Python).
    """

    def __init__(self, cluster: str = DEFAULT_CLUSTER, policy: str = DEFAULT_POLICY, shock: str = DEFAULT_SHOCK,
                 budget: float | None = None, subsidy_rate: float | None = None,
                 events_per_year: float | None = None, duration_months: int | None = None,
                 targeting: str | None = None, n_firms: int | None = None, seed: int = 0,
                 params: ModelParams | None = None):
        cluster, policy, shock, seed = (_plain(v) for v in (cluster, policy, shock, seed))
        if params is None:
            params = preset_params(cluster, policy, shock)
        changes = {"budget": budget, "subsidy_rate": subsidy_rate, "events_per_year": events_per_year,
                   "duration_months": duration_months, "targeting": targeting}
        overrides = {f"policy_{k}": _plain(v) for k, v in changes.items() if _plain(v) is not None}
        params = params.with_overrides(**overrides) if overrides else params
        if _plain(n_firms) is not None:
            params = with_total_firms(params, int(_plain(n_firms)))
        # the settings as chosen (a total shared over several clusters may round to a few firms more)
        self.choice = {"cluster": cluster, "policy": policy, "shock": shock, "seed": int(seed),
                       **lever_values(params)}
        if _plain(n_firms) is not None:
            self.choice["n_firms"] = int(_plain(n_firms))
        super().__init__(params, rng=int(seed))
