from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shipwise.tasks.example import Example, Message
from shipwise.tasks.perturb import (
    INJECTIONS,
    MAX_EXAMPLES,
    PERTURBATIONS,
    perturb,
    redteam_split,
)
from shipwise.tasks.task import GENERAL_REGRESSION, TaskSpec, load_task, split_sources
from tests.conftest import qa, write_jsonl


def example(i: int, text: str = "My parcel from Boston never arrived, where is it now?") -> Example:
    return Example(f"t{i}", (Message("user", text),), '{"city": "Boston"}', {"source_doc": "d"})


def test_every_perturbation_keeps_the_clean_reference_and_the_metadata() -> None:
    split = redteam_split([example(i) for i in range(10)])
    assert [e.metadata["perturbation"] for e in split] == [*PERTURBATIONS, *PERTURBATIONS]
    assert {e.reference for e in split} == {'{"city": "Boston"}'}
    assert all(e.metadata["source_doc"] == "d" for e in split)
    assert all(e.user_text != example(0).user_text for e in split)
    assert split[0].id == "t0~typos" and split[0].metadata["perturbed_from"] == "t0"


def test_perturbations_are_deterministic_and_typos_spare_the_reference_words() -> None:
    first = [perturb(example(i), "typos") for i in range(20)]
    again = [perturb(example(i), "typos") for i in range(20)]
    assert first == again
    assert all("Boston" in e.user_text for e in first)  # the value an extraction copies
    injected = perturb(example(0), "injection").user_text
    assert injected.startswith(example(0).user_text) and injected.endswith(INJECTIONS)
    assert len(perturb(example(0), "long").user_text) > 4 * len(example(0).user_text)


def test_a_large_test_split_gives_a_capped_seeded_sample() -> None:
    tests = [example(i) for i in range(200)]
    split = redteam_split(tests)
    assert len(split) == MAX_EXAMPLES and split == redteam_split(list(reversed(tests)))


def test_a_task_without_its_own_gets_a_generated_redteam_and_the_general_regression(
    make_task: Callable[..., Path],
) -> None:
    folder = make_task()
    spec = TaskSpec("fruit", str(folder), "", "exact_match")
    task = load_task(spec)
    assert sorted(e.metadata["perturbed_from"] for e in task.split("redteam")) == sorted(
        e.id for e in task.split("test")
    )
    assert len(task.split("regression")) == sum(1 for _ in GENERAL_REGRESSION.open())
    assert "generated" in split_sources(folder)["redteam"]
    write_jsonl(folder / "redteam.jsonl", [qa("own-1", "a ripe banana", "yellow")])
    assert [e.id for e in load_task(spec).split("redteam")] == ["own-1"]  # its own file wins
    assert split_sources(folder)["redteam"] == str(folder / "redteam.jsonl")
