"""Hydra callbacks: jobs done out of the total in a sweep, and a verdict at its end."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from . import results

log = logging.getLogger("khusheh")
# written by the sweeper before it launches (hydra_plugins/khusheh_sweeper): the sweep's jobs and runs
JOBS, RUNS = ".khusheh_jobs", ".khusheh_runs"
# one empty file per job this sweep has finished, <digest of its folder>.done or .failed: counting
# them is one directory listing, whichever process ran the job
_PROGRESS = ".khusheh_progress"

# the sweep this process runs (set when it starts): what an interrupted sweep reports and cleans
SWEEP: dict = {}


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def sweep_state(folder: Path, total: int | None = None) -> tuple[int, int | None]:
    """(runs in ``folder`` whose results are complete, the number of runs, or None when unknown), after
    removing what interrupted writes left (``.tmp-*``). ``total``: the number, if not the sweep's."""
    runs = results.find_runs(folder) if folder.is_dir() else []
    for run in runs:
        results.remove_temporary_files(run.folder)
    done = sum(results.is_complete(run.folder) for run in runs)
    total = total if total is not None else _read_int(folder / RUNS)
    return (min(done, total) if total is not None else done), total


class SweepProgress(Callback):
    """Logs 'jobs done k/N' after each job of a sweep; fails the sweep if any job or run failed."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # (the sweeper creates the folder once every job is checked: a refused sweep leaves none behind)
        sweep_dir = Path(config.hydra.sweep.dir)
        SWEEP.update(sweep_dir=sweep_dir.absolute(), launcher=str(config.hydra.runtime.choices.get("hydra/launcher")))
        for name in (JOBS, RUNS):  # (the sweeper writes this sweep's)
            try:
                (sweep_dir / name).unlink(missing_ok=True)
            except OSError:  # (not a folder, or not writable: the sweeper says so)
                pass
        shutil.rmtree(sweep_dir / _PROGRESS, ignore_errors=True)  # a rerun counts its own jobs

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        from hydra.core.hydra_config import HydraConfig
        from hydra.core.utils import JobStatus
        from hydra.types import RunMode
        hydra = HydraConfig.get()
        if hydra.mode != RunMode.MULTIRUN:
            return
        # (a relative sweep folder is relative to where the sweep started, which a job may have left)
        sweep_dir = Path(hydra.runtime.cwd) / config.hydra.sweep.dir
        total = _read_int(sweep_dir / JOBS)
        failed = job_return.status != JobStatus.COMPLETED or job_return.return_value not in ("done", "skipped")
        progress = sweep_dir / _PROGRESS
        progress.mkdir(exist_ok=True)
        # named by a digest of the job's folder: one name per folder, however deep or long
        name = hashlib.sha1(hydra.runtime.output_dir.encode()).hexdigest()
        (progress / f"{name}.{'failed' if failed else 'done'}").touch()
        names = os.listdir(progress)
        done, failed = sum(n.endswith(".done") for n in names), sum(n.endswith(".failed") for n in names)
        tail = f", {failed} failed" if failed else ""
        print(f"[khusheh] jobs done {done}/{total if total is not None else '?'}{tail}", file=sys.stderr, flush=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        unwritable = SWEEP.get("unwritable") or []
        if unwritable:  # (their runs' _FAILED may be missing: the disk refused it too)
            more = f" (and {len(unwritable) - 1} more jobs)" if len(unwritable) > 1 else ""
            print(f"{unwritable[0]}{more}; complete runs are kept; once it can be written, rerun the same sweep",
                  file=sys.stderr)
            sys.exit(2)
        failed = [run.folder for run in results.find_runs(sweep_dir) if run.status == "failed"]
        if failed:
            names = [str(folder.relative_to(sweep_dir)) for folder in failed]
            first = results.read_failure(failed[0])
            # a value the run refused (its message begins with khusheh-run:) fails again unless corrected
            redo = "correct the value, then rerun" if first.startswith("khusheh-run:") else "rerun"
            print(f"khusheh-run: {len(failed)} failed (job or run folders): {', '.join(names[:10])}"
                  f"{' ...' if len(names) > 10 else ''}\n  first error: {first}\n"
                  f"  {redo} the same sweep (same hydra.sweep.dir) to redo them; complete runs are skipped",
                  file=sys.stderr)
            sys.exit(1)
