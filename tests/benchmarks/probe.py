"""One measured run in a fresh process: prints JSON with wall seconds, firm-months and peak memory.

    python -m tests.benchmarks.probe N_FIRMS MONTHS [POLICY]

Wall time counts from process start (imports and start-up included).
"""

from __future__ import annotations

import json
import resource
import sys
import time

START = time.perf_counter()


def main() -> None:
    n_firms, months = int(sys.argv[1]), int(sys.argv[2])
    policy = sys.argv[3] if len(sys.argv) > 3 else "standard_cda"
    from dataclasses import replace

    from model import ClusterModel, ModelParams
    from model.policies import POLICIES
    pol = POLICIES[policy]
    # a funded CDA throughout: the budget scales with the cluster, as the presets' 600 for 500 firms
    pol = replace(pol, budget=pol.budget * n_firms / 500)
    t_import = time.perf_counter() - START
    m = ClusterModel(ModelParams(policy=pol, months=months), rng=1, n_firms=n_firms)
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
