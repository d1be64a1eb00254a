"""Hydra callbacks: jobs done out of the total in a sweep, and a verdict at its end."""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from .results import FAILED, is_complete

log = logging.getLogger("khusheh")
_TOTAL = ".khusheh_jobs"
# one empty file per job this sweep has finished, <digest of its folder>.done or .failed: counting
# them is one directory listing (checking every job's folder after every job grew as the jobs squared)
_PROGRESS = ".khusheh_progress"


# the sweep this process runs (set when it starts): what an interrupted sweep reports and cleans
CURRENT: dict[str, Path | str] = {}


def sweep_state(sweep_dir: Path) -> tuple[int, int | None]:
    """(runs of the sweep folder whose results are complete, the sweep's number of jobs or None). The
    complete runs are counted in the job folders (a rerun's progress files count only its own jobs)."""
    total_file = sweep_dir / _TOTAL
    try:
        total = int(total_file.read_text().strip())
    except (OSError, ValueError):
        total = None
    done = sum(is_complete(folder) for folder in job_folders(sweep_dir))
    return (min(done, total) if total is not None else done), total


def remove_temporary_files(sweep_dir: Path) -> None:
    """Remove what the atomic writes of interrupted jobs left (``.tmp-*``) in the sweep's job folders."""
    for folder in job_folders(sweep_dir):
        for tmp in [*folder.glob(".tmp-*"), *folder.glob("snapshots/.tmp-*")]:
            tmp.unlink(missing_ok=True)


def count_jobs(config: DictConfig) -> int:
    """Number of jobs of a sweep: product of the sweep lengths (command line over sweeper.params)."""
    overrides: dict[str, str] = {}
    params = config.hydra.sweeper.get("params") or {}
    for key, value in params.items():
        overrides[str(key)] = f"{key}={value}"
    for item in config.hydra.overrides.task:
        overrides[item.split("=", 1)[0].lstrip("+~")] = item
    parsed = OverridesParser.create().parse_overrides(list(overrides.values()))
    only = config.hydra.sweeper.get("only")
    if not only:
        return math.prod(len(list(o.sweep_string_iterator())) if o.is_sweep_override() else 1 for o in parsed)
    from .config import wanted_job
    values = [[f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()] if o.is_sweep_override()
              else [f"{o.get_key_element()}={o.get_value_element_as_str()}"] for o in parsed]  # (as the sweeper)
    return sum(wanted_job(job, only) for job in itertools.product(*values))


def job_folders(sweep_dir: Path) -> list[Path]:
    return [p for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith(".")] if sweep_dir.is_dir() else []


class SweepProgress(Callback):
    """Logs 'jobs done k/N' after each job of a sweep; fails the sweep if any job failed."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        total = count_jobs(config)
        CURRENT["sweep_dir"] = sweep_dir.absolute()
        CURRENT["launcher"] = str(config.hydra.launcher.get("_target_", ""))
        (sweep_dir / _TOTAL).write_text(str(total))
        shutil.rmtree(sweep_dir / _PROGRESS, ignore_errors=True)  # a rerun counts its own jobs
        log.info("sweep of %d jobs into %s", total, sweep_dir)

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        from hydra.core.hydra_config import HydraConfig
        from hydra.core.utils import JobStatus
        from hydra.types import RunMode
        hydra = HydraConfig.get()
        if hydra.mode != RunMode.MULTIRUN:
            return
        # (a relative sweep folder is relative to where the sweep started, which a job may have left)
        sweep_dir = Path(hydra.runtime.cwd) / config.hydra.sweep.dir
        total_file = sweep_dir / _TOTAL
        total = total_file.read_text().strip() if total_file.is_file() else "?"
        folder = Path(hydra.runtime.output_dir)
        this_failed = job_return.status != JobStatus.COMPLETED or (folder / FAILED).is_file()
        progress = sweep_dir / _PROGRESS
        progress.mkdir(exist_ok=True)
        # named by a digest of the job's folder: one name per folder, however deep or long
        name = hashlib.sha1(str(folder).encode()).hexdigest()
        (progress / f"{name}.{'failed' if this_failed else 'done'}").touch()
        names = os.listdir(progress)
        done, failed = sum(n.endswith(".done") for n in names), sum(n.endswith(".failed") for n in names)
        tail = f", {failed} failed" if failed else ""
        print(f"[khusheh] jobs done {done}/{total}{tail}", file=sys.stderr, flush=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        failed = sorted(p.name for p in job_folders(sweep_dir) if (p / FAILED).is_file())
        if failed:
            first = (sweep_dir / failed[0] / FAILED).read_text().strip().splitlines()[-1]
            # a value the run refused (its message begins with khusheh-run:) fails again unless corrected
            redo = "correct the value, then rerun" if first.startswith("khusheh-run:") else "rerun"
            print(f"khusheh-run: {len(failed)} job(s) failed: {', '.join(failed[:10])}"
                  f"{' ...' if len(failed) > 10 else ''}\n  first error: {first}\n"
                  f"  {redo} the same sweep (same hydra.sweep.dir) to redo them; complete jobs are skipped",
                  file=sys.stderr)
            sys.exit(1)
