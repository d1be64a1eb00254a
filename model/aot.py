"""Compiling the kernels ahead of time (numba.pycc), and the argument types to compile them for.

    python -m model.aot NAME OUTPUT   # build the extension module NAME into the file OUTPUT
    python -m model.aot --signatures  # rewrite model/kernel_signatures.py from the runs below

:mod:`model.kernels` runs the first form in a subprocess when it finds no
module for the current source. The second is for developers: run it after a
kernel's arguments change, or a kernel is added (until then the model's calls
that find no compiled variant go to the JIT, and
tests/test_aot.py::test_the_model_runs_call_no_kernel_outside_the_compiled_signatures
fails).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

_CODES = {"int64": "i8", "float64": "f8", "bool": "b1"}
_INLINE_ONLY = {"_position", "_contains", "_maximum", "_minimum", "_clip"}  # called only from kernels


def build(name: str, output: str) -> None:
    """Compile every kernel of :mod:`model.kernel_signatures` into the extension module ``name`` at
    ``output`` (written next to it, then renamed into place)."""
    from numba.core.errors import NumbaPendingDeprecationWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)  # pycc's replacement is not out yet
        from numba.pycc import CC
        from numba.pycc.platform import external_compiler_works

    if not external_compiler_works():
        sys.exit("no working C and C++ compiler: numba.pycc needs both (e.g. gcc and g++)")
    from numba.core import codegen

    from . import kernel_code
    from .kernel_signatures import SIGNATURES
    # For this CPU, as numba's JIT compiles: its name and the instruction sets it reports. (Ahead of time,
    # numba gives LLVM the CPU's name only, which implies instruction sets a virtual machine may hide.)
    codegen.AOTCPUCodegen._customize_tm_features = codegen.CPUCodegen._get_host_cpu_features
    out = Path(output)
    cc = CC(name, source_module=kernel_code)
    cc.output_dir = str(out.parent)
    cc.output_file = f"{out.name}.{os.getpid()}.tmp"
    cc.target_cpu = "host"  # kernels.build_name() keys the module on this CPU
    for kernel, signatures in SIGNATURES.items():
        function = getattr(kernel_code, kernel).py_func
        for k, (ret, argtypes) in enumerate(signatures):
            cc.export(f"{kernel}__{k}", f"{ret}({', '.join(argtypes)})")(function)
    cc.compile()
    built = out.parent / cc.output_file
    _try(name, built)
    os.replace(built, out)


def _try(name: str, path: Path) -> None:
    """Load the new module and run a kernel (here, in the build's process: if the machine cannot run
    the code, this process dies, not the model's)."""
    import importlib.machinery
    import importlib.util

    import numpy as np
    loader = importlib.machinery.ExtensionFileLoader(name, str(path))  # (its suffix is not an extension's)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    order = module.group_order__0(np.array([2, 0, 1, 0], dtype=np.int64), 3)
    if order.tolist() != [1, 3, 2, 0]:
        sys.exit(f"the compiled module gives wrong answers (group_order: {order.tolist()})")


def _code(t) -> str:
    """A numba type as a signature string ("i8", "f8[::1]", "UniTuple(i8[::1], 3)", ...)."""
    from numba.core import types
    t = types.unliteral(t)
    if isinstance(t, types.Array):
        if t.layout != "C" or not t.mutable or not t.aligned:
            raise ValueError(f"only C-contiguous writable arrays are compiled ahead of time, not {t}")
        return f"{_scalar(t.dtype)}[{':, ' * (t.ndim - 1)}::1]"
    if isinstance(t, types.UniTuple):
        return f"UniTuple({_code(t.dtype)}, {t.count})"
    if isinstance(t, types.BaseTuple):
        return f"Tuple(({', '.join(_code(x) for x in t.types)},))"
    if isinstance(t, types.NoneType):
        return "none"
    return _scalar(t)


def _scalar(t) -> str:
    if str(t) not in _CODES:  # (model.kernels checks only these: it would send every such call to the JIT)
        raise ValueError(f"only int64, float64 and bool are compiled ahead of time, not {t}")
    return _CODES[str(t)]


def _representative_runs() -> None:
    """Runs that make every kernel call the model makes: each policy on one cluster, and a programme
    on a few clusters (through the CDA's phases and after it has left)."""
    from dataclasses import replace

    from . import ClusterModel, ClusterSpec, ModelParams, kernels
    from .policies import POLICIES
    kernels._tie_arrays(0)  # the tie table's empty arrays (when no new ties are held back)
    for policy in POLICIES.values():
        if policy.programme_cdas == 0:
            ClusterModel(ModelParams(policy=policy, months=70), rng=1, n_firms=300).run()
    towns = ("Isfahan", "Kashan", "Najafabad")
    clusters = tuple(ClusterSpec(name=f"c{k}", town=town, n_firms=150) for k, town in enumerate(towns))
    programme = replace(POLICIES["programme_largest"], programme_cdas=2, budget=1200.0)
    ClusterModel(ModelParams(policy=programme, months=70, clusters=clusters), rng=2).run()


def write_signatures(path: Path) -> None:
    """Record the argument types of every kernel call in the representative runs (JIT) in ``path``."""
    import numba

    from . import kernel_code
    _representative_runs()
    lines = ['"""Argument types the kernels are compiled ahead of time for (model/kernels.py).',
             "",
             "Written by ``python -m model.aot --signatures`` from the runs in model/aot.py; not by hand.",
             '"""', "", "SIGNATURES = {"]
    for name in sorted(vars(kernel_code)):
        dispatcher = getattr(kernel_code, name)
        # every public kernel, and the helpers called from Python (the others are compiled into their callers)
        if not isinstance(dispatcher, numba.core.registry.CPUDispatcher) or name in _INLINE_ONLY:
            continue
        entries = []
        for argtypes in dispatcher.signatures:
            ret = dispatcher.overloads[argtypes].signature.return_type
            entry = f"        ({_code(ret)!r}, ({''.join(repr(_code(t)) + ', ' for t in argtypes)})),"
            if entry not in entries:  # (a literal argument, e.g. 0, is typed as its own kind of int)
                entries.append(entry)
        if entries:  # (a kernel the runs do not call, e.g. one kept for the tests, is left to the JIT)
            lines += [f"    {name!r}: [", *entries, "    ],"]
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str]) -> None:
    if argv == ["--signatures"]:
        if os.environ.get("KHUSHEH_KERNELS") != "jit":
            sys.exit("run it as: KHUSHEH_KERNELS=jit python -m model.aot --signatures")
        write_signatures(Path(__file__).with_name("kernel_signatures.py"))
    elif len(argv) == 2:
        build(*argv)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
