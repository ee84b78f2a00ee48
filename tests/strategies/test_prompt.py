from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shipwise.errors import ConfigError
from shipwise.models.fake import FakeGenerator
from shipwise.retrieval.embedders import HashingEmbedder
from shipwise.strategies.base import SetupContext, render_chat
from shipwise.strategies.prompt import PromptStrategy
from shipwise.tasks.example import Example, Message
from shipwise.tasks.task import OutputSpec, Task, TaskSpec, load_task


def fruit_task(root: Path) -> Task:
    spec = TaskSpec("fruit", str(root), "Name the colour.", "exact_match", OutputSpec("text"))
    return load_task(spec)


def context(tmp_path: Path) -> SetupContext:
    return SetupContext(FakeGenerator(), HashingEmbedder, tmp_path, seed=0)


def test_render_puts_system_demos_then_question() -> None:
    demo = Example("d", (Message("user", "q1"),), "a1")
    example = Example("e", (Message("user", "q2"),), "secret")
    messages = render_chat("sys", example, [demo])
    assert [(m.role, m.content) for m in messages] == [
        ("system", "sys"),
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
    ]
    assert all("secret" not in m.content for m in messages)  # the reference never leaks


def test_a_record_with_its_own_system_message_keeps_it() -> None:
    example = Example("e", (Message("system", "own"), Message("user", "q")), "a")
    messages = render_chat("task prompt", example)
    assert messages[0] == Message("system", "own")
    assert len(messages) == 2


def test_similar_selection_picks_the_nearest_train_examples(
    make_task: Callable[..., Path], tmp_path: Path
) -> None:
    task = fruit_task(make_task(train=8))
    setup = PromptStrategy(k=1, selection="similar").setup(task, context(tmp_path))
    probe = Example("p", (Message("user", "What colour is a cherry?"),), "red")
    [rendered] = setup.predictor.render([probe])
    assert rendered.extras["demo_ids"] == ["f-1"]  # the cherry example from train
    assert rendered.messages[1].content == "What colour is a cherry?"


def test_demos_come_only_from_train(make_task: Callable[..., Path], tmp_path: Path) -> None:
    task = fruit_task(make_task())
    train_ids = {e.id for e in task.split("train")}
    for selection in ("fixed", "random", "similar"):
        setup = PromptStrategy(k=3, selection=selection).setup(task, context(tmp_path))
        for rendered in setup.predictor.render(list(task.split("test"))):
            assert set(rendered.extras["demo_ids"]) <= train_ids
            assert len(rendered.extras["demo_ids"]) == 3


def test_random_selection_is_seeded(make_task: Callable[..., Path], tmp_path: Path) -> None:
    task = fruit_task(make_task(train=8))
    picks = []
    for seed in (0, 0, 1):
        ctx = SetupContext(FakeGenerator(), HashingEmbedder, tmp_path, seed=seed)
        setup = PromptStrategy(k=3, selection="random").setup(task, ctx)
        picks.append(setup.predictor.render(list(task.split("test"))[:1])[0].extras["demo_ids"])
    assert picks[0] == picks[1] != picks[2]


def test_bad_settings_are_config_errors(make_task: Callable[..., Path], tmp_path: Path) -> None:
    task = fruit_task(make_task())
    with pytest.raises(ConfigError, match=r"strategy.selection"):
        PromptStrategy(k=2, selection="best").setup(task, context(tmp_path))
    with pytest.raises(ConfigError, match=r"k=50"):
        PromptStrategy(k=50, selection="fixed").setup(task, context(tmp_path))
    with pytest.raises(ConfigError, match=r"not in the train split: nope"):
        PromptStrategy(k=1, selection="fixed", demo_ids=["nope"]).setup(task, context(tmp_path))


def test_context_goes_next_to_the_question_or_into_the_system_message() -> None:
    demo = Example("d", (Message("user", "q1"),), "a1")
    example = Example("e", (Message("user", "q2"),), "a2")
    near = render_chat("sys", example, [demo], context="CTX", context_in="user")
    assert near[0] == Message("system", "sys")
    assert near[-1] == Message("user", "CTX\n\nQuestion: q2")
    assert near[1] == Message("user", "q1")  # demonstrations stay as they were
    apart = render_chat("sys", example, [demo], context="CTX", context_in="system")
    assert apart[0] == Message("system", "sys\n\nCTX") and apart[-1] == Message("user", "q2")
