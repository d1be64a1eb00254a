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

PALETTE = palette()  # Okabe-Ito (conf/khusheh.mplstyle)
DPI = 200
STRONG_TIE = 0.5  # a tie drawn on the map and the network: mean trust of its two directions at least this

PLAIN = {  # scenarios in plain words
    "none": "No CDA (baseline)",
    "standard_cda": "Standard CDA, 3 years",
    "trust_first": "Trust first, 3 years",
    "subsidy_only": "Subsidy only, 3 years",
    "linkages": "Linkages to institutions",
    "export_consortium": "Export consortium",
    "long_cda": "Standard CDA, 5 years",
    "zero_budget": "CDA without budget",
    "no_association": "Standard CDA, no association",
    "programme_largest": "10 CDAs: largest clusters",
    "programme_export": "10 CDAs: export potential",
    "programme_trust_gap": "10 CDAs: lowest trust",
    "programme_random": "10 CDAs: drawn at random",
}

OUTCOMES = outcomes()  # name: label, unit, digits (conf/outcomes.yaml)


def plain(policy: str) -> str:
    return PLAIN.get(policy, policy.replace("_", " ").capitalize())


def ordered(policies) -> list[str]:
    """Policies in the brief's order: the baseline, the named presets, then any others by name."""
    known = list(PLAIN)
    return sorted(set(policies), key=lambda p: (known.index(p) if p in known else len(known), p))


def save(figure, path: Path) -> Path:
    """Write a figure atomically (PNG, tight bounding box) and close it."""
    atomic_write(Path(path), lambda tmp: figure.savefig(tmp, format="png", bbox_inches="tight"))
    plt.close(figure)
    return Path(path)


def apply_style():
    plt.rcParams.update({**plot_style(), "figure.dpi": 100, "savefig.dpi": DPI})


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
            lines.append((month, ":", f"CDA leaves (month {month})"))
        else:
            names = ", ".join(plain(p) for p in ordered(by_month[month]))
            lines.append((month, "-.", f"CDA leaves: {names} (month {month})"))
    return lines


def fan_chart(band: pd.DataFrame, outcomes, policies, path: Path, start=None, end=None, title="",
              banded=None, exits=None) -> Path:
    """Median and 10-90% band over seeds per scenario, one panel per outcome.

    ``banded``: the scenarios whose band is drawn (all by default); with many
    scenarios, bands for the baseline and the main programme keep it readable.
    ``start``, ``end``: the main programme's CDA starts and leaves; ``exits``: {policy: exit month}
    of the programmes drawn, when they leave at other months than ``end``.
    """
    apply_style()
    n = len(outcomes)
    cols = 2 if n >= 3 else n
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.7 * rows), squeeze=False)
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
        for month, style, _ in lines:
            ax.axvline(month, color="#555555", lw=0.8, ls=style)
        ax.set_title(OUTCOMES[outcome].label)
        ax.set_ylabel(OUTCOMES[outcome].unit)
        ax.set_xlabel("month")
    spare = list(axes.flat)[n:]
    for ax in spare:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if start is not None and start <= last:
        handles.append(plt.Line2D([], [], color="#555555", ls="--", lw=0.8))
        labels.append(f"CDA starts (month {start})")
    for _, style, label in lines:
        handles.append(plt.Line2D([], [], color="#555555", ls=style, lw=0.8))
        labels.append(label)
    if title:
        fig.suptitle(title, fontsize=11)
    if spare:  # the legend fills the empty panel
        spare[0].legend(handles, labels, loc="center")
        fig.tight_layout()
    else:
        ncol = min(3, len(labels))
        fig.legend(handles, labels, loc="lower center", ncol=ncol, bbox_to_anchor=(0.5, -0.01))
        rows_of_legend = int(np.ceil(len(labels) / ncol))
        fig.tight_layout(rect=(0, 0.035 + 0.035 * rows_of_legend, 1, 0.97 if title else 1))
    return save(fig, path)


def forest(effects: pd.DataFrame, outcomes, path: Path) -> Path:
    """Effects against the baseline with 95% CIs, at the CDA's end and at the horizon."""
    apply_style()
    policies = ordered(effects.policy)
    fig, axes = plt.subplots(1, len(outcomes), figsize=(2.9 * len(outcomes), 0.42 * len(policies) + 1.4),
                             sharey=True, squeeze=False)
    y = np.arange(len(policies))[::-1]
    for ax, outcome in zip(axes.flat, outcomes):
        for k, (when, marker, shift, face) in enumerate((("cda_end", "o", 0.15, "white"), ("horizon", "s", -0.15,
                                                                                           "#0072B2"))):
            sub = effects[(effects.outcome == outcome) & (effects.when == when)].set_index("policy")
            for yy, policy in zip(y, policies):
                if policy not in sub.index:
                    continue
                r = sub.loc[policy]
                ax.errorbar(r.effect, yy + shift, xerr=[[r.effect - r.ci_low], [r.ci_high - r.effect]], fmt=marker,
                            color="#0072B2", mfc=face, ms=4, capsize=2, lw=1,
                            label=("at the CDA's end" if when == "cda_end" else "at the horizon") if yy == y[0]
                            or policy == policies[0] else None)
        ax.axvline(0, color="#555555", lw=0.8)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
        ax.set_title(OUTCOMES[outcome].label)
        ax.set_xlabel(f"difference vs no CDA\n({OUTCOMES[outcome].unit})")
    axes.flat[0].set_yticks(y, [plain(p) for p in policies])
    handles, labels = axes.flat[0].get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    fig.legend(uniq.values(), uniq.keys(), loc="lower center", ncol=2, bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return save(fig, path)


def cost_effectiveness(table: pd.DataFrame, path: Path) -> Path:
    """Jobs and output gained per 100 wage-months actually spent (by the horizon), with 95% CIs;
    a programme that spent nothing is marked so."""
    apply_style()
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 0.45 * len(table) + 1.5), sharey=True)
    y = np.arange(len(table))[::-1]
    for ax, (col, title, unit) in zip(axes, (("jobs", "Jobs gained", "workers\nper 100 wage-months spent"),
                                             ("output", "Output gained",
                                              "wage-months a month\nper 100 wage-months spent"))):
        value = table[f"{col}_per_100"].to_numpy(dtype=float)
        low = np.where(np.isfinite(table[f"{col}_low"]), table[f"{col}_low"], value)
        high = np.where(np.isfinite(table[f"{col}_high"]), table[f"{col}_high"], value)
        ok = np.isfinite(value)
        ax.errorbar(value[ok], y[ok], xerr=[value[ok] - low[ok], high[ok] - value[ok]], fmt="o", color="#009E73",
                    capsize=2, ms=4)
        for yy in y[~ok]:
            ax.annotate("nothing spent", (0, yy), xytext=(4, 0), textcoords="offset points", va="center",
                        fontsize=7, color="#555555")
        ax.axvline(0, color="#555555", lw=0.8)
        ax.set_title(title)
        ax.set_xlabel(unit)
    axes[0].set_yticks(y, [plain(p) for p in table.policy])
    fig.tight_layout()
    return save(fig, path)


def cluster_map(panels: list[tuple[str, pd.DataFrame, pd.DataFrame, pd.DataFrame]], path: Path) -> Path:
    """The cluster on the regional grid: towns, firms sized by employees and coloured by trust, ties,
    institutions and the CDA. ``panels`` = [(title, firms, ties, places), ...]."""
    apply_style()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.9 * len(panels) + 0.8, 4.1), squeeze=False)
    fig.subplots_adjust(left=0.08, right=0.86, wspace=0.28, bottom=0.2)
    cmap = plt.get_cmap("viridis")
    all_firms = pd.concat([p[1] for p in panels])
    pad = 3
    x0, x1 = all_firms.x.min() - pad, all_firms.x.max() + pad
    y0, y1 = all_firms.y.min() - pad, all_firms.y.max() + pad
    rng = np.random.default_rng(0)
    for ax, (title, firms, ties, places) in zip(axes.flat, panels):
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
        ax.scatter(towns.x, towns.y, marker="s", s=18, facecolors="none", edgecolors="#000000", lw=0.8, zorder=3)
        for _, t in towns.iterrows():
            ax.annotate(t["name"], (t.x, t.y), xytext=(3, 3), textcoords="offset points", fontsize=6,
                        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.6})
        inst = places[~places.kind.isin(["town", "cda"])]
        ax.scatter(inst.x + 0.3, inst.y - 0.3, marker="^", s=22, color="#D55E00", zorder=3)
        cda = places[places.kind == "cda"]
        if len(cda):
            ax.scatter(cda.x - 0.3, cda.y + 0.3, marker="*", s=80, color="#E69F00", edgecolors="#000000", lw=0.5,
                       zorder=4)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        ax.set_title(title)
        ax.set_xlabel("east (cells of 5 km)")
        ax.set_ylabel("north (cells of 5 km)")
    cb = fig.colorbar(sc, cax=fig.add_axes((0.89, 0.25, 0.015, 0.6)))
    cb.set_label("mean trust in partners (0 = no tie)")
    handles = [plt.Line2D([], [], marker="s", ls="", mfc="none", mec="#000000", label="town"),
               plt.Line2D([], [], marker="^", ls="", color="#D55E00", label="institution / supplier"),
               plt.Line2D([], [], marker="*", ls="", color="#E69F00", mec="#000000", label="CDA", ms=9),
               plt.Line2D([], [], color="#999999", lw=0.8, label=f"tie with trust \u2265 {STRONG_TIE}"),
               plt.Line2D([], [], marker="o", ls="", color="#777777", label="firm (size = employees)")]
    fig.legend(handles=handles, loc="lower center", ncol=3, bbox_to_anchor=(0.47, -0.02))
    return save(fig, path)


MAX_NETWORK_NODES = 1500  # a force layout of more is slow and unreadable


def network(panels: list[tuple[str, pd.DataFrame, pd.DataFrame]], path: Path) -> Path:
    """The cooperation network (ties with mean trust >= STRONG_TIE), one panel per scenario.

    With several clusters (a province), the panels show the largest cluster
    only; beyond MAX_NETWORK_NODES connected firms, a fixed random sample of them.
    """
    import networkx as nx
    apply_style()
    note = ""
    if panels and panels[0][1].cluster.nunique() > 1:
        largest = panels[0][1].cluster.value_counts().idxmax()
        panels = [(t, f[f.cluster == largest], ti) for t, f, ti in panels]
        note = "Largest cluster only. "
    sampled = ""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.7), squeeze=False)
    for ax, (title, firms, ties) in zip(axes.flat, panels):
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
            sampled = f"A sample of {MAX_NETWORK_NODES:,} connected firms is drawn. "
        if g.number_of_nodes():
            layout = nx.spring_layout(g, seed=1, k=0.25)
            size = firms.set_index("unique_id").employees
            weights = [d["weight"] for _, _, d in g.edges(data=True)]
            nx.draw_networkx_edges(g, layout, ax=ax, width=0.4, alpha=0.6, edge_color=weights, edge_cmap=plt.get_cmap(
                "viridis"), edge_vmin=STRONG_TIE, edge_vmax=1.0)
            nx.draw_networkx_nodes(g, layout, ax=ax, node_size=[3 + 2 * np.sqrt(size.get(n, 1)) for n in g.nodes],
                                   node_color="#0072B2", alpha=0.8, linewidths=0)
        share = connected / max(len(firms), 1)
        ax.set_title(f"{title}\n{len(good)} ties, {share:.0%} of firms connected")
        ax.axis("off")
    fig.text(0.5, -0.02, f"{note}{sampled}Ties with mean trust \u2265 {STRONG_TIE}, coloured from {STRONG_TIE} (dark) to 1 (yellow); "
             "dot size = employees; layout by ties, not by place.", ha="center", fontsize=8)
    fig.tight_layout()
    return save(fig, path)
