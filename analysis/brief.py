"""``khusheh-report``: sweep results -> tables, figures and a policy brief (HTML and PDF).

    khusheh-report multirun/policy_comparison/towels_adrian --out briefs/towels_adrian

Page 1 answers for every programme in the results: a ranking table (effects on cooperation and on
growth at the CDA's exit and at the horizon with 95% CIs, gains per 100 wage-months actually spent,
whether the effect lasts), the programme that buys the most for the money with its criterion and
its chance of being best across seeds, a verdict of at most three sentences, what the intervals
cover and the setting of the runs. Detail pages follow. Every number in the brief's text comes from
the same effects table that is written to ``effects.csv``. Every user-visible string goes through
:func:`analysis.i18n._` (English by default), so an edition in another language is a catalog.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment

from scenarios.results import (ROBUSTNESS, atomic_write, is_robustness, is_run_name, read_config, read_snapshot,
                               snapshot_path)

from . import figures as fig
from .collect import BASELINE, Collection, ResultsError, collect
from .i18n import DEFAULT as DEFAULT_LANGUAGE
from .i18n import LANGUAGES, N_, _, digits, direction, language, localise, ltr, using
from .i18n import digits as local_digits  # pct() names its precision `digits`
from .pdf import write_pdf
from .robust import build as build_robust
from .sensitivity import build as build_sensitivity
from .sensitivity import caveats
from .stats import bands, chance_best, difference_bands, effects, half_width
from .validation import regimes
from .validation_report import build as build_validation
from .validation_report import load_regimes

COOPERATION = ["mean_trust", "joint_actions", "network_density"]
GROWTH = ["employment", "output", "exports", "firms"]
HEADLINE = ["joint_actions", "mean_trust", "employment"]
TABLE = ["mean_trust", "joint_actions", "network_density", "employment", "output", "exports"]
RANK_COOPERATION, RANK_GROWTH = "joint_actions", "employment"  # page 1's measures of cooperation and growth
MECHANISMS = {"mean_trust": N_("trust"), "members_share": N_("members")}  # what holds cooperation
# after the CDA leaves, as the results carry it (short names for page 1)
BEST_BY = "employment"  # the default criterion of the best buy: this outcome's gain at the horizon per spending
FIGURES = ("main.png", "cooperation.png", "growth.png", "forest.png", "cost_effectiveness.png", "map.png",
           "network.png", "cooperation_trust.png", "growth_output.png")  # the figures a brief may draw (and so
# owns in its --out folder)

# A wage-month in rials, by default Iran's legal minimum monthly wage (the latest decision found; a
# worker's full cost to a firm is higher, so rial amounts at this wage are a lower bound).
WAGE_RIALS = 103_990_000
WAGE_SOURCE = N_("Iran's legal minimum monthly wage for the Iranian year 1404 (21 March 2025 to 20 March 2026), "
                 "103.99 million rials, set by the Supreme Labour Council (Mehr News Agency, 17 March 2025, "
                 "en.mehrnews.com/news/229725)")


WAGE_SHORT = N_("Iran's legal minimum monthly wage, Iranian year 1404, Supreme Labour Council; Mehr News, "
                "17 March 2025")


def fmt(value: float, outcome: str, signed: bool = False) -> str:
    """A number as the brief prints it (the same rule everywhere)."""
    if value is None or not np.isfinite(value):
        return _("n/a")
    text = digits(fig.OUTCOMES[outcome].format(value, signed).replace("-", "\u2212"))
    return ltr(text) if text[:1] in ("+", "\u2212") else text


def pct(value: float, digits: int = 0) -> str:
    """A signed share as a percentage, with the brief's minus sign; one that rounds to zero is '0%'
    (never '-0%')."""
    if value is None or not np.isfinite(value):
        return _("n/a")
    if round(abs(value) * 100, digits) == 0:
        return ltr(local_digits(f"{0:.{digits}f}%"))
    return ltr(local_digits(f"{value:+.{digits}%}".replace("-", "\u2212")))


def share(value: float) -> str:
    """An unsigned share (0-1) as a whole percentage."""
    return _("n/a") if value is None or not np.isfinite(value) else ltr(digits(f"{value:.0%}"))


def rials(wage_months: float, wage: float, short: bool = False) -> str:
    """An amount of wage-months in rials at ``wage`` rials a wage-month (billions or millions; ``short``: for
    a narrow table cell, billions as 'bn')."""
    if wage_months is None or not np.isfinite(wage_months):
        return _("n/a")
    amount = wage_months * wage
    if amount == 0:
        return _("0 rials")
    if abs(amount) >= 1e9:
        billions = _("{amount} bn rials") if short else _("{amount} billion rials")
        return billions.format(amount=digits(f"{amount / 1e9:,.1f}"))
    return _("{amount} million rials").format(amount=digits(f"{amount / 1e6:,.1f}"))


def date_text(day: date) -> str:
    """The brief's date: ISO in English; in Persian the Solar Hijri date with the Gregorian beside it
    ('۱۷ آذر ۱۴۰۵ (۸ دسامبر ۲۰۲۶)'), in Persian digits."""
    if language() != "fa":
        return day.isoformat()
    from babel.dates import format_date
    from persiantools.jdatetime import JalaliDate
    solar = JalaliDate(day)
    gregorian = format_date(day, "d MMMM y", locale="fa")
    return digits(f"{solar.day} {solar.strftime('%B', locale='fa')} {solar.year} ({gregorian})")


NO_INTERVAL = N_("not enough seeds for an interval")
FEW_SEEDS = 10  # below this many paired seeds, the brief cautions and calls no effect 'clear'


def ci_text(row, outcome: str) -> str:
    """'95% CI low to high', or that there is none (never 'n/a to n/a')."""
    if not (np.isfinite(row.ci_low) and np.isfinite(row.ci_high)):
        return _(NO_INTERVAL)
    return _("95% CI {low} to {high}").format(low=fmt(row.ci_low, outcome, True), high=fmt(row.ci_high, outcome, True))


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
        return _("n/a (nothing spent)")
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{fmt(value, outcome, True)} ({_(NO_INTERVAL)})"
    return f"{fmt(value, outcome, True)} ({fmt(low, outcome, True)} {_('to')} {fmt(high, outcome, True)})"


def compact(row, outcome: str, brackets: bool = False) -> str:
    """An effect and its 95% CI in a table cell: '+9.2<br>(+4.3 to +13.3)', or with ``brackets``
    '+9.2<br>[+4.3, +13.3]' (page 1's narrow columns)."""
    if row is None or not np.isfinite(row.effect):
        return _("n/a")
    if not (np.isfinite(row.ci_low) and np.isfinite(row.ci_high)):
        return f"{fmt(row.effect, outcome, True)}<br><span class='ci'>({_('no interval')})</span>"
    low, high = fmt(row.ci_low, outcome, True), fmt(row.ci_high, outcome, True)
    interval = _("[{low}, {high}]").format(low=low, high=high) if brackets else f"({low} {_('to')} {high})"
    return f"{fmt(row.effect, outcome, True)}<br><span class='ci'>{interval}</span>"


CLUSTERS = {  # the cluster presets in plain words (translated where shown)
    "generic": N_("A generic cluster of micro and small firms"),
    "gold_jewellery": N_("Gold and jewellery, Isfahan"),
    "carpet_kashan": N_("Machine-made carpet, Kashan and Aran-Bidgol"),
    "plastics": N_("Plastic products, Isfahan"),
    "tarpaulin_gauze_kordabad": N_("Tarpaulin, bandage and gauze, Kordabad"),
    "towels_adrian": N_("Towel weaving, Adrian (Khomeinishahr)"),
    "bedsheets_dorcheh": N_("Bedsheet weaving, Dorcheh and Khomeinishahr"),
    "stone_isfahan": N_("Building stone, Isfahan"),
    "brick_isfahan": N_("Brick, Isfahan"),
    "shoes_isfahan": N_("Shoes, Isfahan"),
    "rosewater_kashan": N_("Rosewater, Kashan"),
    "textiles_dehaq": N_("Textiles, Dehaq"),
    "isfahan_province": N_("Isfahan province (about 70 clusters)"),
}

PROBLEMS = {"failed": N_("failed"), "incomplete": N_("incomplete"), "corrupt": N_("corrupt"),
            "missing": N_("missing"), "duplicate": N_("duplicate")}  # collect's problems, as the brief names them

SHOCKS = {"none": N_("no shock"), "demand_drop": N_("a drop in demand"),
          "input_price_spike": N_("a spike in input prices"), "export_restriction": N_("a restriction on exports")}


def cluster_name(preset: str) -> str:
    return _(CLUSTERS[preset]) if preset in CLUSTERS else preset.replace("_", " ").title()


def setting_facts(col: Collection, runs: pd.DataFrame, ctx: str, horizon: int, start, seeds) -> list[str]:
    """The setting of the runs shown, as page 1 names it: the cluster or province (and its scale), the
    shock, the horizon and the CDA's start, the seeds, the overrides."""
    presets = sorted(runs.cluster_preset.unique())
    facts = [_("Cluster: {name}").format(name=_("; ").join(cluster_name(p) for p in presets))
             + f" (<code>cluster={','.join(presets)}</code>)"]
    config = {}
    for run in runs.run:
        try:
            config = read_config(col.folders[run])
            break
        except Exception:  # a run without its _config.yaml (e.g. written by a test): the summary has the rest
            continue
    province = (config.get("cluster") or {}).get("province")
    if isinstance(province, dict):
        scale = province.get("scale", 1.0)
        facts.append(_("the whole province at scale {scale} of its size").format(scale=scale)
                     + f" (<code>cluster.province.scale={scale}</code>)" if scale != 1.0
                     else _("the whole province at full size (scale 1.0)"))
    shocks = sorted(runs.shock.astype(str).unique()) if "shock" in runs else ["none"]
    shock_cfg = config.get("shock") or {}
    for shock in shocks:
        if shock in ("none", "None", "nan"):
            facts.append(_("no shock"))
        else:
            facts.append(_("shock: {shock} from month {start} for {months} months, magnitude {size}").format(
                shock=_(SHOCKS.get(shock, shock.replace("_", " "))), start=shock_cfg.get("start_month", "?"),
                months=shock_cfg.get("duration_months", "?"), size=shock_cfg.get("magnitude", "?")))
    facts.append(_("horizon: {months} months (one step a month)").format(months=horizon))
    if start is not None:
        facts.append(_("the CDA starts at month {month}").format(month=start))
    seeds = sorted(int(s) for s in seeds)
    if seeds:
        span = (_("{first}-{last}").format(first=seeds[0], last=seeds[-1])
                if seeds == list(range(seeds[0], seeds[-1] + 1)) else digits(_(", ").join(map(str, seeds))))
        facts.append(_("{n} seeds ({span}), the same for every programme").format(n=len(seeds), span=span))
    others = [o for o in ctx.split(",") if o and not o.startswith("cluster=")]
    if others:
        facts.append(_("overrides: {overrides}").format(overrides=_(", ").join(f"<code>{html.escape(o)}</code>"
                                                                              for o in others)))
    return facts


def _at(eff: pd.DataFrame, policy: str, when: str, outcome: str):
    rows = eff[(eff.policy == policy) & (eff.when == when) & (eff.outcome == outcome)]
    return rows.iloc[0] if len(rows) else None


def best_buy(eff: pd.DataFrame, series: pd.DataFrame, policies, baseline: str, outcome: str, horizon: int):
    """The programmes' gains in ``outcome`` at ``horizon`` per 100 wage-months the CDA actually spent by
    then (the effects table's), and each one's chance of being the best buy across seeds (the share of
    the paired seeds on which its own gain per spending is the largest). Returns a frame by policy:
    value, low, high, spent, chance; sorted best first, programmes that spent nothing last."""
    rows = []
    for p in policies:
        r = _at(eff, p, "horizon", outcome)
        if p == baseline or r is None:
            continue
        rows.append({"policy": p, "value": r.per_100_spent, "low": r.per_100_low, "high": r.per_100_high,
                     "spent": r.spent, "budget": r.budget})
    table = pd.DataFrame(rows, columns=["policy", "value", "low", "high", "spent", "budget"]).set_index("policy")
    at = series[series.month == horizon]
    wide = at.pivot_table(index="seed", columns="policy", values=outcome, aggfunc="first")
    spent = at.pivot_table(index="seed", columns="policy", values="cda_spent", aggfunc="first") \
        if "cda_spent" in at else pd.DataFrame()
    buying = [p for p in table.index if np.isfinite(table.loc[p, "value"]) and p in wide and p in spent]
    table["chance"], table["chance_seeds"] = np.nan, 0
    if buying and baseline in wide:
        gains = wide[buying].sub(wide[baseline], axis=0)
        chance = chance_best(gains, spent[buying])
        table.loc[chance.index, "chance"] = chance
        table["chance_seeds"] = int(len(gains.dropna().index.intersection(spent[buying].dropna().index)))
    order = sorted(table.index, key=lambda p: (not np.isfinite(table.loc[p, "value"]), -np.nan_to_num(
        table.loc[p, "value"], nan=0.0), fig.ordered(table.index).index(p)))
    return table.loc[order]


BEST_CHOICES = ("employment", "output", "exports", "firms", "joint_actions", "mean_trust", "network_density",
                "cooperation_rate", "members_share")  # outcomes the effects table has, more being better
def _snapshot_panels(col: Collection, runs: pd.DataFrame, policies, month):
    """(title, firms, ties, places) for seed-0-like runs (of ``runs``) of each policy at ``month``,
    when snapshots exist."""
    panels = []
    for policy in policies:
        for _row, r in runs[runs.policy == policy].sort_values("seed").iterrows():
            kinds = ("firms", "ties", "places")
            if all(snapshot_path(col.folders[r.run], k, month).is_file() for k in kinds):
                try:
                    frames = [read_snapshot(col.folders[r.run], k, month) for k in kinds]
                except Exception:
                    continue
                panels.append((_("{name}\nmonth {month}, seed {seed}").format(name=fig.plain(policy), month=month,
                                                                             seed=r.seed), *frames))
                break
    return panels


def participants_rows(col: Collection, runs: pd.DataFrame, policies, baseline: str, horizon: int) -> list[dict]:
    """The firms each programme reached and the others (issue 22, item 6; :func:`analysis.validation.participants`),
    at ``horizon``: for each programme with a budget, on the seeds whose firm snapshots were kept at its start,
    at its exit and at the horizon in both its run and the baseline's, the exact effects (each firm against
    itself in the baseline run) on the firms it reached by its exit and on the others, and what an evaluator
    would estimate from the programme run alone. A row per programme; none when the results carry no such
    snapshots (khusheh-run's sim.snapshot_months and sim.snapshot_seeds)."""
    from .validation import participants

    base = runs[runs.policy == baseline]
    rows = []
    for policy in policies:
        mine = runs[runs.policy == policy]
        if policy == baseline or not len(mine) or not mine.budget.iloc[0] > 0:
            continue
        first = int(mine.start_month.iloc[0])
        last = first + int(mine.duration_months.iloc[0])
        if last > horizon:
            continue
        months = sorted({first, last, horizon})
        frames = []
        for seed in sorted(set(mine.seed) & set(base.seed)):
            pair = [mine[mine.seed == seed].iloc[0], base[base.seed == seed].iloc[0]]
            if not all(snapshot_path(col.folders[r.run], "firms", m).is_file() for r in pair for m in months):
                continue
            snaps = [{m: read_snapshot(col.folders[r.run], "firms", m) for m in months} for r in pair]
            if not {"uid", "reached"} <= set(snaps[0][first].columns):
                continue  # results written before firms carried their identity and reach
            frames.append(participants(snaps[0], snaps[1], start=first, reached_by=last, months=(horizon,)))
        if not frames:
            continue
        t = pd.concat(frames, ignore_index=True)

        def cell(group, column, scale=1.0, places=2):
            v = t.loc[t.group == group, column].to_numpy() * scale
            half = half_width(v)
            value = ltr(digits(f"{v.mean():+.{places}f}".replace("-", "\u2212")))
            return value if not np.isfinite(half) else f"{value} (\u00b1{digits(f'{half:.{places}f}')})"

        reached = t.loc[t.group == "participants", "firms"].mean()
        alive = reached + t.loc[t.group == "others", "firms"].mean()
        rows.append({"name": fig.plain(policy), "seeds": digits(str(len(frames))), "exit": digits(str(last)),
                     "reached": digits(f"{reached:,.0f}"), "alive": digits(f"{alive:,.0f}"),
                     "p_emp": cell("participants", "employment"), "p_surv": cell("participants", "survival", 100, 1),
                     "p_exp": cell("participants", "exporting", 100, 1), "o_emp": cell("others", "employment"),
                     "o_surv": cell("others", "survival", 100, 1), "e_emp": cell("evaluator", "employment"),
                     "e_surv": cell("evaluator", "survival", 100, 1)})
    return rows


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
    return ctx if ctx else _("the default settings (no overrides besides policy and seed)")


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


def edition_name(lang: str | None, stem: str = "brief") -> str:
    """The brief's file stem in ``lang``: ``brief`` in English (or the current catalog), ``brief.fa`` in Persian."""
    return stem if lang in (None, DEFAULT_LANGUAGE) else f"{stem}.{lang}"


def build(sweeps, out: Path, baseline: str = BASELINE, target_ci: dict | None = None,
          sensitivity: Path | None = None, setting: str | None = None, wage: float = WAGE_RIALS,
          best_by: str = BEST_BY, lang: str | None = None, regimes_from=None) -> dict:
    """Collect, compute, draw and write the brief in ``lang`` (default: the current language, English unless
    :mod:`analysis.i18n` says otherwise); returns the paths written. See :func:`build_editions`."""
    return build_editions(sweeps, out, baseline, target_ci, sensitivity, setting, wage, best_by, (lang,),
                          regimes_from)[lang]


def build_editions(sweeps, out: Path, baseline: str = BASELINE, target_ci: dict | None = None,
                   sensitivity: Path | None = None, setting: str | None = None, wage: float = WAGE_RIALS,
                   best_by: str = BEST_BY, langs=(DEFAULT_LANGUAGE,), regimes_from=None) -> dict:
    """Collect and compute once, then draw and write the brief in each of ``langs`` (``en``: ``brief.html``,
    ``brief.pdf`` and ``figures/``; ``fa``: ``brief.fa.html``, ``brief.fa.pdf`` and ``figures/fa/``, right to
    left, in Persian digits; None: the current language, as ``en``); returns {lang: the paths written}.
    One template and one set of figure functions for every language: the text is in the catalogs.

    ``setting``: which of several settings (the runs' overrides other than policy and seed,
    e.g. ``shock=demand_drop``; ``default`` for none) the brief shows; see ``choose_setting``.

    ``sensitivity``: a folder written by ``khusheh-report --sensitivity``; its
    verdicts (which effects keep their sign across the uncertain parameters'
    ranges) go into the caveats.

    ``wage``: rials a wage-month (the brief gives money in both); ``best_by``: the outcome whose gain at the
    horizon per 100 wage-months actually spent names the best buy.
    """
    robustness = caveats(sensitivity) if sensitivity else []
    out.mkdir(parents=True, exist_ok=True)
    col = collect(sweeps, ignore=[out, out / "figures"])
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
    diff = difference_bands(series[series.policy.isin(policies)], COOPERATION + GROWTH, baseline)
    main = _main_policy(policies)
    exits = {r.policy: int(r.start_month + r.duration_months) for r in runs.drop_duplicates("policy").itertuples()
             if r.policy in policies and r.budget > 0}
    main_runs = runs[runs.policy == main] if main else runs.iloc[:0]
    start = int(main_runs.start_month.iloc[0]) if len(main_runs) else None
    end = int(main_runs.start_month.iloc[0] + main_runs.duration_months.iloc[0]) if len(main_runs) else None
    horizon = int(series.month.max())
    ce = eff[(eff.context == ctx) & eff.policy.isin(policies)]
    seeds = sorted(set(runs[runs.policy == baseline].seed) & set(runs[runs.policy.isin(paired)].seed))
    ends = load_regimes(regimes_from) if regimes_from else None
    presets = sorted(runs.cluster_preset.unique())
    editions = {}
    for lang in langs:
        with using(lang):
            figs = out / "figures" if lang in (None, DEFAULT_LANGUAGE) else out / "figures" / lang
            figs.mkdir(parents=True, exist_ok=True)
            editions[lang] = _edition(out, figs, edition_name(lang), col, runs, ce, series, band, diff, policies,
                                      baseline, main, start, end, exits, horizon, seeds, contexts, robustness, wage,
                                      best_by, sensitivity, (ends, presets))
    return editions


def _edition(out, figs, stem, col, runs, ce, series, band, diff, policies, baseline, main, start, end, exits,
             horizon, seeds, contexts, robustness, wage, best_by, sensitivity, regime_runs=(None, ())) -> dict:
    """Draw the figures and write the brief ``stem``.html and ``stem``.pdf in the current language;
    ``regime_runs``: the regimes' end values (or None) and the presets of the brief's runs."""
    cap = Captions(n_seeds=len(seeds), seeds=seeds, horizon=horizon, start=start, end=end, wage=wage,
                   main=main, baseline=baseline)
    paths, figures = {}, {}
    shown = [p for p in policies if p not in (baseline, "zero_budget")] or [p for p in policies if p != baseline]
    # zero_budget is the baseline by construction: its panels would be flat lines at zero
    figures["forest"] = cap.forest()
    paths["forest"] = fig.forest(ce, ["mean_trust", "joint_actions", "employment", "output"], figs / "forest.png",
                                 title=figures["forest"]["title"])
    cost = cost_table(ce)
    if len(cost):
        figures["cost"] = cap.cost()
        paths["cost"] = fig.cost_effectiveness(cost, figs / "cost_effectiveness.png", title=figures["cost"]["title"])
    for key, outcome, name in (("cooperation", "joint_actions", "cooperation.png"),
                               ("cooperation_trust", "mean_trust", "cooperation_trust.png"),
                               ("growth", "employment", "growth.png"),
                               ("growth_output", "output", "growth_output.png")):
        figures[key] = cap.effects(outcome)
        paths[key] = fig.effect_chart(diff, outcome, shown, figs / name, start, exits, title=figures[key]["title"])
    levels = [baseline, main] if main else [baseline]
    figures["main"] = cap.levels(levels)
    paths["main"] = fig.fan_chart(band, ["mean_trust", "joint_actions", "employment", "output"], levels,
                                  figs / "main.png", start, end, exits=exits, title=figures["main"]["title"])
    map_panels = _snapshot_panels(col, runs, [baseline, main] if main else [baseline], horizon)
    if map_panels:
        # the main programme also at the CDA's exit, when that month was kept
        at_exit = _snapshot_panels(col, runs, [main], end) if main and end is not None and end < horizon else []
        panels = map_panels[:1] + at_exit + map_panels[1:]
        figures["map"] = cap.map(panels)
        paths["map"] = fig.cluster_map(panels, figs / "map.png", title=figures["map"]["title"])
        figures["network"] = cap.network(map_panels)
        paths["network"] = fig.network([(t, f, ti) for t, f, ti, _p in map_panels], figs / "network.png",
                                       title=figures["network"]["title"])
    else:
        print(f"khusheh-report: no run kept agent-level snapshots of month {horizon} (khusheh-run's"
              " sim.snapshot_months and sim.snapshot_seeds): the brief has no maps", file=sys.stderr)
    for stale in set(FIGURES) - {Path(v).name for v in paths.values()}:  # an earlier report's, not drawn now
        (figs / stale).unlink(missing_ok=True)
    for key, about in figures.items():
        about["src"] = Path(paths[key]).relative_to(out).as_posix()
    peak = peak_while_working(series, main, baseline, end)
    buy = best_buy(ce, series, policies, baseline, best_by, horizon)
    regime = regime_text(regime_runs[0], series[series.seed.isin(seeds) & series.policy.isin(policies)], policies,
                         list(regime_runs[1]))
    text = render(col, ce, cost, policies, main, baseline, start, end, horizon, figures, contexts, robustness,
                  peak, buy=buy, best_by=best_by, wage=wage, runs=runs, seeds=seeds, sensitivity=bool(sensitivity),
                  regime=regime, reached=participants_rows(col, runs[runs.seed.isin(seeds)], policies, baseline,
                                                           horizon))
    html_path = out / f"{stem}.html"
    _write(html_path, text)
    pdf_path = out / f"{stem}.pdf"
    write_pdf(text, out, pdf_path)
    return {"html": html_path, "pdf": pdf_path, "effects": out / "effects.csv", **paths}


def _write(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def _seed_span(seeds) -> str:
    seeds = sorted(int(s) for s in seeds)
    if not seeds:
        return ""
    if seeds == list(range(seeds[0], seeds[-1] + 1)):
        if len(seeds) == 1:
            return digits(str(seeds[0]))
        return _("{first}-{last}").format(first=seeds[0], last=seeds[-1])
    return digits(_(", ").join(map(str, seeds)))


class Captions:
    """Each figure's title and caption (what its lines and bands are, which seeds, which months)."""

    def __init__(self, n_seeds, seeds, horizon, start, end, wage, main, baseline):
        self.n, self.span, self.horizon, self.start, self.end = n_seeds, _seed_span(seeds), horizon, start, end
        self.wage, self.main, self.baseline = wage, main, baseline

    def _seeds(self) -> str:
        return _("the {n} paired seeds ({span})").format(n=self.n, span=self.span)

    def forest(self) -> dict:
        return {"title": _("Effects of every programme against no CDA, at the CDA's exit and at month {month}").format(
            month=self.horizon),
            "caption": _("Each marker is the mean over {seeds} of the programme's run minus the baseline's run on the "
                         "same seed; bars are 95% bootstrap confidence intervals. Open circles: at the CDA's exit (each "
                         "programme's own exit month, e.g. month {end} for a 3-year CDA); filled squares: at month "
                         "{month}, the end of the runs. A bar that crosses the vertical line at zero is not clearly "
                         "different from no CDA.").format(seeds=self._seeds(), end=self.end, month=self.horizon)}

    def cost(self) -> dict:
        return {"title": _("What 100 wage-months of the CDA's spending buy by month {month}").format(
            month=self.horizon),
                "caption": _("Jobs (left) and output (right) gained at month {month} per 100 wage-months ({rials}) "
                             "the CDA actually spent by then: the mean gain over {seeds} divided by the mean spending, "
                             "with 95% bootstrap intervals over the seeds. 'Nothing spent': no ratio.").format(
                    month=self.horizon, rials=rials(100, self.wage), seeds=self._seeds())}

    def effects(self, outcome: str) -> dict:
        return {"title": _("{outcome}: each programme minus no CDA, same seeds, months 0-{month}").format(
            outcome=fig.label(outcome), month=self.horizon),
            "caption": _("One panel per programme, on one vertical scale ({unit}). Line: the median over {seeds} of "
                         "the programme's run minus the baseline's run on the same seed, month by month; band: 10% to "
                         "90% of those per-seed differences; the line at zero is no difference. Dashed: the CDA "
                         "starts (month {start}); dotted: it leaves (the programme's own month). The CDA without "
                         "budget equals the baseline by construction and is not drawn.").format(
                unit=fig.unit(outcome), seeds=self._seeds(), start=self.start)}

    def levels(self, policies) -> dict:
        return {"title": _("Levels: the cluster without a CDA and with {main}, months 0-{month}").format(
            main=fig.plain(policies[-1]), month=self.horizon),
            "caption": _("Levels matter here: how much cooperation and how many jobs the cluster has at all. Lines: "
                         "the median over {seeds} of each scenario; bands: 10% to 90% of the seeds. Dashed: the CDA "
                         "starts (month {start}); dotted: it leaves (month {end}). Effects are the differences between "
                         "the two, seed by seed (the charts of effects over time).").format(seeds=self._seeds(),
                                                                                          start=self.start,
                                                                           end=self.end)}

    def map(self, panels) -> dict:
        return {"title": _("The cluster on the map of Isfahan province"),
                "caption": _("Firms of one run each (the seed and month above each panel) on the 5 km grid, jittered "
                             "within their cell; dot size: employees; colour: the firm's mean trust in its partners "
                             "(0 when it has none); grey lines: ties with mean trust of at least {threshold}. Squares: "
                             "towns (names moved apart so that none overlap; in a crowded province, a name that cannot be "
                             "placed apart is left out); triangles: support institutions and "
                             "suppliers; star: the CDA.").format(threshold=fig.STRONG_TIE)}

    def network(self, panels) -> dict:
        return {"title": _("The cooperation network at month {month}").format(month=self.horizon),
                "caption": _("The ties of one run each at month {month} (the seed above each panel) with mean trust "
                             "of at least "
                             "{threshold}, firms without such a tie left out. Firms are grouped by community (Louvain "
                             "method), the largest group first; grey lines: ties within a group (at most {edges}, the "
                             "strongest); orange lines: ties between two groups, one line per pair of groups, as wide as "
                             "they are many; dot colour: the firm's mean trust in its partners (colour bar); dot size: "
                             "employees. Positions show who is tied to whom, not places.").format(
                    month=self.horizon, threshold=fig.STRONG_TIE, edges=fig.MAX_DRAWN_EDGES)}
def _mechanism_note(eff: pd.DataFrame, policy: str) -> str:
    """The effects at the horizon on what holds cooperation after the CDA leaves (trust between partners,
    the association's members), as page 1 lists them."""
    parts = []
    for outcome in MECHANISMS:
        r = _at(eff, policy, "horizon", outcome)
        digits = fig.OUTCOMES[outcome].digits or 0
        if r is not None and np.isfinite(r.effect) and round(r.effect, digits) != 0:  # not a nil one ('+0.000')
            parts.append(f"{_(MECHANISMS[outcome])} {fmt(r.effect, outcome, True)}")
    return _(", ").join(parts)


def lasts_answer(b, a=None) -> str:
    """Page 1's answer to "does it last?" (a key of LASTS): :func:`lasting_kind`'s, except that an effect whose
    95% CI at the CDA's exit includes zero has nothing clear to last: "after_exit" when the horizon's CI then
    excludes zero (an effect that arises after the CDA leaves, e.g. built by the association it handed over
    to), "unclear_exit" otherwise."""
    kind, clear, _few = lasting_kind(b, a)
    if (kind in ("grows", "persists", "in_part", "fades", "reverses", "nil_exit") and np.isfinite(a.ci_low)
            and np.isfinite(a.ci_high) and a.ci_low <= 0 <= a.ci_high):
        return "after_exit" if clear else "unclear_exit"
    return kind


def _direction(kind: str, at_exit, at_horizon=None) -> str:
    """'rise: ' or 'fall: ' before a lasting verdict that follows an effect at the CDA's exit (or, for one
    that arises after the exit, the effect at the horizon)."""
    if kind == "after_exit" and at_horizon is not None:
        return _("rise: ") if at_horizon.effect > 0 else _("fall: ")
    if kind not in ("grows", "persists", "in_part", "fades", "reverses") or at_exit is None:
        return ""
    return _("rise: ") if at_exit.effect > 0 else _("fall: ")


def rank_rows(eff: pd.DataFrame, buy: pd.DataFrame, policies, baseline: str, best_by: str, horizon: int,
              wage: float) -> list[dict]:
    """Page 1's ranking table: one row per programme, the best buy first (``buy``'s order)."""
    order = [p for p in buy.index] + [p for p in policies if p != baseline and p not in buy.index]
    rows = []
    rank = 0
    for p in order:
        hz_c, ex_c = _at(eff, p, "horizon", RANK_COOPERATION), _at(eff, p, "cda_end", RANK_COOPERATION)
        hz_g, ex_g = _at(eff, p, "horizon", RANK_GROWTH), _at(eff, p, "cda_end", RANK_GROWTH)
        if hz_c is None and hz_g is None:
            continue
        any_row = hz_c if hz_c is not None else hz_g
        value = buy.loc[p, "value"] if p in buy.index else np.nan
        if np.isfinite(value):
            rank += 1
        kind = lasts_answer(hz_c, ex_c) if hz_c is not None else "no_pairs"
        budget, spent = float(any_row.budget), float(any_row.spent)
        # no exit month: a CDA without budget never works (a dash), or one that leaves after the horizon
        after = "\u2013" if budget <= 0 else _("after month {month}").format(month=horizon)
        if budget <= 0:
            kind = "no_budget"
        rows.append({
            "rank": digits(str(rank)) if np.isfinite(value) else "\u2013", "name": fig.plain(p),
            "money": (f"{fmt(spent, 'cda_spent')} {_('of')} {digits(f'{budget:,.0f}')}<br><span class='ci'>"
                      f"{rials(spent, wage, short=True)}</span>"),
            "coop_exit": compact(ex_c, RANK_COOPERATION, True) if ex_c is not None else after,
            "coop_horizon": compact(hz_c, RANK_COOPERATION, True),
            "growth_exit": compact(ex_g, RANK_GROWTH, True) if ex_g is not None else after,
            "growth_horizon": compact(hz_g, RANK_GROWTH, True),
            "per_100": (compact(pd.Series({"effect": value, "ci_low": buy.loc[p, "low"],
                                           "ci_high": buy.loc[p, "high"]}),
                                best_by, True) if np.isfinite(value) else _("nothing spent")),
            "chance": share(buy.loc[p, "chance"]) if p in buy.index and np.isfinite(buy.loc[p, "chance"]) else "\u2013",
            "lasts": _direction(kind, ex_c, hz_c) + _(LASTS[kind]),
            "held": (_mechanism_note(eff, p) if (kind in ("grows", "persists", "in_part") and ex_c.effect > 0)
                     or (kind == "after_exit" and hz_c.effect > 0) else "")})
    return rows


def _rival(buy: pd.DataFrame) -> str | None:
    """The programme that is the best buy on more seeds than the one that buys the most on average (``buy``'s
    first row), if any."""
    if len(buy) < 2 or not np.isfinite(buy.chance.iloc[0]):
        return None
    others = buy.iloc[1:].chance.dropna()
    if others.empty or others.max() <= buy.chance.iloc[0]:
        return None
    return others.idxmax()


def verdict(eff: pd.DataFrame, buy: pd.DataFrame, policies, baseline: str, best_by: str, horizon: int,
            n_seeds: int) -> list[str]:
    """At most three plain sentences: the best buy and its criterion, the largest lasting effect on
    cooperation, and what the programmes do to growth."""
    out = []
    few = n_seeds < FEW_SEEDS
    finite = buy[np.isfinite(buy.value)] if len(buy) else buy
    what = fig.label(best_by).lower()
    if len(finite):
        best = finite.index[0]
        r = finite.iloc[0]
        ci = (_("95% CI {low} to {high}").format(low=fmt(r.low, best_by, True), high=fmt(r.high, best_by, True))
              if np.isfinite(r.low) and np.isfinite(r.high) else _(NO_INTERVAL))
        if np.isfinite(r.low) and r.low <= 0 and not few:
            ci += _(", not clearly above zero")
        rival = _rival(finite)
        if rival is not None:  # another programme wins on more seeds: the mean's winner is no clear best buy
            chance = _(", but \u201c{rival}\u201d is the best buy on more of the {n} seeds ({theirs} against {ours}): "
                       "no programme is clearly the best buy by this criterion").format(
                rival=fig.plain(rival), n=int(r.chance_seeds), theirs=share(finite.loc[rival, "chance"]),
                ours=share(r.chance))
        elif np.isfinite(r.chance):
            chance = _(", and it is the best buy on {share} of the {n} seeds").format(share=share(r.chance),
                                                                                     n=int(r.chance_seeds))
        else:
            chance = ""
        out.append(_("Counting {what} at month {month} per 100 wage-months of the CDA's money actually spent, "
                     "\u201c{best}\u201d buys the most on average: {value} {unit} ({ci}){chance}{few}.").format(
            what=what, month=horizon, best=fig.plain(best), value=fmt(r.value, best_by, True),
            unit=fig.unit(best_by), ci=ci, chance=chance,
            few=_(" (too few seeds to be sure)") if few else ""))
    else:
        out.append(_("No programme spent any of the CDA's money by month {month}, so none is named the best buy.")
                   .format(month=horizon))
    coop = eff[(eff.when == "horizon") & (eff.outcome == RANK_COOPERATION) & (eff.policy != baseline)]
    if len(coop) and coop.effect.notna().any():
        top = coop.loc[coop.effect.idxmax()]
        kind = lasts_answer(top, _at(eff, top.policy, "cda_end", RANK_COOPERATION))
        lasts = (_(", and after the CDA leaves the effect {word}").format(word=_(LASTS[kind]))
                 if kind in ("grows", "persists", "in_part", "fades", "reverses")
                 else _(", an effect that arises after the CDA leaves (none is clear at its exit)")
                 if kind == "after_exit" else _("; whether it lasts after the CDA leaves is not shown"))
        out.append(_("\u201c{name}\u201d raises cooperation the most: {effect} joint actions a month at month {month} "
                     "({relative} against no CDA){lasts}.").format(
            name=fig.plain(top.policy), effect=fmt(top.effect, RANK_COOPERATION, True), month=horizon,
            relative=pct(top.relative), lasts=lasts))
    growth = eff[(eff.when == "horizon") & (eff.outcome == RANK_GROWTH) & (eff.policy != baseline)
                 & (eff.budget > 0)].dropna(subset=["effect"])
    if len(growth):
        low, high = growth.loc[growth.effect.idxmin()], growth.loc[growth.effect.idxmax()]
        clear = int((growth.ci_low > 0).sum())
        tail = (_("with only {n} paired seeds, no effect is called clear").format(n=n_seeds) if few
                else _("{k} of {m} programmes' 95% intervals lie above zero").format(k=clear, m=len(growth)))
        out.append(_("Employment at month {month} differs from no CDA by {low} to {high} workers ({plow} to {phigh} "
                     "of the baseline's {base}); {tail}.").format(
            month=horizon, low=fmt(low.effect, RANK_GROWTH, True), high=fmt(high.effect, RANK_GROWTH, True),
            plow=pct(low.relative, 1), phigh=pct(high.relative, 1), base=fmt(low.baseline_mean, RANK_GROWTH),
            tail=tail))
    return out[:3]


def intervals_cover(n_seeds: int, sensitivity: bool) -> str:
    """What the brief's 95% intervals cover, and what they do not."""
    text = _("The 95% intervals cover the model's own randomness: the random futures of the {n} paired seeds "
             "(a bootstrap over seeds).").format(n=n_seeds)
    if sensitivity:
        return text + " " + _("They do not include the uncertainty of the model's parameters; the sensitivity "
                              "results given say which effects keep their sign across those parameters' ranges "
                              "(see the caveats).")
    return text + " " + _("They do not include the uncertainty of the model's parameters: no sensitivity or "
                          "robustness results were given (khusheh-report --sensitivity-results, khusheh-robust).")


def regime_text(ends: pd.DataFrame | None, series: pd.DataFrame, policies, presets) -> str:
    """Page 1's sentence on regimes (DESIGN.md 5.9): from the end values of experiment=regimes's runs of this
    cluster (``ends``, see :func:`analysis.validation_report.load_regimes`; None when not given), whether the
    cluster's cooperation has two regimes and, if so, in what share of seeds each programme of the brief ends
    above the threshold (its cooperation rate over the last 12 months of the brief's runs)."""
    if ends is None:
        return _("Not examined here (khusheh-run -m experiment=regimes for this cluster, then --regimes).")
    clusters = sorted(set(ends.cluster) - {""})
    if clusters and clusters != sorted(presets):
        raise ResultsError(f"the regimes' runs are of {', '.join(clusters)}, the brief's of {', '.join(presets)}: "
                           "give the regimes' runs of the same cluster")
    found = regimes(ends)
    base = ends[ends.policy == "none"]
    months, levels, seeds = (digits(str(v)) for v in (int(base.months.max()), base.initial_trust.nunique(),
                                                       int(base.groupby("initial_trust").seed.nunique().min())))
    if found["threshold"] is None:
        return _("One: long runs without a CDA ({months} months, {levels} levels of initial trust, {seeds} seeds "
                 "each) show no threshold between a low-trust trap and a cooperative state, so no programme moves "
                 "this cluster across one.").format(months=months, levels=levels, seeds=seeds)
    last = series[series.month > series.month.max() - 12]
    end = last.groupby(["policy", "seed"]).cooperation_rate.mean()
    shares = _("; ").join(f"{fig.plain(p)}: {share(float((end.loc[p] > found['threshold']).mean()))}"
                          for p in policies if p in end.index.get_level_values(0))
    return _("Two: long runs without a CDA ({months} months, {levels} levels of initial trust) split at a "
             "cooperation rate of {threshold}; the share of seeds that end above it: {shares}.").format(
                 months=months, levels=levels, threshold=digits(f"{found['threshold']:.2f}"), shares=shares)


def ltr_runs(page: str) -> str:
    """In a right-to-left page, the left-to-right isolates of its body text that hold a command or an option
    (see the catalog) as unbroken spans (``white-space: nowrap``) that WeasyPrint lays out left to right; signed
    numbers (:func:`analysis.i18n.ltr`) stay plain isolates (WeasyPrint puts their sign on the left in page 1's
    ranking table but on the right in some other cells and sentences; no markup tried did both). Tried in
    WeasyPrint on these pages: a command whose isolate carries a left-to-right mark at each end reads right, and a line
    break no longer splits it; an option's leading ``--`` lands on its right (``wage-rials--``) whatever marks
    surround it, and reads right only as bare text whose hyphens cannot break (U+2011). Text inside tags
    (attributes) and before the body is left as it is; English pages are returned unchanged."""
    if direction() != "rtl" or "<body" not in page:
        return page
    head, body = page.split("<body", 1)
    runs = re.compile("\u2066([^\u2069<>]*)\u2069")

    def unit(run):
        text = run.group(1)
        if text.startswith("-"):
            lead = len(text) - len(text.lstrip("-"))
            return '<span class="ltr">' + "\u2011" * lead + text[lead:] + "</span>"
        if re.search("[A-Za-z]", text):
            return '<span class="ltr">\u2066\u200e' + text + "\u200e\u2069</span>"
        return run.group(0)

    body = re.sub(r">([^<]*)<", lambda m: ">" + runs.sub(unit, m.group(1)) + "<", body)
    return head + "<body" + body


def render(col, eff, cost, policies, main, baseline, start, end, horizon, figures, contexts,
           robustness=(), peak=None, *, buy=None, best_by=BEST_BY, wage=WAGE_RIALS, runs=None, seeds=(),
           sensitivity=False, regime: str = "", reached=()) -> str:
    summary = col.summary[col.summary.context == contexts[0]]  # the context this brief shows
    runs = summary if runs is None else runs
    cluster = _("; ").join(cluster_name(c) for c in sorted(summary.cluster_preset.unique()))
    paired = eff[(eff.when == "horizon") & eff.policy.isin(policies)].groupby("policy").n_seeds.min()
    buy = pd.DataFrame(columns=["value", "low", "high", "spent", "budget", "chance"]) if buy is None else buy
    n_seeds = int(paired.min()) if len(paired) else 0
    table_rows = []
    for policy in policies:
        if policy == baseline:
            continue
        sub = eff[(eff.policy == policy) & (eff.when == "horizon")].set_index("outcome")
        if sub.empty:
            continue
        table_rows.append({"name": fig.plain(policy), "budget": digits(f"{sub.budget.iloc[0]:,.0f}"),
                           "spent": fmt(sub.spent.iloc[0], "cda_spent"),
                           "n": int(sub.n_seeds.iloc[0]),
                           "cells": [compact(sub.loc[o], o) if o in sub.index else _("n/a") for o in TABLE]})
    cost_rows = [{"name": fig.plain(r.policy), "budget": digits(f"{r.budget:,.0f}"),
                  "spent": fmt(r.spent, "cda_spent"),
                  "rials": rials(r.spent, wage),
                  "jobs": per_100_text(r.jobs_per_100, r.jobs_low, r.jobs_high, "employment"),
                  "output": per_100_text(r.output_per_100, r.output_low, r.output_high, "output")}
                 for r in cost.itertuples()] if len(cost) else []
    problems = [{"folder": html.escape(_run_label(p.folder)),
                 "problem": _(PROBLEMS.get(p.problem, p.problem)), "detail": html.escape(str(p.detail))}
                for p in col.problems.itertuples()]
    number = {k: i + 1 for i, k in enumerate(k for k in ("forest", "cost", "cooperation", "cooperation_trust", "growth",
                                                          "growth_output", "map", "network", "main") if k in figures)}
    for key, about in figures.items():
        about["label"] = _("Figure {n}.").format(n=number[key])
    best = buy[np.isfinite(buy.value)].index[0] if len(buy) and np.isfinite(buy.value).any() else None
    second = buy[np.isfinite(buy.value)].index[1] if len(buy) and np.isfinite(buy.value).sum() > 1 else None

    def buy_line(p):
        r = buy.loc[p]
        ci = (_("95% CI {low} to {high}").format(low=fmt(r.low, best_by, True), high=fmt(r.high, best_by, True))
              if np.isfinite(r.low) and np.isfinite(r.high) else _(NO_INTERVAL))
        return {"name": fig.plain(p), "value": fmt(r.value, best_by, True), "ci": ci,
                "text": per_100_text(r.value, r.low, r.high, best_by),
                "chance": share(r.chance), "spent": fmt(r.spent, "cda_spent"), "rials": rials(r.spent, wage)}

    tr = {"_": _, "lang": language() if language() != "custom" else DEFAULT_LANGUAGE, "num": digits,
          "rtl": direction() == "rtl"}
    # numbers the template prints itself ({{ r.n }}) in the language's digits (English: as they are)
    return ltr_runs(Environment(autoescape=False, finalize=localise).from_string(TEMPLATE).render(
        **tr, today=date_text(date.today()), cluster=cluster, main=fig.plain(main) if main else "",
        conclusion=conclude(eff, main, baseline, peak),
        facts=setting_facts(col, runs, contexts[0], horizon, start, seeds),
        verdict=verdict(eff, buy, policies, baseline, best_by, horizon, n_seeds),
        rank_rows=rank_rows(eff, buy, policies, baseline, best_by, horizon, wage),
        best=buy_line(best) if best else None, second=buy_line(second) if second else None,
        rival=buy_line(_rival(buy[np.isfinite(buy.value)])) if best and _rival(buy[np.isfinite(buy.value)]) else None,
        best_what=fig.label(best_by).lower(), best_unit=fig.unit(best_by), best_by=best_by,
        coop_label=fig.label(RANK_COOPERATION), coop_unit=fig.unit(RANK_COOPERATION),
        growth_label=fig.label(RANK_GROWTH), growth_unit=fig.unit(RANK_GROWTH),
        cover=intervals_cover(n_seeds, sensitivity), regime=regime, wage=digits(f"{wage:,.0f}"), per_100_rials=rials(100, wage),
        wage_source=_(WAGE_SOURCE) if wage == WAGE_RIALS else _("set with --wage-rials"),
        wage_short=_(WAGE_SHORT) if wage == WAGE_RIALS else _("set with --wage-rials"),
        table_rows=table_rows, table_head=[fig.label(o) for o in TABLE],
        table_units=[fig.unit(o) for o in TABLE], cost_rows=cost_rows, problems=problems, reached=reached,
        n_runs=len(summary), seeds=n_seeds, seeds_max=int(paired.max()) if len(paired) else 0, few=FEW_SEEDS,
        horizon=horizon, start=start, end=end, figures=figures,
        several=len(contexts) > 1, setting=setting_name(contexts[0]),
        others=[setting_name(c) for c in contexts[1:]], other_args=[_setting_arg(c) for c in contexts[1:]],
        n_all=len(col.summary), n_policies=len(policies) - 1,
        robustness=[html.escape(r) for r in robustness]))


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
            sig = _(NO_INTERVAL)
        elif n < FEW_SEEDS:
            sig = _("{ci}, from only {n} paired seeds: too few to call it clear").format(
                ci=ci_text(ja, "joint_actions"), n=n)
        else:
            sig = ((_("clearly above zero") if ja.ci_low > 0 else _("clearly below zero")) if clear
                   else _("not clearly different from zero")) + f": {ci_text(ja, 'joint_actions')}"
        out.append(_("Under the programme \u201c{name}\u201d, the cluster has {ja} joint actions a month at month "
                     "{month} compared with no CDA ({sig}), and employment differs by {em} workers ({rel}; {ci}).").format(
            name=fig.plain(main), ja=fmt(ja.effect, "joint_actions", True), month=int(ja.month), sig=sig,
            em=fmt(em.effect, "employment", True), rel=pct(em.relative, 1), ci=ci_text(em, "employment")))
    if peak:
        out.append(peak)
    if "mean_trust" in hz.index and hz.loc["mean_trust"].budget > 0:
        out.append(lasting(hz.loc["mean_trust"], end.loc["mean_trust"] if "mean_trust" in end.index else None))
    return out
WORKING = ("diagnostic", "trust_building", "pilot", "strategic", "exit")  # the CDA's phases while it works
PHASES = {"diagnostic": N_("diagnostic"), "trust_building": N_("trust building"), "pilot": N_("pilot"),
          "strategic": N_("strategic"), "exit": N_("exit")}


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
    name = phase.loc[month]
    return _("While the CDA works, the effect on {outcome} peaks at {peak} a month in month {month}, in its {phase} "
             "phase (the mean over paired seeds), and is {at_end} at its exit (month {end}): the effects at its exit "
             "and at the end of the runs do not show this peak (see the charts).").format(
        outcome=fig.label(outcome).lower(), peak=fmt(peak, outcome, True), month=month,
        phase=_(PHASES[name]) if name in PHASES else name.replace("_", " "), at_end=fmt(at_end, outcome, True), end=end)


PERSIST_TOLERANCE = 0.10  # within 10% of its size at the CDA's exit, an effect 'persists' (neither grows nor shrinks)


def _clear(r) -> bool | None:
    """Whether the 95% CI of ``r`` excludes zero (None without an interval)."""
    if not (np.isfinite(r.ci_low) and np.isfinite(r.ci_high)):
        return None
    return bool(r.ci_low > 0 or r.ci_high < 0)


def lasting_kind(b, a=None) -> tuple[str, bool | None, bool]:
    """Does an effect last after the CDA leaves? ``a``: the effect at its exit (None when the run ends
    before it), ``b``: at the horizon. Returns (kind, clear, few): kind is ``not_shown`` (no month after
    the exit), ``no_pairs``, ``unchanged`` (nil at both), ``nil_exit``, ``reverses`` (the horizon's CI
    excludes zero on the other side), ``fades`` (the horizon's CI includes zero, or the effect is gone),
    ``grows``, ``persists`` or ``in_part`` (by the size at the horizon against the size at the exit,
    PERSIST_TOLERANCE); ``clear``: whether the horizon's CI excludes zero (None without one, or below
    FEW_SEEDS paired seeds), ``few``: fewer than FEW_SEEDS paired seeds."""
    n = b.get("n_seeds", np.nan)
    few = bool(np.isfinite(n) and n < FEW_SEEDS)  # too few seeds to call anything clear
    clear = None if few else _clear(b)
    if a is None or int(a.month) >= int(b.month):
        return "not_shown", clear, few
    if not (np.isfinite(a.effect) and np.isfinite(b.effect)):
        return "no_pairs", clear, few
    if a.effect == 0:
        return ("unchanged" if b.effect == 0 else "nil_exit"), clear, few
    size = b.effect / a.effect  # the share of the exit's effect left, in the exit's direction
    if clear and size < 0:
        return "reverses", clear, few
    if clear is False or size <= 0:
        return "fades", clear, few
    if size > 1 + PERSIST_TOLERANCE:
        return "grows", clear, few
    return ("persists" if size >= 1 - PERSIST_TOLERANCE else "in_part"), clear, few


LASTS = {"not_shown": N_("not shown (the runs end before the CDA leaves)"), "no_pairs": N_("not shown"),
         "unchanged": N_("nothing to last"), "nil_exit": N_("nil at the exit"), "reverses": N_("reverses"),
         "fades": N_("fades"), "grows": N_("lasts and grows"), "persists": N_("lasts"),
         "in_part": N_("lasts in part"), "no_budget": N_("no CDA money: nothing to last"),
         "unclear_exit": N_("no clear effect at the exit to last"),
         "after_exit": N_("arises after the exit")}  # page 1's answers


def lasting(b, a=None, outcome: str = "mean_trust") -> str:
    """Does the effect on ``outcome`` last after the CDA leaves? (:func:`lasting_kind`) A sentence whose words
    follow the numbers: a 'rise' or a 'fall' by the sign at the exit; no claim about after the exit unless the
    horizon is after it. Below FEW_SEEDS paired seeds nothing is called clear."""
    name = fig.label(outcome).lower()
    kind, clear, few = lasting_kind(b, a)
    at_b = _("{effect} at month {month}").format(effect=fmt(b.effect, outcome, True), month=int(b.month))
    if kind == "not_shown":
        if a is not None:
            return _("The effect on {name} is {effect} at the CDA's exit (month {month}); the runs end there, so "
                     "whether it lasts after the CDA leaves is not shown (longer runs, sim.months, would show it).") \
                .format(name=name, effect=fmt(b.effect, outcome, True), month=int(a.month))
        return _("The effect on {name} is {effect} at the end of the runs, before the CDA's exit; the runs end while "
                 "the CDA is still at work, so whether it lasts after the CDA leaves is not shown (longer runs, "
                 "sim.months, would show it).").format(name=name, effect=fmt(b.effect, outcome, True))
    if kind == "no_pairs":
        return _("The effect on {name} at the CDA's exit (month {exit}) or at month {month} has no paired seeds: "
                 "whether it lasts is not shown.").format(name=name, exit=int(a.month), month=int(b.month))
    at_a = _("{effect} at its exit (month {month})").format(effect=fmt(a.effect, outcome, True), month=int(a.month))
    ci = (" " + _("(95% CI {low} to {high})").format(low=fmt(b.ci_low, outcome, True),
                                                     high=fmt(b.ci_high, outcome, True))
          if clear else " " + _("(from only {n} paired seeds: too few to call it clear)").format(n=int(b.n_seeds))
          if few else " (" + _(NO_INTERVAL) + ")")
    if kind == "unchanged":
        return _("The CDA leaves {name} unchanged: {at_a} and {at_b}.").format(name=name, at_a=at_a, at_b=at_b)
    if kind == "nil_exit":
        return _("The effect on {name} is nil at the CDA's exit (month {month}) and {at_b}{ci}.").format(
            name=name, month=int(a.month), at_b=at_b, ci=ci)
    rise = a.effect > 0
    verbs = {
        "reverses": (N_("The rise in {name} reverses after the CDA leaves: {at_a} and {at_b}{ci}."),
                     N_("The fall in {name} reverses after the CDA leaves: {at_a} and {at_b}{ci}.")),
        "fades": (N_("The rise in {name} fades after the CDA leaves: {at_a} and {at_b}{ci}."),
                  N_("The fall in {name} fades after the CDA leaves: {at_a} and {at_b}{ci}.")),
        "grows": (N_("The rise in {name} persists and grows after the CDA leaves: {at_a} and {at_b}{ci}."),
                  N_("The fall in {name} persists and grows after the CDA leaves: {at_a} and {at_b}{ci}.")),
        "persists": (N_("The rise in {name} persists (within {tolerance} of its size at the exit) after the CDA "
                        "leaves: {at_a} and {at_b}{ci}."),
                     N_("The fall in {name} persists (within {tolerance} of its size at the exit) after the CDA "
                        "leaves: {at_a} and {at_b}{ci}.")),
        "in_part": (N_("The rise in {name} persists in part after the CDA leaves: {at_a} and {at_b}{ci}."),
                    N_("The fall in {name} persists in part after the CDA leaves: {at_a} and {at_b}{ci}.")),
    }
    if kind == "fades":
        ci = (" " + _("(95% CI {low} to {high}: no longer clearly different from zero)").format(
            low=fmt(b.ci_low, outcome, True), high=fmt(b.ci_high, outcome, True)) if clear is False else "")
    return _(verbs[kind][0 if rise else 1]).format(name=name, at_a=at_a, at_b=at_b, ci=ci,
                                                   tolerance=digits(f"{PERSIST_TOLERANCE:.0%}"))
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
    parser.add_argument("--wage-rials", type=float, default=WAGE_RIALS, metavar="RIALS",
                        help="rials a wage-month (one worker's monthly cost) is worth, for the brief's money in rials "
                        f"beside wage-months (default: {WAGE_RIALS:,.0f}, Iran's legal minimum monthly wage for the "
                        "Iranian year 1404, Supreme Labour Council; a worker's full cost is higher)")
    parser.add_argument("--regimes", nargs="+", metavar="DIR",
                        help="folders holding khusheh-run -m experiment=regimes's runs of the same cluster: page 1 "
                        "then says whether the cluster has a cooperative regime and how often each programme ends "
                        "in it")
    parser.add_argument("--best-by", default=BEST_BY, metavar="OUTCOME",
                        help="the outcome whose gain at the horizon per 100 wage-months the CDA actually spent names "
                        f"the best buy on page 1 (default: {BEST_BY}; one of " + ", ".join(BEST_CHOICES) + ")")
    parser.add_argument("--lang", default=DEFAULT_LANGUAGE, metavar="LANG[,LANG]",
                        help="the brief's language(s): en (brief.html, brief.pdf; the default), fa (Persian: "
                        "brief.fa.html, brief.fa.pdf, figures/fa/), or en,fa for both")
    args = parser.parse_args(argv)
    langs = list(dict.fromkeys(lang.strip() for lang in args.lang.split(",") if lang.strip()))
    if not langs or any(lang not in LANGUAGES for lang in langs):
        print(f"khusheh-report: --lang {args.lang!r}: one or more of {', '.join(LANGUAGES)}, joined by commas",
              file=sys.stderr)
        return 2
    robust = [s for s in args.sweeps if is_robustness(s) or (Path(s) / ROBUSTNESS).is_file()]
    if langs != [DEFAULT_LANGUAGE] and (robust or args.sensitivity or args.validation):
        print("khusheh-report: only the policy brief has other editions than English (--lang); the validation, "
              "sensitivity and robustness reports are written in English", file=sys.stderr)
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
    if not (np.isfinite(args.wage_rials) and args.wage_rials > 0):
        print(f"khusheh-report: --wage-rials takes a positive number of rials, got {args.wage_rials:g}",
              file=sys.stderr)
        return 2
    if args.best_by not in BEST_CHOICES:
        print(f"khusheh-report: --best-by {args.best_by!r}: one of {', '.join(BEST_CHOICES)}", file=sys.stderr)
        return 2
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
        editions = build_editions(args.sweeps, Path(args.out), args.baseline, target or None,
                                  Path(args.sensitivity_results) if args.sensitivity_results else None, args.setting,
                                  wage=args.wage_rials, best_by=args.best_by, langs=langs,
                                  regimes_from=args.regimes)
    except ResultsError as err:
        print(f"khusheh-report: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # e.g. --out names a file, or a folder it may not write
        print(f"khusheh-report: cannot read the runs or write the brief: {err}", file=sys.stderr)
        return 2
    except fig.FontMissing as err:  # the Persian edition's font is not installed
        print(f"khusheh-report: {err}", file=sys.stderr)
        return 2
    paths = editions[langs[0]]
    eff = pd.read_csv(paths["effects"])
    if target:
        need = eff[eff.when == "horizon"].dropna(subset=["seeds_for_target"])
        for (policy, outcome), r in need.set_index(["policy", "outcome"]).iterrows():
            print(f"{fig.plain(policy)}: {outcome} needs {int(r.seeds_for_target)} seeds for a 95% CI half-width of "
                  f"{target[outcome]:g} (now {int(r.n_seeds)} seeds)")
    for lang, written in editions.items():
        print(f"brief{'' if lang == DEFAULT_LANGUAGE else f' ({lang})'}: {written['html']} and {written['pdf']}")
    return 0


TEMPLATE = """<!DOCTYPE html>
<html lang="{{ lang }}"{% if rtl %} dir="rtl"{% endif %}><head><meta charset="utf-8">
<title>{{ _("Cluster development brief") }}: {{ cluster }}</title>
<style>
 @page { size: A4; margin: 11mm 12mm 13mm 12mm;
         @bottom-center { content: "{{ _('Khusheh policy brief, page') }} " counter(page) " {{ _('of') }} " counter(pages); font-size: 8pt; color: #555; } }
 body { font-family: "DejaVu Sans", sans-serif; font-size: 9pt; line-height: 1.3; color: #111; max-width: 190mm; margin: auto; }
 h1 { font-size: 13.5pt; margin: 0 0 1mm 0; } h2 { break-after: avoid; page-break-after: avoid; font-size: 11pt; margin: 3mm 0 1.2mm 0; border-bottom: 1px solid #ccc; }
 .question { font-size: 9pt; margin: 1mm 0; }
 .setting { font-size: 8.5pt; background: #f3f6fa; padding: 2mm 3mm; border-left: 3px solid #0072B2; margin: 2mm 0; }
 .verdict { font-size: 9.5pt; margin: 1mm 0 1.5mm 0; padding-left: 5mm; } .verdict li { margin-bottom: 0.8mm; }
 .best { border: 1.5px solid #009E73; border-radius: 2mm; padding: 1.5mm 2.5mm; margin: 1.5mm 0; font-size: 8.5pt; page-break-inside: avoid; }
 .small { font-size: 7.8pt; color: #333; } .ci { font-size: 6.8pt; color: #444; white-space: nowrap; }
 img { width: 100%; } figure { margin: 2mm 0 3mm 0; page-break-inside: avoid; }
 figure.half img { width: 78%; display: block; margin: auto; } figure.levels img { width: 62%; display: block; margin: auto; }
 figcaption { font-size: 7.8pt; color: #222; margin-top: 1mm; }
 table { border-collapse: collapse; width: 100%; font-size: 7.5pt; } th, td { border-bottom: 1px solid #ddd; padding: 1mm; text-align: left; vertical-align: top; }
 table.rank { font-size: 7pt; table-layout: fixed; } table.rank td, table.rank th { padding: 0.6mm 0.6mm; }
 table.rank .ci { white-space: normal; } table.rank td.num, table.rank th.num { text-align: right; }
 table.whole { break-inside: avoid; }
 th { background: #f3f6fa; } tr, img, .box { page-break-inside: avoid; } .box { background: #f7f7f7; padding: 3mm; border: 1px solid #ddd; font-size: 8.5pt; }
 .warn { background: #fff4e5; border: 1px solid #E69F00; padding: 1.5mm 2mm; font-size: 8pt; margin: 1.5mm 0; }
 .page { page-break-before: always; }
</style>{% if rtl %}<style>
 @page { @bottom-center { content: "{{ _('Khusheh policy brief, page') }} " counter(page, persian) " {{ _('of') }} " counter(pages, persian); direction: rtl; font-family: "Noto Sans Arabic UI", "DejaVu Sans", sans-serif; } }
 body { font-family: "Noto Sans Arabic UI", "DejaVu Sans", sans-serif; direction: rtl; line-height: 1.45; }
 .ltr { white-space: nowrap; }
 th, td { text-align: right; } table.rank td.num, table.rank th.num { text-align: left; }
 .setting { border-left: none; border-right: 3px solid #0072B2; } .verdict { padding-left: 0; padding-right: 5mm; }
 code { direction: ltr; unicode-bidi: isolate; } ul { padding-left: 0; padding-right: 5mm; }
</style>{% endif %}</head><body>
<h1>{{ _("Does a cluster development agent pay off?") }} {{ cluster }}</h1>
<p class="question">{{ _("How much more cooperation and growth does the cluster get with a cluster development agent (CDA)
than without, and does it last after the CDA leaves? Each programme against the same cluster without a CDA, on the same
random futures (seeds).") }} <span class="small">{{ _("Khusheh agent-based model") }} · {{ _("{n} simulated runs").format(n=n_runs) }}{% if several %}
{{ _("in this brief\n(of {n} found)").format(n=n_all) }}{% endif %} · {{ today }}</span></p>
<p class="setting"><b>{{ _("Setting.") }}</b> {{ facts|join(_("; ")) }}.</p>
{% if several %}<p class="warn"><b>{{ _("One setting of {n}.").format(n=others|length + 1) }}</b> {{ _("This brief shows the runs with
{setting}. The runs also hold {n} other setting(s), not shown here: {others}.").format(setting=setting, n=others|length, others=others|join(_("; "))) }}
{{ _("To write a brief of another, run khusheh-report again with <code>--setting</code> and one of:") }}
{% for a in other_args %}<code>{{ a }}</code>{% if not loop.last %}, {% endif %}{% endfor %}.</p>{% endif %}
{% if seeds < few %}<p class="warn"><b>{{ _("Few seeds.") }}</b> {{ _("These effects rest on {n} paired seed(s) (random
futures); with fewer than {few}, intervals are rough and no effect is called clear. Run more seeds (the same khusheh-run
command with sim.seeds=30, into the same folder).").format(n=seeds, few=few) }}</p>{% endif %}
{% if problems %}<p class="warn"><b>{{ _("Incomplete results:") }}</b> {{ _("{n} run(s) could not be used (see \\"Runs not
used\\" at the end); the numbers use the {m} complete runs.").format(n=problems|length, m=n_runs) }}</p>{% endif %}
<h2>{{ _("Verdict") }}</h2>
<ul class="verdict">{% for s in verdict %}<li>{{ s }}</li>{% endfor %}</ul>
<h2>{{ _("Every programme against no CDA") }} ({{ _("{n} programme(s), {s} paired seed(s) each").format(n=rank_rows|length, s=seeds) }}{% if seeds_max != seeds %}{{ "-" }}{{ seeds_max }}{% endif %})</h2>
<table class="rank"><colgroup><col style="width:4mm"><col style="width:26mm"><col style="width:20mm"><col style="width:18mm"><col style="width:18mm"><col style="width:18mm"><col style="width:18mm"><col style="width:19mm"><col style="width:12mm"><col style="width:33mm"></colgroup>
<tr><th rowspan="2">#</th><th rowspan="2">{{ _("Programme") }}</th><th rowspan="2">{{ _("CDA money spent, of its budget") }}<br><span class="ci">{{ _("wage-months; rials") }}</span></th>
<th colspan="2">{{ _("Cooperation:") }} {{ coop_label|lower }}<br><span class="ci">{{ coop_unit }}</span></th><th colspan="2">{{ _("Growth:") }} {{ growth_label|lower }}<br><span class="ci">{{ growth_unit }}</span></th>
<th rowspan="2">{{ _("Gain per 100 wage-months spent") }}<br><span class="ci">{{ best_what }}{{ _(", ") }}{{ _("month {month}").format(month=horizon) }}</span></th>
<th rowspan="2">{{ _("Best buy on") }}<br><span class="ci">{{ _("share of seeds") }}</span></th><th rowspan="2">{{ _("Does the cooperation effect last?") }}</th></tr>
<tr><th>{{ _("at the CDA's exit") }}</th><th>{{ _("month {month}").format(month=horizon) }}</th><th>{{ _("at the CDA's exit") }}</th><th>{{ _("month {month}").format(month=horizon) }}</th></tr>
{% for r in rank_rows %}<tr><td>{{ r.rank }}</td><td><b>{{ r.name }}</b></td><td>{{ r.money }}</td><td>{{ r.coop_exit }}</td>
<td>{{ r.coop_horizon }}</td><td>{{ r.growth_exit }}</td><td>{{ r.growth_horizon }}</td><td>{{ r.per_100 }}</td>
<td>{{ r.chance }}</td><td>{{ r.lasts }}{% if r.held %}<br><span class="ci">{{ _("held by") }} {{ r.held }}</span>{% endif %}</td></tr>{% endfor %}</table>
<p class="small">{{ _("Effects: mean over the paired seeds of the programme's run minus the run without a CDA on the same
seed, [95% confidence interval]. \u201cLast\u201d: the effect on {coop_lower} at month {month} against its size at the
CDA's exit (within {tolerance}: lasts; larger: grows; smaller, same sign: in part; no clear effect at the exit: its interval includes zero; arises after it: none clear at the exit, clear at month {month}); \u201cheld by\u201d: the effects on trust
between partners and on the association's members' share at month {month}.").format(coop_lower=coop_label.lower(),
month=horizon, tolerance=num("10%")) }}</p>
{% if best %}<div class="best"><b>{{ _("Best buy on average: {name}.").format(name=best.name) }}</b>
{{ _("Criterion: the gain in {what} at month {month} (the end of the runs) per 100 wage-months of the CDA's money actually
spent by then ({rials}), not per budget.").format(what=best_what, month=horizon, rials=per_100_rials) }}
{{ _("It gains {value} {unit} per 100 wage-months spent ({ci}), having spent {spent} wage-months ({amount}); it is the
best buy on {chance} of the seeds (the share of paired seeds on which its own gain per spending is the largest).").format(
value=best.value, unit=best_unit, ci=best.ci, spent=best.spent, amount=best.rials, chance=best.chance) }}
{% if second %}{{ _("Next: {name}, {value} ({ci}), best on {chance} of the seeds.").format(name=second.name, value=second.value, ci=second.ci, chance=second.chance) }}{% endif %}
{% if rival %}<b>{{ _("No clear best buy:") }}</b> {{ _("\u201c{rival}\u201d is the best buy on more seeds ({theirs}).").format(rival=rival.name, theirs=rival.chance) }}{% endif %}
{{ _("Choose another criterion with --best-by (e.g. joint_actions).") }}</div>{% endif %}
<p class="small"><b>{{ _("A cooperative regime that holds on its own?") }}</b> {{ regime }}
<b>{{ _("What the intervals cover.") }}</b> {{ cover }}
<b>{{ _("Money.") }}</b> {{ _("In wage-months (one worker's monthly cost) and in rials at {wage} rials a wage-month
({source}; --wage-rials sets another). Firms' own fees are not in these results: only the CDA's spending counts.").format(
wage=wage, source=wage_short) }}</p>

<h2 class="page">{{ _("Effects of every programme, in detail") }}</h2>
{% for s in conclusion %}<p>{{ s }}</p>{% endfor %}
{% set f = figures.forest %}<figure><img src="{{ f.src }}" alt="{{ f.title }}"><figcaption><b>{{ f.label }} {{ f.title }}.</b> {{ f.caption }}</figcaption></figure>
<p class="small">{{ _("All outcomes at month {month}: the difference against the baseline without a CDA, on the same seeds,
mean over seeds with a 95% bootstrap confidence interval. Budgets and spending in wage-months; \\"spent\\" is what the
CDA had actually spent by month {month}, mean over seeds.").format(month=horizon) }}</p>
<table><tr><th>{{ _("Programme") }}</th><th>{{ _("Budget") }}</th><th>{{ _("Spent") }}</th><th>{{ _("Seeds") }}</th>{% for h in table_head %}<th>{{ h }}<br><span class="small">{{ table_units[loop.index0] }}</span></th>{% endfor %}</tr>
{% for r in table_rows %}<tr><td>{{ r.name }}</td><td>{{ r.budget }}</td><td>{{ r.spent }}</td><td>{{ r.n }}</td>{% for c in r.cells %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</table>

{% if cost_rows %}<h2>{{ _("What the money buys") }}</h2>
<p>{{ _("Gains at month {month} per 100 wage-months the CDA actually spent by then ({rials}), not per 100 of its budget (a
CDA may spend far less than its budget): the mean gain over the paired seeds divided by the mean amount spent, with a 95%
bootstrap CI over seeds.").format(month=horizon, rials=per_100_rials) }}</p>
<table><tr><th>{{ _("Programme") }}</th><th>{{ _("Budget") }}</th><th>{{ _("Spent by month {month}").format(month=horizon) }}</th><th>{{ _("in rials") }}</th><th>{{ _("Jobs gained per 100 wage-months spent (95% CI)") }}</th><th>{{ _("Output gained per 100 wage-months spent (wage-months a month; 95% CI)") }}</th></tr>
{% for r in cost_rows %}<tr><td>{{ r.name }}</td><td>{{ r.budget }}</td><td>{{ r.spent }}</td><td>{{ r.rials }}</td><td>{{ r.jobs }}</td><td>{{ r.output }}</td></tr>{% endfor %}</table>
{% set f = figures.cost %}<figure class="half"><img src="{{ f.src }}" alt="{{ f.title }}"><figcaption><b>{{ f.label }} {{ f.title }}.</b> {{ f.caption }}</figcaption></figure>{% endif %}
{% if reached %}<h2>{{ _("Firms the programme reached, and the others") }}</h2>
<p>{{ _("At month {month}, the firms alive when each programme started that it reached by its exit (attended an event,
were grouped, subsidised, linked, a member, or used the facility) and the others. Exact effect: each firm against
itself in the run without a CDA on the same seed (employment in workers per firm, a firm gone counting 0; survival in
percentage points); mean over the seeds with firm snapshots (± half the 95% interval). An evaluator who had only
the programme's run would compare participants with the others (employment: difference in differences from the
programme's start; survival: the plain difference): the gap between the two is the bias of such an evaluation (a
firm must survive to be reached).").format(month=horizon) }}</p>
<table class="whole"><tr><th rowspan="2">{{ _("Programme") }}</th><th rowspan="2">{{ _("Firms reached") }}</th><th colspan="3">{{ _("Participants: exact effect") }}</th><th colspan="2">{{ _("Others: exact effect (spillover)") }}</th><th colspan="2">{{ _("An evaluator's estimate") }}</th></tr>
<tr><th>{{ _("employment per firm") }}</th><th>{{ _("survival (pp)") }}</th><th>{{ _("exporting (pp)") }}</th><th>{{ _("employment per firm") }}</th><th>{{ _("survival (pp)") }}</th><th>{{ _("employment per firm") }}</th><th>{{ _("survival (pp)") }}</th></tr>
{% for r in reached %}<tr><td>{{ r.name }}<br><span class="ci">{{ _("exit month {month}; {n} seeds").format(month=r.exit, n=r.seeds) }}</span></td><td>{{ _("{reached} of {alive}").format(reached=r.reached, alive=r.alive) }}</td><td>{{ r.p_emp }}</td><td>{{ r.p_surv }}</td><td>{{ r.p_exp }}</td><td>{{ r.o_emp }}</td><td>{{ r.o_surv }}</td><td>{{ r.e_emp }}</td><td>{{ r.e_surv }}</td></tr>{% endfor %}</table>{% endif %}

<h2>{{ _("Cooperation: effects over time") }}</h2>
{% for k in ("cooperation", "cooperation_trust") %}{% set f = figures[k] %}<figure><img src="{{ f.src }}" alt="{{ f.title }}"><figcaption><b>{{ f.label }} {{ f.title }}.</b> {{ f.caption }}</figcaption></figure>{% endfor %}
<h2>{{ _("Growth: effects over time") }}</h2>
{% for k in ("growth", "growth_output") %}{% set f = figures[k] %}<figure><img src="{{ f.src }}" alt="{{ f.title }}"><figcaption><b>{{ f.label }} {{ f.title }}.</b> {{ f.caption }}</figcaption></figure>{% endfor %}
{% if figures.map %}<h2>{{ _("The cluster on the map and its network") }}</h2>
{% for k in ("map", "network") %}{% set f = figures[k] %}<figure><img src="{{ f.src }}" alt="{{ f.title }}"><figcaption><b>{{ f.label }} {{ f.title }}.</b> {{ f.caption }}</figcaption></figure>{% endfor %}{% endif %}

<h2>{{ _("Methods") }}</h2><div class="box">
<p><b>{{ _("Model.") }}</b> {{ _("Khusheh, an agent-based model (Mesa 3.5) of micro and small firms, suppliers, support
institutions and a CDA on a 5 km grid of Isfahan province; one step is one month. Firms cooperate in joint actions when
their trust in the partner makes it pay; trust is learned from experience; the CDA's instruments (events, subsidies,
brokered groups, linkages, an export consortium, a common facility, an association) act in phases over its contract. Full
description: docs/ODD.md.") }}</p>
<p><b>{{ _("This brief.") }}</b> {{ _("Cluster: {cluster}. Horizon: {month} months. {n} programme(s) against the baseline
without a CDA; {seeds} paired seeds each, the same seeds for every programme (common random numbers), so differences are
paired by seed. Effects: mean paired difference, 95% percentile bootstrap CI; effect size d = mean difference / SD of
differences. Best buy: the programme with the largest gain per 100 wage-months actually spent (a ratio of means over the
paired seeds); its chance of being best: the share of paired seeds on which its own ratio is the largest. Money in
rials at {wage} rials a wage-month: {source}. A worker's full cost to a firm is above the minimum wage, so rial amounts
at this wage are a lower bound. Firms' fees (association dues, their shares of subsidised costs) are not in the results.").format(
wage=wage, source=wage_source, 
cluster=cluster, month=horizon, n=n_policies, seeds=seeds if seeds_max == seeds else num(seeds ~ "-" ~ seeds_max)) }}
{% if several %}{{ _("Setting shown: {setting}; not shown: {others} (khusheh-report --setting).").format(setting=setting, others=others|join(_("; "))) }}{% endif %}
{{ _("Joint actions, cooperative choices, entries and exits at a month are the mean of the 12 months ending there (an association's events start dozens of games in their month).") }}</p>
<p><b>{{ _("Assumptions that matter most.") }}</b> {{ _("Cooperation hinges on trust: a joint action pays only if both
partners contribute, and a firm that withholds while its partner contributes free-rides. Cooperation bought with a subsidy
builds less trust than cooperation freely given. No instrument writes trust: it moves only through joint actions played
and what firms hear of each other. After the CDA leaves, the association, the common facility and the groups last only
while their members' fees and contributions pay for them. Most cluster parameters are stylised, not estimated.") }}</p></div>
{% set f = figures.main %}<figure class="levels"><img src="{{ f.src }}" alt="{{ f.title }}"><figcaption><b>{{ f.label }} {{ f.title }}.</b> {{ f.caption }}</figcaption></figure>
<h2>{{ _("Caveats") }}</h2><ul>
<li>{{ _("The model is calibrated to stylised facts (firm sizes, exit rates, growth-rate shapes), not fitted to data of
this cluster; read effects as comparisons between programmes, not forecasts.") }}</li>
<li>{{ _("Budgets and spending are in wage-months; costs of instruments are stylised. Gains per 100 wage-months are per
amount actually spent by the horizon, not per budget.") }}</li>
<li>{{ _("Growth effects come later than cooperation effects and their intervals are wider: more seeds narrow
them.") }}</li>
{% if robustness %}{% for r in robustness %}<li>{{ r }}</li>{% endfor %}{% else %}<li>{{ _("The sensitivity of these
conclusions to uncertain behavioural parameters is not assessed in this brief (khusheh-report --sensitivity, then
--sensitivity-results).") }}</li>{% endif %}</ul>
{% if problems %}<h2>{{ _("Runs not used") }}</h2><table><tr><th>{{ _("Run") }}</th><th>{{ _("Problem") }}</th><th>{{ _("Detail") }}</th></tr>
{% for p in problems %}<tr><td>{{ p.folder }}</td><td>{{ p.problem }}</td><td>{{ p.detail }}</td></tr>{% endfor %}</table>{% endif %}
</body></html>
"""


if __name__ == "__main__":
    raise SystemExit(main())
