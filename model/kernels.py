"""The compiled kernels the model calls; their source is :mod:`model.kernel_code`.

They are compiled ahead of time, once per machine and version of the source,
into an extension module (``numba.pycc``, in a subprocess, about 30 s; see
:mod:`model.aot`), kept in ``model/__pycache__`` (or, when the checkout is
read-only, ``$XDG_CACHE_HOME/khusheh``; ``KHUSHEH_KERNEL_CACHE`` names another
folder). Loading it takes about 0.01 s and does not import numba, whose JIT
cache costs 0.5-0.8 s more a process: numba's import, its set-up on the first
compiled call and the loading of each kernel.

The compiled module holds each kernel for the argument types that
:mod:`model.kernel_signatures` lists (those of the model's runs). A call here
checks its arguments against them (dtype, dimensions, a C-contiguous, aligned,
writable ndarray; exactly int, float or bool scalars, or NumPy's 64-bit and
bool ones) and passes them on. Any other call goes to numba's JIT functions of
:mod:`model.kernel_code` (imported at the first such call), as do all calls
when no compiled module can be had (no C/C++ compiler, or the build failed:
the report is in the cache folder's ``kernels_aot_*.failed``, and the failure
is not retried until the source changes or the file is deleted) or when the
environment sets ``KHUSHEH_KERNELS=jit``. Both are compiled from the same
source by the same compiler for this CPU, without fast-math: the results are
the same (tests/test_aot.py checks a whole run). Unlike the JIT functions, the
compiled ones hold the GIL while they run.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import platform
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from .kernel_signatures import SIGNATURES
from .tiekey import KEY_BASE  # noqa: F401 (here for callers that read it from the kernels)

_HERE = Path(__file__).resolve().parent
_SOURCES = ("kernel_code.py", "kernel_signatures.py", "aot.py", "tiekey.py")
_BUILD_TIMEOUT_S = 1800
# numba's settings that change the code it generates (not, e.g., NUMBA_NUM_THREADS, which joblib sets in its workers)
_CODEGEN_SETTINGS = ("NUMBA_OPT", "NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES", "NUMBA_BOUNDSCHECK", "NUMBA_LOOP_VECTORIZE",
                     "NUMBA_SLP_VECTORIZE", "NUMBA_ENABLE_AVX", "NUMBA_DISABLE_INTEL_SVML", "NUMBA_DEBUGINFO",
                     "NUMBA_DISABLE_JIT")
_STOPPED = {int(getattr(signal, name)) for name in ("SIGKILL", "SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)}

fallbacks: Counter = Counter()  # kernels reached through the JIT while compiled ones are loaded (for tests)
mode = "jit"  # "aot" once the compiled module is loaded


def _say(text: str) -> None:
    print(f"[khusheh] {text}", file=sys.stderr, flush=True)


def _cache_dir() -> Path:
    if os.environ.get("KHUSHEH_KERNEL_CACHE"):
        return Path(os.environ["KHUSHEH_KERNEL_CACHE"])
    local = _HERE / "__pycache__"
    if os.access(local if local.exists() else _HERE, os.W_OK):
        return local
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "khusheh"


def _cpu() -> str:
    """This CPU's model and instruction sets, as /proc/cpuinfo gives them (x86, ARM, POWER, RISC-V)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            first = cpuinfo.read().split("\n\n")[0].splitlines()
    except OSError:
        first = []
    fields = ("model name", "flags", "Features", "CPU implementer", "CPU architecture", "CPU variant",
              "CPU part", "cpu", "isa", "uarch")
    lines = [line for line in first if line.split(":")[0].strip() in fields]
    # elsewhere (macOS, Windows) the processor's name is all there is: key on the host as well
    return "\n".join(lines) if lines else f"{platform.processor()}\n{socket.gethostname()}"


def _machine() -> bytes:
    """What the compiled module depends on besides its source: this CPU (the code is built for it),
    Python, NumPy (its headers), numba and llvmlite, and numba's code-generation settings."""
    parts = [_cpu(), sys.version, platform.machine(), np.__version__]
    for package in ("numba", "llvmlite"):
        spec = importlib.util.find_spec(package)
        version = Path(spec.origin).with_name("_version.py") if spec and spec.origin else None
        parts.append(version.read_text() if version and version.exists() else package)
    parts += [f"{k}={os.environ[k]}" for k in _CODEGEN_SETTINGS if k in os.environ]
    return "\n".join(parts).encode()


def build_name() -> str:
    """The compiled module's name: ``kernels_aot_<machine>_<source>`` (two hashes)."""
    source = hashlib.sha256()
    for name in _SOURCES:
        source.update((_HERE / name).read_bytes())
    return f"kernels_aot_{hashlib.sha256(_machine()).hexdigest()[:12]}_{source.hexdigest()[:12]}"


def _lock(path: Path):
    """A descriptor of ``path`` that holds an exclusive lock while it is open, where the system has
    one (not on Windows nor on some network file systems: there two processes may both build, and each
    one's rename keeps the module whole)."""
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        import fcntl
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say("waiting for another process that is compiling the model's kernels")
            fcntl.flock(fd, fcntl.LOCK_EX)
    except (ImportError, OSError):
        pass
    return fd


def _clean(cache: Path, name: str) -> None:
    """Remove this machine's modules for earlier sources and leftovers of interrupted builds (other
    machines' modules in a shared folder stay)."""
    machine = name.rsplit("_", 1)[0]
    for old in cache.glob(f"{machine}_*"):
        if not old.name.startswith(name + ".") or old.name.endswith(".tmp"):
            try:
                old.unlink()
            except OSError:  # (a module another process has loaded, on Windows)
                pass


def _build(cache: Path, name: str, path: Path) -> None:
    """Compile the module into ``path`` in a subprocess, one process at a time (the others wait for it);
    on failure, leave the report in ``<name>.failed`` so that later imports go straight to the JIT."""
    cache.mkdir(parents=True, exist_ok=True)
    failed = cache / f"{name}.failed"
    fd = _lock(cache / "kernels_aot.lock")
    try:
        if path.exists() or failed.exists():  # (built, or failed, while this process waited)
            return
        _say("compiling the model's kernels for this machine (once; about 30 s)")
        env = {**os.environ, "KHUSHEH_KERNELS": "jit", "PYTHONPATH": os.pathsep.join(
            p for p in (str(_HERE.parent), os.environ.get("PYTHONPATH")) if p)}
        try:
            proc = subprocess.run([sys.executable, "-m", "model.aot", name, str(path)], cwd=_HERE.parent,
                                  env=env, capture_output=True, text=True, timeout=_BUILD_TIMEOUT_S)
            report, code = proc.stdout + proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as timeout:
            report, code = f"{timeout}\n{timeout.stderr or ''}", 1
        if code == 0 and path.exists():
            _clean(cache, name)
            return
        reason = (report.strip().splitlines() or ["no output"])[-1]
        if -code in _STOPPED:  # killed (out of memory, interrupted): worth another try next time
            _say(f"compiling the kernels was stopped (signal {-code}); numba's JIT runs them instead")
            return
        if code < 0:  # e.g. an illegal instruction when the new module was tried (model.aot._try)
            reason = f"the build died of signal {-code}"
        failed.write_text(report)
        _say(f"could not compile the kernels ahead of time ({reason}); numba's JIT runs them instead"
             f" (the whole report: {failed}; delete it to try again)")
    finally:
        os.close(fd)


def _load():
    """The compiled module for the current source, built first if need be; None if it cannot be had."""
    choice = os.environ.get("KHUSHEH_KERNELS", "aot").strip().lower()
    if choice == "jit":
        return None
    if choice != "aot":
        _say(f"KHUSHEH_KERNELS={os.environ['KHUSHEH_KERNELS']!r} is neither 'aot' nor 'jit'; using 'aot'")
    cache = _cache_dir()
    try:
        name = build_name()
        path = cache / (name + importlib.machinery.EXTENSION_SUFFIXES[0])
        if not path.exists() and not (cache / f"{name}.failed").exists():
            _build(cache, name, path)
    except OSError as error:  # e.g. a cache folder that cannot be written
        _say(f"cannot compile the kernels ahead of time ({error}); numba's JIT runs them instead")
        return None
    if not path.exists():
        return None
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    except (OSError, ImportError) as error:
        _say(f"the kernels compiled ahead of time cannot be used ({error}); numba's JIT runs them instead"
             f" (delete {path} to build it again)")
        return None


def _jit():
    """The JIT functions' module (imported, with numba, at the first call)."""
    from . import kernel_code
    return kernel_code


def _fallback(name: str, args: tuple):
    fallbacks[name] += 1
    return getattr(_jit(), name)(*args)


_DTYPES = {"i8": np.dtype(np.int64), "f8": np.dtype(np.float64), "b1": np.dtype(np.bool_)}
_SCALARS = {"i8": "(int, np.int64)", "f8": "(float, np.float64)", "b1": "(bool, np.bool_)"}


def _accepts(k: int, code: str) -> str:
    """A Python test that argument ``k`` has numba type ``code`` ("i8", "f8[::1]", "b1[:, ::1]", ...);
    "False" for a type it does not know (the call then goes to the JIT)."""
    x = f"args[{k}]"
    if code in _SCALARS:
        return f"type({x}) in {_SCALARS[code]}"
    dtype, ndim = code[:2], code.count(":") - 1
    if dtype not in _DTYPES or code[2:] != "[" + ":, " * (ndim - 1) + "::1]":
        return "False"
    return (f"(type({x}) is np.ndarray and {x}.ndim == {ndim} and ({x}.dtype is _{dtype} or {x}.dtype == _{dtype})"
            f" and {x}.flags.carray)")


def _dispatcher(name: str, module, signatures):
    """``name``(*args): the compiled variant whose argument types match, else the JIT function."""
    lines = [f"def {name}(*args):"]
    scope = {"__name__": __name__, "np": np, "_fallback": _fallback,
             **{f"_{code}": dtype for code, dtype in _DTYPES.items()}}
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
        function = getattr(_jit(), name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    if mode == "aot":
        fallbacks[name] += 1
    return function


_bind()
