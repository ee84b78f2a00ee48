"""A toy arm written outside the package, as a user would: one module and one YAML.

``lookup`` answers each question with the reference of the train example sharing the most
words with it: no language model, no embedder. The test that uses it
(tests/test_plugin_arm.py) chooses it by ``_target_`` from a YAML in a temporary config
folder and runs it through ``shipwise -m`` and ``shipwise-decide`` with no edit to shipwise.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from shipwise.models.base import (
    Completion,
    GenerationSettings,
    ModelInfo,
    Price,
    ProgressCallback,
    TokenCounting,
)
from shipwise.strategies.base import ArmInfo, PlainPredictor, Setup, SetupContext
from shipwise.tasks.example import Example, Messages, last_user_text
from shipwise.tasks.task import Task


def words(text: str) -> set[str]:
    return {w.strip("?.,!").lower() for w in text.split()}


@dataclass
class Lookup:
    """Answers with the reference of the train example that shares the most words."""

    pool: Sequence[Example]
    usd_per_hour: float
    constrains: bool = False

    @property
    def info(self) -> ModelInfo:
        return ModelInfo("word-lookup", "toy:lookup", Price(usd_per_hour=self.usd_per_hour))

    def token_counting(self) -> TokenCounting | None:
        return None

    def generate(
        self,
        prompts: Sequence[Messages],
        settings: GenerationSettings,
        on_progress: ProgressCallback | None = None,
    ) -> list[Completion]:
        out = []
        for prompt in prompts:
            started = time.perf_counter()
            asked = words(last_user_text(prompt))
            best = max(self.pool, key=lambda e: len(asked & words(e.user_text)))
            elapsed = time.perf_counter() - started
            out.append(Completion(best.reference, 0, 0, elapsed, elapsed))
            if on_progress:
                on_progress(1)
        return out


class LookupArm:
    """The toy arm: its identity comes from its YAML, like every arm's."""

    def __init__(self, name: str, kind: str, simplicity: int, usd_per_hour: float) -> None:
        self.name, self.usd_per_hour = name, usd_per_hour
        self.info = ArmInfo(kind=kind, simplicity=simplicity, general=False)

    def not_applicable(self, task: Task) -> str | None:
        return None if task.split("train") else "there is no train split to look answers up in"

    def setup(self, task: Task, context: SetupContext) -> Setup:
        lookup = Lookup(list(task.split("train")), self.usd_per_hour)
        return Setup(PlainPredictor(lookup), params={"pool": len(task.split("train"))})
