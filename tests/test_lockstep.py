"""The lockstep speed comparison (tests/benchmarks/lockstep.py) runs another commit's model beside this one."""

from __future__ import annotations

import subprocess
import sys

import pytest

import model
from tests.benchmarks import lockstep

in_git = subprocess.run(["git", "rev-parse", "HEAD"], cwd=lockstep.ROOT, capture_output=True).returncode == 0
needs_git = pytest.mark.skipif(not in_git, reason="compares with a commit: needs a git checkout")


@needs_git
def test_lockstep_against_head_runs_a_separate_copy_and_gives_the_same_series(capsys, monkeypatch):
    seen = {}
    real = lockstep._compare

    def compare(*args):
        old = sys.modules[lockstep.OLD]
        seen.update(file=old.__file__, kernels=old.kernels)
        return real(*args)

    monkeypatch.setattr(lockstep, "_compare", compare)
    lockstep.main(["HEAD", "--months", "3", "--runs", "1"])
    out = capsys.readouterr().out
    assert "1 run of 500 firms x 3 months" in out
    assert "monthly series the same" in out
    # HEAD's model came from git, not from this checkout, and was forgotten afterwards
    assert not seen["file"].startswith(str(lockstep.ROOT))
    assert seen["kernels"] is not model.kernels
    assert lockstep.OLD not in sys.modules


@needs_git
def test_lockstep_says_which_parameter_is_out_of_range():
    # the second run's policy, the standard CDA, starts in month 12
    with pytest.raises(SystemExit, match="lockstep: policy.start_month = 12 is past the horizon"):
        lockstep.main(["HEAD", "--months", "6", "--runs", "2"])
    assert lockstep.OLD not in sys.modules


@needs_git
def test_lockstep_names_a_commit_git_does_not_know():
    with pytest.raises(SystemExit, match="cannot archive model/ at 'no-such-commit'"):
        lockstep.main(["no-such-commit"])


def test_lockstep_wants_a_positive_number_of_runs(capsys):
    with pytest.raises(SystemExit):
        lockstep.main(["HEAD", "--runs", "0"])
    assert "0 is not a positive whole number" in capsys.readouterr().err
