"""``khusheh-report ROBUST_FOLDER``: the page "Which programme is robust?" of a ``khusheh-robust`` run.

Reads ``robustness.parquet`` (a row per uncertain world, programme and seed: the paired effects, programme
minus baseline on the same world and seed) through :mod:`scenarios.results`, and reports per programme:

- the share of worlds in which its effect (the mean over the world's seeds) is positive, on cooperation
  (:data:`COOPERATION`) and on growth (:data:`GROWTH`), and the median effect over worlds;
- its **regret** in each world: the best programme's effect in that world minus its own, on each of the two
  outcomes (zero for the best programme; the median and the maximum over worlds are reported; the
  programme with the smallest maximum is the minimax-regret choice);
- which uncertain parameters make it fail: PRIM scenario discovery (EMA workbench's ``prim.Prim``) of the
  worlds where its effect is ``<= 0``;
- whether the seeds settle the sign: a world's sign is *settled* when its mean effect is at least two standard
  errors (seed-level SD / sqrt(seeds)) from zero; the seeds the median world would need for that.

Writes ``robust.csv`` (the table), ``robust_worlds.csv`` (world-level effects and regret),
``figures/robust.png`` and ``robust.html``/``robust.pdf`` in the report's folder.
"""

from __future__ import annotations

import math
import warnings
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from jinja2 import Environment  # noqa: E402

from scenarios.results import ROBUSTNESS, ROBUSTNESS_META, atomic_write, read_robustness  # noqa: E402

from . import figures as fig  # noqa: E402
from .collect import ResultsError  # noqa: E402
from .pdf import write_pdf  # noqa: E402

COOPERATION = "joint_actions"  # the cooperation outcome: joint actions under way at the horizon
GROWTH = "employment"  # the growth outcome: workers employed at the horizon
ASPECTS = {"cooperation": COOPERATION, "growth": GROWTH}
SETTLED_SE = 2.0  # a world's sign is settled when |mean effect| >= this many standard errors
DENSITY = 0.8  # a PRIM box is reported if at least this share of its worlds fail (else the densest box)
MAX_DIMS = 3  # ... restricting at most this many parameters, so that it can be read
MIN_FAILS = 3  # fewer failing worlds than this: too few to describe where it fails
QP = 0.05  # a PRIM box's restriction is reported if its quasi-p value (EMA workbench) is at most this


def effect(outcome: str) -> str:
    return f"{outcome}_effect_horizon"


def world_effects(table: pd.DataFrame, outcomes=tuple(ASPECTS.values())) -> pd.DataFrame:
    """Per programme and world: each outcome's mean effect over the world's seeds (``<outcome>``), its seed
    SD (``<outcome>_sd``) and the number of seeds (``n_seeds``)."""
    g = table.groupby(["policy", "world"])
    cols = [effect(o) for o in outcomes]
    mean = g[cols].mean().rename(columns=dict(zip(cols, outcomes)))
    sd = g[cols].std(ddof=1).rename(columns={c: f"{o}_sd" for c, o in zip(cols, outcomes)})
    return pd.concat([mean, sd, g.size().rename("n_seeds")], axis=1).reset_index()


def regret(worlds: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """World x programme: the best programme's mean effect on ``outcome`` in the world minus this one's
    (``worlds``: :func:`world_effects`; a world missing a programme gets NaN for that programme)."""
    wide = worlds.pivot(index="world", columns="policy", values=outcome)
    return wide.max(axis=1).to_numpy()[:, None] - wide


def settled(mean: pd.Series, sd: pd.Series, n: pd.Series) -> pd.Series:
    """Is each world's sign settled by its seeds (|mean| >= SETTLED_SE standard errors)?"""
    se = sd / np.sqrt(n)
    return (n >= 2) & (mean.abs() >= SETTLED_SE * se) & (se.notna())


def seeds_needed(mean: pd.Series, sd: pd.Series) -> float:
    """Seeds for the median world's sign to be settled: (SETTLED_SE x median seed SD / median |effect|)^2."""
    m, s = float(mean.abs().median()), float(sd.median())
    if not (np.isfinite(m) and np.isfinite(s)) or m == 0:
        return math.nan
    return float(max(2, math.ceil((SETTLED_SE * s / m) ** 2)))


def discover(x: pd.DataFrame, fails: np.ndarray) -> dict:
    """PRIM (EMA workbench) on the worlds where a programme fails: the box of uncertain values in which
    failure concentrates. Returns ``text`` (the box in words), ``coverage``, ``density`` and ``limits``."""
    fails = np.asarray(fails, dtype=bool)
    n_fail = int(fails.sum())
    if n_fail == 0:
        return {"text": "never (effect positive in every world)", "coverage": math.nan, "density": math.nan,
                "limits": []}
    if n_fail == len(fails):
        return {"text": "in every world", "coverage": 1.0, "density": 1.0, "limits": []}
    if n_fail < MIN_FAILS:
        return {"text": f"in only {n_fail} world(s): too few to say where", "coverage": math.nan,
                "density": math.nan, "limits": []}
    with warnings.catch_warnings():  # EMA warns at import of an optional package (ipyparallel) it does not need
        warnings.simplefilter("ignore", UserWarning)
        from ema_workbench.analysis import prim

    with warnings.catch_warnings():  # EMA's PRIM uses DataFrame.drop(inplace=True), which pandas deprecates
        warnings.filterwarnings("ignore", message="The inplace keyword")
        box = prim.Prim(x, fails).find_box()
    traj = box.peeling_trajectory
    # the largest box at least DENSITY dense; else, among boxes holding half the failures or more, the densest
    dense = traj[traj.density >= DENSITY]
    broad = traj[traj.coverage >= 0.5]
    i = int(dense.coverage.idxmax() if len(dense) else (broad if len(broad) else traj).density.idxmax())
    stats, lims = box.inspect(i, style="data")[0]
    coverage, density = float(stats["coverage"]), float(stats["density"])
    start = box.box_lims[0]  # the first box: the sampled worlds' own range of each parameter
    limits = []
    for name in lims.index:
        lo, hi = float(lims.iloc[lims.index.get_loc(name), 0]), float(lims.iloc[lims.index.get_loc(name), 1])
        qp = np.nanmin(lims.iloc[lims.index.get_loc(name), 2:].to_numpy(dtype=float))
        if not qp <= QP:  # a restriction that may be chance (EMA's quasi-p value): not reported
            continue
        r_lo, r_hi = float(start[name].iloc[0]), float(start[name].iloc[1])
        if np.isclose(lo, r_lo):
            words = f"{name} \u2264 {hi:.3g}"
        elif np.isclose(hi, r_hi):
            words = f"{name} \u2265 {lo:.3g}"
        else:
            words = f"{lo:.3g} \u2264 {name} \u2264 {hi:.3g}"
        limits.append({"parameter": name, "low": lo, "high": hi, "words": words, "qp": float(qp)})
    limits = sorted(limits, key=lambda lim: lim["qp"])[:MAX_DIMS]
    if not limits:
        return {"text": f"in {n_fail} of {len(fails)} worlds, in no region PRIM can single out (no restriction "
                        f"with a quasi-p value \u2264 {QP})", "coverage": math.nan, "density": math.nan, "limits": []}
    text = (f"in {n_fail} of {len(fails)} worlds, mostly where " + " and ".join(lim["words"] for lim in limits)
            + f" ({density:.0%} of such worlds fail; they hold {coverage:.0%} of the failures)")
    return {"text": text, "coverage": coverage, "density": density, "limits": limits}


def scores(x: pd.DataFrame, fails: np.ndarray, top: int = 3) -> str:
    """The parameters that best separate failing worlds from the others: EMA workbench's extra-trees
    feature scores (fixed random state), the ``top`` highest, as text."""
    fails = np.asarray(fails, dtype=bool)
    if fails.all() or not fails.any():
        return ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        from ema_workbench.analysis import feature_scoring
    table, _ = feature_scoring.get_ex_feature_scores(x, fails.astype(int), random_state=0)
    return ", ".join(f"{name} ({float(v):.2f})" for name, v in table.iloc[:top, 0].items())


def analyse(table: pd.DataFrame, meta: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per programme, one row per programme and world)."""
    worlds = world_effects(table)
    params = [p for p in meta["uncertainties"] if p in table.columns]
    x = table.drop_duplicates("world").set_index("world")[params].sort_index()
    for aspect, outcome in ASPECTS.items():
        reg = regret(worlds, outcome).stack().rename(f"{outcome}_regret").reset_index()
        worlds = worlds.merge(reg, on=["world", "policy"], how="left")
    rows = []
    for policy in fig.ordered(worlds.policy.unique()):
        w = worlds[worlds.policy == policy].set_index("world").sort_index()
        row = {"programme": policy, "worlds": len(w), "seeds": int(w.n_seeds.median())}
        for aspect, outcome in ASPECTS.items():
            mean, sd = w[outcome], w[f"{outcome}_sd"]
            row[f"{aspect}_positive"] = float((mean > 0).mean())
            row[f"{aspect}_median"] = float(mean.median())
            row[f"{aspect}_regret_median"] = float(w[f"{outcome}_regret"].median())
            row[f"{aspect}_regret_max"] = float(w[f"{outcome}_regret"].max())
            row[f"{aspect}_settled"] = float(settled(mean, sd, w.n_seeds).mean())
            row[f"{aspect}_seeds_needed"] = seeds_needed(mean, sd)
            found = discover(x.loc[w.index], (mean <= 0).to_numpy())
            row[f"{aspect}_fails_when"] = found["text"]
            row[f"{aspect}_fail_parameters"] = ", ".join(lim["parameter"] for lim in found["limits"])
            row[f"{aspect}_fail_scores"] = (scores(x.loc[w.index], (mean <= 0).to_numpy())
                                            if (mean <= 0).sum() >= MIN_FAILS else "")
        rows.append(row)
    return pd.DataFrame(rows), worlds


def _figure(worlds: pd.DataFrame, programmes, path: Path) -> Path:
    fig.apply_style()
    f, axes = plt.subplots(2, 2, figsize=(11, 6.4))
    labels = [fig.plain(p) for p in programmes]
    for col, (aspect, outcome) in enumerate(ASPECTS.items()):
        about = fig.OUTCOMES[outcome]
        for row, (value, title) in enumerate(((outcome, f"effect on {about.label.lower()}"),
                                              (f"{outcome}_regret", f"regret on {about.label.lower()}"))):
            ax = axes[row, col]
            data = [worlds.loc[worlds.policy == p, value].dropna().to_numpy() for p in programmes]
            ax.boxplot(data, orientation="horizontal", tick_labels=labels, widths=0.6, showfliers=False)
            for k, d in enumerate(data):
                jitter = np.linspace(-0.18, 0.18, len(d)) if len(d) > 1 else np.zeros(len(d))
                ax.scatter(d, np.full(len(d), k + 1) + jitter, s=7, alpha=0.6, color=fig.PALETTE[1])
            ax.invert_yaxis()  # the first programme on top, as in the table
            if row == 0:
                ax.axvline(0, color="#555", lw=0.8, ls="--")
            ax.set_title(f"{aspect}: {title}", fontsize=9)
            ax.set_xlabel(f"{about.unit}; one dot a world (mean over its seeds)", fontsize=8)
            ax.tick_params(axis="y", labelsize=7 if col == 0 else 0)
            if col == 1:
                ax.set_yticklabels([])
    f.tight_layout()
    return fig.save(f, path)


def build(folder: Path, out: Path) -> dict:
    """Read the robustness run in ``folder`` and write its page into ``out``; returns the paths written."""
    folder, out = Path(folder), Path(out)
    if not (folder / ROBUSTNESS_META).is_file():
        raise ResultsError(f"{folder}: no {ROBUSTNESS_META}: the khusheh-robust run did not finish (run it again)")
    try:
        table, meta = read_robustness(folder)
    except ValueError as err:
        raise ResultsError(str(err)) from None
    missing = [c for c in ("policy", "world", "seed", *(effect(o) for o in ASPECTS.values())) if c not in table]
    if missing or table.empty:
        raise ResultsError(f"{folder / ROBUSTNESS}: no {', '.join(missing) or 'rows'}: not a khusheh-robust table")
    summary, worlds = analyse(table, meta)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    atomic_write(out / "robust.csv", lambda tmp: summary.to_csv(tmp, index=False))
    atomic_write(out / "robust_worlds.csv", lambda tmp: worlds.to_csv(tmp, index=False))
    programmes = list(summary.programme)
    figure = _figure(worlds, programmes, out / "figures" / "robust.png")
    text = render(summary, meta, figure.relative_to(out).as_posix())
    atomic_write(out / "robust.html", lambda tmp: tmp.write_text(text, encoding="utf-8"))
    write_pdf(text, out, out / "robust.pdf")
    return {"table": out / "robust.csv", "worlds": out / "robust_worlds.csv", "html": out / "robust.html",
            "pdf": out / "robust.pdf", "figure": figure, "summary": summary}


def _num(value: float, outcome: str, signed: bool = True) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return fig.OUTCOMES[outcome].format(value, signed).replace("-", "\u2212")


def verdicts(summary: pd.DataFrame) -> list[str]:
    """The page's conclusions in words, from the table."""
    out = []
    for aspect, outcome in ASPECTS.items():
        label = fig.OUTCOMES[outcome].label.lower()
        best = summary.loc[summary[f"{aspect}_regret_max"].idxmin()]
        most = summary.loc[summary[f"{aspect}_positive"].idxmax()]
        unit = fig.OUTCOMES[outcome].unit
        out.append(f"On {aspect} ({label}), the smallest worst-case regret: {fig.plain(best.programme)} (in no world "
                   f"more than {_num(best[f'{aspect}_regret_max'], outcome, False)} {unit} behind the best "
                   f"programme there). Positive in the most worlds: {fig.plain(most.programme)} "
                   f"({most[f'{aspect}_positive']:.0%} of them).")
    return out


def render(summary: pd.DataFrame, meta: dict, figure: str) -> str:
    rows = []
    for r in summary.itertuples():
        cells = {}
        for aspect, outcome in ASPECTS.items():
            cells[aspect] = {
                "positive": f"{getattr(r, f'{aspect}_positive'):.0%}",
                "median": _num(getattr(r, f"{aspect}_median"), outcome),
                "regret": (f"{_num(getattr(r, f'{aspect}_regret_median'), outcome, False)} / "
                           f"{_num(getattr(r, f'{aspect}_regret_max'), outcome, False)}"),
                "settled": f"{getattr(r, f'{aspect}_settled'):.0%}",
                "needed": ("n/a" if not np.isfinite(getattr(r, f"{aspect}_seeds_needed"))
                           else f"{int(getattr(r, f'{aspect}_seeds_needed'))}"),
                "fails": getattr(r, f"{aspect}_fails_when"),
                "scores": getattr(r, f"{aspect}_fail_scores") or "",
            }
        rows.append({"name": fig.plain(r.programme), **cells})
    units = {a: fig.OUTCOMES[o].unit for a, o in ASPECTS.items()}
    labels = {a: fig.OUTCOMES[o].label.lower() for a, o in ASPECTS.items()}
    return Environment(autoescape=True).from_string(TEMPLATE).render(
        cluster=meta["cluster"].replace("_", " ").title(), worlds=meta["worlds"], seeds=len(meta["seeds"]),
        n_prog=len(summary), months=meta["months"], n_firms=meta.get("n_firms"), baseline=fig.plain(meta["baseline"]),
        rows=rows, units=units, labels=labels, verdicts=verdicts(summary), figure=figure,
        ranges=meta["uncertainties"], settled_se=SETTLED_SE, density=DENSITY, max_dims=MAX_DIMS, qp=QP,
        seconds=meta.get("provenance", {}).get("wall_seconds"), n_jobs=meta.get("n_jobs"),
        runs=meta.get("model_runs"), today=date.today().isoformat())


TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Which programme is robust? {{ cluster }}</title>
<style>
 @page { size: A4 landscape; margin: 12mm; }
 body { font-family: "DejaVu Sans", sans-serif; font-size: 9pt; line-height: 1.3; color: #111; }
 h1 { font-size: 15pt; margin: 0 0 2mm 0; } h2 { font-size: 11pt; border-bottom: 1px solid #ccc; margin: 4mm 0 2mm 0; }
 table { border-collapse: collapse; font-size: 7.5pt; width: 100%; }
 th, td { border-bottom: 1px solid #ddd; padding: 1mm 1.6mm; text-align: left; vertical-align: top; }
 th { background: #f3f6fa; } img { width: 82%; display: block; margin: auto; } .small { font-size: 7.5pt; color: #444; }
 .page { page-break-before: always; } tr, img { page-break-inside: avoid; }
</style></head><body>
<h1>Which programme is robust? {{ cluster }}</h1>
<p class="small">Khusheh &middot; {{ n_prog }} programmes &times; {{ worlds }} uncertain worlds &times; {{ seeds }}
seeds, horizon {{ months }} months{% if n_firms %}, {{ n_firms }} firms{% endif %}{% if runs %} &middot; {{ runs }}
model runs{% if seconds %} in {{ "%.0f"|format(seconds) }} s on {{ n_jobs }} process(es){% endif %}{% endif %}
&middot; {{ today }}</p>
<p>The behavioural parameters behind each effect are not known. Each <b>world</b> is one draw of all
{{ ranges|length }} uncertain parameters (a Latin hypercube over their plausible ranges, listed at the end); in each
world every programme is compared with {{ baseline }} on the same {{ seeds }} seeds. A programme's effect in a world
is the mean over those seeds. <b>Regret</b>: in each world, the effect of the best programme there minus this one's
(0 for the best), on cooperation ({{ labels.cooperation }}) and on growth ({{ labels.growth }}) at the horizon;
shown as median / maximum over the worlds. A robust programme does well in most worlds and is never far behind.</p>
<ul>{% for v in verdicts %}<li>{{ v }}</li>{% endfor %}</ul>
<table>
<tr><th rowspan="2">Programme</th><th colspan="4">Cooperation: {{ labels.cooperation }} ({{ units.cooperation }})</th>
<th colspan="4">Growth: {{ labels.growth }} ({{ units.growth }})</th></tr>
<tr><th>positive in</th><th>median effect</th><th>regret median / max</th><th>sign settled</th>
<th>positive in</th><th>median effect</th><th>regret median / max</th><th>sign settled</th></tr>
{% for r in rows %}<tr><td>{{ r.name }}</td>
<td>{{ r.cooperation.positive }}</td><td>{{ r.cooperation.median }}</td><td>{{ r.cooperation.regret }}</td><td>{{ r.cooperation.settled }} ({{ r.cooperation.needed }})</td>
<td>{{ r.growth.positive }}</td><td>{{ r.growth.median }}</td><td>{{ r.growth.regret }}</td><td>{{ r.growth.settled }} ({{ r.growth.needed }})</td></tr>{% endfor %}
</table>
<p class="small"><b>Positive in</b>: share of worlds with a mean effect above zero. <b>Sign settled</b>: share of
worlds whose mean effect is at least {{ settled_se }} standard errors (seed SD / &radic;seeds) from zero, so that
its sign is not a coin flip of the seeds; in brackets, the seeds the median world needs for that
(({{ settled_se }} &times; median seed SD / median |effect|)&sup2;). Where few signs are settled, "positive in"
mixes real effects with noise: run more seeds (khusheh-robust --seeds).</p>
<h2 class="page">Where each programme fails</h2>
<p>The worlds where a programme's effect is zero or negative, described by PRIM scenario discovery (EMA
workbench): the box of uncertain parameter values, restricting at most {{ max_dims }} parameters, in which failures
concentrate (the largest box where at least {{ "%.0f"|format(density * 100) }}% of worlds fail, else the densest
holding half the failures or more).
Only restrictions that are unlikely to be chance are named (EMA's quasi-p value at most {{ qp }}). Below each, in
grey, the parameters that best separate failing worlds from the others by EMA workbench's extra-trees feature
scores (a ranking, whatever the shape of the region; the scores sum to 1 over the {{ ranges|length }} parameters, so
a parameter that does not matter scores about {{ "%.2f"|format(1 / ranges|length) }}).</p>
<table><tr><th>Programme</th><th>Cooperation fails ...</th><th>Growth fails ...</th></tr>
{% for r in rows %}<tr><td>{{ r.name }}</td>{% for a in ("cooperation", "growth") %}<td>{{ r[a].fails }}{% if r[a].scores %}<br>
<span class="small">feature scores: {{ r[a].scores }}</span>{% endif %}</td>{% endfor %}</tr>{% endfor %}
</table>
<img src="{{ figure }}" alt="Effects and regret across worlds">
<p class="small">Top: each programme's effect in each world (dashed: no effect). Bottom: its regret. Boxes: quartiles
over worlds. Regret from means over few seeds is biased upwards (the best of several noisy means is
optimistic), most where signs are rarely settled.</p>
<h2>Uncertain parameters and ranges (conf/sensitivity.yaml)</h2>
<p class="small">{% for n, r in ranges.items() %}<b>{{ n }}</b> {{ r[0] }} to {{ r[1] }}{% if not loop.last %};
{% endif %}{% endfor %}.</p>
</body></html>
"""
