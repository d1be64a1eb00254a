"""The Hydra application: presets, runs on disk, sweeps, launchers, resume, bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra

from model import COLUMNS, ClusterModel, ParameterError, presets
from scenarios.config import register, to_model_params
from scenarios.results import DONE, FAILED, REQUIRED, find_runs, is_complete

ROOT = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).parent / "khusheh-run")
CLUSTERS = sorted(p.stem for p in (ROOT / "conf" / "cluster").glob("*.yaml"))
POLICY_PRESETS = sorted(p.stem for p in (ROOT / "conf" / "policy").glob("*.yaml"))
SHOCKS = sorted(p.stem for p in (ROOT / "conf" / "shock").glob("*.yaml"))


def _compose(overrides, return_hydra_config=False):
    register()
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="conf", version_base="1.3"):
        return compose(config_name="config", overrides=overrides, return_hydra_config=return_hydra_config)


def test_the_presets_named_in_the_design_exist():
    # 8 developed + 3 new contracts + 4 with feasibility studies done + generic, and the province of them all
    assert len(CLUSTERS) == 17 and {"generic", "isfahan_province"} <= set(CLUSTERS)
    assert {"clothing_khorzuq", "gaz_isfahan", "dairy_golpayegan", "agricultural_tools"} <= set(CLUSTERS)
    assert set(POLICY_PRESETS) == set(presets.names("policy"))
    assert set(SHOCKS) == {"none", "demand_drop", "input_price_spike", "export_restriction"}


@pytest.mark.parametrize("cluster", [c for c in CLUSTERS if c != "isfahan_province"])
def test_every_cluster_preset_composes_and_validates(cluster):
    params, seed = to_model_params(_compose([f"cluster={cluster}"]))
    params.validate()
    assert params.clusters[0].name == cluster
    ClusterModel(params.with_overrides(months=1), rng=seed).run()


@pytest.mark.parametrize("policy", POLICY_PRESETS)
def test_every_policy_preset_composes_and_equals_the_model_policy(policy):
    params, _ = to_model_params(_compose([f"policy={policy}"]))
    params.validate()
    assert params.policy == presets.policy(policy)


@pytest.mark.parametrize("shock", SHOCKS)
def test_every_shock_preset_composes_and_validates(shock):
    params, _ = to_model_params(_compose([f"shock={shock}"]))
    params.validate()
    assert params.shock.kind == shock


def test_experiment_policy_comparison_is_every_policy_times_30_seeds():
    full = _compose(["experiment=policy_comparison"], return_hydra_config=True)
    params = full.hydra.sweeper.params
    # every programme for one cluster (a job each, running its 30 seeds); the provincial programmes
    # have their own experiment
    assert set(params.policy.split(",")) == {p for p in presets.names("policy") if not p.startswith("programme_")}
    assert set(params) == {"policy"} and full.sim.seeds == 30 and full.seed == 0
    assert full.hydra.launcher._target_.endswith("BasicLauncher")  # Hydra's own; the seeds run in parallel


@pytest.mark.parametrize("seed, kept", [(0, (12, 48, 72, 120)), (1, ()), (29, ())])
def test_a_sweep_keeps_snapshots_in_the_seeds_asked(seed, kept):
    # policy_comparison keeps firm snapshots at the programmes' starts, exits and horizon in every seed (the
    # brief's participants table); sim.snapshot_seeds narrows them to the seeds given
    params, _ = to_model_params(_compose(["experiment=policy_comparison", f"seed={seed}"]))
    assert params.snapshot_months == (12, 48, 72, 120)
    params, _ = to_model_params(_compose(["experiment=policy_comparison", f"seed={seed}", "sim.snapshot_seeds=[0]"]))
    assert params.snapshot_months == kept
    params, _ = to_model_params(_compose(["sim.snapshot_months=[3]", f"seed={seed}"]))
    assert params.snapshot_months == (3,)  # (by default, every seed's run keeps them)
    # a month past the horizon is refused in every run, whether it keeps snapshots or not
    with pytest.raises(ParameterError, match="snapshot_months contains 500"):
        params, _ = to_model_params(_compose(["experiment=policy_comparison", f"seed={seed}",
                                              "sim.snapshot_months=[12,500]"]))
        params.validate()


def _cli(args, cwd, env=None, check=True):
    proc = subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=900,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_single_run_from_the_command_line_writes_complete_readable_outputs(tmp_path):
    _cli(["cluster=towels_adrian", "policy=standard_cda", "seed=4", "sim.months=30",
          "sim.snapshot_months=[0,30]", "hydra.run.dir=run"], tmp_path)
    run = tmp_path / "run" / "seed_0004"
    assert is_complete(run)
    series = pd.read_parquet(run / "series.parquet")
    # the run's identity first: the presets, the seed, each other key set on the command line
    identity = ["cluster_preset", "policy", "shock", "seed", "sim.months"]
    assert list(series.columns) == identity + list(COLUMNS) and list(series.month) == list(range(31))
    assert series[identity].drop_duplicates().values.tolist() == [["towels_adrian", "standard_cda", "none", 4, 30]]
    summary = pd.read_parquet(run / "summary.parquet")
    assert len(summary) == 1 and summary.loc[0, "policy"] == "standard_cda" and summary.loc[0, "seed"] == 4
    assert summary.loc[0, "employment_horizon"] == series.employment.iloc[-1]
    assert summary.loc[0, "overrides"] == "cluster=towels_adrian,policy=standard_cda,sim.months=30"
    firms = pd.read_parquet(run / "snapshots" / "firms_30.parquet")
    assert (firms.seed == 4).all() and (firms.cluster_preset == "towels_adrian").all() and (firms.month == 30).all()
    prov = json.loads((run / "_provenance.json").read_text())
    assert prov["seed"] == 4 and prov["mesa"].startswith("3.5") and prov["python"].startswith("3.")
    assert "towels_adrian" in (run / "_config.yaml").read_text()
    # the same run in-process gives the same numbers
    params, seed = to_model_params(_compose(["cluster=towels_adrian", "policy=standard_cda", "seed=4",
                                             "sim.months=30"]))
    direct = ClusterModel(params, rng=seed).run().series()
    pd.testing.assert_frame_equal(series[list(COLUMNS)], direct)


def _sweep_frames(sweep):
    """{a run's folder, relative to the sweep's: its series}, every run complete."""
    out = {}
    for run in find_runs(sweep):
        assert is_complete(run.folder), run
        out[run.folder.relative_to(sweep).as_posix()] = pd.read_parquet(run.folder / "series.parquet")
    return out


def test_a_sweep_reads_as_one_tidy_table_per_glob(tmp_path):
    """The layout of docs/RESULTS.md: a glob per table reads a whole sweep, each row with its run's identity."""
    import pyarrow.dataset as ds
    _cli(["-m", "policy=none,standard_cda", "cluster.n_firms=60,80", "sim.seeds=2", "sim.months=14",
          "sim.snapshot_months=[14]", "hydra.sweep.dir=sweep"], tmp_path)
    sweep = tmp_path / "sweep"
    for path in sweep.rglob("*"):
        # no key=value folder (pandas, pyarrow and DuckDB would read it as a Hive partition, clashing with the
        # column of the same name); whatever is not a table starts with _ or . (dataset readers skip those)
        assert "=" not in path.name, path
        if path.is_file() and path.suffix != ".parquet":
            assert any(part.startswith(("_", ".")) for part in path.relative_to(sweep).parts), path
    identity = ["cluster_preset", "policy", "shock", "seed", "cluster.n_firms", "sim.months"]
    runs = {(p, n, s) for p in ("none", "standard_cda") for n in (60, 80) for s in (0, 1)}
    for table in ("series", "cluster_series", "demography", "summary", "snapshots/firms_14", "snapshots/ties_14"):
        files = sorted(sweep.glob(f"**/{table}.parquet"))
        assert len(files) == 8, table
        frame = pd.read_parquet(files)
        assert list(frame.columns[:6]) == identity, table
        assert set(zip(frame.policy, frame["cluster.n_firms"], frame.seed)) == runs
        assert (frame.cluster_preset == "generic").all() and (frame.shock == "none").all()
        assert str(frame.seed.dtype) == "int64" and str(frame["cluster.n_firms"].dtype) == "int64"
        assert ds.dataset(files).to_table().num_rows == len(frame)  # pyarrow, as DuckDB or polars with the glob
    series = pd.read_parquet(sorted(sweep.glob("**/series.parquet")))
    assert len(series) == 8 * 15 and series.groupby(["policy", "cluster.n_firms", "seed"]).month.max().eq(14).all()
    # a folder of runs reads as a dataset too, Hive partitioning (pandas' default) finding nothing to add
    job = next(sweep.glob("cluster.n_firms-60,policy-none*"))
    runs_of_job = pd.read_parquet([f for f in sorted(job.glob("*/series.parquet"))])
    assert set(runs_of_job.seed) == {0, 1}


SWEEP = ["policy=none,standard_cda", "sim.seeds=2", "sim.months=20", "policy.start_month=2"]


def test_results_are_identical_across_launchers_and_numbers_of_processes(tmp_path):
    # the basic launcher with the runs in this process, and in two worker processes; Hydra's joblib
    # launcher, two jobs at once, each running its seeds on threads (joblib's nested Parallel)
    _cli(["-m", *SWEEP, "sim.n_jobs=1", "hydra.sweep.dir=one"], tmp_path)
    _cli(["-m", *SWEEP, "sim.n_jobs=2", "hydra.sweep.dir=two"], tmp_path)
    _cli(["-m", *SWEEP, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hydra.sweep.dir=joblib"], tmp_path)
    frames = {name: _sweep_frames(tmp_path / name) for name in ("one", "two", "joblib")}
    assert sorted(frames["one"]) == [f"policy.start_month-2,policy-{p},sim.months-20/seed_000{s}"
                                     for p in ("none", "standard_cda") for s in (0, 1)]
    for name in ("two", "joblib"):
        assert frames[name].keys() == frames["one"].keys()
        for run, frame in frames["one"].items():
            pd.testing.assert_frame_equal(frames[name][run], frame, check_exact=True)


@pytest.mark.parametrize("launcher", ["ray", "submitit_local"])
def test_distributed_launchers_run_a_two_job_sweep(tmp_path, launcher):
    sweep = ["-m", "policy=none,standard_cda", "sim.seeds=2", "sim.months=16", "policy.start_month=2"]
    args = [*sweep, f"hydra/launcher={launcher}", "hydra.sweep.dir=out"]
    env = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    if launcher == "ray":
        args += ["+hydra.launcher.ray.init.num_cpus=2", "+hydra.launcher.ray.init.include_dashboard=false"]
    _cli(args, tmp_path, env=env)
    frames = _sweep_frames(tmp_path / "out")
    assert len(frames) == 4
    _cli([*sweep, "hydra.sweep.dir=basic"], tmp_path)
    basic = _sweep_frames(tmp_path / "basic")
    assert basic.keys() == frames.keys()
    for name, frame in basic.items():
        pd.testing.assert_frame_equal(frame, frames[name], check_exact=True)


def test_a_sweep_killed_midway_and_rerun_ends_with_every_run_complete_once(tmp_path):
    # the runs one after another in the job's process (sim.n_jobs=1), which a crash kills
    sweep = ["-m", "policy=none,standard_cda", "sim.seeds=2", "sim.n_jobs=1", "sim.months=20",
             "policy.start_month=2", "hydra.sweep.dir=sweep"]
    # the second run (policy=none, seed=1) is killed at month 7, as by a crash
    killed = _cli(sweep, tmp_path, env={"KHUSHEH_TEST_KILL_SEED": "1", "KHUSHEH_TEST_KILL_AT_MONTH": "7"},
                  check=False)
    assert killed.returncode != 0
    runs = {r.folder.relative_to(tmp_path / "sweep").as_posix(): r.folder for r in find_runs(tmp_path / "sweep")}
    done_before = {n: (p / DONE).stat().st_mtime_ns for n, p in runs.items() if is_complete(p)}
    # none's seed 0 finished; its seed 1 was killed; the other job never started
    assert list(done_before) == ["policy.start_month-2,policy-none,sim.months-20/seed_0000"]
    assert list(runs) == [*done_before, "policy.start_month-2,policy-none,sim.months-20/seed_0001"]
    # a killed run may leave a partial file behind: it must be redone, not trusted
    (runs["policy.start_month-2,policy-none,sim.months-20/seed_0001"] / "series.parquet").write_bytes(b"junk")
    rerun = _cli(sweep, tmp_path)
    # the rerun counts its own runs, each once: the complete one as skipped
    assert "khusheh-run: 4 of 4 runs complete (1 complete already, skipped), none failed; 2 jobs in " in rerun.stdout
    frames = _sweep_frames(tmp_path / "sweep")
    assert len(frames) == 4
    for name, mtime in done_before.items():  # the complete run was skipped, not redone
        assert (tmp_path / "sweep" / name / DONE).stat().st_mtime_ns == mtime
    for name, frame in frames.items():
        assert len(frame) == 21
        for f in REQUIRED:
            assert (tmp_path / "sweep" / name / f).is_file()
    assert not list((tmp_path / "sweep").rglob(".tmp-*"))
    # more seeds later: the same job folders, only the new seeds run
    more = _cli([*sweep[:2], "sim.seeds=3", *sweep[3:]], tmp_path)
    assert "khusheh-run: 6 of 6 runs complete (4 complete already, skipped), none failed; 2 jobs" in more.stdout
    for job in (tmp_path / "sweep").glob("*/_khusheh.log"):  # each job's log says so (the console does not)
        assert job.read_text().count("complete results already in 2 of the 3 runs") == 1
        assert "complete results already" not in more.stdout + more.stderr
    assert len(_sweep_frames(tmp_path / "sweep")) == 6
    for name, mtime in done_before.items():
        assert (tmp_path / "sweep" / name / DONE).stat().st_mtime_ns == mtime


def test_sweep_progress_counts_jobs_that_change_their_working_folder(tmp_path):
    # the default sweep folder is relative; with hydra.job.chdir=true each job runs inside its own
    proc = _cli(["-m", "seed=0,1", "sim.months=4", "sim.progress_delay=0", "hydra.job.chdir=true"], tmp_path)
    assert "khusheh-run: 2 of 2 runs complete, none failed; 2 jobs in " in proc.stdout
    # off a terminal, a plain line each tenth of the work: the two runs may end within one poll of the markers,
    # so the first line may be the last
    lines = re.findall(r"\[khusheh\] sweep: (.*),", proc.stderr)
    assert lines[-1] == "2 of 2 runs (100%)" and set(lines) <= {"1 of 2 runs (50%)", "2 of 2 runs (100%)"}


def test_a_job_with_a_bad_value_fails_alone_and_the_sweep_names_it(tmp_path):
    # n_firms=-5 composes (an int) but the model refuses it: that job fails, the other completes
    # (Hydra's basic sweeper: Khusheh's stops the sweep before launching, below)
    proc = _cli(["-m", "cluster.n_firms=60,-5", "sim.months=6", "hydra.sweep.dir=sweep", "hydra/sweeper=basic"],
                tmp_path, check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "correct the value, then rerun the same sweep" in proc.stderr
    assert is_complete(tmp_path / "sweep" / "cluster.n_firms-60,sim.months-6" / "seed_0000")
    assert "cluster.n_firms" in (tmp_path / "sweep" / "cluster.n_firms--5,sim.months-6" / FAILED).read_text()
    assert "1 failed (job or run folders): cluster.n_firms--5,sim.months-6" in proc.stderr
    # (Hydra's sweeper does not say how many jobs and runs it launches)
    assert "khusheh-run: 1 run complete, 1 failed; 2 jobs in " in proc.stdout


@pytest.mark.parametrize("override, words", [
    ("cluster=atlantis", ["cluster preset 'atlantis'", "towels_adrian"]),
    ("cluster.n_firms=-5", ["cluster.n_firms", "-5", "[1, 200000]"]),
    ("policy.subsidy_rate=1.5", ["policy.subsidy_rate", "1.5", "[0, 1]"]),
    ("sim.months=abc", ["sim.months", "abc"]),
    ("policy.subsidy_rat=0.5", ["policy.subsidy_rat", "policy.subsidy_rate"]),
])
def test_bad_overrides_end_with_a_short_message_and_no_traceback(tmp_path, override, words):
    proc = _cli([override, "hydra.run.dir=run"], tmp_path, check=False)
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text
    for word in words:
        assert word in text
    assert len(text.strip().splitlines()) <= 25


def test_help_lists_groups_and_options(tmp_path):
    proc = _cli(["--help"], tmp_path)
    for word in ("cluster:", "policy:", "shock:", "experiment:", "carpet_kashan", "standard_cda",
                 "demand_drop", "policy_comparison", "subsidy_rate"):
        assert word in proc.stdout


QUIET_SWEEP = ["-m", "policy=none,standard_cda", "sim.seeds=2", "sim.months=12", "policy.start_month=2",
               "sim.progress_delay=0", "hydra.sweep.dir=sweep"]
SUMMARY = (r"khusheh-run: 4 of 4 runs complete, none failed; 2 jobs in \d+(:\d\d| s)\n"
           r"  results: (?P<folder>.+)\n  logs:    _khusheh.log in each job's folder\n"
           r"  brief:   khusheh-report (?P=folder) --out briefs/sweep\n")


def _job_logs_say_what_the_console_does_not(sweep: Path) -> None:
    logs = sorted(sweep.glob("*/_khusheh.log"))
    assert len(logs) == 2
    for log in logs:
        text = log.read_text()
        assert "job policy=" in text and f"results in {log.parent} (2 runs)" in text and "job done" in text


def test_a_sweep_prints_a_few_progress_lines_and_a_summary_when_stderr_is_no_terminal(tmp_path, capsys):
    # a CI log: no bar's redraws, a plain line at each tenth of the runs done (at most ten), then the summary;
    # each job's own lines (Hydra's and Khusheh's) in its log file
    proc = _cli(QUIET_SWEEP, tmp_path)
    assert re.fullmatch(SUMMARY, proc.stdout), proc.stdout
    assert re.fullmatch(SUMMARY, proc.stdout).group("folder") == str(tmp_path / "sweep")
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("[khusheh] compiling")]
    assert "\r" not in proc.stderr and 1 <= len(lines) <= 4, proc.stderr
    assert all(re.fullmatch(r"\[khusheh\] sweep: [1-4] of 4 runs \(\d+%\), \d+ s", line) for line in lines), lines
    assert lines[-1].startswith("[khusheh] sweep: 4 of 4 runs (100%)")
    assert "HYDRA" not in proc.stdout + proc.stderr and "INFO" not in proc.stdout + proc.stderr
    _job_logs_say_what_the_console_does_not(tmp_path / "sweep")
    # khusheh-report reads the runs with a bar over them too (plain lines here), the delay 0
    from analysis.collect import collect
    capsys.readouterr()
    assert len(collect([tmp_path / "sweep"], progress=0).summary) == 4
    read = capsys.readouterr().err.splitlines()
    assert read and len(read) <= 10 and read[-1].startswith("[khusheh] reading runs: 4 of 4 runs (100%)"), read


def test_a_bar_off_a_terminal_writes_a_line_at_each_tenth_of_the_work_only():
    import io
    from scenarios.progress import Bar
    out = io.StringIO()
    bar = Bar(1000, "sweep", "run", delay=0, stream=out)
    for n in range(1, 1001):
        bar.update(n, failed=n // 500)
    bar.close()
    lines = out.getvalue().splitlines()
    assert [re.match(r"\[khusheh\] sweep: (\d+) of 1000 runs", line).group(1) for line in lines] == \
        [str(100 * k) for k in range(1, 11)]
    assert lines[4].startswith("[khusheh] sweep: 500 of 1000 runs (50%), 1 failed, ")
    assert lines[-1].startswith("[khusheh] sweep: 1000 of 1000 runs (100%), 2 failed, ")


def test_a_sweep_on_a_terminal_shows_one_bar_and_the_summary(tmp_path):
    # stderr a terminal (a pseudo-terminal 100 columns wide): tqdm's bar, redrawn in place on one line
    import fcntl
    import pty
    import struct
    import termios
    import threading
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    chunks = []

    def read():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # (EIO: the terminal's last writer closed it)
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        proc = subprocess.run([CLI, *QUIET_SWEEP], cwd=tmp_path, stdout=subprocess.PIPE, stderr=slave, text=True,
                              timeout=900)
    finally:
        os.close(slave)
        reader.join(timeout=60)
        os.close(master)
    assert proc.returncode == 0
    assert re.fullmatch(SUMMARY, proc.stdout), proc.stdout
    err = b"".join(chunks).decode(errors="replace")
    lines = [line for line in err.replace("\r\n", "\n").split("\n") if line.strip() and "compiling" not in line]
    assert len(lines) == 1, lines  # one bar: its redraws are carriage returns on the same line
    drawn = [d for d in lines[0].split("\r") if d.strip()]
    assert drawn[-1].startswith("sweep: 100%|") and "4/4" in drawn[-1], drawn
    _job_logs_say_what_the_console_does_not(tmp_path / "sweep")


def test_a_run_shows_a_progress_bar_after_its_delay(tmp_path):
    # the bar appears after sim.progress_delay seconds (2 by default); 0 here, so that the test
    # does not depend on how fast the machine is
    proc = _cli(["sim.months=40", "sim.progress_delay=0", "hydra.run.dir=run"], tmp_path)
    bar = [line for line in proc.stderr.replace("\r", "\n").splitlines() if "month" in line and "|" in line]
    assert bar, proc.stderr[-500:]
    assert re.search(r"\d+/40", bar[-1]) and "<" in bar[-1]  # months done of the total, time left


@pytest.mark.parametrize("bad", ["policy=none,standard_cda,nosuch", "seed=0,1,x"])
def test_a_sweep_with_one_bad_value_stops_before_any_job_runs(tmp_path, bad):
    # the bad value is in the last jobs of the product; the sweep must stop before the first
    other = "seed=0,1" if bad.startswith("policy") else "policy=none,standard_cda"
    proc = _cli(["-m", bad, other, "sim.months=12", "hydra.sweep.dir=sweep"], tmp_path, check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not [p for p in (tmp_path / "sweep").glob("*") if p.is_dir()]


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_a_finished_run_with_a_broken_result_file_is_redone_not_skipped(tmp_path):
    sweep = ["-m", "sim.seeds=2", "sim.months=6", "sim.snapshot_months=[6]", "hydra.sweep.dir=sweep"]
    _cli(sweep, tmp_path)
    job = tmp_path / "sweep" / "sim.months-6,sim.snapshot_months-[6]"
    runs = {s: job / f"seed_000{s}" for s in (0, 1)}
    before = {s: pd.read_parquet(run / "series.parquet") for s, run in runs.items()}
    done_mtime = {s: (run / DONE).stat().st_mtime_ns for s, run in runs.items()}
    _truncate(runs[1] / "series.parquet")  # the footer is gone; the _DONE marker is still there
    assert not is_complete(runs[1]) and is_complete(runs[0])
    rerun = _cli(sweep, tmp_path)
    # said in the job's log (the sweep's console has its bar and last lines only)
    log = (job / "_khusheh.log").read_text()
    lines = [line for line in log.splitlines() if "broken results" in line]
    assert len(lines) == 1 and str(runs[1]) in lines[0] and "series.parquet" in lines[0] and "redone" in lines[0]
    assert f"complete results already in 1 of the 2 runs in {job}: skipped" in log
    assert "khusheh-run: 2 of 2 runs complete (1 complete already, skipped), none failed" in rerun.stdout
    assert (runs[0] / DONE).stat().st_mtime_ns == done_mtime[0]  # the sound run is not redone
    assert (runs[1] / DONE).stat().st_mtime_ns != done_mtime[1]
    for s, run in runs.items():
        assert is_complete(run)
        pd.testing.assert_frame_equal(pd.read_parquet(run / "series.parquet"), before[s], check_exact=True)


def _write(folder, frame, identity=None, **kw):
    from scenarios.results import write_run
    write_run(folder, identity or {"cluster_preset": "generic", "policy": "none", "shock": "none", "seed": 0},
              series=frame, cluster_series=frame, summary=frame.head(1), config_yaml="seed: 0\n",
              provenance={"config_hash": "abc", "finished": "now"}, **kw)


def test_the_completeness_check_reads_every_parquet_footer(tmp_path):
    from scenarios.results import CONFIG, check_complete
    frame = pd.DataFrame({"month": range(50), "firms": [1.5] * 50})

    def make(name):
        folder = tmp_path / name
        _write(folder, frame, demography=frame, snapshots={6: {"firms": frame}})
        assert check_complete(folder, "abc") == (True, None)
        return folder

    assert check_complete(make("other_config"), "xyz") == (False, None)  # another config: redone, quietly
    assert check_complete(tmp_path / "never_run", "abc") == (False, None)
    cases = {"series.parquet": lambda p: _truncate(p, 0.9),
             "cluster_series.parquet": lambda p: p.write_bytes(b""),
             "summary.parquet": lambda p: p.write_bytes(p.read_bytes()[:-12] + b"\0" * 8 + b"PAR1"),  # bad footer
             "demography.parquet": lambda p: p.write_bytes(b"junk" * 100),
             "snapshots/firms_6.parquet": lambda p: _truncate(p, 0.99),
             CONFIG: lambda p: p.unlink()}
    for name, damage in cases.items():
        folder = make(name.replace("/", "_"))
        damage(folder / name)
        complete, problem = check_complete(folder, "abc")
        assert not complete and problem.startswith(name), (name, problem)
        assert ("missing" if name == CONFIG else "Parquet") in problem
    # files only some runs have (demography, snapshots) are checked too: the marker lists what was written
    for name in ("demography.parquet", "snapshots/firms_6.parquet"):
        folder = make("gone_" + name.replace("/", "_"))
        (folder / name).unlink()
        assert check_complete(folder, "abc") == (False, f"{name} is missing")
    # a marker without the list of files: the files every run has are required, no others
    folder = make("old_marker")
    (folder / DONE).write_text('{"config_hash": "abc", "finished": "now"}\n')
    (folder / "demography.parquet").unlink()
    assert check_complete(folder, "abc") == (True, None)
    (folder / "summary.parquet").unlink()
    assert check_complete(folder, "abc") == (False, "summary.parquet is missing")


@pytest.mark.parametrize("args, cluster", [
    (["cluster.province.scale=0.1"], "generic"),
    (["-m", "cluster.province.scale=0.1", "seed=0,1"], "generic"),
    (["-m", "cluster=isfahan_province,carpet_kashan", "cluster.province.scale=0.1"], "carpet_kashan"),
    (["-m", "experiment=shock_resilience", "cluster.province.scale=0.1"], "generic"),
])
def test_a_province_key_on_a_single_cluster_is_refused_in_one_line(tmp_path, args, cluster):
    proc = _cli([*args, "sim.months=1", "hydra.run.dir=run", "hydra.sweep.dir=sweep"], tmp_path, check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == (f"khusheh-run: cluster.province.scale: the cluster {cluster!r} is not a "
                                   "province preset (cluster=isfahan_province has one)")
    assert not (tmp_path / "run").exists() and not (tmp_path / "sweep").exists()


def test_province_keys_pass_the_check_when_every_run_has_a_province():
    from scenarios.preflight import group_choices, problem
    for args in (["cluster=isfahan_province", "cluster.province.scale=0.1"],
                 ["-m", "experiment=province_programme", "cluster.province.scale=0.1", "seed=0,1"]):
        assert group_choices(args, "cluster") == ["isfahan_province"]
        assert problem(args) is None
    assert group_choices(["-m", "cluster=choice(generic,plastics)"], "cluster") == ["generic", "plastics"]


@pytest.mark.parametrize("override, message", [
    ("polcy.budget=900", "khusheh-run: unknown key 'polcy.budget'; did you mean policy.budget?"),
    ("+polcy.budget=900", "khusheh-run: unknown key 'polcy.budget'; did you mean policy.budget?"),
    ("++sedd=3", "khusheh-run: unknown key 'sedd'; did you mean seed?"),
    ("+nonsense=1", "khusheh-run: unknown key 'nonsense'"),
    ("+sim.monthz=3", "khusheh-run: unknown key 'sim.monthz'; did you mean sim.months?"),
])
def test_an_unknown_key_added_with_plus_is_refused_before_any_run(tmp_path, override, message):
    for args in ([override, "sim.months=1", "hydra.run.dir=run"],
                 ["-m", override, "seed=0,1", "sim.months=1", "hydra.sweep.dir=sweep"]):
        proc = _cli(args, tmp_path, check=False)
        assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
        assert proc.stderr.splitlines()[0] == message
        assert not (tmp_path / "run").exists() and not (tmp_path / "sweep").exists()


def test_hydras_own_keys_and_known_keys_pass_the_key_check():
    from scenarios.preflight import check_keys
    assert check_keys(["+hydra.launcher.ray.init.num_cpus=2", "hydra/launcher=joblib", "hydra.job.chdir=true",
                       "experiment=policy_comparison", "cluster=carpet_kashan", "cluster.province.scale=0.1",
                       "model.p_seek=0.2", "~policy.budget", "seed=3", "--cfg", "job"]) is None


def _children(pid: int) -> set[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped, is not)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _poll(condition, timeout: float, step: float = 0.1) -> bool:
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(step)
    return condition()


@pytest.mark.parametrize("signame, group", [("SIGTERM", False), ("SIGINT", True)])
def test_an_interrupted_sweep_stops_its_workers_and_says_how_far_it_got(tmp_path, signame, group):
    # SIGTERM to khusheh-run alone (a scheduler, `kill`), or SIGINT to its process group (Ctrl-C in a terminal)
    import signal as sig
    signum = getattr(sig, signame)
    sweep = tmp_path / "sweep"
    # 2 jobs of 20 runs: far more than can finish between the first result and the signal; the runs in
    # two worker processes
    args = ["-m", "policy=none,standard_cda", "sim.seeds=20", "sim.n_jobs=2", "sim.months=60",
            "sim.progress=false", f"hydra.sweep.dir={sweep}"]
    with open(tmp_path / "out", "w") as out, open(tmp_path / "err", "w") as err:
        proc = subprocess.Popen([CLI, *args], cwd=tmp_path, stdout=out, stderr=err, start_new_session=True)
        try:
            assert _poll(lambda: any(sweep.glob("*/*/_DONE")) or proc.poll() is not None, 600)
            assert proc.poll() is None, (tmp_path / "err").read_text()
            workers = _children(proc.pid)
            assert len(workers) >= 2  # the two loky workers (and loky's resource tracker)
            os.killpg(proc.pid, signum) if group else proc.send_signal(signum)
            assert proc.wait(timeout=300) == 128 + signum
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, sig.SIGKILL)
                proc.wait()
    assert _poll(lambda: not any(_alive(p) for p in workers), 60), [p for p in workers if _alive(p)]
    stderr = (tmp_path / "err").read_text()
    assert "Traceback" not in stderr and "leaked" not in stderr and "Error" not in stderr
    last = stderr.strip().splitlines()[-1]
    found = re.fullmatch(r"khusheh-run: interrupted; (\d+) of 40 runs complete, rerun the same command to finish",
                         last)
    assert found, stderr[-2000:]
    runs = [run.folder for run in find_runs(sweep)]
    complete = [p for p in runs if is_complete(p)]
    assert 1 <= int(found.group(1)) == len(complete) < 40
    for run in runs:  # no temporary file stays; a run that did not finish is not marked complete
        assert not list(run.rglob(".tmp-*"))
        assert (run in complete) == (run / DONE).exists(), run


@pytest.mark.parametrize("args, message", [
    (["policy=none,standard_cda", "policy.subsidy_rate=0.2,1.5"],
     "policy.subsidy_rate = 1.5 is out of range; allowed: [0, 1] (in the job policy=none policy.subsidy_rate=1.5"),
    # valid alone, not together: the CDA would start past the 12-month horizon
    (["policy=standard_cda", "policy.start_month=24", "sim.months=60,12"],
     "policy.start_month = 24 is past the horizon; allowed: [1, 11] (in the job policy=standard_cda "
     "policy.start_month=24 sim.months=12"),
    (["cluster.n_firms=60,-5"], "cluster.n_firms = -5 is out of range"),
])
def test_a_sweep_with_a_value_out_of_range_stops_before_any_job_runs(tmp_path, args, message):
    proc = _cli(["-m", *args, "seed=0,1", "hydra.sweep.dir=sweep"], tmp_path, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith(f"khusheh-run: {message}") and line.endswith("; no job was started"), proc.stderr
    assert not (tmp_path / "sweep").exists()  # (a refused sweep leaves no folder behind)


@pytest.mark.parametrize("args, seed", [(["seed=-1"], -1), (["-m", "seed=0,-1"], -1),
                                        (["-m", "policy=none,standard_cda", "seed=range(-2,2)"], -2)])
def test_a_negative_seed_is_refused_naming_the_seed(tmp_path, args, seed):
    proc = _cli([*args, "sim.months=6", "hydra.run.dir=run", "hydra.sweep.dir=sweep"], tmp_path, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(
        f"khusheh-run: seed = {seed} is out of range; allowed: a non-negative integer"), proc.stderr
    assert not list((tmp_path / "sweep").glob("*/")) if args[0] == "-m" else not list((tmp_path / "run").glob("*/_DONE"))


@pytest.mark.parametrize("key, values", [("sim.seeds", "1,2"), ("sim.n_jobs", "1,2")])
def test_a_key_that_names_no_folder_is_not_swept(tmp_path, key, values):
    # its jobs would share one folder (and a design's runs would delete each other's): refused before any job
    proc = _cli(["-m", f"{key}={values}", "sim.months=6", "cluster.n_firms=20", "hydra.sweep.dir=sweep"], tmp_path,
                check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"khusheh-run: {key} cannot be swept: job folders are "
                                                             "not named by it")
    assert not list(tmp_path.glob("sweep/*/"))


@pytest.mark.parametrize("args, message", [
    (["sim.seeds=0"], "khusheh-run: sim.seeds = 0 is out of range; allowed: a whole number from 1"),
    (["-m", "policy=none,standard_cda", "sim.n_jobs=0"], "khusheh-run: sim.n_jobs = 0 is out of range; allowed: 1, 2, "
     "... processes, or -1 for every core (-2 every core but one, ...) (in the job policy=none sim.n_jobs=0); no job "
     "was started"),
])
def test_a_job_without_seeds_or_processes_is_refused_in_one_line(tmp_path, args, message):
    proc = _cli([*args, "sim.months=6", "hydra.run.dir=run", "hydra.sweep.dir=sweep"], tmp_path, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == message.replace(" sim.n_jobs=0)", " sim.n_jobs=0 sim.months=6)")
    assert not list(tmp_path.glob("*/**/_DONE"))


@pytest.mark.parametrize("args, message", [
    (["cluster=nope"], "unknown cluster preset 'nope' (available: " + ", ".join(CLUSTERS) + ")"),
    (["policy=nope"], "unknown policy preset 'nope'; did you mean policy=none? (available: "
     + ", ".join(POLICY_PRESETS) + ")"),
    (["shock=demand_dorp"], "unknown shock preset 'demand_dorp'; did you mean shock=demand_drop? (available: "
     + ", ".join(SHOCKS) + ")"),
    (["-m", "policy=none,standard_cda,trust_frist", "seed=0,1"], "unknown policy preset 'trust_frist'; did you mean "
     "policy=trust_first? (available: " + ", ".join(POLICY_PRESETS) + ")"),
    (["-m", "experiment=policy_comparision"], "unknown experiment preset 'policy_comparision'; did you mean "
     "experiment=policy_comparison? (available: policy_comparison, province_programme, regimes, sensitivity, "
     "shock_resilience, validation)"),
])
def test_an_unknown_preset_is_refused_in_one_line_listing_the_presets(tmp_path, args, message):
    proc = _cli([*args, "hydra.run.dir=run", "hydra.sweep.dir=sweep"], tmp_path, check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == f"khusheh-run: {message}"
    assert not (tmp_path / "run").exists() and not (tmp_path / "sweep").exists()


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_result_files_are_created_as_the_umask_allows(tmp_path, umask):
    import stat
    frame = pd.DataFrame({"month": range(3), "firms": [1.0, 2.0, 3.0]})
    old = os.umask(umask)
    try:
        _write(tmp_path / "run", frame, demography=frame, snapshots={2: {"firms": frame}})
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert len(files) == 8 and not [p for p in files if p.name.startswith(".tmp-")]
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path


def test_a_runs_files_from_the_command_line_are_readable_by_the_group_and_others(tmp_path):
    import stat
    proc = subprocess.run([CLI, "sim.months=3", "hydra.run.dir=run"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=900, preexec_fn=lambda: os.umask(0o022))
    assert proc.returncode == 0, proc.stderr
    modes = {p.relative_to(tmp_path / "run").as_posix(): stat.S_IMODE(p.stat().st_mode)
             for p in (tmp_path / "run").rglob("*") if p.is_file()}
    assert {"seed_0000/_DONE", "seed_0000/_config.yaml", "seed_0000/series.parquet", "seed_0000/summary.parquet",
            ".hydra/config.yaml", "_khusheh.log"} <= modes.keys()
    assert set(modes.values()) == {0o644}, modes


def test_wanted_jobs_match_one_of_the_partial_jobs():
    from hydra_plugins.khusheh_sweeper import wanted_job
    only = [{"shock": "none"}, {"policy": "none"}]
    assert wanted_job(["policy=trust_first", "shock=none", "seed=3"], only)
    assert wanted_job(["policy=none", "shock=demand_drop", "seed=3"], only)
    assert not wanted_job(["policy=trust_first", "shock=demand_drop", "seed=3"], only)
    assert wanted_job(["+policy=none", "shock=x"], only)  # (a key added with + is the same key)
    assert not wanted_job(["seed=3"], only)  # a key the job does not set matches nothing
    assert wanted_job(["policy=a", "shock=b"], None) and wanted_job(["policy=a"], [])


def test_a_sweep_runs_only_the_jobs_that_hydra_sweeper_only_asks_for(tmp_path):
    # 2 policies x 2 shocks, of which the baseline under both shocks and the CDA without one, 2 seeds each
    _cli(["-m", "policy=none,standard_cda", "shock=none,demand_drop", "sim.seeds=2", "sim.months=14",
          "shock.start_month=1", "hydra.sweeper.only=[{shock:none},{policy:none}]", "hydra.sweep.dir=sweep"],
         tmp_path)
    sweep = tmp_path / "sweep"
    ran = sorted(_sweep_frames(sweep))
    assert ran == sorted(f"policy-{p},shock.start_month-1,shock-{k},sim.months-14/seed_000{s}" for p, k in
                         (("none", "demand_drop"), ("none", "none"), ("standard_cda", "none")) for s in (0, 1))
    # the progress and an interrupt count the jobs and runs that run
    assert (sweep / ".khusheh_jobs").read_text().strip() == "3" and (sweep / ".khusheh_runs").read_text().strip() == "6"
    # a filter that keeps no job is a one-line message, not an empty sweep that looks complete
    proc = _cli(["-m", "policy=none,standard_cda", "shock=demand_drop", "sim.months=14", "shock.start_month=1",
                 "hydra.sweeper.only=[{shock:none}]", "hydra.sweep.dir=empty"], tmp_path, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == ("khusheh-run: no job of the sweep is one that "
                                                    "hydra.sweeper.only asks for")


@pytest.mark.parametrize("launcher, local", [("basic", True), ("joblib", True), ("ray", False), ("submitit_slurm", False)])
def test_an_interrupt_counts_the_complete_runs_and_leaves_remote_jobs_files_alone(tmp_path, monkeypatch, capsys,
                                                                                  launcher, local):
    import signal as sig

    from scenarios import app
    from scenarios.callbacks import SWEEP
    monkeypatch.setattr(app.signal, "signal", lambda *a: None)  # (the test's own process keeps its handlers)
    monkeypatch.setitem(SWEEP, "sweep_dir", tmp_path)
    monkeypatch.setitem(SWEEP, "launcher", launcher)
    (tmp_path / ".khusheh_runs").write_text("3")
    frame = pd.DataFrame({"month": [0, 1]})
    for seed in (0, 1):  # complete, from an earlier run of the sweep
        _write(tmp_path / "policy-none" / f"seed_000{seed}", frame)
    (tmp_path / "policy-none" / "seed_0002").mkdir()
    (tmp_path / "policy-none" / "seed_0002" / ".tmp-series.parquet").write_bytes(b"half")  # a run being written
    assert app._interrupted() == 128 + sig.SIGINT
    line = capsys.readouterr().err.strip()
    if local:
        assert line == "khusheh-run: interrupted; 2 of 3 runs complete, rerun the same command to finish"
        assert not (tmp_path / "policy-none" / "seed_0002" / ".tmp-series.parquet").exists()
    else:  # its jobs may still be running and writing: their files are left to them
        assert line.startswith("khusheh-run: interrupted; jobs the launcher has started may still be running")
        assert (tmp_path / "policy-none" / "seed_0002" / ".tmp-series.parquet").exists()


def test_a_preset_of_the_users_own_config_folder_is_left_to_hydra(tmp_path):
    # a programme of one's own, in a folder added to Hydra's search path: it runs (Khusheh's check
    # knows only its own presets); a name in neither is still refused, by Hydra
    own = tmp_path / "mine" / "policy"
    own.mkdir(parents=True)
    shutil.copy(Path(__file__).parents[1] / "conf" / "policy" / "standard_cda.yaml", own / "my_programme.yaml")
    searchpath = f"hydra.searchpath=[file://{tmp_path / 'mine'}]"
    _cli([searchpath, "policy=my_programme", "sim.months=14", "hydra.run.dir=run"], tmp_path)
    assert is_complete(tmp_path / "run" / "seed_0000")
    assert "policy: my_programme" in (tmp_path / "run" / ".hydra" / "hydra.yaml").read_text()
    proc = _cli([searchpath, "policy=nobodys", "sim.months=14", "hydra.run.dir=run2"], tmp_path, check=False)
    assert proc.returncode != 0 and "nobodys" in proc.stderr
    assert not list((tmp_path / "run2").glob("*/_DONE"))


LAUNCHERS = "basic, joblib, ray, ray_aws, submitit_local, submitit_slurm"


@pytest.mark.parametrize("args, message", [
    (["sim.months=abc"], "sim.months=abc: expected an integer"),
    (["sim.seeds=abc"], "sim.seeds=abc: expected an integer"),
    (["sim.n_jobs=x"], "sim.n_jobs=x: expected an integer"),
    (["seed=1.5"], "seed=1.5: expected an integer"),
    (["policy.budget=abc"], "policy.budget=abc: expected a number"),
    (["sim.snapshot_months=[12,x]"], "sim.snapshot_months=[12,x]: expected a list of integers"),
    (["sim.design_row=abc"], "sim.design_row=abc: expected an integer or null"),
    (["cluster=isfahan_province", "cluster.province.scale=small"], "cluster.province.scale=small: expected a number"),
    (["-m", "policy.budget=100,abc"], "policy.budget=abc: expected a number"),
    (["-m", "policy=none,standard_cda", "seed=0,1.5"], "seed=1.5: expected an integer"),
    (["-m", "sim.months=12,24,x", "seed=0,1"], "sim.months=x: expected an integer"),
    (["cluster=isfahan_province", "cluster.province.scael=0.1"], "unknown key 'cluster.province.scael'; did you mean "
     "cluster.province.scale?\n  keys of cluster.province: named, total_firms, layout_seed, scale, archetypes"),
    (["hydra/launcher=nope"], f"unknown hydra/launcher option 'nope' (available: {LAUNCHERS})"),
    (["-m", "hydra/launcher=jobilb", "seed=0,1"], "unknown hydra/launcher option 'jobilb'; did you mean "
     f"hydra/launcher=joblib? (available: {LAUNCHERS})"),
    (["sim.design_row=5"], "sim.design_row=5 needs a design: set sim.design too (a design.csv written by "
     "khusheh-sensitivity design)"),
    (["-m", "experiment=sensitivity", "sim.design_row=0"], "sim.design_row=0 needs a design: set sim.design too "
     "(a design.csv written by khusheh-sensitivity design)"),
])
def test_a_value_of_the_wrong_type_or_a_misplaced_key_is_refused_in_one_line(tmp_path, args, message):
    proc = _cli([*args, "sim.months=1", "hydra.run.dir=run", "hydra.sweep.dir=sweep"] if "sim.months" not in
                " ".join(args) else [*args, "hydra.run.dir=run", "hydra.sweep.dir=sweep"], tmp_path, check=False)
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"khusheh-run: {message}"
    assert not (tmp_path / "run").exists() and not (tmp_path / "sweep").exists()
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]  # (nor Hydra's outputs/ or multirun/)


def test_values_of_the_right_type_pass_the_value_checks():
    from scenarios.preflight import problem
    for args in (["seed=3", "sim.months=24", "policy.budget=900", "policy.subsidy_rate=0.5", "sim.n_jobs=-1"],
                 ["-m", "policy.budget=100,200.5", "seed=range(0,3)", "sim.snapshot_months=[12,24]"],
                 ["cluster=isfahan_province", "cluster.province.scale=0.1", "cluster.province.layout_seed=2"],
                 ["sim.design=sa/design.csv", "sim.design_row=3"], ["sim.design_row=null"],
                 ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "sim.months=${seed}"]):
        assert problem(args) is None, args


def test_the_summary_of_a_regimes_sweep_says_its_runs_go_beside_a_policy_sweep(tmp_path):
    from scenarios.callbacks import summary
    from scenarios.progress import Counts
    text = summary(tmp_path / "rg", Counts(done=24, jobs_done=24), 0, 24, 24, 5.0, regimes=True)
    assert text.splitlines()[-1] == f"  brief:   khusheh-report POLICY_SWEEP_DIR --regimes {tmp_path / 'rg'} --out DIR"
    text = summary(tmp_path / "pc", Counts(done=4, jobs_done=2), 0, 4, 2, 5.0)
    assert text.splitlines()[-1] == f"  brief:   khusheh-report {tmp_path / 'pc'} --out briefs/pc"
