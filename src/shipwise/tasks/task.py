"""A task: its spec (from the task YAML) and its loaded, fingerprinted data."""

from __future__ import annotations

import importlib.resources
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipwise.errors import ConfigError, DataError
from shipwise.tasks.docs import Document, docs_fingerprint, read_documents
from shipwise.tasks.example import Example, split_fingerprint
from shipwise.tasks.jsonl import read_chat_jsonl
from shipwise.tasks.perturb import redteam_split
from shipwise.tasks.schema import check_labels, check_task_metrics, check_task_values

REQUIRED_SPLITS = ("train", "val", "test")
OPTIONAL_SPLITS = ("regression", "redteam")
OUTPUT_KINDS = ("label", "json", "text")
# General questions asked as written, for a task without its own regression split.
GENERAL_REGRESSION = Path(__file__).with_name("general_regression.jsonl")


@dataclass(frozen=True)
class OutputSpec:
    """What the assistant must produce: one label, a JSON object with named fields, or text.

    ``labels`` lists the allowed labels; ``fields`` maps each JSON field to its allowed values
    (``None`` where any value is allowed); ``nullable``: any field may also be null (absent),
    as in an extraction task where most inputs give only some fields; ``lists``: the fields
    whose value is a list (every label that applies; every name a text gives), each item one of
    the field's allowed values where it lists them. A text task may choose
    free-text ``metrics``
    (similarity, rouge_l, chrf, style, judge), declare ``style`` rules (see
    :mod:`shipwise.evaluation.style`) and give the judge its ``rubric``.
    """

    kind: str = "text"
    labels: Sequence[str] | None = None
    fields: Mapping[str, Sequence[str] | None] | None = None
    nullable: bool = False
    lists: Sequence[str] = ()
    metrics: Sequence[str] = ()
    style: Sequence[Any] = ()  # StyleRule, or its mapping from the task YAML
    rubric: str = ""

    def __post_init__(self) -> None:
        if self.kind not in OUTPUT_KINDS:
            raise ConfigError(
                f"unknown output kind {self.kind!r}",
                where="task.output.kind",
                fix=f"use one of {', '.join(OUTPUT_KINDS)}",
            )
        if self.kind == "label" and not self.labels:
            raise ConfigError(
                "a label task needs its list of labels",
                where="task.output.labels",
                fix="list them: labels: [billing, shipping, returns]",
            )
        if self.kind == "json" and not self.fields:
            raise ConfigError(
                "a JSON task needs its fields",
                where="task.output.fields",
                fix="map each field name to its allowed values, or null for free values",
            )
        if self.labels is not None:
            check_labels(self.labels, "task.output.labels")
        if self.fields is not None:
            _check_fields(self.fields)
        if self.lists:
            self._check_lists()
        if self.metrics or self.style or self.rubric:
            self._check_text_metrics()

    def _check_lists(self) -> None:
        if isinstance(self.lists, str) or not all(isinstance(n, str) for n in self.lists):
            raise ConfigError(
                f"task.output.lists must be a list of field names, got {self.lists!r}",
                where="task.output.lists",
                fix="e.g. lists: [tags]",
            )
        object.__setattr__(self, "lists", tuple(self.lists))
        unknown = [n for n in self.lists if n not in (self.fields or {})]
        if self.kind != "json" or unknown:
            what = (
                f"a {self.kind} task" if self.kind != "json" else f"{unknown[0]!r} is not a field"
            )
            raise ConfigError(
                f"output.lists names JSON fields that hold lists, and {what}",
                where="task.output.lists",
                fix="name fields listed under task.output.fields, or remove lists",
            )

    def _check_text_metrics(self) -> None:
        from shipwise.evaluation.style import StyleRule
        from shipwise.evaluation.text_metrics import TEXT_METRICS

        if self.kind != "text":
            raise ConfigError(
                f"metrics, style rules and a rubric are for text outputs, not {self.kind}",
                where="task.output",
                fix="remove them, or set output.kind: text",
            )
        for name in self.metrics:
            if name not in TEXT_METRICS:
                raise ConfigError(
                    f"unknown text metric {name!r}",
                    where="task.output.metrics",
                    fix=f"use any of {', '.join(TEXT_METRICS)}",
                )
        rules = tuple(StyleRule.coerce(rule) for rule in self.style)
        object.__setattr__(self, "style", rules)
        object.__setattr__(self, "metrics", tuple(self.metrics))
        if len({rule.name for rule in rules}) != len(rules):
            raise ConfigError("two style rules share a name", where="task.output.style")
        if ("style" in self.metrics) != bool(rules):
            raise ConfigError(
                "output.metrics lists style without rules, or rules without style",
                where="task.output.style",
                fix="declare the rules under output.style and list style in output.metrics",
            )
        if "judge" in self.metrics and not self.rubric.strip():
            raise ConfigError(
                "the judge metric needs a rubric",
                where="task.output.rubric",
                fix="write what a good answer does, point by point, under output.rubric",
            )


def _check_fields(fields: Any) -> None:
    """JSON fields: text names, each with a list of text values or null (any value)."""
    if not isinstance(fields, Mapping):
        raise ConfigError(
            f"task.output.fields must map field names to allowed values, got {fields!r}",
            where="task.output.fields",
            fix="e.g. fields: {category: [a, b], note: null}",
        )
    for name, allowed in fields.items():
        where = f"task.output.fields.{name}"
        if not isinstance(name, str) or not name:
            raise ConfigError(f"field name {name!r} is not text", where=where, fix="quote it")
        if allowed is not None:
            check_labels(allowed, where)


@dataclass(frozen=True)
class TaskSpec:
    """The task YAML as plain values."""

    name: str
    data_dir: str
    system_prompt: str
    metric: str
    output: OutputSpec = field(default_factory=OutputSpec)
    regression_metric: str = "token_f1"
    max_new_tokens: int = 32
    stop: Sequence[str] = ()  # generation ends at any of these (e.g. "\n" for one-line answers)
    description: str = ""


@dataclass(frozen=True)
class Task:
    spec: TaskSpec
    root: Path
    splits: Mapping[str, Sequence[Example]]
    documents: Sequence[Document]

    @property
    def name(self) -> str:
        return self.spec.name

    def split(self, name: str) -> Sequence[Example]:
        if name not in self.splits:
            raise DataError(
                f"task {self.name!r} has no {name} split",
                where=str(self.root),
                fix=f"add {name}.jsonl to the task folder",
            )
        return self.splits[name]

    def fingerprints(self) -> dict[str, str]:
        prints = {name: split_fingerprint(examples) for name, examples in self.splits.items()}
        if self.documents:
            prints["docs"] = docs_fingerprint(list(self.documents))
        return prints


def resolve_data_dir(data_dir: str, data_root: str | None) -> Path:
    """Where a task's folder is: absolute, under ``paths.data``, ./data, or the shipped tasks."""
    given = Path(data_dir).expanduser()
    if given.is_absolute():
        candidates = [given]
    else:
        roots = [Path(data_root).expanduser()] if data_root else []
        roots += [Path.cwd() / "data", *_shipped_data_roots()]
        candidates = [root / given for root in roots]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise ConfigError(
        f"task folder {data_dir!r} not found (tried {tried})",
        where="task.data_dir",
        fix="set paths.data=<folder holding the task> or an absolute task.data_dir",
    )


def _shipped_data_roots() -> list[Path]:
    # A wheel carries the tasks as package data; a source checkout has them at the repo root.
    packaged = Path(str(importlib.resources.files("shipwise"))) / "_data"
    checkout = Path(__file__).resolve().parents[3] / "data"
    return [p for p in (packaged, checkout) if p.is_dir()]


def task_spec(values: Mapping[str, Any], where: str = "task") -> TaskSpec:
    """A checked ``TaskSpec`` from the composed ``task`` group (plain, resolved values)."""
    check_task_values(values, where)
    output = OutputSpec(**(values.get("output") or {}))
    spec = TaskSpec(**{**values, "output": output, "stop": tuple(values.get("stop") or [])})
    check_task_metrics(spec)
    return spec


def load_task_config(task: Mapping[str, Any], data_root: str | None = None) -> Task:
    """Load the task described by a resolved ``task`` config group (plain values)."""
    return load_task(task_spec(task), data_root)


def load_task(spec: TaskSpec, data_root: str | None = None) -> Task:
    root = resolve_data_dir(spec.data_dir, data_root)
    splits: dict[str, list[Example]] = {}
    for name in REQUIRED_SPLITS:
        splits[name] = read_chat_jsonl(root / f"{name}.jsonl", split=name)
    for name in OPTIONAL_SPLITS:
        path = root / f"{name}.jsonl"
        if path.exists():
            splits[name] = read_chat_jsonl(path, split=name)
    # A task that ships none still gets the forgetting and robustness checks.
    if "regression" not in splits:
        splits["regression"] = read_chat_jsonl(GENERAL_REGRESSION, split="regression")
    if "redteam" not in splits:
        splits["redteam"] = redteam_split(splits["test"])
    _check_ids_disjoint(splits, root)
    return Task(spec=spec, root=root, splits=splits, documents=read_documents(root / "docs"))


def split_sources(root: Path) -> dict[str, str]:
    """Where each optional split of a task folder comes from: its file, or what stands in."""
    stand_ins = {
        "regression": "shipwise's general regression split",
        "redteam": "generated from test (CheckList-style perturbations)",
    }
    return {
        name: str(root / f"{name}.jsonl") if (root / f"{name}.jsonl").is_file() else stand_ins[name]
        for name in OPTIONAL_SPLITS
    }


def _check_ids_disjoint(splits: Mapping[str, Sequence[Example]], root: Path) -> None:
    # Ids pair predictions across arms; an id in two splits would pair a test item with train.
    owner: dict[str, str] = {}
    for name, examples in splits.items():
        for example in examples:
            if example.id in owner:
                raise DataError(
                    f"id {example.id!r} appears in both {owner[example.id]} and {name}",
                    where=str(root),
                    fix="ids must be unique across all splits",
                )
            owner[example.id] = name
