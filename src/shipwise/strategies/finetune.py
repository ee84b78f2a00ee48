"""The fine-tune arm: teach the model the task from the train split, then ask it plainly.

A fine-tuned model does not need the task's long instruction: by default it is trained and asked
with an empty system message (``instruction: false``), which is part of what fine-tuning buys
and what the study measures. ``backend: lora`` trains a LoRA adapter on the local model
(cached under ``paths.cache/adapters`` by everything that shaped it); ``backend: hosted`` runs a
job over the OpenAI fine-tuning protocol and evaluates the model it returns.

The regression split goes to both the base and the fine-tuned model (the forgetting check):
the predictor names its ``base_generator`` and the runner scores both.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipwise.cache import content_key, staged_folder
from shipwise.errors import ConfigError
from shipwise.evaluation.evaluator import Evaluator
from shipwise.finetune.lora import Encoded, LoraSettings, TrainReport, encode, train_lora
from shipwise.locks import exclusive
from shipwise.models.base import Generator
from shipwise.strategies.base import Rendered, Setup, SetupContext, render_chat
from shipwise.tasks.example import Example, Messages, split_fingerprint
from shipwise.tasks.task import Task

if TYPE_CHECKING:
    from peft import PeftModel

    from shipwise.models.local import LocalGenerator

BACKENDS = ("lora", "hosted")
REPORT_FILE = "shipwise.json"


@dataclass(frozen=True)
class FinetunePredictor:
    generator: Generator
    system_prompt: str
    base_generator: Generator | None = None

    def messages(self, example: Example) -> Messages:
        return render_chat(self.system_prompt, example, empty_system=True)

    def render(self, examples: Sequence[Example]) -> list[Rendered]:
        return [Rendered(self.messages(e)) for e in examples]


def settings_from_config(cls: type[Any], values: Mapping[str, Any] | None, group: str) -> Any:
    """A settings dataclass from config, with unknown keys named (not a TypeError)."""
    values = dict(values or {})
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in strategy.{group}",
            where=f"strategy.{group}.{unknown[0]}",
            fix=f"remove it, or use one of: {', '.join(sorted(known))}",
        )
    return cls(**values)


class FinetuneStrategy:
    """Fine-tune on the train split (all of it, or a seeded ``train_size`` subset)."""

    kind = "finetune"  # which arm this is, whatever the run calls it

    def __init__(
        self,
        name: str = "finetune",
        backend: str = "lora",
        train_size: int | None = None,
        instruction: bool = False,
        val_sample: int = 64,
        lora: Mapping[str, Any] | None = None,
        hosted: Mapping[str, Any] | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ConfigError(
                f"unknown fine-tune backend {backend!r}",
                where="strategy.backend",
                fix=f"use one of {', '.join(BACKENDS)}",
            )
        if train_size is not None and train_size < 1:
            raise ConfigError("train_size must be positive or null", where="strategy.train_size")
        if val_sample < 0:
            raise ConfigError("val_sample cannot be negative", where="strategy.val_sample")
        self._name, self.backend, self.train_size = name, backend, train_size
        self.instruction, self.val_sample = instruction, val_sample
        self.lora: LoraSettings = settings_from_config(LoraSettings, lora, "lora")
        self.hosted = dict(hosted or {})

    @property
    def name(self) -> str:
        return self._name

    def setup(self, task: Task, context: SetupContext) -> Setup:
        train = self.train_subset(task.split("train"), context.seed)
        system = task.spec.system_prompt if self.instruction else ""
        if self.backend == "hosted":
            from shipwise.strategies.hosted import hosted_setup

            return hosted_setup(self, task, train, system, context)
        return self._lora_setup(task, train, system, context)

    def train_subset(self, train: Sequence[Example], seed: int) -> list[Example]:
        """A seeded subset of ``train_size`` examples (smaller sizes nest in larger ones)."""
        if self.train_size is None or self.train_size >= len(train):
            return list(train)
        order = list(train)
        random.Random(seed).shuffle(order)
        return order[: self.train_size]

    def val_subset(self, val: Sequence[Example], seed: int) -> list[Example]:
        order = list(val)
        random.Random(seed + 1).shuffle(order)
        return order[: self.val_sample]

    def _lora_setup(
        self, task: Task, train: Sequence[Example], system: str, context: SetupContext
    ) -> Setup:
        from shipwise.models.local import LocalGenerator

        base = context.generator
        if not isinstance(base, LocalGenerator):
            raise ConfigError(
                f"the lora backend trains a local model, and {base.info.name!r} is not one",
                where="strategy.backend",
                fix="use a local model (model=smollm2 or model=hf), or strategy.backend=hosted",
            )
        predictor = FinetunePredictor(base, system)
        val = list(task.split("val"))
        key = content_key(
            base.info.fingerprint,
            split_fingerprint(train),
            split_fingerprint(val),
            asdict(self.lora),
            system,
            self.val_sample,
            asdict(context.settings),
            task.spec.metric,
        )[:24]
        folder = context.root / "adapters" / key
        # A parallel sweep's other run training the same adapter: wait for it, then load it.
        with exclusive(folder, "training this adapter"):
            cached = (folder / REPORT_FILE).is_file()
            if cached:
                model, summary = _load_adapter(base, folder)
            else:
                model, summary = self._train(task, train, val, predictor, base, context, folder)
        context.log_artifacts(folder, "adapter")
        tuned = base.with_model(model, f"{base.info.name}+lora", f"{base.info.fingerprint}+{key}")
        train_s = float(summary.get("train/wall_s", 0.0))
        return Setup(
            predictor=FinetunePredictor(tuned, system, base_generator=base),
            params={
                "backend": "lora",
                "adapter": key,
                "adapter_cached": cached,
                "train_examples": len(train),
                "instruction": self.instruction,
            },
            metrics=summary,
            # A cached adapter cost its training once; a refresh retrains, so it is that cost.
            build_s=train_s if cached else None,
        )

    def _train(
        self,
        task: Task,
        train: Sequence[Example],
        val: Sequence[Example],
        predictor: FinetunePredictor,
        base: LocalGenerator,
        context: SetupContext,
        folder: Path,
    ) -> tuple[Any, dict[str, float]]:
        _, tokenizer = base.load()
        end = int(base.end_token())

        def encoded(examples: Sequence[Example]) -> list[Encoded]:
            items = [(e.id, base.render(predictor.messages(e)), e.reference) for e in examples]
            return encode(tokenizer, items, end, self.lora.max_length)

        sample = self.val_subset(val, context.seed)
        evaluator = Evaluator(task.spec.output, task.spec.metric, context.seed)

        def evaluate(model: PeftModel) -> float:
            if not sample:
                return 0.0
            probe = base.with_model(model, "in training", "")  # type: ignore[arg-type]
            answers = probe.generate([predictor.messages(e) for e in sample], context.settings)
            scores = [
                evaluator.score(a.text, e.reference)[task.spec.metric]
                for a, e in zip(answers, sample, strict=True)
            ]
            return sum(scores) / len(scores)

        report = train_lora(
            base.fresh_model(),
            encoded(train),
            encoded(val),
            self.lora,
            pad_id=int(tokenizer.pad_token_id),
            evaluate=evaluate if self.val_sample else None,
            on_metrics=context.log_metrics,
        )
        summary = report.summary()
        _save_adapter(report, folder, summary, {"train_ids": [e.id for e in train]})
        return report.model.merge_and_unload(), summary


def _save_adapter(
    report: TrainReport, folder: Path, summary: Mapping[str, float], extra: Mapping[str, Any]
) -> None:
    """The adapter and its training report, written whole or not at all."""
    with staged_folder(folder) as staging:
        report.model.save_pretrained(str(staging))
        record = {
            "summary": dict(summary),
            "epochs": [asdict(e) for e in report.epochs],
            **extra,
        }
        (staging / REPORT_FILE).write_text(json.dumps(record, indent=1))


def _load_adapter(base: LocalGenerator, folder: Path) -> tuple[Any, dict[str, float]]:
    from peft import PeftModel

    model = PeftModel.from_pretrained(base.fresh_model(), str(folder))
    record = json.loads((folder / REPORT_FILE).read_text())
    return model.merge_and_unload(), {k: float(v) for k, v in record["summary"].items()}
