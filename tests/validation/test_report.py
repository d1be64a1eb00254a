"""The validation report from the result files of a (small) experiment=validation sweep."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from html import escape as html_escape

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from analysis.brief import main as report_main
from analysis.validation import EVALUATIONS, PATTERNS

CLI = os.path.join(os.path.dirname(sys.executable), "khusheh-run")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("validation")
    # (250 firms: the report's reading and checks do not depend on the size; the checks' tolerances are
    # tested at 500 firms in test_stylised_facts.py)
    proc = subprocess.run([CLI, "-m", "experiment=validation", "sim.seeds=2", "cluster.n_firms=250",
                           "hydra.sweep.dir=sweep"], cwd=root, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # the regimes' runs, small: one seed, 150 firms, 120 months
    proc = subprocess.run([CLI, "-m", "experiment=regimes", "sim.seeds=1", "sim.months=120", "cluster.n_firms=150",
                           "hydra.sweep.dir=regimes"], cwd=root, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return root / "sweep"


def test_the_validation_report_renders_with_a_figure_and_checks_for_every_pattern(sweep, tmp_path, capsys):
    assert report_main(["--validation", str(sweep), str(sweep.parent / "regimes"), "--out",
                        str(tmp_path / "report")]) == 0
    assert "patterns hold" in capsys.readouterr().out
    out = tmp_path / "report"
    checks = pd.read_csv(out / "checks.csv")
    assert set(checks.pattern) == set(PATTERNS)
    for k in PATTERNS:
        img = imread(out / "figures" / f"pattern{k}.png")
        assert img.std() > 0.01, f"figure of pattern {k} is blank"
    # a value in the report equals a direct computation from the files
    micro = []
    for seed in (0, 1):
        job = sweep / "cluster.n_firms-250,policy-none,shock-none,switch-none"
        firms = pd.read_parquet(job / f"seed_000{seed}" / "snapshots" / "firms_120.parquet")
        micro.append((firms.employees < 10).mean())
    row = checks[checks.quantity.str.startswith("micro share (< 10 workers)")].iloc[0]
    assert np.isclose(row.value, min(micro))
    html = (out / "validation.html").read_text()
    assert all(PATTERNS[k] in html for k in PATTERNS)
    # pattern 9: every published evaluation's row beside the model's effects
    assert "Pattern 9: beside the published evaluations" in html
    assert all(html_escape(study) in html for study, *_rest in EVALUATIONS)
    # the attribution: the standard CDA's effect on employment at month 120 with the facility off equals the
    # paired difference computed from the files (mean of months 115-120, seeds 0 and 1)
    table = pd.read_csv(out / "attribution.csv")
    assert {"(nothing)", "facility", "association", "gossip", "events"} <= set(table.switched_off)
    row = table[(table.switched_off == "facility") & (table.outcome == "employment") & (table.month == 120)].iloc[0]
    diffs = []
    for seed in (0, 1):
        def employment(job):
            s = pd.read_parquet(sweep / job / f"seed_000{seed}" / "series.parquet")
            return s.set_index("month").employment.loc[115:120].mean()
        diffs.append(employment("cluster.n_firms-250,policy-standard_cda,shock-none,switch-facility")
                     - employment("cluster.n_firms-250,policy-none,shock-none,switch-none"))
    assert np.isclose(row.effect, np.mean(diffs))
    full = table[(table.switched_off == "(nothing)")]
    assert np.allclose(full.removed, 0.0)
    # participants and others, and the regimes: tables and their sections
    part = pd.read_csv(out / "participants.csv")
    assert set(part.group) == {"participants", "others", "evaluator"} and set(part.month) == {48, 84, 120}
    regimes = pd.read_csv(out / "regimes.csv")
    assert set(regimes.policy) == {"none", "standard_cda", "trust_first", "subsidy_only"} and len(regimes) == 24
    assert "What holds what" in html and "Participants and others" in html and "Regimes" in html
    assert shutil.which("pdftoppm")
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(out / "validation.pdf"), str(tmp_path / "page")], check=True)
    assert len(list(tmp_path.glob("page*.png"))) >= 5


def test_the_validation_report_names_what_is_missing(sweep, tmp_path, capsys):
    partial = tmp_path / "partial"
    shutil.copytree(sweep, partial, ignore=shutil.ignore_patterns("*subsidy_only*"))
    assert report_main(["--validation", str(partial), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "no runs for subsidy_only" in err and "experiment=validation" in err and len(err.strip().splitlines()) == 1
