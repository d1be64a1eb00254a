"""The result format, owned here: folder and file names, identity columns, atomic writes, the completion
marker, the completeness check, and the one reader of result folders.

``khusheh-run`` writes with it (:mod:`scenarios.app`, :mod:`scenarios.runner`); ``khusheh-report`` reads
with it (:mod:`analysis.collect` and the reports). It imports nothing of the model or of Hydra. The
contract is described in docs/RESULTS.md; in short, a run's folder holds

- ``series.parquet``, ``cluster_series.parquet``, ``demography.parquet``, ``summary.parquet`` and
  ``snapshots/{firms,ties,places}_M.parquet``: tables, each row carrying the run's identity columns
  (``cluster_preset``, ``policy``, ``shock``, ``seed`` and each other overridden key);
- ``_config.yaml`` (the run's resolved configuration) and ``_provenance.json``;
- ``_DONE``, written last (the configuration's hash and the files written), or ``_FAILED`` (the error).

Each Parquet field carries its ``label``, ``unit`` and ``role`` as field metadata (:func:`field_metadata`:
the outcomes' from conf/outcomes.yaml, the other columns' from :data:`COLUMNS` and :data:`SNAPSHOT_COLUMNS`).

Names that are not tables start with ``_`` or ``.``, which dataset readers (pyarrow, DuckDB, polars)
skip. A folder whose ``_DONE`` matches its configuration and whose files are all there, each Parquet
file with a readable footer, is complete: a rerun skips it; anything less is redone.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import pandas as pd

from conf import outcomes

TABLES = ("series", "cluster_series", "demography", "summary")  # <name>.parquet in a run's folder
SNAPSHOTS = "snapshots"  # snapshots/<kind>_<month>.parquet
DONE, FAILED = "_DONE", "_FAILED"
CONFIG, PROVENANCE = "_config.yaml", "_provenance.json"
REQUIRED = ("series.parquet", "cluster_series.parquet", "summary.parquet", CONFIG, PROVENANCE)
IDENTITY = ("cluster_preset", "policy", "shock", "seed")  # first columns of every table; then other overrides
# the outcomes a summary row carries at the CDA's end and at the horizon (conf/outcomes.yaml's `summary`)
OUTCOMES = tuple(name for name, about in outcomes().items() if about.summary)
_RUN_NAME = re.compile(r"(?:row_(\d+)_)?seed_(\d+)")


def run_name(seed: int, design_row: int | None = None) -> str:
    """A run's folder name in its job's folder: ``seed_0007``, or ``row_0012_seed_0007`` for a design's row."""
    return (f"row_{design_row:04d}_" if design_row is not None else "") + f"seed_{seed:04d}"


def is_run_name(name: str) -> bool:
    return _RUN_NAME.fullmatch(name) is not None


def seed_of(name: str) -> int | None:
    """The seed of a run's folder name (None for another name)."""
    found = _RUN_NAME.fullmatch(name)
    return int(found.group(2)) if found else None


# ---------------------------------------------------------------------------------------------- writing
def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path`` (``.tmp-*``), then rename it over ``path``.

    The temporary file is created as ``open`` creates a file (mode 666 less the umask), so that the
    results are as readable as any other file (``tempfile.mkstemp`` makes them 600: unreadable by
    colleagues in a shared folder).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.parent / f".tmp-{uuid.uuid4().hex[:12]}-{path.name}"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:  # (another writer's name: draw another)
            continue
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


# Label and unit of every column a run writes that is not one of the model's outcomes (conf/outcomes.yaml
# has those): the identity columns, the per-cluster and demography tables', the summary's settings, and the
# snapshots' (by kind: a snapshot's ``cluster`` is the member's index, not its name). A summary's
# ``X_cda_end`` and ``X_horizon`` take outcome X's unit. Written as each Parquet field's metadata.
COLUMNS = {
    "cluster_preset": ("Cluster preset", "name"),
    "policy": ("Policy preset", "name"),
    "shock": ("Shock preset", "name"),
    "seed": ("Seed", "integer"),
    "sim.design_row": ("Design row", "row of the sensitivity design"),
    "cluster": ("Member cluster", "name"),
    "event": ("Event", "entry or exit"),
    "birth_month": ("Month of entry", "months since the start"),
    "age": ("Age", "months"),
    "overrides": ("Overrides", "key=value, comma-separated"),
    "budget": ("Programme budget", "wage-months"),
    "subsidy_rate": ("Subsidy rate", "share of contributors' cost"),
    "start_month": ("CDA start", "months since the start"),
    "duration_months": ("CDA duration", "months"),
    "months": ("Horizon", "months"),
    "world": ("Uncertain world", "row of the Latin hypercube sample over conf/sensitivity.yaml's ranges"),
    "baseline": ("Baseline policy", "name"),
}
SNAPSHOT_COLUMNS = {
    "firms": {
        "unique_id": ("Firm", "Mesa unique_id"),
        "uid": ("Firm identity", "the same firm in every run of a seed (model.keyed): pairs a firm with itself "
                "across policies"),
        "cluster": ("Member cluster", "index of the member cluster"),
        "x": ("Cell x", "cells"), "y": ("Cell y", "cells"), "employees": ("Employees", "workers"),
        "capital": ("Capital", "wage-months"), "revenue": ("Revenue", "wage-months per month"),
        "productivity": ("Productivity", "index"), "cash": ("Cash", "wage-months"), "exporter": ("Exporter", "bool"),
        "member": ("Association member", "bool"), "trust_in_cda": ("Trust in the CDA", "0-1"),
        "degree": ("Degree", "ties"), "mean_tie_trust": ("Mean trust of its ties", "0-1"),
        "recent_joint_actions": ("In a joint action", "bool"),
        "reached": ("Reached by the programme so far", "bits: 1 attended an event, 2 in a group or consortium, "
                    "4 subsidised, 8 association member, 16 linked, 32 used the facility"),
    },
    "ties": {
        "firm_a": ("Firm a", "Mesa unique_id"), "firm_b": ("Firm b", "Mesa unique_id"),
        "trust_ab": ("Trust of a in b", "0-1"), "trust_ba": ("Trust of b in a", "0-1"),
        "last_interaction": ("Last interaction", "months since the start"),
    },
    "places": {
        "kind": ("Kind", "name"), "name": ("Name", "name"), "x": ("Cell x", "cells"), "y": ("Cell y", "cells"),
        "cluster": ("Member cluster", "index of the member cluster (-1: none)"),
    },
}
OVERRIDE_UNIT = "the parameter's (docs/ODD.md)"  # an overridden key's column (results.py knows no model)


def column_info(name: str, table: str = "series") -> tuple[str, str] | None:
    """(label, unit) of a column of ``table`` (a table's name, or a snapshot's kind), or None for a column
    that is not a run's (an overridden key's column: :data:`OVERRIDE_UNIT`)."""
    own = SNAPSHOT_COLUMNS.get(table, {})
    if name in own:
        return own[name]
    about = outcomes()
    if name in about:
        return about[name].label, about[name].unit
    for suffix, when in (("_effect_horizon", "effect at the horizon"), ("_effect_cda_end", "effect at the CDA's end"),
                         ("_cda_end", "at the CDA's end"), ("_horizon", "at the horizon")):
        base = name.removesuffix(suffix)
        if base != name and base in about:
            return f"{about[base].label} {when}", about[base].unit
    return COLUMNS.get(name)


def field_metadata(frame: pd.DataFrame, table: str, identity=()) -> dict[str, dict[str, str]]:
    """Each column's Parquet field metadata: ``unit`` and ``label``, and ``role`` (``identity`` for the run's
    identity columns, else ``data``)."""
    out = {}
    for name in frame.columns:
        info = column_info(name, table)
        label, unit = info if info is not None else (name, OVERRIDE_UNIT)
        out[name] = {"label": label, "unit": unit, "role": "identity" if name in identity else "data"}
    return out


def write_parquet(path: Path, frame: pd.DataFrame, metadata: dict[str, dict[str, str]] | None = None) -> None:
    """Write ``frame`` (no index) with pandas' schema metadata, so that pandas reads back its dtypes, and
    ``metadata`` ({column: {key: text}}) as each field's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if metadata:
        fields = [f.with_metadata(metadata[f.name]) if f.name in metadata else f for f in table.schema]
        table = table.cast(pa.schema(fields, metadata=table.schema.metadata))
    # no column statistics: the files are small and read whole (a quarter of the time to write them)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp, write_statistics=False))


def with_identity(frame: pd.DataFrame, identity: dict) -> pd.DataFrame:
    """``frame`` with the run's identity columns in front (a table's own column of the same name stays)."""
    own = {k: v for k, v in identity.items() if k not in frame.columns}
    return pd.concat([pd.DataFrame(own, index=frame.index), frame], axis=1) if own else frame


def write_run(folder: Path, identity: dict, *, series: pd.DataFrame, cluster_series: pd.DataFrame,
              summary: pd.DataFrame, config_yaml: str, provenance: dict, demography: pd.DataFrame | None = None,
              snapshots: dict | None = None) -> None:
    """Write a run's tables (each with ``identity`` in front), its configuration and provenance, each
    atomically, then ``_DONE``, which lists the files written (so that a rerun notices any of them missing,
    the optional ones included). ``snapshots``: {month: {kind: frame}}; a frame without a ``month`` column
    gets one."""
    written = []

    def table(name: str, frame: pd.DataFrame) -> None:
        frame = with_identity(frame, identity)
        kind = Path(name).stem.split("_")[0] if name.startswith(SNAPSHOTS) else Path(name).stem
        write_parquet(folder / name, frame, field_metadata(frame, kind, identity))
        written.append(name)

    table("series.parquet", series)
    table("cluster_series.parquet", cluster_series)
    if demography is not None:
        table("demography.parquet", demography)
    table("summary.parquet", summary)
    for month, frames in (snapshots or {}).items():
        for kind, frame in frames.items():
            table(f"{SNAPSHOTS}/{kind}_{month}.parquet", frame if "month" in frame else frame.assign(month=month))
    write_text(folder / CONFIG, config_yaml)
    write_text(folder / PROVENANCE, json.dumps(provenance, indent=1) + "\n")
    written += [CONFIG, PROVENANCE]
    write_text(folder / DONE, json.dumps({"config_hash": provenance["config_hash"], "finished": provenance["finished"],
                                          "files": sorted(written)}) + "\n")


def write_failure(folder: Path, message: str) -> None:
    write_text(folder / FAILED, message.rstrip() + "\n")


def clear_incomplete(folder: Path) -> None:
    """Remove what an interrupted or failed run left in its folder (never a complete run's files)."""
    for name in (*[f"{t}.parquet" for t in TABLES], CONFIG, PROVENANCE, DONE, FAILED):
        (folder / name).unlink(missing_ok=True)
    shutil.rmtree(folder / SNAPSHOTS, ignore_errors=True)
    remove_temporary_files(folder)


def remove_temporary_files(folder: Path) -> None:
    """Remove what interrupted atomic writes left (``.tmp-*``) in a run's folder."""
    for tmp in [*folder.glob(".tmp-*"), *folder.glob(f"{SNAPSHOTS}/.tmp-*")]:
        tmp.unlink(missing_ok=True)


def config_hash(config: dict) -> str:
    """A digest of a run's resolved configuration (a plain dict): the same configuration, the same digest."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@functools.cache
def git_commit() -> str | None:
    """The checkout's commit (with '+dirty' for local changes), or None outside a git checkout.

    Looked up once per process: the code a process runs is the code it imported when it started.
    """
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


@functools.cache
def _version(pkg: str) -> str | None:
    """An installed package's version (looked up once per process, as the commit)."""
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def provenance(seed: int, digest: str, seconds: float) -> dict:
    return {
        "khusheh": _version("khusheh"), "git_commit": git_commit(), "seed": seed, "config_hash": digest,
        "python": sys.version.split()[0], "mesa": _version("mesa"), "numpy": _version("numpy"),
        "pandas": _version("pandas"), "hydra_core": _version("hydra-core"), "platform": platform.platform(),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), "wall_seconds": round(seconds, 3),
    }


def summary_row(info: dict, series: pd.DataFrame, cda_end: int | None) -> pd.DataFrame:
    """One row: ``info`` (the run's settings), then each outcome at the CDA's end and at the horizon."""
    row = dict(info)
    last = series.iloc[-1]
    for col in OUTCOMES:
        row[f"{col}_horizon"] = last[col]
        if cda_end is not None and cda_end < len(series):
            row[f"{col}_cda_end"] = series[col].iloc[cda_end]
        else:
            row[f"{col}_cda_end"] = float("nan")
    row["cda_spent"] = last["cda_spent"]
    row["months"] = int(last["month"])
    return pd.DataFrame([row])


def write_error(folder: Path, err: OSError) -> str:
    """The one line that says results cannot be written into ``folder`` and why (``err``: the write's
    error; its system reason, e.g. 'No space left on device', when it has one)."""
    reason = os.strerror(err.errno) if err.errno else (str(err).strip().splitlines() or [type(err).__name__])[0]
    return f"{_WRITE_ERROR}{Path(folder).absolute()}: {reason}"


_WRITE_ERROR = "khusheh-run: cannot write results to "


def is_write_error(line: object) -> bool:
    """Is ``line`` (a job's return value, say) one of :func:`write_error`'s?"""
    return isinstance(line, str) and line.startswith(_WRITE_ERROR)


# ---------------------------------------------------------------------------------------------- robustness
# A robustness run (khusheh-robust) is no run folder: it holds one table, ``robustness.parquet`` (a row per
# uncertain world, programme and seed: the identity columns, ``world``, the world's uncertain values under the
# model's flat names, and each ``<outcome>_effect_horizon``, programme minus baseline on the same seed and
# world), and ``_robustness.json`` (what was run, its provenance and wall time), written last: the folder is
# complete when that file is there and names the table.
ROBUSTNESS, ROBUSTNESS_META = "robustness.parquet", "_robustness.json"
ROBUSTNESS_IDENTITY = ("cluster_preset", "policy", "shock", "seed", "world", "baseline", "months")


def write_robustness(folder: Path, table: pd.DataFrame, meta: dict) -> None:
    """Write a robustness run's table and then its description, each atomically."""
    folder = Path(folder)
    identity = [c for c in table.columns if c in ROBUSTNESS_IDENTITY or c in meta.get("identity", ())]
    write_parquet(folder / ROBUSTNESS, table, field_metadata(table, "robustness", identity))
    write_text(folder / ROBUSTNESS_META, json.dumps({**meta, "files": [ROBUSTNESS]}, indent=1) + "\n")


def is_robustness(folder: Path) -> bool:
    """Does ``folder`` hold a complete robustness run?"""
    return (Path(folder) / ROBUSTNESS_META).is_file() and (Path(folder) / ROBUSTNESS).is_file()


def read_robustness(folder: Path) -> tuple[pd.DataFrame, dict]:
    """A robustness run's table and description (``ValueError`` naming the problem if unreadable)."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / ROBUSTNESS_META).read_text(encoding="utf-8"))
        table = pd.read_parquet(folder / ROBUSTNESS)
    except (OSError, ValueError) as err:
        raise ValueError(f"{folder}: not a readable robustness run ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''}); write one with khusheh-robust") from None
    return table, meta


# ---------------------------------------------------------------------------------------------- checking
def is_complete(folder: Path, digest: str | None = None) -> bool:
    """True when ``folder`` has a ``_DONE`` marker (for ``digest``, when given) and every result file, readable."""
    return check_complete(folder, digest) == (True, None)


def check_complete(folder: Path, digest: str | None = None) -> tuple[bool, str | None]:
    """(complete, problem): complete when ``folder`` has a ``_DONE`` marker (for ``digest``, when given) and
    every file it lists, each Parquet file with a readable footer; problem names what is broken when the
    marker says the results are complete but a file is missing or unreadable (None otherwise)."""
    marker = folder / DONE
    if not marker.is_file():
        return False, None
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False, f"{DONE} is unreadable"
    if digest is not None and info.get("config_hash") != digest:
        return False, None
    listed = info.get("files")
    for name in listed if isinstance(listed, list) else REQUIRED:
        if not (folder / name).is_file():
            return False, f"{name} is missing"
    for path in sorted([*folder.glob("*.parquet"), *folder.glob(f"{SNAPSHOTS}/*.parquet")]):
        problem = parquet_problem(path)
        if problem:
            return False, f"{path.relative_to(folder)} {problem}"
    return True, None


def parquet_problem(path: Path) -> str | None:
    """What is wrong with a Parquet file, or None: its magic bytes and footer (its metadata) are checked,
    not its data (a fraction of a millisecond a file)."""
    import pyarrow.parquet as pq
    try:
        with open(path, "rb") as file:
            head = file.read(4)
            file.seek(0, os.SEEK_END)
            size = file.tell()
            file.seek(max(size - 4, 0))
            tail = file.read(4)
    except OSError as err:
        return f"is unreadable ({err.strerror or err})"
    if size < 12 or head != b"PAR1" or tail != b"PAR1":
        return "is not a complete Parquet file (truncated or corrupt)"
    try:
        pq.read_metadata(path)
    except Exception as err:  # pyarrow's errors for a damaged footer (OSError, ArrowInvalid, ...)
        reason = str(err).strip().splitlines() or [type(err).__name__]
        return f"is not a readable Parquet file ({reason[0]})"
    return None


# ---------------------------------------------------------------------------------------------- reading
@dataclass
class RunFolder:
    """A run's folder found by :func:`find_runs`: its status and, when not complete, why."""
    folder: Path
    status: str  # "complete" (a _DONE marker), "failed" (_FAILED) or "incomplete"
    detail: str = ""


def _is_run(folder: Path) -> bool:
    """A run's folder: named as one, or holding a run's marker (a job's folder may hold a _FAILED of its
    own, when the job as a whole failed: it is a run's only if it holds no run folder)."""
    if is_run_name(folder.name) or (folder / DONE).is_file():
        return True
    return (folder / FAILED).is_file() and not _holds_runs(folder)


def _holds_runs(folder: Path) -> bool:
    return any(is_run_name(p.name) for p in folder.iterdir() if p.is_dir())


def find_runs(root: Path) -> list[RunFolder]:
    """The runs in ``root`` (itself, or any folder below it, in name order), each with its status.

    A run's folder is named ``seed_N`` or ``row_R_seed_N`` (or holds a marker); a job's folder (one
    Hydra wrote, with ``.hydra/``) that holds no run is listed as incomplete too. Folders whose names
    start with ``.`` or ``_``, and links to folders (which could loop), are not searched.
    """
    root = Path(root)
    if _is_run(root):
        return [_status(root)]
    found = []
    subs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    for sub in subs:
        if _is_run(sub):
            found.append(_status(sub))
        elif not sub.is_symlink():
            found.extend(find_runs(sub))
    if (root / FAILED).is_file():  # a job that failed as a whole, after some of its runs (listed above)
        found.append(RunFolder(root, "failed", read_failure(root)))
    elif not found and (root / ".hydra").is_dir():
        found.append(RunFolder(root, "incomplete", "the job started but no run of it did"))
    return found


def _status(folder: Path) -> RunFolder:
    if (folder / FAILED).is_file():
        return RunFolder(folder, "failed", read_failure(folder))
    if not (folder / DONE).is_file():
        return RunFolder(folder, "incomplete", f"no {DONE} marker: the run did not finish")
    return RunFolder(folder, "complete")


def read_failure(folder: Path) -> str:
    """A failed run's or job's error in one line: its first line (a message, or the summary line written
    above a traceback); a bare traceback's last line."""
    lines = (folder / FAILED).read_text(errors="replace").strip().splitlines()
    if not lines:
        return ""
    return lines[-1] if lines[0].startswith("Traceback") else lines[0]


def read_table(folder: Path, name: str) -> pd.DataFrame:
    """One of a run's tables (``series``, ``cluster_series``, ``demography``, ``summary``)."""
    if name not in TABLES:
        raise ValueError(f"no table {name!r}; the tables are {', '.join(TABLES)}")
    return pd.read_parquet(Path(folder) / f"{name}.parquet")


def snapshot_path(folder: Path, kind: str, month: int) -> Path:
    return Path(folder) / SNAPSHOTS / f"{kind}_{month}.parquet"


def read_snapshot(folder: Path, kind: str, month: int) -> pd.DataFrame:
    """A run's agent-level snapshot (``firms``, ``ties``, ``places``) of ``month``."""
    return pd.read_parquet(snapshot_path(folder, kind, month))


def read_config(folder: Path) -> dict:
    """A run's resolved configuration."""
    import yaml
    return yaml.safe_load((Path(folder) / CONFIG).read_text()) or {}
