"""The one writer of result files: atomic writes, a completion marker written last.

A run's folder holds:

- ``series.parquet``: the region's monthly series (DESIGN.md section 6 columns);
- ``cluster_series.parquet``: the same per cluster (``cluster`` column);
- ``summary.parquet``: one row: the run's identity and its outcomes at the end of
  the CDA and at the horizon;
- ``snapshots/firms_M.parquet``, ``snapshots/ties_M.parquet`` at chosen months;
- ``config.yaml``: the resolved configuration;
- ``provenance.json``: package version, git commit, seed, Python, Mesa, ...;
- ``DONE``: written last, with the hash of the configuration. A folder without
  it is incomplete and is redone; with it (and the same hash) it is skipped,
  unless a result file is missing or a Parquet file's footer is unreadable
  (truncated, corrupt): then it is redone too.

A failed run leaves ``FAILED`` (the error) instead of ``DONE``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import pandas as pd

DONE = "DONE"
FAILED = "FAILED"
RESULT_FILES = ("series.parquet", "cluster_series.parquet", "summary.parquet", "config.yaml",
                "provenance.json")
OUTCOMES = ("firms", "employment", "output", "exports", "mean_trust", "cooperation_rate", "joint_actions",
            "network_density", "members_share", "mean_productivity")


def config_hash(resolved_yaml: str) -> str:
    return hashlib.sha256(resolved_yaml.encode()).hexdigest()[:16]


def is_complete(folder: Path, digest: str | None = None) -> bool:
    """True when ``folder`` has a DONE marker (for ``digest``, when given) and every result file, readable."""
    return check_complete(folder, digest) == (True, None)


def check_complete(folder: Path, digest: str | None = None) -> tuple[bool, str | None]:
    """(complete, problem): complete when ``folder`` has a DONE marker (for ``digest``, when given) and every
    result file, each Parquet file with a readable footer; problem names what is broken when the marker
    says the results are complete but a file is missing or unreadable (None otherwise)."""
    marker = folder / DONE
    if not marker.is_file():
        return False, None
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False, f"{DONE} is unreadable"
    if digest is not None and info.get("config_hash") != digest:
        return False, None
    listed = info.get("files")  # (markers written before it listed the files: the files every run has)
    for name in listed if isinstance(listed, list) else RESULT_FILES:
        if not (folder / name).is_file():
            return False, f"{name} is missing"
    for path in sorted([*folder.glob("*.parquet"), *folder.glob("snapshots/*.parquet")]):
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


def clear_incomplete(folder: Path) -> None:
    """Remove what an interrupted or failed run left (never a complete run's files)."""
    for name in (*RESULT_FILES, "demography.parquet", DONE, FAILED):
        (folder / name).unlink(missing_ok=True)
    shutil.rmtree(folder / "snapshots", ignore_errors=True)
    for tmp in folder.glob(".tmp-*"):
        tmp.unlink(missing_ok=True)


def _atomic(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``.

    The temporary file is created as ``open`` creates a file (mode 666 less the umask), so that the
    results are as readable as any other file (``tempfile.mkstemp`` makes them 600: unreadable by
    colleagues in a shared folder).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = str(path.parent / f".tmp-{uuid.uuid4().hex[:12]}-{path.name}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:  # (another writer's name: draw another)
            continue
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    _atomic(path, lambda tmp: tmp.write_text(text))


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    # no column statistics: the files are small and read whole (a quarter of the time to write them)
    _atomic(path, lambda tmp: frame.to_parquet(tmp, index=False, write_statistics=False))


@functools.cache
def git_commit() -> str | None:
    """The checkout's commit (with '+dirty' for local changes), or None outside a git checkout.

    Looked up once per process (a sweep's worker runs many jobs): the code a
    process runs is the code it imported when it started.
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


def summary_row(identity: dict, series: pd.DataFrame, cda_end: int | None) -> pd.DataFrame:
    """One row: identity columns, then each outcome at the CDA's end and at the horizon."""
    row = dict(identity)
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


def write_run(folder: Path, *, series: pd.DataFrame, cluster_series: pd.DataFrame, summary: pd.DataFrame,
              snapshots: dict, resolved_yaml: str, prov: dict, demography: pd.DataFrame | None = None) -> None:
    """Write every result file atomically, then the DONE marker, which lists the files written (so that a
    rerun notices any of them missing, the optional ones included)."""
    written = []

    def parquet(name: str, frame: pd.DataFrame) -> None:
        write_parquet(folder / name, frame)
        written.append(name)

    parquet("series.parquet", series)
    parquet("cluster_series.parquet", cluster_series)
    if demography is not None:
        parquet("demography.parquet", demography)
    parquet("summary.parquet", summary)
    for month, frames in snapshots.items():
        for name, frame in frames.items():
            parquet(f"snapshots/{name}_{month}.parquet", frame)
    write_text(folder / "config.yaml", resolved_yaml)
    write_text(folder / "provenance.json", json.dumps(prov, indent=1) + "\n")
    written += ["config.yaml", "provenance.json"]
    write_text(folder / DONE, json.dumps({"config_hash": prov["config_hash"], "finished": prov["finished"],
                                          "files": sorted(written)}) + "\n")


def write_failure(folder: Path, message: str) -> None:
    write_text(folder / FAILED, message.rstrip() + "\n")
