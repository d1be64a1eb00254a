"""docs/ODD.md stays in step with the code's parameters."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_odd_parameter_tables_match_the_code():
    spec = importlib.util.spec_from_file_location("update_params", ROOT / "docs" / "update_params.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    text = (ROOT / "docs" / "ODD.md").read_text()
    assert mod.render(text) == text, "docs/ODD.md parameter tables are stale: uv run python docs/update_params.py"


def test_odd_names_every_output_column():
    from model import COLUMNS
    text = (ROOT / "docs" / "ODD.md").read_text()
    missing = [c for c in COLUMNS if f"`{c}`" not in text]
    assert not missing
