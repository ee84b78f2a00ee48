"""Arms composed of parts: what each shipped YAML builds, and that a tuned arm trains on
exactly the prompts it is later asked (retrieved passages included)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shipwise.config import compose, instantiate_node
from shipwise.errors import ConfigError
from shipwise.finetune.adapter import LoraBackend
from shipwise.finetune.base import Tuned, TuningData, train_subset
from shipwise.models.base import Generator
from shipwise.models.fake import FakeGenerator
from shipwise.retrieval.embedders import HashingEmbedder
from shipwise.strategies.arm import Arm
from shipwise.strategies.base import SetupContext, TrainingLimits
from shipwise.strategies.parts import Demos, Retrieval
from shipwise.tasks.task import OutputSpec, Task, TaskSpec, load_task

DOCS = {
    "yellow.md": "Bananas, lemons and mangoes are yellow fruit.",
    "red.md": "Cherries, strawberries and apples are red fruit.",
    "green.md": "Limes, kiwis and pears are green fruit.",
    "purple.md": "Plums, grapes and blueberries are purple fruit.",
}


def fruit_task(root: Path) -> Task:
    spec = TaskSpec("fruit", str(root), "Name the colour.", "exact_match", OutputSpec("text"))
    return load_task(spec)


def context(tmp_path: Path, generator: Generator | None = None) -> SetupContext:
    return SetupContext(generator or FakeGenerator(), HashingEmbedder, tmp_path, seed=0)


@dataclass
class Recorder:
    """A backend that trains nothing: it keeps what it was given and returns a fake model."""

    train_size: int | None = None
    build_s: float | None = None
    seen: list[TuningData] = field(default_factory=list)

    def limits(self) -> TrainingLimits:
        return TrainingLimits(max_tokens=64)

    def tune(self, base: Generator, data: TuningData, context: SetupContext) -> Tuned:
        self.seen.append(data)
        tuned = FakeGenerator(default="tuned", name="fake+tuned")
        return Tuned(tuned, base, {"backend": "recorder"}, {"train/steps": 1.0}, 0.5, self.build_s)


@pytest.mark.parametrize(
    ("arm", "index", "demos", "learns", "simplicity"),
    [("prompt", False, True, None, 2), ("rag", True, True, None, 3),
     ("finetune", False, False, "the adapter", 4), ("rag_finetune", True, False, "the adapter", 5)],
)  # fmt: skip
def test_each_shipped_arm_is_the_composition_its_yaml_names(
    arm: str, index: bool, demos: bool, learns: str | None, simplicity: int
) -> None:
    strategy = instantiate_node(compose([f"strategy={arm}"])["strategy"], "strategy")
    assert isinstance(strategy, Arm) and strategy.name == arm
    info = strategy.info
    assert (info.kind, info.index, info.demos, info.learns) == (arm, index, demos, learns)
    assert info.simplicity == simplicity and info.shippable and info.general
    assert (info.training is not None) == (learns is not None)


def test_part_defaults_live_in_one_place_the_dataclass() -> None:
    """The YAML picks parts; their values come from the dataclasses' own defaults."""
    strategy = instantiate_node(compose(["strategy=finetune"])["strategy"], "strategy")
    assert strategy.backend == LoraBackend(seed=0)
    rag = instantiate_node(compose(["strategy=rag", "seed=3"])["strategy"], "strategy")
    assert rag.retrieval == Retrieval() and rag.demos == Demos()
    tuned = compose(["strategy=finetune", "seed=3", "strategy.backend.epochs=3"])["strategy"]
    assert tuned["backend"]["seed"] == 3 and tuned["backend"]["epochs"] == 3
    hosted = compose(["strategy=finetune", "strategy/backend=hosted"])["strategy"]["backend"]
    assert hosted["_target_"].endswith("HostedBackend") and hosted["max_cost_usd"] == 1.0


def test_a_tuned_arm_trains_on_exactly_what_it_is_asked(
    make_task: Callable[..., Path], tmp_path: Path
) -> None:
    task = fruit_task(make_task(train=6, val=2, test=2, docs=DOCS))
    backend = Recorder()
    arm = Arm("rag_finetune", "rag_finetune", 5, False, retrieval=Retrieval(), backend=backend)
    setup = arm.setup(task, context(tmp_path))
    [data] = backend.seen
    asked = setup.predictor.render(list(task.split("train")))
    assert [r.messages for r in data.train] == [r.messages for r in asked]
    assert [r.reference for r in data.train] == [e.reference for e in task.split("train")]
    assert [r.id for r in data.val] == [e.id for e in task.split("val")]
    first = data.train[0].messages
    assert first[0].content == "" and "Passages from our documents:" in first[-1].content
    # the retrieval that trained it is the retrieval that answers: the index is built once
    assert setup.params["collection"].startswith("fruit-") and setup.params["backend"] == "recorder"
    assert setup.predictor.generator.info.name == "fake+tuned"
    assert setup.baseline is not None and setup.baseline.info.name == "fake"
    assert data.score(["yellow"], data.val[:1]) in (0.0, 1.0)


def test_the_fine_tuned_arm_is_asked_without_the_instruction(
    make_task: Callable[..., Path], tmp_path: Path
) -> None:
    task = fruit_task(make_task())
    tuned = Arm("finetune", "finetune", 4, instruction=False, backend=Recorder())
    [plain] = tuned.setup(task, context(tmp_path)).predictor.render(list(task.split("test"))[:1])
    assert [m.role for m in plain.messages] == ["system", "user"]
    assert plain.messages[0].content == ""
    kept = Arm("finetune", "finetune", 4, instruction=True, backend=Recorder())
    [asked] = kept.setup(task, context(tmp_path)).predictor.render(list(task.split("test"))[:1])
    assert asked.messages[0].content == "Name the colour."


def test_setup_is_costed_as_a_build_from_nothing_when_a_part_was_reused(
    make_task: Callable[..., Path], tmp_path: Path
) -> None:
    task = fruit_task(make_task(docs=DOCS))
    fresh = Arm("x", "x", 1, False, retrieval=Retrieval(), backend=Recorder()).setup(
        task, context(tmp_path)
    )
    assert fresh.build_s is None  # everything was built now: its time is the measured one
    reused = Arm("x", "x", 1, False, retrieval=Retrieval(), backend=Recorder(build_s=300.0))
    setup = reused.setup(task, context(tmp_path))  # the index is synced: nothing re-embedded
    assert setup.build_s is not None and setup.build_s >= 300.0
    assert setup.cost_usd == 0.5 and setup.metrics["index.chunks_embedded"] == 0


def test_train_subsets_are_seeded_and_nest(make_task: Callable[..., Path]) -> None:
    train = fruit_task(make_task(train=8, val=2, test=2)).split("train")
    small, large = train_subset(train, 3, seed=0), train_subset(train, 6, seed=0)
    assert [e.id for e in large[:3]] == [e.id for e in small]  # a learning curve adds examples
    assert train_subset(train, 3, seed=1) != small
    assert len(train_subset(train, None, seed=0)) == 8


def test_lora_needs_a_local_model(make_task: Callable[..., Path], tmp_path: Path) -> None:
    task = fruit_task(make_task())
    arm = Arm("finetune", "finetune", 4, False, backend=LoraBackend())
    with pytest.raises(ConfigError, match="not one") as err:
        arm.setup(task, context(tmp_path))
    assert "strategy/backend=hosted" in str(err.value.fix)


def test_backend_settings_are_checked_where_they_are_set() -> None:
    with pytest.raises(ConfigError) as err:
        LoraBackend(train_size=0)
    assert err.value.where == "strategy.backend.train_size"
    with pytest.raises(ConfigError) as err:
        LoraBackend(rank=0)
    assert err.value.where == "strategy.backend.rank"


def test_a_retrieving_arm_is_skipped_on_a_task_without_documents(
    make_task: Callable[..., Path],
) -> None:
    no_docs = fruit_task(make_task())
    reason = Arm("rag", "rag", 3, True, retrieval=Retrieval()).not_applicable(no_docs)
    assert reason is not None and "no documents to retrieve from" in reason
    assert "--docs-col" in reason  # and how to give it some
    assert Arm("prompt", "prompt", 2, True, demos=Demos()).not_applicable(no_docs) is None
    with_docs = fruit_task(make_task(docs=DOCS))
    assert Arm("rag", "rag", 3, True, retrieval=Retrieval()).not_applicable(with_docs) is None
