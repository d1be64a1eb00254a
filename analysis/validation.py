"""Statistics for the stylised facts of DESIGN.md section 9, computed from result tables.

Each function takes the tidy frames that a run writes (monthly ``series``,
firm ``snapshots`` keyed by month) or plain arrays, so that the validation
tests (in-process runs) and a validation report (result files) compute the
same numbers. Nothing here imports the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .stats import half_width


# ---------------------------------------------------------------- pattern 1: firm sizes
def size_stats(employees: np.ndarray) -> dict:
    """Micro share (< 10 workers), top-to-median ratio and the Hill tail exponent of the top decile."""
    e = np.sort(np.asarray(employees, dtype=float))[::-1]
    top = e[: max(len(e) // 10, 2)]
    hill = 1.0 / np.mean(np.log(top[:-1] / top[-1])) if top[-1] > 0 and top[0] > top[-1] else np.inf
    return {"micro_share": float((e < 10).mean()), "max_over_median": float(e[0] / np.median(e)),
            "hill": float(hill)}


# ---------------------------------------------------------------- pattern 2: exit and survival
def yearly_exit_rates(series: pd.DataFrame) -> np.ndarray:
    """Exits in each full year divided by the firms at the year's start."""
    years = (len(series) - 1) // 12
    exits = series["exits"].to_numpy()[1: 1 + 12 * years].reshape(years, 12).sum(axis=1)
    return exits / series["firms"].to_numpy()[0: 12 * years: 12]


def cohort_survival(birth: np.ndarray, exit_birth: np.ndarray, exit_age: np.ndarray, horizon: int,
                    ages: np.ndarray) -> np.ndarray:
    """Share of entrants still alive at each age (months), over the cohorts observed to that age.

    ``birth`` are the entry months of all entrants; ``exit_birth`` and
    ``exit_age`` the entry month and age at exit of those who left.
    """
    out = []
    for age in ages:
        cohort = (birth >= 1) & (birth <= horizon - age)
        died = (exit_birth >= 1) & (exit_birth <= horizon - age) & (exit_age < age)
        out.append(1.0 - died.sum() / cohort.sum() if cohort.sum() else np.nan)
    return np.array(out)


# ---------------------------------------------------------------- pattern 3: growth rates
def yearly_growth(snapshots: dict[int, pd.DataFrame], months: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Log growth of employees of firms alive at both ends of each year, and their size at its start."""
    rates, sizes = [], []
    for a, b in zip(months[:-1], months[1:]):
        first = snapshots[a].set_index("unique_id")["employees"]
        then = snapshots[b].set_index("unique_id")["employees"]
        both = first.index.intersection(then.index)
        rates.append(np.log(then[both] / first[both]).to_numpy())
        sizes.append(first[both].to_numpy())
    return np.concatenate(rates), np.concatenate(sizes)


SIZE_CLASSES = ((1, 2), (2, 5), (5, 20), (20, 50), (50, 10 ** 9))


FLOOR_REACH = 5  # below this many workers the one-worker floor shapes growth (docs/ODD.md)


def growth_stats(rates: np.ndarray, sizes: np.ndarray) -> dict:
    """Kurtosis (Laplace 6, normal 3) of growth of firms of FLOOR_REACH workers or more, and the
    standard deviation of growth by size class."""
    above = rates[sizes >= FLOOR_REACH]
    g = above - above.mean()
    out = {"kurtosis": float(np.mean(g ** 4) / np.var(g) ** 2)}
    for lo, hi in SIZE_CLASSES:
        sel = (sizes >= lo) & (sizes < hi)
        out[f"sd_{lo}_{hi if hi < 10 ** 9 else 'up'}"] = float(rates[sel].std()) if sel.sum() > 1 else np.nan
    return out


# the size classes over which pattern 3 asks the spread to fall (issue 21): 1, 2-4, 5-9, 10-49, 50+ workers
SPREAD_CLASSES = ((1, 2), (2, 5), (5, 10), (10, 50), (50, 10 ** 9))


def spread_by_size(rates: np.ndarray, sizes: np.ndarray, classes=SPREAD_CLASSES) -> pd.DataFrame:
    """Per size class (employees at the start of the year): the number of firm-years ``n``, the
    standard deviation ``sd`` of yearly log growth, and ``size``, the geometric mean of the sizes."""
    rows = []
    for lo, hi in classes:
        sel = (sizes >= lo) & (sizes < hi)
        name = f"{lo}" if hi == lo + 1 else (f"{lo}-{hi - 1}" if hi < 10 ** 9 else f"{lo}+")
        rows.append({"class": name, "n": int(sel.sum()),
                     "sd": float(rates[sel].std()) if sel.sum() > 1 else np.nan,
                     "size": float(np.exp(np.log(sizes[sel]).mean())) if sel.any() else np.nan})
    return pd.DataFrame(rows)


def spread_exponent(table: pd.DataFrame) -> float:
    """beta of sd ~ size ** -beta: minus the least-squares slope of log sd on log size over the classes
    (Stanley et al. 1996: 0.15-0.2)."""
    return float(-np.polyfit(np.log(table["size"]), np.log(table["sd"]), 1)[0])


# ---------------------------------------------------------------- patterns 4-7: effects
def paired_effect(policy: list[pd.DataFrame], baseline: list[pd.DataFrame], column: str) -> pd.Series:
    """Mean over seeds of policy minus baseline, month by month (runs paired by seed, in order)."""
    diffs = [p.set_index("month")[column] - b.set_index("month")[column] for p, b in zip(policy, baseline)]
    return sum(diffs) / len(diffs)


def mean_series(runs: list[pd.DataFrame], column: str) -> pd.Series:
    return sum(r.set_index("month")[column] for r in runs) / len(runs)


# ---------------------------------------------------------------- pattern 8: shocks
def survival_by_cooperation(before: pd.DataFrame, after: pd.DataFrame) -> dict:
    """Share of firms alive at ``before`` still alive at ``after``: cooperating (a joint action in
    the last months) and not cooperating firms."""
    alive = before["unique_id"].isin(after["unique_id"])
    coop = before["recent_joint_actions"].astype(bool)
    return {"cooperating": float(alive[coop].mean()) if coop.any() else np.nan,
            "not_cooperating": float(alive[~coop].mean()) if (~coop).any() else np.nan,
            "n_cooperating": int(coop.sum()), "n_not_cooperating": int((~coop).sum())}


# ---------------------------------------------------------------- the checks, as data
@dataclass(frozen=True)
class Check:
    """One quantity of one pattern, the value the model gives and the range the pattern allows."""

    pattern: int
    quantity: str
    value: float
    low: float | None = None
    high: float | None = None

    @property
    def holds(self) -> bool:
        return bool(np.isfinite(self.value) and (self.low is None or self.value >= self.low)
                    and (self.high is None or self.value <= self.high))

    @property
    def allowed(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low:g} to {self.high:g}"
        return f">= {self.low:g}" if self.low is not None else f"<= {self.high:g}"


YEARS = list(range(0, 121, 12))
PATTERNS = {
    1: "Firm sizes are right-skewed: micro firms about 90%, a heavy, roughly Zipf-like upper tail",
    2: "Yearly exit rate of a few to about 15%; about 80% of entrants survive their first year",
    3: "Growth rates are tent-shaped (Laplace-like) and their spread falls with firm size",
    4: "Without a CDA low trust keeps cooperation low; trust responds to a CDA with a lag",
    5: "A funded CDA raises trust, joint actions and density; growth follows later and smaller",
    6: "Effects persist after the CDA exits when the association survives, and decay when not",
    7: "At the same money spent, trust-first leaves more cooperation after exit than subsidy-only",
    8: "Under an adverse shock, firms in cooperative networks survive more often",
}
SCENARIOS = ("none", "standard_cda", "no_association", "trust_first", "subsidy_only")
SHOCKS = ("demand_drop", "input_price_spike")
CDA_END = 48  # the standard contract: months 12-48


def association_dissolved(series: pd.DataFrame) -> bool:
    """Did the run's association, once formed, dissolve (its members' share back to 0)?"""
    share = series["members_share"].to_numpy()
    return bool(share.any() and (share[int(np.argmax(share > 0)):] == 0).any())


def shock_gaps(runs: list[dict], start: int = 60, end: int = 72) -> np.ndarray:
    """Per seed: survival of cooperating minus not cooperating firms from ``start`` to ``end``."""
    out = []
    for r in runs:
        s = survival_by_cooperation(r["firms"][start], r["firms"][end])
        out.append(s["cooperating"] - s["not_cooperating"])
    return np.array(out)


def checks(runs: dict[str, list[dict]]) -> list[Check]:
    """Every pattern's checks from runs keyed by scenario (seeds in the same order in each).

    A run is a dict with ``series`` (monthly), ``firms`` (snapshots by month, yearly),
    ``entry_birth`` (entry months) and ``exit_birth``/``exit_age`` (of the exits).
    The scenarios are those of ``SCENARIOS`` without a shock, plus ``SHOCKS`` (baseline policy).
    """
    out: list[Check] = []
    base = [r["series"] for r in runs["none"]]
    cda = [r["series"] for r in runs["standard_cda"]]
    # 1
    sizes = [size_stats(r["firms"][120]["employees"]) for r in runs["none"]]
    micro = [s["micro_share"] for s in sizes]
    hill = [s["hill"] for s in sizes]
    out += [Check(1, "micro share (< 10 workers), lowest seed", min(micro), 0.85),
            Check(1, "micro share, highest seed", max(micro), None, 0.96),
            Check(1, "largest firm / median firm, lowest seed", min(s["max_over_median"] for s in sizes), 50),
            Check(1, "Hill exponent of the top decile, lowest seed (Zipf 1)", min(hill), 0.4),
            Check(1, "Hill exponent, highest seed", max(hill), None, 1.6)]
    # 2
    rates = [yearly_exit_rates(r["series"]) for r in runs["none"]]
    survival = [cohort_survival(r["entry_birth"], r["exit_birth"], r["exit_age"], 120, np.array([12]))[0]
                for r in runs["none"]]
    out += [Check(2, "mean yearly exit rate, lowest seed", min(x.mean() for x in rates), 0.03),
            Check(2, "mean yearly exit rate, highest seed", max(x.mean() for x in rates), None, 0.15),
            Check(2, "highest yearly exit rate, any seed and year", max(x.max() for x in rates), None, 0.20),
            Check(2, "first-year survival of entrants, lowest seed", min(survival), 0.75),
            Check(2, "first-year survival of entrants, highest seed", max(survival), None, 0.90)]
    # 3
    g_rates, g_sizes = map(np.concatenate, zip(*(yearly_growth(r["firms"], YEARS) for r in runs["none"])))
    g = growth_stats(g_rates, g_sizes)
    out += [Check(3, "kurtosis of yearly log growth, firms of 5+ workers (Laplace 6, normal 3)", g["kurtosis"], 4.5),
            Check(3, "spread 5-19 workers / spread 20-49", g["sd_5_20"] / g["sd_20_50"], 1.1),
            Check(3, "spread 20-49 workers / spread 50+", g["sd_20_50"] / g["sd_50_up"], 1.1)]
    # 4
    coop = mean_series(base, "cooperation_rate").loc[12:]
    trust = mean_series(base, "mean_trust")
    effect = paired_effect(cda, base, "mean_trust")
    out += [Check(4, "baseline share of cooperative choices, mean from month 12", coop.mean(), None, 0.32),
            Check(4, "baseline share of cooperative choices, highest month", coop.max(), None, 0.40),
            Check(4, "baseline trust drift, months 96-120 vs 12-36", abs(trust.loc[96:].mean() - trust.loc[12:36].mean()),
                  None, 0.05),
            Check(4, "CDA trust effect just after the diagnostic (month 18)", abs(effect.loc[18]), None, 0.01),
            Check(4, "trust effect growth, month 18 to 36", effect.loc[36] - effect.loc[18], 0.01),
            Check(4, "trust effect growth, month 36 to 84", effect.loc[84] - effect.loc[36], 0.0)]
    # 5
    late = slice(36, 120)
    ja_base = mean_series(base, "joint_actions")
    ahead = sum(c.set_index("month").loc[late, "mean_trust"].mean() > b.set_index("month").loc[late, "mean_trust"].mean()
                for c, b in zip(cda, base))
    emp = paired_effect(cda, base, "employment") / mean_series(base, "employment")
    ja = paired_effect(cda, base, "joint_actions").loc[96:].mean() / ja_base.loc[96:].mean()
    out += [Check(5, "trust effect, months 36-120", paired_effect(cda, base, "mean_trust").loc[late].mean(), 0.02),
            Check(5, "density effect, months 36-120", paired_effect(cda, base, "network_density").loc[late].mean(), 0.002),
            Check(5, "joint actions with CDA / without, months 36-120",
                  mean_series(cda, "joint_actions").loc[late].mean() / ja_base.loc[late].mean(), 1.3),
            Check(5, "share of seeds where the CDA run has more trust", ahead / len(cda), 0.9),
            Check(5, "relative employment effect at 120 / relative joint-action effect", abs(emp.loc[120]) / ja,
                  None, 1 / 3),
            Check(5, "relative employment effect, month 120 minus month 30", emp.loc[120] - emp.loc[30], 0.0)]
    # 6
    no_assoc = [r["series"] for r in runs["no_association"]]
    with_a, without = effect, paired_effect(no_assoc, base, "mean_trust")
    out += [Check(6, "trust effect with association, month 120 minus exit (48)", with_a.loc[120] - with_a.loc[CDA_END], 0.0),
            Check(6, "trust effect without association, month 120 minus exit", without.loc[120] - without.loc[CDA_END],
                  None, 0.0),
            Check(6, "trust effect at 120, with minus without association", with_a.loc[120] - without.loc[120], 0.03),
            Check(6, "joint-action effect months 100-120, with minus without",
                  paired_effect(cda, base, "joint_actions").loc[100:].mean()
                  - paired_effect(no_assoc, base, "joint_actions").loc[100:].mean(), 0.0)]
    # the association dissolves in some seeds on its own economics (DESIGN.md section 9): could fail where
    # its fees always cover its running cost and its members always find membership worth the fee
    formed = [s for s in cda + [r["series"] for r in runs["trust_first"]] if (s["members_share"] > 0).any()]
    out += [Check(6, "seeds where the association dissolved by month 120 (standard CDA and trust-first)",
                  sum(association_dissolved(s) for s in formed), 1)]
    # 7: at the same money actually spent (DESIGN.md section 9): each programme's effect after the exit per 100
    # wage-months its CDA spent (the mean over seeds of what each run spent by its end)
    tf, so = [r["series"] for r in runs["trust_first"]], [r["series"] for r in runs["subsidy_only"]]
    after = slice(60, 120)
    so_ja = paired_effect(so, base, "joint_actions")

    def per_100_spent(policy_runs, column):
        spent = float(np.mean([s["cda_spent"].iloc[-1] for s in policy_runs]))
        effect = paired_effect(policy_runs, base, column).loc[after].mean()
        return 100.0 * effect / spent if spent > 0 else np.nan

    out += [Check(7, "joint-action effect after exit (60-120) per 100 wage-months spent, trust-first minus "
                     "subsidy-only", per_100_spent(tf, "joint_actions") - per_100_spent(so, "joint_actions"), 0.0),
            Check(7, "trust effect after exit per 100 wage-months spent, trust-first minus subsidy-only",
                  per_100_spent(tf, "mean_trust") - per_100_spent(so, "mean_trust"), 0.0),
            Check(7, "subsidy-only joint-action effect after exit / while paying (30-48)",
                  so_ja.loc[after].mean() / so_ja.loc[30:48].mean(), None, 0.5)]
    # 8
    # against the gap without a shock, seed by seed (DESIGN.md section 9: by more than the gap in normal times)
    calm = shock_gaps(runs["none"])
    drop, spike = shock_gaps(runs["demand_drop"]), shock_gaps(runs["input_price_spike"])
    excess = drop - calm
    se = excess.std(ddof=1) / np.sqrt(len(excess))
    out += [Check(8, "demand drop: survival gap, cooperating minus not (share)", drop.mean(), 0.01),
            Check(8, "demand drop: survival gap minus the gap without a shock (same seeds)", excess.mean(), 0.0),
            Check(8, "demand drop: that excess minus 2 standard errors", excess.mean() - 2 * se, 0.0),
            Check(8, "input-price spike: survival gap minus the gap without a shock", (spike - calm).mean(), 0.0)]
    return out


# ---------------------------------------------------------------- attribution (DESIGN.md section 9)
ATTRIBUTION_OUTCOMES = ("mean_trust", "cooperation_rate", "joint_actions", "network_density", "employment",
                        "exports", "members_share")
ATTRIBUTION_MONTHS = (CDA_END, 120)  # the CDA's exit and the horizon


def attribution(full: list[pd.DataFrame], switched: dict[str, list[pd.DataFrame]], baseline: list[pd.DataFrame],
                months=ATTRIBUTION_MONTHS, outcomes=ATTRIBUTION_OUTCOMES, window: int = 6) -> pd.DataFrame:
    """The programme's effects at each of ``months`` (mean over the ``window`` months ending there, paired by
    seed against the baseline) in full and with each mechanism switched off in turn (``switched``: name ->
    runs, paired by seed with ``full`` and ``baseline``). A row per (switched off, month, outcome): the mean
    effect, the half-width of its 95% interval over seeds (t), and what switching the mechanism off removes
    (the full effect minus this one, with its own paired interval), so a reader sees what holds what.
    """
    def window_mean(runs, month, column):
        return np.array([r.set_index("month")[column].loc[month - window + 1: month].mean() for r in runs])

    rows = []
    for month in months:
        for column in outcomes:
            base = window_mean(baseline, month, column)
            whole = window_mean(full, month, column) - base
            for name, runs in {"(nothing)": full, **switched}.items():
                effect = window_mean(runs, month, column) - base
                removed = whole - effect
                rows.append({"switched_off": name, "month": month, "outcome": column, "effect": effect.mean(),
                             "effect_hw": half_width(effect), "removed": removed.mean(),
                             "removed_hw": half_width(removed), "seeds": len(effect)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- pattern 9: published evaluations
# What published impact evaluations of cluster and supplier development programmes found (DESIGN.md section 9,
# pattern 9), as read 2026-12-08; where only the direction could be read, no number is given. Sources: SOURCES.md
# and docs/ODD.md, section 1. Each row: (programme and study, outcome, effect on participants, timing, spillover
# on non-participants, where the figure was read).
EVALUATIONS = (
    ("Chile, supplier development (Arraiz, Henriquez & Stucchi 2013)", "employment",
     "+8.0%, +9.3%, +9.6%", "1, 2 and 3 years after", "not measured", "Arraiz's 2015 slides; direction in the abstract"),
    ("Chile, supplier development", "survival", "+2.6, +2.6, +2.1 points", "1, 2 and 3 years after", "not measured",
     "Arraiz's 2015 slides"),
    ("Chile, supplier development", "sales", "+16%, +11%, +8.5%", "1, 2 and 3 years after", "not measured",
     "Arraiz's 2015 slides"),
    ("Brazil, APL policy (Figal Garone et al. 2015)", "employment, exports, chance of exporting",
     "positive (magnitudes not read)", "after a gestation period; exports grow in the medium and long term",
     "negative on employment in year 1, positive on exports later", "abstract"),
    ("Uruguay, PACC", "exports, chance of exporting", "positive (magnitudes not read)",
     "largest in the 4th and 5th years after", "not read", "abstract"),
    ("France, local productive systems (Martin, Mayer & Mayneris 2011)", "employment, exports",
     "no robust effect", "", "", "abstract"),
    ("Business support for SMEs, Campbell review (Piza et al. 2016)", "jobs, performance",
     "positive on average, not very large", "", "", "plain-language summary"),
)


# ---------------------------------------------------------------- regimes (DESIGN.md 5.9)
def initial_trust_mean(alpha: float, beta: float = 3.0) -> float:
    """The mean prior trust of Beta(alpha, beta)."""
    return alpha / (alpha + beta)


def regimes(ends: pd.DataFrame, column: str = "cooperation_rate", min_gap: float = 0.08,
            min_share: float = 0.1) -> dict:
    """Is there a threshold between two regimes of ``column`` at the horizon? ``ends``: a row per run
    (``policy``, ``initial_trust``, ``seed``, ``column``: the mean of the last 12 months).

    Among the baseline's runs (policy ``none``), sorted by their end value, the widest gap between
    neighbours splits them in two when it is at least ``min_gap`` wide and each side holds at least
    ``min_share`` of the runs; the regime threshold is then the gap's middle, and the initial-trust
    threshold the lowest initial trust from which most baseline runs end above it. Without such a gap the
    baseline has one regime (its end values move continuously with the start). Returns the threshold (or
    None), the initial-trust threshold (or None), and per programme and initial trust the share of seeds
    that end above the threshold (NaN without one) and the mean end value.
    """
    base = np.sort(ends.loc[ends.policy == "none", column].to_numpy())
    threshold = None
    if len(base) >= 4:
        gaps = np.diff(base)
        k = int(np.argmax(gaps))
        low, high = k + 1, len(base) - k - 1
        if gaps[k] >= min_gap and min(low, high) >= min_share * len(base):
            threshold = float(0.5 * (base[k] + base[k + 1]))
    table = ends.groupby(["policy", "initial_trust"])[column].agg(
        end="mean", above=lambda v: float((v > threshold).mean()) if threshold is not None else np.nan,
        seeds="size").reset_index()
    start = None
    if threshold is not None:
        b = table[(table.policy == "none") & (table.above > 0.5)]
        start = float(b.initial_trust.min()) if len(b) else None
    return {"threshold": threshold, "initial_threshold": start, "table": table}


# ---------------------------------------------------------------- participants and others (issue 22, item 6)
PARTICIPANT_MONTHS = (CDA_END, 84, 120)


def participants(policy: dict[int, pd.DataFrame], baseline: dict[int, pd.DataFrame], start: int = 12,
                 reached_by: int = CDA_END, months=PARTICIPANT_MONTHS) -> pd.DataFrame:
    """One seed's firms reached by the programme and the others, each firm against itself in the baseline run.

    ``policy`` and ``baseline``: one seed's firm snapshots by month, with the columns ``uid`` (a firm's
    identity, the same in both runs) and ``reached`` (bits). The firms are those alive at ``start`` (the
    programme's first month; both runs are identical until then); participants are those the programme
    reached by ``reached_by``. For each month of ``months`` and each group, the exact effect (the mean over
    the group of the firm's outcome in the programme run minus in the baseline run; a firm gone has 0
    employees, is not alive and does not export) on employment, survival and exporting; and what an
    evaluator would estimate from the programme run alone: participants against non-participants,
    difference in differences from ``start`` (employment, firms gone counted at 0) and the plain difference
    (survival, exporting).
    """
    first = policy[start].set_index("uid")
    reached = pd.Series(0, index=first.index)
    for month, snap in policy.items():
        if start <= month <= reached_by:
            r = snap.set_index("uid")["reached"]
            both = reached.index.intersection(r.index)
            reached.loc[both] = reached.loc[both] | r.loc[both]
    part = reached > 0
    rows = []

    def outcomes(snap):
        s = snap.set_index("uid").reindex(first.index)
        alive = s["employees"].notna()
        return (s["employees"].fillna(0.0).to_numpy(), alive.to_numpy().astype(float),
                s["exporter"].fillna(False).astype(float).to_numpy())

    e0 = first["employees"].to_numpy().astype(float)
    for month in months:
        if month not in policy or month not in baseline:
            continue
        ep, sp, xp = outcomes(policy[month])
        eb, sb, xb = outcomes(baseline[month])
        for group, sel in (("participants", part.to_numpy()), ("others", ~part.to_numpy())):
            if not sel.any():
                continue
            rows.append({"month": month, "group": group, "firms": int(sel.sum()),
                         "employment": float((ep - eb)[sel].mean()), "survival": float((sp - sb)[sel].mean()),
                         "exporting": float((xp - xb)[sel].mean())})
        if part.any() and (~part).any():
            p, o = part.to_numpy(), ~part.to_numpy()
            rows.append({"month": month, "group": "evaluator", "firms": int(p.sum()),
                         "employment": float((ep - e0)[p].mean() - (ep - e0)[o].mean()),
                         "survival": float(sp[p].mean() - sp[o].mean()),
                         "exporting": float(xp[p].mean() - xp[o].mean())})
    return pd.DataFrame(rows)
