"""The Hydra application: presets, runs on disk, sweeps, launchers, resume, bad input."""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra

from model import COLUMNS, ClusterModel, ParameterError, presets
from scenarios.config import register, to_model_params
from scenarios.results import DONE, RESULT_FILES, is_complete

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
    # 8 developed + 3 new contracts + generic, and the province of them all
    assert len(CLUSTERS) == 13 and {"generic", "isfahan_province"} <= set(CLUSTERS)
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
    cfg = _compose(["experiment=policy_comparison"])
    from omegaconf import OmegaConf
    GlobalHydra.instance().clear()
    register()
    with initialize_config_module(config_module="conf", version_base="1.3"):
        full = compose(config_name="config", overrides=["experiment=policy_comparison"], return_hydra_config=True)
    params = full.hydra.sweeper.params
    # every programme for one cluster; the provincial programmes have their own experiment
    assert set(params.policy.split(",")) == {p for p in presets.names("policy") if not p.startswith("programme_")}
    assert params.seed == "range(0,30)"
    assert full.hydra.launcher._target_.endswith("JoblibLauncher")
    assert OmegaConf.select(cfg, "seed") == 0


@pytest.mark.parametrize("seed, kept", [(0, (12, 48, 120)), (1, ()), (29, ())])
def test_a_named_sweep_keeps_snapshots_for_seed_0_only_unless_asked(seed, kept):
    params, _ = to_model_params(_compose(["experiment=policy_comparison", f"seed={seed}"]))
    assert params.snapshot_months == kept
    params, _ = to_model_params(_compose(["experiment=policy_comparison", f"seed={seed}", "sim.snapshot_seeds=null"]))
    assert params.snapshot_months == (12, 48, 120)
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
    run = tmp_path / "run"
    assert is_complete(run)
    series = pd.read_parquet(run / "series.parquet")
    assert list(series.columns) == list(COLUMNS) and list(series.month) == list(range(31))
    summary = pd.read_parquet(run / "summary.parquet")
    assert len(summary) == 1 and summary.loc[0, "policy"] == "standard_cda" and summary.loc[0, "seed"] == 4
    assert summary.loc[0, "employment_horizon"] == series.employment.iloc[-1]
    assert (run / "snapshots" / "firms_30.parquet").is_file()
    prov = json.loads((run / "provenance.json").read_text())
    assert prov["seed"] == 4 and prov["mesa"].startswith("3.5") and prov["python"].startswith("3.")
    assert "towels_adrian" in (run / "config.yaml").read_text()
    # the same run in-process gives the same numbers
    params, seed = to_model_params(_compose(["cluster=towels_adrian", "policy=standard_cda", "seed=4",
                                             "sim.months=30"]))
    direct = ClusterModel(params, rng=seed).run().series()
    pd.testing.assert_frame_equal(series, direct)


def _sweep_frames(sweep):
    out = {}
    for job in sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith(".")):
        assert is_complete(job), job
        out[job.name] = pd.read_parquet(job / "series.parquet")
    return out


SWEEP = ["policy=none,standard_cda", "seed=0,1", "sim.months=20", "policy.start_month=2"]


@pytest.mark.parametrize("launcher", ["joblib", "khusheh_joblib"])
def test_joblib_sweep_equals_basic_sweep_value_for_value(tmp_path, launcher):
    _cli(["-m", *SWEEP, "hydra.sweep.dir=basic"], tmp_path)
    _cli(["-m", *SWEEP, "hydra.sweep.dir=joblib", f"hydra/launcher={launcher}", "hydra.launcher.n_jobs=2"],
         tmp_path)
    basic, joblib = _sweep_frames(tmp_path / "basic"), _sweep_frames(tmp_path / "joblib")
    assert len(basic) == 4 and basic.keys() == joblib.keys()
    for name in basic:
        pd.testing.assert_frame_equal(basic[name], joblib[name], check_exact=True)
        # Hydra's record of the job is the same too, but for the launcher and the folders
        for record in ("config.yaml", "overrides.yaml", "hydra.yaml"):
            saved = [(tmp_path / sweep / name / ".hydra" / record).read_text() for sweep in ("basic", "joblib")]
            if record == "hydra.yaml":
                saved = [_without_launcher_and_folders(yaml.safe_load(text), tmp_path / sweep / name)
                         for text, sweep in zip(saved, ("basic", "joblib"))]
                assert saved[0]["hydra"]["job"]["override_dirname"] == name
            assert saved[0] == saved[1], record


def _without_launcher_and_folders(record: dict, folder: Path) -> dict:
    hydra = record["hydra"]
    for key in ("launcher", "sweep"):
        hydra.pop(key)
    assert hydra["runtime"].pop("output_dir") == str(folder)
    hydra["job"].pop("id")  # the basic launcher numbers jobs 0, 1, ...; joblib's name them khusheh_0, ...
    hydra["runtime"]["choices"].pop("hydra/launcher", None)
    hydra["overrides"].pop("hydra")
    return record


def test_the_khusheh_launcher_derives_job_configs_equal_to_hydras_composition():
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.errors import ConfigCompositionException
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from hydra_plugins.khusheh_launcher import JobComposer
    register()
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="conf", version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration("config", ["experiment=policy_comparison", "hydra.sweep.dir=x",
                                                      "cluster.n_firms=300"], RunMode.MULTIRUN)
        composer = JobComposer(loader, master)
        jobs = [[f"policy={p}", f"seed={s}", f"cluster.spread_cells={d}"]
                for p in ("none", "trust_first") for s in (0, 3) for d in (2.5, 4)]
        jobs += [["cluster=carpet_kashan", "seed=1"], ["cluster=carpet_kashan", "seed=2"], ["+extra=1", "seed=5"]]
        # a dict value merges into what the key holds: never derived from a template holding another's
        jobs += [["cluster=isfahan_province", f"cluster.province.archetypes.crafts.spec={value}"]
                 for value in ("{elasticity:9}", "{max_employees:7}", "{trust_beta:1}")]
        for job in jobs:
            derived = composer.compose(job)
            assert OmegaConf.to_yaml(derived) == OmegaConf.to_yaml(loader.load_sweep_config(master, job)), job
            # as run_job does with the job's config (a derived job's is its template, composed again next)
            HydraConfig.instance().set_config(derived)
        # one full composition per combination of groups and plain keys; "+extra" and dicts are never derived
        assert len(composer.templates) == 3
        assert derived.cluster.province.archetypes.crafts.spec.trust_beta == 1
        assert "elasticity: 9" not in OmegaConf.to_yaml(derived)
        plus = composer.compose(["+extra=1", "seed=5"])
        assert plus.extra == 1 and plus.hydra.job.override_dirname == "+extra=1,seed=5"
        # a bad value is refused as Hydra refuses it
        with pytest.raises(ConfigCompositionException, match="seed=abc"):
            composer.compose(["policy=none", "seed=abc", "cluster.spread_cells=2.5"])


def test_a_job_returns_to_the_sweeper_without_its_configs():
    import pickle

    from hydra.core.utils import JobReturn, JobStatus

    from hydra_plugins.khusheh_launcher import _for_the_sweeper
    done = JobReturn(overrides=["seed=1"], cfg={"seed": 1}, hydra_cfg={"hydra": {}}, working_dir="w",
                     task_name="khusheh", status=JobStatus.COMPLETED, _return_value="done")
    failed = JobReturn(overrides=["seed=2"], cfg={"seed": 2}, hydra_cfg={"hydra": {}},
                       status=JobStatus.FAILED, _return_value=ValueError("bad seed"))
    # what the launching process gets: status, return value (a failure still raises), overrides
    got, lost = (pickle.loads(pickle.dumps(_for_the_sweeper(r))) for r in (done, failed))
    assert got.cfg is None and got.hydra_cfg is None and got.return_value == "done"
    assert got.overrides == ["seed=1"] and got.status == JobStatus.COMPLETED and got.working_dir == "w"
    with pytest.raises(ValueError, match="bad seed"):
        lost.return_value


def test_the_task_config_is_hydras_copy_without_the_hydra_node():
    import copy

    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode
    from omegaconf import OmegaConf, open_dict, read_write

    from hydra_plugins.khusheh_launcher import _copy_without_hydra
    register()
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="conf", version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration("config", ["experiment=policy_comparison", "hydra.sweep.dir=x"],
                                           RunMode.MULTIRUN)
        config = loader.load_sweep_config(master, ["policy=trust_first", "seed=4"])
    before = OmegaConf.to_yaml(config)
    hydras = copy.deepcopy(config)  # what Hydra's run_job does
    with read_write(hydras), open_dict(hydras):
        del hydras["hydra"]
    ours = _copy_without_hydra(config)
    assert OmegaConf.to_yaml(ours) == OmegaConf.to_yaml(hydras) and "hydra" not in ours
    assert ours._metadata == hydras._metadata  # structured type, flags (struct), resolver cache
    assert OmegaConf.is_struct(ours) and OmegaConf.get_type(ours) is OmegaConf.get_type(hydras)
    # the job's config is left as it was: the same hydra node, in the same place
    assert OmegaConf.to_yaml(config) == before and list(config) == list(master)
    assert ours.policy is not config.policy and ours.policy._get_parent() is ours


@pytest.mark.parametrize("launcher", ["ray", "submitit_local"])
def test_distributed_launchers_run_a_two_job_sweep(tmp_path, launcher):
    args = ["-m", "policy=none,standard_cda", "seed=1", "sim.months=16", "policy.start_month=2",
            f"hydra/launcher={launcher}", "hydra.sweep.dir=out"]
    env = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    if launcher == "ray":
        args += ["+hydra.launcher.ray.init.num_cpus=2", "+hydra.launcher.ray.init.include_dashboard=false"]
    _cli(args, tmp_path, env=env)
    frames = _sweep_frames(tmp_path / "out")
    assert len(frames) == 2
    _cli(["-m", "policy=none,standard_cda", "seed=1", "sim.months=16", "policy.start_month=2",
          "hydra.sweep.dir=basic"], tmp_path)
    for name, frame in _sweep_frames(tmp_path / "basic").items():
        pd.testing.assert_frame_equal(frame, frames[name], check_exact=True)


def test_a_sweep_killed_midway_and_rerun_ends_with_every_job_complete_once(tmp_path):
    sweep = ["-m", "policy=none,standard_cda", "seed=0,1", "sim.months=20", "policy.start_month=2",
             "hydra.sweep.dir=sweep"]
    # the second job (policy=none, seed=1) is killed at month 7, as by a crash
    killed = _cli(sweep, tmp_path, env={"KHUSHEH_TEST_KILL_SEED": "1", "KHUSHEH_TEST_KILL_AT_MONTH": "7"},
                  check=False)
    assert killed.returncode != 0
    jobs = {p.name: p for p in (tmp_path / "sweep").iterdir() if p.is_dir() and not p.name.startswith(".")}
    done_before = {n: (p / DONE).stat().st_mtime_ns for n, p in jobs.items() if is_complete(p)}
    assert len(done_before) == 1  # none,seed=0 finished; none,seed=1 was killed; the rest never ran
    # a killed job may leave a partial file behind: it must be redone, not trusted
    (jobs["policy.start_month=2,policy=none,seed=1,sim.months=20"] / "series.parquet").write_bytes(b"junk")
    rerun = _cli(sweep, tmp_path)
    # the rerun counts its own jobs, the skipped one among them, each once
    progress = re.findall(r"\[khusheh\] jobs done (\d+)/(\d+)", rerun.stderr)
    assert progress == [(str(k), "4") for k in range(1, 5)]
    frames = _sweep_frames(tmp_path / "sweep")
    assert len(frames) == 4
    for name, mtime in done_before.items():  # complete jobs were skipped, not redone
        assert (tmp_path / "sweep" / name / DONE).stat().st_mtime_ns == mtime
    for name, frame in frames.items():
        assert len(frame) == 21
        for f in RESULT_FILES:
            assert (tmp_path / "sweep" / name / f).is_file()
    assert not list((tmp_path / "sweep").rglob(".tmp-*"))


def test_sweep_progress_counts_jobs_that_change_their_working_folder(tmp_path):
    # the default sweep folder is relative; with hydra.job.chdir=true each job runs inside its own
    proc = _cli(["-m", "seed=0,1", "sim.months=4", "hydra.job.chdir=true"], tmp_path)
    assert re.findall(r"\[khusheh\] jobs done (.*)", proc.stderr) == ["1/2", "2/2"]


def test_a_job_with_a_bad_value_fails_alone_and_the_sweep_names_it(tmp_path):
    # n_firms=-5 composes (an int) but the model refuses it: that job fails, the other completes
    # (Hydra's basic sweeper: Khusheh's stops the sweep before launching, below)
    proc = _cli(["-m", "cluster.n_firms=60,-5", "sim.months=6", "hydra.sweep.dir=sweep", "hydra/sweeper=basic"],
                tmp_path, check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "correct the value, then rerun the same sweep" in proc.stderr
    assert is_complete(tmp_path / "sweep" / "cluster.n_firms=60,sim.months=6")
    assert "cluster.n_firms" in (tmp_path / "sweep" / "cluster.n_firms=-5,sim.months=6" / "FAILED").read_text()
    assert "1 job(s) failed: cluster.n_firms=-5,sim.months=6" in proc.stderr
    assert re.findall(r"\[khusheh\] jobs done (.*)", proc.stderr) == ["1/2", "1/2, 1 failed"]


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


def test_a_run_shows_a_progress_bar_after_its_delay(tmp_path):
    # the bar appears after sim.progress_delay seconds (2 by default); 0 here, so that the test
    # does not depend on how fast the machine is
    proc = _cli(["sim.months=40", "sim.progress_delay=0", "hydra.run.dir=run"], tmp_path)
    bar = [line for line in proc.stderr.replace("\r", "\n").splitlines() if "month" in line and "|" in line]
    assert bar, proc.stderr[-500:]
    assert re.search(r"\d+/40", bar[-1]) and "<" in bar[-1]  # months done of the total, time left


def test_the_sweeper_checks_every_swept_value_with_a_covering_set_of_jobs():
    from hydra_plugins.khusheh_sweeper import covering_jobs
    jobs = [[f"policy={p}", f"seed={s}"] for p in ("a", "b", "c") for s in range(4)]
    chosen = covering_jobs(jobs)
    # every value of both keys is in some chosen job: 6 of the 12 jobs, in the sweep's order
    assert {o for job in chosen for o in job} == {o for job in jobs for o in job}
    assert chosen == [jobs[k] for k in (0, 1, 2, 3, 4, 8)]


@pytest.mark.parametrize("bad", ["policy=none,standard_cda,nosuch", "seed=0,1,x"])
def test_a_sweep_with_one_bad_value_stops_before_any_job_runs(tmp_path, bad):
    # the bad value is in the last jobs of the product; the sweep must stop before the first
    other = "seed=0,1" if bad.startswith("policy") else "policy=none,standard_cda"
    proc = _cli(["-m", bad, other, "sim.months=12", "hydra.sweep.dir=sweep"], tmp_path, check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not [p for p in (tmp_path / "sweep").glob("*") if p.is_dir()]


def test_khusheh_yaml_is_omegaconfs_text_for_any_string():
    # strings libyaml writes differently (long multi-line text, characters beyond the BMP, long keys,
    # control characters) go through OmegaConf's own dumper; plain ones through libyaml's
    from omegaconf import OmegaConf

    from hydra_plugins.khusheh_launcher import to_yaml
    tricky = ["خوشه: a name # with \"quotes\", true", "emoji \U0001F600", "line one\n" * 12 + "x" * 90,
              "nel\x85here", "tab\there", "", "null", "1e3", "- item", "? key", "&anchor *ref", "a" * 80,
              " ".join(["word"] * 30)]
    for text in tricky:
        cfg = OmegaConf.create({"cluster": {"name": text, "n": [1, text]}, "k" * 140: text, text or "e": 1})
        assert to_yaml(cfg) == OmegaConf.to_yaml(cfg), text
    # Hydra's own record of a job (its help texts are long and multi-line) too
    full = _compose(["policy=trust_first"], return_hydra_config=True)
    assert to_yaml(full.hydra) == OmegaConf.to_yaml(full.hydra)


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_a_runs_config_yaml_is_omegaconfs_own_text(cluster):
    # the job writes (and hashes) YAML from one resolved copy of the config, through libyaml's emitter
    # when every string is plain; it must be the same text as OmegaConf's
    from omegaconf import OmegaConf

    from hydra_plugins.khusheh_launcher import _plain_strings
    from scenarios.app import _identity, _yaml
    cfg = _compose([f"cluster={cluster}", "policy=trust_first", "shock=demand_drop", "seed=3"])
    container = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    assert _plain_strings(container)  # the presets take the fast path
    assert _yaml(container) == OmegaConf.to_yaml(cfg, resolve=True)
    # and the identity YAML (without the display keys), whose hash marks complete results, is unchanged
    identity = OmegaConf.to_container(cfg, resolve=True)
    identity["sim"].pop("progress")
    identity["sim"].pop("progress_delay")
    assert _yaml(_identity(container)) == OmegaConf.to_yaml(OmegaConf.create(identity))


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_a_finished_run_with_a_broken_result_file_is_redone_not_skipped(tmp_path):
    sweep = ["-m", "seed=0,1", "sim.months=6", "sim.snapshot_months=[6]", "hydra.sweep.dir=sweep"]
    _cli(sweep, tmp_path)
    jobs = {s: tmp_path / "sweep" / f"seed={s},sim.months=6,sim.snapshot_months=[6]" for s in (0, 1)}
    before = {s: pd.read_parquet(job / "series.parquet") for s, job in jobs.items()}
    done_mtime = {s: (job / DONE).stat().st_mtime_ns for s, job in jobs.items()}
    _truncate(jobs[1] / "series.parquet")  # the footer is gone; the DONE marker is still there
    assert not is_complete(jobs[1]) and is_complete(jobs[0])
    rerun = _cli(sweep, tmp_path)
    lines = [line for line in (rerun.stdout + rerun.stderr).splitlines() if "broken results" in line]
    assert len(lines) == 1 and str(jobs[1]) in lines[0] and "series.parquet" in lines[0] and "redone" in lines[0]
    assert f"complete results already in {jobs[0]}: skipped" in rerun.stdout
    assert (jobs[0] / DONE).stat().st_mtime_ns == done_mtime[0]  # the sound run is not redone
    assert (jobs[1] / DONE).stat().st_mtime_ns != done_mtime[1]
    for s, job in jobs.items():
        assert is_complete(job)
        pd.testing.assert_frame_equal(pd.read_parquet(job / "series.parquet"), before[s], check_exact=True)


def test_the_completeness_check_reads_every_parquet_footer(tmp_path):
    from scenarios.results import check_complete, write_run
    frame = pd.DataFrame({"month": range(50), "firms": [1.5] * 50})

    def make(name):
        folder = tmp_path / name
        write_run(folder, series=frame, cluster_series=frame, summary=frame.head(1), demography=frame,
                  snapshots={6: {"firms": frame}}, resolved_yaml="seed: 0\n",
                  prov={"config_hash": "abc", "finished": "now"})
        assert check_complete(folder, "abc") == (True, None)
        return folder

    assert check_complete(make("other_config"), "xyz") == (False, None)  # another config: redone, quietly
    assert check_complete(tmp_path / "never_run", "abc") == (False, None)
    cases = {"series.parquet": lambda p: _truncate(p, 0.9),
             "cluster_series.parquet": lambda p: p.write_bytes(b""),
             "summary.parquet": lambda p: p.write_bytes(p.read_bytes()[:-12] + b"\0" * 8 + b"PAR1"),  # bad footer
             "demography.parquet": lambda p: p.write_bytes(b"junk" * 100),
             "snapshots/firms_6.parquet": lambda p: _truncate(p, 0.99),
             "config.yaml": lambda p: p.unlink()}
    for name, damage in cases.items():
        folder = make(name.replace("/", "_"))
        damage(folder / name)
        complete, problem = check_complete(folder, "abc")
        assert not complete and problem.startswith(name), (name, problem)
        assert ("missing" if name == "config.yaml" else "Parquet") in problem
    # files only some runs have (demography, snapshots) are checked too: the marker lists what was written
    for name in ("demography.parquet", "snapshots/firms_6.parquet"):
        folder = make("gone_" + name.replace("/", "_"))
        (folder / name).unlink()
        assert check_complete(folder, "abc") == (False, f"{name} is missing")
    # a marker written before it listed the files: the files every run has are required, no others
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
    # 40 jobs: far more than can finish between the first result and the signal
    args = ["-m", "seed=range(0,40)", "sim.months=60", "sim.progress=false", "hydra/launcher=khusheh_joblib",
            "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}"]
    with open(tmp_path / "out", "w") as out, open(tmp_path / "err", "w") as err:
        proc = subprocess.Popen([CLI, *args], cwd=tmp_path, stdout=out, stderr=err, start_new_session=True)
        try:
            assert _poll(lambda: any(sweep.glob("*/DONE")) or proc.poll() is not None, 600)
            assert proc.poll() is None, (tmp_path / "err").read_text()
            workers = _children(proc.pid)
            assert len(workers) >= 2  # the two loky workers (and joblib's resource trackers)
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
    jobs = [p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith(".")]
    complete = [p for p in jobs if is_complete(p)]
    assert 1 <= int(found.group(1)) == len(complete) < 40
    for job in jobs:  # no temporary file stays; a job that did not finish is not marked complete
        assert not list(job.rglob(".tmp-*"))
        assert (job in complete) == (job / DONE).exists(), job


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
    assert not [p for p in (tmp_path / "sweep").iterdir() if p.is_dir()]


def test_value_checks_take_one_job_per_combination_of_values_but_the_seed():
    from hydra_plugins.khusheh_sweeper import value_jobs
    jobs = [[f"policy={p}", f"seed={s}", f"sim.months={m}"] for p in ("a", "b") for s in range(3) for m in (12, 24)]
    assert value_jobs(jobs) == [jobs[0], jobs[1], jobs[6], jobs[7]]


@pytest.mark.parametrize("args, seed", [(["seed=-1"], -1), (["-m", "seed=0,-1"], -1),
                                        (["-m", "policy=none,standard_cda", "seed=range(-2,2)"], -2)])
def test_a_negative_seed_is_refused_naming_the_seed(tmp_path, args, seed):
    proc = _cli([*args, "sim.months=6", "hydra.run.dir=run", "hydra.sweep.dir=sweep"], tmp_path, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(
        f"khusheh-run: seed = {seed} is out of range; allowed: a non-negative integer"), proc.stderr
    assert not list((tmp_path / "sweep").glob("*/")) if args[0] == "-m" else not (tmp_path / "run" / DONE).exists()


@pytest.mark.parametrize("args, message", [
    (["cluster=nope"], "unknown cluster preset 'nope' (available: " + ", ".join(CLUSTERS) + ")"),
    (["policy=nope"], "unknown policy preset 'nope'; did you mean policy=none? (available: "
     + ", ".join(POLICY_PRESETS) + ")"),
    (["shock=demand_dorp"], "unknown shock preset 'demand_dorp'; did you mean shock=demand_drop? (available: "
     + ", ".join(SHOCKS) + ")"),
    (["-m", "policy=none,standard_cda,trust_frist", "seed=0,1"], "unknown policy preset 'trust_frist'; did you mean "
     "policy=trust_first? (available: " + ", ".join(POLICY_PRESETS) + ")"),
    (["-m", "experiment=policy_comparision"], "unknown experiment preset 'policy_comparision'; did you mean "
     "experiment=policy_comparison? (available: policy_comparison, province_programme, sensitivity, "
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

    from scenarios.results import write_run
    frame = pd.DataFrame({"month": range(3), "firms": [1.0, 2.0, 3.0]})
    old = os.umask(umask)
    try:
        write_run(tmp_path / "run", series=frame, cluster_series=frame, summary=frame.head(1), demography=frame,
                  snapshots={2: {"firms": frame}}, resolved_yaml="seed: 0\n",
                  prov={"config_hash": "abc", "finished": "now"})
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
    assert {"DONE", "config.yaml", "series.parquet", "summary.parquet", ".hydra/config.yaml"} <= modes.keys()
    assert set(modes.values()) == {0o644}, modes


def test_wanted_jobs_match_one_of_the_partial_jobs():
    from scenarios.config import wanted_job
    only = [{"shock": "none"}, {"policy": "none"}]
    assert wanted_job(["policy=trust_first", "shock=none", "seed=3"], only)
    assert wanted_job(["policy=none", "shock=demand_drop", "seed=3"], only)
    assert not wanted_job(["policy=trust_first", "shock=demand_drop", "seed=3"], only)
    assert wanted_job(["+policy=none", "shock=x"], only)  # (a key added with + is the same key)
    assert not wanted_job(["seed=3"], only)  # a key the job does not set matches nothing
    assert wanted_job(["policy=a", "shock=b"], None) and wanted_job(["policy=a"], [])


def test_a_sweep_runs_only_the_jobs_that_hydra_sweeper_only_asks_for(tmp_path):
    # 2 policies x 2 shocks x 2 seeds, of which the baseline under both shocks and the CDA without one
    _cli(["-m", "policy=none,standard_cda", "shock=none,demand_drop", "seed=0,1", "sim.months=14",
          "shock.start_month=1", "hydra.sweeper.only=[{shock:none},{policy:none}]", "hydra.sweep.dir=sweep"],
         tmp_path)
    sweep = tmp_path / "sweep"
    ran = sorted(p.name.replace(",shock.start_month=1", "").replace(",sim.months=14", "")
                 for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert ran == sorted(f"policy={p},seed={s},shock={k}" for p, k in
                         (("none", "demand_drop"), ("none", "none"), ("standard_cda", "none")) for s in (0, 1))
    assert all(is_complete(sweep / name) for name in os.listdir(sweep) if not name.startswith(".")
               and (sweep / name).is_dir())
    assert (sweep / ".khusheh_jobs").read_text().strip() == "6"  # the progress counts the jobs that run
    # a filter that keeps no job is a one-line message, not an empty sweep that looks complete
    proc = _cli(["-m", "policy=none,standard_cda", "shock=demand_drop", "sim.months=14", "shock.start_month=1",
                 "hydra.sweeper.only=[{shock:none}]", "hydra.sweep.dir=empty"], tmp_path, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == ("khusheh-run: no job of the sweep is one that "
                                                    "hydra.sweeper.only asks for")


@pytest.mark.parametrize("launcher, local", [("hydra_plugins.khusheh_launcher.KhushehJoblibLauncher", True),
                                             ("hydra._internal.core_plugins.basic_launcher.BasicLauncher", True),
                                             ("hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher", False),
                                             ("hydra_plugins.hydra_submitit_launcher.submitit_launcher."
                                              "SlurmLauncher", False)])
def test_an_interrupt_counts_the_complete_runs_and_leaves_remote_jobs_files_alone(tmp_path, monkeypatch, capsys,
                                                                                  launcher, local):
    import signal as sig

    from scenarios import app
    from scenarios.callbacks import CURRENT
    from scenarios.results import write_run
    monkeypatch.setattr(app.signal, "signal", lambda *a: None)  # (the test's own process keeps its handlers)
    monkeypatch.setitem(CURRENT, "sweep_dir", tmp_path)
    monkeypatch.setitem(CURRENT, "launcher", launcher)
    (tmp_path / ".khusheh_jobs").write_text("3")
    frame = pd.DataFrame({"month": [0, 1]})
    for name in ("seed=0", "seed=1"):  # complete, from an earlier run of the sweep (no progress files)
        write_run(tmp_path / name, series=frame, cluster_series=frame, summary=frame, snapshots={},
                  resolved_yaml="seed: 0\n", prov={"config_hash": "h", "finished": "now"})
    (tmp_path / "seed=2").mkdir()
    (tmp_path / "seed=2" / ".tmp-series.parquet").write_bytes(b"half")  # a job being written
    assert app._interrupted() == 128 + sig.SIGINT
    line = capsys.readouterr().err.strip()
    if local:
        assert line == "khusheh-run: interrupted; 2 of 3 runs complete, rerun the same command to finish"
        assert not (tmp_path / "seed=2" / ".tmp-series.parquet").exists()
    else:  # its jobs may still be running and writing: their files are left to them
        assert line.startswith("khusheh-run: interrupted; jobs the launcher has started may still be running")
        assert (tmp_path / "seed=2" / ".tmp-series.parquet").exists()


def test_a_preset_of_the_users_own_config_folder_is_left_to_hydra(tmp_path):
    # a programme of one's own, in a folder added to Hydra's search path: it runs (Khusheh's check
    # knows only its own presets); a name in neither is still refused, by Hydra
    own = tmp_path / "mine" / "policy"
    own.mkdir(parents=True)
    shutil.copy(Path(__file__).parents[1] / "conf" / "policy" / "standard_cda.yaml", own / "my_programme.yaml")
    searchpath = f"hydra.searchpath=[file://{tmp_path / 'mine'}]"
    _cli([searchpath, "policy=my_programme", "sim.months=14", "hydra.run.dir=run"], tmp_path)
    assert is_complete(tmp_path / "run")
    assert "policy: my_programme" in (tmp_path / "run" / ".hydra" / "hydra.yaml").read_text()
    proc = _cli([searchpath, "policy=nobodys", "sim.months=14", "hydra.run.dir=run2"], tmp_path, check=False)
    assert proc.returncode != 0 and "nobodys" in proc.stderr
    assert not is_complete(tmp_path / "run2")
