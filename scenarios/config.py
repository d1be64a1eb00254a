"""Structured configs for Hydra, derived from the model's parameter dataclasses.

The model's parameters are defined once, in ``model/params.py``. The Hydra
schema here is generated from them (same names, types and defaults), so that
every value in ``conf/`` and on the command line is type-checked by Hydra and
range-checked by the model. Keys users and tests rely on: ``seed``, ``sim.seeds``,
``sim.months``, ``cluster.n_firms``, ``policy.budget``, ``policy.subsidy_rate``.

A job (one configuration) runs ``sim.seeds`` seeds from ``seed`` on, and with a sensitivity design
(``sim.design``) every row of it (or row ``sim.design_row``): :func:`job_runs` lists them, checked.
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from dataclasses import field, make_dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from model import presets
from model.params import ClusterSpec, ModelParams, ParameterError, PolicyParams, ShockParams

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
    seeds: int = 1  # the job's runs: seeds seed, seed + 1, ..., seed + seeds - 1 (common across a sweep's jobs)
    n_jobs: int = -1  # processes running the job's runs at once (as joblib: -1 every core, 1 this process)
    snapshot_months: list[int] = field(default_factory=list)  # months with agent-level snapshots
    # the seeds whose runs keep them (None: every seed); a sweep's maps need one seed's, not thirty
    snapshot_seeds: typing.Optional[list[int]] = None
    progress: bool = True  # progress bar for runs longer than a few seconds
    progress_delay: float = 2.0  # seconds before the bar appears (short runs stay quiet)
    design: str = ""  # a sensitivity design (design.csv): the job runs each of its rows (their parameters)
    design_row: typing.Optional[int] = None  # with a design: only this row (None: every row)


@dataclasses.dataclass
class Config:
    seed: int = 0  # the (first) seed: common random numbers across policies
    sim: SimConf = field(default_factory=SimConf)
    cluster: ClusterConf = field(default_factory=ClusterConf)
    policy: PolicyConf = field(default_factory=PolicyConf)
    shock: ShockConf = field(default_factory=ShockConf)
    model: BehaviourConf = field(default_factory=BehaviourConf)


def register() -> None:
    """Put the schemas in Hydra's ConfigStore (the presets in conf/ extend them)."""
    ConfigStore.instance().store(name="base_config", node=Config)


def to_model_params(cfg: DictConfig) -> tuple[ModelParams, int]:
    """The model's parameters and the seed of a composed config, as the run of that seed gets them: without
    snapshots when ``sim.snapshot_seeds`` leaves the seed out (such parameters are range-checked first, so
    that a bad month fails in every run, not only in those that keep snapshots; others are not checked)."""
    params, seed = _params(cfg), check_seed(cfg["seed"])
    keep = cfg["sim"]["snapshot_seeds"]
    if keep is not None and seed not in keep:
        params = dataclasses.replace(params.validate(), snapshot_months=())
    return params, seed


def _params(cfg: DictConfig) -> ModelParams:
    # the run's keys only: a job's config composed with Hydra's node works too
    data = {key: OmegaConf.to_container(cfg[key], resolve=True) if OmegaConf.is_config(cfg[key]) else cfg[key]
            for key in ("sim", "cluster", "policy", "shock", "model")}
    cluster = data["cluster"]
    province = cluster.pop("province", None)
    clusters = presets.province(province) if province else (ClusterSpec(**cluster),)
    behaviour = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data["model"].items()}
    sim = data["sim"]
    return ModelParams(
        months=sim["months"],
        snapshot_months=tuple(sim["snapshot_months"]),
        clusters=clusters,
        policy=PolicyParams(**data["policy"]),
        shock=ShockParams(**data["shock"]),
        **behaviour,
    )


@dataclasses.dataclass(frozen=True)
class Run:
    """One run of a job: a seed (and a design's row), the model's parameters, checked, and the run's own
    resolved configuration (its ``seed``, ``sim.seeds: 1`` and ``sim.design_row`` set)."""
    seed: int
    design_row: int | None
    params: ModelParams
    config: dict | None = None


def job_runs(cfg: DictConfig, configs: bool = True, in_place: bool = False) -> list[Run]:
    """Every run of a job, its parameters range-checked by the model: seeds ``seed`` to ``seed + sim.seeds
    - 1`` of each row of ``sim.design`` (or of row ``sim.design_row``; without a design, of the config).
    The first problem raises ParameterError naming it. ``configs=False``: no run's configuration (the
    checks before a sweep need none). ``cfg`` is left as it was, unless ``in_place``: then a design's rows
    set their values in it in turn (the checks of a sweep of design rows, faster)."""
    first = check_seed(cfg.seed)
    seeds, n_jobs = int(cfg.sim.seeds), int(cfg.sim.n_jobs)
    if seeds < 1:
        raise ParameterError(f"sim.seeds = {seeds} is out of range; allowed: a whole number from 1")
    if n_jobs == 0:
        raise ParameterError("sim.n_jobs = 0 is out of range; allowed: 1, 2, ... processes, or -1 for every "
                             "core (-2 every core but one, ...)")
    rows: list[int | None] = [None]
    if cfg.sim.design:
        from .sensitivity import apply_design_row, design_rows
        if not in_place:
            cfg = copy.deepcopy(cfg)  # (the rows' values are set in it in turn)
        rows = design_rows(cfg.sim.design, cfg.sim.design_row)
    keep = cfg.sim.snapshot_seeds
    runs = []
    for row in rows:
        if row is not None:
            apply_design_row(cfg, row)
        try:
            params = _params(cfg).validate()
        except (TypeError, ValueError) as err:  # (ParameterError is a ValueError)
            where = f" (design row {row})" if row is not None else ""
            message = str(err).replace("clusters[0].", "cluster.")
            if message.startswith("snapshot_months "):  # (the model's name; on the command line it is sim.)
                message = (f"sim.{message}; an experiment preset may set sim.snapshot_months: set it too, "
                           "e.g. 'sim.snapshot_months=[12]', or 'sim.snapshot_months=[]' for none")
            raise ParameterError(message + where) from err
        bare = dataclasses.replace(params, snapshot_months=())
        config = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True) if configs else None
        for seed in range(first, first + seeds):
            run_config = None if config is None else {
                **config, "seed": seed, "sim": {**config["sim"], "seeds": 1, "design_row": row}}
            runs.append(Run(seed, row, params if keep is None or seed in keep else bare, run_config))
    return runs


def check_seed(seed) -> int:
    """The seed, if NumPy takes it (a non-negative integer); else ParameterError naming it."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"seed = {seed} is out of range; allowed: a non-negative integer")
    return int(seed)


