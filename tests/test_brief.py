"""The policy brief as a reader gets it: the PDF's page 1 answers for every programme, every figure has a title
and a caption, the setting and the money are named, and its text goes through one function (analysis.i18n._).

Small synthetic sweeps with known answers (no model runs): the rendered PDF is read back with pdftotext."""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import i18n
from analysis.collect import ResultsError
from analysis.brief import WAGE_RIALS, build
from analysis.brief import main as report_main
from analysis.figures import plain
from model import presets
from scenarios.results import provenance, summary_row, write_run
from tests.test_analysis import _synthetic_series

# programme: (employment gained at every month, wage-months the CDA has spent by the horizon)
PROGRAMMES = {"standard_cda": (7.5, 50.0), "trust_first": (10.0, 100.0), "subsidy_only": (0.0, 80.0),
              "export_consortium": (3.0, 60.0), "zero_budget": (0.0, 0.0)}
SEEDS = range(4)
PROVINCE = "cluster:\n  name: isfahan_province\n  province:\n    scale: 0.1\nshock:\n  kind: demand_drop\n" \
           "  start_month: 6\n  duration_months: 12\n  magnitude: 0.3\n"


def _snapshot(seed: int, n: int = 40) -> dict:
    """Firms in two groups of tied firms, and two towns on one cell side by side (their names must not collide)."""
    rng = np.random.default_rng(seed)
    firms = pd.DataFrame({"unique_id": np.arange(n), "x": 10 + rng.integers(0, 3, n), "y": 10 + rng.integers(0, 3, n),
                          "employees": rng.integers(1, 30, n), "mean_tie_trust": rng.uniform(0, 1, n),
                          "cluster": "generic"})
    a = np.arange(n - 1)
    ties = pd.DataFrame({"firm_a": a, "firm_b": a + 1, "trust_ab": rng.uniform(0.4, 1, n - 1),
                         "trust_ba": rng.uniform(0.4, 1, n - 1)})
    places = pd.DataFrame({"kind": ["town", "town", "cda", "institution"], "x": [11, 12, 11, 10], "y": [11, 11, 11, 12],
                           "name": ["Adrian", "Khomeinishahr", "CDA", "Bank"]})
    return {"firms": firms, "ties": ties, "places": places}


def _sweep(root: Path, config_yaml: str = "x: 1\n", shock: str = "none") -> Path:
    """A sweep of the baseline and PROGRAMMES over SEEDS, months 0-24, the CDA from month 4 to month 12."""
    for policy, (gain, spent) in {"none": (0.0, 0.0), **PROGRAMMES}.items():
        pol = presets.policy(policy)
        for seed in SEEDS:
            series = _synthetic_series(seed, offset=gain).assign(cda_spent=np.linspace(0.0, spent, 25))
            info = {"overrides": f"policy={policy}", "budget": pol.budget, "subsidy_rate": pol.subsidy_rate,
                    "start_month": 4, "duration_months": 8}
            write_run(root / f"policy-{policy}" / f"seed_{seed:04d}",
                      {"cluster_preset": "towels_adrian", "policy": policy, "shock": shock, "seed": seed},
                      series=series, cluster_series=series.assign(cluster="towels_adrian"),
                      summary=summary_row(info, series, 12),
                      snapshots={m: _snapshot(seed) for m in (12, 24)} if seed == 0 else {},
                      config_yaml=config_yaml, provenance=provenance(seed, "abc", 0.0))
    return root


def _pdf_text(pdf: Path, first: int | None = None, last: int | None = None) -> str:
    assert shutil.which("pdftotext"), "pdftotext (poppler-utils) is needed to read the brief back"
    pages = (["-f", str(first)] if first else []) + (["-l", str(last)] if last else [])
    return subprocess.run(["pdftotext", *pages, str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def brief(tmp_path_factory):
    sweep = _sweep(tmp_path_factory.mktemp("sweep"))
    out = tmp_path_factory.mktemp("brief")
    return out, build([sweep], out)


def test_page_one_names_every_programme_of_the_results_in_its_ranking(brief):
    out, paths = brief
    page = _words(_pdf_text(paths["pdf"], 1, 1))
    for policy in PROGRAMMES:
        assert plain(policy) in page, policy
    html = " ".join(paths["html"].read_text().split())
    first = html[:html.index('class="page"')]
    ranked = re.findall(r"<tr><td>(\d+|\u2013)</td><td><b>([^<]+)</b></td>", first)
    # the best buy first: 15 jobs per 100 wage-months spent, 10, 5, 0; the CDA without budget spent nothing
    assert ranked == [("1", plain("standard_cda")), ("2", plain("trust_first")), ("3", plain("export_consortium")),
                      ("4", plain("subsidy_only")), ("\u2013", plain("zero_budget"))]


def test_page_one_names_the_best_buy_with_its_criterion_and_its_chance_across_seeds(brief):
    _, paths = brief
    page = _words(_pdf_text(paths["pdf"], 1, 1))
    assert f"Best buy on average: {plain('standard_cda')}. Criterion: the gain in employment at month 24" in page
    assert "per 100 wage-months of the CDA's money actually spent by then" in page and "not per budget" in page
    # 7.5 jobs for 50 wage-months on every seed: +15.0 per 100, the best on each of the 4 seeds
    assert "It gains +15.0 workers per 100 wage-months spent" in page
    assert "best buy on 100% of the seeds" in page
    assert f"Next: {plain('trust_first')}, +10.0" in page
    assert "Firms' own fees are not in these results" in page


def test_page_one_has_a_verdict_of_at_most_three_sentences_and_says_what_the_intervals_cover(brief):
    _, paths = brief
    html = paths["html"].read_text()
    verdict = re.search(r'<ul class="verdict">(.*?)</ul>', html, re.S).group(1)
    items = re.findall(r"<li>(.*?)</li>", verdict, re.S)
    assert 1 <= len(items) <= 3 and all(len(re.findall(r"[.!?](\s|$)", i.strip())) == 1 for i in items)
    page = _words(_pdf_text(paths["pdf"], 1, 1))
    assert f"\u201c{plain('standard_cda')}\u201d buys the most on average: +15.0 workers" in page
    assert "The 95% intervals cover the model's own randomness: the random futures of the 4 paired seeds" in page
    assert "They do not include the uncertainty of the model's parameters" in page


def test_money_is_in_wage_months_and_in_rials_at_a_wage_the_user_sets(brief, tmp_path, capsys):
    _, paths = brief
    page = _words(_pdf_text(paths["pdf"], 1, 1))
    assert f"{WAGE_RIALS:,} rials a wage-month (Iran's legal minimum monthly wage" in page
    assert "50 of 600" in page and f"{50 * WAGE_RIALS / 1e9:.1f} bn rials" in page
    sweep = _sweep(tmp_path / "sweep")
    assert report_main([str(sweep), "--out", str(tmp_path / "o"), "--wage-rials", "200000000"]) == 0
    page = _words(_pdf_text(tmp_path / "o" / "brief.pdf", 1, 1))
    assert "200,000,000 rials a wage-month (set with --wage-rials" in page and "10.0 bn rials" in page
    assert report_main([str(sweep), "--out", str(tmp_path / "o"), "--wage-rials", "-3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "khusheh-report: --wage-rials takes a positive number of rials, got -3"
    assert report_main([str(sweep), "--out", str(tmp_path / "o"), "--best-by", "jobs"]) == 2
    assert capsys.readouterr().err.startswith("khusheh-report: --best-by 'jobs': one of employment, output")


def test_every_figure_has_a_title_and_a_caption(brief):
    out, paths = brief
    html = paths["html"].read_text()
    images = re.findall(r"<img src=\"([^\"]+)\"", html)
    assert len(images) == 9 and {Path(i).name for i in images} == {Path(p).name for k, p in paths.items()
                                                                  if k not in ("html", "pdf", "effects")}
    figures = re.findall(r"<figure[^>]*><img [^>]*><figcaption><b>(Figure \d+\.) ([^<]+)\.</b> ([^<]+)</figcaption>",
                         html)
    assert len(figures) == len(images)
    text = _words(_pdf_text(paths["pdf"]))
    for n, (label, title, caption) in enumerate(figures, start=1):
        assert label == f"Figure {n}." and len(title) > 20 and len(caption) > 100
        assert _words(f"{label} {title}.") in text, label
        assert ("seed" in caption or "seeds" in caption) and "month" in caption, label  # which seeds, which months
        assert _words(caption)[:60] in text
    assert "Dashed: the CDA starts (month 4)" in text


def test_the_setting_is_named_on_page_one_a_province_with_its_scale_and_the_shock(tmp_path):
    """... and the best buy follows the criterion chosen: by output, which no programme changes here."""
    paths = build([_sweep(tmp_path / "sweep", PROVINCE, "demand_drop")], tmp_path / "o", best_by="output")
    page = _words(_pdf_text(paths["pdf"], 1, 1))
    assert "Criterion: the gain in output (sales) at month 24" in page
    assert "Setting. Cluster: Towel weaving, Adrian (Khomeinishahr) (cluster=towels_adrian)" in page
    assert "the whole province at scale 0.1 of its size (cluster.province.scale=0.1)" in page
    assert "shock: a drop in demand from month 6 for 12 months, magnitude 0.3" in page
    assert "horizon: 24 months" in page and "the CDA starts at month 4" in page
    assert "4 seeds (0-3), the same for every programme" in page


class _Marked(gettext.NullTranslations):
    """A catalog that marks every message it is asked for."""

    def gettext(self, message):
        return "\u00a7" + message

    def ngettext(self, singular, plural, n):
        return "\u00a7" + (singular if n == 1 else plural)


def test_the_brief_text_goes_through_one_function(tmp_path):
    """Every heading, table head and figure label of the brief comes from analysis.i18n._ (so a catalog translates
    it), and English is the default."""
    assert i18n._("Verdict") == "Verdict"
    sweep = _sweep(tmp_path / "sweep")
    try:
        i18n.install(_Marked())
        html = build([sweep], tmp_path / "o")["html"].read_text()
    finally:
        i18n.set_language("en")
    assert i18n._("Verdict") == "Verdict"
    heads = re.findall(r"<h[12][^>]*>([^<]+)", html) + re.findall(r"<th[^>]*>([^<]+)", html)
    labels = re.findall(r"<figcaption><b>([^<]+)", html)
    assert heads and labels
    unmarked = [h for h in heads + labels if h.strip() not in ("#", "") and not h.strip().startswith("\u00a7")]
    assert not unmarked
    assert "\u00a7Standard CDA, 3 years" in html and "\u00a7Towel weaving, Adrian (Khomeinishahr)" in html


def _effect(effect, month, low, high, n=30):
    return pd.Series({"effect": effect, "month": month, "ci_low": low, "ci_high": high, "n_seeds": n})


@pytest.mark.parametrize("exit_, horizon, answer", [
    (_effect(4.0, 48, 2.0, 6.0), _effect(9.0, 120, 5.0, 13.0), "grows"),
    (_effect(4.0, 48, 2.0, 6.0), _effect(4.1, 120, 2.0, 6.0), "persists"),
    (_effect(4.0, 48, 2.0, 6.0), _effect(2.0, 120, 0.5, 3.5), "in_part"),
    (_effect(4.0, 48, 2.0, 6.0), _effect(0.5, 120, -1.0, 2.0), "fades"),
    (_effect(-0.2, 48, -1.0, 0.5), _effect(-0.3, 120, -1.0, 0.7), "unclear_exit"),  # noise at the exit: nothing to last
    # noise at the exit, a clear effect at the horizon (the association's work after the CDA left): it arises after
    (_effect(-0.2, 48, -1.6, 0.6), _effect(7.8, 120, 6.2, 9.4), "after_exit"),
    (None, _effect(3.0, 30, 1.0, 5.0), "not_shown"),
])
def test_page_ones_answer_to_does_it_last(exit_, horizon, answer):
    from analysis.brief import lasts_answer
    assert lasts_answer(horizon, exit_) == answer


def test_no_page_of_the_brief_is_more_than_half_empty(brief, tmp_path):
    """The lowest ink above the footer on each page lies in its lower half."""
    from matplotlib.image import imread
    _, paths = brief
    subprocess.run(["pdftoppm", "-r", "20", "-png", str(paths["pdf"]), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 5
    for page in pages:
        grey = imread(page)[..., :3].mean(axis=2)
        body = grey[: int(grey.shape[0] * 0.92)]  # the footer ("page N of M") left out
        inked = np.nonzero((body < 0.9).any(axis=1))[0]
        assert inked.max() / grey.shape[0] > 0.5, page.name


def test_the_chance_of_being_best_is_the_share_of_seeds_won_ties_shared():
    from analysis.stats import chance_best
    # per 100 spent: seed 0: A 10 > B 5; seed 1: A 2 < B 8; seed 2: A = B = 4 (shared); seed 3: B spent nothing
    gains = pd.DataFrame({"A": [10.0, 2.0, 4.0, 1.0], "B": [5.0, 8.0, 4.0, 3.0]})
    spent = pd.DataFrame({"A": [100.0, 100.0, 100.0, 100.0], "B": [100.0, 100.0, 100.0, 0.0]})
    chance = chance_best(gains, spent)
    assert chance["A"] == pytest.approx(2.5 / 4) and chance["B"] == pytest.approx(1.5 / 4)


def _ends(values_by_trust: dict, cluster: str = "generic") -> pd.DataFrame:
    return pd.DataFrame([{"policy": "none", "initial_trust": t, "seed": k, "cluster": cluster, "cooperation_rate": v,
                          "mean_trust": 0.4, "months": 240} for t, vs in values_by_trust.items()
                         for k, v in enumerate(vs)])


def test_page_1_says_whether_the_cluster_has_a_cooperative_regime_and_how_often_each_programme_ends_in_it():
    from analysis.brief import regime_text
    series = pd.DataFrame([{"policy": p, "seed": s, "month": m, "cooperation_rate": v}
                           for p, ends in (("none", (0.2, 0.2, 0.6, 0.2)), ("standard_cda", (0.6, 0.6, 0.6, 0.2)))
                           for s, v in enumerate(ends) for m in range(109, 121)])
    # not given: the brief says it does not examine it, and how to
    assert "Not examined here" in regime_text(None, series, ["none", "standard_cda"], ["generic"])
    # one regime: end values rise smoothly with the start (no gap of 0.08): no threshold to cross
    one = regime_text(_ends({0.2: (0.30, 0.31), 0.4: (0.35, 0.36), 0.6: (0.40, 0.41)}), series,
                      ["none", "standard_cda"], ["generic"])
    assert one.startswith("One:") and "240 months, 3 levels of initial trust, 2 seeds each" in one
    # two regimes split at 0.4 (gap 0.2 to 0.6): 1 of 4 baseline seeds ends above, 3 of 4 with the CDA
    two = regime_text(_ends({0.2: (0.20, 0.21), 0.4: (0.22, 0.60), 0.6: (0.61, 0.62)}), series,
                      ["none", "standard_cda"], ["generic"])
    assert two.startswith("Two:") and "split at a cooperation rate of 0.41" in two
    assert "No CDA (baseline): 25%" in two and "Standard CDA, 3 years: 75%" in two
    # the regimes of another cluster are refused
    with pytest.raises(ResultsError, match="the regimes' runs are of carpet_kashan"):
        regime_text(_ends({0.2: (0.3, 0.3)}, "carpet_kashan"), series, ["none"], ["generic"])
