"""experiments/banking77/heldout.py on a small CSV imported the way run.sh imports Banking77."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from shipwise.errors import DataError
from shipwise.tasks.importers.tabular import TableSettings, import_table
from shipwise.tasks.task import load_task_config
from shipwise.validation.similarity import normalize
from tests.conftest import REPO

INTENTS = ("card_arrival", "lost_card", "top_up_failed")


def _script() -> ModuleType:
    path = REPO / "experiments" / "banking77" / "heldout.py"
    spec = importlib.util.spec_from_file_location("banking77_heldout", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerows(rows)
    return path


@pytest.fixture(params=[False, True], ids=["labels", "label-words"])
def study(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    """A study folder as run.sh leaves it, and the train.csv it was imported from."""
    rows = [(f"message {i} about {intent}", intent) for intent in INTENTS for i in range(12)]
    rows += [
        *((f"Again, {intent}!", intent) for intent in INTENTS),  # the same texts as below
        *((f"again {intent}", intent) for intent in INTENTS),
        ("has my top up gone through", "top_up_failed"),  # one text, two intents
        ("has my top up gone through?", "card_arrival"),
    ]
    source = _csv(tmp_path / "train.csv", rows)
    test_rows = [(f"test message {i} on {intent}", intent) for intent in INTENTS for i in range(2)]
    test_file = _csv(tmp_path / "test.csv", test_rows)
    out = tmp_path / "study"
    settings = TableSettings(
        input_cols=["text"],
        output_cols=["category"],
        label_words=request.param,
        val_fraction=0.2,
        sample={"train": 9, "val": 6},
        seed=0,
    )
    import_table(
        source, out / "data", "banking77", settings, test_file=test_file, conf_dir=out / "conf"
    )
    return out, source


def _inputs(path: Path) -> list[str]:
    return [json.loads(line)["messages"][0]["content"] for line in path.open(encoding="utf-8")]


def test_held_out_rows_are_outside_the_study_and_balanced(study: tuple[Path, Path]) -> None:
    out, source = study
    counts = _script().build(source, out, per_label=2, seed=7)
    labels = yaml.safe_load((out / "conf" / "task" / "banking77.yaml").read_text())["output"]
    assert counts == dict.fromkeys(labels["labels"], 2)

    held = out / "data" / "banking77_heldout"
    used = {
        normalize(text)
        for split in ("train", "val", "test")
        for text in _inputs(out / "data" / "banking77" / f"{split}.jsonl")
    }
    held_out = _inputs(held / "test.jsonl")
    assert len(held_out) == 6
    assert not {normalize(t) for t in held_out} & used
    for split in ("train", "val"):  # copies, so the cached adapter's key is unchanged
        original = out / "data" / "banking77" / f"{split}.jsonl"
        assert (held / f"{split}.jsonl").read_bytes() == original.read_bytes()

    spec = yaml.safe_load((out / "conf" / "task" / "banking77_heldout.yaml").read_text())
    task = load_task_config(spec)
    assert task.name == "banking77_heldout"
    assert [e.user_text for e in task.split("test")] == held_out
    assert {e.reference for e in task.split("test")} == set(task.spec.output.labels)
    assert (
        task.spec.output.labels
        == load_task_config(
            yaml.safe_load((out / "conf" / "task" / "banking77.yaml").read_text())
        ).spec.output.labels
    )


def test_every_eligible_row_is_taken_but_not_a_text_with_two_intents(
    study: tuple[Path, Path],
) -> None:
    out, source = study
    counts = _script().build(source, out, per_label=50, seed=7)
    held_out = _inputs(out / "data" / "banking77_heldout" / "test.jsonl")
    assert len(held_out) == sum(counts.values()) > 3 * 2
    assert "has my top up gone through" not in {normalize(t) for t in held_out}
    assert len({normalize(t) for t in held_out}) == len(held_out)  # no text twice


def test_the_same_seed_writes_the_same_rows(study: tuple[Path, Path]) -> None:
    out, source = study
    script = _script()
    test_file = out / "data" / "banking77_heldout" / "test.jsonl"
    script.build(source, out, per_label=2, seed=7)
    first = test_file.read_bytes()
    script.build(source, out, per_label=2, seed=8)
    assert test_file.read_bytes() != first
    script.build(source, out, per_label=2, seed=7)
    assert test_file.read_bytes() == first


def test_too_few_rows_for_an_intent_are_reported(
    study: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out, source = study
    args = ["--source", str(source), "--study", str(out), "--per-label", "50"]
    assert _script().main(args) == 0
    printed = capsys.readouterr().out
    assert "fewer for 3 intents" in printed


def test_a_study_not_yet_imported_is_an_error_saying_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _csv(tmp_path / "train.csv", [("hello", "greeting")])
    assert _script().main(["--source", str(source), "--study", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "not imported" in err and "run.sh" in err


def test_a_csv_without_the_columns_is_an_error(study: tuple[Path, Path], tmp_path: Path) -> None:
    out, _ = study
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,label\nhello,greeting\n", encoding="utf-8")
    with pytest.raises(DataError, match="no column 'category'"):
        _script().build(bad, out, per_label=2, seed=7)
    with pytest.raises(DataError, match="not there"):
        _script().build(tmp_path / "missing.csv", out, per_label=2, seed=7)


def test_an_intent_the_study_does_not_know_is_an_error(study: tuple[Path, Path]) -> None:
    out, source = study
    with source.open("a", encoding="utf-8") as handle:
        handle.write("where is my pin,pin_blocked\n")
    with pytest.raises(DataError, match="'pin_blocked' is not one of the study's 3 labels"):
        _script().build(source, out, per_label=2, seed=7)
