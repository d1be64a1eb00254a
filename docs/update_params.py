"""Rewrite the parameter tables in docs/ODD.md from model/params.py (the one place parameters live).

    uv run python docs/update_params.py

tests/test_docs.py fails when the tables and the code disagree.
"""

from __future__ import annotations

from pathlib import Path

from model.params import markdown_tables

ODD = Path(__file__).with_name("ODD.md")
BEGIN, END = "<!-- parameters:begin -->", "<!-- parameters:end -->"


def render(text: str) -> str:
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{markdown_tables()}\n{END}{tail}"


if __name__ == "__main__":
    new = render(ODD.read_text())
    tmp = ODD.with_suffix(".tmp")
    tmp.write_text(new)
    tmp.replace(ODD)
    print(f"updated {ODD}")
