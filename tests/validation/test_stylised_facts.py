"""All eight patterns of DESIGN.md section 9, over 20 seeds, with stated tolerances; and each one that holds,
with its mechanism removed, failing.

The default cluster (generic, 500 firms, 120 months), every scenario on the
same 20 seeds (common random numbers). Deterministic: the seeds are fixed, so
each assertion has one answer; a tolerance says how far from the stylised fact
the model may sit, and the numbers it sits at are in docs/ODD.md. The checks
(quantities and allowed ranges) are ``analysis.validation.checks``, which the
validation report (``khusheh-report --validation``) applies to result files.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from joblib import Parallel, delayed

from analysis.validation import PATTERNS, checks
from pathlib import Path

from omegaconf import OmegaConf

from model import ClusterModel, ModelParams, presets
from model.params import ClusterSpec, ShockParams

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


def _run(name: str, seed: int, removed: dict | None = None, cluster: dict | None = None) -> dict:
    """One scenario's run; ``removed``: parameters changed to remove a mechanism (its ``policy`` item, the
    policy's own parameters)."""
    policy, shock = SCENARIOS[name]
    removed = dict(removed or {})
    policy = replace(policy, **removed.pop("policy", {}))
    params = ModelParams(policy=policy, shock=_shock(shock), snapshot_months=YEARS,
                         clusters=(ClusterSpec(**(cluster or {})),), **removed)
    m = ClusterModel(params, rng=seed).run()
    exits = np.concatenate(m.exit_records, axis=1) if m.exit_records else np.zeros((2, 0))
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
    1: "since the growth rule's partial adjustment (issue 21 part 2): micro share 0.837 in the lowest seed (allowed "
       "0.85; 0.837-0.873 over the seeds): firms reach their target size faster, entrants included",
    4: _REVISED + "the CDA's trust effect grows by 0.006 from month 18 to 36 (allowed 0.01): the association, whose "
                  "events' games build most of it, forms at month 35",
    6: _REVISED + "the association dissolves in none of the 40 seeds of the standard and trust-first programmes "
                  "(allowed: at least one): its events' games are worth more than the fee to most members; without the "
                  "association the trust effect still rises by 0.0001 after the exit (allowed: not rising)",
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


# Each pattern that holds, with the mechanism that should produce it removed: the same checks, on the same seeds,
# must then fail (DESIGN.md section 9: a test that passes with the mechanism removed is not a test). Pattern 6
# and the CDA's half of 4 fail with the mechanisms in (FAILING above); the swapped test above shows their checks
# can fail. Pattern 1's mechanism is firm growth from a thin-tailed start: see the test after this one.
REMOVED = {
    # without the exit hazard and the debt limit nobody exits: the exit rate is 0 and every entrant survives
    2: ("no exit hazard, no debt limit", {"hazard_base": 0.0, "hazard_young": 0.0, "debt_limit": 100.0}, 10),
    # without the growth rule's stochastic adjustment (the Laplace shock to hiring, and the partial adjustment toward
    # a target size with its lasting granular shock: the whole-worker rule without noise) yearly growth is no
    # longer tent-shaped (kurtosis 4.3 < 4.5); either alone is not enough (the lumpy hires of partial adjustment
    # make a tent by themselves: kurtosis 5.7 without the Laplace shock, 6.6 without both shocks)
    3: ("no stochastic adjustment", {"growth_noise": 0.0, "granular_noise": 0.0, "adjust_speed": 0.0}, 10),
    # without free-riding's gain (temptation 0) contributing pays: cooperation rises above the low-trust level
    4: ("no gain from free-riding", {"temptation": (0.0, 0.0, 0.0, 0.0)}, 10),
    # without the games the programme and the association start among firms that have just met (facilitated
    # first games; every event still held, every tie still made) the CDA no longer raises joint actions by 30%
    5: ("no facilitated first games", {"policy": {"event_games": False}}, 10),
    # the same removal: trust-first's meetings then start no games, and it no longer leaves more cooperation after
    # the exit than subsidy-only per wage-month spent
    7: ("no facilitated first games", {"policy": {"event_games": False}}, 10),
    # without the joint actions' concrete effects (discount, orders, knowledge) cooperators are no sturdier
    8: ("joint actions without their effects", {"purchase_discount": 0.0, "subcontract_bonus": 0.0, "spillover": 0.0,
                                                 "knowledge_return": 0.0}, 10),
}


def _ours(check, pattern: int) -> bool:
    """The checks of ``pattern`` that a removal is to fail: of pattern 4, the baseline's half (the CDA's fails)."""
    return check.pattern == pattern and (pattern != 4 or check.quantity.startswith("baseline"))


@pytest.mark.parametrize("pattern", sorted(REMOVED))
def test_a_pattern_fails_with_its_mechanism_removed(results, pattern):
    what, removed, n_seeds = REMOVED[pattern]
    assert all(c.holds for c in results if _ours(c, pattern)), "the pattern holds with its mechanism"
    names = {5: ("none", "standard_cda"), 7: ("none", "trust_first", "subsidy_only"),
             8: ("none", "demand_drop", "input_price_spike")}.get(pattern, ("none",))
    jobs = [(name, seed) for name in names for seed in SEEDS[:n_seeds]]
    done = Parallel(n_jobs=2)(delayed(_run)(name, seed, removed) for name, seed in jobs)
    runs = {name: [r for (n, _s), r in zip(jobs, done) if n == name] for name in names}
    # the checks of the other patterns need every scenario: the baseline stands in (only this pattern is read)
    runs |= {name: runs["none"] for name in SCENARIOS if name not in runs}
    with np.errstate(all="ignore"):  # the other patterns' ratios of a baseline to itself are 0/0
        failing = [c.quantity for c in checks(runs) if _ours(c, pattern) and not c.holds]
    assert failing, f"pattern {pattern} still holds with {what}"


@pytest.mark.xfail(strict=True, reason="pattern 1 is inherited from the initial Zipf draw, not produced by the dynamics: "
                                       "from a start of 1-5 workers a firm, after ten years 96.0-98.9% of firms are micro and "
                                       "the largest is 12 times the median in the lowest seed (docs/ODD.md, section 1)")
def test_pattern1_emerges_from_a_thin_tailed_start():
    # could fail: the size distribution's heavy tail must come from growth, entry and exit, not from the start
    # (DESIGN.md section 9, pattern 1); with every firm at 1-5 workers at month 0 the same checks apply at month 120
    done = Parallel(n_jobs=2)(delayed(_run)("none", seed, None, {"size_exponent": 3.0, "max_employees": 5})
                              for seed in SEEDS[:10])
    runs = {name: done for name in SCENARIOS}
    with np.errstate(all="ignore"):
        failing = [f"{c.quantity}: {c.value:.3g} (allowed {c.allowed})" for c in checks(runs) if c.pattern == 1
                   and not c.holds]
    assert not failing, "\n".join(failing)
