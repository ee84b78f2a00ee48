"""The arms that need no language model: the majority floor and nearest neighbours."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from shipwise.config import compose, instantiate_node
from shipwise.errors import ConfigError
from shipwise.models.base import GenerationSettings
from shipwise.models.fake import FakeGenerator
from shipwise.retrieval.embedders import HashingEmbedder
from shipwise.runner import RunSpec, run
from shipwise.strategies.base import SetupContext
from shipwise.strategies.baselines import KnnArm, MajorityArm, Neighbours
from shipwise.tasks.example import Example
from shipwise.tasks.task import OutputSpec, Task, TaskSpec, load_task
from shipwise.tracking import TrackingConfig, find_runs
from tests.conftest import qa, write_jsonl

COLOURS = ["yellow", "red", "green", "purple"]


def colour_task(root: Path) -> Task:
    spec = TaskSpec("fruit", str(root), "Name the colour.", "label_accuracy",
                    OutputSpec("label", labels=COLOURS))  # fmt: skip
    return load_task(spec)


def context(tmp_path: Path) -> SetupContext:
    return SetupContext(FakeGenerator(), lambda: HashingEmbedder(dim=256), tmp_path, seed=0)


def answers(setup_predictor: object, examples: list[Example]) -> list[str]:
    predictor = setup_predictor
    rendered = predictor.render(examples)  # type: ignore[attr-defined]
    generator = predictor.generator  # type: ignore[attr-defined]
    return [
        c.text for c in generator.generate([r.messages for r in rendered], GenerationSettings())
    ]


def test_majority_answers_the_most_frequent_train_label(
    make_task: Callable[..., Path], tmp_path: Path
) -> None:
    task = colour_task(make_task(train=9, val=2, test=1))  # train: 3 red, 2 of each other
    setup = MajorityArm("majority", "majority", 0).setup(task, context(tmp_path))
    assert setup.params["answer"] == "red"
    assert set(answers(setup.predictor, list(task.split("test")))) == {"red"}
    info = MajorityArm("majority", "majority", 0).info
    assert not info.shippable and not info.general and info.simplicity == 0


def test_majority_for_json_takes_each_fields_most_frequent_value_absent_included(
    tmp_path: Path,
) -> None:
    root = tmp_path / "slots"
    rows = [{"to": None, "when": None}] * 3 + [{"to": "Paris", "when": None}] * 2
    rows += [{"to": "Rome", "when": "May"}]
    write_jsonl(
        root / "train.jsonl", [qa(f"t{i}", f"trip {i}", json.dumps(r)) for i, r in enumerate(rows)]
    )
    write_jsonl(root / "val.jsonl", [qa("v0", "trip v", json.dumps(rows[0]))])
    write_jsonl(root / "test.jsonl", [qa("s0", "trip s", json.dumps(rows[0]))])
    spec = TaskSpec("slots", str(root), "Extract.", "slot_f1",
                    OutputSpec("json", fields={"to": None, "when": None}))  # fmt: skip
    setup = MajorityArm("majority", "majority", 0).setup(load_task(spec), context(tmp_path))
    assert json.loads(setup.params["answer"]) == {"to": None, "when": None}


def test_majority_counts_a_field_holding_lists(tmp_path: Path) -> None:
    # a label marked several times in a row (people in a sentence) is a list field
    root = tmp_path / "people"
    rows = [{"person": None}] * 2 + [{"person": ["Ada", "Alan"]}] * 2
    rows += [{"person": ["alan", "ada"]}]
    write_jsonl(
        root / "train.jsonl", [qa(f"t{i}", f"note {i}", json.dumps(r)) for i, r in enumerate(rows)]
    )
    for split in ("val", "test"):
        write_jsonl(root / f"{split}.jsonl", [qa(f"{split}0", "note x", json.dumps(rows[0]))])
    spec = TaskSpec("people", str(root), "Extract.", "slot_f1",
                    OutputSpec("json", fields={"person": None}))  # fmt: skip
    setup = MajorityArm("majority", "majority", 0).setup(load_task(spec), context(tmp_path))
    # the three lists read alike (case and order aside), and outnumber the two nulls
    assert json.loads(setup.params["answer"]) == {"person": ["Ada", "Alan"]}


def test_majority_does_not_apply_when_every_free_text_answer_differs(
    make_task: Callable[..., Path],
) -> None:
    spec = TaskSpec("fruit", str(make_task()), "Name it.", "token_f1", OutputSpec("text"))
    reason = MajorityArm("majority", "majority", 0).not_applicable(load_task(spec))
    assert reason is None  # fruit colours repeat: "red" is a real majority answer
    write_jsonl(
        make_task() / "train.jsonl", [qa(f"u{i}", f"q{i}", f"answer {i}") for i in range(5)]
    )
    reason = MajorityArm("majority", "majority", 0).not_applicable(load_task(spec))
    assert reason is not None and "every train answer is different" in reason


def test_knn_chooses_k_on_val_and_answers_by_its_neighbours(
    make_task: Callable[..., Path], tmp_path: Path
) -> None:
    task = colour_task(make_task(train=9, val=2, test=1))
    arm = KnnArm("knn", "knn", 1, Neighbours())
    setup = arm.setup(task, context(tmp_path))
    assert setup.params["chosen_on"] == "val" and setup.params["k"] in (1, 3, 5, 9)
    assert any(key.startswith("knn.val.k1_") for key in setup.metrics)
    said = answers(setup.predictor, list(task.split("test")))
    assert set(said) <= set(COLOURS)
    fixed = KnnArm("knn", "knn", 1, Neighbours(k=1, weighting="uniform")).setup(
        task, context(tmp_path)
    )
    assert fixed.params == {**fixed.params, "k": 1, "weighting": "uniform", "chosen_on": "config"}
    # one neighbour: the nearest train question's colour ("What colour is a ...?" share words)
    probe = Example("p", task.split("train")[1].prompt, "red")
    assert answers(fixed.predictor, [probe]) == [task.split("train")[1].reference]


def test_knn_applies_only_to_closed_answer_sets(make_task: Callable[..., Path]) -> None:
    arm = KnnArm("knn", "knn", 1, Neighbours())
    free = load_task(
        TaskSpec("fruit", str(make_task()), "Name it.", "token_f1", OutputSpec("text"))
    )
    assert "free-text answers have no closed set" in str(arm.not_applicable(free))
    assert arm.not_applicable(colour_task(make_task())) is None
    spec = OutputSpec("json", fields={"city": None, "mode": ["bus", "train"]})
    task = load_task(TaskSpec("fruit", str(make_task()), "x", "exact_match", spec))
    assert "JSON fields city take free values" in str(arm.not_applicable(task))


def test_knn_votes_a_list_fields_items_one_by_one() -> None:
    import numpy as np

    from shipwise.strategies.baselines import AnswerKey, Voter

    spec = OutputSpec("json", fields={"tags": ["a", "b", "c"], "tone": ["x", "y"]},
                      lists=["tags"])  # fmt: skip
    votes = [(["a", "b"], "x"), (["a"], "x"), (["A", "c"], "y"), (None, "y")]
    voter = Voter(np.eye(4), votes, AnswerKey(spec))
    near_first_three = np.array([[1.0, 0.9, 0.8, 0.0]])
    [answer] = voter.answers(near_first_three, 3, "uniform")
    # a: 3 of 3 neighbours; b and c: 1 of 3 each. No neighbour's whole set is the answer's
    assert json.loads(answer) == {"tags": ["a"], "tone": "x"}
    [answer] = voter.answers(np.array([[0.0, 0.0, 0.9, 1.0]]), 2, "uniform")
    assert json.loads(answer)["tags"] is None  # a and c held by one of two: not more than half


def test_knn_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"strategy\.neighbours\.k"):
        Neighbours(k=0)
    with pytest.raises(ConfigError, match=r"strategy\.neighbours\.weighting"):
        Neighbours(weighting="distance")


def test_the_shipped_yamls_build_both_baselines() -> None:
    for name, cls in (("majority", MajorityArm), ("knn", KnnArm)):
        strategy = instantiate_node(compose([f"strategy={name}"])["strategy"], "strategy")
        assert isinstance(strategy, cls) and strategy.info.kind == name
    knn = instantiate_node(compose(["strategy=knn", "strategy.neighbours.k=3"])["strategy"], "s")
    assert knn.neighbours == Neighbours(k=3)


def test_baselines_run_through_the_runner_and_a_free_text_task_skips_knn(
    make_task: Callable[..., Path], tmp_path: Path
) -> None:
    tracking = TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "fruit")

    def spec(task: Task, strategy: object, name: str) -> RunSpec:
        return RunSpec(
            task=task, strategy=strategy, generator=FakeGenerator(),  # type: ignore[arg-type]
            embedder_factory=lambda: HashingEmbedder(dim=256),
            settings=GenerationSettings(max_new_tokens=4), tracking=tracking,
            root=tmp_path / ".shipwise", run_name=name, params={"task.metric": task.spec.metric},
            eval_splits=("test", "regression"),
        )  # fmt: skip

    root = make_task(train=8, val=2, test=2)
    write_jsonl(root / "regression.jsonl", [qa("r-1", "Capital of France?", "Paris")])
    task = colour_task(root)
    result = run(spec(task, KnnArm("knn", "knn", 1, Neighbours(k=1)), "knn"))
    assert sorted(result.splits) == ["test"]  # no language model: no forgetting check
    [logged] = find_runs(tracking)
    assert logged["tags"]["strategy.kind"] == "knn" and logged["metrics"]["test/n"] == 2
    assert logged["metrics"]["test/usd_per_1k_calls"] >= 0

    free = load_task(TaskSpec("fruit", str(root), "Name it.", "token_f1", OutputSpec("text")))
    skipped = run(spec(free, KnnArm("knn", "knn", 1, Neighbours()), "knn text"))
    assert skipped.skipped is not None and len(find_runs(tracking)) == 1
