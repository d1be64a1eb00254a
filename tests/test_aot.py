"""The kernels compiled ahead of time (model/kernels.py, model/aot.py): the same results as numba's JIT,
every call of the model's runs served by them, and a safe way out for anything else."""

from __future__ import annotations

import importlib.machinery
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from numba.core.errors import TypingError

from model import ClusterModel, ClusterSpec, ModelParams, ShockParams, kernel_code, kernels
from model.policies import POLICIES

ROOT = Path(__file__).resolve().parents[1]

# a run through every phase of the CDA, with entry, exit and a shock; prints a digest of its results
RUN = """
import hashlib, sys
from dataclasses import replace
from model import ClusterModel, ModelParams, ShockParams, kernels
from model.policies import POLICIES
m = ClusterModel(ModelParams(policy=POLICIES["standard_cda"], months=60,
                             shock=ShockParams(kind="demand_drop", start_month=20)), rng=4, n_firms=300).run()
t, f = m.ties, m.firms
digest = hashlib.sha256(m.series().to_csv().encode() + m.cluster_series().to_csv().encode())
for a in (t.key, t.i, t.j, t.trust_ij, t.trust_ji, t.last, f.alive, f.employees, f.productivity, f.cash):
    digest.update(a.tobytes())
print(kernels.mode, "numba" in sys.modules, digest.hexdigest())
"""


def _python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=600)


def test_ahead_of_time_and_jit_kernels_give_the_same_run_and_the_first_skips_numba():
    aot = _python(RUN)
    jit = _python(RUN, KHUSHEH_KERNELS="jit")
    assert aot.returncode == 0 and jit.returncode == 0, aot.stderr + jit.stderr
    mode, numba_imported, digest = aot.stdout.split()
    assert (mode, numba_imported) == ("aot", "False")  # (this machine has a C compiler: it must build)
    assert jit.stdout.split() == ["jit", "True", digest]


def test_the_model_runs_call_no_kernel_outside_the_compiled_signatures():
    """Runs other than those the signatures were recorded from (model/aot.py): other seeds, sizes and
    shocks, every policy, and a programme over four clusters. A failure here means a kernel's arguments
    changed: run ``KHUSHEH_KERNELS=jit python -m model.aot --signatures``."""
    assert kernels.mode == "aot"
    kernels.fallbacks.clear()
    shock = ShockParams(kind="input_price_spike", start_month=10, duration_months=6)
    for name, policy in POLICIES.items():
        if policy.programme_cdas == 0:
            ClusterModel(ModelParams(policy=policy, months=45, shock=shock), rng=9, n_firms=120).run()
    towns = ("Kashan", "Aran-Bidgol", "Isfahan", "Shahreza")
    clusters = tuple(ClusterSpec(name=f"c{k}", town=town, n_firms=60 + 30 * k) for k, town in enumerate(towns))
    for rule in ("programme_random", "programme_trust_gap"):
        programme = replace(POLICIES[rule], programme_cdas=3, budget=900.0)
        ClusterModel(ModelParams(policy=programme, months=45, clusters=clusters), rng=3).run()
    assert not kernels.fallbacks, dict(kernels.fallbacks)


def test_a_call_with_other_argument_types_goes_to_the_jit_with_the_same_answer():
    assert kernels.mode == "aot"
    kernels.fallbacks.clear()
    group = np.array([2, 0, 1, 0, 2, 2], dtype=np.int64)
    expected = kernel_code.group_order(group, 3).tolist()
    assert kernels.group_order(group, 3).tolist() == expected
    assert kernels.group_order(group, np.int64(3)).tolist() == expected
    assert not kernels.fallbacks
    read_only = group.copy()
    read_only.setflags(write=False)
    others = [(group.astype(np.int32), 3), (np.repeat(group, 2)[::2], 3), (read_only, 3),
              (group, np.int32(3))]
    for array, n in others:
        assert kernels.group_order(array, n).tolist() == expected
    with pytest.raises(TypingError):  # big-endian: the JIT refuses it, where the compiled code would misread it
        kernels.group_order(group.astype(">i8"), 3)
    assert kernels.fallbacks["group_order"] == len(others) + 1


# a process that loads the kernels, runs one and says how
PROBE = """
import sys, numpy as np
from model import kernels
print(kernels.mode, "numba" in sys.modules, kernels.group_order(np.array([2, 0, 1, 0]), 3).tolist())
"""


def _expected_module(cache: Path) -> Path:
    return cache / (kernels.build_name() + importlib.machinery.EXTENSION_SUFFIXES[0])


def test_a_damaged_compiled_module_is_reported_and_the_jit_runs_instead(tmp_path):
    _expected_module(tmp_path).write_bytes(b"not a shared library")
    proc = _python(PROBE, KHUSHEH_KERNEL_CACHE=str(tmp_path))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert "kernels compiled ahead of time cannot be used" in proc.stderr
    assert proc.stdout.split() == ["jit", "True", "[1,", "3,", "2,", "0]"]


def test_without_a_compiler_the_build_fails_once_and_the_jit_runs_instead(tmp_path):
    env = dict(KHUSHEH_KERNEL_CACHE=str(tmp_path), CC="/bin/false", CXX="/bin/false")
    first = _python(PROBE, **env)
    assert first.returncode == 0 and "Traceback" not in first.stderr
    assert "could not compile the kernels ahead of time (no working C and C++ compiler" in first.stderr
    assert first.stdout.split()[:2] == ["jit", "True"]
    assert (tmp_path / f"{kernels.build_name()}.failed").exists()
    again = _python(PROBE, **env)  # the failure is remembered: no second attempt
    assert "compil" not in again.stderr and again.stdout == first.stdout
    assert not _expected_module(tmp_path).exists()


def test_two_processes_starting_together_build_the_module_once(tmp_path):
    env = {**os.environ, "KHUSHEH_KERNEL_CACHE": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", PROBE], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=900) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert [out.split()[:2] for out, _err in outs] == [["aot", "False"]] * 2
    assert sum(err.count("[khusheh] compiling the model's kernels") for _out, err in outs) == 1
    assert _expected_module(tmp_path).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernels_aot.lock", _expected_module(tmp_path).name]


def test_a_build_removes_this_machines_older_modules_and_leftovers_but_not_other_machines(tmp_path):
    name = "kernels_aot_aaaa_new"
    keep = [f"{name}.cpython-312-x86_64-linux-gnu.so", "kernels_aot_bbbb_old.cpython-312-x86_64-linux-gnu.so",
            "kernels_aot_bbbb_new.failed", "kernels_aot.lock"]
    gone = ["kernels_aot_aaaa_old.cpython-312-x86_64-linux-gnu.so", "kernels_aot_aaaa_old.failed",
            f"{name}.cpython-312-x86_64-linux-gnu.so.123.tmp"]
    for file in keep + gone:
        (tmp_path / file).write_text("")
    kernels._clean(tmp_path, name)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep)


def test_the_module_is_named_for_its_source_and_machine(tmp_path, monkeypatch):
    """A change to the kernels' source, to NumPy's version or to numba's code generation gives the compiled
    module another name; a setting that does not change the code leaves it."""
    name = kernels.build_name()
    assert name.isidentifier()  # (the extension module's name)
    source = tmp_path / "model"
    source.mkdir()
    for file in kernels._SOURCES:
        (source / file).write_bytes((Path(kernels.__file__).parent / file).read_bytes())
    monkeypatch.setattr(kernels, "_HERE", source)
    assert kernels.build_name() == name
    with open(source / "kernel_code.py", "a") as code:
        code.write("\n# changed\n")
    changed = kernels.build_name()
    assert changed != name and changed.rsplit("_", 1)[0] == name.rsplit("_", 1)[0]
    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")  # (as joblib sets in its workers: the same code)
    assert kernels.build_name() == changed
    monkeypatch.setenv("NUMBA_OPT", "0")
    assert kernels.build_name().rsplit("_", 1)[0] != name.rsplit("_", 1)[0]
    monkeypatch.delenv("NUMBA_OPT")
    monkeypatch.setattr(np, "__version__", "0.0.0")
    assert kernels.build_name().rsplit("_", 1)[0] != name.rsplit("_", 1)[0]
