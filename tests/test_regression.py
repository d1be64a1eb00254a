"""The model's results against the stored baseline of reference runs (a readable diff on failure).

When a change of results is intended: ``uv run python -m tests.regression.reference``.
"""

from __future__ import annotations

import json

from .regression.reference import BASELINE, differences, reference_runs, summarise


def test_reference_runs_match_the_stored_baseline():
    stored = json.loads(BASELINE.read_text())
    fresh = summarise(reference_runs())
    diff = differences(stored, fresh)
    assert not diff, ("results moved against tests/regression/baseline.json "
                      "(if intended: uv run python -m tests.regression.reference):\n" + "\n".join(diff[:40]))


def test_the_diff_names_what_moved():
    stored = {"run": {"12": {"firms": 10, "cda_phase": "none"}}}
    fresh = {"run": {"12": {"firms": 11, "cda_phase": "pilot"}}}
    assert differences(stored, fresh) == ["run / month 12 / cda_phase: 'none' -> 'pilot'",
                                          "run / month 12 / firms: 10 -> 11"]
