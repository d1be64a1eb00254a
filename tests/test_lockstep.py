"""The lockstep speed comparison (tests/benchmarks/lockstep.py) runs another commit's model beside this one."""

from __future__ import annotations

import sys

import pytest

from tests.benchmarks import lockstep


def test_lockstep_against_head_gives_the_same_series(capsys):
    try:
        lockstep.main(["HEAD", "--months", "3", "--runs", "1"])
    finally:
        for name in [n for n in sys.modules if n == "model_old" or n.startswith("model_old.")]:
            del sys.modules[name]
    out = capsys.readouterr().out
    assert "1 run of 500 firms x 3 months" in out
    assert "monthly series the same" in out


def test_lockstep_names_a_commit_git_does_not_know():
    with pytest.raises(SystemExit, match="cannot archive model/ at 'no-such-commit'"):
        lockstep.main(["no-such-commit"])
