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
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib.resources import files
from typing import Any

from model import ClusterModel, ModelParams
from model.params import ClusterSpec, PolicyParams

DEFAULT_CLUSTER = "generic"
DEFAULT_POLICY = "standard_cda"  # the dashboard opens on a programme to watch; "none" is the baseline
DEFAULT_SHOCK = "none"


def presets(group: str) -> list[str]:
    """Names of the presets of a config group (``cluster``, ``policy``, ``shock``), sorted."""
    folder = files("conf") / group
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


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
# slider stops at a practical bound; it never goes outside the metadata's range.
_PRACTICAL_HI = {
    "budget": 5000.0,          # wage-months: ~8x the largest preset budget (1000)
    "events_per_year": 52.0,   # one a week
    "duration_months": 120,    # the horizon of a run (ModelParams.months)
    "n_firms": 5000,           # the map stays readable and a step well under a second
}
_STEP = {"budget": 50.0, "subsidy_rate": 0.05, "events_per_year": 1.0}  # others: whole numbers


def _lever(cls: type, name: str, label: str) -> Lever:
    meta = _meta(cls, name)
    if meta.get("choices") is not None:
        return Lever(name, label, "Select", choices=tuple(meta["choices"]))
    lo, hi = meta["lo"], meta["hi"]
    if name in _PRACTICAL_HI:
        hi = min(hi, _PRACTICAL_HI[name])
    kind = "SliderInt" if meta.get("integer") else "SliderFloat"
    return Lever(name, label, kind, lo, hi, _STEP.get(name, 1))


def levers() -> dict[str, Lever]:
    """The dashboard's levers, in display order, keyed by DashboardModel keyword."""
    return {lv.name: lv for lv in (
        _lever(PolicyParams, "budget", "Budget [wage-months]"),
        _lever(PolicyParams, "subsidy_rate", "Subsidy rate (share of cost)"),
        _lever(PolicyParams, "events_per_year", "Networking events a year"),
        _lever(PolicyParams, "duration_months", "CDA duration [months]"),
        _lever(PolicyParams, "targeting", "Targeting"),
        _lever(ClusterSpec, "n_firms", "Firms in the cluster"),
    )}


SEED_RANGE = (0, 999)  # any whole number is a valid seed; the slider offers a thousand of them


def lever_values(params: ModelParams) -> dict[str, Any]:
    """What a preset says for each lever (the sliders jump there when a preset is chosen)."""
    pol = params.policy
    return {"budget": float(pol.budget), "subsidy_rate": float(pol.subsidy_rate),
            "events_per_year": float(pol.events_per_year), "duration_months": int(pol.duration_months),
            "targeting": pol.targeting, "n_firms": int(params.clusters[0].n_firms)}


def _plain(value: Any) -> Any:
    # the dashboard may hand over a live control value (a Solara reactive) before it is touched
    return value.value if hasattr(value, "value") and hasattr(value, "subscribe") else value


class DashboardModel(ClusterModel):
    """A :class:`ClusterModel` built from presets and levers: what the dashboard's Reset builds.

    ``DashboardModel(cluster="towels_adrian", policy="trust_first", budget=900, seed=3)``: the
    presets' parameters, then each lever given (not None) in place of the preset's value.
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
        if _plain(n_firms) is not None:
            overrides["cluster_n_firms"] = int(_plain(n_firms))
        params = params.with_overrides(**overrides) if overrides else params
        self.choice = {"cluster": cluster, "policy": policy, "shock": shock, "seed": int(seed),
                       **lever_values(params)}
        super().__init__(params, rng=int(seed))
