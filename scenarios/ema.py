"""Khusheh as an EMA workbench model (``uv sync --extra ema``): explore programmes under deep uncertainty.

>>> from ema_workbench import SequentialEvaluator, perform_experiments
>>> from scenarios.ema import ema_model
>>> m = ema_model("generic", months=60, n_firms=200, seeds=(1, 2))
>>> experiments, outcomes = perform_experiments(m, scenarios=8, policies=4)

The model (an ``ema_workbench.ReplicatorModel``, one replication a seed):

- **uncertainties**: the behavioural parameters of ``conf/sensitivity.yaml`` over their ranges, under
  their flat names (``learning_rate``, ``cluster_elasticity``, ``policy_event_game_subsidy``, ...);
- **levers**: ``programme``, the policy preset (named so because EMA's table of experiments has a
  column ``policy`` of its own) (every single-cluster policy preset but the baseline and
  ``zero_budget``), and fields of it (``policy_budget``, ``policy_subsidy_rate``, ...; see
  :data:`LEVERS`), which replace the preset's values;
- **constants**: ``months`` and, if given, ``cluster_n_firms`` and the caller's fixed flat overrides;
- **outcomes**: paired effects, programme minus baseline on the same seed and uncertain values, of
  ``mean_trust``, ``joint_actions``, ``employment`` and ``exports`` in the horizon's month
  (``<outcome>_effect_horizon``) and in the month the CDA's contract ends (``<outcome>_effect_cda_end``,
  NaN if that is after the horizon), each the mean over the seeds.

The baseline run of a scenario and seed is run once and reused for every programme: kept in memory in
the process, and in a cache folder (the caller's ``cache_dir``, or a temporary folder removed with the
model) that the worker processes of ``MultiprocessingEvaluator`` share, each entry written atomically.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

import model as khusheh
from model import ParameterError
from model import presets

from .results import write_text
from .sensitivity import default_ranges

OUTCOMES = ("mean_trust", "joint_actions", "employment", "exports")
"""Model outcomes (series columns) whose paired effects the EMA model reports."""

LEVERS: dict[str, tuple[float, float] | tuple[int, int]] = {
    "policy_budget": (100.0, 1200.0),           # wage-months; the presets spend 600
    "policy_subsidy_rate": (0.0, 0.8),          # share of joint actions' cost
    "policy_events_per_year": (0.0, 12.0),      # networking events a year
    "policy_duration_months": (24, 60),         # CDA contract, months (ISIPO: 3-5 years)
}
"""The policy fields offered as levers (flat names) and their default ranges; ints: integer levers."""


def policy_choices(baseline: str = "none") -> tuple[str, ...]:
    """The policy presets offered as the ``policy`` lever: all but the baseline, ``zero_budget`` (the
    baseline by construction) and the provincial programmes (``programme_*``, which need a province)."""
    return tuple(n for n in presets.names("policy")
                 if n not in (baseline, "none", "zero_budget") and not n.startswith("programme_"))


def uncertain_ranges() -> dict[str, tuple[float, float]]:
    """``conf/sensitivity.yaml``'s ranges under the model's flat names (``cluster.elasticity`` ->
    ``cluster_elasticity``)."""
    return {key.replace(".", "_"): (float(lo), float(hi)) for key, (lo, hi) in default_ranges().items()}


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


class PairedEffects:
    """The function EMA workbench calls: runs the programme and (once per scenario and seed) the baseline,
    and returns the effects. Picklable, so that worker processes get a copy; ``baseline_runs`` counts
    the baselines this process has run (not those found in the cache)."""

    def __init__(self, cluster: str, baseline: str, levers: Iterable[str], cache_dir: Path):
        self.cluster = cluster
        self.baseline = baseline
        self.levers = frozenset(levers)
        self.cache_dir = Path(cache_dir)
        self.baseline_runs = 0
        self._memory: dict[str, dict[str, float]] = {}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_memory"] = {}
        return state

    @staticmethod
    def _outcomes(series, cda_end: int | None) -> dict[str, float]:
        out = {}
        for col in OUTCOMES:
            out[f"{col}_horizon"] = float(series[col].iloc[-1])
            out[f"{col}_cda_end"] = (float(series[col].iloc[cda_end])
                                     if cda_end is not None and cda_end < len(series) else math.nan)
        return out

    def _run(self, policy: str, seed: int, overrides: dict, cda_end: int | None) -> dict[str, float]:
        m = khusheh.ClusterModel(cluster=self.cluster, policy=policy, rng=seed, **overrides).run()
        return self._outcomes(m.series(), cda_end)

    def baseline_key(self, seed: int, values: Mapping) -> str:
        """The cache key of a baseline: cluster, baseline policy, seed and every non-lever value."""
        text = json.dumps({"cluster": self.cluster, "baseline": self.baseline, "seed": seed,
                           "values": {k: _plain(v) for k, v in values.items()}}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def __call__(self, seed: int = 0, programme: str | None = None, **kwargs) -> dict[str, float]:
        seed = int(seed)
        kwargs = {k: _plain(v) for k, v in kwargs.items()}
        values = {k: v for k, v in kwargs.items() if k not in self.levers}
        pol = presets.model_params(cluster=self.cluster, policy=programme, **kwargs).policy
        cda_end = pol.start_month + pol.duration_months
        treated = self._run(programme, seed, kwargs, cda_end)
        base = self._baseline_at(seed, values, cda_end)
        return {f"{col}_effect_{when}": treated[f"{col}_{when}"] - base[f"{col}_{when}"]
                for col in OUTCOMES for when in ("horizon", "cda_end")}

    def _baseline_at(self, seed: int, values: dict, cda_end: int) -> dict[str, float]:
        """The baseline's outcomes at the horizon and at ``cda_end``: its series is kept whole in the
        cache, so a baseline serves programmes of any contract length."""
        key = self.baseline_key(seed, values)
        series = self._memory.get(key)
        if series is None:
            path = self.cache_dir / f"baseline-{key}.json"
            try:
                series = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                self.baseline_runs += 1
                m = khusheh.ClusterModel(cluster=self.cluster, policy=self.baseline, rng=seed, **values).run()
                frame = m.series()
                series = {col: frame[col].astype(float).tolist() for col in OUTCOMES}
                write_text(path, json.dumps(series))
            self._memory[key] = series
        n = len(series[OUTCOMES[0]])
        out = {}
        for col in OUTCOMES:
            out[f"{col}_horizon"] = series[col][-1]
            out[f"{col}_cda_end"] = series[col][cda_end] if cda_end < n else math.nan
        return out


def ema_model(cluster: str = "generic", *, months: int = 120, n_firms: int | None = None,
              seeds: int | Iterable[int] = (0,), baseline: str = "none",
              levers: Mapping[str, tuple] | None = None, policies: Iterable[str] | None = None,
              uncertainties: Mapping[str, tuple[float, float]] | None = None,
              overrides: Mapping | None = None, cache_dir: str | Path | None = None, name: str = "khusheh"):
    """An ``ema_workbench.ReplicatorModel`` of the cluster preset ``cluster`` (see the module's text).

    ``seeds``: the seeds (replications) of each experiment, or how many (``0..seeds-1``); ``levers``:
    the policy fields offered and their ranges (default :data:`LEVERS`; a pair of ints is an integer
    lever); ``policies``: the presets of the ``policy`` lever (default :func:`policy_choices`);
    ``uncertainties``: ranges by flat name (default :func:`uncertain_ranges`); ``overrides``: fixed flat
    overrides of both runs (``{"policy_start_month": 3}``); ``cache_dir``: where baselines are kept
    (default a temporary folder, removed when the model is garbage-collected).
    """
    import ema_workbench as ema

    if cluster not in presets.names("cluster"):
        raise ParameterError(f"cluster = {cluster!r} is not a cluster preset; choose one of "
                             f"{', '.join(presets.names('cluster'))}")
    presets.cluster(cluster)  # refuses a province preset with a clear message
    seeds = tuple(range(seeds)) if isinstance(seeds, int | np.integer) else tuple(int(s) for s in seeds)
    if not seeds:
        raise ParameterError("seeds: give at least one seed")
    levers = dict(LEVERS if levers is None else levers)
    policies = tuple(policy_choices(baseline) if policies is None else policies)
    uncertainties = dict(uncertain_ranges() if uncertainties is None else uncertainties)
    constants = {"months": months, **({"cluster_n_firms": n_firms} if n_firms is not None else {}),
                 **dict(overrides or {})}
    flat = set(khusheh.parameter_names())
    for what, keys in (("levers", levers), ("uncertainties", uncertainties), ("overrides", constants)):
        for key in keys:
            if key not in flat:
                raise ParameterError(f"{what}: {key!r} is not a model parameter (see model.parameter_names())")
    # a trial of the extremes: bad presets, ranges or overrides fail here, not in the workers
    for pol in policies:
        presets.model_params(cluster=cluster, policy=pol, **constants,
                             **{k: v[0] for k, v in levers.items()}, **{k: v[0] for k, v in uncertainties.items()})
    presets.model_params(cluster=cluster, policy=baseline, **constants)

    if cache_dir is None:
        cache_dir = Path(tempfile.mkdtemp(prefix="khusheh-ema-"))
        function = PairedEffects(cluster, baseline, ("programme", *levers), cache_dir)
        weakref.finalize(function, shutil.rmtree, cache_dir, ignore_errors=True)
    else:
        function = PairedEffects(cluster, baseline, ("programme", *levers), Path(cache_dir))

    m = ema.ReplicatorModel(name, function=function)
    m.replications = [{"seed": s} for s in seeds]
    m.uncertainties = [ema.RealParameter(k, lo, hi) for k, (lo, hi) in uncertainties.items()]
    m.levers = [ema.CategoricalParameter("programme", policies),
                *(ema.IntegerParameter(k, lo, hi) if isinstance(lo, int) and isinstance(hi, int)
                  else ema.RealParameter(k, float(lo), float(hi)) for k, (lo, hi) in levers.items())]
    m.constants = [ema.Constant(k, v) for k, v in constants.items()]
    m.outcomes = [ema.ScalarOutcome(f"{col}_effect_{when}", function=np.mean)
                  for col in OUTCOMES for when in ("horizon", "cda_end")]
    return m
