"""The prompt arm: the task's system prompt plus k demonstrations from the train split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shipwise.models.base import Generator
from shipwise.strategies.base import Rendered, Setup, SetupContext, render_chat
from shipwise.strategies.demos import DemoSelector
from shipwise.tasks.example import Example
from shipwise.tasks.task import Task


@dataclass(frozen=True)
class PromptPredictor:
    generator: Generator
    system_prompt: str
    demos: DemoSelector

    def render(self, examples: Sequence[Example]) -> list[Rendered]:
        rendered = []
        for example, demos in zip(examples, self.demos.select(examples), strict=True):
            messages = render_chat(self.system_prompt, example, demos)
            rendered.append(Rendered(messages, {"demo_ids": [d.id for d in demos]}))
        return rendered


class PromptStrategy:
    """Few-shot prompting: nothing to train, nothing to index (beyond embedding the demo pool)."""

    kind = "prompt"  # which arm this is, whatever the run calls it

    def __init__(
        self,
        k: int = 4,
        selection: str = "similar",
        demo_ids: Sequence[str] | None = None,
        name: str = "prompt",
    ) -> None:
        self.k, self.selection, self.demo_ids = k, selection, demo_ids
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def setup(self, task: Task, context: SetupContext) -> Setup:
        needs_embedder = self.selection == "similar" and self.k > 0
        selector = DemoSelector(
            task.split("train"),
            k=self.k,
            selection=self.selection,
            seed=context.seed,
            embedder=context.cached_embedder() if needs_embedder else None,
            demo_ids=self.demo_ids,
        )
        predictor = PromptPredictor(context.generator, task.spec.system_prompt, selector)
        params = {"demo_pool": len(task.split("train"))}
        return Setup(predictor=predictor, params=params)
