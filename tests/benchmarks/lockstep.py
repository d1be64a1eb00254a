"""Compare the speed of the model at another commit with this checkout's, month by month.

    uv run python -m tests.benchmarks.lockstep REV [--firms N] [--months M] [--runs R]

This machine's speed drifts by 20-40% over minutes, so whole runs timed in
separate processes cannot show a change of a few per cent. Here both versions
run in one process, in lockstep: a month of one model, then the same month of
the other (in alternating order), so that the drift hits both alike. Prints
the new code's stepping time as a share of the old code's, and whether the two
gave the same monthly series.

``REV``'s ``model/`` is taken with ``git archive`` into a temporary folder and
imported as the package ``model_old`` (its kernels are built there, about
30 s, unless their source is this checkout's). ``--firms 500`` (the default)
runs the six main policies in turn with the default cluster for 120 months;
a larger ``--firms`` runs the standard CDA with a budget scaled to the
cluster's size, as the benchmarks do.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POLICY_CYCLE = ("none", "standard_cda", "trust_first", "linkages", "subsidy_only", "export_consortium")


def load_old(rev: str, folder: Path):
    """``rev``'s model package, imported as ``model_old`` from ``folder``."""
    try:
        archive = subprocess.run(["git", "archive", rev, "model"], cwd=ROOT, capture_output=True, check=True).stdout
    except subprocess.CalledProcessError as e:
        raise SystemExit(f"lockstep: git cannot archive model/ at {rev!r}: {e.stderr.decode().strip()}") from None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    # the kernels compiled for this checkout serve the old copy too when their source is the same
    cache = folder / "model" / "__pycache__"
    cache.mkdir(exist_ok=True)
    for built in (ROOT / "model" / "__pycache__").glob("kernels_aot_*"):
        shutil.copy2(built, cache / built.name)
    spec = importlib.util.spec_from_file_location("model_old", folder / "model" / "__init__.py",
                                                  submodule_search_locations=[str(folder / "model")])
    module = importlib.util.module_from_spec(spec)
    sys.modules["model_old"] = module
    spec.loader.exec_module(module)
    return module


def make(package: str, firms: int, months: int, run: int):
    model = importlib.import_module(package)
    policies = importlib.import_module(f"{package}.policies").POLICIES
    if firms == 500:
        params = model.ModelParams(policy=policies[POLICY_CYCLE[run % len(POLICY_CYCLE)]], months=months)
    else:
        policy = policies["standard_cda"]
        params = model.ModelParams(policy=replace(policy, budget=policy.budget * firms / 500), months=months)
    return model.ClusterModel(params, rng=run, n_firms=firms)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.lockstep", description=__doc__.split("\n")[0])
    parser.add_argument("rev", help="the commit to compare with (e.g. HEAD~1)")
    parser.add_argument("--firms", type=int, default=500)
    parser.add_argument("--months", type=int, default=None, help="default: 120 at 500 firms, else 240")
    parser.add_argument("--runs", type=int, default=None, help="default: 20 at 500 firms, else 2")
    args = parser.parse_args(argv)
    months = args.months or (120 if args.firms == 500 else 240)
    runs = args.runs or (20 if args.firms == 500 else 2)
    with tempfile.TemporaryDirectory(prefix="khusheh-lockstep-") as tmp:
        load_old(args.rev, Path(tmp))
        old_s = new_s = 0.0
        same = True
        for run in range(runs):
            try:
                old, new = make("model_old", args.firms, months, run), make("model", args.firms, months, run)
            except ValueError as e:  # the model's ParameterError, e.g. a horizon before the CDA starts
                raise SystemExit(f"lockstep: {e}") from None
            month = 0
            while old.running or new.running:
                order = ((old, new) if month % 2 == 0 else (new, old))
                for m in order:
                    if not m.running:
                        continue
                    start = time.perf_counter()
                    m.step()
                    spent = time.perf_counter() - start
                    if m is old:
                        old_s += spent
                    else:
                        new_s += spent
                month += 1
            same = same and old.series().equals(new.series())
    plural = "s" if runs != 1 else ""
    print(f"{runs} run{plural} of {args.firms} firms x {months} months: old {old_s:.2f} s, new {new_s:.2f} s "
          f"stepping; new / old = {new_s / old_s:.3f}; monthly series {'the same' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
