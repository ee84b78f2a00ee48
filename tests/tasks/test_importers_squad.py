from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipwise.errors import ConfigError, DataError, ShipwiseError
from shipwise.tasks.docs import read_documents
from shipwise.tasks.importers import squad as squad_module
from shipwise.tasks.importers.common import SPLITS
from shipwise.tasks.importers.squad import import_squad, slugify
from shipwise.tasks.task import OutputSpec, TaskSpec, load_task
from tests.conftest import SHARED_DATASETS


def _qa(qid: str, question: str, *answers: str) -> dict[str, Any]:
    return {
        "id": qid,
        "question": question,
        "answers": [{"text": a, "answer_start": 0} for a in answers],
    }


def tiny_squad() -> dict[str, Any]:
    """Two articles, five paragraphs (one without questions), 12 questions, one unanswerable."""
    harbour = [
        {
            "context": "Tiny Harbour was founded in 1820 by fishermen from Cork.",
            "qas": [
                _qa("q01", "  When was Tiny Harbour founded? ", "1820", " 1820 ", "in 1820"),
                _qa("q02", "Who founded Tiny Harbour?", "fishermen from Cork", "fishermen"),
                _qa("q03", "Where did the founders come from?", "Cork"),
            ],
        },
        {
            "context": "The lighthouse, painted red, stands 30 metres tall.",
            "qas": [
                _qa("q04", "What colour is the lighthouse?", "red"),
                _qa("q05", "How tall is the lighthouse?", "30 metres", "30 metres tall"),
                _qa("q06", "Who paints the lighthouse each year?"),  # no gold answer
            ],
        },
        {"context": "The harbour freezes over in hard winters.", "qas": []},
    ]
    glass = [
        {
            "context": "Glass is made by melting sand, soda and lime at about 1500 °C.",
            "qas": [
                _qa("q07", "What is glass made from?", "sand, soda and lime"),
                _qa("q08", "At what temperature is glass melted?", "about 1500 °C", "1500 °C"),
                _qa("q09", "Is sand used to make glass?", "Yes"),
            ],
        },
        {
            "context": "Glassblowing was invented in the 1st century BC in Syria.",
            "qas": [
                _qa("q10", "When was glassblowing invented?", "1st century BC"),
                _qa("q11", "Where was glassblowing invented?", "Syria", "in Syria"),
                _qa("q12", "What was invented in Syria?", "Glassblowing"),
            ],
        },
    ]
    return {
        "version": "1.1",
        "data": [
            {"title": "Tiny_Harbour_(Town)", "paragraphs": harbour},
            {"title": "Glass making", "paragraphs": glass},
        ],
    }


def write_squad(path: Path, data: dict[str, Any] | None = None) -> Path:
    path.write_text(json.dumps(data if data is not None else tiny_squad(), ensure_ascii=False))
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.*")}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_squad(tmp_path / "tiny.json")


def test_writes_splits_docs_readme_and_yaml(source: Path, tmp_path: Path) -> None:
    summary = import_squad(source, tmp_path / "data", "tiny", conf_dir=tmp_path / "conf")
    task_dir = tmp_path / "data" / "tiny"
    assert summary.task_dir == task_dir.resolve()
    assert summary.yaml_path == tmp_path / "conf" / "task" / "tiny.yaml"
    assert summary.yaml_path.read_text() == summary.task_yaml
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["tiny"]  # no staging left
    assert {p.name for p in task_dir.iterdir()} == {
        "train.jsonl", "val.jsonl", "test.jsonl", "docs", "README.md"
    }  # fmt: skip
    assert summary.documents == 5 and summary.skipped == 1
    assert dict(summary.counts) == {"train": 4, "val": 1, "test": 6}  # 11 answerable questions

    docs = read_jsonl(task_dir / "docs" / "paragraphs.jsonl")
    assert [d["id"] for d in docs] == [
        "tiny-harbour-town-000", "tiny-harbour-town-001", "tiny-harbour-town-002",
        "glass-making-000", "glass-making-001",
    ]  # fmt: skip
    assert docs[3]["metadata"] == {"title": "Glass making"}
    assert docs[2]["text"] == "The harbour freezes over in hard winters."  # no questions, kept

    records = {
        r["id"]: r for s in ("train", "val", "test") for r in read_jsonl(task_dir / f"{s}.jsonl")
    }
    assert sorted(records) == [f"q{i:02d}" for i in range(1, 13) if i != 6]
    q01 = records["q01"]
    assert q01["messages"] == [
        {"role": "user", "content": "When was Tiny Harbour founded?"},
        {"role": "assistant", "content": "1820"},
    ]
    assert q01["metadata"] == {
        "source_doc": "tiny-harbour-town-000",
        "answers": ["1820", "in 1820"],  # stripped, distinct, first gold first
        "title": "Tiny_Harbour_(Town)",
    }
    assert records["q08"]["metadata"]["source_doc"] == "glass-making-000"
    assert records["q08"]["messages"][1]["content"] == "about 1500 °C"
    assert "°C" in (task_dir / "test.jsonl").read_text() + (task_dir / "train.jsonl").read_text()

    readme = (task_dir / "README.md").read_text()
    for needle in (str(source.resolve()), summary.source_sha256, "CC BY-SA 4.0", "| test | 6 |"):
        assert needle in readme


def test_the_task_loads_and_every_source_doc_exists(source: Path, tmp_path: Path) -> None:
    summary = import_squad(source, tmp_path / "data", "tiny", conf_dir=tmp_path / "conf")
    raw = yaml.safe_load(summary.task_yaml)
    assert raw["metric"] == raw["regression_metric"] == "token_f1"
    assert raw["max_new_tokens"] == 24 and raw["output"] == {"kind": "text"}
    assert "as few as possible" in raw["system_prompt"]
    assert Path(raw["data_dir"]).is_absolute()
    spec = TaskSpec(**{**raw, "output": OutputSpec(**raw["output"])})
    task = load_task(spec)
    assert task.name == "tiny" and {k: len(task.split(k)) for k in SPLITS} == summary.counts
    doc_ids = {d.id for d in read_documents(Path(raw["data_dir"]) / "docs")}
    assert doc_ids == {d.id for d in task.documents} and len(doc_ids) == 5
    for examples in [task.split(k) for k in (*SPLITS, "redteam")]:
        assert all(e.metadata["source_doc"] in doc_ids for e in examples)


def test_same_seed_is_byte_identical_and_another_seed_differs(source: Path, tmp_path: Path) -> None:
    out, conf = tmp_path / "data", tmp_path / "conf"
    import_squad(source, out, "tiny", seed=3, conf_dir=conf)
    first = snapshot(out / "tiny")
    first_yaml = (conf / "task" / "tiny.yaml").read_bytes()
    import_squad(source, out, "tiny", seed=3, conf_dir=conf, force=True)
    assert snapshot(out / "tiny") == first
    assert (conf / "task" / "tiny.yaml").read_bytes() == first_yaml
    import_squad(source, out, "tiny", seed=4, conf_dir=conf, force=True)
    again = snapshot(out / "tiny")
    assert again["test.jsonl"] != first["test.jsonl"]
    assert again["docs/paragraphs.jsonl"] == first["docs/paragraphs.jsonl"]


def test_split_sizes_follow_the_fractions_and_questions_samples(
    source: Path, tmp_path: Path
) -> None:
    summary = import_squad(source, tmp_path / "a", "t", val_fraction=0.2, test_fraction=0.4)
    assert dict(summary.counts) == {"train": 5, "val": 2, "test": 4}
    assert summary.yaml_path is None
    summary = import_squad(source, tmp_path / "b", "t", questions=10, val_fraction=0.2)
    assert dict(summary.counts) == {"train": 3, "val": 2, "test": 5}
    assert summary.documents == 5  # every paragraph, not only the sampled questions'


def test_refuses_to_overwrite_without_force(source: Path, tmp_path: Path) -> None:
    out, conf = tmp_path / "data", tmp_path / "conf"
    import_squad(source, out, "tiny", conf_dir=conf)
    with pytest.raises(ShipwiseError) as info:
        import_squad(source, out, "tiny", conf_dir=conf)
    assert info.value.where == str((out / "tiny").resolve())
    assert "--force" in (info.value.fix or "")
    # The YAML alone is protected too, and nothing is written before refusing.
    (conf / "task" / "other.yaml").write_text("keep me")
    with pytest.raises(ShipwiseError, match="already exists"):
        import_squad(source, out, "other", conf_dir=conf)
    assert not (out / "other").exists()
    assert (conf / "task" / "other.yaml").read_text() == "keep me"


def test_a_failed_forced_import_keeps_the_old_task(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "data"
    import_squad(source, out, "tiny")
    before = snapshot(out / "tiny")
    real = squad_module._write_lines

    def failing(path: Path, records: Any) -> None:
        if path.name == "paragraphs.jsonl":
            raise OSError("disk full")
        real(path, records)

    monkeypatch.setattr(squad_module, "_write_lines", failing)
    with pytest.raises(OSError, match="disk full"):
        import_squad(source, out, "tiny", seed=9, force=True)
    assert snapshot(out / "tiny") == before
    assert sorted(p.name for p in out.iterdir()) == ["tiny"]


def _drop(key: str, *path: str | int) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        node: Any = data
        for step in path:
            node = node[step]
        del node[key]

    return edit


def _set(value: Any, *path: str | int) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        node: Any = data
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value

    return edit


P = ("data", 0, "paragraphs")
MALFORMED = {
    "no data list": (_drop("data"), "", "no top-level 'data' list"),
    "data not a list": (_set({"a": 1}, "data"), "", "no top-level 'data' list"),
    "no context": (
        _drop("context", "data", 1, "paragraphs", 0),
        "data[1].paragraphs[0]",
        "context",
    ),
    "empty context": (_set("  ", *P, 2, "context"), "data[0].paragraphs[2]", "context"),
    "no question": (
        _drop("question", *P, 1, "qas", 2),
        "data[0].paragraphs[1].qas[2]",
        "'question'",
    ),
    "no answers": (_drop("answers", *P, 0, "qas", 1), "data[0].paragraphs[0].qas[1]", "'answers'"),
    "answer without text": (
        _drop("text", *P, 0, "qas", 1, "answers", 1),
        "data[0].paragraphs[0].qas[1].answers[1]",
        "'text'",
    ),
    "duplicate id": (_set("q01", *P, 1, "qas", 0, "id"), "data[0].paragraphs[1].qas[0]", "twice"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_input_names_the_location(case: str, tmp_path: Path) -> None:
    edit, loc, message = MALFORMED[case]
    data = copy.deepcopy(tiny_squad())
    edit(data)
    path = write_squad(tmp_path / "bad.json", data)
    with pytest.raises(DataError, match=message) as info:
        import_squad(path, tmp_path / "data", "bad")
    assert info.value.where == (f"{path}: {loc}" if loc else str(path))
    assert not (tmp_path / "data" / "bad").exists()


def test_invalid_json_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"data": [\n  {"title": "x",, "paragraphs": []}\n]}')
    with pytest.raises(DataError, match="invalid JSON at line 2, column 17") as info:
        import_squad(path, tmp_path / "data", "broken")
    assert info.value.where == f"{path}:2:17"
    with pytest.raises(DataError, match="does not exist"):
        import_squad(tmp_path / "absent.json", tmp_path / "data", "absent")


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"val_fraction": -0.1}, "val_fraction"),
        ({"test_fraction": 1.0}, "test_fraction"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "val_fraction, test_fraction"),
        ({"questions": 0}, "questions"),
        ({"questions": 12}, "questions"),  # only 11 have an answer
        ({"questions": 2}, "questions"),  # the val split would be empty
        ({"name": "../escape"}, "name"),
    ],
)
def test_bad_settings_are_config_errors(
    kwargs: dict[str, Any], where: str, source: Path, tmp_path: Path
) -> None:
    args = {"name": "tiny", **kwargs}
    with pytest.raises(ConfigError) as info:
        import_squad(source, tmp_path / "data", **args)
    assert info.value.where == where


def test_slugify() -> None:
    assert slugify("Victoria_(Australia)") == "victoria-australia"
    assert slugify("  Sky -- (United Kingdom)!") == "sky-united-kingdom"
    assert slugify("Zürich") == "zürich"


def test_titles_with_the_same_slug_get_distinct_doc_ids(tmp_path: Path) -> None:
    data = tiny_squad()
    data["data"][1]["title"] = "tiny harbour town"
    summary = import_squad(write_squad(tmp_path / "s.json", data), tmp_path / "data", "s")
    docs = read_documents(summary.task_dir / "docs")
    assert [d.id for d in docs][3:] == ["tiny-harbour-town-2-000", "tiny-harbour-town-2-001"]


@pytest.mark.dataset
def test_imports_the_shared_squad_dev_set(tmp_path: Path) -> None:
    source = SHARED_DATASETS / "squad_v1.1_dev" / "dev-v1.1.json"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    summary = import_squad(source, tmp_path / "data", "squad_dev", questions=1000, seed=0)
    assert summary.documents == 2067 and summary.skipped == 0
    assert sum(summary.counts.values()) == 1000
    assert dict(summary.counts) == {"train": 400, "val": 100, "test": 500}
    doc_ids = {d.id for d in read_documents(summary.task_dir / "docs")}
    assert len(doc_ids) == 2067
    spec = TaskSpec(
        name="squad_dev", data_dir=str(summary.task_dir), system_prompt="", metric="token_f1"
    )
    task = load_task(spec)
    assert sum(len(task.split(k)) for k in SPLITS) == 1000
    for examples in [task.split(k) for k in (*SPLITS, "redteam")]:
        assert all(e.metadata["source_doc"] in doc_ids for e in examples)
