"""A task YAML is data: its keys and types are checked, and it can never run code.

Hydra would honour a ``# @package _global_`` line in a task file (letting it set any key,
``hydra.callbacks`` included) and ``instantiate`` would call any ``_target_`` it placed under
``model``. :func:`check_task_file` reads the file as plain YAML before Hydra composes it and
refuses both; :func:`check_task_values` and :func:`check_task_metrics` check the composed
``task`` group (keys, types, the metric) before anything runs, for the study and
``shipwise-data validate`` alike (through ``shipwise.tasks.task.task_spec``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipwise.errors import ConfigError

KEYS = (
    "name",
    "description",
    "data_dir",
    "metric",
    "regression_metric",
    "max_new_tokens",
    "stop",
    "output",
    "system_prompt",
)
REQUIRED = ("name", "data_dir", "metric", "system_prompt")
OUTPUT_KEYS = ("kind", "labels", "fields", "nullable", "lists", "metrics", "style", "rubric")
# Hydra's package header; ``_group_`` and ``task`` only restate where the file already goes.
_PACKAGE = re.compile(r"^\s*#\s*@package\s+(\S*)", re.MULTILINE)
_HARMLESS_PACKAGES = ("_group_", "task")
_SPECIAL = re.compile(r"^_[a-z]+_$")  # _target_, _args_, _partial_, _recursive_, _convert_
YAML_BOOLEANS = "yes, no, on, off, true and false"


def check_task_file(path: Path) -> dict[str, Any]:
    """The task file's values, when it is a plain YAML mapping with no package or _target_."""
    import yaml

    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "it is not UTF-8" if isinstance(exc, UnicodeDecodeError) else exc.strerror
        raise ConfigError(f"cannot read the task file: {reason}", where=where) from None
    package = _PACKAGE.search(text)
    if package and package.group(1) not in _HARMLESS_PACKAGES:
        line = text.count("\n", 0, package.start()) + 1
        raise ConfigError(
            f"a task file cannot carry a package directive (@package {package.group(1)}):"
            " it would let the task set config outside task.*",
            where=f"{where}:{line}",
            fix="delete that line; put settings for other groups in an experiment file"
            " (conf/experiment/) instead",
        )
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{where}:{mark.line + 1}" if mark is not None else where
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"the task file is not valid YAML: {problem}",
            where=at,
            fix="fix the YAML at that line (quote text holding ': ' or '#', indent consistently)",
        ) from None
    if not isinstance(values, dict):
        raise ConfigError(
            f"a task file must be a mapping of keys, not {type(values).__name__}",
            where=where,
            fix=f"write key: value lines ({', '.join(REQUIRED)} at least)",
        )
    refuse_code(values, where)
    return values


def refuse_code(tree: Any, where: str, path: str = "task") -> None:
    """Refuse Hydra's instantiation keys (``_target_`` and kin) and ``defaults`` in task data."""
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            name = str(key)
            if _SPECIAL.match(name) or (path == "task" and name == "defaults"):
                raise ConfigError(
                    f"{path}.{name}: a task file is data and cannot hold {name}",
                    where=where,
                    fix=f"remove {name}; a task names its data, metric, output and prompt only",
                )
            refuse_code(value, where, f"{path}.{name}")
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            refuse_code(value, where, f"{path}[{index}]")


def check_task_values(values: Mapping[str, Any], where: str = "task") -> None:
    """The composed ``task`` group's keys and types (plain, resolved values); the output
    spec's own checks and the metric's follow in ``shipwise.tasks.task.task_spec``."""
    refuse_code(values, where)
    _known_keys(values, KEYS, "task")
    missing = [key for key in REQUIRED if values.get(key) is None]
    if missing:
        raise ConfigError(
            f"the task config has no {missing[0]}",
            where=f"task.{missing[0]}",
            fix=f"add {missing[0]}: ... to the task YAML (see conf/task/support_triage.yaml)",
        )
    for key in ("name", "data_dir", "metric", "system_prompt", "description", "regression_metric"):
        if key in values and not isinstance(values[key], str):
            raise ConfigError(
                _not_text(values[key], f"task.{key}"),
                where=f"task.{key}",
                fix=f"write {key} as text (quote it in the YAML)",
            )
    tokens = values.get("max_new_tokens", 32)
    if type(tokens) is not int or tokens < 1:
        raise ConfigError(
            f"max_new_tokens must be a whole number of at least 1, got {tokens!r}",
            where="task.max_new_tokens",
            fix="e.g. max_new_tokens: 32 (room for the longest answer)",
        )
    stop = values.get("stop") or []
    _strings(stop, "task.stop")
    output_values = values.get("output") or {}
    if not isinstance(output_values, Mapping):
        raise ConfigError(
            "task.output must be a mapping (kind, labels, fields)",
            where="task.output",
            fix="e.g. output: {kind: label, labels: [yes, no]} with the labels quoted",
        )
    _known_keys(output_values, OUTPUT_KEYS, "task.output")


def check_task_metrics(spec: Any) -> None:
    """The task's ``metric`` and ``regression_metric`` exist for its kind of output."""
    from shipwise.evaluation.aggregates import declared_text_metrics
    from shipwise.evaluation.metrics import metric_names

    output = spec.output
    for key, kind, fields in (
        ("metric", output.kind, output.fields),
        ("regression_metric", "text", None),
    ):
        names = metric_names(kind, fields)
        if key == "metric" and kind == "text":
            names += declared_text_metrics(output.metrics, output.style)
        if getattr(spec, key) not in names:
            raise ConfigError(
                f"metric {getattr(spec, key)!r} is not available for {kind} outputs",
                where=f"task.{key}",
                fix=f"use one of {', '.join(names)}",
            )


def _known_keys(values: Mapping[str, Any], known: Sequence[str], group: str) -> None:
    unknown = sorted(set(map(str, values)) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in {group}",
            where=f"{group}.{unknown[0]}",
            fix=f"remove it, or use one of: {', '.join(known)}",
        )


def check_labels(labels: Any, where: str) -> None:
    """Allowed answers must be text; YAML's booleans and numbers are named, not guessed at."""
    _strings(labels, where)


def _strings(values: Any, where: str) -> None:
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise ConfigError(
            f"{where} must be a list, got {values!r}", where=where, fix="write it as [a, b, c]"
        )
    for value in values:
        if not isinstance(value, str):
            raise ConfigError(_not_text(value, where), where=where, fix=_quote_fix(value))
        if not value.strip() and where != "task.stop":
            raise ConfigError(f"{where} holds an empty value", where=where, fix="remove it")


def _not_text(value: Any, key: str) -> str:
    name = key.rsplit(".", 1)[-1]
    if isinstance(value, bool):
        return (
            f"{name} holds the boolean {value}, not text: YAML reads {YAML_BOOLEANS} unquoted"
            " as booleans"
        )
    kind = "a number" if isinstance(value, int | float) else type(value).__name__
    return f"{name} must be text, and {value!r} is {kind}"


def _quote_fix(value: Any) -> str:
    if isinstance(value, bool):
        return "quote each such value, e.g. labels: ['yes', 'no']"
    return "quote each value, e.g. labels: ['1', '2', '3']"
