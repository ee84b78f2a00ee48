"""An arm composed of parts: context (demonstrations, retrieved passages) and a model (the
run's base model, or that model tuned by a backend).

The study's language-model arms are all this one class with different YAML:

- prompt: the instruction and ``demos``;
- rag: the instruction, ``demos`` and ``retrieval``;
- finetune: no instruction, tuned by ``backend`` (lora or hosted);
- rag_finetune: no instruction, ``retrieval``, tuned by ``backend`` on prompts that carry the
  passages retrieval returns for each training question (distractors included, as RAFT does).

Setup builds the parts, then renders the train and val rows through the same renderer the arm
asks with, so a tuned arm trains on exactly what it will be asked.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from shipwise.evaluation.evaluator import Evaluator
from shipwise.finetune.base import Backend, TrainRow, TuningData, train_subset
from shipwise.models.base import Generator
from shipwise.strategies.base import ArmInfo, Rendered, Setup, SetupContext, check_arm
from shipwise.strategies.parts import Built, Demos, Renderer, Retrieval
from shipwise.tasks.example import Example
from shipwise.tasks.task import Task


@dataclass(frozen=True)
class ArmPredictor:
    generator: Generator
    renderer: Renderer

    def render(self, examples: Sequence[Example]) -> list[Rendered]:
        return self.renderer.render(examples)


class Arm:
    """A language-model arm built from parts; see the module docstring for the four shipped.

    ``instruction``: send the task's system prompt (False: an empty system message, as a
    fine-tuned model is asked). Parts left out (None) are not used.
    """

    def __init__(
        self,
        name: str,
        kind: str,
        simplicity: int,
        instruction: bool,
        demos: Demos | None = None,
        retrieval: Retrieval | None = None,
        backend: Backend | None = None,
    ) -> None:
        check_arm(name, kind, simplicity)
        self._name, self.instruction = name, instruction
        self.demos, self.retrieval, self.backend = demos, retrieval, backend
        self._info = ArmInfo(
            kind=kind,
            simplicity=simplicity,
            index=retrieval is not None,
            demos=demos is not None and demos.k > 0,
            learns="the adapter" if backend is not None else None,
            training=backend.limits() if backend is not None else None,
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def info(self) -> ArmInfo:
        return self._info

    def not_applicable(self, task: Task) -> str | None:
        # a language model can attempt any task; retrieval needs something to retrieve
        if self.retrieval is not None and not task.documents:
            return (
                f"task {task.name!r} has no documents to retrieve from ({task.root / 'docs'} is"
                " empty or missing); import the table with --docs-col COL, or add"
                " .md/.txt/.jsonl files there"
            )
        return None

    def setup(self, task: Task, context: SetupContext) -> Setup:
        parts: list[tuple[Built, float]] = []
        demos = None
        if self.demos is not None:
            started = time.perf_counter()
            demos = self.demos.build(task, context)
            parts.append((Built(params={"demo_pool": len(task.split("train"))}), _since(started)))
        retriever = None
        if self.retrieval is not None:
            started = time.perf_counter()
            retriever, built = self.retrieval.build(task, context)
            parts.append((built, _since(started)))
        system = task.spec.system_prompt if self.instruction else ""
        renderer = Renderer(system, not self.instruction, demos, retriever)
        generator, baseline = context.generator, None
        if self.backend is not None:
            started = time.perf_counter()
            data = self._data(task, renderer, context)
            tuned = self.backend.tune(context.generator, data, context)
            generator, baseline = tuned.generator, tuned.baseline
            params = {
                **tuned.params,
                "train_examples": len(data.train),
                "instruction": self.instruction,
            }
            built = Built(params, tuned.metrics, tuned.cost_usd, tuned.build_s)
            parts.append((built, _since(started)))
        reused = any(b.build_s is not None for b, _ in parts)
        return Setup(
            predictor=ArmPredictor(generator, renderer),
            params={k: v for b, _ in parts for k, v in b.params.items()},
            metrics={k: v for b, _ in parts for k, v in b.metrics.items()},
            cost_usd=sum(b.cost_usd for b, _ in parts),
            # a refresh builds every part from nothing: what each reused part once took
            build_s=sum(b.build_s if b.build_s is not None else s for b, s in parts)
            if reused
            else None,
            baseline=baseline,
        )

    def _data(self, task: Task, renderer: Renderer, context: SetupContext) -> TuningData:
        """Train and val rows rendered exactly as the arm asks (retrieval included)."""
        assert self.backend is not None
        train = train_subset(task.split("train"), self.backend.train_size, context.seed)
        val = list(task.split("val"))
        evaluator = Evaluator(
            task.spec.output, task.spec.metric, context.seed, context=context.scoring
        )
        by_id = {e.id: e for e in val}

        def rows(examples: Sequence[Example]) -> list[TrainRow]:
            rendered = renderer.render(examples)
            return [
                TrainRow(e.id, r.messages, e.reference)
                for e, r in zip(examples, rendered, strict=True)
            ]

        def score(answers: Sequence[str], asked: Sequence[TrainRow]) -> float:
            examples = [by_id[r.id] for r in asked]
            scores = evaluator.score_batch(
                list(answers),
                [e.reference for e in examples],
                inputs=[e.user_text for e in examples],
                alternatives=[e.alternatives for e in examples],
            )
            return evaluator.value(scores)

        return TuningData(rows(train), rows(val), score, task.spec.metric)


def _since(started: float) -> float:
    return time.perf_counter() - started
