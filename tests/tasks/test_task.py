from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from shipwise.errors import ConfigError, DataError
from shipwise.tasks.docs import read_documents
from shipwise.tasks.example import split_fingerprint
from shipwise.tasks.task import OutputSpec, TaskSpec, load_task
from tests.conftest import REPO

SHIPPED = {
    # name: (output spec, minimum sizes per split)
    "support_triage": (
        OutputSpec("json", fields={"category": None, "priority": None}),
        {"train": 240, "val": 60, "test": 120, "regression": 30, "redteam": 20},
    ),
    "policy_qa": (
        OutputSpec("text"),
        {"train": 150, "val": 40, "test": 120, "regression": 30, "redteam": 20},
    ),
    "reply_style": (
        OutputSpec("text"),
        {"train": 200, "val": 50, "test": 100, "regression": 30, "redteam": 20},
    ),
}


def spec(name: str, output: OutputSpec, data_dir: str | None = None) -> TaskSpec:
    return TaskSpec(
        name=name, data_dir=data_dir or name, system_prompt="", metric="exact_match", output=output
    )


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_tasks_load_with_their_sizes(name: str) -> None:
    output, sizes = SHIPPED[name]
    task = load_task(spec(name, output), str(REPO / "data"))
    for split, minimum in sizes.items():
        assert len(task.split(split)) >= minimum, split
    prints = task.fingerprints()
    assert set(sizes) <= set(prints)
    assert len(set(prints.values())) == len(prints)  # every split distinct


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_test_items_do_not_repeat_train_items(name: str) -> None:
    output, _ = SHIPPED[name]
    task = load_task(spec(name, output), str(REPO / "data"))
    train = [words(e.user_text) for e in task.split("train")]
    for example in task.split("test"):
        mine = words(example.user_text)
        for other in train:
            overlap = len(mine & other) / max(1, len(mine | other))
            assert overlap < 0.6, (example.id, example.user_text)


def test_policy_qa_questions_name_existing_documents() -> None:
    task = load_task(spec("policy_qa", OutputSpec("text")), str(REPO / "data"))
    doc_ids = {d.id for d in task.documents}
    assert 25 <= len(doc_ids) <= 40
    for split in ("train", "val", "test"):
        for example in task.split(split):
            assert example.metadata["source_doc"] in doc_ids, example.id


def test_support_triage_labels_follow_the_output_spec() -> None:
    import json

    import yaml

    conf = yaml.safe_load((REPO / "conf/task/support_triage.yaml").read_text())
    fields = conf["output"]["fields"]
    task = load_task(spec("support_triage", OutputSpec("json", fields=fields)), str(REPO / "data"))
    for split in ("train", "val", "test", "redteam"):
        for example in task.split(split):
            answer = json.loads(example.reference)
            assert list(answer) == ["category", "priority"]
            assert answer["category"] in fields["category"], example.id
            assert answer["priority"] in fields["priority"], example.id


def test_fingerprint_ignores_order_but_not_content(make_task: Callable[..., Path]) -> None:
    root = make_task()
    task = load_task(spec("fruit", OutputSpec("text"), str(root)))
    test = list(task.split("test"))
    assert split_fingerprint(test) == split_fingerprint(list(reversed(test)))
    lines = (root / "test.jsonl").read_text().splitlines()
    lines[0] = lines[0].replace("?", "??")
    (root / "test.jsonl").write_text("\n".join(lines) + "\n")
    edited = load_task(spec("fruit", OutputSpec("text"), str(root)))
    assert edited.fingerprints()["test"] != task.fingerprints()["test"]
    assert edited.fingerprints()["train"] == task.fingerprints()["train"]


def test_missing_task_folder_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_task(spec("nowhere", OutputSpec("text")), str(tmp_path))
    assert "task.data_dir" in str(err.value)
    assert str(tmp_path / "nowhere") in str(err.value)


def test_ids_must_be_unique_across_splits(make_task: Callable[..., Path]) -> None:
    root = make_task()
    (root / "val.jsonl").write_text((root / "train.jsonl").read_text().splitlines()[0] + "\n")
    with pytest.raises(DataError, match=r"appears in both train and val"):
        load_task(spec("fruit", OutputSpec("text"), str(root)))


def test_documents_empty_unsupported_and_jsonl(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\nText.")
    (docs / "more.jsonl").write_text('{"id": "b", "text": "B text", "metadata": {"k": 1}}\n')
    assert [d.id for d in read_documents(docs)] == ["a", "b"]
    (docs / "empty.txt").write_text("  \n")
    with pytest.raises(DataError, match=r"document 'empty' is empty"):
        read_documents(docs)
    (docs / "empty.txt").unlink()
    (docs / "x.pdf").write_bytes(b"%PDF")
    with pytest.raises(DataError, match=r"unsupported document type .pdf"):
        read_documents(docs)


def test_output_spec_validates() -> None:
    with pytest.raises(ConfigError, match=r"unknown output kind"):
        OutputSpec("xml")
    with pytest.raises(ConfigError, match=r"needs its fields"):
        OutputSpec("json")
    assert OutputSpec("json", fields={"tags": ["a"]}, lists=["tags"]).lists == ("tags",)
    with pytest.raises(ConfigError, match=r"and 'tag' is not a field"):
        OutputSpec("json", fields={"tags": ["a"]}, lists=["tag"])
    with pytest.raises(ConfigError, match=r"and a label task"):
        OutputSpec("label", labels=["a"], lists=["a"])
    with pytest.raises(ConfigError, match=r"must be a list of field names"):
        OutputSpec("json", fields={"tags": ["a"]}, lists="tags")


def test_text_metrics_style_rules_and_rubric_validate() -> None:
    rules = ({"name": "short", "kind": "words", "max": 50},)
    spec = OutputSpec("text", metrics=["rouge_l", "style"], style=rules)
    assert spec.style[0].name == "short" and spec.metrics == ("rouge_l", "style")
    with pytest.raises(ConfigError, match=r"unknown text metric 'bleu'"):
        OutputSpec("text", metrics=["bleu"])
    with pytest.raises(ConfigError, match=r"for text outputs, not label"):
        OutputSpec("label", labels=["a"], metrics=["rouge_l"])
    with pytest.raises(ConfigError, match=r"style without rules"):
        OutputSpec("text", metrics=["style"])
    with pytest.raises(ConfigError, match=r"style without rules, or rules without style"):
        OutputSpec("text", metrics=["chrf"], style=rules)
    with pytest.raises(ConfigError, match=r"share a name"):
        OutputSpec("text", metrics=["style"], style=rules * 2)
    with pytest.raises(ConfigError, match=r"needs a rubric") as err:
        OutputSpec("text", metrics=["judge"])
    assert "task.output.rubric" in str(err.value)


def test_a_docs_link_out_of_the_task_is_refused_and_one_inside_is_read(tmp_path: Path) -> None:
    task = tmp_path / "task"
    (task / "docs").mkdir(parents=True)
    (task / "docs" / "a.md").write_text("Returns within 30 days.")
    (task / "shared.md").write_text("Shared inside the task folder.")
    (task / "docs" / "inside.md").symlink_to(task / "shared.md")
    assert {d.id for d in read_documents(task / "docs")} == {"a", "inside"}

    secret = tmp_path / "secret.md"
    secret.write_text("Not part of the task.")
    (task / "docs" / "outside.md").symlink_to(secret)
    with pytest.raises(DataError, match="outside") as err:
        read_documents(task / "docs")
    assert err.value.where == str(task / "docs" / "outside.md")
    assert "link" in err.value.what


def test_a_docs_jsonl_record_is_read_as_strictly_as_a_split(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kb.jsonl").write_text('{"id": "a", "text": "ok"}\n{"id": "b", "text": "\\udc00"}\n')
    with pytest.raises(DataError, match="lone surrogate") as err:
        read_documents(docs)
    assert err.value.where == f"{docs / 'kb.jsonl'}:2"
