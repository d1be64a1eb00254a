"""Hydra's basic sweeper, checking each swept value once instead of every job.

Before launching, Hydra's ``BasicSweeper`` composes the configuration of every
job in the main process (about 0.1 s each), to stop a sweep with a bad value
before any job starts; the workers wait meanwhile. A sweep is the product of
the swept keys' values, so composing a set of jobs in which every value of
every key appears finds the same mistakes: 9 policies x 30 seeds need 30
compositions, not 270. They are composed as the ``khusheh_joblib`` launcher
composes them: in full once per combination of config-group choices (9
policies), derived from that for the other values (about 10 ms each instead
of 100 ms; derived values are checked as Hydra checks them). Selected in
``conf/config.yaml`` (``hydra/sweeper``).

(No ``from __future__ import annotations`` here: Hydra's plugin scan runs this
module outside ``sys.modules``, where dataclasses cannot resolve string
annotations.)
"""

from dataclasses import dataclass
from typing import Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper, BasicSweeperConf
from hydra.core.config_store import ConfigStore
from hydra_plugins.khusheh_launcher import JobComposer


def covering_jobs(batch: Sequence[Sequence[str]]) -> list[Sequence[str]]:
    """Jobs of ``batch`` such that every override any job has is in at least one of them (in order)."""
    seen: set[str] = set()
    chosen = []
    for job in batch:
        if not seen.issuperset(job):
            chosen.append(job)
            seen.update(job)
    return chosen


class KhushehSweeper(BasicSweeper):
    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        assert self.hydra_context is not None and self.config is not None
        composer = JobComposer(self.hydra_context.config_loader, self.config)
        for overrides in covering_jobs(batch):
            composer.compose(overrides)


@dataclass
class KhushehSweeperConf(BasicSweeperConf):
    _target_: str = "hydra_plugins.khusheh_sweeper.KhushehSweeper"


ConfigStore.instance().store(group="hydra/sweeper", name="khusheh", node=KhushehSweeperConf, provider="khusheh")
