"""The lockstep speed comparison (tests/benchmarks/lockstep.py) runs another commit's model beside this one."""

from __future__ import annotations

import sys

import pytest

from tests.benchmarks import lockstep


@pytest.fixture
def old_model_forgotten():
    """Afterwards, the other commit's model package (``model_old``) is no longer imported."""
    yield
    for name in [n for n in sys.modules if n == "model_old" or n.startswith("model_old.")]:
        del sys.modules[name]


def test_lockstep_against_head_gives_the_same_series(capsys, old_model_forgotten):
    lockstep.main(["HEAD", "--months", "3", "--runs", "1"])
    out = capsys.readouterr().out
    assert "1 run of 500 firms x 3 months" in out
    assert "monthly series the same" in out


def test_lockstep_says_which_parameter_is_out_of_range(old_model_forgotten):
    # the second run's policy, the standard CDA, starts in month 12
    with pytest.raises(SystemExit, match="lockstep: policy.start_month = 12 is past the horizon"):
        lockstep.main(["HEAD", "--months", "6", "--runs", "2"])


def test_lockstep_names_a_commit_git_does_not_know():
    with pytest.raises(SystemExit, match="cannot archive model/ at 'no-such-commit'"):
        lockstep.main(["no-such-commit"])
