"""A job's runs: each run (a seed, or a design's row and a seed) from its parameters to its result files,
in this process or several at once through joblib.

:func:`execute` is what a worker process runs: it imports the model and the result format, not Hydra.
Runs are independent (each has its own seed and random number generators), so their results are the
same whatever runs them: this process, joblib's worker processes, or its threads (inside the stock
joblib launcher's workers, where joblib runs a nested ``Parallel`` on threads).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import results

# Fault injection for the resume test: kill this process (as a crash or a cluster's scheduler would)
# when the run of this seed reaches this month.
_KILL_SEED = "KHUSHEH_TEST_KILL_SEED"
_KILL_MONTH = "KHUSHEH_TEST_KILL_AT_MONTH"

_BAR_LOCK = threading.RLock()


@dataclass
class Task:
    """What a run needs: where it goes, its parameters and seed, its identity, its configuration."""
    folder: Path
    params: object  # model.ModelParams (checked)
    seed: int
    identity: dict  # the identity columns of its tables (results.IDENTITY, then other overridden keys)
    info: dict  # the summary's other settings columns (its overrides)
    config: dict  # its resolved configuration, written as _config.yaml
    digest: str  # results.config_hash(config without display keys)


def bar(total: int, label: str, unit: str, delay: float, show: bool):
    """A progress bar on stderr, shown only after ``delay`` seconds (short runs stay quiet)."""
    from tqdm import tqdm
    # a thread lock for the bars: tqdm's default takes a multiprocessing lock too, a semaphore that an
    # interrupted process leaves behind (reported as leaked)
    tqdm.set_lock(_BAR_LOCK)
    return tqdm(total=total, desc=label, unit=unit, delay=delay, file=sys.stderr, disable=not show, leave=False)


class Unwritable(Exception):
    """A run's results could not be written (disk full, a read-only file system, ...): its one-line message."""


def execute(task: Task, month_bar=None) -> tuple[str, str]:
    """Run ``task`` and write its results; (status, message): ('done', ''), ('failed', the error, also
    in the run's ``_FAILED``) or ('unwritable', the line saying where and why results could not be written;
    no ``_DONE``, no partial file under a result's name). Never raises but for an interrupt."""
    try:
        _run(task, month_bar)
        return "done", ""
    except Unwritable as err:
        try:  # (the files it could write are no run's results: removed, as a rerun would)
            results.clear_incomplete(task.folder)
        except OSError:
            pass
        _try_write_failure(task.folder, str(err))
        return "unwritable", str(err)
    except Exception as err:  # an unexpected failure: the run's folder says what it was, the other runs go on
        _try_write_failure(task.folder, "".join(traceback.format_exception(err)))
        return "failed", f"{type(err).__name__}: {err}"


def _try_write_failure(folder: Path, text: str) -> None:
    try:
        results.write_failure(folder, text)
    except OSError:  # (the disk that refused the results may refuse this too: the message says it all)
        pass


def _run(task: Task, month_bar) -> None:
    from model import ClusterModel
    start = time.perf_counter()
    model = ClusterModel(task.params, rng=task.seed)
    kill_month = int(os.environ[_KILL_MONTH]) if os.environ.get(_KILL_SEED) == str(task.seed) else None
    while model.running:
        model.step()
        if month_bar is not None:
            month_bar.update(1)
        if kill_month is not None and model.month == kill_month:
            os.kill(os.getpid(), signal.SIGKILL)
    series = model.series()
    pol = task.params.policy
    cda_end = pol.start_month + pol.duration_months if pol.budget > 0 else None
    info = {**task.info, "budget": pol.budget, "subsidy_rate": pol.subsidy_rate, "start_month": pol.start_month,
            "duration_months": pol.duration_months}
    tables = dict(series=series, cluster_series=model.cluster_series(), demography=model.demography(),
                  summary=results.summary_row(info, series, cda_end), snapshots=model.snapshots,
                  config_yaml=to_yaml(task.config))
    try:
        results.write_run(task.folder, task.identity, **tables,
                          provenance=results.provenance(task.seed, task.digest, time.perf_counter() - start))
    except OSError as err:  # each file is written atomically and _DONE last: nothing half-written is left
        raise Unwritable(results.write_error(task.folder, err)) from err


try:  # libyaml's emitter, when PyYAML was built with it
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Dumper


def to_yaml(config: dict) -> str:
    """YAML text of a plain resolved configuration."""
    return yaml.dump(config, Dumper=_Dumper, default_flow_style=False, allow_unicode=True, sort_keys=False)


def _ignore_interrupts() -> None:
    """A worker's start: Ctrl-C (SIGINT, sent to the terminal's whole process group) is left to the
    launching process, which stops the workers and reports; a worker would print a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_all(tasks: list[Task], n_jobs: int, label: str, progress: bool, delay: float):
    """Run ``tasks``, ``n_jobs`` at a time (joblib; one task, or ``n_jobs=1``: in this process, one by
    one); yields (task, status, message) as each ends, with a bar over the runs (over the months for one)."""
    if len(tasks) == 1:
        task = tasks[0]
        with bar(task.params.months, f"{label} / seed {task.seed}", "month", delay, progress) as months:
            yield (task, *execute(task, months))
        return
    with bar(len(tasks), label, "run", delay, progress) as runs:
        if n_jobs == 1:
            for task in tasks:
                yield (task, *execute(task))
                runs.update(1)
            return
        from joblib import Parallel, delayed
        # one run a batch (runs are long); the worker processes are kept from job to job (joblib reuses them)
        parallel = Parallel(n_jobs=n_jobs, batch_size=1, return_as="generator_unordered",
                            initializer=_ignore_interrupts)
        done = parallel(delayed(_execute_indexed)(k, task) for k, task in enumerate(tasks))
        for k, status, message in done:
            yield (tasks[k], status, message)
            runs.update(1)


def _execute_indexed(k: int, task: Task) -> tuple[int, str, str]:
    return (k, *execute(task))
