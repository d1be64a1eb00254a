"""``khusheh-report --sensitivity``: which uncertain parameters drive the policy's effect (SALib).

Reads a sweep of ``experiment=sensitivity`` (every row of a design run with and
without the CDA on common seeds), takes as output the *effect* of the policy
(the CDA run minus the baseline on the same seed and row, averaged over seeds)
at the horizon, and computes Morris elementary effects (mu*, sigma) or Sobol
indices (first order and total) with SALib. Writes ``indices.csv``,
``figures/`` and ``sensitivity.html``/``.pdf``.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from jinja2 import Environment  # noqa: E402

from scenarios.results import atomic_write, read_config  # noqa: E402

from . import figures as fig  # noqa: E402
from .collect import BASELINE, ResultsError, collect  # noqa: E402
from .pdf import write_pdf  # noqa: E402

ROW = "sim.design_row"  # the identity column of a design's row
# the outcomes screened, with their labels (conf/outcomes.yaml)
OUTCOMES = {name: f"{fig.OUTCOMES[name].label.lower()} ({fig.OUTCOMES[name].unit})"
            for name in ("mean_trust", "employment", "joint_actions")}


def effects_by_row(summary: pd.DataFrame, policy: str, baseline: str = BASELINE, when: str = "horizon") -> pd.DataFrame:
    """Per design row: the policy's effect on each outcome, the mean over seeds of paired differences."""
    cols = [f"{o}_{when}" for o in OUTCOMES]
    keyed = summary.set_index(["policy", ROW, "seed"])[cols]
    pol, base = keyed.loc[policy], keyed.loc[baseline]
    both = pol.index.intersection(base.index)
    diff = (pol.loc[both] - base.loc[both]).groupby(level=ROW).mean()
    diff.columns = list(OUTCOMES)
    return diff


def _design_of(col) -> tuple[pd.DataFrame, dict]:
    cfg = read_config(next(iter(col.folders.values())))
    path = Path(cfg.get("sim", {}).get("design", ""))
    if not path.is_file() or not (path.parent / "problem.json").is_file():
        raise ResultsError(f"the runs name no readable design (sim.design = {str(path)!r}); run the sweep with "
                           "sim.design=.../design.csv from khusheh-sensitivity design")
    return pd.read_csv(path), json.loads((path.parent / "problem.json").read_text())


def analyse(sweeps, policy: str = "standard_cda", baseline: str = BASELINE) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """(indices table, design metadata, effects by row)."""
    col = collect(sweeps)
    summary = col.summary
    if ROW not in summary or summary[ROW].isna().all():
        raise ResultsError("these runs are not a sensitivity sweep (no sim.design_row)")
    summary = summary.astype({ROW: int})
    design, meta = _design_of(col)
    eff = effects_by_row(summary, policy, baseline)
    missing = sorted(set(design.row) - set(eff.index))
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise ResultsError(f"{len(missing)} design rows have no complete pair of runs ({shown}); rerun the sweep "
                           "into the same folder to finish them")
    eff = eff.loc[design.row]
    problem = meta["problem"]
    x = design[problem["names"]].to_numpy()
    rows = []
    for outcome in OUTCOMES:
        y = eff[outcome].to_numpy(dtype=float)
        if meta["method"] == "morris":
            from SALib.analyze import morris
            si = morris.analyze(problem, x, y, num_levels=4, seed=meta["seed"])
            for k, name in enumerate(problem["names"]):
                rows.append({"outcome": outcome, "parameter": name, "mu_star": si["mu_star"][k],
                             "mu_star_conf": si["mu_star_conf"][k], "sigma": si["sigma"][k], "mu": si["mu"][k]})
        else:
            from SALib.analyze import sobol
            si = sobol.analyze(problem, y, calc_second_order=False, seed=meta["seed"])
            for k, name in enumerate(problem["names"]):
                rows.append({"outcome": outcome, "parameter": name, "S1": si["S1"][k], "S1_conf": si["S1_conf"][k],
                             "ST": si["ST"][k], "ST_conf": si["ST_conf"][k]})
    table = pd.DataFrame(rows)
    key = "mu_star" if meta["method"] == "morris" else "ST"
    table["rank"] = table.groupby("outcome")[key].rank(ascending=False, method="first").astype(int)
    return table.sort_values(["outcome", "rank"], ignore_index=True), meta, eff


def _figure(table: pd.DataFrame, method: str, path: Path) -> Path:
    fig.apply_style()
    f, axes = plt.subplots(1, len(OUTCOMES), figsize=(11, 3.6))
    for ax, outcome in zip(axes, OUTCOMES):
        t = table[table.outcome == outcome]
        if method == "morris":
            ax.scatter(t.mu_star, t.sigma, color=fig.PALETTE[1], s=18)
            for _, r in t[t["rank"] <= 4].iterrows():
                ax.annotate(r.parameter, (r.mu_star, r.sigma), fontsize=7, xytext=(3, 3), textcoords="offset points")
            ax.set(xlabel="mu* (mean |elementary effect|)", ylabel="sigma (interactions, non-linearity)")
        else:
            t = t.sort_values("ST")
            y = np.arange(len(t))
            ax.barh(y + 0.2, t.ST, 0.4, xerr=t.ST_conf, color=fig.PALETTE[1], label="total (ST)")
            ax.barh(y - 0.2, t.S1, 0.4, xerr=t.S1_conf, color=fig.PALETTE[2], label="first order (S1)")
            ax.set_yticks(y, t.parameter, fontsize=7)
            ax.set(xlabel="Sobol index")
            if ax is axes[0]:
                ax.legend(fontsize=7)
        ax.set_title(f"effect on {OUTCOMES[outcome]}", fontsize=9)
    f.tight_layout()
    return fig.save(f, path)


def build(sweeps, out: Path, policy: str = "standard_cda") -> dict:
    table, meta, eff = analyse(sweeps, policy)
    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    atomic_write(out / "indices.csv", lambda tmp: table.to_csv(tmp, index=False))
    atomic_write(out / "effects_by_row.csv", lambda tmp: eff.to_csv(tmp))
    info = {"policy": policy, "method": meta["method"], "points": len(eff), "parameters": meta["problem"]["names"],
            "clusters": sorted(map(str, collect(sweeps).summary.cluster_preset.unique()))}
    atomic_write(out / "meta.json", lambda tmp: tmp.write_text(json.dumps(info, indent=1) + "\n"))
    figure = _figure(table, meta["method"], out / "figures" / "indices.png")
    key = "mu_star" if meta["method"] == "morris" else "ST"
    conf = "mu_star_conf" if key == "mu_star" else "ST_conf"
    top = {o: [{"parameter": r.parameter, "value": f"{getattr(r, key):.3g} \u00b1 {getattr(r, conf):.2g}"}
               for r in table[(table.outcome == o) & (table["rank"] <= 3)].itertuples()] for o in OUTCOMES}
    spread = {o: f"{eff[o].min():,.3g} to {eff[o].max():,.3g}".replace("-", "\u2212") for o in OUTCOMES}
    sign = {o: f"{(eff[o] > 0).mean():.0%}" for o in OUTCOMES}
    text = Environment(autoescape=True).from_string(TEMPLATE).render(
        method=meta["method"], n_rows=len(eff), names=meta["problem"]["names"], bounds=meta["problem"]["bounds"],
        top=top, outcomes=OUTCOMES, key="mu*" if key == "mu_star" else "total Sobol index", spread=spread, sign=sign,
        policy=fig.plain(policy), figure=figure.relative_to(out).as_posix(), today=date.today().isoformat())
    atomic_write(out / "sensitivity.html", lambda tmp: tmp.write_text(text))
    write_pdf(text, out, out / "sensitivity.pdf")
    return {"indices": out / "indices.csv", "html": out / "sensitivity.html", "pdf": out / "sensitivity.pdf",
            "figure": figure, "top": top}


HOLDS = 0.95  # an effect of one sign at this share of the design's points or more "holds across the ranges"


def caveats(results: Path) -> list[str]:
    """Sentences for a brief: which of the CDA's effects keep their sign across the sensitivity design.

    ``results`` is a folder written by ``khusheh-report --sensitivity``.
    """
    results = Path(results)
    try:
        eff = pd.read_csv(results / "effects_by_row.csv")
        table = pd.read_csv(results / "indices.csv")
        info = json.loads((results / "meta.json").read_text())
    except (OSError, ValueError) as err:
        raise ResultsError(f"{results}: not a readable sensitivity report ({type(err).__name__}); "
                           "write one with khusheh-report --sensitivity") from None
    clusters = " and ".join(c.replace("_", " ") for c in info["clusters"])
    where = (f"In a sensitivity analysis of the programme \u201c{fig.plain(info['policy'])}\u201d on the {clusters} "
             f"cluster ({info['points']} points of "
             f"{len(info['parameters'])} uncertain behavioural parameters, each run with and without the CDA)")
    out = []
    for outcome, label in OUTCOMES.items():
        if outcome not in eff:
            continue
        share = float((eff[outcome] > 0).mean())
        top = table[table.outcome == outcome].sort_values("rank").parameter.head(3).tolist()
        lo, hi = eff[outcome].min(), eff[outcome].max()
        about = fig.OUTCOMES[outcome]
        span = f"{about.format(lo, True)} to {about.format(hi, True)}".replace("-", "\u2212")
        if share >= HOLDS or share <= 1 - HOLDS:
            verdict = (f"has the same sign at {max(share, 1 - share):.0%} of the points ({span}): this conclusion "
                       "holds across the parameters' plausible ranges")
        else:
            verdict = (f"is positive at only {share:.0%} of the points ({span}): this conclusion can flip within the "
                       "parameters' plausible ranges")
        out.append(f"{where}, the effect on {label} {verdict}. It depends most on {', '.join(top)}.")
        where = "In the same analysis"
    return out


TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Khusheh sensitivity analysis</title>
<style>
 @page { size: A4 landscape; margin: 14mm; }
 body { font-family: "DejaVu Sans", sans-serif; font-size: 9.5pt; line-height: 1.35; color: #111; }
 h1 { font-size: 15pt; } h2 { font-size: 11.5pt; border-bottom: 1px solid #ccc; }
 table { border-collapse: collapse; font-size: 8.5pt; } th, td { border-bottom: 1px solid #ddd; padding: 1.2mm 3mm; text-align: left; }
 th { background: #f3f6fa; } img { width: 100%; } .small { font-size: 8pt; color: #444; }
</style></head><body>
<h1>Which uncertain parameters drive the effect of the {{ policy }}?</h1>
<p class="small">Khusheh &middot; {{ method }} design, {{ n_rows }} parameter points, each run with and without the
CDA on common seeds &middot; {{ today }}</p>
<p>The output is the programme's <b>effect</b> at the horizon: the run with the CDA minus the run without it, on the
same seed and parameters, averaged over seeds. Across the design the effect on mean trust ranges {{ spread.mean_trust }}
(positive in {{ sign.mean_trust }} of the points), on employment {{ spread.employment }} (positive in
{{ sign.employment }}), on joint actions {{ spread.joint_actions }} (positive in {{ sign.joint_actions }}).</p>
<table><tr><th>effect on</th><th>most influential parameters ({{ key }} \u00b1 its 95% bootstrap interval)</th></tr>
{% for o, label in outcomes.items() %}<tr><td>{{ label }}</td><td>{% for t in top[o] %}{{ t.parameter }} ({{ t.value }}){% if not loop.last %}, {% endif %}{% endfor %}</td></tr>{% endfor %}
</table>
<p class="small">Where sigma is as large as mu* or larger, a parameter acts through interactions or non-linearly,
or the effect is noisy at this number of seeds; overlapping intervals mean the order is not settled. An effect
whose sign changes across the design (positive in fewer than all points) is a conclusion that can flip within the
parameters' plausible ranges.</p>
<img src="{{ figure }}" alt="indices">
<h2>Parameters and ranges</h2>
<table><tr><th>parameter</th><th>range</th></tr>
{% for n in names %}<tr><td>{{ n }}</td><td>{{ bounds[loop.index0][0] }} to {{ bounds[loop.index0][1] }}</td></tr>{% endfor %}
</table>
</body></html>
"""
