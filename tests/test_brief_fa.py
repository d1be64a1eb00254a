"""The Persian edition of the policy brief (khusheh-report --lang fa): the same template and figure code as the English
one, its text from the catalog analysis/locale/fa/LC_MESSAGES/khusheh.po; right to left, Persian digits, Solar Hijri
dates, Persian names of clusters, towns and programmes, the font embedded.

Both PDFs are rendered from the small synthetic sweep of tests/test_brief.py and read back with pdftotext. pdftotext
adds direction marks, drops the zero-width non-joiner and may move digits and punctuation around Persian words, so
the checks compare words: direction marks and non-joiners removed on both sides. pdftotext also gives the ligature
lam-alef back as alef-lam (ملاحظات comes out as مالحظات; the PDF's own ToUnicode says لا), so both sides write it so;
and it may take the lines of a wrapped right-to-left paragraph out of order, so a caption is checked word by word."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date

import pytest

from analysis import i18n
from analysis.brief import CLUSTERS, date_text
from analysis.brief import main as report_main
from analysis.figures import PLAIN, plain
from model.geography import TOWNS
from tests.test_brief import PROGRAMMES, _pdf_text, _sweep

MARKS = re.compile("[\u200c\u200e\u200f\u202a-\u202e\u2066-\u2069]")  # ZWNJ and direction marks
PERSIAN = re.compile("[\u0600-\u06ff]")


def _words(text: str) -> str:
    """Text as pdftotext's and the catalog's can be compared: no direction marks nor non-joiners, one space."""
    return " ".join(MARKS.sub("", text).replace("\u0644\u0627", "\u0627\u0644").split())


def _letters(text: str) -> list[str]:
    """The words of ``text`` made of Persian letters only (digits and punctuation, which pdftotext may move, left
    out)."""
    out = []
    for word in _words(text).split():
        word = re.sub(r"[^\u0621-\u064a\u067e\u0686\u0698\u06a9\u06af\u06cc\u0622]", "", word)
        if word:
            out.append(word)
    return out


def _contains(page: str, phrase: str) -> bool:
    return " ".join(_letters(phrase)) in " ".join(_letters(page))


def _fa(message: str) -> str:
    with i18n.using("fa"):
        return i18n._(message)


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    """Both editions written by the command line, from one computation; the messages the Persian one lacked."""
    sweep = _sweep(tmp_path_factory.mktemp("sweep"))
    out = tmp_path_factory.mktemp("brief")
    assert report_main([str(sweep), "--out", str(out), "--lang", "en,fa"]) == 0
    missing = i18n.missing()
    return out, missing


def test_both_editions_are_written_with_their_own_figures(editions):
    out, _missing = editions
    for name in ("brief.html", "brief.pdf", "brief.fa.html", "brief.fa.pdf"):
        assert (out / name).stat().st_size > 10_000, name
    english = sorted(p.name for p in (out / "figures").glob("*.png"))
    persian = sorted(p.name for p in (out / "figures" / "fa").glob("*.png"))
    assert len(english) == 9 and english == persian
    html = (out / "brief.fa.html").read_text()
    assert '<html lang="fa" dir="rtl">' in html
    assert set(re.findall(r'<img src="([^"]+)"', html)) == {f"figures/fa/{name}" for name in persian}
    assert i18n.language() == "en" and i18n._("Verdict") == "Verdict"  # the language is English again


def test_every_message_of_the_brief_has_its_persian_translation(editions):
    _out, missing = editions
    assert not missing, sorted(missing)
    with i18n.using("fa"):
        untranslated = [m for m in [*PLAIN.values(), *CLUSTERS.values(), *TOWNS] if i18n._(m) == m]
    assert not untranslated
    assert _fa("Towel weaving, Adrian (Khomeinishahr)").startswith("خوشه حوله\u200cبافی ادریان")
    assert _fa("Kashan") == "کاشان"


def test_page_one_of_the_persian_pdf_names_every_programme_of_the_results(editions):
    out, _missing = editions
    page = _pdf_text(out / "brief.fa.pdf", 1, 1)
    with i18n.using("fa"):
        names = {policy: plain(policy) for policy in PROGRAMMES}
    for policy, name in names.items():
        assert PERSIAN.search(name), policy
        assert _contains(page, name), (policy, name)
    html = " ".join((out / "brief.fa.html").read_text().split())
    first = html[:html.index('class="page"')]
    ranked = re.findall(r"<tr><td>([\u06f0-\u06f9]+|\u2013)</td><td><b>([^<]+)</b></td>", first)
    # the best buy first, as in English (tests/test_brief.py), the ranks in Persian digits
    assert ranked == [("\u06f1", names["standard_cda"]), ("\u06f2", names["trust_first"]),
                      ("\u06f3", names["export_consortium"]), ("\u06f4", names["subsidy_only"]),
                      ("\u2013", names["zero_budget"])]


def test_the_persian_text_comes_out_in_logical_order_with_the_terms_of_the_industrial_parks_company(editions):
    out, _missing = editions
    page = _words(_pdf_text(out / "brief.fa.pdf", 1, 1))
    for words in ("خوشه", "عامل توسعه خوشه", "اقدام مشترک", "اقدامات مشترک", "اعتماد", "اشتغال", "بهترین گزینه",
                  "همه برنامهها در مقایسه با حالت بدون عامل توسعه خوشه", "خوشه حولهبافی ادریان", "خمینیشهر"):
        assert words in page, words
        assert words[::-1] not in page or words == words[::-1]
    assert "هشوخ" not in page  # a word drawn in visual order would come out reversed
    whole = _words(_pdf_text(out / "brief.fa.pdf"))
    for words in ("اعتماد میان شرکا", "جمعبندی", "ملاحظات", "روش", "شبکه همکاری"):
        assert _words(words) in whole, words


def test_the_persian_edition_writes_persian_digits_and_the_solar_hijri_date(editions):
    out, _missing = editions
    page = _words(_pdf_text(out / "brief.fa.pdf", 1, 1))
    assert "۲۴" in page and "۶۰۰" in page  # the horizon, a budget
    # no Latin digit outside commands and settings (sim.seeds=30)
    prose = " ".join(w for w in page.split() if not re.search(r"[A-Za-z=_]", w))
    assert not re.search(r"[0-9]", prose), re.findall(r"\S*[0-9]\S*", prose)
    today = date.today()
    with i18n.using("fa"):
        stamp = date_text(today)
    assert _contains(page, stamp) and re.search("[\u06f0-\u06f9]{4}", stamp)
    with i18n.using("fa"):
        assert date_text(date(2026, 12, 8)) == "۱۷ آذر ۱۴۰۵ (۸ دسامبر ۲۰۲۶)"
        assert date_text(date(2025, 3, 21)) == "۱ فروردین ۱۴۰۴ (۲۱ مارس ۲۰۲۵)"
    assert date_text(date(2026, 12, 8)) == "2026-12-08"


def test_no_figure_of_the_persian_brief_lacks_a_caption(editions):
    out, _missing = editions
    html = (out / "brief.fa.html").read_text()
    images = re.findall(r"<img src=\"([^\"]+)\"", html)
    figures = re.findall(r"<figure[^>]*><img [^>]*><figcaption><b>(شکل ([\u06f0-\u06f9]+)\.) ([^<]+)\.</b> ([^<]+)"
                         r"</figcaption>", html)
    assert len(images) == 9 and len(figures) == len(images)
    text = _pdf_text(out / "brief.fa.pdf")
    for n, (_label, number, title, caption) in enumerate(figures, start=1):
        assert number == str(n).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
        assert len(_letters(title)) >= 4 and len(_letters(caption)) > 20, n
        assert _contains(text, title), title
        assert not set(_letters(caption)) - set(_letters(text)), caption[:60]  # every word of it is on the page
        assert "تکرار" in caption and "ماه" in caption, n  # which seeds (runs), which months


def test_the_persian_pdf_embeds_its_font(editions):
    out, _missing = editions
    assert shutil.which("pdffonts"), "pdffonts (poppler-utils) is needed"
    fonts = subprocess.run(["pdffonts", str(out / "brief.fa.pdf")], check=True, capture_output=True,
                           text=True).stdout
    noto = [line for line in fonts.splitlines() if "Noto-Sans-Arabic-UI" in line]
    assert noto and all(line.split()[-5] == "yes" for line in noto), fonts  # emb


def test_figures_in_persian_are_shaped_with_their_font_and_persian_tick_labels():
    import matplotlib.pyplot as plt

    from analysis import figures as fig
    with i18n.using("fa"):
        style = fig.language_style()
        assert style["text.language"] == "fa" and style["font.family"][0] == "Noto Sans Arabic UI"
        figure, ax = plt.subplots()
        ax.plot([0, 1000], [-0.5, 2.5])
        fig.localise(figure)
        figure.canvas.draw()
        ticks = [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        plt.close(figure)
    assert ticks and not any(re.search("[0-9]", t) for t in ticks) and any("۱" in t for t in ticks)
    assert fig.language_style("en") == {"text.language": None}


def test_an_unknown_language_is_refused(tmp_path, capsys):
    assert report_main([str(tmp_path), "--out", str(tmp_path / "o"), "--lang", "en,de"]) == 2
    assert capsys.readouterr().err.strip() == "khusheh-report: --lang 'en,de': one or more of en, fa, joined by commas"


def test_the_catalog_has_every_message_the_brief_and_its_figures_can_show():
    """Every message marked in analysis/brief.py and analysis/figures.py (_, N_, ngettext), in the brief's template,
    the outcomes' labels and units and the towns' names has a Persian translation (not only those one sweep shows)."""
    from babel.messages.extract import extract_from_file
    from jinja2 import Environment
    from jinja2.ext import extract_from_ast

    from analysis.brief import TEMPLATE
    from conf import outcomes
    messages, plurals = set(), set()
    for source in ("brief.py", "figures.py"):
        for _line, message, _comments, _context in extract_from_file(
                "python", i18n.LOCALES.parent / source, keywords={"_": None, "N_": None, "ngettext": (1, 2)}):
            (plurals.add if isinstance(message, tuple) else messages.add)(message)
    messages.update(message for _line, _function, message in
                    extract_from_ast(Environment().parse(TEMPLATE), gettext_functions=("_",)))
    messages.update(text for o in outcomes().values() for text in (o.label, o.unit))
    messages.update(TOWNS)
    catalog = i18n.catalog("fa")
    untranslated = sorted(m for m in messages if any(c.isalpha() for c in m) and catalog.gettext(m) == m)
    untranslated += [p for p in plurals if catalog.ngettext(*p, 1) == p[0] or catalog.ngettext(*p, 2) == p[1]]
    assert len(messages) > 250 and plurals and not untranslated, untranslated


def test_the_other_reports_say_they_are_in_english_when_asked_for_persian(tmp_path, capsys):
    report_main([str(tmp_path / "none"), "--validation", "--out", str(tmp_path / "o"), "--lang", "fa"])
    assert capsys.readouterr().err.startswith("khusheh-report: only the policy brief has other editions than English")


def test_commands_and_options_in_persian_text_are_laid_out_left_to_right_and_unbroken():
    from analysis.brief import ltr_runs
    from analysis.i18n import using
    L, R = "\u2066", "\u2069"
    page = (f'<html><head><title>{L}--x{R}</title></head><body><img alt="{L}--a{R}"><p>ب {L}--wage-rials{R} '
            f'{L}khusheh-run -m{R} {L}+۱٫۵{R}</p></body></html>')
    assert ltr_runs(page) == page  # English (the default): unchanged
    with using("fa"):
        out = ltr_runs(page)
    # an option: bare text in a span, its leading hyphens unbreakable (WeasyPrint moves a leading -- otherwise)
    assert '<span class="ltr">\u2011\u2011wage-rials</span>' in out
    # a command: an unbroken span, the isolate held by left-to-right marks
    assert f'<span class="ltr">{L}\u200ekhusheh-run -m\u200e{R}</span>' in out
    # a signed number, the head and attributes: as they were
    assert f"{L}+۱٫۵{R}</p>" in out and f"<title>{L}--x{R}</title>" in out and f'alt="{L}--a{R}"' in out
