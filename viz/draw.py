"""What the dashboard shows: the regional map (matplotlib) and the live plots (ECharts).

The map is plain matplotlib (a ``Figure`` object, no pyplot state), so that it
can be drawn in a server thread, tested and timed without a browser: one
scatter for the firms and one ``LineCollection`` for all ties instead of an
artist per agent, built once per model and updated each month. The plots are
an ECharts option, drawn by the browser: the server only sends the numbers.
Together they keep a 2,000-firm cluster well under a second a month.
"""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from conf import outcomes, palette, plot_style
from model.observation import places
from viz.labels import place_labels

OUTCOMES = outcomes()

PALETTE = palette()  # Okabe-Ito, as the brief's figures (conf/khusheh.mplstyle)
CLUSTER_COLOURS = PALETTE[1:]
TRUST_CMAP = "viridis"
STYLE = plot_style()

PHASES = {  # the CDA's phase in plain words
    "none": "no CDA at work", "diagnostic": "diagnostic", "trust_building": "trust building",
    "pilot": "pilot joint actions", "strategic": "strategic projects", "exit": "exit and hand-over",
    "ended": "ended (CDA has left)",
}

PLOTS = tuple((name, OUTCOMES[name].label, OUTCOMES[name].unit)  # column, title, unit (conf/outcomes.yaml)
              for name in ("mean_trust", "joint_actions", "network_density", "employment", "output", "exports"))


def jitter(slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A fixed offset within its 5 km cell for each firm slot, so that a cell's firms are all seen
    and a firm does not jump about from one month to the next (an additive recurrence, no RNG)."""
    s = slots.astype(float) + 1.0
    jx = (s * 0.7548776662466927) % 1.0 - 0.5
    jy = (s * 0.5698402909980532) % 1.0 - 0.5
    return 0.84 * jx, 0.84 * jy


def map_data(model) -> dict:
    """What the map shows, as arrays: firms (position, size, trust, cluster), ties and places."""
    f = model.firms
    ties = model.ties
    live = f.live()
    jx, jy = jitter(live)
    x = np.full(f.capacity, np.nan)
    y = np.full(f.capacity, np.nan)
    x[live], y[live] = f.x[live] + jx, f.y[live] + jy
    deg = ties.degree(f.capacity)
    # a firm's mean trust in its partners (as model.observation.snapshot's mean_tie_trust), 0 without ties
    trust_out = np.bincount(ties.i, weights=ties.trust_ij, minlength=f.capacity) + np.bincount(
        ties.j, weights=ties.trust_ji, minlength=f.capacity)
    trust = np.divide(trust_out, deg, out=np.zeros(f.capacity), where=deg > 0)
    tie_trust = (ties.trust_ij + ties.trust_ji) / 2.0
    return {
        "x": x[live], "y": y[live], "employees": f.employees[live].astype(float), "trust": trust[live],
        "cluster": f.cluster[live],
        "segments": np.stack([np.column_stack([x[ties.i], y[ties.i]]), np.column_stack([x[ties.j], y[ties.j]])],
                             axis=1) if len(ties) else np.zeros((0, 2, 2)),
        "tie_trust": tie_trust,
        "places": places(model),
    }


class MapView:
    """The region: towns, firms sized by employees and coloured by trust in their partners (or by
    cluster when there are several), ties, support institutions and suppliers, and the CDA.

    The figure and its artists are built once per model; :meth:`update` moves the data into them
    (about half the cost of a new figure each month)."""

    def __init__(self, model, width: float = 6.4, height: float = 5.6):
        self.by_cluster = model.n_clusters > 1
        with matplotlib.rc_context(STYLE):
            fig = self.figure = Figure(figsize=(width, height), dpi=90)
            ax = self.ax = fig.add_axes((0.08, 0.17, 0.76, 0.76))
            self.ties = LineCollection([], linewidths=0.4, zorder=1)
            ax.add_collection(self.ties)
            if self.by_cluster:
                self.firms = ax.scatter([], [], s=[], edgecolors="none", alpha=0.8, zorder=2)
            else:
                self.firms = ax.scatter([], [], s=[], c=[], cmap=TRUST_CMAP, vmin=0, vmax=1, edgecolors="none",
                                        alpha=0.85, zorder=2)
                cb = fig.colorbar(self.firms, cax=fig.add_axes((0.87, 0.25, 0.025, 0.6)))
                cb.set_label("firm's mean trust in its partners (0 = no tie)")
            # the cluster's part of the region (firms at the start plus a margin) stays put while it runs
            live = model.firms.live()
            pad = 3
            x0, x1 = model.firms.x[live].min() - pad, model.firms.x[live].max() + pad
            y0, y1 = model.firms.y[live].min() - pad, model.firms.y[live].max() + pad
            pl = places(model)
            towns = pl[(pl.kind == "town") & pl.x.between(x0, x1) & pl.y.between(y0, y1)]
            ax.scatter(towns.x, towns.y, marker="s", s=30, facecolors="none", edgecolors="#000000", lw=0.9,
                       zorder=3)
            inst = pl[~pl.kind.isin(["town", "cda"])]
            ax.scatter(inst.x + 0.3, inst.y - 0.3, marker="^", s=30, color=PALETTE[4], edgecolors="white", lw=0.4,
                       zorder=3)
            self.cda = ax.scatter([], [], marker="*", s=160, color=PALETTE[2], edgecolors="#000000", lw=0.6,
                                  zorder=4)
            ax.set_xlim(x0 - 0.5, x1 + 0.5)
            ax.set_ylim(y0 - 0.5, y1 + 0.5)
            ax.set_aspect("equal")
            # town names that never collide (towns one cell apart, as Adrian and Khomeinishahr): the clusters'
            # own towns choose first, then the others by name
            own = {spec.town for spec in model.params.clusters}
            towns = towns.assign(own=~towns["name"].isin(own)).sort_values(["own", "name"], kind="stable")
            self.town_labels = place_labels(
                ax, list(towns.x), list(towns.y), list(towns["name"]), fontsize=7, zorder=5,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})
            ax.set_xlabel(f"east (cells of {model.params.cell_km:g} km)")
            ax.set_ylabel(f"north (cells of {model.params.cell_km:g} km)")
            self.title = ax.set_title("")
            handles = [Line2D([], [], marker="s", ls="", mfc="none", mec="#000000", label="town"),
                       Line2D([], [], marker="^", ls="", color=PALETTE[4], label="institution / supplier"),
                       Line2D([], [], marker="*", ls="", color=PALETTE[2], mec="#000000", ms=10,
                              label="CDA (at work)"),
                       Line2D([], [], color="#595959", lw=0.8, label="tie (darker = more trust)")]
            if self.by_cluster and model.n_clusters <= len(CLUSTER_COLOURS):
                handles += [Line2D([], [], marker="o", ls="", color=CLUSTER_COLOURS[c],
                                   label=f"firm of {spec.name}") for c, spec in enumerate(model.params.clusters)]
            elif self.by_cluster:
                handles.append(Line2D([], [], marker="o", ls="", color="#777777",
                                      label="firm (size = employees, colour = cluster)"))
            else:
                handles.append(Line2D([], [], marker="o", ls="", color="#777777", label="firm (size = employees)"))
            fig.legend(handles=handles, loc="lower center", ncol=3, bbox_to_anchor=(0.48, 0.0))
        self.update(model)

    def update(self, model) -> Figure:
        d = map_data(model)
        alpha = np.clip(0.08 + 0.5 * d["tie_trust"], 0.08, 0.6)
        colours = np.zeros((len(alpha), 4))
        colours[:, :3] = 0.35
        colours[:, 3] = alpha
        self.ties.set_segments(d["segments"])
        self.ties.set_color(colours)
        self.firms.set_offsets(np.column_stack([d["x"], d["y"]]))
        self.firms.set_sizes(4 + 3 * np.sqrt(d["employees"]))
        if self.by_cluster:
            self.firms.set_facecolor(np.array(CLUSTER_COLOURS)[d["cluster"] % len(CLUSTER_COLOURS)])
        else:
            self.firms.set_array(d["trust"])
        cda = d["places"][d["places"].kind == "cda"]
        self.cda.set_offsets(np.column_stack([cda.x - 0.3, cda.y + 0.3]) if len(cda) else np.zeros((0, 2)))
        names = model.params.clusters[0].name if model.n_clusters == 1 else f"{model.n_clusters} clusters"
        self.title.set_text(f"{names}: month {model.month}, {len(d['x']):,} firms, {len(d['segments']):,} ties")
        return self.figure


def plots_option(model) -> dict:
    """The live plots as an ECharts option (drawn in the browser; the server only sends the numbers):
    one panel per outcome, month by month, with the CDA's contract shaded. Hover for values."""
    series = model.series()
    pol = model.params.policy
    funded = any(c is not None and c.funded for c in model.cdas)
    months = list(map(int, series["month"]))
    option: dict = {"animation": False, "title": [], "grid": [], "xAxis": [], "yAxis": [], "series": [],
                    "tooltip": {"trigger": "axis"}, "axisPointer": {"link": [{"xAxisIndex": "all"}]}}
    for k, (col, title, unit) in enumerate(PLOTS):
        row, column = divmod(k, 2)
        left, top = 9 + 50 * column, 7 + 31 * row
        option["title"].append({"text": f"{title} [{unit}]", "left": f"{left - 4}%", "top": f"{top - 5.5}%",
                                "textStyle": {"fontSize": 12, "fontWeight": "normal"}})
        option["grid"].append({"left": f"{left - 4}%", "top": f"{top}%", "width": "40%", "height": "20%",
                               "containLabel": True})  # room for long numbers (a province's output)
        option["xAxis"].append({"gridIndex": k, "type": "value", "min": 0, "max": max(model.params.months, 1),
                                "name": "month" if row == 2 else "", "nameLocation": "middle", "nameGap": 22,
                                "axisLabel": {"show": row == 2}})
        option["yAxis"].append({"gridIndex": k, "type": "value", "scale": True, "splitNumber": 3})
        values = [float(v) for v in series[col]]
        line = {"type": "line", "name": title, "xAxisIndex": k, "yAxisIndex": k, "showSymbol": False,
                "data": [list(p) for p in zip(months, values)], "lineStyle": {"width": 1.6},
                "color": PALETTE[1]}
        if funded:
            line["markArea"] = {"silent": True, "itemStyle": {"color": PALETTE[2], "opacity": 0.15},
                                "data": [[{"xAxis": pol.start_month}, {"xAxis": pol.start_month + pol.duration_months}]]}
        option["series"].append(line)
    if funded:
        option["graphic"] = [{"type": "text", "left": "center", "bottom": 4,
                              "style": {"text": "shaded: the CDA's contract", "fill": "#555555", "fontSize": 11}}]
    return option


def cda_status(model) -> dict:
    """The CDA's phase (plain words) and budget, summed over the region's CDAs."""
    cdas = [c for c in model.cdas if c is not None]
    budget = sum(c.budget for c in cdas)
    left = sum(c.budget_left for c in cdas)
    phase = model.stats.get("cda_phase", "none")
    return {"phase": phase, "phase_text": PHASES.get(phase, phase), "budget": budget, "left": left,
            "spent": budget - left}
