"""Global sensitivity analysis designs (SALib): ``khusheh-sensitivity design`` and the run-side hook.

    khusheh-sensitivity design --method morris --trajectories 10 --out sa/morris
    khusheh-sensitivity design --method sobol --n 32 --params learning_rate,policy.event_game_subsidy --out sa/sobol

A design is ``design.csv`` (one row per parameter point, columns = khusheh-run
keys) and ``problem.json`` (SALib's problem and the method). A job given it
(``sim.design=.../design.csv``) runs every row of it, each on its seeds
(``sim.design_row=R`` runs one row); ``experiment=sensitivity`` runs the rows
with and without the CDA on common seeds, through any launcher, and
``khusheh-report --sensitivity`` then reads the results.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf, open_dict

METHODS = ("morris", "sobol")


def default_ranges() -> dict[str, list[float]]:
    from importlib.resources import files
    return dict(OmegaConf.to_container(OmegaConf.load(str(files("conf") / "sensitivity.yaml"))))


def _key(name: str) -> str:
    """A design column as a config key: plain behavioural names are model.<name>."""
    return name if "." in name else f"model.{name}"


def make_design(method: str, ranges: dict[str, list[float]], *, trajectories: int = 10, n: int = 32,
                seed: int = 0) -> tuple[pd.DataFrame, dict]:
    names = list(ranges)
    problem = {"num_vars": len(names), "names": names, "bounds": [list(map(float, ranges[k])) for k in names]}
    if method == "morris":
        from SALib.sample import morris
        x = morris.sample(problem, N=trajectories, num_levels=4, seed=seed)
    elif method == "sobol":
        from SALib.sample import sobol
        x = sobol.sample(problem, n, calc_second_order=False, seed=seed)
    else:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    design = pd.DataFrame(x, columns=names)
    design.insert(0, "row", np.arange(len(design)))
    return design, {"method": method, "problem": problem, "seed": seed, "trajectories": trajectories, "n": n}


def write_design(out: Path, design: pd.DataFrame, meta: dict) -> None:
    from .results import atomic_write
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "design.csv", lambda tmp: design.to_csv(tmp, index=False))
    atomic_write(out / "problem.json", lambda tmp: tmp.write_text(json.dumps(meta, indent=1) + "\n"))


@functools.lru_cache(maxsize=4)
def _read_design(path: str, _mtime_ns: int, _size: int) -> pd.DataFrame:
    """The design file, read once while it is unchanged."""
    return pd.read_csv(path)


def read_design(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"sim.design: no design file {path}")
    return _read_design(str(path), path.stat().st_mtime_ns, path.stat().st_size)


def design_rows(path: str | Path, row: int | None = None) -> list[int]:
    """The rows of the design at ``path`` that a job runs: every row, or only ``row`` (checked)."""
    n = len(read_design(path))
    if row is None:
        return list(range(n))
    if not 0 <= row < n:
        raise ValueError(f"sim.design_row = {row} is out of range; the design has rows 0 to {n - 1}")
    return [int(row)]


def apply_design_row(cfg, row: int) -> None:
    """Set the parameters of row ``row`` of the design ``sim.design`` in the config ``cfg``."""
    design = read_design(cfg.sim.design)
    with open_dict(cfg):
        for name in design.columns.drop("row"):
            OmegaConf.update(cfg, _key(name), float(design.loc[row, name]), merge=False)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="khusheh-sensitivity", description="Sensitivity analysis designs (SALib).")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("design", help="write design.csv and problem.json")
    d.add_argument("--method", choices=METHODS, default="morris")
    d.add_argument("--trajectories", type=int, default=10, help="Morris trajectories (rows: (k + 1) x this)")
    d.add_argument("--n", type=int, default=32, help="Sobol base sample, a power of 2 (rows: (k + 2) x this)")
    d.add_argument("--params", default="", help="comma-separated subset of conf/sensitivity.yaml's parameters")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    ranges = default_ranges()
    if args.params:
        unknown = [p for p in args.params.split(",") if p not in ranges]
        if unknown:
            print(f"khusheh-sensitivity: unknown parameter(s) {', '.join(unknown)}; choose from {', '.join(ranges)}",
                  file=sys.stderr)
            return 2
        ranges = {p: ranges[p] for p in args.params.split(",")}
    if args.trajectories < 2 or args.n < 2:
        print("khusheh-sensitivity: --trajectories and --n must be at least 2", file=sys.stderr)
        return 2
    design, meta = make_design(args.method, ranges, trajectories=args.trajectories, n=args.n, seed=args.seed)
    out = Path(args.out).resolve()
    write_design(out, design, meta)
    print(f"design: {len(design)} rows of {len(ranges)} parameters in {out / 'design.csv'}\n"
          f"run:    khusheh-run -m experiment=sensitivity sim.design={out / 'design.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
