"""Figures for policy briefs: one style, a colour-blind-safe palette, units on the axes.

Every function takes tables from :mod:`analysis.collect` / :mod:`analysis.stats`
and a path, writes a PNG (print quality, 200 dpi) and returns the path.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from conf import outcomes, palette, plot_style  # noqa: E402
from scenarios.results import atomic_write  # noqa: E402

from .i18n import N_, _, digits, language, ngettext  # noqa: E402

PALETTE = palette()  # Okabe-Ito (conf/khusheh.mplstyle)
DPI = 200
STRONG_TIE = 0.5  # a tie drawn on the map and the network: mean trust of its two directions at least this

PLAIN = {  # scenarios in plain words (translated where shown, by plain())
    "none": N_("No CDA (baseline)"),
    "standard_cda": N_("Standard CDA, 3 years"),
    "trust_first": N_("Trust first, 3 years"),
    "subsidy_only": N_("Subsidy only, 3 years"),
    "linkages": N_("Linkages to institutions"),
    "export_consortium": N_("Export consortium"),
    "long_cda": N_("Standard CDA, 5 years"),
    "zero_budget": N_("CDA without budget"),
    "no_association": N_("Standard CDA, no association"),
    "programme_largest": N_("10 CDAs: largest clusters"),
    "programme_export": N_("10 CDAs: export potential"),
    "programme_trust_gap": N_("10 CDAs: lowest trust"),
    "programme_random": N_("10 CDAs: drawn at random"),
}

OUTCOMES = outcomes()  # name: label, unit, digits (conf/outcomes.yaml)

# a language's font for figures (the brief's CSS names the same), and the Debian package that installs it
FONTS = {"fa": ("Noto Sans Arabic UI", "fonts-noto-ui-core")}


class FontMissing(RuntimeError):
    """A language's font is not installed (the message names the Debian package)."""


def plain(policy: str) -> str:
    """A policy preset's name in plain words (a custom one's from its own name)."""
    return _(PLAIN[policy]) if policy in PLAIN else policy.replace("_", " ").capitalize()


def label(outcome: str) -> str:
    """An outcome's title (conf/outcomes.yaml), in the brief's language."""
    return _(OUTCOMES[outcome].label)


def unit(outcome: str) -> str:
    """An outcome's unit (conf/outcomes.yaml), in the brief's language."""
    return _(OUTCOMES[outcome].unit)


def ordered(policies) -> list[str]:
    """Policies in the brief's order: the baseline, the named presets, then any others by name."""
    known = list(PLAIN)
    return sorted(set(policies), key=lambda p: (known.index(p) if p in known else len(known), p))


class LocalDigits(matplotlib.ticker.Formatter):
    """A tick formatter that writes another's labels in the brief's language's digits (Persian: ۰۱۲...)."""

    def __init__(self, inner: matplotlib.ticker.Formatter):
        self.inner = inner

    def set_axis(self, axis):
        super().set_axis(axis)
        self.inner.set_axis(axis)

    def set_locs(self, locs):
        self.inner.set_locs(locs)

    def __call__(self, x, pos=None):
        return digits(self.inner(x, pos))

    def format_ticks(self, values):
        return [digits(t) for t in self.inner.format_ticks(values)]

    def get_offset(self):
        return digits(self.inner.get_offset())

    def format_data(self, value):
        return digits(self.inner.format_data(value))

    def format_data_short(self, value):
        return digits(self.inner.format_data_short(value))


def localise(figure) -> None:
    """Every number on ``figure`` (tick labels, titles, legends, notes) in the brief's language's digits."""
    if digits("0") == "0":
        return
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for formatter, use in ((axis.get_major_formatter(), axis.set_major_formatter),
                                   (axis.get_minor_formatter(), axis.set_minor_formatter)):
                if not isinstance(formatter, LocalDigits):  # shared axes share their formatters
                    use(LocalDigits(formatter))
    for text in figure.findobj(matplotlib.text.Text):
        text.set_text(digits(text.get_text()))


def save(figure, path: Path) -> Path:
    """Write a figure atomically (PNG, tight bounding box) and close it."""
    localise(figure)
    atomic_write(Path(path), lambda tmp: figure.savefig(tmp, format="png", bbox_inches="tight"))
    plt.close(figure)
    return Path(path)


def apply_style():
    plt.rcParams.update({**plot_style(), "figure.dpi": 100, "savefig.dpi": DPI, **language_style()})


def language_style(lang: str | None = None) -> dict:
    """Matplotlib settings for text in ``lang`` (default: the brief's current language): for Persian its font
    (Latin letters from DejaVu Sans) and ``text.language``, with which Matplotlib shapes the text (libraqm:
    letters joined, right to left); nothing changes for English."""
    lang = lang or language()
    if lang not in FONTS:
        return {"text.language": None}
    family, package = FONTS[lang]
    _find_font(family, package)
    return {"font.family": [family, "DejaVu Sans"], "text.language": lang}


def _find_font(family: str, package: str) -> None:
    """Make sure Matplotlib knows the system font ``family`` (installed after its font cache was made, it looks for
    it among the system's fonts); a clear error naming the Debian package when it is not installed."""
    from matplotlib import font_manager
    try:
        font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        return
    except ValueError:
        pass
    stem = family.replace(" ", "") + "-"
    for font in font_manager.findSystemFonts():
        if Path(font).name.startswith(stem):
            font_manager.fontManager.addfont(font)
    try:
        font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    except ValueError:
        raise FontMissing(f"the font {family!r} is not installed: apt-get install {package}") from None


def colours(policies) -> dict:
    order = ordered(policies)
    return {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(order)}


def exit_lines(exits: dict, end=None, last=None) -> list[tuple[int, str, str]]:
    """(month, line style, legend label) of the CDAs' exits: ``exits`` = {policy: exit month} of the
    programmes drawn. The main programme's exit (``end``) is dotted, 'CDA leaves (month M)'; another
    month is dash-dotted and names the programmes that leave then. Months after ``last`` are left out."""
    by_month: dict[int, list[str]] = {}
    for policy, month in exits.items():
        if month is not None and (last is None or month <= last):
            by_month.setdefault(int(month), []).append(policy)
    lines = []
    for month in sorted(by_month, key=lambda m: (m != end, m)):
        if month == end:
            lines.append((month, ":", _("CDA leaves (month {month})").format(month=month)))
        else:
            names = _(", ").join(plain(p) for p in ordered(by_month[month]))
            lines.append((month, "-.", _("CDA leaves: {names} (month {month})").format(names=names, month=month)))
    return lines


def _legend_below(fig, handles, labels, title: bool) -> None:
    ncol = min(3, len(labels))
    fig.legend(handles, labels, loc="lower center", ncol=ncol, bbox_to_anchor=(0.5, -0.01))
    rows_of_legend = int(np.ceil(len(labels) / ncol))
    fig.tight_layout(rect=(0, 0.035 + 0.035 * rows_of_legend, 1, 0.95 if title else 1))


def fan_chart(band: pd.DataFrame, outcomes, policies, path: Path, start=None, end=None, title="",
              banded=None, exits=None) -> Path:
    """Median and 10-90% band over seeds per scenario, one panel per outcome (levels).

    ``banded``: the scenarios whose band is drawn (all by default); with many
    scenarios, bands for the baseline and the main programme keep it readable.
    ``start``, ``end``: the main programme's CDA starts and leaves; ``exits``: {policy: exit month}
    of the programmes drawn, when they leave at other months than ``end``.
    """
    apply_style()
    n = len(outcomes)
    cols = 2 if n >= 3 else n
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.4 * rows + (0.3 if title else 0)), squeeze=False)
    col = colours(policies)
    last = int(band.index.get_level_values("month").max())
    shown_exits = {p: m for p, m in (exits or {}).items() if p in policies}
    lines = exit_lines(shown_exits or ({"": end} if end is not None else {}), end, last)
    for ax, outcome in zip(axes.flat, outcomes):
        for policy in policies:
            sub = band.xs(policy, level="policy")
            months = sub.index.get_level_values("month")
            if banded is None or policy in banded:
                ax.fill_between(months, sub[("p10", outcome)], sub[("p90", outcome)], color=col[policy],
                                alpha=0.15, lw=0)
            ax.plot(months, sub[("median", outcome)], color=col[policy], lw=1.4, label=plain(policy))
        if start is not None and start <= last:
            ax.axvline(start, color="#555555", lw=0.8, ls="--")
        for month, style, _label in lines:
            ax.axvline(month, color="#555555", lw=0.8, ls=style)
        ax.set_title(label(outcome))
        ax.set_ylabel(unit(outcome))
        ax.set_xlabel(_("month"))
    spare = list(axes.flat)[n:]
    for ax in spare:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if start is not None and start <= last:
        handles.append(plt.Line2D([], [], color="#555555", ls="--", lw=0.8))
        labels.append(_("CDA starts (month {month})").format(month=start))
    for _month, style, text in lines:
        handles.append(plt.Line2D([], [], color="#555555", ls=style, lw=0.8))
        labels.append(text)
    if title:
        fig.suptitle(title, fontsize=11, fontweight="bold")
    if spare:  # the legend fills the empty panel
        spare[0].legend(handles, labels, loc="center")
        fig.tight_layout()
    else:
        _legend_below(fig, handles, labels, bool(title))
    return save(fig, path)


def effect_chart(diff: pd.DataFrame, outcome: str, policies, path: Path, start=None, exits=None,
                 title: str = "") -> Path:
    """The paired differences against the baseline over time, one small panel per programme (the same
    scale in all): the median over seeds of (programme - baseline on the same seed) and its 10-90% band.
    ``diff``: :func:`analysis.stats.difference_bands`; ``exits``: {policy: month the CDA leaves}."""
    apply_style()
    policies = [p for p in ordered(policies) if p in diff.index.get_level_values("policy")]
    n = max(len(policies), 1)
    cols = min(4, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.95 * cols + 0.4, 1.7 * rows + 0.9), sharex=True, sharey=True,
                             squeeze=False)
    col = colours(["none", *policies])
    last = int(diff.index.get_level_values("month").max()) if len(diff) else 0
    for ax, policy in zip(axes.flat, policies):
        sub = diff.xs(policy, level="policy")
        months = sub.index.get_level_values("month")
        ax.axhline(0, color="#333333", lw=0.7)
        ax.fill_between(months, sub[("p10", outcome)], sub[("p90", outcome)], color=col[policy], alpha=0.25, lw=0)
        ax.plot(months, sub[("median", outcome)], color=col[policy], lw=1.3)
        if start is not None and start <= last:
            ax.axvline(start, color="#555555", lw=0.7, ls="--")
        leaves = (exits or {}).get(policy)
        if leaves is not None and leaves <= last:
            ax.axvline(leaves, color="#555555", lw=0.7, ls=":")
        ax.set_title(plain(policy), fontsize=7.5)
        ax.tick_params(labelsize=7)
    for k, ax in enumerate(list(axes.flat)[n:], start=n):
        ax.axis("off")
        if k - cols >= 0:  # the panel above an empty one shows the months
            axes.flat[k - cols].xaxis.set_tick_params(labelbottom=True)
            axes.flat[k - cols].set_xlabel(_("month"), fontsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel(_("difference\n({unit})").format(unit=unit(outcome)), fontsize=7)
    for ax in axes[-1, :]:
        ax.set_xlabel(_("month"), fontsize=7)
    handles = [plt.Line2D([], [], color="#555555", lw=1.3), plt.Rectangle((0, 0), 1, 1, color="#555555", alpha=0.25),
               plt.Line2D([], [], color="#555555", ls="--", lw=0.7), plt.Line2D([], [], color="#555555", ls=":", lw=0.7)]
    labels = [_("median of the per-seed differences"), _("10-90% of seeds"), _("CDA starts"), _("CDA leaves")]
    fig.suptitle(title or _("{outcome}: difference against no CDA, same seeds").format(outcome=label(outcome)),
                 fontsize=10, fontweight="bold")
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=7, bbox_to_anchor=(0.5, -0.01))
    fig.tight_layout(rect=(0, 0.06, 1, 0.96))
    return save(fig, path)


def forest(effects: pd.DataFrame, outcomes, path: Path, title: str = "") -> Path:
    """Effects against the baseline with 95% CIs, at the CDA's end and at the horizon."""
    apply_style()
    policies = ordered(effects.policy)
    fig, axes = plt.subplots(1, len(outcomes), figsize=(2.9 * len(outcomes), 0.33 * len(policies) + 1.6),
                             sharey=True, squeeze=False)
    y = np.arange(len(policies))[::-1]
    names = {"cda_end": _("at the CDA's exit"), "horizon": _("at the horizon")}
    for ax, outcome in zip(axes.flat, outcomes):
        for when, marker, shift, face in (("cda_end", "o", 0.15, "white"), ("horizon", "s", -0.15, "#0072B2")):
            sub = effects[(effects.outcome == outcome) & (effects.when == when)].set_index("policy")
            for yy, policy in zip(y, policies):
                if policy not in sub.index:
                    continue
                r = sub.loc[policy]
                low = r.effect - r.ci_low if np.isfinite(r.ci_low) else 0.0
                high = r.ci_high - r.effect if np.isfinite(r.ci_high) else 0.0
                ax.errorbar(r.effect, yy + shift, xerr=[[low], [high]], fmt=marker, color="#0072B2", mfc=face, ms=4,
                            capsize=2, lw=1, label=names[when])
        ax.axvline(0, color="#555555", lw=0.8)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
        ax.set_title(label(outcome))
        ax.set_xlabel(_("difference vs no CDA\n({unit})").format(unit=unit(outcome)))
    axes.flat[0].set_yticks(y, [plain(p) for p in policies])
    handles, labels = axes.flat[0].get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    fig.legend(uniq.values(), uniq.keys(), loc="lower center", ncol=2, bbox_to_anchor=(0.5, -0.02))
    if title:
        fig.suptitle(title, fontsize=11, fontweight="bold")
    fig.tight_layout(rect=(0, 0.07, 1, 0.95 if title else 1))
    return save(fig, path)


def cost_effectiveness(table: pd.DataFrame, path: Path, title: str = "") -> Path:
    """Jobs and output gained per 100 wage-months actually spent (by the horizon), with 95% CIs;
    a programme that spent nothing is marked so."""
    apply_style()
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 0.3 * len(table) + 1.6), sharey=True)
    y = np.arange(len(table))[::-1]
    for ax, (col, name, axis) in zip(axes, (("jobs", _("Jobs gained"), _("workers\nper 100 wage-months spent")),
                                            ("output", _("Output gained"),
                                             _("wage-months a month\nper 100 wage-months spent")))):
        value = table[f"{col}_per_100"].to_numpy(dtype=float)
        low = np.where(np.isfinite(table[f"{col}_low"]), table[f"{col}_low"], value)
        high = np.where(np.isfinite(table[f"{col}_high"]), table[f"{col}_high"], value)
        ok = np.isfinite(value)
        ax.errorbar(value[ok], y[ok], xerr=[value[ok] - low[ok], high[ok] - value[ok]], fmt="o", color="#009E73",
                    capsize=2, ms=4)
        for yy in y[~ok]:
            ax.annotate(_("nothing spent"), (0, yy), xytext=(4, 0), textcoords="offset points", va="center",
                        fontsize=7, color="#555555")
        ax.axvline(0, color="#555555", lw=0.8)
        ax.set_title(name)
        ax.set_xlabel(axis)
    axes[0].set_yticks(y, [plain(p) for p in table.policy])
    if title:
        fig.suptitle(title, fontsize=11, fontweight="bold")
    fig.tight_layout(rect=(0, 0, 1, 0.93 if title else 1))
    return save(fig, path)


def _overlapping(texts, renderer) -> list[int]:
    """Indices of the visible texts whose boxes overlap an earlier visible one's."""
    boxes, out = [], []
    for k, t in enumerate(texts):
        if not t.get_visible():
            continue
        box = t.get_window_extent(renderer).expanded(1.02, 1.05)
        if any(box.overlaps(b) for b in boxes):
            out.append(k)
        else:
            boxes.append(box)
    return out


def _label_towns(ax, towns: pd.DataFrame, avoid_x, avoid_y) -> list:
    """Town names beside their squares, moved apart (adjustText) so that no two overlap nor sit on a
    town's square; a thin line joins a moved name to its town. Names that still overlap after a few
    rounds (a crowded province) are left out, the later ones in ``towns``: names never collide."""
    from adjustText import adjust_text
    texts = [ax.text(t.x, t.y, _(t["name"]), fontsize=6, zorder=5,
                     bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75})
             for _i, t in towns.iterrows()]
    if not texts:
        return texts
    renderer = ax.figure.canvas.get_renderer()
    for attempt in range(3):
        adjust_text(texts, x=list(avoid_x), y=list(avoid_y), ax=ax, expand=(1.3 + 0.3 * attempt, 1.5 + 0.3 * attempt),
                    force_text=(0.2 + 0.2 * attempt, 0.4 + 0.3 * attempt), iter_lim=500 + 500 * attempt)
        if not _overlapping(texts, renderer):
            break
    for k in _overlapping(texts, renderer):
        texts[k].set_visible(False)
    for text, (_i, town) in zip(texts, towns.iterrows()):
        tx, ty = text.get_position()
        if text.get_visible() and np.hypot(tx - town.x, ty - town.y) > 0.6:
            ax.annotate("", xy=(town.x, town.y), xytext=(tx, ty), zorder=4,
                        arrowprops={"arrowstyle": "-", "color": "#555555", "lw": 0.4, "shrinkA": 0, "shrinkB": 2})
    return texts


def cluster_map(panels: list[tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame]], path: Path,
                title: str = "") -> Path:
    """The cluster on the regional grid: towns, firms sized by employees and coloured by trust, ties,
    institutions and the CDA. ``panels`` = [(title, firms, ties, places), ...]."""
    apply_style()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.9 * len(panels) + 0.8, 4.4), squeeze=False)
    fig.subplots_adjust(left=0.08, right=0.86, wspace=0.28, bottom=0.2, top=0.84 if title else 0.9)
    cmap = plt.get_cmap("viridis")
    all_firms = pd.concat([p[1] for p in panels])
    pad = 3
    x0, x1 = all_firms.x.min() - pad, all_firms.x.max() + pad
    y0, y1 = all_firms.y.min() - pad, all_firms.y.max() + pad
    rng = np.random.default_rng(0)
    for ax, (name, firms, ties, places) in zip(axes.flat, panels):
        # several firms share a 5 km cell: jitter within the cell to show them
        jx = firms.x + rng.uniform(-0.42, 0.42, len(firms))
        jy = firms.y + rng.uniform(-0.42, 0.42, len(firms))
        pos = dict(zip(firms.unique_id, zip(jx, jy)))
        strong = ties[(ties.trust_ab + ties.trust_ba) / 2 >= STRONG_TIE]
        for a, b in zip(strong.firm_a, strong.firm_b):
            if a in pos and b in pos:
                ax.plot([pos[a][0], pos[b][0]], [pos[a][1], pos[b][1]], color="#999999", lw=0.3, alpha=0.5, zorder=1)
        trust = firms.mean_tie_trust.fillna(0.0)
        sc = ax.scatter(jx, jy, s=4 + 3 * np.sqrt(firms.employees), c=trust, cmap=cmap, vmin=0, vmax=1,
                        edgecolors="none", alpha=0.85, zorder=2)
        towns = places[(places.kind == "town") & places.x.between(x0, x1) & places.y.between(y0, y1)]
        ax.scatter(towns.x, towns.y, marker="s", s=18, facecolors="none", edgecolors="#000000", lw=0.8, zorder=3,
                   clip_on=False)
        inst = places[~places.kind.isin(["town", "cda"])]
        ax.scatter(inst.x + 0.3, inst.y - 0.3, marker="^", s=22, color="#D55E00", zorder=3)
        cda = places[places.kind == "cda"]
        if len(cda):
            ax.scatter(cda.x - 0.3, cda.y + 0.3, marker="*", s=80, color="#E69F00", edgecolors="#000000", lw=0.5,
                       zorder=4)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        ax.set_title(name)
        ax.set_xlabel(_("east (cells of 5 km)"))
        ax.set_ylabel(_("north (cells of 5 km)"))
        marks = pd.concat([towns[["x", "y"]], inst[["x", "y"]] + [0.3, -0.3], cda[["x", "y"]] + [-0.3, 0.3]])
        _label_towns(ax, towns, marks.x, marks.y)  # names avoid each other, the towns, institutions and the CDA
    cb = fig.colorbar(sc, cax=fig.add_axes((0.89, 0.25, 0.015, 0.55)))
    cb.set_label(_("mean trust in partners (0 = no tie)"))
    handles = [plt.Line2D([], [], marker="s", ls="", mfc="none", mec="#000000", label=_("town")),
               plt.Line2D([], [], marker="^", ls="", color="#D55E00", label=_("institution / supplier")),
               plt.Line2D([], [], marker="*", ls="", color="#E69F00", mec="#000000", label=_("CDA"), ms=9),
               plt.Line2D([], [], color="#999999", lw=0.8,
                          label=_("tie with trust \u2265 {threshold}").format(threshold=STRONG_TIE)),
               plt.Line2D([], [], marker="o", ls="", color="#777777", label=_("firm (size = employees)"))]
    fig.legend(handles=handles, loc="lower center", ncol=3, bbox_to_anchor=(0.47, -0.02))
    if title:
        fig.suptitle(title, fontsize=11, fontweight="bold")
    return save(fig, path)


MAX_NETWORK_NODES = 1500  # a force layout of more is slow and unreadable
MAX_DRAWN_EDGES = 600  # per panel: the strongest ties are drawn, the rest thinned away


def community_layout(g, seed: int = 1) -> tuple[dict, list, dict]:
    """Positions that show the network's structure: its communities (Louvain, a fixed seed), each laid out
    by its own ties around its own centre, the centres on a circle, largest first from the top, clockwise
    (lines between groups then cross the empty middle, not other groups). A group's size on the page grows
    with the square root of its firms. Returns (positions, communities, centres)."""
    import networkx as nx
    communities = sorted(nx.community.louvain_communities(g, weight="weight", seed=seed), key=len, reverse=True)
    k = len(communities)
    largest = max((len(c) for c in communities), default=1)
    scales = [np.sqrt(len(c) / largest) for c in communities]
    radius = 0.0 if k == 1 else max(1.8, 1.2 * sum(scales) / np.pi)  # the groups side by side on the circle
    pos, centres = {}, {}
    for i, members in enumerate(communities):
        angle = np.pi / 2 - 2 * np.pi * i / max(k, 1)
        centre = np.array([radius * np.cos(angle), radius * np.sin(angle)])
        centres[i] = centre
        sub = g.subgraph(members)
        local = (nx.spring_layout(sub, seed=seed, k=1.5 / np.sqrt(len(members)), center=(0, 0))
                 if len(members) > 1 else {next(iter(members)): np.zeros(2)})
        for node, xy in local.items():
            pos[node] = tuple(centre + scales[i] * np.asarray(xy))
    return pos, communities, centres


def network(panels: list[tuple[str, pd.DataFrame, pd.DataFrame]], path: Path, title: str = "") -> Path:
    """The cooperation network (ties with mean trust >= STRONG_TIE), one panel per scenario: firms grouped
    by community (:func:`community_layout`), coloured by their mean trust in partners (colour bar), sized
    by employees; at most MAX_DRAWN_EDGES ties drawn, the strongest.

    With several clusters (a province), the panels show the largest cluster
    only; beyond MAX_NETWORK_NODES connected firms, a fixed random sample of them.
    """
    import networkx as nx
    apply_style()
    note = ""
    if panels and panels[0][1].cluster.nunique() > 1:
        largest = panels[0][1].cluster.value_counts().idxmax()
        panels = [(t, f[f.cluster == largest], ti) for t, f, ti in panels]
        note = _("Largest cluster only. ")
    sampled, thinned = "", ""
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels) + 0.6, 4.0), squeeze=False)
    for ax, (name, firms, ties) in zip(axes.flat, panels):
        g = nx.Graph()
        g.add_nodes_from(firms.unique_id)
        good = ties[((ties.trust_ab + ties.trust_ba) / 2 >= STRONG_TIE) & ties.firm_a.isin(firms.unique_id)]
        g.add_weighted_edges_from(zip(good.firm_a, good.firm_b, (good.trust_ab + good.trust_ba) / 2))
        g.remove_nodes_from([n for n in list(g.nodes) if g.degree(n) == 0])
        connected = g.number_of_nodes()
        if connected > MAX_NETWORK_NODES:
            keep = np.random.default_rng(1).choice(sorted(g.nodes), MAX_NETWORK_NODES, replace=False)
            g = g.subgraph(keep).copy()
            g.remove_nodes_from([n for n in list(g.nodes) if g.degree(n) == 0])
            sampled = _("A sample of {n:,} connected firms is drawn. ").format(n=MAX_NETWORK_NODES)
        communities = []
        if g.number_of_nodes():
            layout, communities, centre = community_layout(g)
            size = firms.set_index("unique_id").employees
            trust = firms.set_index("unique_id").mean_tie_trust.fillna(0.0)
            group = {node: k for k, members in enumerate(communities) for node in members}
            inside = sorted(((a, b, w) for a, b, w in g.edges(data="weight") if group[a] == group[b]),
                            key=lambda e: -e[2])
            if len(inside) > MAX_DRAWN_EDGES:
                inside = inside[:MAX_DRAWN_EDGES]
                thinned = _("Within groups, only the {n} strongest ties of a panel are drawn. ").format(
                    n=MAX_DRAWN_EDGES)
            between: dict[tuple[int, int], int] = {}
            for a, b in g.edges():
                if group[a] != group[b]:
                    key = (min(group[a], group[b]), max(group[a], group[b]))
                    between[key] = between.get(key, 0) + 1
            most = max(between.values(), default=1)
            for (ka, kb), count in between.items():  # one line per pair of groups, as wide as their ties are many
                ax.plot([centre[ka][0], centre[kb][0]], [centre[ka][1], centre[kb][1]], color="#D55E00",
                        lw=0.2 + 2.5 * count / most, alpha=0.25, zorder=0, solid_capstyle="round")
            nx.draw_networkx_edges(g, layout, edgelist=[(a, b) for a, b, _w in inside], ax=ax, width=0.3, alpha=0.4,
                                   edge_color="#555555")
            nx.draw_networkx_nodes(g, layout, ax=ax, node_size=[4 + 2 * np.sqrt(size.get(n, 1)) for n in g.nodes],
                                   node_color=[trust.get(n, 0.0) for n in g.nodes], cmap=cmap, vmin=0, vmax=1,
                                   alpha=0.9, linewidths=0)
        share = connected / max(len(firms), 1)
        groups = ngettext("{n} group", "{n} groups", len(communities)).format(n=len(communities))
        ax.set_title(_("{name}\n{ties} ties, {share:.0%} of firms connected, {groups}").format(
            name=name.replace("\n", _(", ")), ties=len(good), share=share, groups=groups), fontsize=8.5)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.subplots_adjust(left=0.02, right=0.88, top=0.8 if title else 0.86, bottom=0.1, wspace=0.08)
    cb = fig.colorbar(plt.cm.ScalarMappable(norm=matplotlib.colors.Normalize(0, 1), cmap=cmap),
                      cax=fig.add_axes((0.9, 0.18, 0.015, 0.55)))
    cb.set_label(_("firm's mean trust in partners"))
    fig.text(0.45, 0.01, note + sampled + thinned + _(
        "Ties with mean trust \u2265 {threshold}. Firms grouped by community (Louvain), the largest at the top, then "
        "clockwise; grey: ties "
        "within a group; orange: ties between two groups, one line per pair, as wide as they are many; dot size = "
        "employees; positions show ties, not places.").format(threshold=STRONG_TIE),
        ha="center", fontsize=7, wrap=True)
    if title:
        fig.suptitle(title, fontsize=11, fontweight="bold")
    return save(fig, path)
