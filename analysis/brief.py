"""``khusheh-report``: sweep results -> tables, figures and a policy brief (HTML and PDF).

    khusheh-report multirun/policy_comparison/towels_adrian --out briefs/towels_adrian

Every number in the brief's text comes from the same effects table that is
written to ``effects.csv``.
"""

from __future__ import annotations

import argparse
import html
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment

from scenarios.results import ROBUSTNESS, atomic_write, is_robustness, is_run_name, read_snapshot, snapshot_path

from . import figures as fig
from .collect import BASELINE, Collection, ResultsError, collect
from .pdf import write_pdf
from .robust import build as build_robust
from .sensitivity import build as build_sensitivity
from .sensitivity import caveats
from .stats import bands, effects
from .validation_report import build as build_validation

COOPERATION = ["mean_trust", "joint_actions", "network_density"]
GROWTH = ["employment", "output", "exports", "firms"]
HEADLINE = ["joint_actions", "mean_trust", "employment"]
TABLE = ["mean_trust", "joint_actions", "network_density", "employment", "output", "exports"]
FIGURES = ("main.png", "cooperation.png", "growth.png", "forest.png", "cost_effectiveness.png", "map.png",
           "network.png")  # the figures a brief may draw (and so owns in its --out folder)


def fmt(value: float, outcome: str, signed: bool = False) -> str:
    """A number as the brief prints it (the same rule everywhere)."""
    if value is None or not np.isfinite(value):
        return "n/a"
    return fig.OUTCOMES[outcome].format(value, signed).replace("-", "\u2212")


def pct(value: float, digits: int = 0) -> str:
    """A signed share as a percentage, with the brief's minus sign; one that rounds to zero is '0%'
    (never '-0%')."""
    if value is None or not np.isfinite(value):
        return "n/a"
    if round(abs(value) * 100, digits) == 0:
        return f"{0:.{digits}f}%"
    return f"{value:+.{digits}%}".replace("-", "\u2212")


NO_INTERVAL = "not enough seeds for an interval"
FEW_SEEDS = 10  # below this many paired seeds, the brief cautions and calls no effect 'clear'


def ci_text(row, outcome: str) -> str:
    """'95% CI low to high', or that there is none (never 'n/a to n/a')."""
    if not (np.isfinite(row.ci_low) and np.isfinite(row.ci_high)):
        return NO_INTERVAL
    return f"95% CI {fmt(row.ci_low, outcome, True)} to {fmt(row.ci_high, outcome, True)}"


def effect_text(row, outcome: str) -> str:
    return f"{fmt(row.effect, outcome, True)} ({ci_text(row, outcome)})"


def _main_policy(policies) -> str | None:
    for p in ("standard_cda", "long_cda", "trust_first"):
        if p in policies:
            return p
    rest = [p for p in policies if p != BASELINE]
    return rest[0] if rest else None


def cost_table(eff: pd.DataFrame) -> pd.DataFrame:
    """Gains at the horizon per 100 wage-months the CDA actually spent by then (not per 100 of its
    budget: a CDA may spend far less), from the effects table; NaN where nothing was spent."""
    rows = []
    hz = eff[eff.when == "horizon"]
    for policy, sub in hz.groupby("policy"):
        sub = sub.set_index("outcome")
        budget = float(sub.budget.iloc[0])
        spent = float(sub.spent.iloc[0])
        if not (budget > 0 or spent > 0) or "employment" not in sub.index:
            continue
        e, o = sub.loc["employment"], sub.loc["output"]
        rows.append({"policy": policy, "budget": budget, "spent": spent,
                     "jobs_per_100": e.per_100_spent, "jobs_low": e.per_100_low, "jobs_high": e.per_100_high,
                     "output_per_100": o.per_100_spent, "output_low": o.per_100_low, "output_high": o.per_100_high})
    order = fig.ordered(r["policy"] for r in rows)
    return pd.DataFrame(rows).set_index("policy").loc[order].reset_index() if rows else pd.DataFrame()


def per_100_text(value, low, high, outcome: str) -> str:
    """A gain per 100 wage-months spent with its CI, as the brief prints it."""
    if not np.isfinite(value):
        return "n/a (nothing spent)"
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{fmt(value, outcome, True)} ({NO_INTERVAL})"
    return f"{fmt(value, outcome, True)} ({fmt(low, outcome, True)} to {fmt(high, outcome, True)})"


def _snapshot_panels(col: Collection, runs: pd.DataFrame, policies, month):
    """(title, firms, ties, places) for seed-0-like runs (of ``runs``) of each policy at ``month``,
    when snapshots exist."""
    panels = []
    for policy in policies:
        for _, r in runs[runs.policy == policy].sort_values("seed").iterrows():
            kinds = ("firms", "ties", "places")
            if all(snapshot_path(col.folders[r.run], k, month).is_file() for k in kinds):
                try:
                    frames = [read_snapshot(col.folders[r.run], k, month) for k in kinds]
                except Exception:
                    continue
                panels.append((f"{fig.plain(policy)}\nmonth {month}, seed {r.seed}", *frames))
                break
    return panels


def _run_label(folder: str) -> str:
    """A run as the brief names it: its job's folder and its own (seed_0003), or a folder's or a label's name."""
    path = Path(folder)
    return "/".join(path.parts[-2:]) if is_run_name(path.name) else (path.name or folder)


def _paired(runs: pd.DataFrame, baseline: str) -> list[str]:
    """The programmes among ``runs`` (one setting) with at least one seed of the baseline's."""
    base_seeds = set(runs[runs.policy == baseline].seed)
    return [p for p, sub in runs.groupby("policy") if p != baseline and base_seeds & set(sub.seed)]


DEFAULT_SETTING = "default"  # the name of the setting of runs without overrides (other than policy and seed)


def setting_name(ctx: str) -> str:
    """A setting (the runs' overrides other than policy and seed) as the brief and messages name it."""
    return ctx if ctx else "the default settings (no overrides besides policy and seed)"


def _setting_arg(ctx: str) -> str:
    """What ``--setting`` takes to choose ``ctx``."""
    return ctx if ctx else DEFAULT_SETTING


def _setting_order(ctx: str):
    """Which setting a brief shows first: the default, then one whose every override is ``none``
    (``shock=none`` of the shock experiment: the programmes without a shock), then by name."""
    values = [o.partition("=")[2] for o in filter(None, ctx.split(","))]
    return ctx != "", not all(v in ("none", "null") for v in values), ctx


def choose_setting(col: Collection, baseline: str, sweeps, setting: str | None = None) -> str:
    """The setting (context) the brief shows: ``setting`` (``KEY=VALUE[,KEY=VALUE...]`` or
    ``default``), or else the default setting, or else one without a shock (every override
    ``none``), or else the first by name, in which a programme
    can be paired with the baseline on the same seeds. A user's input without one is a
    ``ResultsError`` saying what is missing."""
    where = ", ".join(map(str, sweeps))
    if col.summary.empty:
        raise ResultsError(f"no complete run in {where} (khusheh-run writes a _DONE file when a run finishes)")
    found = sorted(col.summary.context.unique())
    if setting is not None:
        wanted = set() if setting.strip() == DEFAULT_SETTING else {o.strip() for o in setting.split(",") if o.strip()}
        if any("=" not in o for o in wanted):
            raise ResultsError(f"--setting takes KEY=VALUE (several joined by commas) or {DEFAULT_SETTING!r}, "
                               f"got {setting!r}")
        exact = [c for c in found if set(filter(None, c.split(","))) == wanted]
        match = exact or ([c for c in found if wanted <= set(c.split(","))] if wanted else [])
        choices = ", ".join(_setting_arg(c) for c in found)
        if not match:
            raise ResultsError(f"unknown setting {setting!r}: the runs in {where} have --setting {choices}")
        if len(match) > 1:
            raise ResultsError(f"--setting {setting!r} matches {len(match)} settings ("
                               + "; ".join(match) + "): give all its KEY=VALUE pairs, joined by commas")
        col = Collection(series=col.series, summary=col.summary[col.summary.context == match[0]],
                         problems=col.problems, folders=col.folders)
        where = f"{where} (setting {_setting_arg(match[0])})"
    if baseline not in set(col.summary.policy):
        raise ResultsError(f"no baseline run (policy={baseline}) among the runs in {where}: a brief compares each "
                           "policy with the baseline on the same seeds")
    if set(col.summary.policy) == {baseline}:
        raise ResultsError(f"only baseline runs (policy={baseline}) in {where}: a brief compares programmes "
                           "(e.g. policy=standard_cda) with them on the same seeds")
    usable = [c for c in sorted(col.summary.context.unique(), key=_setting_order)
              if _paired(col.summary[col.summary.context == c], baseline)]
    if not usable:
        raise ResultsError(f"no programme run in {where} has a baseline run (policy={baseline}) with the same "
                           "settings and seed: a brief compares each policy with the baseline on the same seeds")
    return usable[0]


def build(sweeps, out: Path, baseline: str = BASELINE, target_ci: dict | None = None,
          sensitivity: Path | None = None, setting: str | None = None) -> dict:
    """Collect, compute, draw and write the brief; returns the paths written.

    ``setting``: which of several settings (the runs' overrides other than policy and seed,
    e.g. ``shock=demand_drop``; ``default`` for none) the brief shows; see ``choose_setting``.

    ``sensitivity``: a folder written by ``khusheh-report --sensitivity``; its
    verdicts (which effects keep their sign across the uncertain parameters'
    ranges) go into the caveats.
    """
    robustness = caveats(sensitivity) if sensitivity else []
    out.mkdir(parents=True, exist_ok=True)
    figs = out / "figures"
    figs.mkdir(exist_ok=True)
    col = collect(sweeps, ignore=[out, figs])
    ctx = choose_setting(col, baseline, sweeps, setting)
    contexts = [ctx] + [c for c in sorted(col.summary.context.unique()) if c != ctx]
    if len(contexts) > 1:
        print(f"khusheh-report: the runs hold {len(contexts)} settings; this brief shows {setting_name(ctx)}. "
              "Others: --setting " + ", ".join(_setting_arg(c) for c in contexts[1:]), file=sys.stderr)
    col.save(out / "results.parquet")
    eff = effects(col.series, col.summary, TABLE + ["firms", "cooperation_rate", "members_share"], baseline,
                  target_ci)
    _write_csv(out / "effects.csv", eff)
    if len(col.problems):
        _write_csv(out / "problems.csv", col.problems)
    else:  # an earlier report's list would mislead
        (out / "problems.csv").unlink(missing_ok=True)
    # the programmes of this setting that share at least one seed with its baseline
    runs = col.summary[col.summary.context == ctx]
    paired = _paired(runs, baseline)
    policies = fig.ordered([baseline, *paired])
    series = col.series[col.series.context == ctx]
    band = bands(series, COOPERATION + GROWTH).xs(ctx, level="context")
    main = _main_policy(policies)
    exits = {r.policy: int(r.start_month + r.duration_months) for r in runs.drop_duplicates("policy").itertuples()
             if r.policy in policies and r.budget > 0}
    main_runs = runs[runs.policy == main] if main else runs.iloc[:0]
    start = int(main_runs.start_month.iloc[0]) if len(main_runs) else None
    end = int(main_runs.start_month.iloc[0] + main_runs.duration_months.iloc[0]) if len(main_runs) else None
    paths = {}
    shown = [p for p in policies if p != "zero_budget"]  # identical to the baseline by construction
    paths["main"] = fig.fan_chart(band, ["mean_trust", "joint_actions"], [baseline, main] if main else [baseline],
                                  figs / "main.png", start, end, exits=exits)
    banded = {baseline, main}
    paths["cooperation"] = fig.fan_chart(band, COOPERATION, shown, figs / "cooperation.png", start, end,
                                         banded=banded, exits=exits)
    paths["growth"] = fig.fan_chart(band, GROWTH, shown, figs / "growth.png", start, end, banded=banded,
                                    exits=exits)
    ce = eff[(eff.context == ctx) & eff.policy.isin(policies)]
    paths["forest"] = fig.forest(ce, ["mean_trust", "joint_actions", "employment", "output"], figs / "forest.png")
    cost = cost_table(ce)
    if len(cost):
        paths["cost"] = fig.cost_effectiveness(cost, figs / "cost_effectiveness.png")
    horizon = int(series.month.max())
    map_panels = _snapshot_panels(col, runs, [baseline, main] if main else [baseline], horizon)
    if map_panels:
        # the main programme also at the CDA's exit, when that month was kept
        at_exit = _snapshot_panels(col, runs, [main], end) if main and end is not None and end < horizon else []
        paths["map"] = fig.cluster_map(map_panels[:1] + at_exit + map_panels[1:], figs / "map.png")
        paths["network"] = fig.network([(t, f, ti) for t, f, ti, _ in map_panels], figs / "network.png")
    else:
        print(f"khusheh-report: no run kept agent-level snapshots of month {horizon} (khusheh-run's"
              " sim.snapshot_months and sim.snapshot_seeds): the brief has no maps", file=sys.stderr)
    for stale in set(FIGURES) - {Path(v).name for v in paths.values()}:  # an earlier report's, not drawn now
        (figs / stale).unlink(missing_ok=True)
    peak = peak_while_working(series, main, baseline, end)
    text = render(col, ce, cost, policies, main, baseline, start, end, horizon, paths, out, contexts, robustness,
                  peak)
    html_path = out / "brief.html"
    _write(html_path, text)
    pdf_path = out / "brief.pdf"
    write_pdf(text, out, pdf_path)
    return {"html": html_path, "pdf": pdf_path, "effects": out / "effects.csv", **paths}


def _write(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def render(col, eff, cost, policies, main, baseline, start, end, horizon, paths, out, contexts,
           robustness=(), peak=None) -> str:
    summary = col.summary[col.summary.context == contexts[0]]  # the context this brief shows
    cluster = ", ".join(sorted(c.replace("_", " ").title() for c in summary.cluster_preset.unique()))
    paired = eff[(eff.when == "horizon") & eff.policy.isin(policies)].groupby("policy").n_seeds.min()
    callouts = []
    if main:
        hz = eff[(eff.policy == main) & (eff.when == "horizon")].set_index("outcome")
        at_end = eff[(eff.policy == main) & (eff.when == "cda_end")].set_index("outcome")
        for outcome in HEADLINE:
            if outcome in hz.index:
                r = hz.loc[outcome]
                title, unit = fig.OUTCOMES[outcome].label, fig.OUTCOMES[outcome].unit
                e_end = at_end.loc[outcome] if outcome in at_end.index else None
                callouts.append({
                    "title": title, "unit": unit, "value": fmt(r.effect, outcome, True),
                    "ci": ci_text(r, outcome),
                    "relative": f"{pct(r.relative)} of the baseline" if np.isfinite(r.relative) else "",
                    "at_end": f"at the CDA's exit: {effect_text(e_end, outcome)}" if e_end is not None
                    else f"the CDA leaves after month {horizon}",
                })
    table_rows = []
    for policy in policies:
        if policy == baseline:
            continue
        sub = eff[(eff.policy == policy) & (eff.when == "horizon")].set_index("outcome")
        if sub.empty:
            continue
        table_rows.append({"name": fig.plain(policy), "budget": f"{sub.budget.iloc[0]:,.0f}",
                           "spent": fmt(sub.spent.iloc[0], "cda_spent"),
                           "n": int(sub.n_seeds.iloc[0]),
                           "cells": [effect_text(sub.loc[o], o) if o in sub.index else "n/a" for o in TABLE]})
    cost_rows = [{"name": fig.plain(r.policy), "budget": f"{r.budget:,.0f}", "spent": fmt(r.spent, "cda_spent"),
                  "jobs": per_100_text(r.jobs_per_100, r.jobs_low, r.jobs_high, "employment"),
                  "output": per_100_text(r.output_per_100, r.output_low, r.output_high, "output")}
                 for r in cost.itertuples()] if len(cost) else []
    problems = [{"folder": html.escape(_run_label(p.folder)),
                 "problem": p.problem, "detail": html.escape(str(p.detail))} for p in col.problems.itertuples()]
    conclusion = conclude(eff, main, baseline, peak)
    return Environment(autoescape=False).from_string(TEMPLATE).render(
        today=date.today().isoformat(), cluster=cluster, main=fig.plain(main) if main else "",
        callouts=callouts, table_rows=table_rows, table_head=[fig.OUTCOMES[o].label for o in TABLE],
        table_units=[fig.OUTCOMES[o].unit for o in TABLE], cost_rows=cost_rows, problems=problems,
        n_runs=len(summary), seeds=int(paired.min()) if len(paired) else 0,
        seeds_max=int(paired.max()) if len(paired) else 0, few=FEW_SEEDS,
        horizon=horizon, start=start, end=end, paths={k: Path(v).relative_to(out).as_posix() for k, v in paths.items()},
        conclusion=conclusion, several=len(contexts) > 1, setting=setting_name(contexts[0]),
        others=[setting_name(c) for c in contexts[1:]], other_args=[_setting_arg(c) for c in contexts[1:]],
        n_all=len(col.summary),
        plain_baseline=fig.plain(baseline), n_policies=len(policies) - 1,
        robustness=[html.escape(r) for r in robustness])


def conclude(eff: pd.DataFrame, main: str | None, baseline: str, peak: str | None = None) -> list[str]:
    """Sentences from the effects table: what the main programme does, and whether it lasts; ``peak``
    (see :func:`peak_while_working`) after the first, when given."""
    if not main:
        return []
    hz = eff[(eff.policy == main) & (eff.when == "horizon")].set_index("outcome")
    end = eff[(eff.policy == main) & (eff.when == "cda_end")].set_index("outcome")
    out = []
    if "joint_actions" in hz.index and "employment" in hz.index:
        ja, em = hz.loc["joint_actions"], hz.loc["employment"]
        clear, n = _clear(ja), int(ja.n_seeds)
        if clear is None:
            sig = NO_INTERVAL
        elif n < FEW_SEEDS:
            sig = f"{ci_text(ja, 'joint_actions')}, from only {n} paired seeds: too few to call it clear"
        else:
            sig = {True: "clearly above zero" if ja.ci_low > 0 else "clearly below zero",
                   False: "not clearly different from zero"}[clear] + f": {ci_text(ja, 'joint_actions')}"
        out.append(f"Under the programme \u201c{fig.plain(main)}\u201d, the cluster has {fmt(ja.effect, 'joint_actions', True)} "
                   f"joint actions a month at month {int(ja.month)} compared with no CDA "
                   f"({sig}), and employment differs by "
                   f"{fmt(em.effect, 'employment', True)} workers ({pct(em.relative, 1)}; {ci_text(em, 'employment')}).")
    if peak:
        out.append(peak)
    if "mean_trust" in hz.index and hz.loc["mean_trust"].budget > 0:
        out.append(lasting(hz.loc["mean_trust"], end.loc["mean_trust"] if "mean_trust" in end.index else None))
    return out


WORKING = ("diagnostic", "trust_building", "pilot", "strategic", "exit")  # the CDA's phases while it works


def peak_while_working(series: pd.DataFrame, main: str | None, baseline: str, end: int | None,
                       outcome: str = "joint_actions") -> str | None:
    """A sentence on the largest effect on ``outcome`` while the CDA works (the mean over the seeds
    that both the programme and the baseline ran, month by month), when it is well above the effect
    at the CDA's exit (month ``end``): the curves of a programme often rise and fall within its
    tenure (subsidised joint actions), which the effects at its exit and at the horizon do not show."""
    if not main or end is None or outcome not in series:
        return None
    both = series[series.policy.isin([main, baseline])]
    wide = both.pivot_table(index=["seed", "month"], columns="policy", values=outcome, aggfunc="first")
    if main not in wide or baseline not in wide:
        return None
    gap = (wide[main] - wide[baseline]).dropna().groupby(level="month").mean()
    phase = (series[series.policy == main].groupby("month").cda_phase
             .agg(lambda v: v.value_counts().index[0]))  # the phase most seeds are in
    working = gap[gap.index.isin(phase.index[phase.isin(WORKING)]) & (gap.index < end)]
    if working.empty or end not in gap.index:
        return None
    month, peak, at_end = int(working.idxmax()), float(working.max()), float(gap.loc[end])
    if not (peak > 0 and peak >= 1.5 * max(at_end, 0.0) and peak - at_end >= 1.0):
        return None
    title = fig.OUTCOMES[outcome].label.lower()
    return (f"While the CDA works, the effect on {title} peaks at {fmt(peak, outcome, True)} a month in month "
            f"{month}, in its {phase.loc[month].replace('_', ' ')} phase (the mean over paired seeds), and is "
            f"{fmt(at_end, outcome, True)} at its exit (month {end}): the effects above, at its exit and at "
            "the end of the runs, do not show this peak (see the charts).")


PERSIST_TOLERANCE = 0.10  # within 10% of its size at the CDA's exit, an effect 'persists' (neither grows nor shrinks)


def _clear(r) -> bool | None:
    """Whether the 95% CI of ``r`` excludes zero (None without an interval)."""
    if not (np.isfinite(r.ci_low) and np.isfinite(r.ci_high)):
        return None
    return bool(r.ci_low > 0 or r.ci_high < 0)


def lasting(b, a=None, outcome: str = "mean_trust") -> str:
    """Does the effect on ``outcome`` last after the CDA leaves? ``a``: the effect at its exit
    (None when the run ends before it), ``b``: at the horizon. The words follow the numbers: a
    'rise' or a 'fall' by the sign at the exit; no claim about after the exit unless the horizon
    is after it; 'fades' when the horizon's CI includes zero, 'reverses' when it excludes zero on the
    other side; 'grows', 'persists' or 'persists in part' by the size at the horizon against the size
    at the exit (PERSIST_TOLERANCE). Below FEW_SEEDS paired seeds nothing is called clear."""
    name = fig.OUTCOMES[outcome].label.lower()
    at_b = f"{fmt(b.effect, outcome, True)} at month {int(b.month)}"
    if a is None or int(a.month) >= int(b.month):
        when = (f"the CDA's exit (month {int(a.month)})" if a is not None else "the end of the runs, before the "
                "CDA's exit")
        return (f"The effect on {name} is {fmt(b.effect, outcome, True)} at {when}; the runs end "
                f"{'there' if a is not None else 'while the CDA is still at work'}, so whether it lasts after the CDA "
                "leaves is not shown (longer runs, sim.months, would show it).")
    at_a = f"{fmt(a.effect, outcome, True)} at its exit (month {int(a.month)})"
    if not (np.isfinite(a.effect) and np.isfinite(b.effect)):
        return (f"The effect on {name} at the CDA's exit (month {int(a.month)}) or at month {int(b.month)} has no "
                "paired seeds: whether it lasts is not shown.")
    n = b.get("n_seeds", np.nan)
    few = bool(np.isfinite(n) and n < FEW_SEEDS)  # too few seeds to call anything clear
    clear = None if few else _clear(b)
    ci = (f" (95% CI {fmt(b.ci_low, outcome, True)} to {fmt(b.ci_high, outcome, True)})" if clear
          else f" (from only {int(n)} paired seeds: too few to call it clear)" if few else f" ({NO_INTERVAL})")
    if a.effect == 0:
        if b.effect == 0:
            return f"The CDA leaves {name} unchanged: {at_a} and {at_b}."
        return f"The effect on {name} is nil at the CDA's exit (month {int(a.month)}) and {at_b}{ci}."
    direction = "rise" if a.effect > 0 else "fall"
    size = b.effect / a.effect  # the share of the exit's effect left, in the exit's direction
    if clear and size < 0:
        return f"The {direction} in {name} reverses after the CDA leaves: {at_a} and {at_b}{ci}."
    if clear is False or size <= 0:
        detail = (f" (95% CI {fmt(b.ci_low, outcome, True)} to {fmt(b.ci_high, outcome, True)}: no longer clearly "
                  "different from zero)" if clear is False else "")
        return f"The {direction} in {name} fades after the CDA leaves: {at_a} and {at_b}{detail}."
    if size > 1 + PERSIST_TOLERANCE:
        verdict = "persists and grows"
    elif size >= 1 - PERSIST_TOLERANCE:
        verdict = f"persists (within {PERSIST_TOLERANCE:.0%} of its size at the exit)"
    else:
        verdict = "persists in part"
    return f"The {direction} in {name} {verdict} after the CDA leaves: {at_a} and {at_b}{ci}."


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="khusheh-report", description="Sweep results -> figures, tables and a "
                                     "policy brief (HTML and PDF).")
    parser.add_argument("sweeps", nargs="+", help="sweep folders written by khusheh-run -m, single-run folders, or "
                        "folders holding runs at any depth (e.g. outputs/, with its DATE/TIME/ runs); a folder "
                        "written by khusheh-robust gives the page 'Which programme is robust?' (robust.html/.pdf)")
    parser.add_argument("--sensitivity", action="store_true",
                        help="write the sensitivity analysis (SALib) of experiment=sensitivity's runs")
    parser.add_argument("--sensitivity-results", metavar="DIR",
                        help="a folder written by khusheh-report --sensitivity: its verdicts go into the caveats")
    parser.add_argument("--validation", action="store_true",
                        help="write the validation report (the eight stylised facts) of experiment=validation's runs")
    parser.add_argument("--out", required=True, help="folder for the brief, figures and tables (an earlier "
                        "brief's files there are replaced; it may be the sweep folder itself)")
    parser.add_argument("--baseline", default=BASELINE, help="policy preset to compare against (default: none)")
    parser.add_argument("--setting", metavar="KEY=VALUE",
                        help="when the runs hold several settings (overrides other than policy and seed, e.g. a "
                        "shock sweep's shock=demand_drop, or cluster.province.scale=0.1 beside a full run), the one "
                        "the brief shows; several KEY=VALUE joined by commas; 'default' for runs without such "
                        "overrides (default: the default setting, else one whose overrides are all none, "
                        "e.g. shock=none, else the first by name)")
    parser.add_argument("--target-ci", action="append", default=[], metavar="OUTCOME=HALF_WIDTH",
                        help="report how many seeds a 95%% CI of this half-width needs, e.g. employment=20")
    args = parser.parse_args(argv)
    robust = [s for s in args.sweeps if is_robustness(s) or (Path(s) / ROBUSTNESS).is_file()]
    if robust:  # khusheh-robust's results: the page "Which programme is robust?"
        if len(robust) > 1:
            print(f"khusheh-report: {len(robust)} robustness runs given ({', '.join(robust)}): give one at a time",
                  file=sys.stderr)
            return 2
        try:
            paths = build_robust(Path(robust[0]), Path(args.out))
        except ResultsError as err:
            print(f"khusheh-report: {err}", file=sys.stderr)
            return 2
        except ImportError:
            print("khusheh-report: the robustness page needs EMA workbench (PRIM): uv sync --extra ema",
                  file=sys.stderr)
            return 2
        except OSError as err:
            print(f"khusheh-report: cannot write the robustness page: {err}", file=sys.stderr)
            return 2
        print(f"which programme is robust: {paths['html']} and {paths['pdf']}")
        args.sweeps = [s for s in args.sweeps if s not in robust]
        if not args.sweeps:
            return 0
    if args.sensitivity or args.validation:
        try:
            paths = (build_sensitivity if args.sensitivity else build_validation)(args.sweeps, Path(args.out))
        except ResultsError as err:
            print(f"khusheh-report: {err}", file=sys.stderr)
            return 2
        if args.sensitivity:
            for outcome, top in paths["top"].items():
                print(f"effect on {outcome}: " + ", ".join(f"{t['parameter']} ({t['value']})" for t in top))
            print(f"sensitivity: {paths['html']} and {paths['pdf']}")
        else:
            held = pd.read_csv(paths["checks"]).groupby("pattern").holds.all()
            print(f"validation: {int(held.sum())} of {len(held)} patterns hold; {paths['html']} and {paths['pdf']}")
        return 0
    target = {}
    for item in args.target_ci:
        key, _, value = item.partition("=")
        try:
            target[key] = float(value)
        except ValueError:
            print(f"khusheh-report: --target-ci takes OUTCOME=HALF_WIDTH, got {item!r}", file=sys.stderr)
            return 2
        summary = [o for o, about in fig.OUTCOMES.items() if about.summary]
        if key not in summary or target[key] <= 0:
            print(f"khusheh-report: --target-ci {item!r}: outcome one of {', '.join(summary)}, half-width > 0",
                  file=sys.stderr)
            return 2
    try:
        paths = build(args.sweeps, Path(args.out), args.baseline, target or None,
                      Path(args.sensitivity_results) if args.sensitivity_results else None, args.setting)
    except ResultsError as err:
        print(f"khusheh-report: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # e.g. --out names a file, or a folder it may not write
        print(f"khusheh-report: cannot read the runs or write the brief: {err}", file=sys.stderr)
        return 2
    eff = pd.read_csv(paths["effects"])
    if target:
        need = eff[eff.when == "horizon"].dropna(subset=["seeds_for_target"])
        for (policy, outcome), r in need.set_index(["policy", "outcome"]).iterrows():
            print(f"{fig.plain(policy)}: {outcome} needs {int(r.seeds_for_target)} seeds for a 95% CI half-width of "
                  f"{target[outcome]:g} (now {int(r.n_seeds)} seeds)")
    print(f"brief: {paths['html']} and {paths['pdf']}")
    return 0


TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Cluster development brief: {{ cluster }}</title>
<style>
 @page { size: A4; margin: 16mm 15mm 16mm 15mm;
         @bottom-center { content: "Khusheh policy brief, page " counter(page) " of " counter(pages); font-size: 8pt; color: #555; } }
 body { font-family: "DejaVu Sans", sans-serif; font-size: 9.5pt; line-height: 1.35; color: #111; max-width: 190mm; margin: auto; }
 h1 { font-size: 16pt; margin: 0 0 2mm 0; } h2 { font-size: 12pt; margin: 5mm 0 2mm 0; border-bottom: 1px solid #ccc; }
 .question { font-size: 10.5pt; background: #f3f6fa; padding: 3mm; border-left: 3px solid #0072B2; }
 .callouts { display: flex; gap: 3mm; margin: 3mm 0; }
 .callout { flex: 1; border: 1px solid #0072B2; border-radius: 2mm; padding: 2.5mm; }
 .callout .v { font-size: 15pt; font-weight: bold; color: #0072B2; }
 .callout .t { font-weight: bold; } .small { font-size: 8pt; color: #444; }
 img { width: 100%; } img.half { width: 80%; display: block; margin: auto; }
 table { border-collapse: collapse; width: 100%; font-size: 7.5pt; } th, td { border-bottom: 1px solid #ddd; padding: 1.2mm; text-align: left; vertical-align: top; }
 th { background: #f3f6fa; } tr, img, .callout, .box { page-break-inside: avoid; } .box { background: #f7f7f7; padding: 3mm; border: 1px solid #ddd; font-size: 8.5pt; }
 .warn { background: #fff4e5; border: 1px solid #E69F00; padding: 2mm; }
 .page { page-break-before: always; }
</style></head><body>
<h1>Does a cluster development agent pay off? {{ cluster }}</h1>
<p class="small">Khusheh agent-based model \u00b7 {{ n_runs }} simulated runs{% if several %} in this brief
(of {{ n_all }} found){% endif %} \u00b7 {{ today }}</p>
{% if several %}<p class="warn"><b>One setting of {{ others|length + 1 }}.</b> This brief shows the runs with
{{ setting }}. The runs also hold {{ others|length }} other setting(s), not shown here: {{ others|join("; ") }}.
To write a brief of another, run khusheh-report again with <code>--setting</code> and one of:
{% for a in other_args %}<code>{{ a }}</code>{% if not loop.last %}, {% endif %}{% endfor %}.</p>{% endif %}
<p class="question"><b>The policy question.</b> With this budget, these instruments and this duration, how much more
cooperation and growth does the cluster get than without a cluster development agent (CDA), and does it last after
the CDA leaves? Each programme is compared with the same cluster without a CDA, on the same random futures
(common random numbers): <b>{{ seeds }}{% if seeds_max != seeds %}-{{ seeds_max }}{% endif %} paired seed(s)</b>
per programme.</p>
{% if seeds < few %}<p class="warn"><b>Few seeds.</b> These effects rest on {{ seeds }} paired seed(s) (random
futures); with fewer than {{ few }}, intervals are rough or missing and can mislead, so no effect is called clear.
Run more seeds (e.g. the same khusheh-run command with sim.seeds=30, into the same folder) before relying on them.</p>{% endif %}
{% if problems %}<p class="warn"><b>Incomplete results:</b> {{ problems|length }} run(s) could not be used
(see "Runs not used" at the end); the numbers below use the {{ n_runs }} complete runs.</p>{% endif %}
{% if callouts %}<h2>{{ main }}: effect at month {{ horizon }}, against no CDA</h2>
<div class="callouts">{% for c in callouts %}<div class="callout"><div class="t">{{ c.title }}</div>
<div class="v">{{ c.value }}</div><div class="small">{{ c.unit }}; {{ c.ci }}<br>{{ c.relative }}<br>
{{ c.at_end }}</div></div>{% endfor %}</div>{% endif %}
{% for s in conclusion %}<p>{{ s }}</p>{% endfor %}
<img class="half" src="{{ paths.main }}" alt="Mean trust and joint actions over time">
<p class="small">Lines: median over seeds; bands: 10-90% of seeds (drawn for the baseline and the main
programme). Dashed: the CDA starts (month {{ start }});
{% if end is not none and end <= horizon %}dotted: it leaves (month {{ end }}){% else %}it leaves at month {{ end }},
after the last month shown{% endif %}.</p>

<h2 class="page">All programmes compared (month {{ horizon }})</h2>
<p>Difference against the baseline without a CDA, on the same seeds, mean over seeds with a 95% bootstrap
confidence interval. Budgets and spending in wage-months (one worker's monthly cost); "spent" is what the CDA had
actually spent by month {{ horizon }}, mean over seeds.</p>
<table><tr><th>Programme</th><th>Budget</th><th>Spent</th><th>Seeds</th>{% for h in table_head %}<th>{{ h }}<br><span class="small">{{ table_units[loop.index0] }}</span></th>{% endfor %}</tr>
{% for r in table_rows %}<tr><td>{{ r.name }}</td><td>{{ r.budget }}</td><td>{{ r.spent }}</td><td>{{ r.n }}</td>{% for c in r.cells %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</table>
<img src="{{ paths.forest }}" alt="Effects against the baseline">
{% if cost_rows %}<h2>What the money buys</h2>
<p>Gains at month {{ horizon }} per 100 wage-months the CDA actually spent by then, not per 100 of its budget (a CDA
may spend far less than its budget): the mean gain over the paired seeds divided by the mean amount spent, with a
95% bootstrap CI over seeds.</p>
<table><tr><th>Programme</th><th>Budget</th><th>Spent by month {{ horizon }}</th><th>Jobs gained per 100 wage-months spent (95% CI)</th><th>Output gained per 100 wage-months spent (wage-months a month; 95% CI)</th></tr>
{% for r in cost_rows %}<tr><td>{{ r.name }}</td><td>{{ r.budget }}</td><td>{{ r.spent }}</td><td>{{ r.jobs }}</td><td>{{ r.output }}</td></tr>{% endfor %}</table>
<img class="half" src="{{ paths.cost }}" alt="Cost-effectiveness">{% endif %}

<h2 class="page">Cooperation</h2><img src="{{ paths.cooperation }}" alt="Cooperation over time">
<h2>Growth</h2><img src="{{ paths.growth }}" alt="Growth over time">
{% if paths.map %}<h2 class="page">The cluster on the map</h2><img src="{{ paths.map }}" alt="Map of the cluster">
<h2>The cooperation network</h2><img src="{{ paths.network }}" alt="Cooperation network">{% endif %}

<h2 class="page">Methods</h2><div class="box">
<p><b>Model.</b> Khusheh, an agent-based model (Mesa 3.5) of micro and small firms, suppliers, support institutions
and a CDA on a 5 km grid of Isfahan province; one step is one month. Firms cooperate in joint actions when their
trust in the partner makes it pay; trust is learned from experience; the CDA's instruments (events, subsidies,
brokered groups, linkages, an export consortium, a common facility, an association) act in phases over its
contract. Full description: docs/ODD.md.</p>
<p><b>This brief.</b> Cluster preset: {{ cluster }}. Horizon: {{ horizon }} months. {{ n_policies }} programme(s)
against the baseline without a CDA; {{ seeds }}{% if seeds_max != seeds %}-{{ seeds_max }}{% endif %} paired seeds each,
the same seeds for every programme (common random numbers), so differences are paired by seed. Effects: mean
paired difference, 95% percentile bootstrap CI; effect size d = mean difference / SD of differences.
{% if several %}Setting shown: {{ setting }}; not shown: {{ others|join("; ") }} (khusheh-report
--setting).{% endif %}</p>
<p><b>Assumptions that matter most.</b> Cooperation hinges on trust: a joint action pays only if both partners
contribute, and a firm that withholds while its partner contributes free-rides. Cooperation bought with a subsidy
builds less trust than cooperation freely given. The association keeps hosting events after the CDA leaves while
its fees cover its costs and its members trust each other. Most cluster parameters are stylised, not estimated.</p></div>
<h2>Caveats</h2><ul>
<li>The model is calibrated to stylised facts (firm sizes, exit rates, growth-rate shapes), not fitted to data of
this cluster; read effects as comparisons between programmes, not forecasts.</li>
<li>Budgets and spending are in wage-months; costs of instruments are stylised. Gains per 100 wage-months are per
amount actually spent by the horizon, not per budget.</li>
<li>Growth effects are smaller and later than cooperation effects and their intervals are wider: more seeds narrow
them.</li>
{% if robustness %}{% for r in robustness %}<li>{{ r }}</li>{% endfor %}{% else %}<li>The sensitivity of these
conclusions to uncertain behavioural parameters is not assessed in this brief (khusheh-report --sensitivity, then
--sensitivity-results).</li>{% endif %}</ul>
{% if problems %}<h2>Runs not used</h2><table><tr><th>Run</th><th>Problem</th><th>Detail</th></tr>
{% for p in problems %}<tr><td>{{ p.folder }}</td><td>{{ p.problem }}</td><td>{{ p.detail }}</td></tr>{% endfor %}</table>{% endif %}
</body></html>
"""


if __name__ == "__main__":
    raise SystemExit(main())
