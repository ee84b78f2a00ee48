"""The lora backend: a LoRA adapter trained on the arm's rendered rows, cached by its inputs.

The adapter is keyed by everything that shaped it: the base weights, the rendered train and
val rows (so a change of instruction, demonstrations or retrieved passages retrains), every
setting, the decoding settings of the epoch checks and the metric they score. A re-run with
the same inputs loads it from ``<paths.cache>/adapters/<key>`` and does not train; a parallel
sweep's other run training the same adapter is waited for, then loaded. Training keeps its
state in ``<key>.partial`` at the end of every epoch, so a run killed mid-training resumes from
its last finished epoch on the next run; the folder is removed once the adapter is saved.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipwise.cache import content_key, staged_folder
from shipwise.errors import ConfigError
from shipwise.finetune.base import TrainRow, Tuned, TuningData
from shipwise.finetune.lora import Encoded, LoraSettings, TrainReport, encode, train_lora
from shipwise.locks import exclusive
from shipwise.models.base import Generator
from shipwise.progress import status
from shipwise.strategies.base import SetupContext, TrainingLimits

if TYPE_CHECKING:
    from peft import PeftModel

    from shipwise.models.local import LocalGenerator

REPORT_FILE = "shipwise.json"


@dataclass(frozen=True)
class LoraBackend(LoraSettings):
    """LoRA on the run's own local model (peft); the recipe's fields are :class:`LoraSettings`.

    ``val_sample`` val rows are answered after every epoch with the run's decoding settings and
    scored with the task's metric, to keep the best epoch (0 = by val loss only).
    """

    train_size: int | None = None  # a seeded subset of the train split (None = all of it)
    val_sample: int = 64
    # a wall-clock budget: training stops when it is spent and keeps the best epoch so far
    # (the interrupted epoch is checked on val like any other); None = no budget
    max_train_minutes: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        budget = self.max_train_minutes
        if budget is not None and (
            isinstance(budget, bool) or not isinstance(budget, int | float) or budget <= 0
        ):
            raise ConfigError(
                f"max_train_minutes must be a positive number or null, got {budget!r}",
                where="strategy.backend.max_train_minutes",
                fix="e.g. strategy.backend.max_train_minutes=20 (arms.backend.* for every arm)",
            )
        if self.train_size is not None and self.train_size < 1:
            raise ConfigError(
                "train_size must be positive or null", where="strategy.backend.train_size"
            )
        if self.val_sample < 0:
            raise ConfigError("val_sample cannot be negative", where="strategy.backend.val_sample")

    def limits(self) -> TrainingLimits:
        return TrainingLimits(max_tokens=self.max_length)

    def recipe(self) -> LoraSettings:
        """The training settings alone (the config sets ``seed`` to the run's seed)."""
        own = ("train_size", "val_sample", "max_train_minutes")
        fields = {k: v for k, v in asdict(self).items() if k not in own}
        return LoraSettings(**fields)

    def tune(self, base: Generator, data: TuningData, context: SetupContext) -> Tuned:
        from shipwise.models.local import LocalGenerator

        if not isinstance(base, LocalGenerator):
            raise ConfigError(
                f"the lora backend trains a local model, and {base.info.name!r} is not one",
                where="strategy.backend",
                fix="use a local model (model=smollm2 or model=hf), or strategy/backend=hosted",
            )
        recipe = self.recipe()
        key = content_key(
            base.info.fingerprint,
            [_row_key(r) for r in data.train],
            [_row_key(r) for r in data.val],
            asdict(recipe),
            self.val_sample,
            asdict(context.settings),
            data.metric,
            # a budget can cut training short; without one the key is what it always was
            *([self.max_train_minutes] if self.max_train_minutes is not None else []),
        )[:24]
        folder = context.root / "adapters" / key
        name, fingerprint = f"{base.info.name}+lora", f"{base.info.fingerprint}+{key}"
        with exclusive(folder, "training this adapter"):
            cached = (folder / REPORT_FILE).is_file()
            if cached:
                # loaded and merged only if an answer is not cached (an unchanged re-run: never)
                summary = _adapter_summary(folder)
                tuned = base.with_weights(lambda: _load_adapter(base, folder), name, fingerprint)
            else:
                model, summary = self._train(base, data, recipe, context, folder)
                tuned = base.with_model(model, name, fingerprint)
        context.log_artifacts(folder, "adapter")
        return Tuned(
            generator=tuned,
            baseline=base,
            params={"backend": "lora", "adapter": key, "adapter_cached": cached},
            metrics=summary,
            # A cached adapter cost its training once; a refresh retrains, so it is that cost.
            build_s=float(summary.get("train/wall_s", 0.0)) if cached else None,
        )

    def _train(
        self,
        base: LocalGenerator,
        data: TuningData,
        recipe: LoraSettings,
        context: SetupContext,
        folder: Path,
    ) -> tuple[Any, dict[str, float]]:
        _, tokenizer = base.load()
        end = int(base.end_token())

        def encoded(rows: Sequence[TrainRow]) -> list[Encoded]:
            items = [(r.id, base.render(r.messages), r.reference) for r in rows]
            return encode(tokenizer, items, end, recipe.max_length)

        sample = list(data.val)
        random.Random(context.seed + 1).shuffle(sample)
        sample = sample[: self.val_sample]

        def evaluate(model: PeftModel) -> float:
            if not sample:
                return 0.0
            probe = base.with_model(model, "in training", "")  # type: ignore[arg-type]
            answers = probe.generate([r.messages for r in sample], context.settings)
            return data.score([a.text for a in answers], sample)

        partial = partial_folder(folder)
        report = train_lora(
            base.fresh_model(),
            encoded(data.train),
            encoded(data.val),
            recipe,
            pad_id=int(tokenizer.pad_token_id),
            evaluate=evaluate if self.val_sample else None,
            on_metrics=context.log_metrics,
            checkpoint_dir=partial,
            max_minutes=self.max_train_minutes,
        )
        summary = report.summary()
        _save_adapter(report, folder, summary, {"train_ids": [r.id for r in data.train]})
        shutil.rmtree(partial, ignore_errors=True)
        return report.model.merge_and_unload(), summary


def partial_folder(folder: Path) -> Path:
    """Where training of the adapter in ``folder`` keeps its resumable state."""
    return folder.with_name(f"{folder.name}.partial")


def _row_key(row: TrainRow) -> list[Any]:
    return [row.id, [m.as_dict() for m in row.messages], row.reference]


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


def _adapter_summary(folder: Path) -> dict[str, float]:
    record = json.loads((folder / REPORT_FILE).read_text())
    return {k: float(v) for k, v in record["summary"].items()}


def _load_adapter(base: LocalGenerator, folder: Path) -> Any:
    """The base weights with the saved adapter merged in."""
    from peft import PeftModel

    with status(f"Loading the adapter {folder.name}"):
        model = PeftModel.from_pretrained(base.fresh_model(), str(folder))
        return model.merge_and_unload()
