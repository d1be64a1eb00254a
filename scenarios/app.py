"""``khusheh-run``: the Hydra application that turns a configuration into runs on disk.

    khusheh-run cluster=carpet_kashan policy=standard_cda seed=3
    khusheh-run policy=standard_cda sim.seeds=10                  # seeds 0-9, on every core
    khusheh-run -m policy=none,standard_cda sim.seeds=30 hydra.sweep.dir=multirun/mine
    khusheh-run -m experiment=policy_comparison

A Hydra job is one configuration; it runs its seeds (``sim.seeds`` from ``seed`` on, and with a
sensitivity design each row's), ``sim.n_jobs`` at a time through joblib, each into a folder of its own
in the job's folder (see :mod:`scenarios.results` and docs/RESULTS.md). A run whose folder already holds
complete results for the same configuration is skipped, so a sweep rerun into the same folder finishes
what an interrupted one left. A bad value ends a single run with a short message and exit status 2 (a
sweep checks every job before any starts: ``hydra_plugins/khusheh_sweeper``). Ctrl-C and SIGTERM stop
the runs and their workers, remove temporary files and say in one line how many runs are complete (exit
status 128 + the signal's number).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from model import ParameterError

from . import preflight, progress, results
from .config import job_runs, register
from .runner import Task, run_all

log = logging.getLogger("khusheh")
register()

# keys that choose how runs are run, shown or kept, not what a run is: no identity columns, and (but for
# snapshots, which a run's results include) no part of the configuration hash
RUN_CONTROL = ("sim.seeds", "sim.n_jobs", "sim.progress", "sim.progress_delay", "sim.snapshot_months",
               "sim.snapshot_seeds", "sim.design", "sim.design_row")
DISPLAY = ("progress", "progress_delay", "n_jobs")  # sim keys left out of the hash

# the job this process runs (for an interrupt's report)
CURRENT: dict = {}


def simulate(cfg: DictConfig, job_dir: Path) -> str:
    """Run one job's runs into ``job_dir``; 'done', 'skipped' (every run complete already), 'failed', or,
    when results could not be written (disk full, ...), the line that says where and why
    (``khusheh-run: cannot write results to ...``).

    A single job shows its own bar and says where its results are; a sweep's job is quiet on the console
    (its lines go to its log, ``_khusheh.log`` in its folder) and leaves a marker as each run ends, for the
    sweep's one bar and its last lines (:mod:`scenarios.progress`, :mod:`scenarios.callbacks`)."""
    hc = HydraConfig.get()
    single = hc.mode == RunMode.RUN
    sweep_dir = None if single else Path(hc.runtime.cwd) / hc.sweep.dir

    def mark(folder: Path, status: str) -> None:
        if sweep_dir is not None:
            progress.mark(sweep_dir, "run", folder, status)

    def say(message: str, *args) -> None:  # (a single job's console, and every job's log)
        log.info(message, *args)
        if single:
            print(message % args, flush=True)

    (job_dir / results.FAILED).unlink(missing_ok=True)  # (a job that failed as a whole, before)
    try:
        runs = job_runs(cfg)
    except (ParameterError, TypeError, ValueError) as err:  # a user's mistake: no traceback
        message = f"khusheh-run: {err}"
        results.write_failure(job_dir, message)
        log.error(message)
        if single:
            print(message, file=sys.stderr)
        return "failed"
    identity, overrides = identity_of(cfg, hc)
    label = f"{identity['cluster_preset']} / {identity['policy']}"
    log.info("job %s: %d runs into %s", " ".join(hc.overrides.task) or "(no overrides)", len(runs), job_dir)
    tasks, skipped = [], 0
    for run in runs:
        folder = job_dir / results.run_name(run.seed, run.design_row)
        row = {} if run.design_row is None else {"sim.design_row": run.design_row}
        sim = {k: v for k, v in run.config["sim"].items() if k not in DISPLAY}
        digest = results.config_hash({**run.config, "sim": sim})
        complete, broken = results.check_complete(folder, digest)
        if complete:
            skipped += 1
            mark(folder, "skipped")
            continue
        if broken:
            log.warning("broken results in %s (%s): redone", folder, broken)
        results.clear_incomplete(folder)
        folder.mkdir(parents=True, exist_ok=True)
        info = {"overrides": ",".join(sorted(overrides + [f"{k}={v}" for k, v in row.items()]))}
        tasks.append(Task(folder, run.params, run.seed, {**identity, "seed": run.seed, **row}, info, run.config,
                          digest))
    CURRENT.update(job_dir=job_dir, runs=len(runs))
    if skipped:
        say("complete results already in %d of the %d runs in %s: skipped", skipped, len(runs), job_dir)
    if not tasks:
        return "skipped"
    failed, unwritable = 0, None
    # (in a sweep, the sweep's bar shows the runs: no bar of the job's own)
    for task, status, message in run_all(tasks, int(cfg.sim.n_jobs), label, single and cfg.sim.progress,
                                         cfg.sim.progress_delay):
        if status == "unwritable":  # (its message says which folder and why)
            failed += 1
            unwritable = unwritable or message
            log.error(message)
            print(message, file=sys.stderr, flush=True)  # (the disk: the user may want to stop the sweep)
        elif status == "failed":
            failed += 1
            line = f"khusheh-run: the run failed: {message} (details in {task.folder / results.FAILED})"
            log.error(line)
            if single:  # (a sweep's last lines name the failed runs and the first error)
                print(line, file=sys.stderr)
        mark(task.folder, "done" if status == "done" else "failed")
    done = len(tasks) - failed
    say("results in %s (%d run%s)", job_dir, done, "" if done == 1 else "s")
    return unwritable or ("failed" if failed else "done")


def identity_of(cfg: DictConfig, hc) -> tuple[dict, list[str]]:
    """(the identity columns of the job's runs but for their seed and design row, the job's overrides that
    define its scenario as ``key=value``). The identity: the presets chosen for cluster, policy and shock,
    then each other key the command line (or the sweep) sets, by name, with its value as configured."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    choices = hc.runtime.choices
    # results.IDENTITY's columns but the seed: the presets chosen for cluster, policy and shock
    groups = ("cluster", "policy", "shock")
    identity = {column: str(choices.get(group, "")) for column, group in zip(results.IDENTITY, groups)}
    keyed, overrides = {}, []
    for o in OverridesParser.create().parse_overrides(list(hc.overrides.task)):
        key = o.key_or_group
        if o.is_delete() or o.package is not None or key.startswith(("hydra.", "hydra/")) or key == "hydra" \
                or key in ("experiment", "seed") or key in RUN_CONTROL:
            continue
        overrides.append(f"{key}={o.get_value_element_as_str()}")
        if key in choices:  # a config group (its preset is in the identity already)
            continue
        value = OmegaConf.select(cfg, key)
        if OmegaConf.is_config(value):
            value = json.dumps(OmegaConf.to_container(value, resolve=True), sort_keys=True)
        keyed[key] = value
    return {**identity, "seed": None, **dict(sorted(keyed.items()))}, overrides


@hydra.main(version_base="1.3", config_path="pkg://conf", config_name="config")
def run(cfg: DictConfig) -> str:
    job_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        status = simulate(cfg, job_dir)
    except OSError as err:  # the job's folder cannot be written (disk full, ...): one line, no traceback
        status = results.write_error(job_dir, err)
        print(status, file=sys.stderr)
        try:
            results.write_failure(job_dir, status)
        except OSError:
            pass
    except Exception as err:  # an unexpected failure: keep the other jobs going
        # the error's first line first (what read_failure reports), then the whole traceback
        summary = f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[0]}"
        results.write_failure(job_dir, f"{summary}\n\n" + "".join(traceback.format_exception(err)))
        print(f"khusheh-run: the job failed: {summary} (details in {job_dir / results.FAILED})", file=sys.stderr)
        status = "failed"
    if (status == "failed" or results.is_write_error(status)) and HydraConfig.get().mode == RunMode.RUN:
        sys.exit(2)
    return status


def absolute_output_dirs(argv: list[str]) -> list[str]:
    """Make hydra.run.dir / hydra.sweep.dir given on the command line absolute.

    Workers of distributed launchers may start in another folder (Ray copies the
    working folder for its workers), where a relative path would land elsewhere.
    """
    out = []
    for arg in argv:
        key, eq, value = arg.partition("=")
        if eq and key in ("hydra.run.dir", "hydra.sweep.dir") and value and not os.path.isabs(value) \
                and "${" not in value:
            arg = f"{key}={os.path.abspath(value)}"
        out.append(arg)
    return out


def main() -> None:
    problem = preflight.problem(sys.argv[1:])
    if problem:
        print(problem, file=sys.stderr)
        sys.exit(2)
    sys.argv[1:] = absolute_output_dirs(sys.argv[1:])
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `khusheh-run --help | head` ends quietly
    # Ray's `uv run` hook would ship a copy of the working folder to local workers and run
    # them there; the workers here share this machine's environment and folders
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    # SIGTERM (a scheduler, `kill`) stops a run as Ctrl-C does: joblib stops its workers
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        run()
    except KeyboardInterrupt:
        sys.exit(_interrupted())


_SIGNAL = {"received": signal.SIGINT}


def _raise_interrupt(signum: int, frame) -> None:
    """SIGTERM, raised as Ctrl-C's KeyboardInterrupt."""
    _SIGNAL["received"] = signum
    raise KeyboardInterrupt


LOCAL_LAUNCHERS = ("basic", "joblib")  # whose jobs stop with this process (joblib stops its workers)


def _interrupted() -> int:
    """After Ctrl-C or SIGTERM: clean up, say in one line what is complete; the exit status (128 + signal)."""
    from .callbacks import SWEEP, sweep_state
    for sig in (signal.SIGINT, signal.SIGTERM):  # a second signal must not cut the clean-up short
        signal.signal(sig, signal.SIG_IGN)
    progress.stop_sweep()  # (the bar ends on its line; the message goes below it)
    folder = SWEEP.get("sweep_dir") or CURRENT.get("job_dir")
    if folder is None:
        message = "khusheh-run: interrupted; no run had started"
    elif SWEEP and SWEEP.get("launcher") not in LOCAL_LAUNCHERS:
        # Ray's and submitit's jobs run on their own: they may go on (and write) after this process ends
        message = ("khusheh-run: interrupted; jobs the launcher has started may still be running (stop them "
                   "with its own tools, e.g. scancel); rerun the same command to finish the sweep")
    else:
        done, total = sweep_state(Path(folder), None if SWEEP else CURRENT.get("runs"))
        message = (f"khusheh-run: interrupted; {done} of {total if total is not None else '?'} runs complete, "
                   + ("rerun the same command to finish" if SWEEP else f"in {folder}"))
    print(message, file=sys.stderr, flush=True)
    return 128 + int(_SIGNAL["received"])


if __name__ == "__main__":
    main()
