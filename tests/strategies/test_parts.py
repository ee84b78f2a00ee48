"""The parts an arm is built from: demonstrations, retrieval, and the renderer joining them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shipwise.errors import ConfigError
from shipwise.models.fake import FakeGenerator
from shipwise.retrieval.embedders import HashingEmbedder
from shipwise.strategies.base import SetupContext
from shipwise.strategies.parts import Demos, Renderer, Retrieval
from shipwise.tasks.example import Example, Message
from shipwise.tasks.task import OutputSpec, Task, TaskSpec, load_task


def fruit_task(root: Path) -> Task:
    spec = TaskSpec("fruit", str(root), "Name the colour.", "exact_match", OutputSpec("text"))
    return load_task(spec)


def context(tmp_path: Path, seed: int = 0) -> SetupContext:
    return SetupContext(FakeGenerator(), HashingEmbedder, tmp_path, seed=seed)


def demo_ids(task: Task, demos: Demos, tmp_path: Path, examples: list[Example]) -> list[list[str]]:
    renderer = Renderer("sys", False, demos.build(task, context(tmp_path)))
    return [list(r.extras["demo_ids"]) for r in renderer.render(examples)]


def test_similar_selection_picks_the_nearest_train_examples(
    make_task: Callable[..., Path], tmp_path: Path
) -> None:
    task = fruit_task(make_task(train=8))
    probe = Example("p", (Message("user", "What colour is a cherry?"),), "red")
    renderer = Renderer("sys", False, Demos(k=1).build(task, context(tmp_path)))
    [rendered] = renderer.render([probe])
    assert rendered.extras["demo_ids"] == ["f-1"]  # the cherry example from train
    assert rendered.messages[1].content == "What colour is a cherry?"


def test_demos_come_only_from_train(make_task: Callable[..., Path], tmp_path: Path) -> None:
    task = fruit_task(make_task())
    train_ids = {e.id for e in task.split("train")}
    for selection in ("fixed", "random", "similar"):
        chosen = demo_ids(task, Demos(k=3, selection=selection), tmp_path, [*task.split("test")])
        assert all(set(ids) <= train_ids and len(ids) == 3 for ids in chosen)


def test_a_train_example_is_never_its_own_demonstration(
    make_task: Callable[..., Path], tmp_path: Path
) -> None:
    """A tuned arm renders its training rows with the arm's demonstrations: no self-copies."""
    task = fruit_task(make_task(train=6))
    train = list(task.split("train"))
    for selection in ("fixed", "similar"):
        chosen = demo_ids(task, Demos(k=2, selection=selection), tmp_path, train)
        assert all(e.id not in ids for e, ids in zip(train, chosen, strict=True)), selection
    nearest = demo_ids(task, Demos(k=1), tmp_path, train)
    assert all(len(ids) == 1 for ids in nearest)  # the next nearest takes its place


def test_random_selection_is_seeded(make_task: Callable[..., Path], tmp_path: Path) -> None:
    task = fruit_task(make_task(train=8))
    picks = []
    for seed in (0, 0, 1):
        selector = Demos(k=3, selection="random").build(task, context(tmp_path, seed))
        picks.append([d.id for d in selector.select(list(task.split("test"))[:1])[0]])
    assert picks[0] == picks[1] != picks[2]


def test_bad_settings_are_config_errors(make_task: Callable[..., Path], tmp_path: Path) -> None:
    task = fruit_task(make_task())
    with pytest.raises(ConfigError, match=r"strategy.demos.selection"):
        Demos(k=2, selection="best")
    with pytest.raises(ConfigError, match=r"strategy.demos.k"):
        Demos(k=-1)
    with pytest.raises(ConfigError, match=r"k=50"):
        Demos(k=50, selection="fixed").build(task, context(tmp_path))
    with pytest.raises(ConfigError, match=r"not in the train split: nope"):
        Demos(k=1, selection="fixed", demo_ids=("nope",)).build(task, context(tmp_path))


def test_retrieval_settings_that_cannot_work_are_refused(
    make_task: Callable[..., Path], tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"strategy.retrieval.context_template"):
        Retrieval(context_template="no slot")
    with pytest.raises(ConfigError, match=r"strategy.retrieval.top_k"):
        Retrieval(top_k=0)
    with pytest.raises(ConfigError) as err:
        Retrieval(top_k=5, depth=3)  # the prompt would take chunks that were never retrieved
    assert err.value.where == "strategy.retrieval.depth" and "at least 5" in str(err.value.fix)
    with pytest.raises(ConfigError, match=r"strategy.retrieval.context_in"):
        Retrieval(context_in="assistant")
    no_docs = fruit_task(make_task())
    with pytest.raises(ConfigError, match=r"no documents to retrieve from"):
        Retrieval().build(no_docs, context(tmp_path))
