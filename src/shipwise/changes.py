"""What changed since an arm last ran, and what the run will redo because of it.

Each finished run leaves a record of its inputs (every example's digest per split, every
document's digest, the effective settings, the model's fingerprint) under
``<paths.cache>/state/<task>/``, one file per run name (one arm configuration). The next run of
that arm compares its inputs against the record, prints a short summary and logs it, before
any work starts. The caches decide what is actually redone; this says what to expect.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipwise.cache import atomic_write_text, slug
from shipwise.strategies.base import ArmInfo
from shipwise.tasks.example import example_digest
from shipwise.tasks.task import Task

# Config that cannot change what an arm computes: where things are kept, and the decision.
IGNORED_SETTINGS = ("paths.", "tracking.", "decision.", "hydra.", "study.")
# Settings whose change invalidates every prediction of any arm.
ALL_PREDICTIONS = ("model.", "generation.", "task.system_prompt", "task.max_new_tokens", "seed")
SHOWN = 3  # ids named per kind of change; the rest are counted


@dataclass(frozen=True)
class Inputs:
    """Everything one run of an arm consumed, as digests."""

    splits: Mapping[str, Mapping[str, str]]  # split -> example id -> digest
    docs: Mapping[str, str]  # document id -> digest
    settings: Mapping[str, str]
    model: str

    def as_json(self) -> dict[str, Any]:
        return {
            "splits": {k: dict(v) for k, v in self.splits.items()},
            "docs": dict(self.docs),
            "settings": dict(self.settings),
            "model": self.model,
        }


def current_inputs(task: Task, params: Mapping[str, Any], model: str) -> Inputs:
    settings = {
        key: json.dumps(value, sort_keys=True, default=str)
        for key, value in params.items()
        if not key.startswith(IGNORED_SETTINGS)
    }
    return Inputs(
        splits={name: {e.id: example_digest(e) for e in ex} for name, ex in task.splits.items()},
        docs={doc.id: doc.digest for doc in task.documents},
        settings=settings,
        model=model,
    )


@dataclass(frozen=True)
class Delta:
    """Ids added, removed and changed between two versions of a collection."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    @property
    def touched(self) -> int:
        return len(self.added) + len(self.removed) + len(self.changed)

    def describe(self, noun: str) -> str:
        parts = []
        for verb, ids in (("added", self.added), ("changed", self.changed)):
            if ids:
                parts.append(f"{len(ids)} {verb} ({_names(ids)})")
        if self.removed:
            parts.append(f"{len(self.removed)} removed ({_names(self.removed)})")
        return f"{noun}: " + ", ".join(parts)


def delta(before: Mapping[str, str], after: Mapping[str, str]) -> Delta:
    return Delta(
        added=tuple(sorted(set(after) - set(before))),
        removed=tuple(sorted(set(before) - set(after))),
        changed=tuple(sorted(k for k in after if k in before and before[k] != after[k])),
    )


@dataclass(frozen=True)
class Changes:
    """The difference between an arm's last recorded inputs and this run's."""

    first_run: bool
    splits: Mapping[str, Delta] = field(default_factory=dict)
    docs: Delta = field(default_factory=Delta)
    settings: Sequence[tuple[str, str | None, str | None]] = ()
    model_changed: bool = False

    @property
    def any(self) -> bool:
        return self.first_run or self.model_changed or bool(self.settings) or self.touched > 0

    @property
    def touched(self) -> int:
        return self.docs.touched + sum(d.touched for d in self.splits.values())

    def lines(self) -> list[str]:
        if self.first_run:
            return ["first run of this arm: everything is computed"]
        out = [d.describe(f"{name} examples") for name, d in self.splits.items() if d.touched]
        if self.docs.touched:
            out.append(self.docs.describe("documents"))
        for key, old, new in self.settings[:SHOWN]:
            out.append(f"setting {key}: {old if old is not None else '(unset)'} -> {new}")
        if len(self.settings) > SHOWN:
            out.append(f"... and {len(self.settings) - SHOWN} more settings changed")
        if self.model_changed:
            out.append("the model's weights changed")
        return out or ["nothing changed since the last run"]

    def metrics(self) -> dict[str, float]:
        values: dict[str, float] = {"changes/settings": len(self.settings)}
        for name, d in [*self.splits.items(), ("docs", self.docs)]:
            values[f"changes/{name}_added"] = len(d.added)
            values[f"changes/{name}_changed"] = len(d.changed)
            values[f"changes/{name}_removed"] = len(d.removed)
        return values

    def as_json(self) -> dict[str, Any]:
        return {
            "first_run": self.first_run,
            "splits": {k: _delta_json(d) for k, d in self.splits.items()},
            "docs": _delta_json(self.docs),
            "settings": [{"key": k, "before": a, "after": b} for k, a, b in self.settings],
            "model_changed": self.model_changed,
            "summary": self.lines(),
        }


def compare(before: Inputs | None, after: Inputs) -> Changes:
    if before is None:
        return Changes(first_run=True)
    keys = sorted(set(before.settings) | set(after.settings))
    settings = [
        (k, before.settings.get(k), after.settings.get(k))
        for k in keys
        if before.settings.get(k) != after.settings.get(k)
    ]
    return Changes(
        first_run=False,
        splits={
            name: delta(before.splits.get(name, {}), after.splits.get(name, {}))
            for name in sorted(set(before.splits) | set(after.splits))
        },
        docs=delta(before.docs, after.docs),
        settings=settings,
        model_changed=before.model != after.model,
    )


def planned_work(arm: ArmInfo, changes: Changes, eval_splits: Iterable[str]) -> list[str]:
    """What the run should redo, from what the arm declares it builds and reads."""
    if changes.first_run:
        return []
    redo_all = changes.model_changed or any(
        key.startswith(ALL_PREDICTIONS) or key.startswith("strategy.")
        for key, _, _ in changes.settings
    )
    docs = changes.docs
    plan = []
    if arm.index and docs.touched:
        plan.append(
            f"re-index {len(docs.added) + len(docs.changed)} documents"
            + (f", drop {len(docs.removed)}" if docs.removed else "")
        )
    learned_from = any(changes.splits.get(s, Delta()).touched for s in ("train", "val"))
    # an arm that learns from rendered rows relearns when their retrieved passages change
    if arm.learns and (learned_from or redo_all or (arm.index and docs.touched)):
        plan.append(f"rebuild {arm.learns}, then answer every example with it")
        return plan
    if redo_all:
        plan.append("generate every prediction (the model or settings changed)")
        return plan
    for split in eval_splits:
        d = changes.splits.get(split, Delta())
        if d.added or d.changed:
            plan.append(f"generate {len(d.added) + len(d.changed)} new or changed {split} answers")
    if arm.demos and changes.splits.get("train", Delta()).touched:
        plan.append("regenerate answers whose few-shot demonstrations changed")
    if arm.index and docs.touched:
        plan.append("regenerate answers whose retrieved passages changed")
    return plan


class InputsRecord:
    """The inputs of an arm's last finished run, kept per task and run name."""

    def __init__(self, root: Path, task: str, run_name: str) -> None:
        digest = hashlib.sha256(run_name.encode()).hexdigest()[:10]
        self.path = root / "state" / task / f"{slug(run_name, 40, 'run')}-{digest}.json"

    def load(self) -> Inputs | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return Inputs(data["splits"], data["docs"], data["settings"], data["model"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # none yet, or unreadable: treated as a first run

    def save(self, inputs: Inputs, run_id: str) -> None:
        atomic_write_text(self.path, json.dumps({**inputs.as_json(), "run_id": run_id}))


def _names(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:SHOWN])
    return shown + (f", +{len(ids) - SHOWN} more" if len(ids) > SHOWN else "")


def _delta_json(d: Delta) -> dict[str, list[str]]:
    return {"added": list(d.added), "removed": list(d.removed), "changed": list(d.changed)}
