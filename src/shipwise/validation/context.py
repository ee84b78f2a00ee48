"""What a validation checks against: a task's files, its output spec, the model's tokenizer.

A target is a task name (its config composed like the study's), a task folder, or one JSONL
file. The tokenizer is the configured model's own (a local model's, loaded without its weights)
or, for an OpenAI-compatible model, the hosted tokenizer spec with its labelled fallback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from shipwise.cache import atomic_write_text, content_key
from shipwise.config import instantiate_node
from shipwise.errors import ConfigError
from shipwise.models.base import Generator
from shipwise.strategies.base import Strategy, TrainingLimits
from shipwise.tasks.docs import read_documents
from shipwise.tasks.task import OutputSpec, resolve_data_dir
from shipwise.validation.model import Context, Finding, Report, Tokens
from shipwise.validation.run import validate_files

SPLIT_FILES = ("train", "val", "test", "regression", "redteam")


def task_files(folder: Path) -> dict[str, Path]:
    """The split files of a task folder: the known splits first, then any other ``.jsonl``."""
    files = {s: folder / f"{s}.jsonl" for s in SPLIT_FILES if (folder / f"{s}.jsonl").exists()}
    for path in sorted(folder.glob("*.jsonl")):
        files.setdefault(path.stem, path)
    for required in ("train", "val", "test"):
        files.setdefault(required, folder / f"{required}.jsonl")  # reported missing
    return files


def context_from_config(plain: Mapping[str, Any], folder: Path | None) -> Context:
    """The checks' context from a composed config: the task, the model, the arm's training."""
    limits = _training(plain)
    return Context(
        output=OutputSpec(**((plain.get("task") or {}).get("output") or {})),
        tokens=model_tokens(plain.get("model") or {}),
        max_length=limits.max_tokens if limits else None,
        documents=read_documents(folder / "docs") if folder else (),
        hosted=limits.billing if limits else None,
    )


def _training(plain: Mapping[str, Any]) -> TrainingLimits | None:
    """The arm's training limits, as the arm itself declares them (None: it does not train)."""
    if not plain.get("strategy"):
        return None
    strategy: Strategy = instantiate_node(plain["strategy"], "strategy")
    return strategy.info.training


def _settings_read(plain: Mapping[str, Any]) -> dict[str, Any]:
    """The only config values validation reads: what its cached results are keyed by."""
    limits = _training(plain)
    return {
        "output": (plain.get("task") or {}).get("output"),
        "model": plain.get("model"),
        "training": asdict(limits) if limits is not None else None,
    }


def model_tokens(model: Mapping[str, Any]) -> Tokens | None:
    """Token counting with the configured model's tokenizer (None when there is no model)."""
    if not model.get("_target_"):
        return None
    generator: Generator = instantiate_node(model, "model")
    return generator.token_counting()


def validate_cached(
    target: str, folder: Path, files: Mapping[str, Path], plain: Mapping[str, Any], cache: Path
) -> Report:
    """``validate_files`` for a composed config, remembered while files and config are unchanged.

    The key is built from file stats and the settings validation reads, so a hit loads no
    tokenizer at all, and arms that read the same settings (prompt, rag) share one result.
    """
    key = content_key(
        _stats([*files.values(), *sorted((folder / "docs").rglob("*"))]), _settings_read(plain)
    )[:32]
    path = cache / f"{key}.json"
    cached = _cached(path, target)
    if cached is not None:
        return cached
    report = validate_files(target, files, context_from_config(plain, folder))
    atomic_write_text(path, json.dumps(report.as_json()))
    return report


def _stats(paths: Sequence[Path]) -> list[tuple[str, int, int]]:
    out = []
    for path in paths:
        try:
            stat = path.stat()
            out.append((str(path.resolve()), stat.st_size, stat.st_mtime_ns))
        except OSError:
            out.append((str(path), -1, -1))
    return out


def _cached(path: Path, target: str) -> Report | None:
    try:
        data = json.loads(path.read_text())
        findings = [Finding(**f) for f in data["findings"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Report(target=target, files=data["files"], findings=findings, stats=data["stats"])


def resolve_target(target: str, overrides: Sequence[str]) -> tuple[Path, dict[str, Path], Any]:
    """(folder, files, composed config) for a task name, a task folder or a JSONL file."""
    from shipwise.config import compose

    given = Path(target).expanduser()
    if given.is_file() or given.suffix == ".jsonl":
        if not given.is_file():
            raise ConfigError(f"no file {target!r}", fix="check the path")
        # Named after its file: train/val/test.jsonl get the split checks (size), others not.
        split = given.stem
        plain = compose(["strategy=finetune", *overrides])
        plain["task"] = {}  # a lone file: no task's output spec applies
        return given.parent, {split: given}, plain
    if given.is_dir():
        plain = compose(["strategy=finetune", *overrides])
        if not any(o.startswith("task") for o in overrides):  # else the task given applies
            plain["task"] = _task_of_folder(given.resolve(), plain)
        return given, task_files(given), plain
    plain = compose([f"task={target}", "strategy=finetune", *overrides])
    folder = resolve_data_dir(plain["task"]["data_dir"], plain["paths"]["data"])
    return folder, task_files(folder), plain


def _task_of_folder(folder: Path, plain: Mapping[str, Any]) -> dict[str, Any]:
    """The task config whose data is this folder, if any (for its output spec)."""
    from shipwise.config import compose
    from shipwise.project import config_dirs

    for yaml in sorted(p for folder in config_dirs() for p in (folder / "task").glob("*.yaml")):
        try:
            task = compose([f"task={yaml.stem}"])["task"]
            if resolve_data_dir(task["data_dir"], plain["paths"]["data"]) == folder:
                return dict(task)
        except ConfigError:
            continue
    return {}
