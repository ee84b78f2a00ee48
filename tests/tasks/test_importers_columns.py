"""The table importer's split, document, kept and JSON-object columns, and nested JSONL fields."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipwise.errors import ConfigError, DataError
from shipwise.tasks.docs import read_documents
from tests.tasks.test_importers_tabular import load, read_jsonl, run, write_table

HEADER = ["question", "context", "title", "answer", "split", "asker"]


def squad_like(path: Path, n: int = 40, splits: tuple[str, ...] = ("train", "test")) -> Path:
    """Questions over a few titles; each title has two passages (rows share them)."""
    rows = []
    for i in range(n):
        title = f"Topic {i % 4}"
        context = f"Passage {i % 8} about {title.lower()}: fact number {i % 8}."
        split = splits[0] if i % 2 == 0 else splits[-1]
        rows.append((f"What is fact {i} of {title}?", context, title, f"fact {i}", split, "anon"))
    return write_table(path, HEADER, rows)


def records(summary: Any, split: str) -> list[dict[str, Any]]:
    return read_jsonl(summary.task_dir / f"{split}.jsonl")


def test_the_split_column_places_rows_and_val_is_drawn_from_train(tmp_path: Path) -> None:
    source = squad_like(tmp_path / "flat.csv")
    summary = run(source, tmp_path, inputs=["question"], outputs=["answer"], split_col="split")
    assert summary.counts["test"] == 20 and summary.counts["train"] + summary.counts["val"] == 20
    assert summary.counts["val"] == 2  # 0.1 of the rows the column calls train
    lines = {r["metadata"]["line"] for r in records(summary, "test")}
    assert lines == {i + 2 for i in range(40) if i % 2}  # header on line 1; odd rows say test


def test_split_values_are_mapped_or_refused_with_the_fix(tmp_path: Path) -> None:
    source = squad_like(tmp_path / "flat.csv", splits=("fit", "holdout"))
    options: dict[str, Any] = {"inputs": ["question"], "outputs": ["answer"]}
    with pytest.raises(DataError, match="'fit', which names no split") as refused:
        run(source, tmp_path, split_col="split", **options)
    assert "--split-map" in (refused.value.fix or "")
    mapped = {"fit": "train", "holdout": "test"}
    summary = run(source, tmp_path, split_col="split", split_map=mapped, force=True, **options)
    assert summary.counts["test"] == 20
    with pytest.raises(ConfigError, match="both choose the splits"):
        run(source, tmp_path, split_col="split", test_fraction=0.3, **options)


def test_a_docs_column_becomes_deduplicated_documents_linked_from_each_record(
    tmp_path: Path,
) -> None:
    source = squad_like(tmp_path / "flat.csv")
    summary = run(
        source,
        tmp_path,
        inputs=["question"],
        outputs=["answer"],
        split_col="split",
        docs_col="context",
        doc_id_col="title",
        keep_cols=["asker"],
    )
    docs = read_documents(summary.task_dir / "docs")
    assert sorted(d.id for d in docs) == ["topic-0", "topic-1", "topic-2", "topic-3"]
    # the two distinct passages of a title are one document, each once
    assert docs[0].text.count("Passage") == 2 and docs[0].metadata == {"title": "Topic 0"}
    record = records(summary, "test")[0]
    assert record["metadata"]["source_doc"].startswith("topic-")
    assert record["metadata"]["asker"] == "anon"
    assert "context" not in record["messages"][0]["content"]  # documents are not the input
    task = load(summary)
    assert len(task.documents) == 4 and summary.documents == 4


def test_without_an_id_column_each_distinct_text_is_one_document(tmp_path: Path) -> None:
    source = squad_like(tmp_path / "flat.csv")
    summary = run(source, tmp_path, inputs=["question"], outputs=["answer"], docs_col="context")
    assert summary.documents == 8
    with pytest.raises(ConfigError, match="--doc-id-col names the document"):
        run(source, tmp_path, inputs=["question"], outputs=["answer"], doc_id_col="title")


def slots_csv(path: Path) -> Path:
    rows = []
    for i in range(60):  # one town a row: more values than a field lists
        slots: dict[str, Any] = {"from": ["Boston", "Denver"][i % 2], "to": f"Town {i}"}
        if i % 3:
            slots["date"] = ["May 1", "June 2"][i % 2]
        rows.append((f"bus from {slots['from']} to town {i}", json.dumps(slots) if i else ""))
    return write_table(path, ["text", "slots"], rows)


def test_a_column_of_json_objects_is_a_json_task_with_inferred_fields(tmp_path: Path) -> None:
    summary = run(slots_csv(tmp_path / "slots.csv"), tmp_path, outputs=["slots"])
    spec = yaml.safe_load(summary.task_yaml)
    assert spec["metric"] == "slot_f1"
    # few values: listed; many (one town a row): any value; the empty cell: every field null
    assert spec["output"]["fields"] == {
        "from": ["Boston", "Denver"],
        "to": None,
        "date": ["June 2", "May 1"],
    }
    answers = [
        json.loads(r["messages"][1]["content"])
        for split in ("train", "val", "test")
        for r in records(summary, split)
    ]
    assert all(list(a) == ["from", "to", "date"] for a in answers)  # never wrapped again
    assert {"from": None, "to": None, "date": None} in answers
    assert sum(a["date"] is None for a in answers) >= 13
    prompt = spec["system_prompt"]
    assert '{"from": "...", "to": "...", "date": "..."}' in prompt
    assert "- from: one of Boston, Denver" in prompt and "null for a field" in prompt


def test_empty_cells_are_null_in_a_multi_column_json_answer(tmp_path: Path) -> None:
    rows = [(f"order {i}", ["open", "closed"][i % 2], "" if i % 4 else f"R{i}") for i in range(30)]
    source = write_table(tmp_path / "t.csv", ["text", "status", "ref"], rows)
    summary = run(source, tmp_path, outputs=["status", "ref"])
    answers = [json.loads(r["messages"][1]["content"]) for r in records(summary, "train")]
    assert {"status", "ref"} == set(answers[0]) and any(a["ref"] is None for a in answers)
    # a label task still refuses an empty answer, naming the row
    blank = write_table(tmp_path / "b.csv", ["text", "label"], [("a", "x"), ("b", "")])
    with pytest.raises(DataError, match="empty cell in column 'label'") as refused:
        run(blank, tmp_path, name="blank")
    assert refused.value.where == f"{blank}:3"


def test_jsonl_columns_reach_nested_fields(tmp_path: Path) -> None:
    source = tmp_path / "turns.jsonl"
    lines = [
        {"turn": {"text": f"bus to town {i}"}, "frame": {"slots": {"to": f"Town {i % 3}"}}}
        for i in range(30)
    ]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    summary = run(source, tmp_path, inputs=["turn.text"], outputs=["frame.slots"])
    record = records(summary, "train")[0]
    assert record["messages"][0]["content"].startswith("bus to town")
    assert json.loads(record["messages"][1]["content"])["to"].startswith("Town")
    with pytest.raises(DataError, match=r"no column 'turn\.words'"):
        run(source, tmp_path, inputs=["turn.words"], outputs=["frame.slots"], force=True)


def test_the_label_prompt_names_the_input_and_the_labels_in_plain_words(tmp_path: Path) -> None:
    rows = [(f"is thing {i} true?", ["yes", "no", "maybe"][i % 3]) for i in range(30)]
    source = write_table(tmp_path / "q.csv", ["question", "final_decision"], rows)
    summary = run(source, tmp_path, inputs=["question"], outputs=["final_decision"])
    prompt = yaml.safe_load(summary.task_yaml)["system_prompt"]
    assert prompt.startswith("You are given the question.")
    assert "Reply with only the final_decision: one of these 3 labels" in prompt
    assert "maybe, no, yes" in prompt and "Classify" not in prompt


def test_closed_values_come_from_train_and_absent_fields_make_the_task_nullable(
    tmp_path: Path,
) -> None:
    from shipwise.models.constrained import allowed_outputs

    rows = [
        (f"order {i}", ["open", "closed"][i % 2], "" if i % 3 else "urgent", s)
        for i, s in enumerate(["train"] * 20 + ["test"] * 10)
    ]
    rows.append(("order late", "reopened", "", "test"))  # a value train never shows
    header = ["text", "status", "flag", "split"]
    source = write_table(tmp_path / "t.csv", header, rows)
    summary = run(source, tmp_path, outputs=["status", "flag"], split_col="split")
    spec = yaml.safe_load(summary.task_yaml)["output"]
    assert spec["fields"] == {"status": None, "flag": ["urgent"]} and spec["nullable"] is True
    task = load(summary)
    assert '{"status": null, "flag": null}' not in allowed_outputs(
        replace(task.spec.output, fields={"status": ["open"], "flag": ["urgent"]}, nullable=False)
    )
    outputs = allowed_outputs(
        replace(task.spec.output, fields={"status": ["open"], "flag": ["urgent"]})
    )
    assert '{"status": null, "flag": null}' in outputs and len(outputs) == 4


def test_key_paths_name_nested_keys_and_lists_of_objects() -> None:
    from shipwise.tasks.importers.columns import found, key_paths, lookup

    record = {
        "id": 1,
        "data": {"text": "Oslo", "meta": {"lang": "en"}},
        "annotations": [{"result": [{"value": {"start": 0}}]}],
        "tags": ["a"],
        "empty": {},
    }
    assert key_paths(record) == [
        "id",
        "data.text",
        "data.meta.lang",
        "annotations",
        "annotations.0.result",
        "annotations.0.result.0.value",
        "tags",
        "empty",
    ]
    assert lookup(record, "annotations.0.result") == [{"value": {"start": 0}}]
    assert not found(lookup(record, "annotations.1.result"))
