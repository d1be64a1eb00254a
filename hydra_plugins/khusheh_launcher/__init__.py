"""Hydra's joblib launcher, with each worker set up once and job configurations derived, not recomposed.

Hydra's joblib launcher sends every job its own copy of Hydra's state (the
workers re-discover all plugins for each job) and composes each job's
configuration from scratch (about 0.12 s a job). In a sweep most jobs differ
from another only in plain values (``seed=3``), not in config groups
(``policy=trust_first``). This launcher:

- sends Hydra's state once per sweep, and each worker process loads it once;
- composes one job in full for each combination of config-group choices (and
  set of plain keys), keeps it, and derives the other jobs from it: the
  template itself (run_job copies what it keeps), the job's plain values set
  as Hydra sets them (typed, checked), and the job's override list and folder
  name as Hydra computes them. That is a few ms a job instead of 120 ms; a
  test checks that the configurations are the same as Hydra composes them;
- runs each job with its own ``run_job``: Hydra's, with fewer copies of the
  configuration and the ``.hydra`` records written faster (a test checks the
  records are the same as the basic launcher's).

Jobs with any other kind of override (``+key``, ``~key``, ``key@pkg``, a
``hydra.`` key) are composed in full, as the joblib launcher does. Selected as
``hydra/launcher=khusheh_joblib`` (the experiment presets use it); it takes
the joblib launcher's settings (``hydra.launcher.n_jobs`` ...).

(No ``from __future__ import annotations`` here: Hydra's plugin scan runs this
module outside ``sys.modules``, where dataclasses cannot resolve string
annotations.)
"""

import copy
import logging
import os
import signal
import uuid
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml
from hydra import version
from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
from hydra._internal.deprecation_warning import deprecation_warning
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType
from hydra.core.singleton import Singleton
from hydra.core.utils import (JobReturn, JobRuntime, JobStatus, _flush_loggers, configure_log, env_override,
                              filter_overrides, setup_globals)
from hydra.errors import ConfigCompositionException
from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg
from hydra_plugins.hydra_joblib_launcher.config import JobLibLauncherConf
from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher
from joblib.externals import cloudpickle
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf._utils import get_omega_conf_dumper
from omegaconf.errors import OmegaConfBaseException

log = logging.getLogger(__name__)

# per worker process: the sweep whose state is loaded, and its composed templates
_WORKER: Dict[str, Any] = {}


class JobComposer:
    """Job configurations of one sweep: composed in full once per template key, derived for the rest."""

    def __init__(self, loader: ConfigLoaderImpl, master: DictConfig):
        self.loader = loader
        self.master = master
        self.parser = OverridesParser.create()
        hydra_overrides = list(OmegaConf.to_container(master.hydra.overrides.hydra))
        # the repository Hydra composes from (hydra.searchpath included), to tell groups from keys
        _parsed, self.repo = loader._parse_overrides_and_create_caching_repo(
            master.hydra.job.config_name, hydra_overrides)
        self.templates: Dict[Tuple, DictConfig] = {}

    def template_key(self, parsed: List[Override]) -> Optional[Tuple]:
        """(config-group overrides, plain keys) of a job that can be derived, else None.

        Only jobs whose plain values are scalars are derived: Hydra merges a dict (or list) value
        into what the key holds, so on a template it would merge into an earlier job's value.
        """
        groups, keys = [], []
        for o in parsed:
            if (o.type != OverrideType.CHANGE or o.package is not None or o.is_hydra_override()
                    or o.is_sweep_override()):
                return None
            value = o.value()
            if self.repo.group_exists(o.key_or_group) and not isinstance(value, dict):
                groups.append(o.input_line)
            elif isinstance(value, (dict, list)):
                return None
            else:
                keys.append(o.key_or_group)
        return tuple(groups), tuple(keys)

    def compose(self, overrides: Sequence[str]) -> DictConfig:
        """The job's configuration, equal to ``load_sweep_config(master, overrides)``."""
        parsed = self.parser.parse_overrides(list(overrides))
        key = self.template_key(parsed)
        if key is None:
            return self.loader.load_sweep_config(self.master, list(overrides))
        cfg = self.templates.get(key)
        if cfg is None:
            cfg = self.loader.load_sweep_config(self.master, list(overrides))
            self.templates[key] = copy.deepcopy(cfg)
            return cfg
        # The template itself is returned, its values set to this job's: every job derived from it sets
        # the same plain keys and the same hydra keys (below, and in run_job), so nothing of one job
        # outlives the next's compose. Jobs run one after another in a worker, and run_job works on
        # its own copies of the config (the task's and the JobReturn's).
        plain = [o for o in parsed if o.key_or_group in key[1]]
        try:
            ConfigLoaderImpl._apply_overrides_to_config(plain, cfg)
        except OmegaConfBaseException as e:
            raise ConfigCompositionException().with_traceback(e.__traceback__) from e
        # as Hydra: the task overrides in order, and the folder name from them
        with read_write(cfg.hydra):  # run_job's HydraConfig.set_config made it read-only
            job = cfg.hydra.job
            cfg.hydra.overrides.task = [o.input_line for o in parsed]
            job.override_dirname = get_overrides_dirname(
                overrides=parsed, kv_sep=job.config.override_dirname.kv_sep,
                item_sep=job.config.override_dirname.item_sep,
                exclude_keys=job.config.override_dirname.exclude_keys)
        OmegaConf.copy_cache(from_config=self.master, to_config=cfg)
        return cfg


def _worker_state(token: str, blob: bytes) -> Dict[str, Any]:
    """Hydra's state for sweep ``token``, loaded once per worker process."""
    if _WORKER.get("token") != token:
        hydra_context, config, task_function, singleton_state = cloudpickle.loads(blob)
        setup_globals()
        Singleton.set_state(singleton_state)
        _WORKER.clear()
        _WORKER.update(token=token, hydra_context=hydra_context, task_function=task_function,
                       composer=JobComposer(hydra_context.config_loader, config))
    return _WORKER


def _yaml_dumper() -> Optional[type]:
    """OmegaConf's YAML dumper (its way of quoting strings) on libyaml's emitter, if PyYAML has it."""
    if not hasattr(yaml, "CDumper"):
        return None

    class Dumper(yaml.CDumper):
        pass

    Dumper.add_representer(str, get_omega_conf_dumper().str_representer)
    return Dumper


_C_DUMPER = _yaml_dumper()


def _plain_strings(node: Any) -> bool:
    """True when every string in ``node`` (keys and values) is short printable ASCII on one line."""
    if isinstance(node, str):
        return len(node) <= 80 and node.isascii() and node.isprintable()
    if isinstance(node, dict):
        return all(_plain_strings(k) and _plain_strings(v) for k, v in node.items())
    if isinstance(node, (list, tuple)):
        return all(_plain_strings(v) for v in node)
    return True


def to_yaml(cfg: Any) -> str:
    """``OmegaConf.to_yaml(cfg)``'s text (for a config or a plain container), written faster.

    libyaml's emitter writes the same text as PyYAML's (the representer and resolver are the same)
    when every string is short printable ASCII on one line, as in Khusheh's presets (the tests
    compare the two on each); it folds long multi-line strings, escapes characters beyond the
    Basic Multilingual Plane and writes long keys differently. Anything else goes through
    OmegaConf's own dumper.
    """
    container = OmegaConf.to_container(cfg, enum_to_str=True) if OmegaConf.is_config(cfg) else cfg
    dumper = _C_DUMPER if _C_DUMPER is not None and _plain_strings(container) else get_omega_conf_dumper()
    return yaml.dump(container, default_flow_style=False, allow_unicode=True, sort_keys=False, Dumper=dumper)


def _save_config(cfg: Any, filename: str, output_dir: Path) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    with open(str(output_dir / filename), "w", encoding="utf-8") as file:
        file.write(to_yaml(cfg))


def _copy_without_hydra(config: DictConfig) -> DictConfig:
    """``copy.deepcopy(config)`` with its ``hydra`` node deleted (as Hydra's ``run_job`` makes the task's
    config), without copying that node first: it is taken out of the config's content for the copy and
    put back in its place (OmegaConf's ``DictConfig.__deepcopy__`` copies the content node by node)."""
    content = config.__dict__["_content"]
    kept = dict(content)
    del content["hydra"]
    try:
        return copy.deepcopy(config)
    finally:
        content.clear()
        content.update(kept)  # the same nodes, in the same order


def run_job(task_function: Any, config: DictConfig, job_dir_key: str, job_subdir_key: Optional[str],
            hydra_context: Any) -> JobReturn:
    """Hydra's ``run_job`` (``hydra.core.utils``, 1.3), the same job with less copying of the config.

    Where Hydra's copies Hydra's node of the config four times a job, this one copies it once:
    ``HydraConfig`` is set once, and the job's output folder is then set in both the config and
    ``HydraConfig``'s copy (Hydra sets it in the config and sets ``HydraConfig`` again); the
    JobReturn gets that copy (Hydra copies it again); the task's config is copied without that node
    (Hydra copies it whole, then deletes it). The
    ``.hydra`` files are written by :func:`to_yaml` (the same text). Everything else is Hydra's
    code, in Hydra's order.
    """
    callbacks = hydra_context.callbacks
    old_cwd = os.getcwd()
    orig_hydra_cfg = HydraConfig.instance().cfg
    # init Hydra config for config evaluation
    HydraConfig.instance().set_config(config)
    output_dir = str(OmegaConf.select(config, job_dir_key))
    if job_subdir_key is not None:
        subdir = str(OmegaConf.select(config, job_subdir_key))
        output_dir = os.path.join(output_dir, subdir)
    hydra_cfg = HydraConfig.instance().cfg
    for runtime in (config.hydra.runtime, hydra_cfg.hydra.runtime):
        with read_write(runtime), open_dict(runtime):
            runtime.output_dir = os.path.abspath(output_dir)
    _chdir = None
    try:
        ret = JobReturn()
        task_cfg = _copy_without_hydra(config)
        ret.cfg = task_cfg
        # Hydra gives the JobReturn a copy of HydraConfig's config; this one gives it HydraConfig's own,
        # a copy already (set_config made it for this job; one copy fewer, 8 ms a job). That copy's
        # interpolations still resolve through this job's config, the template that the worker's next
        # job changes: it is read only within this job (the .hydra records, the callbacks), and
        # _for_the_sweeper drops it before the job returns
        ret.hydra_cfg = hydra_cfg
        overrides = OmegaConf.to_container(config.hydra.overrides.task)
        assert isinstance(overrides, list)
        ret.overrides = overrides
        Path(str(output_dir)).mkdir(parents=True, exist_ok=True)
        _chdir = hydra_cfg.hydra.job.chdir
        if _chdir is None and version.base_at_least("1.2"):
            _chdir = False
        if _chdir is None:
            url = "https://hydra.cc/docs/1.2/upgrades/1.1_to_1.2/changes_to_job_working_dir/"
            deprecation_warning(message=dedent(f"""\
                Future Hydra versions will no longer change working directory at job runtime by default.
                See {url} for more information."""), stacklevel=2)
            _chdir = True
        if _chdir:
            os.chdir(output_dir)
            ret.working_dir = output_dir
        else:
            ret.working_dir = os.getcwd()
        configure_log(config.hydra.job_logging, config.hydra.verbose)
        if config.hydra.output_subdir is not None:
            hydra_output = Path(config.hydra.runtime.output_dir) / Path(config.hydra.output_subdir)
            _save_config(task_cfg, "config.yaml", hydra_output)
            _save_config(hydra_cfg, "hydra.yaml", hydra_output)
            _save_config(config.hydra.overrides.task, "overrides.yaml", hydra_output)
        with env_override(hydra_cfg.hydra.job.env_set):
            callbacks.on_job_start(config=config, task_function=task_function)
            try:
                ret.return_value = task_function(task_cfg)
                ret.status = JobStatus.COMPLETED
            except Exception as e:
                ret.return_value = e
                ret.status = JobStatus.FAILED
        ret.task_name = JobRuntime.instance().get("name")
        _flush_loggers()
        callbacks.on_job_end(config=config, job_return=ret)
        return ret
    finally:
        HydraConfig.instance().cfg = orig_hydra_cfg
        if _chdir:
            os.chdir(old_cwd)


def execute_job(idx: int, overrides: Sequence[str], token: str, blob: bytes) -> JobReturn:
    """One job in a worker (as the joblib launcher's ``execute_job``)."""
    state = _worker_state(token, blob)
    sweep_config = state["composer"].compose(overrides)
    with read_write(sweep_config.hydra), open_dict(sweep_config):
        sweep_config.hydra.job.id = "{}_{}".format(sweep_config.hydra.job.name, idx)
        sweep_config.hydra.job.num = idx
    # (the joblib launcher also sets HydraConfig here; run_job sets it again before anything reads it)
    ret = run_job(hydra_context=state["hydra_context"], config=sweep_config,
                  task_function=state["task_function"], job_dir_key="hydra.sweep.dir",
                  job_subdir_key="hydra.sweep.subdir")
    return _for_the_sweeper(ret)


def _for_the_sweeper(ret: JobReturn) -> JobReturn:
    """The job's return without its two configs, which are in its folder's ``.hydra/`` already: the
    launching process reads only each job's status and return value (Hydra's sweeper checks them; the
    multirun callbacks get the sweep's config), and pickling the configs back to it took about 7 ms of
    CPU a job, in the worker and in the launching process, which shares the two cores with them."""
    ret.cfg = None
    ret.hydra_cfg = None
    return ret


def _ignore_interrupts() -> None:
    """A worker's start: Ctrl-C (SIGINT, sent to the terminal's whole process group) is left to the
    launching process, which stops the workers and reports; a worker would print a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class KhushehJoblibLauncher(JoblibLauncher):
    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from joblib import Parallel, delayed

        setup_globals()
        assert self.config is not None and self.task_function is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        joblib_cfg = self.joblib
        joblib_cfg["backend"] = "loky"  # as the joblib launcher: threads do not work with Hydra
        process_joblib_cfg(joblib_cfg)
        log.info("Joblib.Parallel(%s) is launching %d jobs",
                 ",".join(f"{k}={v}" for k, v in joblib_cfg.items()), len(job_overrides))
        log.info("Launching jobs, sweep output dir : %s", sweep_dir)
        for idx, overrides in enumerate(job_overrides):
            log.info("\t#%d : %s", idx, " ".join(filter_overrides(overrides)))
        token = uuid.uuid4().hex
        blob = cloudpickle.dumps((self.hydra_context, self.config, self.task_function, Singleton.get_state()))
        runs = Parallel(**joblib_cfg, initializer=_ignore_interrupts)(
            delayed(execute_job)(initial_job_idx + idx, list(overrides), token, blob)
            for idx, overrides in enumerate(job_overrides))
        assert isinstance(runs, list) and all(isinstance(r, JobReturn) for r in runs)
        return runs


@dataclass
class KhushehJoblibLauncherConf(JobLibLauncherConf):
    _target_: str = "hydra_plugins.khusheh_launcher.KhushehJoblibLauncher"


ConfigStore.instance().store(group="hydra/launcher", name="khusheh_joblib", node=KhushehJoblibLauncherConf,
                             provider="khusheh")
