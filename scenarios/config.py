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

from model.params import ClusterSpec, ModelParams, ParameterError, PolicyParams, ShockParams
from model.province import Archetype, build_province

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


@dataclasses.dataclass
class ArchetypeConf:
    count: int = 0  # clusters of this kind drawn
    towns: list[str] = field(default_factory=list)  # their towns, taken in turn
    n_firms: list[int] = field(default_factory=lambda: [100, 1000])  # relative size range (log-uniform)
    spec: dict[str, Any] = field(default_factory=dict)  # cluster keys that differ from the defaults


@dataclasses.dataclass
class ProvinceConf:
    named: list[str] = field(default_factory=list)  # cluster presets taken as they are
    total_firms: int = 50_000  # firms of named and drawn clusters together
    layout_seed: int = 0  # the draw of the other clusters (the same province in every run)
    scale: float = 1.0  # every cluster's size times this (e.g. 0.05 for a quick small copy)
    archetypes: dict[str, ArchetypeConf] = field(default_factory=dict)


_ClusterFields = _schema(ClusterSpec, "_ClusterFields")
# one cluster, or with ``province`` set, a whole province of them (conf/cluster/isfahan_province.yaml)
ClusterConf = make_dataclass("ClusterConf", [("province", typing.Optional[ProvinceConf], field(default=None))],
                             bases=(_ClusterFields,))
PolicyConf = _schema(PolicyParams, "PolicyConf")
ShockConf = _schema(ShockParams, "ShockConf")
BehaviourConf = _schema(ModelParams, "BehaviourConf", _NOT_BEHAVIOUR)


@dataclasses.dataclass
class SimConf:
    months: int = 120  # horizon [months]
    snapshot_months: list[int] = field(default_factory=list)  # months with agent-level snapshots
    # the seeds whose runs keep them (None: every seed); a sweep's maps need one seed's, not thirty
    snapshot_seeds: typing.Optional[list[int]] = None
    progress: bool = True  # progress bar for runs longer than a few seconds
    progress_delay: float = 2.0  # seconds before the bar appears (short runs stay quiet)
    design: str = ""  # a sensitivity design (design.csv); its row design_row sets parameters
    design_row: int = -1


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
    """The model's parameters and the seed from a composed config (no range checks here, but in a run
    that keeps no snapshots: see below)."""
    # the run's keys only: a job's config composed with Hydra's node (as the sweeper checks it) works too
    data = {key: OmegaConf.to_container(cfg[key], resolve=True) if OmegaConf.is_config(cfg[key]) else cfg[key]
            for key in ("seed", "sim", "cluster", "policy", "shock", "model")}
    cluster = data["cluster"]
    province = cluster.pop("province", None)
    clusters = _province(province) if province else (ClusterSpec(**cluster),)
    behaviour = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data["model"].items()}
    seed, sim = check_seed(data["seed"]), data["sim"]
    params = ModelParams(
        months=sim["months"],
        snapshot_months=tuple(sim["snapshot_months"]),
        clusters=clusters,
        policy=PolicyParams(**data["policy"]),
        shock=ShockParams(**data["shock"]),
        **behaviour,
    )
    if sim["snapshot_seeds"] is not None and seed not in sim["snapshot_seeds"]:
        # a run that keeps no snapshots: checked first, so that a bad month fails in every run, not only
        # in the runs that keep them
        params = dataclasses.replace(params.validate(), snapshot_months=())
    return params, seed


def wanted_job(job, only) -> bool:
    """Is the sweep job ``job`` (its overrides, ``key=value``) one of those ``only`` asks for? ``only``
    (the sweeper's setting, see ``hydra_plugins/khusheh_sweeper``) lists partial jobs, as mappings of
    key to value; a job is wanted when it has every override of at least one of them. ``None`` (or
    empty): every job."""
    if not only:
        return True
    have = {o.split("=", 1)[0].lstrip("+~"): o.split("=", 1)[1] for o in job if "=" in o}
    return any(all(have.get(str(k)) == str(v) for k, v in part.items()) for part in only)


def check_seed(seed: int) -> int:
    """The seed, if NumPy takes it (a non-negative integer); else ParameterError naming it."""
    if int(seed) < 0:
        raise ParameterError(f"seed = {seed} is out of range; allowed: a non-negative integer")
    return int(seed)


def _cluster_preset(name: str) -> ClusterSpec:
    """A cluster preset of conf/cluster, checked against the schema."""
    from importlib.resources import files
    path = files("conf") / "cluster" / f"{name}.yaml"
    if not path.is_file():
        raise ParameterError(f"cluster.province.named: no cluster preset {name!r}")
    node = OmegaConf.merge(OmegaConf.structured(ClusterConf), OmegaConf.load(str(path)))
    data = OmegaConf.to_container(node, resolve=True)
    if data.pop("province", None):
        raise ParameterError(f"cluster.province.named: {name!r} is a province, not a cluster")
    return ClusterSpec(**data)


def _province(conf: dict) -> tuple[ClusterSpec, ...]:
    named = tuple(_cluster_preset(name) for name in conf["named"])
    archetypes = tuple(Archetype(name=name, count=a["count"], towns=tuple(a["towns"]), n_firms=tuple(a["n_firms"]),
                                 spec=dict(a["spec"]))
                       for name, a in conf["archetypes"].items())
    return build_province(named, archetypes, conf["total_firms"], conf["layout_seed"], conf["scale"])
