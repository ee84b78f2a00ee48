"""shipwise: run one arm of the study, or the whole study.

Usage:
    shipwise                                   # one run: the default task, the prompt arm
    shipwise -m                                # the study: every arm in hydra.sweeper.params
    shipwise task=policy_qa strategy=prompt limit=20
    shipwise -m strategy.demos.k=2,4,8         # a sweep; each combination is one MLflow run
    shipwise -m arms.backend.train_size=300    # a setting for every arm that has the part
    shipwise model=openai model.model=gpt-4o-mini   # key from $OPENAI_API_KEY
    shipwise --cfg job                         # print the composed config

Hydra stays here: this module turns the composed config into plain arguments for the runner.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipwise.config import config_dir, instantiate_node, register_resolvers
from shipwise.errors import ConfigError, ShipwiseError
from shipwise.scrub import scrub, scrub_files, scrub_value

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from shipwise.models.base import Generator
    from shipwise.runner import RunSpec
    from shipwise.tasks.task import OutputSpec


def main() -> None:
    import hydra

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # MLflow's INFO lines (creating tables, flushing traces at exit) say nothing a user acts on
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    # SIGTERM (`kill`, a scheduler) ends like Ctrl-C: the MLflow run is closed KILLED and every
    # finished prediction stays cached. SIGKILL cannot be caught; the next run cleans up after it.
    signal.signal(signal.SIGTERM, _interrupt)
    register_resolvers()
    try:
        # Before Hydra writes .hydra/*.yaml into the run folder, or composes a task file.
        _check_command_line(sys.argv[1:])
    except ShipwiseError as exc:
        _report_error(exc.render())
        raise SystemExit(2) from None
    app = hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
    try:
        app(_job)()
    except KeyboardInterrupt as exc:
        signum = int(str(exc).rpartition(" ")[2]) if str(exc).startswith("signal") else 2
        _report_error(
            f"interrupted ({signal.Signals(signum).name}): a run in progress was closed KILLED and"
            " its finished predictions are cached; re-run the same command to resume"
        )
        raise SystemExit(128 + signum) from None


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _check_command_line(argv: list[str]) -> None:
    """Refuse keys and code-carrying task files; make sure the root folders can be written."""
    from shipwise.paths import writable_folder
    from shipwise.preflight import check_argv, search_dirs
    from shipwise.project import check_tasks_found

    check_argv(argv, config_dir())
    check_tasks_found(argv, search_dirs(argv, config_dir()))
    if any(a in ("--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i") for a in argv):
        return  # prints only: nothing will be written
    for arg in argv:
        key, _, value = arg.partition("=")
        if key in ("paths.root", "paths.cache") and value and not re.search(r"[,$(]", value):
            writable_folder(value, key)


def _job(cfg: DictConfig) -> dict[str, Any]:
    """One Hydra job. In a sweep a failing arm reports and lets the others run."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    output = Path(HydraConfig.get().runtime.output_dir)
    _apply_arm_settings(cfg)
    try:
        scrub_files(hydra_files(output))  # a key a config file carried, in .hydra/ copies
        check_before_work(cfg)
        validate_data(cfg)
        spec = build_run_spec(cfg)
        from shipwise.runner import run

        result = run(spec).as_json()
    except ShipwiseError as exc:
        _report_error(exc.render())
        if not multirun:
            raise SystemExit(2) from None
        failed = {"error": scrub(exc.what), "run_name": _run_name(cfg)}
        # The study table of a parallel sweep reads this (its workers' returns do not reach it).
        (output / "result.json").write_text(json.dumps(failed))
        return failed
    finally:
        scrub_files(hydra_files(output))  # and in the job's log
    if not multirun:
        from shipwise.report import print_table, results_table

        skipped = [(result["run_name"], result["skipped"])] if result.get("skipped") else []
        print_table(results_table([] if skipped else [result], skipped=skipped))
    return result


_APPLIED: list[str] = []  # this job's arms.* keys that reached its arm (for its run name)


def _apply_arm_settings(cfg: DictConfig) -> None:
    from omegaconf import open_dict

    from shipwise.arm_settings import apply_arm_settings

    with open_dict(cfg):
        _APPLIED[:] = apply_arm_settings(cfg)


def _report_error(message: str) -> None:
    print(f"shipwise: error: {scrub(message)}", file=sys.stderr, flush=True)


def hydra_files(folder: Path) -> list[Path]:
    """The text files Hydra keeps in a run folder: the config's copies and the job's log."""
    return [*folder.glob("*.log"), *folder.glob(".hydra/*.yaml")]


def check_before_work(cfg: DictConfig) -> None:
    """The composed config checked before any data is read or model loaded (see preflight)."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from shipwise.preflight import check_composed

    try:
        plain: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "config"
        raise ConfigError(str(exc).splitlines()[0], where=key, fix="check that value") from None
    check_composed(plain)


def _run_name(cfg: DictConfig) -> str:
    from hydra.core.hydra_config import HydraConfig

    ignored: tuple[str, ...] = ("paths.", "tracking.", "hydra.", "hydra/", "study.")
    if str(cfg.tracking.get("experiment")) == str(cfg.task.name):
        ignored += ("task=",)  # the experiment already names the task
    # a key given twice (a script's default, then the user's) takes its last value, as in Hydra
    from shipwise.arm_settings import applies

    last = {
        o.split("=", 1)[0]: o
        for o in HydraConfig.get().overrides.task
        if not o.startswith(ignored)
        and not o.startswith("strategy=")
        and not o.split("=", 1)[0].endswith("cache_dir")  # where files are kept, not results
        and applies(o, _APPLIED)
    }
    return scrub(" ".join([str(cfg.strategy.name), *sorted(last.values())]))


def _hub_offline(cfg: DictConfig) -> None:
    """Keep the HF hub off when every model is a local path (nothing may wait on a hub)."""
    paths = [cfg.model.get("path"), cfg.embedder.get("path")]
    if all(p is None or Path(str(p)).expanduser().exists() for p in paths):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def validate_data(cfg: DictConfig) -> None:
    """The task's data checked before any compute: errors stop the run, warnings are noted."""
    from omegaconf import OmegaConf

    from shipwise.errors import DataError
    from shipwise.tasks.task import resolve_data_dir
    from shipwise.validation.context import task_files, validate_cached

    _hub_offline(cfg)
    plain: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    name = str(plain["task"]["name"])
    folder = resolve_data_dir(plain["task"]["data_dir"], plain["paths"]["data"])
    cache = Path(plain["paths"]["cache"]).expanduser() / "validation"
    report = validate_cached(name, folder, task_files(folder), plain, cache)
    if report.exit_code == 2:
        from rich.console import Console

        from shipwise.validation.render import render

        render(report, Console(stderr=True, width=140))
        raise DataError(
            f"the {name} data has {len(report.errors)} errors (listed above); nothing was run",
            where=str(folder),
            fix=f"fix them, then re-run (shipwise-data validate {name} checks without running)",
        )
    if report.warnings:
        checks = sorted({f.check for f in report.warnings})
        print(
            f"{name}: data checked, {len(report.warnings)} warnings ({', '.join(checks)});"
            f" shipwise-data validate {name} lists them",
            file=sys.stderr,
            flush=True,
        )


def build_run_spec(cfg: DictConfig) -> RunSpec:
    """Plain objects from the composed config: task, strategy, generator, tracking."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from shipwise.evaluation.evaluator import ScoringContext
    from shipwise.models.base import GenerationSettings
    from shipwise.runner import RunSpec
    from shipwise.tasks.task import load_task_config
    from shipwise.tracking import TrackingConfig, flatten

    _hub_offline(cfg)
    plain: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    task = load_task_config(plain["task"], plain["paths"]["data"])
    root = Path(plain["paths"]["cache"]).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    generation = plain["generation"]
    generator = _shared(plain["model"], "model")
    settings = GenerationSettings(
        max_new_tokens=task.spec.max_new_tokens,
        temperature=generation["temperature"],
        top_p=generation["top_p"],
        stop=tuple(generation["stop"]) + tuple(task.spec.stop),
        seed=plain["seed"],
        allowed=_allowed(generation["constrain"], task.spec.output, generator),
    )
    limit = plain["limit"]
    if limit is not None and limit < 1:
        from shipwise.errors import ConfigError

        raise ConfigError("limit must be a positive number or null", where="limit")
    return RunSpec(
        task=task,
        strategy=instantiate_node(cfg.strategy, "strategy"),
        generator=generator,
        embedder_factory=lambda: _shared(plain["embedder"], "embedder"),
        settings=settings,
        tracking=TrackingConfig(**plain["tracking"]),
        root=root,
        run_name=_run_name(cfg),
        params=scrub_value(flatten(plain)),  # they reach MLflow and the state records
        eval_splits=tuple(plain["eval_splits"]),
        limit=limit,
        seed=plain["seed"],
        output_dir=Path(HydraConfig.get().runtime.output_dir),
        scoring=ScoringContext(
            embedder_factory=lambda: _shared(plain["embedder"], "embedder"),
            judge=_shared(plain["judge"], "judge") if plain.get("judge") else None,
        ),
    )


_BUILT: dict[str, Any] = {}


def _shared(node: dict[str, Any], group: str) -> Any:
    """One model (or embedder) per resolved config in this process: the arms of a sweep share
    its loaded weights and its kept prompt prefix instead of loading them again."""
    key = json.dumps({"group": group, **node}, sort_keys=True, default=str)
    if key not in _BUILT:
        _BUILT[key] = instantiate_node(node, group)
    return _BUILT[key]


def _allowed(constrain: Any, output: OutputSpec, generator: Generator) -> tuple[str, ...]:
    """The answers decoding may produce: ``generation.constrain`` is auto, true or false."""
    from shipwise.errors import ConfigError
    from shipwise.models.constrained import allowed_outputs, declares_closed_set

    if constrain == "auto":
        if not generator.constrains:
            return ()
        try:
            return allowed_outputs(output)
        except ConfigError as exc:  # free text, or free JSON fields: nothing to constrain to
            if declares_closed_set(output):  # closed, but too many answers to enumerate: say so
                print(f"answers not constrained: {exc.what}", file=sys.stderr, flush=True)
            return ()
    if constrain is True:
        return allowed_outputs(output)
    if constrain is False:
        return ()
    raise ConfigError(
        f"generation.constrain must be auto, true or false, not {constrain!r}",
        where="generation.constrain",
    )


if __name__ == "__main__":
    main()
