"""Structured configs for Hydra, derived from the model's parameter dataclasses.

The model's parameters are defined once, in ``model/params.py``. The Hydra
schema here is generated from them (same names, types and defaults), so that
every value in ``conf/`` and on the command line is type-checked by Hydra and
range-checked by the model. Keys users and tests rely on: ``seed``,
``sim.months``, ``cluster.n_firms``, ``policy.budget``, ``policy.subsidy_rate``.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import field, make_dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from model.params import ClusterSpec, ModelParams, PolicyParams, ShockParams

# ModelParams fields that are not behavioural parameters: they come from other groups
_NOT_BEHAVIOUR = {"months", "clusters", "policy", "shock", "snapshot_months"}


def _schema(cls: type, name: str, skip: set[str] = frozenset()) -> type:
    """A dataclass with the same fields, types and defaults as ``cls`` (tuples become lists)."""
    hints = typing.get_type_hints(cls)
    spec = []
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        kind = hints[f.name]
        default = f.default
        if isinstance(default, tuple):
            kind = list[float] if all(isinstance(v, (int, float)) for v in default) else list[Any]
            spec.append((f.name, kind, field(default_factory=lambda d=default: list(d))))
        else:
            spec.append((f.name, kind, field(default=default)))
    return make_dataclass(name, spec)


ClusterConf = _schema(ClusterSpec, "ClusterConf")
PolicyConf = _schema(PolicyParams, "PolicyConf")
ShockConf = _schema(ShockParams, "ShockConf")
BehaviourConf = _schema(ModelParams, "BehaviourConf", _NOT_BEHAVIOUR)


@dataclasses.dataclass
class SimConf:
    months: int = 120  # horizon [months]
    snapshot_months: list[int] = field(default_factory=list)  # months with agent-level snapshots
    progress: bool = True  # progress bar for runs longer than a few seconds
    progress_delay: float = 2.0  # seconds before the bar appears (short runs stay quiet)


@dataclasses.dataclass
class Config:
    seed: int = 0  # the run's seed: common random numbers across policies
    sim: SimConf = field(default_factory=SimConf)
    cluster: ClusterConf = field(default_factory=ClusterConf)
    policy: PolicyConf = field(default_factory=PolicyConf)
    shock: ShockConf = field(default_factory=ShockConf)
    model: BehaviourConf = field(default_factory=BehaviourConf)


def register() -> None:
    """Put the schemas in Hydra's ConfigStore (the presets in conf/ extend them)."""
    ConfigStore.instance().store(name="base_config", node=Config)


def to_model_params(cfg: DictConfig) -> tuple[ModelParams, int]:
    """The model's parameters and the seed from a composed config (no range checks here)."""
    data = OmegaConf.to_container(cfg, resolve=True)
    cluster = data["cluster"]
    behaviour = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data["model"].items()}
    params = ModelParams(
        months=data["sim"]["months"],
        snapshot_months=tuple(data["sim"]["snapshot_months"]),
        clusters=(ClusterSpec(**cluster),),
        policy=PolicyParams(**data["policy"]),
        shock=ShockParams(**data["shock"]),
        **behaviour,
    )
    return params, int(data["seed"])
