"""Khusheh's sweeper, on Hydra's public sweeper interface (``hydra.plugins.sweeper.Sweeper``).

As Hydra's basic sweeper, it runs every combination of the swept values (``key=a,b``, ``range()``,
``choice()``, ``glob()``; ``hydra.sweeper.params`` first, the command line over it) through the
configured launcher, in one batch. Besides:

- ``hydra.sweeper.only``: the jobs of the product to run, as partial jobs (mappings of key to
  value); a job that has every override of one of them runs. ``experiment=validation`` runs
  every policy without a shock and the baseline under each shock this way.
- Before any job starts, every job is checked as its run would check it: composed (once for each
  combination of swept values but the seed; jobs of a sweep of ``sim.design_row`` values share
  one composition, given each its row) and its runs' parameters range-checked by the model (every
  seed, every row of a sensitivity design); the first problem ends the sweep with one line, exit
  status 2. (Hydra's basic sweeper composes every job, about 0.1 s each; its class is in
  ``hydra._internal``, so this one is written on the public interface instead of extending it.)
- The sweep's number of jobs and runs is written for the progress and for an interrupt's report,
  and the sweep's one progress bar is started (:mod:`scenarios.progress`).

Selected in ``conf/config.yaml`` (``override hydra/sweeper: khusheh``); ``hydra/sweeper=basic`` is
Hydra's own (no ``only``, no model checks: a job with a bad value fails alone).

(No ``from __future__ import annotations`` here: Hydra's plugin scan runs this module outside
``sys.modules``, where dataclasses cannot resolve string annotations.)
"""

import itertools
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.errors import HydraException
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


def expand(overrides: List[Any]) -> List[List[str]]:
    """The jobs (lists of ``key=value``) of parsed overrides: the product of the swept values, in order
    (a key given twice takes its last value, as on Hydra's command line)."""
    values: Dict[str, List[str]] = {}
    for o in overrides:
        key = o.get_key_element()
        if o.is_sweep_override():
            if not o.is_discrete_sweep():
                raise HydraException(f"khusheh-run: a sweep of {key} takes a list of values, not an interval")
            values[key] = [f"{key}={v}" for v in o.sweep_string_iterator()]
        else:
            values[key] = [f"{key}={o.get_value_element_as_str()}"]
    return [list(job) for job in itertools.product(*values.values())]


def wanted_job(job: Sequence[str], only: Optional[List[Dict[str, str]]]) -> bool:
    """Is the job ``job`` (its overrides) one of those ``only`` asks for: has it every override of at least
    one of the partial jobs in ``only``? ``None`` (or empty): every job."""
    if not only:
        return True
    have = {o.split("=", 1)[0].lstrip("+~"): o.split("=", 1)[1] for o in job if "=" in o}
    return any(all(have.get(str(k)) == str(v) for k, v in part.items()) for part in only)


def _value_of(job: Sequence[str], key: str) -> Optional[str]:
    """The value a job's overrides give ``key`` (as written), or None."""
    return next((o.split("=", 1)[1] for o in job if o.split("=", 1)[0].lstrip("+") == key), None)


def _without(job: Sequence[str], key: str) -> tuple:
    return tuple(o for o in job if o.split("=", 1)[0].lstrip("+") != key)


class KhushehSweeper(Sweeper):
    def __init__(self, params: Optional[Dict[str, str]] = None, only: Optional[List[Dict[str, str]]] = None):
        super().__init__()
        self.params = params or {}
        self.only = only
        self.hydra_context: Optional[HydraContext] = None
        self.config: Optional[DictConfig] = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.hydra_context = hydra_context
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: List[str]) -> Any:
        assert self.config is not None and self.hydra_context is not None and self.launcher is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        given = [f"{k}={v}" for k, v in self.params.items()] + list(arguments)
        jobs = [job for job in expand(parser.parse_overrides(given)) if wanted_job(job, self.only)]
        if not jobs:
            print("khusheh-run: no job of the sweep is one that hydra.sweeper.only asks for", file=sys.stderr)
            sys.exit(2)
        shared = self.shared_folder_key(jobs)
        if shared:
            print(f"khusheh-run: {shared} cannot be swept: job folders are not named by it, so its jobs would "
                  f"write into the same folders; give it one value (to run more seeds: sim.seeds=N once)",
                  file=sys.stderr)
            sys.exit(2)
        runs = self.check(jobs)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        from scenarios.callbacks import JOBS, RUNS
        from scenarios.results import write_error, write_text
        try:
            sweep_dir.mkdir(parents=True, exist_ok=True)
            # (as Hydra's multirun.yaml; "_": not a table)
            write_text(sweep_dir / "_multirun.yaml", OmegaConf.to_yaml(self.config))
            write_text(sweep_dir / JOBS, f"{len(jobs)}\n")
            write_text(sweep_dir / RUNS, f"{runs}\n")
        except OSError as err:  # (a folder the command line's check could not foresee: an interpolated name)
            print(f"{write_error(sweep_dir, err)}; no job was started", file=sys.stderr)
            sys.exit(2)
        log.info("sweep of %d jobs (%d runs) into %s", len(jobs), runs, sweep_dir)
        # the sweep's one bar over its runs, fed by the jobs' markers whichever process runs them
        from scenarios import progress
        sim = self.config.get("sim") or {}
        progress.start_sweep(sweep_dir, runs, bool(sim.get("progress", True)), float(sim.get("progress_delay", 2.0)))
        returns = self.launcher.launch(jobs, initial_job_idx=0)
        from scenarios.callbacks import SWEEP
        from scenarios.results import is_write_error
        for r in returns:
            # a job's exception, raised (as Hydra's basic sweeper does); the jobs whose results could not
            # be written, for the sweep's last line
            if is_write_error(r.return_value):
                SWEEP.setdefault("unwritable", []).append(r.return_value)
        return [returns]

    def shared_folder_key(self, jobs: List[List[str]]) -> Optional[str]:
        """A key that takes several values across the jobs but is left out of the job folders' names
        (``hydra.job.config.override_dirname.exclude_keys``), or None."""
        assert self.config is not None
        excluded = set(self.config.hydra.job.config.override_dirname.exclude_keys)
        values: Dict[str, set] = {}
        for job in jobs:
            for o in job:
                key, _, value = o.partition("=")
                values.setdefault(key.lstrip("+~"), set()).add(value)
        return next((k for k in sorted(values) if k in excluded and len(values[k]) > 1), None)

    def check(self, jobs: List[List[str]]) -> int:
        """Every job's composition and runs, checked as the jobs will check them; the number of runs. A
        problem ends the sweep with one line naming it and the job (exit status 2)."""
        from model import ParameterError
        from scenarios.config import check_seed, job_runs
        assert self.config is not None and self.hydra_context is not None
        counted: Dict[tuple, int] = {}  # runs of a job, by its overrides but the seed
        composed: Dict[tuple, DictConfig] = {}  # a job's composition, by its overrides but seed and design row
        total = 0
        for job in jobs:
            try:
                seed = _value_of(job, "seed")
                if seed is not None:
                    check_seed(int(seed) if seed.lstrip("-").isdigit() else seed)
                key = _without(job, "seed")
                if key not in counted:
                    # a job of another seed is composed the same way: one composition is enough; a job of
                    # another design row (sim.design_row=range(0,150)) is the same composition, given its row
                    row, base = _value_of(job, "sim.design_row"), _without(key, "sim.design_row")
                    if row is None or not row.isdigit() or base not in composed:
                        cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(job))
                        if row is not None and row.isdigit():
                            composed[base] = cfg
                    else:
                        cfg = composed[base]
                        OmegaConf.update(cfg, "sim.design_row", int(row))
                    counted[key] = len(job_runs(cfg, configs=False, in_place=True))
            except (ParameterError, TypeError, ValueError) as err:
                print(f"khusheh-run: {err} (in the job {' '.join(job)}); no job was started", file=sys.stderr)
                sys.exit(2)
            total += counted[key]
        return total


@dataclass
class KhushehSweeperConf:
    _target_: str = "hydra_plugins.khusheh_sweeper.KhushehSweeper"
    params: Optional[Dict[str, str]] = None
    only: Optional[List[Dict[str, str]]] = None


ConfigStore.instance().store(group="hydra/sweeper", name="khusheh", node=KhushehSweeperConf, provider="khusheh")
