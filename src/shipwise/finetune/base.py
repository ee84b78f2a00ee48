"""The fine-tune backend seam: rendered rows in, a tuned generator (and its baseline) out.

A backend never renders anything itself: the arm renders train and val rows through the same
renderer it asks with (instruction or not, demonstrations, retrieved passages), so what a model
is tuned on is exactly what it is asked. Backends are chosen by ``_target_`` under
``strategy.backend`` (``strategy/backend=lora`` or ``hosted``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from shipwise.models.base import Generator
from shipwise.strategies.base import SetupContext, TrainingLimits
from shipwise.tasks.example import Messages


@dataclass(frozen=True)
class TrainRow:
    """One rendered example: the prompt as the arm asks it, and the answer to learn."""

    id: str
    messages: Messages
    reference: str

    def as_chat(self) -> dict[str, Any]:
        """The chat fine-tuning format: the prompt's messages, then the assistant's answer."""
        messages = [m.as_dict() for m in self.messages]
        return {"messages": [*messages, {"role": "assistant", "content": self.reference}]}


@dataclass(frozen=True)
class TuningData:
    """What a backend trains on and checks against.

    ``score(answers, rows)`` is the task's primary metric over answers to val rows, so a
    backend can pick its best epoch by the metric the study decides on (``metric`` names it).
    """

    train: Sequence[TrainRow]
    val: Sequence[TrainRow]
    score: Callable[[Sequence[str], Sequence[TrainRow]], float]
    metric: str


@dataclass(frozen=True)
class Tuned:
    """A backend's result: the tuned model, the model it started from, and what it took."""

    generator: Generator
    baseline: Generator
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    cost_usd: float = 0.0  # billed beyond local compute (a hosted job)
    build_s: float | None = None  # the training time a reused result once took


@runtime_checkable
class Backend(Protocol):
    """Tunes a model on rendered rows; ``train_size`` caps the train split (None = all)."""

    @property
    def train_size(self) -> int | None: ...

    def limits(self) -> TrainingLimits:
        """What training data must fit (validated before anything is spent)."""
        ...

    def tune(self, base: Generator, data: TuningData, context: SetupContext) -> Tuned: ...


def train_subset(rows: Sequence[Any], size: int | None, seed: int) -> list[Any]:
    """A seeded subset of ``size`` items; smaller sizes nest inside larger ones."""
    if size is None or size >= len(rows):
        return list(rows)
    order = list(rows)
    random.Random(seed).shuffle(order)
    return order[:size]
