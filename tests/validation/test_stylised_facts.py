"""All eight patterns of DESIGN.md section 9, over 20 seeds, with stated tolerances.

The default cluster (generic, 500 firms, 120 months), every scenario on the
same 20 seeds (common random numbers). Deterministic: the seeds are fixed, so
each assertion has one answer; a tolerance says how far from the stylised fact
the model may sit, and the numbers it sits at are in docs/ODD.md. The checks
(quantities and allowed ranges) are ``analysis.validation.checks``, which the
validation report (``khusheh-report --validation``) applies to result files.
"""

from __future__ import annotations

import numpy as np
import pytest
from joblib import Parallel, delayed

from analysis.validation import PATTERNS, checks
from pathlib import Path

from omegaconf import OmegaConf

from model import ClusterModel, ModelParams, presets
from model.params import ShockParams

SHOCK_PRESETS = Path(__file__).resolve().parents[2] / "conf" / "shock"

SEEDS = tuple(range(20))
YEARS = tuple(range(0, 121, 12))
SCENARIOS = {
    "none": (presets.policy("none"), "none"),
    "standard_cda": (presets.policy("standard_cda"), "none"),
    "no_association": (presets.policy("no_association"), "none"),
    "trust_first": (presets.policy("trust_first"), "none"),
    "subsidy_only": (presets.policy("subsidy_only"), "none"),
    "demand_drop": (presets.policy("none"), "demand_drop"),  # the presets: from month 60, demand -30% for 12 months,
    "input_price_spike": (presets.policy("none"), "input_price_spike"),  # inputs +50% for 18 months
}


def _shock(name: str) -> ShockParams:
    """The shock preset of conf/shock, as khusheh-run and the validation report's runs use it."""
    return ShockParams(**OmegaConf.to_container(OmegaConf.load(SHOCK_PRESETS / f"{name}.yaml")))


def _run(name: str, seed: int) -> dict:
    policy, shock = SCENARIOS[name]
    params = ModelParams(policy=policy, shock=_shock(shock), snapshot_months=YEARS)
    m = ClusterModel(params, rng=seed).run()
    exits = np.concatenate(m.exit_records, axis=1)
    return {"series": m.series(), "firms": {t: s["firms"] for t, s in m.snapshots.items()},
            "entry_birth": np.concatenate(m.entry_records, axis=1)[0], "exit_birth": exits[0], "exit_age": exits[1]}


@pytest.fixture(scope="module")
def runs():
    jobs = [(name, seed) for name in SCENARIOS for seed in SEEDS]
    done = Parallel(n_jobs=2)(delayed(_run)(name, seed) for name, seed in jobs)
    out = {name: [] for name in SCENARIOS}
    for (name, _seed), result in zip(jobs, done):
        out[name].append(result)
    return out


@pytest.fixture(scope="module")
def results(runs):
    return checks(runs)


# patterns that fail after honest work on the mechanisms: the validation says so (DESIGN.md section 9, revised
# 2026-12-07), and docs/ODD.md gives the figures; strict, so that a pattern that comes back is noticed
_REVISED = "since the mechanisms were revised (issue 22; docs/ODD.md, section 1): "
FAILING = {
    4: _REVISED + "the CDA's trust effect grows by 0.007 from month 18 to 36 (allowed 0.01) and falls by 0.012 "
                  "from 36 to 84",
    5: _REVISED + "trust effect over months 36-120 +0.003 (allowed 0.02), joint actions x1.07 (allowed 1.3)",
    6: _REVISED + "the trust effect falls by 0.014 after the exit with the association, and the association adds "
                  "none at month 120",
    7: _REVISED + "after the exit trust-first leaves 0.28 fewer joint actions a month and 0.020 less trust than "
                  "subsidy-only",
}


@pytest.mark.parametrize("pattern", [pytest.param(k, marks=pytest.mark.xfail(reason=FAILING[k], strict=True))
                                     if k in FAILING else k for k in sorted(PATTERNS)])
def test_pattern_holds_over_20_seeds(results, pattern):
    mine = [c for c in results if c.pattern == pattern]
    assert mine, f"no check of pattern {pattern}"
    failing = [f"{c.quantity}: {c.value:.4g} (allowed {c.allowed})" for c in mine if not c.holds]
    assert not failing, f"pattern {pattern} ({PATTERNS[pattern]}):\n" + "\n".join(failing)


def test_the_checks_fail_when_the_model_does_not_reproduce_a_pattern(runs):
    """The same checks on swapped scenarios (the CDA as 'baseline') must fail: they can fail."""
    swapped = dict(runs, none=runs["standard_cda"], standard_cda=runs["none"])
    failing = {c.pattern for c in checks(swapped) if not c.holds}
    assert {4, 5} <= failing
