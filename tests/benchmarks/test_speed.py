"""Speed benchmarks (pytest-benchmark) for the targets of the speed issue.

By default they run in a short mode, small enough for CI. ``KHUSHEH_BENCH=full``
runs them at the targets' sizes (minutes). Each prints firm-months per second
and peak memory; nothing here asserts a time (speed is measured, not tested).

    KHUSHEH_BENCH=full uv run pytest tests/benchmarks --benchmark-enable -s
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

FULL = os.environ.get("KHUSHEH_BENCH") == "full"
ROUNDS = 5 if FULL else 1


def _probe(*args) -> dict:
    out = subprocess.run([sys.executable, "-m", "tests.benchmarks.probe", *map(str, args)],
                         capture_output=True, text=True, check=True, timeout=3600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _report(benchmark, name: str, results: list[dict]) -> None:
    last = results[-1]
    benchmark.extra_info.update({k: last[k] for k in ("firm_months_per_s", "peak_mb", "n_firms", "months")})
    walls = sorted(r["wall_s"] for r in results)
    print(f"\n[{name}] {last['n_firms']} firms x {last['months']} months: {last['wall_s']:.2f} s wall "
          f"(median of {len(walls)}: {walls[len(walls) // 2]:.2f} s, {walls[0]:.2f}-{walls[-1]:.2f}), "
          f"{last['firm_months_per_s']:,.0f} firm-months/s, peak {last['peak_mb']:.0f} MB")


def test_full_model_one_run(benchmark):
    """Target: 10,000 firms x 240 months, funded CDA, start-up included, one core."""
    n, months = (10_000, 240) if FULL else (1_000, 24)
    results = []
    benchmark.pedantic(lambda: results.append(_probe(n, months)), rounds=ROUNDS, iterations=1)
    _report(benchmark, "full model", results)
    assert results[-1]["firm_months"] > 0


@pytest.mark.parametrize("n_firms", [10_000, 100_000] if FULL else [500, 5_000])
def test_scaling_cost_per_firm_month(benchmark, n_firms):
    """Target: cost per firm-month at 100,000 firms within 1.5x of that at 10,000; peak memory <= 1 GB."""
    months = 24
    results = []
    benchmark.pedantic(lambda: results.append(_probe(n_firms, months)), rounds=ROUNDS, iterations=1)
    _report(benchmark, "scaling", results)
    per = sorted(r["step_s_per_firm_month"] * 1e6 for r in results)
    benchmark.extra_info["step_us_per_firm_month"] = per[len(per) // 2]
    print(f"    {per[len(per) // 2]:.2f} us per firm-month (start-up excluded; median of {len(per)})")


def test_import_and_first_run(benchmark):
    """Target: import plus a first 500-firm run (120 months, the standard CDA), the kernels' cache warm,
    at most 2.5 s; and the import plus the model's start-up alone."""
    _probe(500, 120)  # (untimed: compiles the kernels if their cache is cold)
    results = []
    benchmark.pedantic(lambda: results.append(_probe(500, 120)), rounds=ROUNDS, iterations=1)
    walls = sorted(r["wall_s"] for r in results)
    builds = sorted(r["startup_s"] for r in results)
    imports = sorted(r["import_s"] for r in results)
    print(f"\n[first run] import + 500 firms x 120 months {walls[len(walls) // 2]:.2f} s ({walls[0]:.2f}-"
          f"{walls[-1]:.2f}), of which import {imports[len(imports) // 2]:.2f} s and import + build "
          f"{builds[len(builds) // 2]:.2f} s (medians of {len(walls)})")
    benchmark.extra_info.update(wall_s=walls[len(walls) // 2], startup_s=builds[len(builds) // 2])
    assert results[-1]["firm_months"] > 0


def test_province_run(benchmark):
    """Target: cluster=isfahan_province (about 70 clusters, 50,000 firms, ten CDAs), 240 months, at most 30 s."""
    scale, months = (1.0, 240) if FULL else (0.02, 24)
    results = []
    benchmark.pedantic(lambda: results.append(_probe("province", scale, months)), rounds=ROUNDS, iterations=1)
    _report(benchmark, "province", results)
    assert results[-1]["firm_months"] > 0


def test_policy_comparison_sweep(benchmark, tmp_path):
    """Target: experiment=policy_comparison (9 policies x 30 seeds, 500 firms, 120 months): 9 jobs on Hydra's basic
    launcher, each running its 30 seeds on the 2 cores."""
    cli = os.path.join(os.path.dirname(sys.executable), "khusheh-run")
    args = [cli, "-m", "experiment=policy_comparison"]
    if not FULL:
        args += ["policy=none,standard_cda", "sim.seeds=2", "sim.months=24", "sim.snapshot_months=[]"]

    def sweep():
        out = tmp_path / f"sweep-{time.perf_counter_ns()}"
        subprocess.run([*args, f"hydra.sweep.dir={out}"], check=True, capture_output=True, timeout=3600)

    times = []

    def timed_sweep():
        start = time.perf_counter()
        sweep()
        times.append(time.perf_counter() - start)

    benchmark.pedantic(timed_sweep, rounds=ROUNDS, iterations=1)
    times.sort()
    print(f"\n[policy_comparison] {len(times)} sweeps: median {times[len(times) // 2]:.1f} s wall "
          f"({times[0]:.1f}-{times[-1]:.1f})")
