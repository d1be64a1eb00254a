"""Checks of ``khusheh-run``'s command line before Hydra composes anything.

Each returns a short message naming the problem (printed as one line or two, exit
status 2, no traceback), or None. They catch mistakes that Hydra reports with a
traceback, a long message or not at all.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import errno
import os
import tempfile
import types
import typing
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from conf import preset, presets


def _overrides(argv: list[str]) -> list[tuple[str, str, str]]:
    """(prefix, key, value) of each override on the command line (``+``/``++``/``~`` prefixes apart)."""
    out = []
    for arg in argv:
        if arg.startswith("-") or "=" not in arg:
            continue
        key, _, value = arg.partition("=")
        prefix = key[: len(key) - len(key.lstrip("+~"))]
        out.append((prefix, key[len(prefix):], value))
    return out


def _values(value: str) -> list[str] | None:
    """The values of an override's value (a sweep's, expanded), or None when it cannot be parsed."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    try:
        override = OverridesParser.create().parse_override(f"k={value}")
        if override.is_sweep_override():
            return [str(v) for v in override.sweep_string_iterator()]
        return [str(override.value())]
    except Exception:  # Hydra reports a malformed value itself
        return None


@cache
def _yaml(path: str):
    """A YAML file of conf/ (``config.yaml``, ``experiment/NAME.yaml``), as written (nothing resolved)."""
    return OmegaConf.load(str(files("conf") / path))


def _defaults(path: str) -> list:
    """The Hydra defaults list of a YAML file of conf/ (``config.yaml``, ``experiment/NAME.yaml``)."""
    return OmegaConf.to_container(_yaml(path)).get("defaults") or []


def _default_choice(group: str) -> str | None:
    for item in _defaults("config.yaml"):
        if isinstance(item, dict) and group in item:
            return item[group]
    return None


def group_choices(argv: list[str], group: str) -> list[str] | None:
    """The presets of ``group`` the command line's runs use (every value of a sweep), or None when
    they cannot be told without composing (a malformed value)."""
    overrides = _overrides(argv)
    for prefix, key, value in reversed(overrides):
        if key == group and not prefix.startswith("~"):
            return _values(value)
    for prefix, key, value in reversed(overrides):  # an experiment may choose the group
        if key == "experiment" and not prefix.startswith("~"):
            chosen = []
            for name in _values(value) or []:
                if name not in presets("experiment"):
                    return None
                picks = [item[f"override /{group}"] for item in _defaults(f"experiment/{name}.yaml")
                         if isinstance(item, dict) and f"override /{group}" in item]
                chosen += picks[-1:] or [_default_choice(group)]
            return chosen
    default = _default_choice(group)
    return [default] if default else None


def check_keys(argv: list[str]) -> str | None:
    """A message for a command-line key the configuration does not have (with close names), else None.

    Hydra refuses an unknown key without saying which keys exist, and suggests ``+key=value``, which
    adds the key where nothing reads it: a run with the setting silently ignored. Keys added with
    ``+`` are checked too (but for Hydra's own, ``hydra.*``).
    """
    from .config import BehaviourConf, ClusterConf, Config, PolicyConf, ShockConf, SimConf
    groups = {"cluster": ClusterConf, "policy": PolicyConf, "shock": ShockConf, "model": BehaviourConf,
              "sim": SimConf}
    top = [f.name for f in dataclasses.fields(Config)] + ["experiment", "switch", "hydra"]
    for prefix, key, _ in _overrides(argv):
        if prefix.startswith("~"):
            continue
        key = key.split("@", 1)[0]  # (group@package)
        head, _, rest = key.replace("/", ".").partition(".")
        if head not in top:
            close = difflib.get_close_matches(head, top, n=3)
            hint = f"; did you mean {', '.join(c + key[len(head):] for c in close)}?" if close else ""
            return f"khusheh-run: unknown key {key!r}{hint}\n  top-level keys: {', '.join(top)}"
        if head not in groups or not rest or "." in rest:
            continue
        names = [f.name for f in dataclasses.fields(groups[head])]
        if rest not in names:
            close = difflib.get_close_matches(rest, names, n=3)
            hint = f"; did you mean {', '.join(f'{head}.{c}' for c in close)}?" if close else ""
            return f"khusheh-run: unknown key {key!r}{hint}\n  keys of {head}: {', '.join(names)}"
    return None


def check_province_keys(argv: list[str]) -> str | None:
    """``cluster.province.*`` set for a cluster that is not a province (Hydra: an AssertionError)."""
    keys = [key for prefix, key, _ in _overrides(argv)
            if not prefix.startswith("~") and (key == "cluster.province" or key.startswith("cluster.province."))]
    if not keys:
        return None
    provinces = [name for name in presets("cluster") if preset("cluster", name).get("province")]
    for name in group_choices(argv, "cluster") or []:
        if name in presets("cluster") and not preset("cluster", name).get("province"):
            have = " or ".join(f"cluster={p}" for p in provinces)
            return (f"khusheh-run: {keys[0]}: the cluster {name!r} is not a province preset"
                    f" ({have} {'has' if len(provinces) == 1 else 'have'} one)")
    return None


def _typed_values(value: str) -> list | None:
    """The values of an override's value as Hydra types them (a sweep's, each), or None when they cannot be
    told (a malformed value, an interval: Hydra reports or handles these itself)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    try:
        override = OverridesParser.create().parse_override(f"k={value}")
        return list(override.sweep_iterator()) if override.is_sweep_override() else [override.value()]
    except Exception:
        return None


def _expected(kind) -> str:
    """What a value of a schema field's type is, in words ('an integer', 'a list of numbers')."""
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return " or ".join(_expected(a) for a in args) + " or null"
    if typing.get_origin(kind) is list:
        inner = _expected(args[0]) if args and args[0] is not Any else "values"
        plural = {"an integer": "integers", "a number": "numbers", "a string": "strings", "true or false": "booleans"}
        return f"a list of {plural.get(inner, inner)}"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        kind, "a mapping" if typing.get_origin(kind) is dict else getattr(kind, "__name__", str(kind)))


@cache
def _schema_config():
    """The typed schema (scenarios/config.py) as an OmegaConf config, with a province set (its keys checked)."""
    from .config import Config, ProvinceConf
    cfg = OmegaConf.structured(Config)
    cfg.cluster.province = ProvinceConf()
    return cfg


def check_values(argv: list[str]) -> str | None:
    """A key the schema does not have at any depth (``cluster.province.scael``), or a value of the wrong type
    (``sim.months=abc``, ``seed=1.5``; every value of a sweep), against the typed schema of
    scenarios/config.py, set as Hydra sets a command-line value (``OmegaConf.update``). Keys under a mapping
    of free keys (``cluster.province.archetypes``) are left to Hydra; top-level and group keys are
    :func:`check_keys`'s."""
    from omegaconf.errors import OmegaConfBaseException
    from .config import Config
    for prefix, key, value in _overrides(argv):
        if prefix.startswith("~") or "@" in key or "/" in key:
            continue
        parts = key.split(".")
        kind, known = Config, True
        for depth, part in enumerate(parts):
            if not dataclasses.is_dataclass(kind):
                known = False  # a mapping of free keys, or below a value: Hydra's
                break
            hints = typing.get_type_hints(kind)
            if part not in hints:
                if depth < 2:
                    known = False  # (check_keys names unknown keys of the top level and of a group)
                    break
                where = ".".join(parts[:depth])
                names = list(hints)
                close = difflib.get_close_matches(part, names, n=3)
                hint = f"; did you mean {', '.join(f'{where}.{c}' for c in close)}?" if close else ""
                return f"khusheh-run: unknown key {key!r}{hint}\n  keys of {where}: {', '.join(names)}"
            kind = hints[part]
            inner = [a for a in typing.get_args(kind) if a is not type(None)]
            if typing.get_origin(kind) in (typing.Union, types.UnionType) and len(inner) == 1 \
                    and dataclasses.is_dataclass(inner[0]):
                kind = inner[0]  # (Optional[ProvinceConf])
        if not known or dataclasses.is_dataclass(kind):  # (a group's preset: check_presets's)
            continue
        cfg = copy.deepcopy(_schema_config())
        items = _typed_values(value) or []
        for item in items:
            try:
                OmegaConf.update(cfg, key, item, merge=True)
            except OmegaConfBaseException:
                shown = value if len(items) == 1 else "null" if item is None else item
                return f"khusheh-run: {key}={shown}: expected {_expected(kind)}"
    return None


def check_design_row(argv: list[str]) -> str | None:
    """``sim.design_row`` without ``sim.design`` (the row of no design: silently ignored otherwise)."""
    overrides = [(p, k, v) for p, k, v in _overrides(argv) if not p.startswith("~")]
    rows = [v for _, k, v in overrides if k == "sim.design_row"]
    if not rows or all(r in ("null", "None") for r in (_values(rows[-1]) or [])):
        return None
    designs = [v for _, k, v in overrides if k == "sim.design"]
    if designs and all(d not in ("", "''", '""', "null") for d in (_values(designs[-1]) or [""])):
        return None
    for _, key, value in overrides:  # an experiment preset may name a design
        if key == "experiment":
            for name in _values(value) or []:
                if name in presets("experiment") and _raw(f"experiment/{name}.yaml", "sim", "design"):
                    return None
    return (f"khusheh-run: sim.design_row={rows[-1]} needs a design: set sim.design too "
            "(a design.csv written by khusheh-sensitivity design)")


def check_hydra_groups(argv: list[str]) -> str | None:
    """An unknown option of one of Hydra's own groups (``hydra/launcher=nope``), with the available ones:
    Hydra's config loader (public) lists them."""
    wanted = [(key, value) for prefix, key, value in _overrides(argv)
              if key.startswith("hydra/") and not prefix.startswith("~")]
    if not wanted:
        return None
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    with initialize_config_module("conf", version_base=None):
        loader = GlobalHydra.instance().config_loader()
        for key, value in wanted:
            options = loader.get_group_options(key)
            for name in _values(value) or []:
                if options and name not in options and name not in ("null", "None"):
                    close = difflib.get_close_matches(name, options, n=1)
                    hint = f"; did you mean {key}={close[0]}?" if close else ""
                    return f"khusheh-run: unknown {key} option {name!r}{hint} (available: {', '.join(options)})"
    return None


GROUPS = ("cluster", "policy", "shock", "switch", "experiment")


def check_presets(argv: list[str]) -> str | None:
    """An unknown preset of a config group (Hydra: 20 lines with its search path), with the available ones."""
    for prefix, key, value in _overrides(argv):
        if key not in GROUPS or prefix.startswith("~"):
            continue
        for name in _values(value) or []:
            if name in ("None", "null") or name in presets(key):
                continue
            close = difflib.get_close_matches(name, presets(key), n=1)
            hint = f"; did you mean {key}={close[0]}?" if close else ""
            return f"khusheh-run: unknown {key} preset {name!r}{hint} (available: {', '.join(presets(key))})"
    return None


def _multirun(argv: list[str]) -> bool:
    return any(arg in ("-m", "--multirun") for arg in argv)


def output_folder(argv: list[str]) -> str | None:
    """The output folder the command line's run (``hydra.run.dir``) or sweep (``hydra.sweep.dir``) writes to,
    as configured (interpolations such as ``${now:...}`` unresolved): the command line's, else the chosen
    experiment's, else conf/config.yaml's; None when it cannot be told without composing."""
    key = "sweep" if _multirun(argv) else "run"
    overrides = _overrides(argv)
    for prefix, name, value in reversed(overrides):
        if name == f"hydra.{key}.dir" and not prefix.startswith("~"):
            return value
    if key == "sweep":
        for prefix, name, value in reversed(overrides):
            if name == "experiment" and not prefix.startswith("~"):
                names = _values(value) or []
                if len(names) != 1 or names[0] not in presets("experiment"):
                    return None
                found = _raw(f"experiment/{names[0]}.yaml", "hydra", key, "dir")
                if found is not None:
                    return str(found)
                break
    found = _raw("config.yaml", "hydra", key, "dir")
    return None if found is None else str(found)


def _raw(path: str, *keys: str):
    """A value of a YAML file of conf/ as written (interpolations unresolved), or None."""
    node = OmegaConf.to_container(_yaml(path), resolve=False)
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def folder_problem(folder: Path) -> str | None:
    """Why results cannot be written into ``folder`` (the reason, e.g. 'No such file or directory'), or None.

    Tried for real (permissions, a read-only file system, ``/proc``, a file in the way; run as root,
    permissions alone tell nothing): a file is made and removed in the folder when it exists, else a
    folder in its deepest existing parent; nothing is left behind.
    """
    folder = Path(os.path.abspath(folder))
    base = folder
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        return os.strerror(errno.ENOTDIR)  # a file in the way
    try:
        if base == folder:
            fd, probe = tempfile.mkstemp(prefix=".khusheh-probe-", dir=base)
            os.close(fd)
            os.unlink(probe)
        else:
            os.rmdir(tempfile.mkdtemp(prefix=".khusheh-probe-", dir=base))
    except OSError as err:
        return err.strerror or str(err)
    return None


def check_output_folder(argv: list[str], given_only: bool = False) -> str | None:
    """An output folder that cannot be created or written (Hydra: three chained tracebacks), checked before
    anything starts. A folder named with interpolations (``outputs/${now:...}``) is checked up to its first
    one. ``given_only``: only a folder the command line names."""
    key = f"hydra.{'sweep' if _multirun(argv) else 'run'}.dir"
    if given_only and not any(k == key and not p.startswith("~") for p, k, _ in _overrides(argv)):
        return None
    value = output_folder(argv)
    if not value:
        return None
    literal = value.split("${", 1)[0]
    folder = literal if literal == value or literal.endswith("/") else os.path.dirname(literal)
    reason = folder_problem(Path(folder or "."))
    if reason:
        return f"khusheh-run: cannot write results to {os.path.abspath(folder or '.')}: {reason}"
    return None


CHECKS = (check_keys, check_values, check_design_row, check_presets, check_hydra_groups, check_province_keys,
          check_output_folder)


def _other_configs(argv: list[str]) -> bool:
    """Does the command line add config folders (``hydra.searchpath``, ``--config-dir``/``-cd``, or another
    ``--config-path``/``-cp``), whose presets only Hydra knows?"""
    for arg in argv:
        if arg.startswith(("--config-dir", "-cd", "--config-path", "-cp")):
            return True
        key = arg.partition("=")[0].lstrip("+~")
        if "=" in arg and key == "hydra.searchpath":
            return True
    return False


def problem(argv: list[str]) -> str | None:
    """The first problem any check finds on the command line, or None. With config folders of the
    user's own, the presets are left to Hydra to check (it knows them; these checks know Khusheh's)."""
    checks = CHECKS if not _other_configs(argv) else (
        check_keys, check_values, lambda argv: check_output_folder(argv, given_only=True))
    for check in checks:
        message = check(argv)
        if message:
            return message
    return None
