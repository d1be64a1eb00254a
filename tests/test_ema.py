"""scenarios/ema.py: Khusheh as an EMA workbench model (needs the ``ema`` extra; CI installs it)."""

import numpy as np
import pandas as pd
import pytest

ema = pytest.importorskip("ema_workbench")

from model import ClusterModel, ParameterError  # noqa: E402
from scenarios.ema import ema_model, policy_choices, uncertain_ranges  # noqa: E402

SMALL = dict(months=24, n_firms=60, seeds=(1,), overrides={"policy_start_month": 3},
             levers={"policy_budget": (200.0, 1000.0), "policy_duration_months": (6, 18)})


def _frame(out):
    return pd.DataFrame(out)


def test_model_describes_the_uncertainties_levers_and_outcomes():
    m = ema_model("generic", **SMALL)
    assert {u.name for u in m.uncertainties} == set(uncertain_ranges())
    assert "cluster_elasticity" in uncertain_ranges() and uncertain_ranges()["learning_rate"] == (0.1, 0.3)
    assert [lv.name for lv in m.levers] == ["programme", "policy_budget", "policy_duration_months"]
    assert "standard_cda" in policy_choices() and "none" not in policy_choices()
    assert not any(p.startswith("programme_") or p == "zero_budget" for p in policy_choices())
    assert len(m.outcomes) == 8


def test_sequential_ten_experiments_paired_effects_and_one_baseline_per_scenario(tmp_path):
    m = ema_model("generic", cache_dir=tmp_path, **SMALL)
    with ema.SequentialEvaluator(m) as ev:
        experiments, outcomes = ev.perform_experiments(scenarios=2, policies=5)
    assert len(experiments) == 10
    # the baseline ran once per scenario (1 seed), not once per experiment
    assert m.function.baseline_runs == 2
    assert len(list(tmp_path.glob("baseline-*.json"))) == 2
    out = _frame(outcomes)
    assert out.notna().all().all()  # CDA ends by month 21, within the 24-month horizon
    # one experiment by hand: programme minus baseline on the same seed and uncertain values
    row = experiments.iloc[3]
    values = {u: row[u] for u in uncertain_ranges()}
    common = dict(rng=1, months=24, cluster_n_firms=60, policy_start_month=3, **values)
    treated = ClusterModel(cluster="generic", policy=row["programme"], policy_budget=row["policy_budget"],
                           policy_duration_months=int(row["policy_duration_months"]), **common).run().series()
    base = ClusterModel(cluster="generic", policy="none", **common).run().series()
    assert out["mean_trust_effect_horizon"][3] == pytest.approx(treated.mean_trust.iloc[-1] - base.mean_trust.iloc[-1])
    end = 3 + int(row["policy_duration_months"])
    assert out["employment_effect_cda_end"][3] == treated.employment.iloc[end] - base.employment.iloc[end]


def _run(evaluator_class, model, **kwargs):
    with evaluator_class(model, **kwargs) as ev:
        return ev.perform_experiments(scenarios=2, policies=2, uncertainty_sampling_kwargs={"rng": 5},
                                      lever_sampling_kwargs={"rng": 6})


# EMA workbench starts its log-reading thread before it forks the pool: Python warns of it
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
def test_multiprocessing_gives_the_sequential_outcomes(tmp_path):
    seq_experiments, seq = _run(ema.SequentialEvaluator, ema_model("generic", **SMALL))
    par_model = ema_model("generic", cache_dir=tmp_path, **SMALL)
    par_experiments, par = _run(ema.MultiprocessingEvaluator, par_model, n_processes=2)
    cols = [c for c in seq_experiments.columns if c not in ("scenario", "policy")]
    pd.testing.assert_frame_equal(seq_experiments[cols], par_experiments[cols])
    for key in seq:
        np.testing.assert_array_equal(seq[key], par[key])
    # the workers shared the baselines through the cache folder: at most one file per scenario
    assert len(list(tmp_path.glob("baseline-*.json"))) == 2


def test_bad_input_is_one_clear_error():
    with pytest.raises(ParameterError, match="not a cluster preset"):
        ema_model("nowhere")
    with pytest.raises(ParameterError, match="province"):
        ema_model("isfahan_province")
    with pytest.raises(ParameterError, match="policy_budgett"):
        ema_model(levers={"policy_budgett": (1.0, 2.0)})
