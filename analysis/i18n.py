"""The one door for the reports' user-visible text: ``_()`` (GNU gettext, English by default).

Every string a reader of the brief sees (its template, its sentences, its figures' titles, axes
and captions, the programmes' and outcomes' names) goes through :func:`_` at the moment it is
used, so an edition in another language needs only a message catalog
(``analysis/locale/LANG/LC_MESSAGES/khusheh.mo``, e.g. made by Babel's ``pybabel extract -k _``)
and :func:`set_language`, not a second template. Without a catalog, or for English, the text is
the English source itself. Strings with values use named ``{placeholders}`` filled with
``str.format`` after translation (a translator may reorder them); numbers and dates are formatted
by :mod:`analysis.brief` (``fmt``, ``pct``), the one place a later edition changes digits.
"""

from __future__ import annotations

import gettext
from pathlib import Path

DOMAIN = "khusheh"
LOCALES = Path(__file__).resolve().parent / "locale"
DEFAULT = "en"

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = DEFAULT


def set_language(lang: str = DEFAULT) -> None:
    """Use ``lang``'s catalog for what :func:`_` returns from now on (English: the source text)."""
    global _translation, _language
    _language = lang
    _translation = (gettext.NullTranslations() if lang == DEFAULT
                    else gettext.translation(DOMAIN, LOCALES, languages=[lang], fallback=True))


def language() -> str:
    return _language


def _(message: str) -> str:
    """``message`` in the current language (the English source when there is no translation)."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the current language."""
    return _translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks ``message`` for the catalog without translating it now (for tables of names, translated
    where they are shown, through :func:`_`)."""
    return message


def install(translations: gettext.NullTranslations, lang: str = "custom") -> None:
    """Use ``translations`` (any :class:`gettext.NullTranslations`, e.g. a catalog read by Babel) for what
    :func:`_` returns from now on; :func:`set_language` ('en') goes back to English."""
    global _translation, _language
    _translation, _language = translations, lang
