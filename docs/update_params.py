"""Rewrite the parameter tables in docs/ODD.md from model/params.py (the one place parameters live),
the CDA's instrument table from model/cda.py, and the presets' numbers with their sources from the
comments in conf/.

    uv run python docs/update_params.py

tests/test_docs.py fails when the tables and the code disagree.
"""

from __future__ import annotations

from pathlib import Path

from model.cda import instruments_markdown
from model.params import markdown_tables

ODD = Path(__file__).with_name("ODD.md")
BEGIN, END = "<!-- parameters:begin -->", "<!-- parameters:end -->"
PRESETS_BEGIN, PRESETS_END = "<!-- presets:begin -->", "<!-- presets:end -->"
INSTRUMENTS_BEGIN, INSTRUMENTS_END = "<!-- instruments:begin -->", "<!-- instruments:end -->"
CONF = Path(__file__).resolve().parents[1] / "conf"


def _replace(text: str, begin: str, end: str, body: str) -> str:
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def presets_markdown() -> str:
    """One table per preset group: every number a preset sets, and its source as the preset's comment says.

    A line without a comment falls under its preset's header (shown under the preset's name).
    The province (cluster=isfahan_province) is described in section 5.
    """
    out = []
    for group in ("cluster", "policy", "shock"):
        out.append(f"**`{group}` presets**\n")
        out.append("| preset | key | value | source or assumption |")
        out.append("|---|---|---|---|")
        for path in sorted((CONF / group).glob("*.yaml")):
            if path.stem == "isfahan_province":
                continue
            lines = path.read_text().splitlines()
            header = " ".join(line.lstrip("# ").strip() for line in lines if line.startswith("#"))
            out.append(f"| **{path.stem}** | | | {header} |")
            for line in lines:
                if line.startswith("#") or ":" not in line or line.startswith(" "):
                    continue
                entry, _, comment = line.partition("#")
                key, _, value = entry.partition(":")
                if key.strip() in ("name",):
                    continue
                out.append(f"| | `{key.strip()}` | {value.strip()} | {comment.strip() or 'as the header says'} |")
        out.append("")
    return "\n".join(out).rstrip()


def render(text: str) -> str:
    text = _replace(text, BEGIN, END, markdown_tables())
    if PRESETS_BEGIN in text:
        text = _replace(text, PRESETS_BEGIN, PRESETS_END, presets_markdown())
    if INSTRUMENTS_BEGIN in text:
        text = _replace(text, INSTRUMENTS_BEGIN, INSTRUMENTS_END, instruments_markdown())
    return text


if __name__ == "__main__":
    new = render(ODD.read_text())
    tmp = ODD.with_suffix(".tmp")
    tmp.write_text(new)
    tmp.replace(ODD)
    print(f"updated {ODD}")
