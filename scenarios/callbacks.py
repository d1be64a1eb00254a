"""Hydra callbacks: a sweep's progress (its jobs' markers, :mod:`scenarios.progress`) and its last lines: how
many runs are complete, how many failed and why, where the results and the jobs' logs are."""

from __future__ import annotations

import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from . import progress, results

log = logging.getLogger("khusheh")
# written by the sweeper before it launches (hydra_plugins/khusheh_sweeper): the sweep's jobs and runs
JOBS, RUNS = ".khusheh_jobs", ".khusheh_runs"
_PROGRESS = progress.MARKERS  # (the jobs' and runs' markers)

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
    """Marks each job of a sweep as it ends; at the sweep's end, says how it went in a few lines (the bar
    itself is the sweeper's: hydra_plugins/khusheh_sweeper) and fails the sweep if any job or run failed."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # (the sweeper creates the folder once every job is checked: a refused sweep leaves none behind)
        sweep_dir = Path(config.hydra.sweep.dir)
        SWEEP.update(sweep_dir=sweep_dir.absolute(), launcher=str(config.hydra.runtime.choices.get("hydra/launcher")),
                     started=time.monotonic())
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
        failed = job_return.status != JobStatus.COMPLETED or job_return.return_value not in ("done", "skipped")
        log.info("job %s", "failed" if failed else "done")  # (to the job's log)
        progress.mark(sweep_dir_of(config), "job", hydra.runtime.output_dir, "failed" if failed else "done")

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        c = progress.stop_sweep() or progress.counts(sweep_dir)
        failed = [run.folder for run in results.find_runs(sweep_dir) if run.status == "failed"]
        swept = set((OmegaConf.select(config, "hydra.sweeper.params") or {}).keys())
        print(summary(sweep_dir, c, len(failed), _read_int(sweep_dir / RUNS), _read_int(sweep_dir / JOBS),
                      time.monotonic() - SWEEP.get("started", time.monotonic()),
                      regimes="cluster.trust_alpha" in swept), flush=True)
        unwritable = SWEEP.get("unwritable") or []
        if unwritable:  # (their runs' _FAILED may be missing: the disk refused it too)
            more = f" (and {len(unwritable) - 1} more jobs)" if len(unwritable) > 1 else ""
            print(f"{unwritable[0]}{more}; complete runs are kept; once it can be written, rerun the same sweep",
                  file=sys.stderr)
            sys.exit(2)
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


def sweep_dir_of(config: DictConfig) -> Path:
    """The sweep's folder, absolute (a relative one is relative to where the sweep started, which a job may
    have left: hydra.job.chdir)."""
    from hydra.core.hydra_config import HydraConfig
    return Path(HydraConfig.get().runtime.cwd) / config.hydra.sweep.dir


def summary(sweep_dir: Path, c: progress.Counts, failed: int, runs: int | None, jobs: int | None,
            seconds: float, regimes: bool = False) -> str:
    """The sweep's last lines: runs complete of the total, how many failed (``failed``: job or run
    folders), the time, where results and logs are, and the report's command (``regimes``: the sweep is
    experiment=regimes's, whose runs go beside a policy sweep's: khusheh-report's --regimes)."""
    of = f" of {runs}" if runs is not None else ""
    complete = c.done + c.skipped
    before = f" ({c.skipped} complete already, skipped)" if c.skipped else ""
    jobs = jobs if jobs is not None else c.jobs_done + c.jobs_failed
    jobs_text = f"{jobs} job{'' if jobs == 1 else 's'}"
    folder = sweep_dir.absolute()
    runs_text = "run" if (runs if runs is not None else complete) == 1 else "runs"
    lines = [f"khusheh-run: {complete}{of} {runs_text} complete{before}, {failed or 'none'} failed; "
             f"{jobs_text} in {progress.elapsed(seconds)}",
             f"  results: {folder}",
             f"  logs:    _khusheh.log in each job's folder"]
    if complete and not failed and regimes:
        lines.append(f"  brief:   khusheh-report POLICY_SWEEP_DIR --regimes {folder} --out DIR")
    elif complete and not failed:
        lines.append(f"  brief:   khusheh-report {folder} --out briefs/{folder.name}")
    return "\n".join(lines)
