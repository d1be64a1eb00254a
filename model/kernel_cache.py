"""Where numba keeps the compiled kernels (of :mod:`model.kernels` and :mod:`model.keyed`): a folder keyed on their source.

numba's on-disk cache (``cache=True``) checks a cached function against its own
source file only: a changed constant or kernel in another module that it reads
(``KEY_BASE`` of :mod:`model.tiekey`, say) would leave stale machine code
running. So the kernels are cached in a folder of their own,
``<root>/kernels-<key>``, where ``key`` hashes the kernels' module, the source
of every model module it imports from and the values it imports from them. A
change to any of these starts a new folder: the next run compiles the kernels
again (about 15 s; it says so on stderr).

``root``: ``KHUSHEH_KERNEL_CACHE`` if set; else ``model/__pycache__`` when it
can be written; else ``$XDG_CACHE_HOME/khusheh`` (``~/.cache/khusheh``). If
that cannot be written either, each process compiles into a temporary folder.
Of a root's ``kernels-*`` folders the four last used stay, none unused for 30
days.

numba picks a function's cache folder when the function is decorated, from its
setting ``NUMBA_CACHE_DIR`` (``numba.config.CACHE_DIR``): numba documents the
environment variable; that it is read at decoration is how numba works, not a
promise, and tests/test_kernel_cache.py would fail if it changed. :func:`jit` sets it
to the kernels' folder while it decorates a kernel and puts the user's value
back at once: other packages' numba functions, and child processes, keep the
user's own setting.
"""

from __future__ import annotations

import ast
import atexit
import hashlib
import importlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

KEEP_FOLDERS = 4
KEEP_DAYS = 30
COMPILE_SECONDS = 15  # a cold cache's first 500-firm run, minus a warm one's (docs/SPEED.md)
_HERE = Path(__file__).resolve().parent


def _say(text: str) -> None:
    print(f"[khusheh] {text}", file=sys.stderr, flush=True)


def cache_root() -> Path:
    """The folder that holds the kernels' folders (see the module's docstring)."""
    if os.environ.get("KHUSHEH_KERNEL_CACHE"):
        return Path(os.environ["KHUSHEH_KERNEL_CACHE"])
    local = _HERE / "__pycache__"
    if os.access(local if local.exists() else _HERE, os.W_OK):
        return local
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "khusheh"


def _fingerprint(value) -> bytes:
    """A value's bytes for the key: numbers, strings and arrays by value; functions, classes and modules
    by kind only (their source is hashed with their module's)."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype.str}{value.shape}".encode() + value.tobytes()
    if isinstance(value, (bool, int, float, complex, str, bytes, np.generic, type(None))):
        return repr(value).encode()
    if isinstance(value, (tuple, frozenset)) and all(isinstance(v, (bool, int, float, str)) for v in value):
        return repr(value).encode()
    return type(value).__name__.encode()


def source_key(module_file: Path, package: str) -> str:
    """The hash of ``module_file``'s source, of the source of every module of ``package`` that it imports
    from (``from .x import y`` or ``from . import x``, anywhere in the file) and of the values so imported."""
    source = module_file.read_bytes()
    digest = hashlib.sha256(source)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == package for a in node.names):
            raise ImportError(f"{module_file.name}: import from {package} as `from .x import y`, so that the"
                              " kernels' cache key covers it")
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 0 and (node.module or "").split(".")[0] == package:  # from model.x import y
            module = node.module.partition(".")[2]
            if not module:
                raise ImportError(f"{module_file.name}: import from {package} as `from .x import y`, so that"
                                  " the kernels' cache key covers it")
            imported = [(module, alias.name) for alias in node.names]
        elif node.level != 1:
            continue
        elif node.module is None:  # from . import x, y: modules
            imported = [(alias.name, None) for alias in node.names]
        else:
            imported = [(node.module, alias.name) for alias in node.names]
        for module, name in imported:
            path = module_file.parent.joinpath(*module.split("."))
            path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
            digest.update(path.read_bytes())
            if name is not None:
                value = getattr(importlib.import_module(f"{package}.{module}"), name)
                digest.update(name.encode() + b"=" + _fingerprint(value))
    return digest.hexdigest()[:16]


def _clean(root: Path, keep: Path) -> None:
    """Remove the root's other kernel folders beyond the last used ``KEEP_FOLDERS`` or unused for
    ``KEEP_DAYS``, and what earlier versions left there (the ahead-of-time build, the kernels cached
    beside their source)."""
    folders = []
    for old in root.glob("kernels-*"):
        try:
            folders.append((old.stat().st_mtime, old))
        except OSError:  # (removed meanwhile by another process)
            pass
    folders.sort(reverse=True)
    now = time.time()
    stale = [old for k, (used, old) in enumerate(folders)
             if old != keep and (k >= KEEP_FOLDERS or now - used > KEEP_DAYS * 86400)]
    stale += [*root.glob("kernels_aot*"), *root.glob("kernel_code.*.nb[ic]")]
    for old in stale:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)


def kernel_folder(module_file: str, package: str, announce: bool = True) -> Path:
    """The folder for the kernels of ``module_file``, made if need be (and marked as used now); says so
    on stderr when it holds no compiled kernel yet (if ``announce``)."""
    key = source_key(Path(module_file).resolve(), package)
    root = cache_root()
    folder = root / f"kernels-{key}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)  # (used now)
        if not os.access(folder, os.W_OK):
            raise PermissionError(f"{folder} cannot be written")
    except OSError as error:
        folder = Path(tempfile.mkdtemp(prefix="khusheh-kernels-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _say(f"cannot keep the compiled kernels in {root} ({error}); set KHUSHEH_KERNEL_CACHE to"
             f" a folder that can be written. Compiling them in this process (about {COMPILE_SECONDS} s)")
        return folder
    if announce and not any(folder.glob("*/*.nbi")):
        _say(f"compiling the model's kernels (once per install, about {COMPILE_SECONDS} s)")
    _clean(root, folder)
    return folder


def jit(module_file: str, package: str, announce: bool = True):
    """numba's ``njit(cache=True, nogil=True)`` for the kernels of ``module_file``, cached in
    :func:`kernel_folder`. ``announce=False`` for a module whose few functions compile in a moment
    (:mod:`model.keyed`; :mod:`model.kernels` imports it, so a first run's message covers both)."""
    folder = str(kernel_folder(module_file, package, announce))

    def decorate(function):
        user = numba.config.CACHE_DIR
        numba.config.CACHE_DIR = folder
        try:
            return numba.njit(cache=True, nogil=True)(function)
        finally:
            numba.config.CACHE_DIR = user
    return decorate
