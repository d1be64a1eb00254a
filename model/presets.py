"""The named presets of ``conf/`` (plain YAML, the one place they are written) as the model's parameters.

>>> from model import presets
>>> presets.policy("standard_cda").budget
600.0
>>> presets.policy("standard_cda", budget=900.0).budget
900.0
>>> presets.names("shock")
('demand_drop', 'export_restriction', 'input_price_spike', 'none')

An unknown name, an unknown field or a value out of range raises
:class:`~model.params.ParameterError` with a one-line message that names it.
"""

from __future__ import annotations

from dataclasses import fields, replace

import conf

import difflib

from .params import ClusterSpec, ModelParams, ParameterError, PolicyParams, ShockParams, checked
from .province import Archetype, build_province


def names(group: str) -> tuple[str, ...]:
    """The preset names of ``group`` (``cluster``, ``policy`` or ``shock``), sorted."""
    if group not in conf.GROUPS:
        raise ParameterError(f"no preset group {group!r}; choose one of {', '.join(conf.GROUPS)}")
    return conf.presets(group)


def _values(group: str, name: str) -> dict:
    if name not in names(group):
        raise ParameterError(f"unknown {group} preset {name!r}; choose one of {', '.join(names(group))}")
    return conf.preset(group, name)


def _build(cls: type, what: str, values: dict, changes: dict):
    """``cls`` from a preset's values and the caller's changes, checked; a whole number in YAML for a
    field whose default is a float becomes a float (as Hydra's schema makes it)."""
    defaults = {f.name: f.default for f in fields(cls)}
    for key in (*values, *changes):
        if key not in defaults:
            raise ParameterError(f"{what}: {key!r} is not a field of {cls.__name__}")
    values = {key: float(v) if isinstance(defaults[key], float) and type(v) is int else v
              for key, v in values.items()}
    return checked(replace(cls(**values), **changes), f"{what}.")


def policy(name: str, **changes) -> PolicyParams:
    """The policy preset ``conf/policy/<name>.yaml``, with fields changed by ``changes``."""
    return _build(PolicyParams, f"policy {name}", _values("policy", name), changes)


def shock(name: str, **changes) -> ShockParams:
    """The shock preset ``conf/shock/<name>.yaml``, with fields changed by ``changes``."""
    return _build(ShockParams, f"shock {name}", _values("shock", name), changes)


def cluster(name: str, **changes) -> ClusterSpec:
    """The single-cluster preset ``conf/cluster/<name>.yaml`` (not a province: see :func:`clusters`)."""
    values = _values("cluster", name)
    if "province" in values:
        raise ParameterError(f"cluster preset {name!r} is a province of many clusters; use clusters({name!r})")
    return _build(ClusterSpec, f"cluster {name}", values, changes)


def clusters(name: str) -> tuple[ClusterSpec, ...]:
    """The clusters of a cluster preset: the one cluster, or every cluster of a province preset (its named
    clusters, then those drawn from its archetypes; see :func:`province`)."""
    values = _values("cluster", name)
    return (cluster(name),) if values.get("province") is None else province(values["province"])


def province(values: dict) -> tuple[ClusterSpec, ...]:
    """The clusters of a province described as in ``conf/cluster/isfahan_province.yaml``'s ``province``:
    the named cluster presets as they are, then the clusters drawn from its archetypes
    (:func:`model.province.build_province`)."""
    named = []
    for name in values["named"]:
        try:
            named.append(cluster(name))
        except ParameterError as err:
            raise ParameterError(f"cluster.province.named: {err}") from None
    archetypes = tuple(Archetype(name=key, count=a["count"], towns=tuple(a["towns"]), n_firms=tuple(a["n_firms"]),
                                 spec=dict(a.get("spec", {})))
                       for key, a in values["archetypes"].items())
    return build_province(tuple(named), archetypes, values["total_firms"], values.get("layout_seed", 0),
                          values.get("scale", 1.0))


def model_params(params: ModelParams | None = None, *, cluster: str | None = None,
                 policy: str | PolicyParams | None = None, shock: str | ShockParams | None = None,
                 **overrides) -> ModelParams:
    """Checked :class:`ModelParams`: ``params`` (default ``ModelParams()``) with the presets named, then the
    flat keyword ``overrides`` on top (``ModelParams.with_overrides``), whatever their order. What
    ``ClusterModel(params, cluster=..., policy=..., shock=..., **overrides)`` runs.

    ``cluster`` names a cluster preset (its cluster, or the 70 of a province preset); ``policy`` and
    ``shock`` a preset name or a whole :class:`PolicyParams`/:class:`ShockParams`; ``None`` chooses
    nothing. A preset fills its part of ``params`` (``clusters``, ``policy``, ``shock``) only where
    ``params`` leaves it at its default or already holds that same preset; where ``params`` sets it
    otherwise, the two disagree and :class:`ParameterError` says so: change single fields with flat
    keywords instead (``policy_budget=900``).

    >>> model_params(cluster="carpet_kashan", policy="trust_first", policy_budget=900).policy.budget
    900.0
    """
    params = params if params is not None else ModelParams()
    if not isinstance(params, ModelParams):
        raise ParameterError(f"params = {params!r} must be a ModelParams")
    if cluster is not None and not isinstance(cluster, str):
        raise ParameterError(f"cluster = {cluster!r} must be a cluster preset name (one of "
                             f"{', '.join(names('cluster'))}); pass ClusterSpec objects as clusters=(...)")
    for group, name in (("cluster", cluster), ("policy", policy), ("shock", shock)):
        if isinstance(name, str):
            params = _with_preset(params, group, str(name))
        elif name is not None:  # a PolicyParams/ShockParams (or a wrong type, refused by validate)
            overrides[group] = name
    return params.with_overrides(**overrides).validate()


def _with_preset(params: ModelParams, group: str, name: str) -> ModelParams:
    if name not in names(group):
        close = difflib.get_close_matches(name, names(group), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ParameterError(f"{group} = {name!r} is not a {group} preset{hint}; choose one of "
                             f"{', '.join(names(group))}")
    value = {"cluster": clusters, "policy": policy, "shock": shock}[group](name)
    part = "clusters" if group == "cluster" else group
    current = getattr(params, part)
    if current != getattr(ModelParams, part) and current != value:
        example = "n_firms" if group == "cluster" else f"{group}_start_month"
        raise ParameterError(f"{group} = {name!r} names a preset, but the ModelParams given sets {part} "
                             f"otherwise; pass one of the two (or change single fields with keywords such as "
                             f"{example}=...)")
    return replace(params, **{part: value})


__all__ = ["cluster", "clusters", "model_params", "names", "policy", "province", "shock"]
