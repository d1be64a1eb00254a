"""Sensitivity analysis: designs, the run-side hook and the indices, with known answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.brief import main as report_main
from analysis.sensitivity import analyse
from scenarios.results import provenance, summary_row, write_run
from scenarios.sensitivity import default_ranges, make_design, write_design
from scenarios.sensitivity import main as design_main

BIN = Path(sys.executable).parent


def _fake_sweep(root: Path, design_csv: Path, design: pd.DataFrame, effect, seeds=(0, 1)) -> None:
    """Runs whose employment and trust effects are known functions of the design row."""
    months = np.arange(13)
    for _, row in design.iterrows():
        for policy in ("none", "standard_cda"):
            for seed in seeds:
                base = 1000.0 + 37 * seed  # a seed effect shared by both arms
                gain = effect(row) if policy == "standard_cda" else 0.0
                series = pd.DataFrame({"month": months, "employment": base + gain, "mean_trust": 0.4 + gain / 1000,
                                       "joint_actions": 10 + gain / 10, "cda_spent": 0.0})
                for col in ("output", "exports", "firms", "network_density", "cooperation_rate", "members_share",
                            "mean_productivity"):
                    series[col] = 1.0
                r = int(row["row"])
                identity = {"cluster_preset": "generic", "policy": policy, "shock": "none", "seed": seed,
                            "sim.design_row": r}
                info = {"overrides": f"policy={policy},sim.design_row={r}", "budget": 600.0, "subsidy_rate": 0.5,
                        "start_month": 2, "duration_months": 6}
                write_run(root / f"policy-{policy}" / f"row_{r:04d}_seed_{seed:04d}", identity, series=series,
                          cluster_series=series.assign(cluster="generic"), summary=summary_row(info, series, 8),
                          config_yaml=f"sim:\n  design: {design_csv}\n  design_row: {r}\n",
                          provenance=provenance(seed, "abc", 0.0))


def test_morris_ranks_the_parameter_that_drives_the_effect_first(tmp_path):
    ranges = {"learning_rate": [0.1, 0.3], "p_seek": [0.15, 0.45], "tie_decay": [0.05, 0.2]}
    design, meta = make_design("morris", ranges, trajectories=6, seed=3)
    write_design(tmp_path / "design", design, meta)
    # effect = 1000 x learning_rate + 100 x p_seek; tie_decay does nothing
    _fake_sweep(tmp_path / "sweep", tmp_path / "design" / "design.csv", design,
                lambda r: 1000 * r["learning_rate"] + 100 * r["p_seek"])
    table, meta, eff = analyse([tmp_path / "sweep"])
    emp = table[table.outcome == "employment"].set_index("parameter")
    assert list(emp.sort_values("rank").index) == ["learning_rate", "p_seek", "tie_decay"]
    # mu* of a linear effect is |slope| x the parameter's range (SALib scales steps to the unit cube)
    assert emp.loc["learning_rate", "mu_star"] == pytest.approx(1000 * 0.2, rel=1e-9)
    assert emp.loc["p_seek", "mu_star"] == pytest.approx(100 * 0.3, rel=1e-9)
    assert emp.loc["tie_decay", "mu_star"] == pytest.approx(0, abs=1e-9)
    assert emp.loc["learning_rate", "sigma"] == pytest.approx(0, abs=1e-6)  # linear: no interactions
    # the seed effect cancels: the effects are paired differences
    assert eff.employment.to_numpy() == pytest.approx(1000 * design.learning_rate + 100 * design.p_seek)


def test_sobol_total_indices_of_an_additive_effect(tmp_path):
    ranges = {"learning_rate": [0.0, 1.0], "p_seek": [0.0, 1.0]}
    design, meta = make_design("sobol", ranges, n=32, seed=1)
    write_design(tmp_path / "design", design, meta)
    # variance shares 0.8 and 0.2 for independent uniform inputs: 2 x1 + 1 x2
    _fake_sweep(tmp_path / "sweep", tmp_path / "design" / "design.csv", design,
                lambda r: 2 * r["learning_rate"] + 1 * r["p_seek"], seeds=(0,))
    table, _, _ = analyse([tmp_path / "sweep"])
    emp = table[table.outcome == "employment"].set_index("parameter")
    assert emp.loc["learning_rate", "ST"] == pytest.approx(0.8, abs=0.15)
    assert emp.loc["p_seek", "ST"] == pytest.approx(0.2, abs=0.15)
    assert list(emp.sort_values("rank").index) == ["learning_rate", "p_seek"]


def test_the_default_ranges_are_within_the_parameters_allowed_ranges():
    from model.params import ClusterSpec, ModelParams, PolicyParams
    from dataclasses import fields
    groups = {"cluster": ClusterSpec, "policy": PolicyParams, "model": ModelParams}
    for key, (lo, hi) in default_ranges().items():
        group, _, name = key.rpartition(".")
        meta = {f.name: f.metadata for f in fields(groups[group or "model"])}[name]
        assert lo < hi and meta["lo"] <= lo and hi <= meta["hi"], key


def test_a_small_sensitivity_sweep_end_to_end(tmp_path, capsys):
    assert design_main(["design", "--method", "morris", "--trajectories", "2", "--params",
                        "learning_rate,policy.event_game_subsidy", "--out", str(tmp_path / "d")]) == 0
    design = pd.read_csv(tmp_path / "d" / "design.csv")
    assert len(design) == 6
    # two jobs (with and without the CDA), each running the design's 6 rows x 1 seed
    proc = subprocess.run([str(BIN / "khusheh-run"), "-m", "experiment=sensitivity",
                           f"sim.design={tmp_path / 'd' / 'design.csv'}", "sim.seeds=1", "sim.months=24",
                           "cluster.n_firms=80", "policy.start_month=2", "hydra.sweep.dir=sweep"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "khusheh-run: 12 of 12 runs complete, none failed; 2 jobs in " in proc.stdout
    # each run took its row's values, and says which row it is
    run = tmp_path / "sweep" / "cluster.n_firms-80,policy.start_month-2,policy-standard_cda,sim.months-24" / \
        "row_0004_seed_0000"
    assert yaml.safe_load((run / "_config.yaml").read_text())["model"]["learning_rate"] == design.loc[4, "learning_rate"]
    summary = pd.read_parquet(run / "summary.parquet")
    assert summary.loc[0, "sim.design_row"] == 4 and summary.loc[0, "seed"] == 0
    capsys.readouterr()
    assert report_main(["--sensitivity", str(tmp_path / "sweep"), "--out", str(tmp_path / "r")]) == 0
    assert "effect on mean_trust" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "r" / "indices.csv")
    assert set(table.parameter) == {"learning_rate", "policy.event_game_subsidy"} and table.outcome.nunique() == 3
    assert (tmp_path / "r" / "sensitivity.pdf").stat().st_size > 10_000


def test_design_mistakes_get_a_clear_message(tmp_path, capsys):
    assert design_main(["design", "--params", "nonsense", "--out", str(tmp_path / "d")]) == 2
    assert "unknown parameter(s) nonsense" in capsys.readouterr().err
    write_design(tmp_path / "d", *make_design("morris", {"p_seek": [0.1, 0.2]}, trajectories=2))
    proc = subprocess.run([str(BIN / "khusheh-run"), f"sim.design={tmp_path / 'd' / 'design.csv'}",
                           "sim.design_row=99", "sim.months=2", "hydra.run.dir=run"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "sim.design_row = 99 is out of range" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_brief_says_which_conclusions_hold_across_the_sensitivity_ranges(tmp_path):
    from analysis.brief import build
    from analysis.sensitivity import build as build_sensitivity
    from tests.test_analysis import _small_sweep
    ranges = {"learning_rate": [0.1, 0.3], "p_seek": [0.15, 0.45]}
    design, meta = make_design("morris", ranges, trajectories=4, seed=2)
    write_design(tmp_path / "design", design, meta)
    # every effect changes sign with p_seek (below 0.3 negative)
    _fake_sweep(tmp_path / "sa", tmp_path / "design" / "design.csv", design,
                lambda r: 100 * (r["p_seek"] - 0.3) + 0.01)
    build_sensitivity([tmp_path / "sa"], tmp_path / "sa_report")
    paths = build([_small_sweep(tmp_path / "sweep", seeds=(0, 1))], tmp_path / "brief",
                  sensitivity=tmp_path / "sa_report")
    text = paths["html"].read_text()
    assert "the effect on employment (workers) is positive at only" in text and "can flip" in text
    assert "It depends most on p_seek" in text
    assert "not assessed in this brief" not in text
    with pytest.raises(Exception, match="not a readable sensitivity report"):
        build([tmp_path / "sweep"], tmp_path / "brief2", sensitivity=tmp_path / "nowhere")


def test_a_design_sweep_checks_every_rows_values_before_any_job(tmp_path):
    # rows 0, 1 and 3 in range; row 2's p_seek out of range: found before launching
    write_design(tmp_path / "d", *make_design("morris", {"p_seek": [0.1, 0.2]}, trajectories=2))
    design = pd.read_csv(tmp_path / "d" / "design.csv")
    design.loc[2, "p_seek"] = 1.5
    design.to_csv(tmp_path / "d" / "design.csv", index=False)
    proc = subprocess.run([str(BIN / "khusheh-run"), "-m", "experiment=sensitivity",
                           f"sim.design={tmp_path / 'd' / 'design.csv'}", "sim.months=24", "policy.start_month=2",
                           "hydra.sweep.dir=sweep"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("khusheh-run: p_seek = 1.5 is out of range") and "(design row 2)" in last, last
    assert last.endswith("no job was started")
    assert not [p for p in (tmp_path / "sweep").glob("*") if p.is_dir() and not p.name.startswith(".")]
