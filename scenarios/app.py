"""``khusheh-run``: the Hydra application that turns a configuration into a run on disk.

    khusheh-run cluster=carpet_kashan policy=standard_cda seed=3
    khusheh-run -m policy=none,standard_cda seed=0,1 hydra.sweep.dir=multirun/mine
    khusheh-run -m experiment=policy_comparison

Each run writes its results into its Hydra output folder (see
:mod:`scenarios.results`). A job whose folder already holds complete results
for the same configuration is skipped, so a sweep rerun into the same folder
finishes what an interrupted one left. A bad value ends a single run with a
short message and exit status 2; in a sweep the job is marked FAILED, the
other jobs go on, and the sweep ends with a non-zero status naming the
failures. Ctrl-C and SIGTERM stop a sweep and its workers, remove temporary
files and say in one line how many runs are complete (exit status 128 +
the signal's number).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra_plugins.khusheh_launcher import to_yaml
from omegaconf import DictConfig, OmegaConf

from model import ClusterModel, ParameterError

from . import preflight
from .config import register, to_model_params
from .results import check_complete, clear_incomplete, config_hash, provenance, summary_row, write_failure, write_run

log = logging.getLogger("khusheh")
register()

# Fault injection for the resume test: kill this process (as a crash or a cluster's
# scheduler would) when a job with this seed reaches this month.
_KILL_SEED = "KHUSHEH_TEST_KILL_SEED"
_KILL_MONTH = "KHUSHEH_TEST_KILL_AT_MONTH"


_THREAD_LOCK = threading.RLock()


def _progress(cfg: DictConfig, total: int, label: str):
    from tqdm import tqdm
    if getattr(tqdm, "_lock", None) is not _THREAD_LOCK:
        # a thread lock for the bars: tqdm's default takes a multiprocessing lock too, which in a
        # sweep's worker is a semaphore that a stopped worker leaves behind (reported as leaked)
        tqdm.set_lock(_THREAD_LOCK)
    # shown only for runs longer than a couple of seconds; months done and time left
    return tqdm(total=total, desc=label, unit="month", delay=cfg.sim.progress_delay, file=sys.stderr,
                disable=not cfg.sim.progress, leave=False)


def simulate(cfg: DictConfig, folder: Path) -> str:
    """Run one configured job into ``folder``; returns 'done', 'skipped' or 'failed'."""
    if cfg.sim.design:
        from .sensitivity import apply_design_row
        try:
            apply_design_row(cfg)
        except ValueError as err:
            return _failed(folder, f"khusheh-run: {err}")
    container = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    resolved = _yaml(container)  # as OmegaConf.to_yaml(cfg, resolve=True), from the one resolved copy
    digest = config_hash(_yaml(_identity(container)))
    complete, broken = check_complete(folder, digest)
    if complete:
        log.info("complete results already in %s: skipped", folder)
        return "skipped"
    if broken:
        log.warning("broken results in %s (%s): redone", folder, broken)
    clear_incomplete(folder)
    start = time.perf_counter()
    try:
        params, seed = to_model_params(cfg)
        model = ClusterModel(params, rng=seed)
    except (ParameterError, TypeError, ValueError) as err:
        # the model names clusters[0].x; on the command line it is cluster.x
        return _failed(folder, f"khusheh-run: {err}".replace("clusters[0].", "cluster."))
    kill_month = int(os.environ[_KILL_MONTH]) if os.environ.get(_KILL_SEED) == str(seed) else None
    label = f"{cfg.cluster.name} / {_choice('policy')} / seed {seed}"
    with _progress(cfg, params.months, label) as bar:
        while model.running:
            model.step()
            bar.update(1)
            if kill_month is not None and model.month == kill_month:
                os.kill(os.getpid(), signal.SIGKILL)
    series = model.series()
    pol = params.policy
    cda_end = pol.start_month + pol.duration_months if pol.budget > 0 else None
    row = {
        "cluster": cfg.cluster.name, "policy": _choice("policy"), "shock": _choice("shock"),
        "seed": seed, "budget": pol.budget, "subsidy_rate": pol.subsidy_rate,
        "start_month": pol.start_month, "duration_months": pol.duration_months, "design_row": cfg.sim.design_row,
        "overrides": ",".join(HydraConfig.get().overrides.task),
    }
    write_run(folder, series=series, cluster_series=model.cluster_series(), demography=model.demography(),
              summary=summary_row(row, series, cda_end), snapshots=model.snapshots, resolved_yaml=resolved,
              prov=provenance(seed, digest, time.perf_counter() - start))
    log.info("results in %s", folder)
    return "done"


def _identity(container: dict) -> dict:
    """What identifies a run's results: its resolved config, but for how the run is displayed."""
    display = ("progress", "progress_delay")
    return {**container, "sim": {k: v for k, v in container["sim"].items() if k not in display}}


def _yaml(container: dict) -> str:
    """YAML text of a plain resolved config, exactly as ``OmegaConf.to_yaml`` writes it (faster)."""
    return to_yaml(container)


def _failed(folder: Path, message: str) -> str:
    """A user's mistake: a FAILED marker with the message, the message on stderr, no traceback."""
    write_failure(folder, message)
    print(message, file=sys.stderr)
    return "failed"


def _choice(group: str) -> str:
    """The preset chosen for a config group (e.g. 'standard_cda' for policy)."""
    return str(HydraConfig.get().runtime.choices.get(group, ""))


@hydra.main(version_base="1.3", config_path="pkg://conf", config_name="config")
def run(cfg: DictConfig) -> str:
    folder = Path(HydraConfig.get().runtime.output_dir)
    try:
        status = simulate(cfg, folder)
    except Exception as err:  # an unexpected failure: keep the other jobs going
        write_failure(folder, "".join(traceback.format_exception(err)))
        print(f"khusheh-run: the run failed: {type(err).__name__}: {err} (details in {folder / 'FAILED'})",
              file=sys.stderr)
        status = "failed"
    if status == "failed" and HydraConfig.get().mode == RunMode.RUN:
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
    # SIGTERM (a scheduler, `kill`) stops a run as Ctrl-C does: the launcher stops its workers
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


def _interrupted() -> int:
    """After Ctrl-C or SIGTERM: clean up, say in one line what is complete; the exit status (128 + signal)."""
    from .callbacks import CURRENT, remove_temporary_files, sweep_state
    for sig in (signal.SIGINT, signal.SIGTERM):  # a second signal must not cut the clean-up short
        signal.signal(sig, signal.SIG_IGN)
    _stop_workers()
    sweep_dir = CURRENT.get("sweep_dir")
    if sweep_dir is None:
        message = "khusheh-run: interrupted; the run did not finish"
    elif CURRENT.get("launcher") not in LOCAL_LAUNCHERS:
        # Ray's and submitit's jobs run on their own: they may go on (and write) after this process ends
        message = ("khusheh-run: interrupted; jobs the launcher has started may still be running (stop them "
                   "with its own tools, e.g. scancel); rerun the same command to finish the sweep")
    else:
        remove_temporary_files(sweep_dir)
        done, total = sweep_state(sweep_dir)
        message = (f"khusheh-run: interrupted; {done} of {total if total is not None else '?'} runs complete, "
                   "rerun the same command to finish")
    print(message, file=sys.stderr, flush=True)
    return 128 + int(_SIGNAL["received"])


# the launchers whose jobs stop with this process (its own, or its joblib workers, stopped below)
LOCAL_LAUNCHERS = ("hydra._internal.core_plugins.basic_launcher.BasicLauncher",
                   "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
                   "hydra_plugins.khusheh_launcher.KhushehJoblibLauncher")


def _stop_workers() -> None:
    """Stop joblib's worker processes and wait for them (joblib kills them when a sweep is interrupted,
    but without waiting), so that no worker of the sweep outlives this process."""
    if "joblib" not in sys.modules:
        return
    from joblib.externals.loky import reusable_executor
    executor = getattr(reusable_executor, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=True, kill_workers=True)


if __name__ == "__main__":
    main()
