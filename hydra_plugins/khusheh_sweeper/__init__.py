"""Hydra's basic sweeper, checking each swept value once instead of every job.

Before launching, Hydra's ``BasicSweeper`` composes the configuration of every
job in the main process (about 0.1 s each), to stop a sweep with a bad value
before any job starts; the workers wait meanwhile. A sweep is the product of
the swept keys' values, so composing a set of jobs in which every value of
every key appears finds the same mistakes: 9 policies x 30 seeds need 30
compositions, not 270. They are composed as the ``khusheh_joblib`` launcher
composes them: in full once per combination of config-group choices (9
policies), derived from that for the other values (about 10 ms each instead
of 100 ms; derived values are checked as Hydra checks them). Then the model
range-checks the parameters of every combination of swept values (the seed
apart: 9 policies x 30 seeds are 9 checks), so that a value out of range
(``policy.subsidy_rate=1.5``) stops the sweep before any job starts too.
Selected in ``conf/config.yaml`` (``hydra/sweeper``).

(No ``from __future__ import annotations`` here: Hydra's plugin scan runs this
module outside ``sys.modules``, where dataclasses cannot resolve string
annotations.)
"""

import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper, BasicSweeperConf
from hydra.core.config_store import ConfigStore
from hydra_plugins.khusheh_launcher import JobComposer, _copy_without_hydra
from omegaconf import DictConfig


def covering_jobs(batch: Sequence[Sequence[str]]) -> list[Sequence[str]]:
    """Jobs of ``batch`` such that every override any job has is in at least one of them (in order), but for
    ``sim.design_row`` (see ``value_jobs``)."""
    seen: set[str] = set()
    chosen = []
    for job in batch:
        # (a design sweep's rows are checked by the value checks, each row given its values: composing a
        # job for every row, as well, took most of a big design's checks)
        own = [o for o in job if not o.startswith("sim.design_row=")]
        if not seen.issuperset(own):
            chosen.append(job)
            seen.update(own)
    return chosen


def value_jobs(batch: Sequence[Sequence[str]]) -> list[Sequence[str]]:
    """Jobs of ``batch`` whose parameters, checked, check every job's: one per combination of the values
    of the keys other than ``seed`` (the seed is no model parameter), in order."""
    seen: set[tuple] = set()
    chosen = []
    for job in batch:
        key = tuple(o for o in job if not o.startswith("seed="))
        if key not in seen:
            seen.add(key)
            chosen.append(job)
    return chosen


def value_problem(cfg: DictConfig, design_row: Optional[str] = None, own_copy: bool = False) -> Optional[str]:
    """What the model's checks refuse in a job's composed configuration (as the job's run would), else None.
    ``design_row``: the job's ``sim.design_row``, when ``cfg`` was composed for another row of the design;
    ``own_copy``: ``cfg`` is a copy without Hydra's node that may be changed (a design row's values are set
    in it: every row sets the same keys)."""
    from model import ParameterError
    from scenarios.config import to_model_params
    try:
        if cfg.sim.design:
            from omegaconf import open_dict

            from scenarios.sensitivity import apply_design_row
            if not own_copy:
                cfg = _copy_without_hydra(cfg)  # the job's own config, as the task gets it, given the row's values
            if design_row is not None:
                with open_dict(cfg):
                    cfg.sim.design_row = int(design_row)
            apply_design_row(cfg)
        params, _seed = to_model_params(cfg)
        params.validate()
    except (ParameterError, TypeError, ValueError) as err:
        return str(err).replace("clusters[0].", "cluster.")
    return None


def seed_problem(job: Sequence[str]) -> Optional[str]:
    """What the model refuses in a job's ``seed=`` override (value_jobs checks one seed of each
    combination), else None."""
    from model import ParameterError
    from scenarios.config import check_seed
    for override in job:
        if override.startswith("seed="):
            try:
                check_seed(int(override[len("seed="):]))
            except (ParameterError, ValueError) as err:
                return str(err)
    return None


class KhushehSweeper(BasicSweeper):
    """``only`` (``hydra.sweeper.only``): the jobs of the sweep's product to run, as a list of partial
    jobs (mappings of key to value; a job that has every override of one of them runs). The validation
    experiment runs every policy without a shock and the baseline under each shock, not every policy
    under every shock."""

    def __init__(self, max_batch_size: Optional[int], params: Optional[Dict[str, str]] = None,
                 only: Optional[List[Dict[str, str]]] = None) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.only = only

    def split_arguments(self, overrides, max_batch_size):  # (a static method of BasicSweeper's)
        from scenarios.config import wanted_job
        jobs = [job for batch in BasicSweeper.split_arguments(overrides, None) for job in batch
                if wanted_job(job, self.only)]
        if not jobs:
            print("khusheh-run: no job of the sweep is one that hydra.sweeper.only asks for", file=sys.stderr)
            sys.exit(2)
        size = max_batch_size or len(jobs)
        return [jobs[k:k + size] for k in range(0, len(jobs), size)]

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        assert self.hydra_context is not None and self.config is not None
        composer = JobComposer(self.hydra_context.config_loader, self.config)
        for overrides in covering_jobs(batch):
            composer.compose(overrides)
        # the values of every combination, range-checked by the model before any job starts: a value out
        # of range (policy.subsidy_rate=1.5) composes, but every job with it would fail
        checks = [(job, lambda job=job: seed_problem(job)) for job in batch]
        composed = {}  # the jobs of a design sweep differ in their row: composed once, given each row's values

        def value_check(job):
            row = next((o.split("=", 1)[1] for o in job if o.startswith("sim.design_row=")), None)
            base = tuple(o for o in job if not o.startswith("sim.design_row="))
            if base not in composed:
                cfg = composer.compose(job)
                composed[base] = _copy_without_hydra(cfg) if cfg.sim.design else cfg
            return value_problem(composed[base], row, own_copy=True)

        checks += [(job, lambda job=job: value_check(job)) for job in value_jobs(batch)]
        for overrides, check in checks:
            problem = check()
            if problem:
                print(f"khusheh-run: {problem} (in the job {' '.join(overrides)}); no job was started",
                      file=sys.stderr)
                sys.exit(2)


@dataclass
class KhushehSweeperConf(BasicSweeperConf):
    _target_: str = "hydra_plugins.khusheh_sweeper.KhushehSweeper"
    only: Optional[List[Dict[str, str]]] = None


ConfigStore.instance().store(group="hydra/sweeper", name="khusheh", node=KhushehSweeperConf, provider="khusheh")
