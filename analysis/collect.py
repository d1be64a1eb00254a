"""Collect the runs of one or more sweeps into tidy tables, naming every problem.

Reads only the files that ``khusheh-run`` writes (``series.parquet``,
``summary.parquet``, ``DONE`` / ``FAILED``, ``snapshots/``). Nothing is dropped
silently: a run that failed, is incomplete, has a corrupt file, or is missing
from a sweep's grid of policies and seeds is listed in ``problems``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

DONE, FAILED = "DONE", "FAILED"
BASELINE = "none"


class ResultsError(Exception):
    """A sweep folder that cannot be read at all (a user's mistake, reported in one line)."""


@dataclass
class Collection:
    series: pd.DataFrame  # one row per run and month: run, context, policy, shock, cluster, seed, month, ...
    summary: pd.DataFrame  # one row per run (summary.parquet plus run, context)
    problems: pd.DataFrame  # folder, problem (failed | incomplete | corrupt | missing | duplicate), detail
    folders: dict = field(default_factory=dict)  # run -> folder

    def save(self, path: Path) -> None:
        """Keep the tidy table as Parquet (atomically)."""
        atomic_write(path, lambda tmp: self.series.to_parquet(tmp, index=False))


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``."""
    tmp = path.with_name(f".tmp-{path.name}")
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


RUN_MARKS = (DONE, FAILED, "series.parquet", "summary.parquet", "config.yaml", "khusheh.log", ".hydra")


def _is_run(folder: Path) -> bool:
    """A run's folder (complete or not): khusheh-run or Hydra wrote one of its files there."""
    return any((folder / name).exists() for name in RUN_MARKS)


REPORT_MARKS = ("brief.html", "effects.csv", "sensitivity.html", "validation.html")  # khusheh-report's outputs


def _is_report(folder: Path) -> bool:
    """A folder that khusheh-report wrote (a brief, sensitivity or validation report)."""
    return any((folder / name).is_file() for name in REPORT_MARKS)


def _job_folders(sweep: Path, ignore=frozenset()) -> list[Path]:
    """The run folders in ``sweep``: itself, or any folder below it (``outputs/`` holds
    ``DATE/TIME/`` runs; a sweep its jobs). A folder with nothing of a run's and no folders
    below it (an interrupted job's) is listed too, to be named as incomplete. Folders in
    ``ignore`` (resolved paths) and the reports khusheh-report wrote (with their ``figures/``)
    are not runs."""
    if _is_run(sweep):
        return [sweep]
    found = []
    for sub in sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if _is_run(sub):
            found.append(sub)
        elif sub.is_symlink():  # (a link to a folder of runs is not followed: it could loop)
            continue
        elif sub.resolve() in ignore or _is_report(sub) or (sub.name == "figures" and _is_report(sweep)):
            continue
        elif not any(p.is_dir() and not p.name.startswith(".") for p in sub.iterdir()):
            found.append(sub)
        else:
            found.extend(_job_folders(sub, ignore))
    return found


def _context(overrides: str) -> str:
    """The run's overrides without seed and policy: runs that differ only by those are compared."""
    keep = [o for o in overrides.split(",")
            if o and not o.startswith(("seed=", "policy=", "experiment=", "hydra.", "hydra/"))]
    return ",".join(sorted(keep))


def _identity_from_name(name: str):
    """(context, policy, seed) from a job folder named by its overrides, e.g. 'policy=x,seed=3'."""
    parts = dict(p.split("=", 1) for p in name.split(",") if "=" in p)
    try:
        seed = int(parts["seed"])
    except (KeyError, ValueError):
        seed = None
    return _context(name), parts.get("policy", ""), seed


def collect(sweeps: list[str | Path], ignore=()) -> Collection:
    """``ignore``: folders below the sweeps that hold no runs (e.g. the report's own output)."""
    ignore = frozenset(Path(p).resolve() for p in ignore)
    series, summaries, problems, folders = [], [], [], {}
    accounted = []  # (context, policy, seed) of runs listed as a problem
    for sweep in map(Path, sweeps):
        if not sweep.is_dir():
            raise ResultsError(f"no such sweep folder: {sweep}")
        jobs = _job_folders(sweep, ignore)
        if not jobs:
            raise ResultsError(f"{sweep} holds no runs (is it a khusheh-run output or sweep folder?)")
        for job in jobs:
            name = str(job)
            accounted.append(_identity_from_name(job.name))
            if (job / FAILED).is_file():
                reason = (job / FAILED).read_text(errors="replace").strip().splitlines()
                problems.append((name, "failed", reason[-1] if reason else ""))
                continue
            if not (job / DONE).is_file():
                problems.append((name, "incomplete", "no DONE marker: the run did not finish"))
                continue
            try:
                summary = pd.read_parquet(job / "summary.parquet")
                frame = pd.read_parquet(job / "series.parquet")
                json.loads((job / DONE).read_text())
            except Exception as err:  # corrupt or truncated file
                problems.append((name, "corrupt", f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"))
                continue
            run = len(folders)
            folders[run] = job
            info = summary.iloc[0].to_dict()
            info["run"], info["context"] = run, _context(str(info.get("overrides", "")))
            summaries.append(info)
            ident = {k: info[k] for k in ("run", "context", "cluster", "policy", "shock", "seed")}
            series.append(frame.assign(**ident))
    summary = pd.DataFrame(summaries)
    if len(summary):
        # the same setting, policy and seed run twice (e.g. two single runs in outputs/): the later
        # one (by folder name: outputs/DATE/TIME) is used, the earlier ones are named
        key = ["context", "policy", "seed"]
        repeated = summary[summary.duplicated(key, keep="last")]
        for r in repeated.itertuples():
            same = (summary.context == r.context) & (summary.policy == r.policy) & (summary.seed == r.seed)
            later = summary[same].run.iloc[-1]
            problems.append((str(folders[r.run]), "duplicate", f"same setting, policy and seed as "
                             f"{folders[later]}, which is used"))
            del folders[r.run]
        summary = summary[~summary.run.isin(repeated.run)].reset_index(drop=True)
        series = [f for f in series if not len(f) or f.run.iloc[0] in folders]
    table = pd.concat(series, ignore_index=True) if series else pd.DataFrame()
    # the grid: every policy of a context should have every seed that any policy has
    if len(summary):
        seen = {(c, p, s) for c, p, s in accounted if s is not None}
        seen |= set(zip(summary["context"], summary["policy"], summary["seed"]))
        for ctx, group in summary.groupby("context"):
            seeds = set(group["seed"])
            for policy, sub in group.groupby("policy"):
                for seed in sorted(seeds - set(sub["seed"])):
                    if (ctx, policy, seed) in seen:
                        continue  # listed already as failed, incomplete or corrupt
                    label = f"{ctx + ',' if ctx else ''}policy={policy},seed={seed}"
                    problems.append((label, "missing", "no results for this policy and seed"))
    probs = pd.DataFrame(problems, columns=["folder", "problem", "detail"])
    # a run listed as failed/corrupt/incomplete is not also 'missing'
    return Collection(series=table, summary=summary, problems=probs, folders=folders)
