"""The lora backend on the real tiny model: it trains, logs, and a re-run loads its adapter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shipwise.finetune import adapter
from shipwise.finetune.adapter import LoraBackend
from shipwise.models.base import GenerationSettings
from shipwise.retrieval.embedders import HashingEmbedder
from shipwise.strategies.arm import Arm
from shipwise.strategies.base import SetupContext
from shipwise.tasks.task import OutputSpec, Task, TaskSpec, load_task

COLOURS = ["yellow", "red", "green", "purple"]


def fruit_task(root: Path) -> Task:
    spec = TaskSpec(
        "fruit",
        str(root),
        "Name the colour of the fruit in one word.",
        "label_accuracy",
        OutputSpec("label", labels=COLOURS),
        max_new_tokens=4,
    )
    return load_task(spec)


def context(generator: Any, root: Path, **kw: Any) -> SetupContext:
    return SetupContext(generator, HashingEmbedder, root, seed=0, **kw)


def tuned_arm(**recipe: Any) -> Arm:
    return Arm("finetune", "finetune", 4, instruction=False, backend=LoraBackend(**recipe))


@pytest.mark.slow
def test_lora_trains_logs_and_a_rerun_loads_the_cached_adapter(
    make_task: Callable[..., Path], tmp_path: Path, smollm2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = fruit_task(make_task(train=8, val=2, test=2))
    logged: list[tuple[dict[str, float], int]] = []
    artifacts: list[Path] = []
    settings = GenerationSettings(max_new_tokens=4, allowed=tuple(COLOURS))
    arm = tuned_arm(val_sample=2, epochs=2, batch_size=4, rank=4, learning_rate=2e-3)
    ctx = context(
        smollm2,
        tmp_path,
        settings=settings,
        log_metrics=lambda m, step: logged.append((dict(m), step)),
        log_artifacts=lambda folder, path: artifacts.append(folder),
    )
    first = arm.setup(task, ctx)

    assert first.params["adapter_cached"] is False and first.params["train_examples"] == 8
    assert first.metrics["train/steps"] >= 2 and first.metrics["train/tokens_per_s"] > 0
    assert "val/loss" in logged[-1][0] and "val/primary" in logged[-1][0]
    steps = [step for m, step in logged if "train/loss" in m]
    assert steps == sorted(steps) and len(steps) == first.metrics["train/steps"]
    [folder] = artifacts
    assert (folder / "adapter_config.json").is_file() and (folder / "shipwise.json").is_file()
    assert first.baseline is smollm2
    predictor = first.predictor
    assert predictor.generator.info.fingerprint != smollm2.info.fingerprint
    messages = [r.messages for r in predictor.render(task.split("test"))]
    answers = [c.text for c in predictor.generator.generate(messages, settings)]
    assert set(answers) <= set(COLOURS)  # constrained decoding: only labels come out

    def no_training(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the cached adapter should have been loaded")

    monkeypatch.setattr(adapter, "train_lora", no_training)
    loads: list[Path] = []
    load_adapter = adapter._load_adapter

    def counted(base: Any, folder: Path) -> Any:
        loads.append(folder)
        return load_adapter(base, folder)

    monkeypatch.setattr(adapter, "_load_adapter", counted)
    again = arm.setup(task, context(smollm2, tmp_path, settings=settings))
    assert loads == []  # nothing asked of the tuned model yet: an all-cached re-run never loads it
    assert (
        again.params["adapter_cached"] is True
        and again.params["adapter"] == first.params["adapter"]
    )
    # a refresh would retrain: costed at the recorded training time, not the quick load
    assert again.build_s is not None and again.build_s >= first.metrics["train/wall_s"] > 0
    assert [c.text for c in again.predictor.generator.generate(messages, settings)] == answers
    again.predictor.generator.generate(messages, settings)
    assert loads == [folder]  # loaded once, when first asked
    # the base model is untouched by training (the regression baseline asks it)
    assert smollm2.generate(messages, settings)[0].text in COLOURS

    with pytest.raises(AssertionError, match="cached adapter"):  # new settings train anew
        tuned_arm(val_sample=2, epochs=1, batch_size=4, rank=8).setup(
            task, context(smollm2, tmp_path, settings=settings)
        )
    with_instruction = Arm("finetune", "finetune", 4, True, backend=arm.backend)
    with pytest.raises(AssertionError, match="cached adapter"):  # other prompts train anew
        with_instruction.setup(task, context(smollm2, tmp_path, settings=settings))
