"""The one door for the reports' user-visible text: ``_()`` (GNU gettext, English by default).

Every string a reader of the brief sees (its template, its sentences, its figures' titles, axes
and captions, the programmes' and outcomes' names) goes through :func:`_` at the moment it is
used, so an edition in another language needs only a message catalog and :func:`set_language`,
not a second template. A catalog is kept as its source, ``analysis/locale/LANG/LC_MESSAGES/khusheh.po``
(the Persian one: ``fa``), and compiled when the language is chosen (Babel), so no generated
``.mo`` file is kept; a compiled ``khusheh.mo`` there is used when there is no ``.po``. Without a
catalog, or for English, the text is the English source itself. Strings with values use named
``{placeholders}`` filled with ``str.format`` after translation (a translator may reorder them).

Numbers: in a language whose digits are not the Latin ones (Persian: ۰۱۲۳۴۵۶۷۸۹, with ``٫`` for
the decimal point, ``٬`` between thousands and ``٪`` for per cent), a translated string's
``format`` writes the numbers it is given in those digits, and :func:`digits` turns the numbers
that :mod:`analysis.brief` (``fmt``, ``pct``, ...) and the figures write themselves. English text
is left exactly as it is.
"""

from __future__ import annotations

import gettext
import io
import numbers
import re
import string
from contextlib import contextmanager
from functools import cache
from pathlib import Path

DOMAIN = "khusheh"
LOCALES = Path(__file__).resolve().parent / "locale"
DEFAULT = "en"
LANGUAGES = ("en", "fa")  # the brief's editions (khusheh-report --lang)
RIGHT_TO_LEFT = frozenset({"fa"})

# a language's digits, decimal point, thousands separator and per cent sign (Latin ones when not here)
_NUMERALS = {"fa": ("۰۱۲۳۴۵۶۷۸۹", "\u066b", "\u066c", "\u066a")}

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = DEFAULT
_missing: set[str] = set()


@cache
def catalog(lang: str) -> gettext.NullTranslations:
    """``lang``'s catalog: its ``.po`` compiled now (Babel), else its ``.mo``, else none (the English source)."""
    po = LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.is_file():
        return gettext.translation(DOMAIN, LOCALES, languages=[lang], fallback=True)
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    with po.open("rb") as source:
        messages = read_po(source, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, messages)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def set_language(lang: str = DEFAULT) -> None:
    """Use ``lang``'s catalog for what :func:`_` returns from now on (English: the source text)."""
    global _translation, _language
    _language = lang
    _translation = gettext.NullTranslations() if lang == DEFAULT else catalog(lang)
    _missing.clear()


def language() -> str:
    return _language


@contextmanager
def using(lang: str | None):
    """Within the block, :func:`_` speaks ``lang`` (None: the current language, unchanged); afterwards the
    language and catalog before it, whatever they were (an installed one too)."""
    global _translation, _language
    saved = _translation, _language
    try:
        if lang is not None:
            set_language(lang)
        yield
    finally:
        _translation, _language = saved


def direction(lang: str | None = None) -> str:
    """'rtl' or 'ltr': the writing direction of ``lang`` (default: the current language)."""
    return "rtl" if (lang or _language) in RIGHT_TO_LEFT else "ltr"


def missing() -> set[str]:
    """The messages asked for since :func:`set_language` that the catalog has no translation of."""
    return set(_missing)


def digits(text: str) -> str:
    """``text`` with its numbers in the current language's digits (``12,345.6%`` -> ``۱۲٬۳۴۵٫۶٪`` in Persian);
    unchanged in English."""
    numerals = _NUMERALS.get(_language)
    if numerals is None or not text:
        return text
    figures, point, thousands, percent = numerals
    text = re.sub(r"(?<=\d)\.(?=\d)", point, text)
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", thousands, text)
    return text.translate(str.maketrans("0123456789%", figures + percent))


def ltr(text: str) -> str:
    """A number (``+1.5``, ``\u22120.2``, ``45%``) kept as one left-to-right unit in right-to-left text (an
    isolate), its sign and per cent sign where they are in English: ``+۱٫۵``, ``۴۵٪``; unchanged in English."""
    if direction() == "rtl" and text:
        return "\u2066" + text + "\u2069"
    return text


def number(value, spec: str = "") -> str:
    """``format(value, spec)`` in the current language's digits."""
    return digits(format(value, spec))


def localise(value):
    """A value as a template prints it: a number in the current language's digits, anything else as it is
    (so English output is unchanged)."""
    if _language in _NUMERALS and isinstance(value, numbers.Number) and not isinstance(value, bool):
        return number(value)
    return value


class _Numbers(string.Formatter):
    """``str.format`` that writes numbers (not strings) in the current language's digits."""

    def format_field(self, value, format_spec):
        text = format(value, format_spec)
        return digits(text) if isinstance(value, numbers.Number) and not isinstance(value, bool) else text


_NUMBERS = _Numbers()


class Text(str):
    """A translated message whose ``format`` writes the numbers it is given in the language's digits."""

    __slots__ = ()

    def format(self, /, *args, **kwargs):  # noqa: A003 (str.format, with local digits)
        return _NUMBERS.vformat(str(self), args, kwargs)


def _local(message: str, text: str) -> str:
    if _language == DEFAULT:
        return text
    if text == message and any(c.isalpha() for c in message):
        _missing.add(message)
    return Text(text) if _language in _NUMERALS else text


def _(message: str) -> str:
    """``message`` in the current language (the English source when there is no translation)."""
    return _local(message, _translation.gettext(message))


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the current language."""
    return _local(singular if n == 1 else plural, _translation.ngettext(singular, plural, n))


def N_(message: str) -> str:
    """Marks ``message`` for the catalog without translating it now (for tables of names, translated
    where they are shown, through :func:`_`)."""
    return message


def install(translations: gettext.NullTranslations, lang: str = "custom") -> None:
    """Use ``translations`` (any :class:`gettext.NullTranslations`, e.g. a catalog read by Babel) for what
    :func:`_` returns from now on; :func:`set_language` ('en') goes back to English."""
    global _translation, _language
    _translation, _language = translations, lang
    _missing.clear()
