"""One measured run in a fresh process: prints JSON with wall seconds, firm-months and peak memory.

    python -m tests.benchmarks.probe N_FIRMS MONTHS [POLICY]
    python -m tests.benchmarks.probe province SCALE MONTHS [POLICY]

The first form runs the generic cluster with a budget scaled to its size; the
second the province preset (cluster=isfahan_province, composed as khusheh-run
composes it, every cluster's size times SCALE), by default under
programme_largest. Wall time counts from process start (imports and start-up
included).
"""

from __future__ import annotations

import json
import resource
import sys
import time

START = time.perf_counter()


def _province(scale: str, months: str, policy: str):
    from hydra import compose, initialize_config_module

    from scenarios.config import register, to_model_params
    register()
    with initialize_config_module(config_module="conf", version_base="1.3"):
        cfg = compose(config_name="config", overrides=[
            "cluster=isfahan_province", f"cluster.province.scale={scale}", f"policy={policy}", f"sim.months={months}"])
    return to_model_params(cfg)[0]


def main() -> None:
    from dataclasses import replace

    from model import ClusterModel, ModelParams
    from model import presets
    if sys.argv[1] == "province":
        params = _province(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "programme_largest")
        n_firms, months = sum(c.n_firms for c in params.clusters), params.months
    else:
        n_firms, months = int(sys.argv[1]), int(sys.argv[2])
        pol = presets.policy(sys.argv[3] if len(sys.argv) > 3 else "standard_cda")
        # a funded CDA throughout: the budget scales with the cluster, as the presets' 600 for 500 firms
        pol = replace(pol, budget=pol.budget * n_firms / 500)
        params = ModelParams(policy=pol, months=months).with_overrides(n_firms=n_firms)
    t_import = time.perf_counter() - START
    m = ClusterModel(params, rng=1)
    t_start = time.perf_counter() - START
    firm_months = 0
    while m.running:
        m.step()
        firm_months += m.stats["firms"]
    wall = time.perf_counter() - START
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"n_firms": n_firms, "months": months, "wall_s": wall, "import_s": t_import,
                      "startup_s": t_start, "firm_months": firm_months, "firm_months_per_s": firm_months / wall,
                      "step_s_per_firm_month": (wall - t_start) / firm_months, "peak_mb": peak_mb}))


if __name__ == "__main__":
    main()
