"""khusheh-robust (scenarios/robust.py) and its page in khusheh-report (analysis/robust.py); the ``ema`` extra."""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

ema = pytest.importorskip("ema_workbench")

from analysis import brief  # noqa: E402
from analysis.robust import analyse, discover, regret, scores, seeds_needed, settled, world_effects  # noqa: E402
from model import ClusterModel  # noqa: E402
from scenarios import robust  # noqa: E402
from scenarios.ema import uncertain_ranges  # noqa: E402
from scenarios.results import ROBUSTNESS, ROBUSTNESS_META, read_robustness  # noqa: E402

SMALL = dict(worlds=6, seeds=2, programmes=["standard_cda", "trust_first"], months=24, n_firms=60, n_jobs=1,
             overrides={"policy_start_month": 3})


def test_pipeline_end_to_end_with_one_baseline_per_world_and_seed_and_the_page(tmp_path, capsys):
    out = tmp_path / "robust"
    meta = robust.run("generic", out, **SMALL)
    table, read = read_robustness(out)
    assert read["worlds"] == 6 and read["programmes"] == SMALL["programmes"]
    # every world x programme x seed, identity columns first
    assert len(table) == 6 * 2 * 2
    assert list(table.columns[:7]) == ["cluster_preset", "policy", "shock", "seed", "world", "baseline", "months"]
    assert sorted(table.world.unique()) == list(range(6)) and sorted(table.seed.unique()) == [0, 1]
    assert table.groupby(["policy", "world"]).size().eq(2).all()
    # the world's values are the same for every programme and seed of it (common worlds)
    assert table.groupby("world")[list(uncertain_ranges())].nunique().eq(1).all().all()
    # the baseline ran once per world and seed, not once per programme
    assert meta["baseline_runs"] == 6 * 2 and meta["model_runs"] == 6 * 2 * 2 + 12
    # units in the field metadata, identity marked (scenarios/results.py's convention)
    fields = {f.name: f.metadata for f in pq.read_schema(out / ROBUSTNESS)}
    assert fields["seed"][b"role"] == b"identity"
    assert fields["employment_effect_horizon"][b"unit"] == b"workers"
    # one effect by hand: programme minus baseline on the same world and seed
    row = table[(table.policy == "trust_first") & (table.world == 4) & (table.seed == 1)].iloc[0]
    values = {u: row[u] for u in uncertain_ranges()}
    common = dict(rng=1, months=24, cluster_n_firms=60, policy_start_month=3, **values)
    treated = ClusterModel(cluster="generic", policy="trust_first", **common).run().series()
    base = ClusterModel(cluster="generic", policy="none", **common).run().series()
    assert row.employment_effect_horizon == treated.employment.iloc[-1] - base.employment.iloc[-1]
    assert row.mean_trust_effect_horizon == pytest.approx(treated.mean_trust.iloc[-1] - base.mean_trust.iloc[-1])

    report = tmp_path / "report"
    assert brief.main([str(out), "--out", str(report)]) == 0
    assert "which programme is robust" in capsys.readouterr().out
    html = (report / "robust.html").read_text()
    assert "Which programme is robust?" in html and "Trust first" in html and "Where each programme fails" in html
    assert (report / "robust.pdf").stat().st_size > 10_000
    summary = pd.read_csv(report / "robust.csv")
    assert list(summary.programme) == ["standard_cda", "trust_first"]
    assert summary.worlds.eq(6).all() and summary.seeds.eq(2).all()


def _hand_table():
    """3 programmes x 2 worlds x 2 seeds whose world means are known: world 0: A=5, B=3, C=-1;
    world 1: A=1, B=4, C=4 (each the mean of two seeds, mean -/+ 1)."""
    means = {("A", 0): 5.0, ("B", 0): 3.0, ("C", 0): -1.0, ("A", 1): 1.0, ("B", 1): 4.0, ("C", 1): 4.0}
    rows = []
    for (p, w), m in means.items():
        for s, d in ((0, -1.0), (1, 1.0)):
            rows.append({"policy": p, "world": w, "seed": s, "learning_rate": 0.1 + 0.1 * w,
                         "joint_actions_effect_horizon": m + d, "employment_effect_horizon": -m + d})
    return pd.DataFrame(rows)


def test_regret_is_the_shortfall_against_the_best_programme_of_each_world():
    worlds = world_effects(_hand_table())
    reg = regret(worlds, "joint_actions")
    # world 0: best A (5): A 0, B 2, C 6; world 1: best B and C (4): A 3, B 0, C 0
    np.testing.assert_array_equal(reg.loc[0, ["A", "B", "C"]], [0.0, 2.0, 6.0])
    np.testing.assert_array_equal(reg.loc[1, ["A", "B", "C"]], [3.0, 0.0, 0.0])
    # on employment the effects are the negatives: world 0 best C (1): A 6, B 4; world 1 best A (-1): B 3, C 3
    np.testing.assert_array_equal(regret(worlds, "employment").loc[0, ["A", "B", "C"]], [6.0, 4.0, 0.0])
    summary, _ = analyse(_hand_table(), {"uncertainties": {"learning_rate": [0.1, 0.3]}})
    summary = summary.set_index("programme")
    assert summary.loc["A", "cooperation_regret_max"] == 3.0 and summary.loc["B", "cooperation_regret_max"] == 2.0
    assert summary.loc["C", "cooperation_regret_max"] == 6.0 and summary.loc["A", "cooperation_regret_median"] == 1.5
    assert summary.loc["C", "cooperation_positive"] == 0.5 and summary.loc["A", "growth_positive"] == 0.0
    assert summary.loc["B", "cooperation_median"] == 3.5


def test_a_sign_is_settled_only_beyond_two_standard_errors():
    mean, sd, n = pd.Series([3.0, 1.0, -3.0]), pd.Series([2.0, 2.0, 2.0]), pd.Series([4, 4, 4])
    # standard error 1: |3| >= 2 settles, |1| does not
    assert settled(mean, sd, n).tolist() == [True, False, True]
    assert not settled(pd.Series([5.0]), pd.Series([np.nan]), pd.Series([1])).any()  # one seed: no spread
    # median |effect| 3, median SD 2: (2 x 2 / 3)^2 = 1.8 -> at least 2 seeds; an effect of 0.5: 64 seeds
    assert seeds_needed(mean, sd) == 2
    assert seeds_needed(pd.Series([0.5]), pd.Series([2.0])) == 64


def test_prim_finds_the_parameter_that_makes_a_programme_fail():
    # 60 worlds; the programme fails exactly where learning_rate < 0.17; spillover is noise. PRIM must
    # restrict learning_rate (not spillover) near 0.17; a discovery that ignored x would not.
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"learning_rate": rng.uniform(0.1, 0.3, 60), "spillover": rng.uniform(0.05, 0.2, 60)})
    fails = (x.learning_rate < 0.17).to_numpy()
    found = discover(x, fails)
    assert [lim["parameter"] for lim in found["limits"]] == ["learning_rate"]
    assert found["limits"][0]["high"] == pytest.approx(0.17, abs=0.02)
    assert found["density"] >= 0.8 and found["coverage"] >= 0.8
    assert "learning_rate \u2264" in found["text"]
    assert scores(x, fails).startswith("learning_rate")  # feature scoring ranks it first too
    # failures drawn at random, independent of x: no region is named
    noise = np.random.default_rng(4).random(60) < 0.4
    assert discover(x, noise)["limits"] == [] and "no region" in discover(x, noise)["text"]
    assert discover(x, np.zeros(60, bool))["text"].startswith("never")
    assert discover(x, np.ones(60, bool))["text"] == "in every world"


@pytest.mark.parametrize("args, message", [
    (["nowhere"], "not a cluster preset"),
    (["isfahan_province"], "province"),
    (["generic", "--programmes", "standard_cda,bogus"], "bogus"),
    (["generic", "--programmes", "none"], "none"),
    (["generic", "--worlds", "1"], "worlds"),
    (["generic", "--seeds", "0"], "seeds"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    assert robust.main([*args, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "r" / ROBUSTNESS).exists()


def test_an_unwritable_folder_fails_before_the_runs(capsys):
    assert robust.main(["generic", "--out", "/proc/khusheh-robust", "--worlds", "2", "--seeds", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("khusheh-robust: cannot write results to /proc/khusheh-robust") and len(err.splitlines()) == 1


def test_report_refuses_an_unfinished_robustness_run(tmp_path, capsys):
    folder = tmp_path / "r"
    folder.mkdir()
    _hand_table().to_parquet(folder / ROBUSTNESS)  # the table but no _robustness.json: interrupted
    assert brief.main([str(folder), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert ROBUSTNESS_META in err and len(err.splitlines()) == 1
