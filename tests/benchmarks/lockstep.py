"""Compare the speed of the model at another commit with this checkout's, month by month.

    uv run python -m tests.benchmarks.lockstep REV [--firms N] [--months M] [--runs R]

This machine's speed drifts by up to 60% within the hour, so whole runs timed
in separate processes cannot show a change of a few per cent. Here both
versions run in one process, in lockstep: a month of one model, then the same
month of the other (in alternating order), so that the drift hits both alike.
Prints the new code's stepping time as a share of the old code's, and whether
the two gave the same monthly series.

``REV``'s ``model/`` is taken with ``git archive`` into a folder of the
system's temporary folder named after the commit (kept: later comparisons with
it reuse its compiled kernels) and imported as the package ``model_old``. Its
kernels are compiled and cached there by its first use (about 20 s). Before
timing, each version runs one untimed 500-firm run, so that no kernel is
compiled while timed. ``--firms 500``
(the default) runs the six main policies in turn with the default cluster for
120 months; a larger ``--firms`` runs the standard CDA with a budget scaled
to the cluster's size, as the benchmarks do.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict, fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OLD = "model_old"
POLICY_CYCLE = ("none", "standard_cda", "trust_first", "linkages", "subsidy_only", "export_consortium")


def forget_old() -> None:
    """Drop an earlier ``model_old`` and its submodules from ``sys.modules``."""
    for name in [n for n in sys.modules if n == OLD or n.startswith(OLD + ".")]:
        del sys.modules[name]


def _git(*args: str, rev: str) -> bytes:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        detail = e.stderr.decode().strip() if isinstance(e, subprocess.CalledProcessError) else e
        raise SystemExit(f"lockstep: git cannot archive model/ at {rev!r}: {detail}") from None


def old_folder(rev: str) -> Path:
    """A folder holding ``rev``'s ``model/``, taken with ``git archive`` unless an earlier comparison left
    it (named after the commit)."""
    commit = _git("rev-parse", "--verify", f"{rev}^{{commit}}", rev=rev).decode().strip()
    folder = Path(tempfile.gettempdir()) / f"khusheh-lockstep-{commit[:16]}"
    if not (folder / "model" / "__init__.py").exists():
        archive = _git("archive", commit, "model", rev=rev)
        unpacked = Path(tempfile.mkdtemp(prefix=folder.name + "-", dir=folder.parent))
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(unpacked, filter="data")
        try:
            unpacked.rename(folder)
        except OSError:  # (another comparison unpacked it meanwhile)
            shutil.rmtree(unpacked, ignore_errors=True)
    return folder


def load_old(rev: str):
    """``rev``'s model package, imported as ``model_old`` from :func:`old_folder`."""
    folder = old_folder(rev)
    # the old copy keeps its compiled kernels in its own folder
    cache = folder / "model" / "__pycache__"
    cache.mkdir(exist_ok=True)
    forget_old()
    spec = importlib.util.spec_from_file_location(OLD, folder / "model" / "__init__.py",
                                                  submodule_search_locations=[str(folder / "model")])
    module = importlib.util.module_from_spec(spec)
    sys.modules[OLD] = module
    saved = os.environ.get("KHUSHEH_KERNEL_CACHE")
    os.environ["KHUSHEH_KERNEL_CACHE"] = str(cache)
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        forget_old()
        raise SystemExit(f"lockstep: the model at {rev!r} does not import here: {type(e).__name__}: {e}") from None
    finally:
        if saved is None:
            del os.environ["KHUSHEH_KERNEL_CACHE"]
        else:
            os.environ["KHUSHEH_KERNEL_CACHE"] = saved
    return module


def params_for(package: str, firms: int, months: int, run: int):
    """The model parameters of run ``run`` (checked)."""
    from model import presets  # (this checkout's: conf/ holds the presets)
    model = importlib.import_module(package)

    def policies(name):
        """The preset (conf/policy) as ``package``'s PolicyParams (an older model may lack newer fields)."""
        known = {f.name for f in fields(model.PolicyParams)}
        return model.PolicyParams(**{k: v for k, v in asdict(presets.policy(name)).items() if k in known})

    if firms == 500:
        params = model.ModelParams(policy=policies(POLICY_CYCLE[run % len(POLICY_CYCLE)]), months=months)
    else:
        policy = policies("standard_cda")
        params = model.ModelParams(policy=replace(policy, budget=policy.budget * firms / 500), months=months)
    params = params.with_overrides(n_firms=firms)
    params.validate()
    return params


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive whole number")
    return value


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.lockstep", description=__doc__.split("\n")[0])
    parser.add_argument("rev", help="the commit to compare with (e.g. HEAD~1)")
    parser.add_argument("--firms", type=_positive, default=500)
    parser.add_argument("--months", type=_positive, default=None, help="default: 120 at 500 firms, else 240")
    parser.add_argument("--runs", type=_positive, default=None, help="default: 20 at 500 firms, else 2")
    args = parser.parse_args(argv)
    months = args.months if args.months is not None else (120 if args.firms == 500 else 240)
    runs = args.runs if args.runs is not None else (20 if args.firms == 500 else 2)
    try:
        load_old(args.rev)
        result = _compare(args.firms, months, runs)
    finally:
        forget_old()
    print(result)


def _compare(firms: int, months: int, runs: int) -> str:
    packages = (OLD, "model")
    try:
        plans = [[params_for(p, firms, months, run) for p in packages] for run in range(runs)]
        warm_up = [params_for(p, 500, 120, 1) for p in packages]
    except ValueError as e:  # the model's ParameterError, e.g. a horizon before the CDA starts
        raise SystemExit(f"lockstep: {e}") from None
    classes = [importlib.import_module(p).ClusterModel for p in packages]
    for cls, params in zip(classes, warm_up):
        cls(params, rng=0).run()
    spent, stepped, same = [0.0, 0.0], [0, 0], True
    for run, plan in enumerate(plans):
        models = [cls(params, rng=run) for cls, params in zip(classes, plan)]
        month = 0
        while any(m.running for m in models):
            for k in ((0, 1) if month % 2 == 0 else (1, 0)):
                if models[k].running:
                    start = time.perf_counter()
                    models[k].step()
                    spent[k] += time.perf_counter() - start
                    stepped[k] += 1
            month += 1
        same = same and models[0].series().equals(models[1].series())
    if stepped[0] != stepped[1]:
        raise SystemExit(f"lockstep: the old code stepped {stepped[0]} months and the new {stepped[1]}: "
                         "their times are not comparable")
    plural = "s" if runs != 1 else ""
    return (f"{runs} run{plural} of {firms} firms x {months} months: old {spent[0]:.2f} s, new {spent[1]:.2f} s "
            f"stepping; new / old = {spent[1] / spent[0]:.3f}; monthly series "
            f"{'the same' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
