"""Khusheh's presets, as plain YAML package data: the one source that the model, the CLI and the
dashboard read them from.

>>> from conf import presets, preset
>>> presets("policy")[:3]
('export_consortium', 'linkages', 'long_cda')
>>> preset("policy", "standard_cda")["budget"]
600.0

Groups: ``cluster``, ``policy``, ``shock`` (and ``experiment``, the named sweeps). Also the table of
the model's outcomes (``outcomes()``, from ``outcomes.yaml``). This module imports nothing of the model
nor of Hydra.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Outcome:
    """One monthly outcome of the model (a column of a run's series); see ``outcomes.yaml``."""

    name: str
    label: str
    unit: str
    digits: int | None  # decimals printed; None: 1 below 100, else 0
    better: str | None  # "higher", "lower" or None (neither)
    summary: bool  # carried by a run's summary row at the CDA's exit and at the horizon
    window: int = 1  # months an effect "at month t" averages, ending at t (a monthly flow: 12, a whole year)

    def format(self, value: float, signed: bool = False) -> str:
        """``value`` with this outcome's decimals (thousands separated; a sign when ``signed``)."""
        digits = self.digits if self.digits is not None else (1 if abs(value) < 100 else 0)
        return f"{value:+,.{digits}f}" if signed else f"{value:,.{digits}f}"


@cache
def outcomes() -> dict[str, Outcome]:
    """The model's outcomes by name, in the column order of a run's series."""
    import yaml

    table = yaml.safe_load((files(__name__) / "outcomes.yaml").read_text(encoding="utf-8"))
    return {name: Outcome(name=name, **fields) for name, fields in table.items()}


@cache
def plot_style() -> dict:
    """Matplotlib settings of every figure, from ``khusheh.mplstyle`` (fonts, and the palette as the colour
    cycle: ``plot_style()["axes.prop_cycle"].by_key()["color"]``), for ``matplotlib.rc_context``."""
    import matplotlib

    path = files(__name__) / "khusheh.mplstyle"
    return dict(matplotlib.rc_params_from_file(str(path), use_default_template=False))


def palette() -> list[str]:
    """The figures' colours, in order (the colour cycle of :func:`plot_style`)."""
    return list(plot_style()["axes.prop_cycle"].by_key()["color"])
