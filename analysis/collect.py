"""Collect the runs of one or more sweeps into tidy tables, naming every problem.

Reads result folders through the result format's reader (:mod:`scenarios.results`, which imports
nothing of the model). Nothing is dropped silently: a run that failed, is incomplete, has a corrupt
file, is missing from a sweep's grid of policies and seeds, or repeats another run's setting, policy
and seed is listed in ``problems``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from scenarios import results
from scenarios.progress import Bar
from scenarios.results import atomic_write

BASELINE = "none"


class ResultsError(Exception):
    """A sweep folder that cannot be read at all (a user's mistake, reported in one line)."""


@dataclass
class Collection:
    series: pd.DataFrame  # one row per run and month: run, context, the identity columns, month, ...
    summary: pd.DataFrame  # one row per run (summary.parquet plus run, context)
    problems: pd.DataFrame  # folder, problem (failed | incomplete | corrupt | missing | duplicate), detail
    folders: dict = field(default_factory=dict)  # run -> folder

    def save(self, path: Path) -> None:
        """Keep the tidy table as Parquet (atomically)."""
        atomic_write(path, lambda tmp: self.series.to_parquet(tmp, index=False))


def context(overrides: str) -> str:
    """A run's setting: its overrides (summary's ``overrides``) but the policy; runs that differ only by
    policy and seed are compared."""
    return ",".join(sorted(o for o in overrides.split(",") if o and not o.startswith("policy=")))


def collect(sweeps: list[str | Path], ignore=(), progress: float | None = 2.0) -> Collection:
    """Every run in ``sweeps`` (folders holding runs at any depth). ``ignore``: folders below the sweeps that
    hold no runs (e.g. the report's own output) and are not searched. ``progress``: a bar over the runs
    read, on stderr, once reading has taken this many seconds (None: none)."""
    ignore = {Path(p).resolve() for p in ignore}
    series, summaries, problems, folders = [], [], [], {}
    found = []
    for sweep in map(Path, sweeps):
        if not sweep.is_dir():
            raise ResultsError(f"no such sweep folder: {sweep}")
        inside = {p for p in ignore if sweep.resolve() in p.parents}
        runs = [r for r in results.find_runs(sweep) if not inside & {r.folder.resolve(), *r.folder.resolve().parents}]
        if not runs:
            raise ResultsError(f"{sweep} holds no runs (is it a khusheh-run output or sweep folder?)")
        found += runs
    # a bar over the runs read (on stderr; plain lines when stderr is no terminal)
    bar = Bar(len(found), "reading runs", "run", delay=progress or 0.0, show=progress is not None)
    for k, run in enumerate(found):
        bar.update(k)
        if run.status != "complete":
            problems.append((str(run.folder), run.status, run.detail))
            continue
        try:
            summary = results.read_table(run.folder, "summary")
            frame = results.read_table(run.folder, "series")
        except Exception as err:  # corrupt or truncated file
            problems.append((str(run.folder), "corrupt", f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"))
            continue
        key = len(folders)
        folders[key] = run.folder
        info = summary.iloc[0].to_dict()
        info["run"], info["context"] = key, context(str(info.get("overrides", "")))
        summaries.append(info)
        series.append(frame.assign(run=key, context=info["context"]))
    bar.update(len(found))
    bar.close()
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
    if len(summary):
        problems += _missing(summary, [Path(p[0]) for p in problems], folders)
    probs = pd.DataFrame(problems, columns=["folder", "problem", "detail"])
    return Collection(series=table, summary=summary, problems=probs, folders=folders)


def _missing(summary: pd.DataFrame, listed: list[Path], folders: dict) -> list[tuple]:
    """The grid: every policy of a setting should have every seed that any policy of it has. A run listed
    already (failed, incomplete, corrupt) is not missing too: its job's complete runs tell its setting
    and policy, its folder's name its seed."""
    job_of = {folders[r.run].parent: (r.context, r.policy) for r in summary.itertuples()}
    seen = set(zip(summary["context"], summary["policy"], summary["seed"]))
    for folder in listed:
        seed = results.seed_of(folder.name)
        if folder.parent in job_of and seed is not None:
            seen.add((*job_of[folder.parent], seed))
    out = []
    for ctx, group in summary.groupby("context"):
        seeds = set(group["seed"])
        for policy, sub in group.groupby("policy"):
            for seed in sorted(seeds - set(sub["seed"])):
                if (ctx, policy, seed) not in seen:
                    label = f"{ctx + ',' if ctx else ''}policy={policy},seed={seed}"
                    out.append((label, "missing", "no results for this policy and seed"))
    return out
