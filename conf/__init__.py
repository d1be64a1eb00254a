"""Khusheh's presets, as plain YAML package data: the one source that the model, the CLI and the
dashboard read them from.

>>> from conf import presets, preset
>>> presets("policy")[:3]
('export_consortium', 'linkages', 'long_cda')
>>> preset("policy", "standard_cda")["budget"]
600.0

Groups: ``cluster``, ``policy``, ``shock`` (and ``experiment``, the named sweeps). This module
imports nothing of the model nor of Hydra.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

GROUPS = ("cluster", "policy", "shock")


@cache
def presets(group: str) -> tuple[str, ...]:
    """The preset names of a config group (``conf/<group>/*.yaml``), sorted."""
    folder = files(__name__) / group
    if not folder.is_dir():
        raise KeyError(f"no preset group {group!r}; the groups are {', '.join(GROUPS)}")
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")))


def preset(group: str, name: str) -> dict:
    """A preset's values as a plain dict (a fresh copy each call); KeyError naming the choices if unknown."""
    import copy

    return copy.deepcopy(_load(group, name))


@cache
def _load(group: str, name: str) -> dict:
    import yaml

    if name not in presets(group):
        raise KeyError(f"no {group} preset {name!r}; the {group} presets are {', '.join(presets(group))}")
    text = (files(__name__) / group / f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    data.pop("defaults", None)  # (Hydra's composition list, not a value)
    return data
