"""The result format (scenarios/results.py): what counts as a run, failures in one line, one schema per table."""

from __future__ import annotations

import pandas as pd

from model import ClusterModel
from scenarios import results


def _run_folder(folder, seed):
    folder.mkdir(parents=True)
    (folder / results.DONE).write_text("{}\n")


def test_a_job_that_failed_as_a_whole_keeps_its_complete_runs_listed(tmp_path):
    job = tmp_path / "policy-none"
    for seed in (0, 1):
        _run_folder(job / results.run_name(seed, None), seed)
    (job / ".hydra").mkdir()
    (job / results.FAILED).write_text("TerminatedWorkerError: a worker died\n\nTraceback (most recent call last):\n"
                                      "  ...\nTerminatedWorkerError: Detailed tracebacks ...\n")
    found = {run.folder.name: (run.status, run.detail) for run in results.find_runs(tmp_path)}
    assert found == {"seed_0000": ("complete", ""), "seed_0001": ("complete", ""),
                     "policy-none": ("failed", "TerminatedWorkerError: a worker died")}


def test_a_failure_is_read_as_its_first_line_or_a_bare_tracebacks_last(tmp_path):
    (tmp_path / results.FAILED).write_text("khusheh-run: policy.budget = -5 is out of range\n")
    assert results.read_failure(tmp_path) == "khusheh-run: policy.budget = -5 is out of range"
    (tmp_path / results.FAILED).write_text("Traceback (most recent call last):\n  File x\nValueError: bad\n")
    assert results.read_failure(tmp_path) == "ValueError: bad"


def test_an_empty_demography_reads_together_with_a_full_one(tmp_path):
    # a run without entries or exits writes the same column types as one with them (one glob per table)
    quiet = ClusterModel(rng=0, n_firms=5, months=2, hazard_base=0.0, hazard_young=0.0, spinoff_rate=0.0,
                         exogenous_entry=0.0).run().demography()
    busy = ClusterModel(rng=0, n_firms=200, months=24).run().demography()
    assert len(quiet) == 0 and len(busy) > 0
    for name, frame in (("a", quiet), ("b", busy)):
        results.write_parquet(tmp_path / f"{name}.parquet", frame)
    both = pd.read_parquet([tmp_path / "a.parquet", tmp_path / "b.parquet"])
    assert len(both) == len(busy) and set(both.event) <= {"entry", "exit"}
