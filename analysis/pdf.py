"""HTML to PDF for the brief and the reports (WeasyPrint, offline), written atomically."""

from __future__ import annotations

import warnings
from pathlib import Path

from scenarios.results import atomic_write


def write_pdf(html: str, base: Path, path: Path) -> None:
    """Render ``html`` (its relative links resolved against the folder ``base``) to the PDF ``path``."""
    with warnings.catch_warnings():
        # WeasyPrint asks for a newer system HarfBuzz for font subsetting; the PDF is fine without
        warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)
        from weasyprint import HTML
        atomic_write(path, lambda tmp: HTML(string=html, base_url=str(base)).write_pdf(tmp))
