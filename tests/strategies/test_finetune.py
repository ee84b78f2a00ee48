"""The fine-tune arm: settings, subsets, the LoRA backend on the real model, its adapter cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shipwise.errors import ConfigError
from shipwise.models.base import GenerationSettings
from shipwise.models.fake import FakeGenerator
from shipwise.retrieval.embedders import HashingEmbedder
from shipwise.strategies import finetune
from shipwise.strategies.base import SetupContext
from shipwise.strategies.finetune import FinetunePredictor, FinetuneStrategy
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


def test_unknown_lora_keys_and_backends_are_named() -> None:
    with pytest.raises(ConfigError, match=r"strategy\.lora\.rnk") as err:
        FinetuneStrategy(lora={"rnk": 8})
    assert "rank" in str(err.value)
    with pytest.raises(ConfigError, match="backend"):
        FinetuneStrategy(backend="cloud")
    with pytest.raises(ConfigError, match="train_size"):
        FinetuneStrategy(train_size=0)


def test_train_subsets_are_seeded_and_nest(make_task: Callable[..., Path]) -> None:
    train = fruit_task(make_task(train=8, val=2, test=2)).split("train")
    small = FinetuneStrategy(train_size=3).train_subset(train, seed=0)
    large = FinetuneStrategy(train_size=6).train_subset(train, seed=0)
    assert [e.id for e in large[:3]] == [e.id for e in small]  # a learning curve adds examples
    assert FinetuneStrategy(train_size=3).train_subset(train, seed=1) != small
    assert len(FinetuneStrategy().train_subset(train, seed=0)) == 8


def test_the_fine_tuned_model_is_asked_without_the_instruction(
    make_task: Callable[..., Path],
) -> None:
    example = fruit_task(make_task()).split("test")[0]
    plain = FinetunePredictor(FakeGenerator(), "").messages(example)
    assert [m.role for m in plain] == ["system", "user"] and plain[0].content == ""
    kept = FinetunePredictor(FakeGenerator(), "Name the colour.").messages(example)
    assert kept[0].content == "Name the colour."


def test_lora_needs_a_local_model(make_task: Callable[..., Path], tmp_path: Path) -> None:
    task = fruit_task(make_task())
    with pytest.raises(ConfigError, match="not one") as err:
        FinetuneStrategy().setup(task, context(FakeGenerator(), tmp_path))
    assert "strategy.backend=hosted" in str(err.value)


@pytest.mark.slow
def test_lora_trains_logs_and_a_rerun_loads_the_cached_adapter(
    make_task: Callable[..., Path], tmp_path: Path, smollm2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = fruit_task(make_task(train=8, val=2, test=2))
    logged: list[tuple[dict[str, float], int]] = []
    artifacts: list[Path] = []
    settings = GenerationSettings(max_new_tokens=4, allowed=tuple(COLOURS))
    strategy = FinetuneStrategy(
        val_sample=2, lora={"epochs": 2, "batch_size": 4, "rank": 4, "learning_rate": 2e-3}
    )
    ctx = context(
        smollm2,
        tmp_path,
        settings=settings,
        log_metrics=lambda m, step: logged.append((dict(m), step)),
        log_artifacts=lambda folder, path: artifacts.append(folder),
    )
    first = strategy.setup(task, ctx)

    assert first.params["adapter_cached"] is False and first.params["train_examples"] == 8
    assert first.metrics["train/steps"] >= 2 and first.metrics["train/tokens_per_s"] > 0
    assert "val/loss" in logged[-1][0] and "val/primary" in logged[-1][0]
    steps = [step for m, step in logged if "train/loss" in m]
    assert steps == sorted(steps) and len(steps) == first.metrics["train/steps"]
    [folder] = artifacts
    assert (folder / "adapter_config.json").is_file() and (folder / "shipwise.json").is_file()
    predictor = first.predictor
    assert isinstance(predictor, FinetunePredictor) and predictor.base_generator is smollm2
    assert predictor.generator.info.fingerprint != smollm2.info.fingerprint
    messages = [r.messages for r in predictor.render(task.split("test"))]
    answers = [c.text for c in predictor.generator.generate(messages, settings)]
    assert set(answers) <= set(COLOURS)  # constrained decoding: only labels come out

    def no_training(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the cached adapter should have been loaded")

    monkeypatch.setattr(finetune, "train_lora", no_training)
    again = strategy.setup(task, context(smollm2, tmp_path, settings=settings))
    assert (
        again.params["adapter_cached"] is True
        and again.params["adapter"] == first.params["adapter"]
    )
    # a refresh would retrain: costed at the recorded training time, not the quick load
    assert again.build_s == first.metrics["train/wall_s"] and again.build_s > 0
    assert [c.text for c in again.predictor.generator.generate(messages, settings)] == answers
    # the base model is untouched by training (the regression baseline asks it)
    assert smollm2.generate(messages, settings)[0].text in COLOURS

    changed = FinetuneStrategy(val_sample=2, lora={"epochs": 1, "batch_size": 4, "rank": 8})
    monkeypatch.setattr(finetune, "train_lora", no_training)
    with pytest.raises(AssertionError, match="cached adapter"):
        changed.setup(task, context(smollm2, tmp_path, settings=settings))  # new settings train
