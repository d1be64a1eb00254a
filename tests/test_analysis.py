"""analysis/: collection, statistics with known answers, figures and the brief."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.brief import build, fmt
from analysis.brief import main as report_main
from analysis.collect import collect
from analysis.stats import bootstrap_ci, effects, seeds_needed
from model import COLUMNS, ClusterModel, ModelParams, presets
from scenarios.results import provenance, summary_row, write_run


def _run(root: Path, policy: str, seed: int) -> Path:
    """A run's folder in a sweep's layout: the job's folder (its overrides), the seed's folder."""
    return root / f"policy-{policy}" / f"seed_{seed:04d}"


def _write(folder: Path, series: pd.DataFrame, policy: str, seed: int, snapshots=None, budget=0.0, overrides=None):
    pol = presets.policy(policy)
    identity = {"cluster_preset": "generic", "policy": policy, "shock": "none", "seed": seed}
    info = {"overrides": f"policy={policy}" if overrides is None else overrides, "budget": budget or pol.budget,
            "subsidy_rate": pol.subsidy_rate, "start_month": 4, "duration_months": 8}
    write_run(folder, identity, series=series, cluster_series=series.assign(cluster="generic"),
              summary=summary_row(info, series, 12), snapshots=snapshots or {}, config_yaml="x: 1\n",
              provenance=provenance(seed, "abc", 0.0))


def _synthetic_series(seed: int, offset: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    months = np.arange(25)
    frame = pd.DataFrame({c: rng.normal(100, 10, len(months)) for c in COLUMNS})
    frame["month"] = months
    frame["cda_phase"] = "none"
    frame["employment"] = 1000 + 50 * rng.standard_normal() + months + offset  # seed effect shared by both arms
    return frame[list(COLUMNS)]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    for seed in range(12):
        _write(_run(root, "none", seed), _synthetic_series(seed), "none", seed)
        _write(_run(root, "standard_cda", seed), _synthetic_series(seed, offset=7.5), "standard_cda", seed)
        _write(_run(root, "trust_first", seed), _synthetic_series(seed), "trust_first", seed)
    return root


def test_a_fixed_offset_is_recovered_with_a_ci_that_covers_it(synthetic):
    col = collect([synthetic])
    eff = effects(col.series, col.summary, ["employment"])
    row = eff[(eff.policy == "standard_cda") & (eff.when == "horizon")].iloc[0]
    assert row.effect == pytest.approx(7.5)
    assert row.ci_low <= 7.5 <= row.ci_high
    assert row.n_seeds == 12 and row.month == 24


def test_identical_scenarios_give_an_effect_ci_around_zero(synthetic):
    col = collect([synthetic])
    eff = effects(col.series, col.summary, ["employment", "output"])
    rows = eff[eff.policy == "trust_first"]
    assert (rows.effect == 0).all() and (rows.ci_low <= 0).all() and (rows.ci_high >= 0).all()


def test_bootstrap_ci_and_seed_count_on_known_data():
    rng = np.random.default_rng(3)
    d = rng.normal(2.0, 1.0, 400)
    lo, hi = bootstrap_ci(d)
    assert lo < 2.0 < hi and hi - lo == pytest.approx(2 * 1.96 / np.sqrt(400), rel=0.15)
    assert seeds_needed(1.0, 0.1) == 385  # (1.96 * 1 / 0.1)^2 = 384.2


def _small_sweep(root: Path, policies=("none", "standard_cda"), seeds=(0, 1, 2), snapshot_months=(30,)) -> Path:
    for policy in policies:
        for seed in seeds:
            params = ModelParams(months=30, policy=presets.policy(policy),
                                 snapshot_months=snapshot_months).with_overrides(
                n_firms=120, policy_start_month=4)
            m = ClusterModel(params, rng=seed).run()
            pol = params.policy
            info = {"overrides": f"policy={policy}", "budget": pol.budget, "subsidy_rate": pol.subsidy_rate,
                    "start_month": pol.start_month, "duration_months": pol.duration_months}
            s = m.series()
            write_run(_run(root, policy, seed), {"cluster_preset": "generic", "policy": policy, "shock": "none",
                                                 "seed": seed},
                      series=s, cluster_series=m.cluster_series(), summary=summary_row(info, s, min(40, 30)),
                      snapshots=m.snapshots, config_yaml="x: 1\n", provenance=provenance(seed, "abc", 0.0))
    return root


@pytest.fixture(scope="module")
def brief(tmp_path_factory):
    sweep = _small_sweep(tmp_path_factory.mktemp("sweep"))
    out = tmp_path_factory.mktemp("brief")
    return sweep, out, build([sweep], out)


def test_the_brief_numbers_equal_a_direct_computation_from_the_parquet_files(brief):
    sweep, out, paths = brief
    diffs = {}
    for outcome in ("joint_actions", "mean_trust", "employment"):
        d = []
        for seed in range(3):
            a = pd.read_parquet(_run(sweep, "standard_cda", seed) / "series.parquet")
            b = pd.read_parquet(_run(sweep, "none", seed) / "series.parquet")
            # a monthly flow (joint actions) is the mean of the 12 months ending at the horizon (conf/outcomes.yaml)
            last = 12 if outcome == "joint_actions" else 1
            d.append(a[outcome].iloc[-last:].mean() - b[outcome].iloc[-last:].mean())
        diffs[outcome] = float(np.mean(d))
    eff = pd.read_csv(paths["effects"])
    html = paths["html"].read_text()
    for outcome, value in diffs.items():
        row = eff[(eff.policy == "standard_cda") & (eff.when == "horizon") & (eff.outcome == outcome)].iloc[0]
        assert row.effect == pytest.approx(value)
        assert fmt(value, outcome, True) in html  # the callout and the table print this very number


def test_every_figure_is_produced_and_the_pdf_pages_render(brief, tmp_path):
    _, out, paths = brief
    for key in ("main", "cooperation", "growth", "forest", "cost", "map", "network"):
        png = Path(paths[key])
        assert png.stat().st_size > 10_000, key
        from matplotlib.image import imread
        img = imread(png)
        assert img.std() > 0.01, f"{key} is blank"
    assert shutil.which("pdftoppm"), "pdftoppm (poppler-utils) is needed to render the brief's pages"
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(paths["pdf"]), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 4
    from matplotlib.image import imread
    for page in pages:
        assert imread(page).std() > 0.01


def test_a_missing_run_and_a_corrupt_file_are_named_in_the_brief(tmp_path):
    sweep = _small_sweep(tmp_path / "sweep", seeds=(0, 1, 2, 3))
    shutil.rmtree(_run(sweep, "standard_cda", 2))
    (_run(sweep, "none", 3) / "series.parquet").write_bytes(b"PAR1 truncated")
    paths = build([sweep], tmp_path / "out")
    html = paths["html"].read_text()
    assert "policy=standard_cda,seed=2" in html and "missing" in html
    assert "policy-none/seed_0003" in html and "corrupt" in html
    problems = pd.read_csv(tmp_path / "out" / "problems.csv")
    assert sorted(problems.problem) == ["corrupt", "missing"]
    # the corrupt baseline run is not also counted as missing; the pairs use seeds 0 and 1 only
    eff = pd.read_csv(paths["effects"])
    assert set(eff.n_seeds) == {2}


def test_a_brief_without_snapshots_says_it_has_no_maps(tmp_path, capsys):
    paths = build([_small_sweep(tmp_path / "sweep", seeds=(0, 1), snapshot_months=())], tmp_path / "out")
    assert "map" not in paths and "network" not in paths and paths["pdf"].is_file()
    assert "no run kept agent-level snapshots of month 30" in capsys.readouterr().err


def test_report_command_errors_are_one_line(tmp_path, capsys):
    assert report_main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "no such sweep folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert report_main([str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "holds no runs" in capsys.readouterr().err
    assert report_main([str(tmp_path / "empty"), "--out", str(tmp_path / "o"), "--target-ci", "jobs=x"]) == 2
    assert re.search("target-ci", capsys.readouterr().err)


def test_custom_policies_keep_their_place_in_tables_and_figures():
    from analysis import figures
    from analysis.brief import cost_table
    assert figures.ordered(["my_programme", "standard_cda", "none"]) == ["none", "standard_cda", "my_programme"]
    eff = pd.DataFrame([{"policy": p, "when": "horizon", "outcome": o, "effect": 1.0, "ci_low": 0.0, "ci_high": 2.0,
                         "budget": 100.0, "spent": 50.0, "per_100_spent": 2.0, "per_100_low": 0.0,
                         "per_100_high": 4.0} for p in ("standard_cda", "my_programme") for o in ("employment", "output")])
    assert list(cost_table(eff).policy) == ["standard_cda", "my_programme"]


def test_a_folder_of_single_runs_at_any_depth_gives_a_brief_of_the_setting_with_a_comparison(tmp_path, capsys):
    """outputs/DATE/TIME/ runs: a baseline-only setting listed first must not break the brief."""
    day = tmp_path / "outputs" / "2026-01-01"
    _write(day / "09-00-00", _synthetic_series(0), "none", 0, overrides="sim.months=30")
    _write(day / "10-00-00", _synthetic_series(0), "none", 0, overrides="sim.months=24")
    _write(day / "10-00-01", _synthetic_series(0, offset=7.5), "standard_cda", 0,
           overrides="sim.months=24,policy=standard_cda")
    for folder in (tmp_path / "outputs", day):
        out = tmp_path / f"brief_{folder.name}"
        assert report_main([str(folder), "--out", str(out)]) == 0, capsys.readouterr().err
        eff = pd.read_csv(out / "effects.csv")
        row = eff[(eff.policy == "standard_cda") & (eff.when == "horizon") & (eff.outcome == "employment")]
        assert len(row) == 1 and row.context.iloc[0] == "sim.months=24"
        assert row.effect.iloc[0] == pytest.approx(7.5) and row.n_seeds.iloc[0] == 1
        assert (out / "brief.pdf").stat().st_size > 10_000


@pytest.mark.parametrize("runs, message", [
    ([("none", 0)], "only baseline runs (policy=none) in "),
    ([("standard_cda", 0)], "no baseline run (policy=none) among the runs in "),
    ([("none", 0), ("standard_cda", 1)], "no programme run in "),
])
def test_runs_without_a_pair_to_compare_get_a_one_line_message(tmp_path, capsys, runs, message):
    for policy, seed in runs:
        _write(tmp_path / "runs" / f"{policy}-{seed}", _synthetic_series(seed), policy, seed)
    target = tmp_path / "runs" / f"{runs[0][0]}-{runs[0][1]}" if len(runs) == 1 else tmp_path / "runs"
    assert report_main([str(target), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"khusheh-report: {message}") and "\n" not in err and "Traceback" not in err


def _spending(series: pd.DataFrame, total: float) -> pd.DataFrame:
    """The CDA's cumulative spending rising evenly to ``total`` at the last month."""
    return series.assign(cda_spent=np.linspace(0.0, total, len(series)))


def test_what_the_money_buys_is_per_100_wage_months_actually_spent_not_per_budget(tmp_path):
    """7.5 more workers for a mean of 50 spent (of a budget of 600) is +15.0 per 100 spent, not +1.25."""
    spent = {0: 25.0, 1: 50.0, 2: 75.0, 3: 50.0}
    for seed, total in spent.items():
        _write(_run(tmp_path / "sweep", "none", seed), _spending(_synthetic_series(seed), 0.0), "none", seed)
        _write(_run(tmp_path / "sweep", "standard_cda", seed), _spending(_synthetic_series(seed, offset=7.5), total),
               "standard_cda", seed)
        _write(_run(tmp_path / "sweep", "trust_first", seed), _spending(_synthetic_series(seed), 0.0), "trust_first",
               seed)
    paths = build([tmp_path / "sweep"], tmp_path / "out")
    eff = pd.read_csv(paths["effects"]).set_index(["policy", "when", "outcome"])
    jobs = eff.loc[("standard_cda", "horizon", "employment")]
    assert jobs.budget == 600 and jobs.spent == pytest.approx(50.0)
    assert jobs.per_100_spent == pytest.approx(15.0) and jobs.per_100_low < 15.0 < jobs.per_100_high
    assert eff.loc[("standard_cda", "horizon", "output")].per_100_spent == pytest.approx(0.0)
    assert np.isnan(eff.loc[("trust_first", "horizon", "employment")].per_100_spent)  # nothing spent
    html = paths["html"].read_text()
    assert "<td>Standard CDA, 3 years</td><td>600</td><td>50</td>" in html  # spent next to the budget, both tables
    assert html.count("<td>600</td><td>50</td>") == 2
    assert "<td>+15.0 (" in html and "per 100 wage-months spent" in html
    assert "<td>Trust first, 3 years</td><td>600</td><td>0</td><td>0 rials</td><td>n/a (nothing spent)</td>" in html


@pytest.fixture(scope="module")
def two_settings(tmp_path_factory):
    """A full province sweep (no overrides) beside a tenth of it: employment +7.5 in the first, +2.5 in the other."""
    root = tmp_path_factory.mktemp("two_settings")
    for extra, offset in (("", 7.5), ("cluster.province.scale=0.1", 2.5)):
        for seed in range(2):
            for policy in ("none", "standard_cda"):
                overrides = ",".join(filter(None, [extra, f"policy={policy}"]))
                _write(root / overrides.replace("=", "-") / f"seed_{seed:04d}",
                       _synthetic_series(seed, offset * (policy != "none")), policy, seed, overrides=overrides)
    return root


def _page_one(html: str) -> str:
    """Page 1 of the brief's HTML, its whitespace collapsed."""
    return " ".join(html[:html.index('class="page"')].split())


def test_the_brief_says_on_page_one_which_setting_it_shows_and_names_the_others(two_settings, tmp_path, capsys):
    assert report_main([str(two_settings), "--out", str(tmp_path / "a")]) == 0
    assert "the runs hold 2 settings; this brief shows the default settings" in capsys.readouterr().err
    page = _page_one((tmp_path / "a" / "brief.html").read_text())
    assert "4 simulated runs in this brief (of 8 found)" in page
    assert "This brief shows the runs with the default settings (no overrides besides policy and seed)" in page
    assert "1 other setting(s), not shown here: cluster.province.scale=0.1." in page
    assert "<code>--setting</code> and one of: <code>cluster.province.scale=0.1</code>" in page
    assert "<td>+7.5<br><span class='ci'>[+7.5, +7.5]</span></td>" in page  # the ranking's employment at the horizon
    assert report_main([str(two_settings), "--out", str(tmp_path / "b"), "--setting", "cluster.province.scale=0.1"]) == 0
    page = _page_one((tmp_path / "b" / "brief.html").read_text())
    assert "<td>+2.5<br><span class='ci'>[+2.5, +2.5]</span></td>" in page
    assert "not shown here: the default settings (no overrides" in page
    assert "<code>default</code>" in page and "; )" not in page
    eff = pd.read_csv(tmp_path / "b" / "effects.csv")  # effects.csv keeps every setting
    assert set(eff.context.fillna("")) == {"", "cluster.province.scale=0.1"}


def test_without_a_default_setting_the_brief_shows_the_one_without_a_shock():
    from analysis.brief import choose_setting
    from analysis.collect import Collection
    contexts = ["shock=demand_drop", "shock=export_restriction", "shock=none", "shock=input_price_spike"]
    summary = pd.DataFrame([{"context": c, "policy": p, "seed": s} for c in contexts
                            for p in ("none", "standard_cda") for s in (0, 1)])
    col = Collection(series=pd.DataFrame(), summary=summary, problems=pd.DataFrame(), folders={})
    assert choose_setting(col, "none", ["sweep"]) == "shock=none"
    # without it, the first by name; the default setting comes before both
    col.summary = summary[summary.context != "shock=none"]
    assert choose_setting(col, "none", ["sweep"]) == "shock=demand_drop"
    col.summary = pd.concat([summary, summary.assign(context="")])
    assert choose_setting(col, "none", ["sweep"]) == ""


def _ja_series(bump):
    """Joint actions of the baseline (10 a month) and the standard CDA (10 + bump(month)), 2 seeds; the CDA in
    its diagnostic phase in months 12-19, pilot phase 20-47, ended from 48."""
    rows = []
    for seed in (0, 1):
        for month in range(61):
            phase = "none" if month < 12 else "diagnostic" if month < 20 else "pilot" if month < 48 else "ended"
            rows.append({"policy": "none", "seed": seed, "month": month, "joint_actions": 10.0,
                         "cda_phase": "none"})
            rows.append({"policy": "standard_cda", "seed": seed, "month": month,
                         "joint_actions": 10.0 + bump(month) + (seed - 0.5), "cda_phase": phase})
    return pd.DataFrame(rows)


def test_a_peak_of_the_effect_while_the_cda_works_is_told_when_the_exit_hides_it():
    from analysis.brief import peak_while_working
    # +30 a month in months 25-30 (its pilot phase), +2 at its exit: the mean over seeds, whose +-0.5 cancel
    text = peak_while_working(_ja_series(lambda m: 30.0 if 25 <= m <= 30 else 2.0 if m >= 12 else 0.0),
                              "standard_cda", "none", 48)
    assert text.startswith("While the CDA works, the effect on joint actions peaks at +30.0 a month in month 25, "
                           "in its pilot phase")
    assert "+2.0 at its exit (month 48)" in text
    # an effect that only rises to the exit, or a peak little above it, is not singled out
    assert peak_while_working(_ja_series(lambda m: max(0, m - 12) / 3.0), "standard_cda", "none", 48) is None
    assert peak_while_working(_ja_series(lambda m: 5.0 if m == 30 else 4.0), "standard_cda", "none", 48) is None
    # no CDA, or runs that end before its exit
    assert peak_while_working(_ja_series(lambda m: 30.0), None, "none", 48) is None
    assert peak_while_working(_ja_series(lambda m: 30.0), "standard_cda", "none", 72) is None


def test_setting_default_means_the_runs_without_overrides_and_links_do_not_loop(tmp_path):
    from analysis.brief import choose_setting
    from analysis.collect import Collection, ResultsError
    from scenarios.results import find_runs
    summary = pd.DataFrame([{"context": "shock=demand_drop", "policy": p, "seed": s}
                            for p in ("none", "standard_cda") for s in (0, 1)])
    col = Collection(series=pd.DataFrame(), summary=summary, problems=pd.DataFrame(), folders={})
    with pytest.raises(ResultsError, match="unknown setting 'default'"):
        choose_setting(col, "none", ["sweep"], "default")  # not the only setting there is
    # a link back to a folder above is not followed; a link to a run is a run
    (tmp_path / "runs" / "a").mkdir(parents=True)
    (tmp_path / "runs" / "a" / "_DONE").write_text("{}")
    (tmp_path / "runs" / "loop").symlink_to(tmp_path / "runs")
    (tmp_path / "runs" / "linked_run").symlink_to(tmp_path / "runs" / "a")
    assert [r.folder.name for r in find_runs(tmp_path / "runs")] == ["a", "linked_run"]


def test_an_unknown_setting_is_named_with_the_settings_found(two_settings, tmp_path, capsys):
    assert report_main([str(two_settings), "--out", str(tmp_path / "o"), "--setting", "cluster.province.scale=0.2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("khusheh-report: unknown setting 'cluster.province.scale=0.2'") and "\n" not in err
    assert err.endswith("have --setting default, cluster.province.scale=0.1")
    assert report_main([str(two_settings), "--out", str(tmp_path / "o"), "--setting", "scale"]) == 2
    assert "--setting takes KEY=VALUE" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        report_main(["--help"])
    helptext = " ".join(capsys.readouterr().out.split())
    assert "--setting KEY=VALUE" in helptext and "folders holding runs at any depth (e.g. outputs/" in helptext


def _row(effect, month, lo=float("nan"), hi=float("nan")):
    return pd.Series({"effect": effect, "month": month, "ci_low": lo, "ci_high": hi})


@pytest.mark.parametrize("exit_, horizon, sentence", [
    (_row(0.045, 48, 0.03, 0.06), _row(0.045, 48, 0.03, 0.06),
     "The effect on mean trust between partners is +0.045 at the CDA's exit (month 48); the runs end there, so "
     "whether it lasts after the CDA leaves is not shown (longer runs, sim.months, would show it)."),
    (None, _row(0.02, 30, 0.01, 0.03),
     "The effect on mean trust between partners is +0.020 at the end of the runs, before the CDA's exit; the runs "
     "end while the CDA is still at work, so whether it lasts after the CDA leaves is not shown"),
    (_row(-0.05, 48), _row(-0.06, 120, -0.08, -0.04),
     "The fall in mean trust between partners persists and grows after the CDA leaves: \u22120.050 at its exit "
     "(month 48) and \u22120.060 at month 120 (95% CI \u22120.080 to \u22120.040)."),
    (_row(0.05, 48), _row(0.048, 120, 0.03, 0.06),
     "The rise in mean trust between partners persists (within 10% of its size at the exit) after the CDA leaves"),
    (_row(0.05, 48), _row(0.02, 120, 0.01, 0.03), "The rise in mean trust between partners persists in part"),
    (_row(0.05, 48), _row(0.01, 120, -0.01, 0.03),
     "The rise in mean trust between partners fades after the CDA leaves: +0.050 at its exit (month 48) and +0.010 "
     "at month 120 (95% CI \u22120.010 to +0.030: no longer clearly different from zero)."),
    (_row(0.05, 48), _row(-0.01, 120), "The rise in mean trust between partners fades after the CDA leaves"),
    (_row(float("nan"), 48), _row(0.02, 120, 0.01, 0.03), "The effect on mean trust between partners at the CDA's "
     "exit (month 48) or at month 120 has no paired seeds: whether it lasts is not shown."),
])
def test_the_lasting_sentence_follows_the_numbers(exit_, horizon, sentence):
    from analysis.brief import lasting
    assert lasting(horizon, exit_).startswith(sentence)


def test_the_lasting_sentence_tells_a_reversal_a_nil_exit_and_too_few_seeds():
    from analysis.brief import lasting
    # a rise that turns into a clear fall
    assert lasting(_row(-0.10, 120, -0.15, -0.05), _row(0.05, 48)).startswith(
        "The rise in mean trust between partners reverses after the CDA leaves: +0.050 at its exit (month 48) and "
        "\u22120.100 at month 120 (95% CI \u22120.150 to \u22120.050)")
    # nothing at the exit, something later: not 'unchanged'
    assert lasting(_row(0.30, 120, 0.2, 0.4), _row(0.0, 48)) == (
        "The effect on mean trust between partners is nil at the CDA's exit (month 48) and +0.300 at month 120 "
        "(95% CI +0.200 to +0.400).")
    assert lasting(_row(0.0, 120), _row(0.0, 48)).startswith("The CDA leaves mean trust between partners unchanged")
    # 3 paired seeds: the verdict by size, nothing called clear
    few = pd.concat([_row(0.05, 120, 0.04, 0.06), pd.Series({"n_seeds": 3})])
    text = lasting(few, _row(0.05, 48))
    assert text.startswith("The rise in mean trust between partners persists (within 10% of its size at the exit)")
    assert text.endswith("(from only 3 paired seeds: too few to call it clear).") and "95% CI" not in text
    gone = pd.concat([_row(0.001, 120, -0.01, 0.01), pd.Series({"n_seeds": 3})])
    assert "no longer clearly" not in lasting(gone, _row(0.05, 48))


def test_a_brief_whose_runs_end_at_the_cdas_exit_claims_nothing_after_it(tmp_path):
    for seed in range(3):  # the CDA leaves at month 4 + 8 = 12, the runs end there
        _write(tmp_path / "sweep" / f"none-{seed}", _synthetic_series(seed).iloc[:13], "none", seed)
        _write(tmp_path / "sweep" / f"cda-{seed}", _synthetic_series(seed, 7.5).iloc[:13], "standard_cda", seed)
    html = build([tmp_path / "sweep"], tmp_path / "out")["html"].read_text()
    assert "at the CDA's exit (month 12); the runs end there, so whether it lasts" in html
    assert "after the CDA leaves:" not in html and "persists" not in html


def _pair_sweep(root: Path, seeds=range(2)) -> Path:
    for seed in seeds:
        _write(_run(root, "none", seed), _synthetic_series(seed), "none", seed)
        _write(_run(root, "standard_cda", seed), _synthetic_series(seed, 7.5), "standard_cda", seed)
    return root


def test_a_report_leaves_no_stale_problems_or_figures_of_an_earlier_one(tmp_path):
    sweep = _pair_sweep(tmp_path / "sweep")
    _run(sweep, "standard_cda", 2).mkdir()  # an interrupted run
    out = tmp_path / "out"
    build([sweep], out)
    assert list(pd.read_csv(out / "problems.csv").problem) == ["incomplete"]
    _run(sweep, "standard_cda", 2).rmdir()
    (out / "figures" / "map.png").write_bytes(b"an earlier report's map")
    paths = build([sweep], out)
    assert not (out / "problems.csv").exists() and "Runs not used" not in paths["html"].read_text()
    assert not (out / "figures" / "map.png").exists() and (out / "figures" / "forest.png").is_file()


@pytest.mark.parametrize("inside", ["", "brief"])
def test_the_reports_own_folders_are_not_runs(tmp_path, inside):
    """--out the sweep folder itself (or a folder in it): its figures/ is no 'incomplete run', now or later."""
    sweep = _pair_sweep(tmp_path / "sweep")
    out = sweep / inside
    for _ in range(2):
        paths = build([sweep], out)
        assert not (out / "problems.csv").exists() and "Runs not used" not in paths["html"].read_text()
    col = collect([sweep])  # any later report of the sweep, wherever its own --out
    assert col.problems.empty and len(col.summary) == 4


@pytest.fixture
def captured(monkeypatch):
    """The figures that analysis.figures draws, kept open instead of written."""
    from analysis import figures
    kept = []
    monkeypatch.setattr(figures, "save", lambda figure, path: kept.append(figure) or Path(path))
    yield kept
    import matplotlib.pyplot as plt
    for figure in kept:
        plt.close(figure)


def test_map_and_network_draw_the_same_ties_and_say_the_same_threshold(captured):
    from analysis import figures
    firms = pd.DataFrame({"unique_id": [1, 2, 3, 4], "x": [5, 6, 7, 8], "y": [5, 6, 7, 8], "employees": [3, 4, 5, 6],
                          "mean_tie_trust": [0.5, 0.6, 0.7, 0.3], "cluster": "generic"})
    ties = pd.DataFrame({"firm_a": [1, 2, 3], "firm_b": [2, 3, 4], "trust_ab": [0.3, 0.55, 0.9],
                         "trust_ba": [0.3, 0.55, 0.9]})  # mean trust 0.3, 0.55 (between 0.5 and 0.6) and 0.9
    places = pd.DataFrame({"kind": ["town", "cda"], "x": [6, 7], "y": [6, 7], "name": ["Adrian", "CDA"]})
    figures.cluster_map([("t", firms, ties, places)], Path("map.png"))
    figures.network([("t", firms, ties)], Path("network.png"))
    map_fig, net_fig = captured
    drawn = [ln for ln in map_fig.axes[0].lines if ln.get_color() == "#999999"]
    assert figures.STRONG_TIE == 0.5 and len(drawn) == 2
    assert "tie with trust \u2265 0.5" in [t.get_text() for t in map_fig.legends[0].texts]
    assert net_fig.axes[0].get_title().endswith("2 ties, 75% of firms connected, 1 group")
    assert any("Ties with mean trust \u2265 0.5." in t.get_text() for t in net_fig.texts)


def test_each_programmes_exit_is_drawn_and_labelled_at_its_own_month(captured):
    from analysis import figures
    from analysis.stats import bands
    rows = [{"context": "", "policy": p, "month": m, "seed": 0, "employment": 1.0}
            for p in ("none", "standard_cda", "long_cda") for m in range(0, 121, 12)]
    band = bands(pd.DataFrame(rows), ["employment"]).xs("", level="context")
    exits = {"standard_cda": 48, "long_cda": 72}
    figures.fan_chart(band, ["employment"], ["none", "standard_cda", "long_cda"], Path("x.png"), 12, 48, exits=exits)
    ax = captured[0].axes[0]
    marks = sorted((ln.get_xdata()[0], ln.get_linestyle()) for ln in ax.lines if ln.get_color() == "#555555")
    assert marks == [(12, "--"), (48, ":"), (72, "-.")]
    labels = [t.get_text() for t in captured[0].legends[0].texts]
    assert labels[-3:] == ["CDA starts (month 12)", "CDA leaves (month 48)",
                           "CDA leaves: Standard CDA, 5 years (month 72)"]
    # a programme that leaves after the last month is not drawn
    assert figures.exit_lines(exits, 48, last=60) == [(48, ":", "CDA leaves (month 48)")]


def test_percentages_have_one_minus_sign_and_no_minus_zero():
    from analysis.brief import pct
    assert [pct(-0.004), pct(0.004), pct(-0.05), pct(0.123, 1), pct(-0.0004, 1)] == ["0%", "0%", "\u22125%", "+12.3%",
                                                                                     "0.0%"]


@pytest.mark.parametrize("n, words", [
    (1, "(not enough seeds for an interval)"),
    (3, "(95% CI +2.0 to +2.0, from only 3 paired seeds: too few to call it clear)"),
    (12, "(clearly above zero: 95% CI +2.0 to +2.0)"),
])
def test_few_seeds_are_stated_on_page_one_and_no_effect_is_called_clear(tmp_path, n, words):
    """Joint actions +2.0 on every seed: 'clearly above zero' only with at least 10 paired seeds."""
    for seed in range(n):
        _write(tmp_path / "sweep" / f"none-{seed}", _synthetic_series(seed), "none", seed)
        cda = _synthetic_series(seed)
        _write(tmp_path / "sweep" / f"cda-{seed}", cda.assign(joint_actions=cda.joint_actions + 2.0), "standard_cda",
               seed)
    html = build([tmp_path / "sweep"], tmp_path / "out")["html"].read_text()
    page = _page_one(html)
    assert f"1 programme(s), {n} paired seed(s) each" in page
    assert ("<b>Few seeds.</b> These effects rest on " in page) == (n < 10)
    assert ("with only" in page and "no effect is called clear" in page) == (n < 10)  # the verdict's
    assert f"joint actions a month at month 24 compared with no CDA {words}" in " ".join(html.split())
    assert "n/a to n/a" not in html and ("not enough seeds for an interval" in html) == (n == 1)


def test_a_run_repeated_with_the_same_seed_is_used_once_and_named(tmp_path, capsys):
    """Two single runs of the baseline with the same seed (outputs/DATE/TIME): the later one is used."""
    day = tmp_path / "outputs" / "2026-01-01"
    _write(day / "10-00-00", _synthetic_series(0, offset=100.0), "none", 0, overrides="")
    _write(day / "10-00-01", _synthetic_series(0), "none", 0, overrides="")
    _write(day / "10-00-02", _synthetic_series(0, offset=7.5), "standard_cda", 0, overrides="policy=standard_cda")
    assert report_main([str(tmp_path / "outputs"), "--out", str(tmp_path / "out")]) == 0, capsys.readouterr().err
    eff = pd.read_csv(tmp_path / "out" / "effects.csv")
    assert eff[(eff.when == "horizon") & (eff.outcome == "employment")].effect.iloc[0] == pytest.approx(7.5)
    problems = pd.read_csv(tmp_path / "out" / "problems.csv")
    assert list(problems.problem) == ["duplicate"] and problems.folder.iloc[0].endswith("10-00-00")
    assert problems.detail.iloc[0].endswith("10-00-01, which is used")


def test_town_names_on_the_map_never_collide():
    """Towns on neighbouring cells (Adrian and Khomeinishahr, a cell apart): their names are moved apart."""
    import matplotlib.pyplot as plt

    from analysis import figures
    towns = pd.DataFrame({"x": [8, 9, 8, 9], "y": [8, 8, 9, 9], "name": ["Adrian", "Khomeinishahr", "Najafabad",
                                                                         "Shahinshahr"]})
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.set_xlim(2, 15)
    ax.set_ylim(2, 15)
    texts = figures._label_towns(ax, towns, towns.x, towns.y)
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in texts]
    plt.close(fig)
    assert len(boxes) == 4
    assert not [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]


def test_the_network_has_a_colour_bar_and_groups_firms_by_community(captured):
    from analysis import figures
    n = 10  # two cliques of five firms, one tie between them
    from itertools import combinations
    firms = pd.DataFrame({"unique_id": range(n), "x": 5, "y": 5, "employees": 3, "mean_tie_trust": 0.7,
                          "cluster": "generic"})
    pairs = list(combinations(range(5), 2)) + list(combinations(range(5, 10), 2)) + [(4, 5)]
    ties = pd.DataFrame({"firm_a": [a for a, _b in pairs], "firm_b": [b for _a, b in pairs], "trust_ab": 0.9,
                         "trust_ba": 0.9})
    figures.network([("t", firms, ties)], Path("network.png"))
    net = captured[0]
    bars = [ax for ax in net.axes if ax.get_ylabel() == "firm's mean trust in partners"]
    assert len(bars) == 1  # the colour bar
    assert net.axes[0].get_title().endswith("21 ties, 100% of firms connected, 2 groups")
