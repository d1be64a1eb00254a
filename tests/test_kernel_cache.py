"""The kernels' on-disk cache (model/kernel_cache.py): keyed on their source and on the constants they
import, so that a change to either is compiled, never served stale from the cache."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from model import kernel_cache

ROOT = Path(__file__).resolve().parents[1]
MESSAGE = "[khusheh] compiling the model's kernels"
# a process that imports the copy of the model package in its working folder and runs a kernel of it
SCRIPT = """
import numba
from model import kernels
print(kernels.key_base_for_test(), numba.config.CACHE_DIR)
"""
TEST_KERNEL = """

@_jit
def key_base_for_test():
    return KEY_BASE
"""


def _copy_model(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "model", tmp_path / "model", ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / "model" / "kernels.py", "a") as code:
        code.write(TEST_KERNEL)
    return tmp_path / "model"


def _run(tmp_path: Path, **env) -> tuple[list[str], str]:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "KHUSHEH_KERNEL_CACHE": str(tmp_path / "cache"), **env}, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split(), proc.stderr


def test_a_changed_constant_in_another_module_is_compiled_anew_not_served_stale(tmp_path):
    model = _copy_model(tmp_path)
    out, err = _run(tmp_path)
    assert out[0] == str(2**32) and MESSAGE in err  # cold: compiled, and said so
    out, err = _run(tmp_path, NUMBA_CACHE_DIR=str(tmp_path / "users_own"))
    assert out[0] == str(2**32) and MESSAGE not in err  # warm: loaded from the cache
    assert out[1] == str(tmp_path / "users_own")  # the user's setting is left as it was, for other packages
    folders = list((tmp_path / "cache").iterdir())  # the kernels' and model.keyed's
    assert len(folders) == 2 and any(any(f.glob("*/kernels.key_base_for_test-*.nbi")) for f in folders)
    # KEY_BASE lives in model/tiekey.py: numba's own check (the kernel's file) would not see it change
    tiekey = model / "tiekey.py"
    tiekey.write_text(tiekey.read_text().replace("np.int64(1) << 32", "np.int64(1) << 31"))
    out, err = _run(tmp_path)
    assert out[0] == str(2**31) and MESSAGE in err
    assert len(list((tmp_path / "cache").iterdir())) == 3  # (model.keyed's is the same)


def test_the_key_follows_the_source_and_the_imported_values(tmp_path):
    model = _copy_model(tmp_path)
    key = kernel_cache.source_key(model / "kernels.py", "model")
    assert kernel_cache.source_key(ROOT / "model" / "kernels.py", "model") != key  # (the test kernel)
    with open(model / "tiekey.py", "a") as tiekey:
        tiekey.write("# a comment\n")
    assert kernel_cache.source_key(model / "kernels.py", "model") != key


def test_a_cache_that_cannot_be_written_falls_back_to_a_temporary_folder(tmp_path):
    _copy_model(tmp_path)
    (tmp_path / "not_a_folder").write_text("")
    out, err = _run(tmp_path, KHUSHEH_KERNEL_CACHE=str(tmp_path / "not_a_folder"))
    assert out[0] == str(2**32)
    assert "cannot keep the compiled kernels in" in err and "set KHUSHEH_KERNEL_CACHE" in err
    assert "Traceback" not in err


def test_cleaning_keeps_the_last_used_folders_and_removes_leftovers(tmp_path):
    now = time.time()
    ages = {"kernels-new": 0, "kernels-a": 1, "kernels-b": 2, "kernels-c": 3, "kernels-d": 4, "kernels-e": 5,
            "kernels-stale": 31 * 86400}
    for name, age in ages.items():
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (now - age, now - age))
    (tmp_path / "kernels_aot_1234_5678.cpython-312-x86_64-linux-gnu.so").write_text("")
    (tmp_path / "kernel_code.group_order-300.py312.nbi").write_text("")
    (tmp_path / "other.pyc").write_text("")
    kernel_cache._clean(tmp_path, tmp_path / "kernels-e")  # (the one in use stays, however old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernels-a", "kernels-b", "kernels-c", "kernels-e",
                                                          "kernels-new", "other.pyc"]
