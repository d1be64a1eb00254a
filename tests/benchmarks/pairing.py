"""How well a policy run stays paired with its baseline: the measurement of issue 21 (DESIGN.md section 7).

    python -m tests.benchmarks.pairing [--jobs N]

For the standard CDA against the baseline on the same seeds it prints, as JSON and as a table,
for the generic cluster at 12 seeds and the towel-weaving preset at 30 seeds, for employment and
exports:

- the 95% confidence half-width of the mean paired effect (policy minus baseline) at month 120
  (t distribution, ``t(0.975, n - 1) * sd(diff) / sqrt(n)``);
- at months 48 and 120, ``var(policy - baseline) / (var(policy) + var(baseline))``: 1 when the two
  runs are independent, 0 when the baseline's luck cancels exactly.

Run it in two checkouts to compare two versions of the model's randomness.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from joblib import Parallel, delayed
from scipy import stats

CASES = (("generic", 12), ("towels_adrian", 30))
OUTCOMES = ("employment", "exports")
MONTHS = (48, 120)


def _run(cluster: str, policy: str, seed: int) -> dict:
    from model import ClusterModel
    series = ClusterModel(cluster=cluster, policy=policy, rng=seed).run().series()
    return {(o, m): float(series.loc[series.month == m, o].iloc[0]) for o in OUTCOMES for m in MONTHS}


def measure(jobs: int = 2) -> list[dict]:
    tasks = [(c, pol, s) for c, n in CASES for pol in ("none", "standard_cda") for s in range(n)]
    values = Parallel(n_jobs=jobs)(delayed(_run)(*t) for t in tasks)
    got = dict(zip(tasks, values))
    rows = []
    for cluster, n in CASES:
        for o in OUTCOMES:
            base = {m: np.array([got[cluster, "none", s][o, m] for s in range(n)]) for m in MONTHS}
            pol = {m: np.array([got[cluster, "standard_cda", s][o, m] for s in range(n)]) for m in MONTHS}
            row = {"cluster": cluster, "seeds": n, "outcome": o}
            for m in MONTHS:
                diff = pol[m] - base[m]
                row[f"effect_{m}"] = float(diff.mean())
                row[f"half_width_{m}"] = float(stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / np.sqrt(n))
                row[f"ratio_{m}"] = float(diff.var(ddof=1) / (pol[m].var(ddof=1) + base[m].var(ddof=1)))
            rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    rows = measure(ap.parse_args().jobs)
    print(json.dumps(rows))
    print(f"{'cluster':<15}{'seeds':>6} {'outcome':<11}{'effect@120':>12}{'±95%@120':>11}"
          f"{'ratio@48':>10}{'ratio@120':>10}")
    for r in rows:
        print(f"{r['cluster']:<15}{r['seeds']:>6} {r['outcome']:<11}{r['effect_120']:>12.1f}{r['half_width_120']:>11.1f}"
              f"{r['ratio_48']:>10.3f}{r['ratio_120']:>10.3f}")


if __name__ == "__main__":
    main()
