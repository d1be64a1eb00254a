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

from .params import ClusterSpec, ParameterError, PolicyParams, ShockParams, checked
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


__all__ = ["cluster", "clusters", "names", "policy", "province", "shock"]
