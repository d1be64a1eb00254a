"""The compiled kernels the model calls; their source is :mod:`model.kernel_code`.

They are compiled ahead of time, once per machine and version of the source,
into an extension module in ``model/__pycache__`` (``numba.pycc``, in a
subprocess, about 30 s; see :mod:`model.aot`). Loading it takes about 0.1 s and
does not import numba, whose JIT cache costs 0.7-0.8 s more a process: numba's
import, its set-up on the first compiled call and the loading of each kernel.

The compiled module holds each kernel for the argument types that
:mod:`model.kernel_signatures` lists (those of the model's runs). A call here
checks its arguments against them (dtype, dimensions, a C-contiguous writable
array; int, float or bool scalars) and passes them on. Any other call goes to
numba's JIT functions of :mod:`model.kernel_code` (imported at the first such
call), as do all calls when no compiled module can be had (no C compiler, or
the build failed: the reason is in ``model/__pycache__/kernels_aot_*.failed``)
or when the environment sets ``KHUSHEH_KERNELS=jit``. ``KHUSHEH_KERNEL_CACHE``
names another folder for the module (e.g. when the checkout is read-only).
Both are compiled from the same source by the same compiler, without
fast-math: the results are the same (tests/test_aot.py checks a whole run).
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import platform
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from .kernel_signatures import SIGNATURES

KEY_BASE = np.int64(1) << 32  # tie key = i * KEY_BASE + j (model.state uses this one)

_HERE = Path(__file__).resolve().parent
_CACHE = Path(os.environ.get("KHUSHEH_KERNEL_CACHE") or _HERE / "__pycache__")  # where the module is built
_SOURCES = ("kernel_code.py", "kernel_signatures.py", "aot.py")

fallbacks: Counter = Counter()  # calls that went to the JIT functions, by kernel (for tests)
mode = "jit"  # "aot" once the compiled module is loaded


def _machine() -> bytes:
    """What the compiled code depends on besides its source: Python, numba, and this CPU's model and
    instruction sets (the code is built for this CPU)."""
    parts = [sys.version, platform.machine()]
    for package in ("numba", "llvmlite"):
        spec = importlib.util.find_spec(package)
        version = Path(spec.origin).with_name("_version.py") if spec and spec.origin else None
        parts.append(version.read_text() if version and version.exists() else package)
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            parts += [line for line in cpuinfo.read().split("\n\n")[0].splitlines()
                      if line.startswith(("model name", "flags"))]
    except OSError:
        parts.append(platform.processor())
    return "\n".join(parts).encode()


def build_name() -> str:
    """The compiled module's name for the current source and machine."""
    digest = hashlib.sha256(_machine())
    for name in _SOURCES:
        digest.update((_HERE / name).read_bytes())
    return "kernels_aot_" + digest.hexdigest()[:16]


def _say(text: str) -> None:
    print(f"[khusheh] {text}", file=sys.stderr, flush=True)


def _build(name: str, path: Path) -> None:
    """Compile the module into ``path`` in a subprocess, one process at a time (the others wait for it);
    on failure, leave the reason in ``<name>.failed`` so that later imports go straight to the JIT."""
    _CACHE.mkdir(exist_ok=True)
    with open(_CACHE / "kernels_aot.lock", "w") as lock:
        try:
            import fcntl
            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # (not on Windows: two processes may both build; the rename keeps it whole)
            pass
        if path.exists():
            return
        _say("compiling the model's kernels for this machine (once; about 30 s)")
        env = {**os.environ, "KHUSHEH_KERNELS": "jit",
               "PYTHONPATH": os.pathsep.join([str(_HERE.parent), os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.run([sys.executable, "-m", "model.aot", name, str(path)], env=env,
                              capture_output=True, text=True)
        if proc.returncode != 0 or not path.exists():
            failed = _CACHE / f"{name}.failed"
            failed.write_text(proc.stdout + proc.stderr)
            reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            _say(f"could not compile the kernels ahead of time ({reason}); numba's JIT runs them instead"
                 f" (the whole report: {failed}; delete it to try again)")
            return
        for old in _CACHE.glob("kernels_aot_*"):  # builds of earlier sources
            if not old.name.startswith(name):
                old.unlink(missing_ok=True)


def _load():
    """The compiled module for the current source, built first if need be; None if it cannot be had."""
    if os.environ.get("KHUSHEH_KERNELS", "aot") == "jit":
        return None
    try:
        name = build_name()
        path = _CACHE / (name + importlib.machinery.EXTENSION_SUFFIXES[0])
        if not path.exists() and not (_CACHE / f"{name}.failed").exists():
            _build(name, path)
        if not path.exists():
            return None
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    except (OSError, ImportError) as error:  # an unwritable checkout, a damaged file: the JIT will do
        _say(f"the kernels compiled ahead of time cannot be used ({error}); numba's JIT runs them instead"
             " (delete the file to build it again)")
        return None


_jit_module = None


def _jit():
    global _jit_module
    if _jit_module is None:
        from . import kernel_code
        _jit_module = kernel_code
    return _jit_module


def _fallback(name: str, args: tuple):
    fallbacks[name] += 1
    return getattr(_jit(), name)(*args)


_DTYPES = {"i8": np.dtype(np.int64), "f8": np.dtype(np.float64), "b1": np.dtype(np.bool_)}
_SCALARS = {"i8": "(int, np.int64)", "f8": "(float, np.float64)", "b1": "(bool, np.bool_)"}


def _accepts(k: int, code: str) -> str:
    """A Python test that argument ``k`` has numba type ``code`` ("i8", "f8[::1]", "b1[:, ::1]", ...)."""
    x = f"args[{k}]"
    if "[" not in code:
        return f"type({x}) in {_SCALARS[code]}"
    dtype, ndim = code[:2], code.count(":") - 1
    return (f"(type({x}) is np.ndarray and {x}.ndim == {ndim} and ({x}.dtype is _{dtype} or {x}.dtype == _{dtype})"
            f" and {x}.flags.carray)")


def _dispatcher(name: str, module, signatures):
    """``name``(*args): the compiled variant whose argument types match, else the JIT function."""
    lines = [f"def {name}(*args):"]
    scope = {"np": np, "_fallback": _fallback, **{f"_{code}": dtype for code, dtype in _DTYPES.items()}}
    for k, (_ret, argtypes) in enumerate(signatures):
        scope[f"_v{k}"] = getattr(module, f"{name}__{k}")
        tests = " and ".join(_accepts(a, code) for a, code in enumerate(argtypes)) or "True"
        lines += [f"    if len(args) == {len(argtypes)} and {tests}:", f"        return _v{k}(*args)"]
    lines.append(f"    return _fallback({name!r}, args)")
    exec("\n".join(lines), scope)
    function = scope[name]
    function.__doc__ = f"``model.kernel_code.{name}``, compiled ahead of time (see model.kernels)."
    return function


def _bind() -> None:
    global mode
    module = _load()
    if module is None:
        code = _jit()
        for name in SIGNATURES:
            globals()[name] = getattr(code, name)
        return
    for name, signatures in SIGNATURES.items():
        globals()[name] = _dispatcher(name, module, signatures)
    mode = "aot"


def __getattr__(name: str):
    """Kernels and helpers without compiled signatures (e.g. ``_clip``): numba's JIT functions."""
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        return getattr(_jit(), name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


_bind()
