"""Output folders that cannot be created or written: one line naming the folder and the reason, exit
status 2, nothing half-written. Tests run as root (which ignores permissions): the failures are real
ones that root meets too (a path under /proc, a file in the way, a file-size limit, /dev/full)."""

from __future__ import annotations

import errno
import os
import resource
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from scenarios import preflight, results
from scenarios.results import DONE, FAILED, find_runs, is_complete

CLI = str(Path(sys.executable).parent / "khusheh-run")


def _cli(args, cwd, file_size_limit=None):
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
    return subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=900,
                          preexec_fn=limit if file_size_limit else None)


def _one_line(proc) -> str:
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("[khusheh] compiling")]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize("args, folder, reason", [
    (["hydra.run.dir=/proc/x"], "/proc/x", "No such file or directory"),
    (["-m", "policy=none,standard_cda", "hydra.sweep.dir=/proc/x"], "/proc/x", "No such file or directory"),
    (["hydra.run.dir=/proc/x/${now:%H-%M-%S}"], "/proc/x", "No such file or directory"),
    (["-m", "experiment=policy_comparison", "hydra.sweep.dir=/proc/y/z"], "/proc/y/z", "No such file or directory"),
    (["hydra.run.dir={file}/x"], "{file}/x", "Not a directory"),
    (["-m", "seed=0,1", "hydra.sweep.dir={file}/x"], "{file}/x", "Not a directory"),
    (["hydra.run.dir={file}"], "{file}", "Not a directory"),
])
def test_an_output_folder_that_cannot_be_created_is_refused_in_one_line_before_anything_starts(
        tmp_path, args, folder, reason):
    (tmp_path / "afile").write_text("in the way\n")
    file = str(tmp_path / "afile")
    before = sorted(tmp_path.rglob("*"))
    proc = _cli([a.replace("{file}", file) for a in [*args, "sim.months=20"]], tmp_path)
    assert proc.returncode == 2
    assert _one_line(proc) == f"khusheh-run: cannot write results to {folder.replace('{file}', file)}: {reason}"
    assert sorted(tmp_path.rglob("*")) == before  # nothing made (no outputs/DATE/TIME, no sweep folder)


def test_the_folder_check_makes_nothing_and_passes_writable_folders(tmp_path):
    assert preflight.folder_problem(tmp_path) is None
    assert preflight.folder_problem(tmp_path / "new" / "deeper") is None
    assert list(tmp_path.iterdir()) == []  # (its probe removed)
    assert preflight.folder_problem(Path("/proc/x")) == os.strerror(errno.ENOENT)
    assert preflight.check_output_folder(["sim.months=20"]) is None  # outputs/${now:...} under the cwd
    assert preflight.output_folder(["-m", "experiment=validation"]) == "multirun/validation/${cluster.name}"
    assert preflight.output_folder(["-m", "experiment=validation", "hydra.sweep.dir=a"]) == "a"
    assert preflight.output_folder([]) == "outputs/${now:%Y-%m-%d}/${now:%H-%M-%S}"


def test_a_sweep_refused_for_a_bad_value_leaves_no_sweep_folder(tmp_path):
    proc = _cli(["-m", "policy=none,nosuch", "hydra.sweep.dir=sweep"], tmp_path)
    assert proc.returncode == 2 and not (tmp_path / "sweep").exists()
    proc = _cli(["-m", "policy.subsidy_rate=0.5,1.5", "hydra.sweep.dir=sweep"], tmp_path)
    assert proc.returncode == 2 and "subsidy_rate" in proc.stderr and not (tmp_path / "sweep").exists()


def _files(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def test_a_run_whose_results_cannot_be_written_fails_in_one_line_leaving_nothing_half_written(tmp_path):
    # a file-size limit (RLIMIT_FSIZE: root is bound by it too) makes a result file's write fail as a full
    # disk would, part-way through the file; Hydra's own small files are written
    proc = _cli(["sim.months=20", "hydra.run.dir=run"], tmp_path, file_size_limit=10_000)
    run = tmp_path / "run" / "seed_0000"
    assert proc.returncode == 2
    assert _one_line(proc) == f"khusheh-run: cannot write results to {run}: File too large"
    assert sorted(_files(run)) == [FAILED]  # no _DONE, no table, no temporary file
    assert (run / FAILED).read_text().startswith("khusheh-run: cannot write results to")
    # and the same command without the limit finishes it
    proc = _cli(["sim.months=20", "hydra.run.dir=run"], tmp_path)
    assert proc.returncode == 0 and is_complete(run) and not (run / FAILED).exists()


def test_a_sweep_with_a_run_that_cannot_be_written_keeps_the_others_and_ends_in_one_line(tmp_path):
    sweep = ["-m", "sim.months=12,120"]
    # unlimited first (the reference; and the model's kernels compiled, which the limit would refuse too)
    assert _cli([*sweep, "hydra.sweep.dir=ref"], tmp_path).returncode == 0
    sizes = {job: max(_files(tmp_path / "ref" / job / "seed_0000").values())
             for job in ("sim.months-12", "sim.months-120")}
    limit = (sizes["sim.months-12"] + sizes["sim.months-120"]) // 2
    assert sizes["sim.months-12"] < limit < sizes["sim.months-120"]
    proc = _cli([*sweep, "hydra.sweep.dir=sweep"], tmp_path, file_size_limit=limit)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    bad = tmp_path / "sweep" / "sim.months-120" / "seed_0000"
    line = f"khusheh-run: cannot write results to {bad}: File too large"
    assert line in proc.stderr.splitlines()  # the run, in one line
    assert proc.stderr.splitlines()[-1].startswith(line + "; complete runs are kept")  # and the sweep's end
    assert sorted(_files(bad)) == [FAILED]
    good = tmp_path / "sweep" / "sim.months-12" / "seed_0000"
    assert is_complete(good)
    pd.testing.assert_frame_equal(results.read_table(good, "series"),
                                  results.read_table(tmp_path / "ref" / "sim.months-12" / "seed_0000", "series"))
    assert {r.folder: r.status for r in find_runs(tmp_path / "sweep")} == {good: "complete", bad: "failed"}
    # rerun without the limit: the complete run skipped, the other done
    proc = _cli([*sweep, "hydra.sweep.dir=sweep"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(r.status for r in find_runs(tmp_path / "sweep")) == ["complete", "complete"]


def test_a_full_disk_while_writing_leaves_no_partial_file_and_no_done(tmp_path):
    # /dev/full: every write fails with ENOSPC. The atomic write's temporary file is made a link to it,
    # so that the table's write meets a real full device part-way through
    folder = tmp_path / "seed_0000"
    frame = pd.DataFrame({"month": range(1000), "x": 1.5})

    def write(tmp: Path) -> None:
        tmp.unlink()
        tmp.symlink_to("/dev/full")
        frame.to_parquet(tmp)

    with pytest.raises(OSError) as caught:
        results.atomic_write(folder / "series.parquet", write)
    assert caught.value.errno == errno.ENOSPC
    assert results.write_error(folder, caught.value) == \
        f"khusheh-run: cannot write results to {folder}: No space left on device"
    assert list(folder.iterdir()) == []  # no temporary file, nothing under the result's name, no _DONE
    assert not (folder / DONE).exists()
