"""``khusheh-report --validation``: the eight stylised facts, checked on result files, one figure each, and
the model beside published programme evaluations (pattern 9).

    khusheh-run -m experiment=validation
    khusheh-report --validation multirun/validation/generic --out briefs/validation

Reads the runs of ``experiment=validation`` (the baseline, the standard CDA
with and without its association, trust-first and subsidy-only, and the
baseline under two shocks, on common seeds, with yearly snapshots), applies
``analysis.validation.checks`` (the same checks as the validation tests) and
writes ``validation.html``, ``validation.pdf``, ``checks.csv`` and ``figures/``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from jinja2 import Environment  # noqa: E402

from scenarios.results import atomic_write, read_snapshot, read_table, snapshot_path  # noqa: E402

from . import figures as fig  # noqa: E402
from .collect import ResultsError, collect  # noqa: E402
from .pdf import write_pdf  # noqa: E402
from .stats import half_width  # noqa: E402
from .validation import (  # noqa: E402
    CDA_END,
    EVALUATIONS,
    FLOOR_REACH,
    PATTERNS,
    SCENARIOS,
    SHOCKS,
    SIZE_CLASSES,
    YEARS,
    checks,
    ATTRIBUTION_MONTHS,
    attribution,
    cohort_survival,
    initial_trust_mean,
    participants,
    regimes,
    mean_series,
    paired_effect,
    shock_gaps,
    survival_by_cooperation,
    yearly_growth,
)

CDA_START = 12
COLOURS = {"none": fig.PALETTE[0], "standard_cda": fig.PALETTE[1], "no_association": fig.PALETTE[2],
           "trust_first": fig.PALETTE[3], "subsidy_only": fig.PALETTE[4]}


# ---------------------------------------------------------------- reading
def _override(overrides: str, key: str) -> str | None:
    """The value a run's ``overrides`` (summary's) set for ``key``, or None."""
    for o in str(overrides).split(","):
        if o.startswith(key + "="):
            return o.split("=", 1)[1]
    return None


def switched_off(overrides: str) -> str:
    """The mechanism a run has switched off (its ``switch=`` override, conf/switch/), or "none"."""
    return _override(overrides, "switch") or "none"


def load(sweeps) -> tuple[dict[str, list[dict]], list[int]]:
    """Runs by scenario (the policies without a shock, and each shock under the baseline), paired by seed;
    the standard CDA's runs with one mechanism switched off (the attribution) are under "off:<name>"."""
    col = collect(sweeps)
    wanted = set(SCENARIOS) | set(SHOCKS)
    found: dict[str, dict[int, Path]] = {k: {} for k in wanted}
    regime_runs = []
    for run, folder in col.folders.items():
        info = col.summary[col.summary.run == run].iloc[0]
        alpha = _override(info.get("overrides", ""), "cluster.trust_alpha")
        if alpha is not None:  # experiment=regimes
            if info.shock == "none":
                regime_runs.append((str(info.policy), float(alpha), int(info.seed), folder))
            continue
        off = switched_off(info.get("overrides", ""))
        if off != "none":
            if info.policy == "standard_cda" and info.shock == "none":
                found.setdefault(f"off:{off}", {})[int(info.seed)] = folder
            continue
        key = info.policy if info.shock == "none" else (info.shock if info.policy == "none" else None)
        if key in wanted:
            found[key][int(info.seed)] = folder
    missing = sorted(k for k, v in found.items() if not v)
    if missing:
        raise ResultsError(f"no runs for {', '.join(missing)}: the validation report needs the runs of "
                           "khusheh-run -m experiment=validation")
    seeds = sorted(set.intersection(*(set(v) for v in found.values())))
    if len(seeds) < 2:
        raise ResultsError("the validation report needs at least 2 seeds common to every scenario")
    runs = {k: [_read(found[k][s]) for s in seeds] for k in wanted}
    for k in sorted(set(found) - wanted):  # the attribution's runs, on the seeds they share with the others
        if set(seeds) <= set(found[k]):
            runs[k] = [{"series": read_table(found[k][s], "series")} for s in seeds]
    if regime_runs:
        runs["regimes"] = _regime_ends(regime_runs)
    return runs, seeds


def _regime_ends(regime_runs) -> pd.DataFrame:
    """A row per run of experiment=regimes: its policy, initial mean trust, seed, cluster, and the means of its
    last 12 months' cooperation rate and trust."""
    rows = []
    for policy, alpha, seed, folder in regime_runs:
        series = read_table(folder, "series")
        tail = series.tail(12)
        rows.append({"policy": policy, "initial_trust": round(initial_trust_mean(alpha), 3), "seed": seed,
                     "cluster": str(series.cluster_preset.iloc[0]) if "cluster_preset" in series else "",
                     "cooperation_rate": tail.cooperation_rate.mean(), "mean_trust": tail.mean_trust.mean(),
                     "months": int(tail.month.max())})
    return pd.DataFrame(rows)


def load_regimes(sweeps) -> pd.DataFrame:
    """The end values of experiment=regimes's runs in ``sweeps`` (see :func:`_regime_ends`), for the brief."""
    col = collect(sweeps)
    found = []
    for run, folder in col.folders.items():
        info = col.summary[col.summary.run == run].iloc[0]
        alpha = _override(info.get("overrides", ""), "cluster.trust_alpha")
        if alpha is not None and info.shock == "none":
            found.append((str(info.policy), float(alpha), int(info.seed), folder))
    if not any(policy == "none" for policy, *_rest in found):
        raise ResultsError(f"no runs of experiment=regimes without a CDA in {', '.join(map(str, sweeps))}: "
                           "run khusheh-run -m experiment=regimes cluster=NAME first")
    return _regime_ends(found)


def _read(folder: Path) -> dict:
    firms = {}
    for month in YEARS:
        if not snapshot_path(folder, "firms", month).is_file():
            raise ResultsError(f"{folder}: no snapshot of month {month}; the validation report needs yearly "
                               "snapshots (sim.snapshot_months as in experiment=validation)")
        firms[month] = read_snapshot(folder, "firms", month)
    try:
        demo = read_table(folder, "demography")
    except FileNotFoundError:
        raise ResultsError(f"{folder}: no demography.parquet (runs written before it existed: rerun them)") from None
    exits = demo[demo.event == "exit"]
    return {"series": read_table(folder, "series"), "firms": firms,
            "entry_birth": demo.loc[demo.event == "entry", "birth_month"].to_numpy(),
            "exit_birth": exits.birth_month.to_numpy(), "exit_age": exits.age.to_numpy()}


# ---------------------------------------------------------------- figures
def _save(f, path: Path) -> Path:
    f.tight_layout()
    return fig.save(f, path)


def _cda_marks(ax, label=True):
    ax.axvspan(CDA_START, CDA_END, color="#999999", alpha=0.12, lw=0, label="CDA contract" if label else None)


def fig_rank_size(runs, path):
    f, ax = plt.subplots(figsize=(5.2, 3.6))
    for k, r in enumerate(runs["none"]):
        e = np.sort(r["firms"][120]["employees"].to_numpy())[::-1]
        ax.loglog(np.arange(1, len(e) + 1), e, color=fig.PALETTE[1] if k == 0 else "#bbbbbb",
                  lw=1.4 if k == 0 else 0.6, zorder=3 if k == 0 else 1, label="seed 0" if k == 0 else None)
    e0 = np.sort(runs["none"][0]["firms"][120]["employees"].to_numpy())[::-1]
    ranks = np.arange(1, len(e0) + 1)
    ax.loglog(ranks, e0[0] / ranks, "k--", lw=0.8, label="Zipf (slope -1)")
    ax.set(xlabel="rank of the firm (1 = largest)", ylabel="employees (workers)",
           title="Firm sizes at month 120, no CDA (grey: other seeds)")
    ax.legend()
    return _save(f, path)


def fig_growth(runs, path):
    rates, sizes = map(np.concatenate, zip(*(yearly_growth(r["firms"], YEARS) for r in runs["none"])))
    f, (a, b) = plt.subplots(1, 2, figsize=(8.2, 3.4), gridspec_kw={"width_ratios": [1.5, 1]})
    g = rates[np.isfinite(rates) & (sizes >= FLOOR_REACH)]
    a.hist(g, bins=np.linspace(-2, 2, 81), density=True, color=fig.PALETTE[1], alpha=0.7, label="model")
    x = np.linspace(-2, 2, 400)
    scale = np.mean(np.abs(g - np.median(g)))
    a.plot(x, np.exp(-np.abs(x - np.median(g)) / scale) / (2 * scale), "k-", lw=1, label="Laplace, same scale")
    sd = g.std()
    a.plot(x, np.exp(-0.5 * ((x - g.mean()) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)), "k:", lw=1, label="normal, same sd")
    a.set_yscale("log")
    a.set_ylim(1e-3, None)
    a.set(xlabel="yearly growth, log(employees next year / this year)", ylabel="density (log scale)",
          title="Yearly growth rates, firms of 5+ workers (all seeds)")
    a.legend(fontsize=7)
    labels, values = [], []
    for lo, hi in SIZE_CLASSES:
        sel = (sizes >= lo) & (sizes < hi)
        labels.append(f"{lo}" if hi == lo + 1 else (f"{lo}-{hi - 1}" if hi < 10 ** 9 else f"{lo}+"))
        values.append(rates[sel].std())
    b.bar(labels, values, color=[("#bbbbbb" if lo < 5 else fig.PALETTE[1]) for lo, _ in SIZE_CLASSES])
    b.set(xlabel="employees at the start of the year", ylabel="std. dev. of yearly growth",
          title="Spread by size (grey: below the floor's reach)")
    return _save(f, path)


def fig_survival(runs, path):
    ages = np.arange(0, 61, 3)
    f, ax = plt.subplots(figsize=(5.2, 3.4))
    curves = []
    for r in runs["none"]:
        c = cohort_survival(r["entry_birth"], r["exit_birth"], r["exit_age"], 120, ages)
        curves.append(c)
        ax.plot(ages, c, color="#bbbbbb", lw=0.6)
    ax.plot(ages, np.nanmean(curves, axis=0), color=fig.PALETTE[1], lw=1.8, label="mean over seeds")
    ax.plot([12], [0.8], "k*", ms=9, label="stylised fact: ~80% at 1 year")
    ax.set(xlabel="age of the entrant (months)", ylabel="share still in business", ylim=(0, 1.02),
           title="Survival of entry cohorts, no CDA (grey: seeds)")
    ax.legend()
    return _save(f, path)


def _band(ax, runs, column, colour, label):
    frame = pd.concat([r["series"].set_index("month")[column] for r in runs], axis=1)
    ax.fill_between(frame.index, frame.quantile(0.1, axis=1), frame.quantile(0.9, axis=1), color=colour, alpha=0.2,
                    lw=0)
    ax.plot(frame.index, frame.median(axis=1), color=colour, lw=1.5, label=label)


def fig_trust(runs, path):
    f, axes = plt.subplots(1, 2, figsize=(8.2, 3.2))
    for ax, column, unit in ((axes[0], "mean_trust", "mean trust between partners (0-1)"),
                             (axes[1], "cooperation_rate", "share of cooperative choices")):
        _cda_marks(ax, ax is axes[0])
        for key in ("none", "standard_cda"):
            _band(ax, runs[key], column, COLOURS[key], fig.plain(key))
        ax.set(xlabel="month", ylabel=unit)
    axes[0].legend(fontsize=7)
    axes[0].set_title("Trust: median and 10-90% of seeds")
    axes[1].set_title("Cooperation")
    return _save(f, path)


def fig_effects(runs, path):
    base = [r["series"] for r in runs["none"]]
    cda = [r["series"] for r in runs["standard_cda"]]
    f, axes = plt.subplots(1, 4, figsize=(10, 2.8))
    rel_emp = paired_effect(cda, base, "employment") / mean_series(base, "employment") * 100
    rel_ja = paired_effect(cda, base, "joint_actions") / mean_series(base, "joint_actions") * 100
    for ax, (title, s) in zip(axes, (("mean trust", paired_effect(cda, base, "mean_trust")),
                                     ("network density", paired_effect(cda, base, "network_density")),
                                     ("joint actions (%)", rel_ja.rolling(6, min_periods=1).mean()),
                                     ("employment (%)", rel_emp))):
        _cda_marks(ax, ax is axes[0])
        ax.axhline(0, color="k", lw=0.5)
        ax.plot(s.index, s.values, color=COLOURS["standard_cda"], lw=1.5)
        ax.set(title=f"effect on {title}", xlabel="month")
    axes[0].set_ylabel("standard CDA minus no CDA\n(mean of paired seeds)")
    axes[0].legend(fontsize=7)
    return _save(f, path)


def _effect_panels(runs, path, scenarios, columns):
    """Effects against the baseline over time, one panel per outcome (joint actions: 6-month mean)."""
    base = [r["series"] for r in runs["none"]]
    f, axes = plt.subplots(1, len(columns), figsize=(8.2, 3.2))
    for key in scenarios:
        runs_k = [r["series"] for r in runs[key]]
        for ax, column in zip(axes, columns):
            effect = paired_effect(runs_k, base, column)
            if column == "joint_actions":
                effect = effect.rolling(6, min_periods=1).mean()
            ax.plot(effect.index, effect.values, color=COLOURS[key], lw=1.5,
                    label=fig.plain(key) if ax is axes[0] else None)
    for ax, column in zip(axes, columns):
        _cda_marks(ax, ax is axes[0])
        ax.axhline(0, color="k", lw=0.5)
        ax.set(title="effect on joint actions a month (6-month mean)" if column == "joint_actions"
               else "effect on mean trust", xlabel="month")
    axes[0].legend(fontsize=7)
    return _save(f, path)


def fig_persistence(runs, path):
    return _effect_panels(runs, path, ("standard_cda", "no_association"), ("mean_trust", "joint_actions"))


def fig_instruments(runs, path):
    return _effect_panels(runs, path, ("trust_first", "subsidy_only", "standard_cda"), ("joint_actions", "mean_trust"))


def fig_shocks(runs, path):
    f, ax = plt.subplots(figsize=(6.2, 3.4))
    groups = (("none", "no shock"), ("demand_drop", "demand drop"), ("input_price_spike", "input-price spike"))
    for i, (key, label) in enumerate(groups):
        stats = [survival_by_cooperation(r["firms"][60], r["firms"][72]) for r in runs[key]]
        for j, (name, colour, marker) in enumerate((("cooperating", fig.PALETTE[1], "o"),
                                                    ("not_cooperating", "#777777", "s"))):
            v = np.array([s[name] for s in stats])
            se = v.std(ddof=1) / np.sqrt(len(v))
            ax.errorbar(i + (j - 0.5) * 0.25, v.mean(), yerr=2 * se, color=colour, marker=marker, capsize=3, ls="",
                        label=("a joint action in the last 6 months" if j == 0 else "no recent joint action")
                        if i == 0 else None)
    ax.set_xticks(range(len(groups)), [g[1] for g in groups])
    ax.set_xlim(-0.5, len(groups) - 0.5)
    ax.set(ylabel="share of firms alive at month 60\nstill alive at month 72",
           title="Survival through months 60-71, no CDA (mean over seeds, +-2 SE)")
    ax.legend(fontsize=7, loc="upper right")
    return _save(f, path)


FIGURES = {1: fig_rank_size, 2: fig_survival, 3: fig_growth, 4: fig_trust, 5: fig_effects, 6: fig_persistence,
           7: fig_instruments, 8: fig_shocks}


# ---------------------------------------------------------------- report
def build(sweeps, out: Path) -> dict:
    runs, seeds = load(sweeps)
    results = checks(runs)
    figs = Path(out) / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    fig.apply_style()
    paths = {k: FIGURES[k](runs, figs / f"pattern{k}.png") for k in sorted(FIGURES)}
    table = pd.DataFrame([{"pattern": c.pattern, "quantity": c.quantity, "value": c.value, "allowed": c.allowed,
                           "holds": c.holds} for c in results])
    out = Path(out)
    atomic_write(out / "checks.csv", lambda tmp: table.to_csv(tmp, index=False))
    attribution_rows = _attribution(runs, out)
    regime = _regimes(runs, out, figs)
    reached = _participants(runs, out)
    gaps = {k: shock_gaps(runs[k]).mean() for k in ("none",) + SHOCKS}
    text = Environment(autoescape=True).from_string(TEMPLATE).render(
        today=date.today().isoformat(), seeds=len(seeds), n_runs=sum(len(v) for v in runs.values()),
        patterns=[{"n": k, "statement": PATTERNS[k], "figure": paths[k].relative_to(out).as_posix(),
                   "checks": [_row(c) for c in results if c.pattern == k],
                   "holds": all(c.holds for c in results if c.pattern == k)} for k in sorted(PATTERNS)],
        n_hold=sum(all(c.holds for c in results if c.pattern == k) for k in PATTERNS), attribution=attribution_rows,
        attribution_heads=[label for _c, label, _d in ATTRIBUTION_SHOWN], regime=regime, reached=reached,
        evaluations=EVALUATIONS,
        gaps={k: f"{100 * v:+.1f}".replace("-", "\u2212") for k, v in gaps.items()})
    atomic_write(out / "validation.html", lambda tmp: tmp.write_text(text))
    write_pdf(text, out, out / "validation.pdf")
    return {"html": out / "validation.html", "pdf": out / "validation.pdf", "checks": out / "checks.csv",
            "figures": paths}


ATTRIBUTION_SHOWN = (("mean_trust", "trust", 3), ("joint_actions", "joint actions a month", 1),
                     ("employment", "employment (workers)", 0), ("exports", "exports", 0),
                     ("members_share", "members' share", 2))


def _attribution(runs, out: Path) -> list[dict] | None:
    """The attribution table (attribution.csv, and rows for the report), or None without the runs."""
    switched = {k.split(":", 1)[1]: [r["series"] for r in v] for k, v in runs.items() if k.startswith("off:")}
    if not switched:
        return None
    table = attribution([r["series"] for r in runs["standard_cda"]], switched, [r["series"] for r in runs["none"]])
    atomic_write(out / "attribution.csv", lambda tmp: table.to_csv(tmp, index=False))
    rows = []
    for name in ["(nothing)", *sorted(switched)]:
        row = {"name": name.replace("_", " "), "cells": []}
        for column, _label, digits in ATTRIBUTION_SHOWN:
            for month in ATTRIBUTION_MONTHS:
                r = table[(table.switched_off == name) & (table.outcome == column) & (table.month == month)].iloc[0]
                row["cells"].append(f"{r.effect:+.{digits}f} \u00b1{r.effect_hw:.{digits}f}".replace("-", "\u2212"))
        rows.append(row)
    return rows


def _regimes(runs, out: Path, figs: Path) -> dict | None:
    """The regimes figure and table (regimes.csv), or None without experiment=regimes's runs."""
    ends = runs.get("regimes")
    if ends is None or not len(ends):
        return None
    found = regimes(ends)
    table = found["table"]
    atomic_write(out / "regimes.csv", lambda tmp: table.to_csv(tmp, index=False))
    f, ax = plt.subplots(figsize=(6.2, 3.6))
    policies = [p for p in ("none", "standard_cda", "trust_first", "subsidy_only") if p in set(ends.policy)]
    for k, policy in enumerate(policies):
        e = ends[ends.policy == policy]
        shift = (k - (len(policies) - 1) / 2) * 0.008
        ax.scatter(e.initial_trust + shift, e.cooperation_rate, s=9, alpha=0.6, color=fig.PALETTE[k],
                   label=fig.plain(policy))
        m = e.groupby("initial_trust").cooperation_rate.mean()
        ax.plot(m.index + shift, m.values, color=fig.PALETTE[k], lw=1)
    if found["threshold"] is not None:
        ax.axhline(found["threshold"], color="k", ls="--", lw=0.8, label="regime threshold")
    months = int(ends.months.max())
    ax.set(xlabel="initial mean trust (firms' prior)", ylabel=f"cooperation rate, months {months - 11}-{months}",
           title=f"Where cooperation ends up after {months} months (dots: seeds)")
    ax.legend(fontsize=7)
    path = _save(f, figs / "regimes.png")
    rows = []
    for start in sorted(set(table.initial_trust)):
        cells = []
        for policy in policies:
            r = table[(table.policy == policy) & (table.initial_trust == start)]
            if not len(r):
                cells.append("")
                continue
            r = r.iloc[0]
            above = "" if np.isnan(r.above) else f" ({100 * r.above:.0f}% above)"
            cells.append(f"{r.end:.3f}{above}")
        rows.append({"start": f"{start:.2f}", "cells": cells})
    return {"figure": path.relative_to(out).as_posix(), "threshold": found["threshold"],
            "initial_threshold": found["initial_threshold"], "policies": [fig.plain(p) for p in policies],
            "rows": rows, "months": months, "seeds": int(table.seeds.max())}


def _participants(runs, out: Path) -> dict | None:
    """The participants-vs-others table (participants.csv) for the standard CDA, or None when the runs'
    snapshots carry no firm identities (runs written before 2026-12-07)."""
    pol, base = runs["standard_cda"], runs["none"]
    if "uid" not in pol[0]["firms"][12].columns or "reached" not in pol[0]["firms"][12].columns:
        return None
    frames = [participants(p["firms"], b["firms"]).assign(seed=k) for k, (p, b) in enumerate(zip(pol, base))]
    table = pd.concat(frames, ignore_index=True)
    atomic_write(out / "participants.csv", lambda tmp: table.to_csv(tmp, index=False))
    rows = []
    for (month, group), g in table.groupby(["month", "group"], sort=True):
        cell = {}
        for column, scale, digits in (("employment", 1, 2), ("survival", 100, 1), ("exporting", 100, 1)):
            v = g[column].to_numpy() * scale
            cell[column] = f"{v.mean():+.{digits}f} \u00b1{half_width(v):.{digits}f}".replace("-", "\u2212")
        rows.append({"month": int(month), "group": {"participants": "participants (exact)",
                                                    "others": "others (exact: spillover)",
                                                    "evaluator": "evaluator's estimate (participants vs others)"}[group],
                     "firms": f"{g.firms.mean():.0f}", **cell})
    order = {"participants (exact)": 0, "others (exact: spillover)": 1, "evaluator's estimate (participants vs others)": 2}
    rows.sort(key=lambda r: (r["month"], order[r["group"]]))
    whole = {m: paired_effect([r["series"] for r in pol], [r["series"] for r in base], "employment").loc[m]
             for m in sorted(set(table.month))}
    pol_s, base_s = [r["series"] for r in pol], [r["series"] for r in base]
    relative = {}
    for column in ("employment", "exports"):
        level = mean_series(base_s, column)
        relative[column] = {m: f"{100 * paired_effect(pol_s, base_s, column).loc[m] / level.loc[m]:+.1f}%".replace(
            "-", "\u2212") for m in sorted(set(table.month))}
    return {"rows": rows, "whole": {m: f"{v:+.0f}".replace("-", "\u2212") for m, v in whole.items()},
            "relative": relative}


def _row(c) -> dict:
    digits = 3 if abs(c.value) < 10 else 1
    return {"quantity": c.quantity, "value": f"{c.value:.{digits}f}".replace("-", "\u2212"), "allowed": c.allowed,
            "holds": "yes" if c.holds else "NO"}


TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Khusheh validation: eight stylised facts</title>
<style>
 @page { size: A4; margin: 16mm 15mm;
         @bottom-center { content: "Khusheh validation report, page " counter(page) " of " counter(pages); font-size: 8pt; color: #555; } }
 body { font-family: "DejaVu Sans", sans-serif; font-size: 9.5pt; line-height: 1.35; color: #111; max-width: 190mm; margin: auto; }
 h1 { font-size: 16pt; margin: 0 0 2mm 0; } h2 { font-size: 12pt; margin: 5mm 0 2mm 0; border-bottom: 1px solid #ccc; }
 table { border-collapse: collapse; width: 100%; font-size: 8pt; } th, td { border-bottom: 1px solid #ddd; padding: 1.2mm; text-align: left; vertical-align: top; }
 th { background: #f3f6fa; } tr, img, .pattern { page-break-inside: avoid; } img { width: 100%; }
 img.narrow { width: 72%; display: block; margin: auto; }
 .no { color: #b00; font-weight: bold; } .small { font-size: 8pt; color: #444; }
 .box { background: #f7f7f7; padding: 3mm; border: 1px solid #ddd; font-size: 8.5pt; }
</style></head><body>
<h1>Does the model behave like real clusters? Eight stylised facts</h1>
<p class="small">Khusheh agent-based model &middot; {{ n_runs }} runs ({{ seeds }} seeds per scenario) &middot; {{ today }}</p>
<p>{{ n_hold }} of the 8 patterns that the design asks the model to reproduce hold, each checked over {{ seeds }} seeds
with the tolerances below (the same checks as the test suite's <code>tests/validation/</code>). The default cluster
(500 firms, 120 months); a standard CDA works in months 12-48 (shaded in the figures). Every scenario is run on the
same seeds, and effects are differences between runs on the same seed.</p>
<table><tr><th>#</th><th>pattern</th><th>holds</th></tr>
{% for p in patterns %}<tr><td>{{ p.n }}</td><td>{{ p.statement }}</td><td>{% if p.holds %}yes{% else %}<span class="no">NO</span>{% endif %}</td></tr>{% endfor %}
</table>
{% for p in patterns %}
<div class="pattern">
<h2>{{ p.n }}. {{ p.statement }}</h2>
<img src="{{ p.figure }}" alt="pattern {{ p.n }}"{% if p.n in (1, 2, 8) %} class="narrow"{% endif %}>
<table><tr><th>quantity</th><th>model</th><th>allowed</th><th>holds</th></tr>
{% for c in p.checks %}<tr><td>{{ c.quantity }}</td><td>{{ c.value }}</td><td>{{ c.allowed }}</td><td>{% if c.holds == 'yes' %}yes{% else %}<span class="no">NO</span>{% endif %}</td></tr>{% endfor %}
</table>
{% if p.n == 8 %}<p class="small">Survival gap (cooperating minus other firms, months 60-72, mean over seeds):
{{ gaps.demand_drop }} percentage points under the demand drop, {{ gaps.input_price_spike }} under the input-price
spike, {{ gaps.none }} without a shock. Part of the gap is there in normal times too: cooperating firms differ
from the others in more than their network.</p>{% endif %}
{% if p.n == 3 %}<p class="small">Known deviation: firms of one worker grow less variably than firms of 2-19,
because a firm cannot shrink below one worker and one-worker firms hire rarely (docs/ODD.md).</p>{% endif %}
</div>
{% endfor %}
{% if attribution %}
<h2>What holds what: the standard programme with each mechanism switched off in turn</h2>
<p class="small">Effects of the standard CDA against the baseline on the same seeds (mean of the 6 months ending at
the CDA's exit, month 48, and at the horizon, month 120; mean over {{ seeds }} seeds, &plusmn; the 95% interval's
half-width), in full and with one instrument, collective or mechanism switched off (conf/switch/). Where switching
a mechanism off removes an effect at month 120, that mechanism holds it after the exit.</p>
<table><tr><th rowspan="2">switched off</th>{% for c in attribution_heads %}<th colspan="2">{{ c }}</th>{% endfor %}</tr>
<tr>{% for c in attribution_heads %}<th>m. 48</th><th>m. 120</th>{% endfor %}</tr>
{% for r in attribution %}<tr><td>{{ r.name }}</td>{% for v in r.cells %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}
</table>
{% endif %}
{% if reached %}
<h2>Participants and others: the exact effect, and what an evaluation would estimate</h2>
<p class="small">The standard CDA. Firms alive at month 12 (the programme's first month; both runs are identical
until then); participants: those the programme reached by month 48 (attended an event, were grouped, subsidised,
linked, a member, or used the facility). Exact effect: each firm against itself in the baseline run on the same
seed (employment in workers per firm, a firm gone counting 0; survival and exporting in percentage points). The
evaluator's estimate compares participants with the other firms within the programme run only (employment: a
difference in differences from month 12; survival and exporting: the plain difference): its distance from the
exact effect on participants is the bias a real evaluation would carry (a firm must survive to be reached, so the
plain comparison of survival favours participants by construction: the immortal-time bias). Mean over {{ seeds }} seeds &plusmn; the
95% interval's half-width. Whole-cluster employment effect (all firms, entrants included):
{% for m, v in reached.whole.items() %}month {{ m }}: {{ v }} workers{% if not loop.last %}; {% endif %}{% endfor %}.</p>
<table><tr><th>month</th><th>firms</th><th>group</th><th>employment per firm</th><th>survival (pp)</th><th>exporting (pp)</th></tr>
{% for r in reached.rows %}<tr><td>{{ r.month }}</td><td>{{ r.firms }}</td><td>{{ r.group }}</td><td>{{ r.employment }}</td><td>{{ r.survival }}</td><td>{{ r.exporting }}</td></tr>{% endfor %}
</table>
{% endif %}
{% if reached %}
<h2>Pattern 9: beside the published evaluations</h2>
<p class="small">What impact evaluations of cluster and supplier development programmes found (read 2026-12-08;
where only the direction could be read, no number is given; see docs/ODD.md, section 1), and beside it the
model's standard CDA on these runs: participants' exact employment effect (workers per firm, table above), and the
whole cluster's effect relative to the baseline, employment
{% for m, v in reached.relative.employment.items() %}month {{ m }}: {{ v }}{% if not loop.last %}, {% endif %}{% endfor %};
exports {% for m, v in reached.relative.exports.items() %}month {{ m }}: {{ v }}{% if not loop.last %}, {% endif %}{% endfor %}
(the CDA leaves at month 48). This is a comparison, not a check: the programmes, the firms and the outcomes
measured differ.</p>
<table><tr><th>programme and study</th><th>outcome</th><th>effect on participants</th><th>timing</th><th>on non-participants</th><th>read in</th></tr>
{% for e in evaluations %}<tr>{% for v in e %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}
</table>
{% endif %}
{% if regime %}
<h2>Regimes: where cooperation ends up, from a range of initial trust</h2>
<img src="{{ regime.figure }}" alt="regimes" class="narrow">
<p class="small">Runs of {{ regime.months }} months (experiment=regimes, {{ regime.seeds }} seeds per point) from
firms' prior trust drawn from Beta(a, 3) at six means, without a CDA and with three programmes (months 12-48).
{% if regime.threshold is not none %}The baseline's end values split into two regimes at a cooperation rate of
{{ "%.3f"|format(regime.threshold) }}{% if regime.initial_threshold is not none %}; most baseline runs end in the
cooperative regime from an initial mean trust of {{ "%.2f"|format(regime.initial_threshold) }}{% endif %}. In
brackets: the share of seeds that end above the threshold.{% else %}The baseline's end values move continuously
with the initial trust, with no gap between two groups of runs: in this cluster there is one regime, not a
low-trust trap and a cooperative state, so no programme pushes the cluster across a threshold; a programme's
lasting effect is the difference in the end value.{% endif %}</p>
<table><tr><th>initial mean trust</th>{% for p in regime.policies %}<th>{{ p }}</th>{% endfor %}</tr>
{% for r in regime.rows %}<tr><td>{{ r.start }}</td>{% for v in r.cells %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}
</table>
{% endif %}
<h2>Methods and sources</h2>
<div class="box">Scenarios (experiment=validation): no CDA; the standard CDA (36 months from month 12, budget 600
wage-months, every instrument and an association); the same without the association; trust-first and subsidy-only
at the same budget; no CDA under the shock presets demand_drop (domestic demand -30% for 12 months from month 60)
and input_price_spike (input prices +50% for 18 months from month 60). Yearly snapshots
give firm sizes, growth and survival; the monthly series give trust, cooperation and effects. Stylised facts:
Axtell (2001) on Zipf firm sizes; Bottazzi and Secchi (2006) on Laplace growth rates; Stanley et al. (1996) on the
spread falling with size; Eurostat business demography on exit rates and first-year survival; UNIDO and ISIPO
practice on CDA programmes (see the project's SOURCES.md and docs/ODD.md).</div>
</body></html>
"""
