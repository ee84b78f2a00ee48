"""The table importer reads the files datasets arrive in (JSON arrays, Parquet, gzip, CSV
without a header) and names the labels a column codes as numbers."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from shipwise.data_cli import main
from shipwise.errors import ConfigError, DataError
from shipwise.tasks.importers.rows import table_format
from shipwise.tasks.importers.tabular import TableImport, TableSettings, parse_label_map
from shipwise.validation.content import coded_labels
from tests.tasks.test_importers_tabular import SPLITS, read_jsonl, run

# 0 = negative, 1 = positive, skewed so stratification has something to keep
ROWS = [{"text": f"review number {i} of the film", "label": int(i % 3 == 0)} for i in range(60)]


def pairs(summary: TableImport) -> dict[str, list[tuple[str, str]]]:
    """Each split's (input, answer) pairs, in the order written."""
    return {
        split: [
            (r["messages"][0]["content"], r["messages"][1]["content"])
            for r in read_jsonl(summary.task_dir / f"{split}.jsonl")
        ]
        for split in SPLITS
    }


def write_csv(path: Path, rows: list[dict[str, Any]], header: bool = True) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8", newline="") as handle:  # type: ignore[operator]
        writer = csv.writer(handle, lineterminator="\n")
        if header:
            writer.writerow(list(rows[0]))
        writer.writerows([list(r.values()) for r in rows])
    return path


@pytest.fixture
def shapes(tmp_path: Path) -> dict[str, Path]:
    """The same rows in every shape the importer reads."""
    src = tmp_path / "src"
    src.mkdir()
    lines = "".join(json.dumps(r) + "\n" for r in ROWS)
    files = {
        "csv": write_csv(src / "rows.csv", ROWS),
        "csv.gz": write_csv(src / "rows.csv.gz", ROWS),
        "json array, indented": src / "rows.json",
        "json array, one line": src / "minified.json",
        "json lines named .json": src / "lines.json",
        "jsonl.gz": src / "rows.jsonl.gz",
        "parquet": src / "rows.parquet",
    }
    (src / "rows.json").write_text(json.dumps(ROWS, indent=2))
    (src / "minified.json").write_text(json.dumps(ROWS))
    (src / "lines.json").write_text(lines)
    with gzip.open(src / "rows.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write(lines)
    pq.write_table(pa.Table.from_pylist(ROWS), src / "rows.parquet")
    return files


def test_every_shape_imports_the_same_task(shapes: dict[str, Path], tmp_path: Path) -> None:
    imported = {
        shape: run(path, tmp_path, name=f"t{n}", label_map={"0": "negative", "1": "positive"})
        for n, (shape, path) in enumerate(shapes.items())
    }
    first = pairs(imported["csv"])
    assert sum(map(len, first.values())) == 60
    assert {answer for split in first.values() for _, answer in split} == {"negative", "positive"}
    for shape, summary in imported.items():
        assert pairs(summary) == first, shape
        assert list(summary.output.labels or ()) == ["negative", "positive"], shape
    # Each source's digest is of its bytes as stored (what sha256sum prints), gzipped or not.
    for shape, path in shapes.items():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert imported[shape].sources[str(path)] == digest, shape
    # Records are numbered by line in text files and by record in arrays and Parquet.
    record = read_jsonl(imported["parquet"].task_dir / "test.jsonl")[0]
    assert set(record["metadata"]) == {"source", "record"}
    assert record["id"] == f"rows-{record['metadata']['record']}"
    index = record["metadata"]["record"] - 1
    assert record["messages"][0]["content"] == ROWS[index]["text"]
    line = read_jsonl(imported["csv"].task_dir / "test.jsonl")[0]["metadata"]
    assert set(line) == {"source", "line"}


def test_the_format_comes_from_the_name(tmp_path: Path) -> None:
    assert table_format(Path("a.TSV.GZ")).delimiter == "\t"
    assert table_format(Path("a.tsv.gz")).compressed
    assert table_format(Path("a.ndjson")).kind == "jsonl"
    assert table_format(Path("a.txt"), ";").delimiter == ";"
    with pytest.raises(ConfigError, match=r"format of 'a\.txt'") as error:
        table_format(Path("a.txt"))
    assert ".parquet" in error.value.fix
    with pytest.raises(ConfigError, match="not read gzipped"):
        table_format(Path("a.parquet.gz"))


def test_broken_json_and_parquet_files_say_where(tmp_path: Path) -> None:
    cases = {
        "element.json": ('[{"text": "a", "label": 1},\n  [1, 2]]', "record 2 (line 2)"),
        "cut.json": ('[{"text": "a", "label": 1},\n {"text": "b", "la', "record 2 (line 2)"),
        "unclosed.json": ('[{"text": "a", "label": 1}', "not closed"),
        "comma.json": ('[{"text": "a", "label": 1} {"text": "b"}]', "expected ',' or ']'"),
        "after.json": ('[{"text": "a", "label": 1}]\n[]', "after the array"),
        "wrapped.json": (json.dumps({"version": 2, "data": ROWS[:3]}), "rows are under 'data'"),
        "number.json": ("3", "got int"),
        "empty.json": ("  \n", "the file is empty"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(DataError, match=re.escape(message)) as error:
            run(tmp_path / name, tmp_path, name=name.split(".")[0])
        assert name in error.value.where, name
    (tmp_path / "fake.parquet").write_text("text,label\n")
    with pytest.raises(DataError, match="cannot read it as Parquet"):
        run(tmp_path / "fake.parquet", tmp_path, name="fake")
    (tmp_path / "plain.csv.gz").write_text("text,label\na,1\n")
    with pytest.raises(DataError, match="not a whole gzip file") as error:
        run(tmp_path / "plain.csv.gz", tmp_path, name="plain")
    assert "drop the .gz" in error.value.fix
    whole = gzip.compress(b"text,label\n" + b"a row,1\n" * 50)
    (tmp_path / "cut.csv.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match="not a whole gzip file"):
        run(tmp_path / "cut.csv.gz", tmp_path, name="cutgz")


def test_a_bad_cell_in_an_array_is_named_by_record(tmp_path: Path) -> None:
    rows = [*ROWS[:5], {"text": "   ", "label": 0}]
    (tmp_path / "rows.json").write_text(json.dumps(rows, indent=1))
    with pytest.raises(DataError, match="empty cell in column 'text'") as error:
        run(tmp_path / "rows.json", tmp_path)
    assert error.value.where.endswith("rows.json: record 6")


def test_csv_without_a_header(tmp_path: Path) -> None:
    # AG News ships this way: class index, title, description; no header row.
    rows = [
        {"c": 1 + i % 2, "t": f"Title {i}, with a comma", "d": f"story {i} in full"}
        for i in range(40)
    ]
    source = write_csv(tmp_path / "news.csv", rows, header=False)
    with pytest.raises(DataError, match="no column 'description'") as error:
        run(source, tmp_path, inputs=["description"], outputs=["class"])
    assert "--no-header" in error.value.fix  # the first row holds a number: it is data
    summary = run(
        source, tmp_path, inputs=["2", "3"], outputs=["1"], header=False, label_map={"1": "World",
        "2": "Sports"},
    )  # fmt: skip
    got = pairs(summary)
    assert sum(map(len, got.values())) == 40  # the first row is a row, not a header
    every = dict(pair for split in got.values() for pair in split)
    assert every["2: Title 0, with a comma\n3: story 0 in full"] == "World"
    assert every["2: Title 1, with a comma\n3: story 1 in full"] == "Sports"
    named = run(
        source, tmp_path, inputs=["title", "text"], outputs=["class"], header=False,
        column_names=["class", "title", "text"], label_map={"1": "World", "2": "Sports"},
        name="named",
    )  # fmt: skip
    assert "title: Title 0, with a comma\ntext: story 0 in full" in dict(
        pair for split in pairs(named).values() for pair in split
    )
    assert "You are given these fields, one per line: title, text." in named.task_yaml
    with pytest.raises(DataError, match="gives 2 names, and the first row has 3 cells"):
        run(source, tmp_path, outputs=["a"], inputs=["b"], header=False, column_names=["a", "b"],
            name="two")  # fmt: skip
    with pytest.raises(ConfigError, match="without a header row"):
        TableSettings(["b"], ["a"], column_names=["a", "b"])
    with pytest.raises(ConfigError, match="the name 'a' twice"):
        TableSettings(["b"], ["a"], header=False, column_names=["a", "b", "a"])
    with pytest.raises(DataError, match=r"no column '4'.* 3 \(1 to 3\)"):
        run(source, tmp_path, inputs=["4"], outputs=["1"], header=False, name="four")
    with pytest.raises(ConfigError, match="--no-header is for CSV and TSV"):
        (tmp_path / "rows.jsonl").write_text(json.dumps(ROWS[0]) + "\n")
        run(tmp_path / "rows.jsonl", tmp_path, header=False, name="jsonl")


def test_a_named_header_gets_no_hint_to_drop_it(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "rows.csv", ROWS)
    with pytest.raises(DataError, match="no column 'sentence'") as error:
        run(source, tmp_path, inputs=["sentence"])
    assert "--no-header" not in error.value.fix


def test_label_map_names_every_class(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "rows.csv", ROWS)
    (tmp_path / "names.json").write_text('["negative", "positive"]')
    (tmp_path / "classlabel.json").write_text('{"names": ["negative", "positive"]}')
    (tmp_path / "object.json").write_text('{"0": "negative", "1": "positive"}')
    inline = parse_label_map("0=negative, 1=positive")
    assert inline == ({"0": "negative", "1": "positive"}, False)
    for n, name in enumerate(("names.json", "classlabel.json", "object.json")):
        mapping, listed = parse_label_map(str(tmp_path / name))
        assert mapping == inline[0] and listed == (name != "object.json")
        summary = run(source, tmp_path, name=f"m{n}", label_map=mapping, label_list=listed)
        raw = yaml.safe_load(summary.task_yaml)
        assert raw["output"]["labels"] == ["negative", "positive"]
        assert "one of: negative, positive" in raw["system_prompt"]
        readme = (summary.task_dir / "README.md").read_text()
        assert "| label | written as | train | val | test |" in readme
        assert "| 0 | negative |" in readme and "| 1 | positive |" in readme
    plain = run(source, tmp_path, name="plain")
    assert [(q, {"0": "negative", "1": "positive"}[a]) for q, a in pairs(plain)["test"]] == pairs(
        summary
    )["test"]


def test_label_map_refusals(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "rows.csv", ROWS)
    with pytest.raises(DataError, match="label '1' has no name") as error:
        run(source, tmp_path, label_map={"0": "negative"})
    assert error.value.where == f"{source}:2"  # the first row holding it
    assert "add 1=NAME" in error.value.fix and "(0, 1)" in error.value.fix
    with pytest.raises(DataError, match="names '2', which no row holds: are its values off by one"):
        run(source, tmp_path, label_map={"1": "negative", "2": "positive"})
    with pytest.raises(ConfigError, match="both named 'same'"):
        run(source, tmp_path, label_map={"0": "same", "1": "same"})
    shifted = [{**r, "label": r["label"] + 1} for r in ROWS]  # classes 1 and 2, AG News style
    one_based = write_csv(tmp_path / "shifted.csv", shifted)
    # classes 1 and 2 and two names: the list can only be counted from 1
    shifted_list = run(one_based, tmp_path, label_map={"0": "a", "1": "b"}, label_list=True)
    assert [(q, a) for q, a in pairs(shifted_list)["test"]] == [
        (q, {"1": "a", "2": "b"}[str(r["label"])])
        for q, _ in pairs(shifted_list)["test"]
        for r in shifted
        if r["text"] == q
    ]
    # classes 1 and 2 but three names: 0 may be a class no row holds, or not one at all
    with pytest.raises(ConfigError, match="no row holds 0") as error:
        run(one_based, tmp_path, label_map={"0": "a", "1": "b", "2": "c"}, label_list=True,
            name="ambiguous")  # fmt: skip
    assert "--label-map 1=NAME" in error.value.fix
    ok = run(one_based, tmp_path, label_map={"1": "a", "2": "b"}, name="ok")
    assert list(ok.output.labels or ()) == ["a", "b"]
    for outputs, kind in ((["b", "c"], None), (["b"], "text")):
        with pytest.raises(ConfigError, match="not a label task"):
            TableSettings(["a"], outputs, output_kind=kind, label_map={"0": "x"})
    # one column as JSON: a map names label sets' items, and nothing in a column of objects
    objects = write_csv(tmp_path / "objects.csv", [{"text": f"q{i}", "label": '{"x": 1}'}
                                                   for i in range(30)])  # fmt: skip
    with pytest.raises(ConfigError, match="this is a JSON task of label"):
        run(objects, tmp_path, label_map={"0": "x"}, output_kind="json", name="objects")
    many = write_csv(tmp_path / "many.csv", [{"text": f"q{i}", "label": i} for i in range(300)])
    with pytest.raises(ConfigError, match="300 distinct values: a text task"):
        run(many, tmp_path, name="many", label_map={"0": "x"})
    for bad in ("0", "=x", "0="):
        with pytest.raises(ConfigError, match="cannot read"):
            parse_label_map(bad)
    (tmp_path / "bad.json").write_text('{"0": 3}')
    with pytest.raises(DataError, match="every name text"):
        parse_label_map(str(tmp_path / "bad.json"))
    with pytest.raises(ConfigError, match="cannot read the label names"):
        parse_label_map(str(tmp_path / "missing.json"))


def test_label_map_and_label_words_compose(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "rows.csv", ROWS)
    summary = run(
        source, tmp_path, label_map={"0": "not_good", "1": "quite_good"}, label_words=True
    )
    assert list(summary.output.labels or ()) == ["not good", "quite good"]


def test_coded_labels() -> None:
    for coded in (["0", "1"], ["1", "2", "3", "4"], ["LABEL_0", "LABEL_1"], ["-1", "1"]):
        assert coded_labels(coded), coded
    for named in (["negative", "positive"], ["A1", "B2", "C1"], ["0", "positive"], []):
        assert coded_labels(named) is None, named


def test_import_warns_of_coded_labels_and_not_of_named_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv(tmp_path / "rows.csv", ROWS)
    base = ["import", "table", str(source), "--input-col", "text", "--output-col", "label"]
    base += ["--out", str(tmp_path / "data"), "--conf-dir", str(tmp_path / "conf")]
    assert main([*base, "--name", "coded"]) == 0
    out = capsys.readouterr().out
    assert "Warning: the labels (0, 1) are codes" in out and "--label-map 0=NAME,1=NAME " in out
    assert main([*base, "--name", "named", "--label-map", "0=negative,1=positive"]) == 0
    out = capsys.readouterr().out
    assert "Imported task 'named' (label, 2 labels)" in out and "are codes" not in out
    names = tmp_path / "names.json"
    names.write_text('["negative", "positive"]')
    headerless = write_csv(tmp_path / "bare.csv", ROWS, header=False)
    args = ["import", "table", str(headerless), "--input-col", "1", "--output-col", "2"]
    args += ["--no-header", "--label-map", str(names), "--name", "bare"]
    args += ["--out", str(tmp_path / "data"), "--conf-dir", str(tmp_path / "conf")]
    assert main(args) == 0
    assert "(label, 2 labels)" in capsys.readouterr().out


def test_the_kind_comes_from_how_answers_repeat_and_how_long_they_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def kind(rows: list[dict[str, Any]], name: str) -> str:
        source = tmp_path / f"{name}.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r in rows))
        args = ["import", "table", str(source), "--input-col", "q", "--output-col", "a"]
        args += ["--name", name, "--out", str(tmp_path / "data")]
        assert main([*args, "--conf-dir", str(tmp_path / "conf")]) == 0
        out = capsys.readouterr().out
        return next(line.split()[1] for line in out.splitlines() if line.startswith("  kind "))

    # every answer a sentence of its own: free text, though there are only 100
    unique = [
        {"q": f"question {i}", "a": f"The answer to number {i} is {i * 7}."} for i in range(100)
    ]
    assert kind(unique, "sentences") == "text:"
    # ten sentences, each the answer of six rows: a closed set
    capitals = [{"q": f"q {i}", "a": f"The capital is City{i % 10}."} for i in range(60)]
    assert kind(capitals, "capitals") == "label:"
    capitals_yaml = (tmp_path / "conf" / "task" / "capitals.yaml").read_text()
    assert 'one of: "The capital is City0.", "The capital is City1."' in capitals_yaml
    # 77 short intents over 100 rows, most of them seen once: still labels
    intents = [{"q": f"q {i}", "a": f"intent_{i % 77}"} for i in range(100)]
    assert kind(intents, "intents") == "label:"


def test_import_warns_of_splits_too_small_to_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv(tmp_path / "rows.csv", ROWS)  # 60 rows: val 6, test 12
    test_file = write_csv(
        tmp_path / "test.csv", [{"text": f"new {i}", "label": i % 2} for i in range(5)]
    )
    args = ["import", "table", str(source), "--input-col", "text", "--output-col", "label"]
    args += ["--out", str(tmp_path / "data"), "--conf-dir", str(tmp_path / "conf")]
    assert main([*args, "--name", "small"]) == 0
    out = capsys.readouterr().out
    assert "Warning: val has 6 rows; shipwise-data validate calls fewer than 10 an error" in out
    assert "--val-fraction 0.17" in out and "Warning: test" not in out
    assert main([*args, "--name", "larger", "--val-fraction", "0.17"]) == 0
    assert "Warning: val" not in capsys.readouterr().out
    assert main([*args, "--name", "given", "--test-file", str(test_file)]) == 0
    out = capsys.readouterr().out
    assert "Warning: test has 5 rows" in out and "fix: add rows to it" in out
    yaml_text = (tmp_path / "conf" / "task" / "given.yaml").read_text()
    assert "imported from rows.csv and test.csv" in yaml_text


def test_a_column_of_answer_lists_is_a_text_task_scored_on_every_answer(tmp_path: Path) -> None:
    # the shape of a question-answering set exported from the Hugging Face hub
    rows = [
        {
            "question": f"Who won game {i}?",
            "answers": {"text": [f"Team {i}", f"the Team {i}", f"Team {i}"], "start": [3, 0, 3]},
        }
        for i in range(40)
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "qa.parquet")
    summary = run(tmp_path / "qa.parquet", tmp_path, inputs=["question"], outputs=["answers.text"])
    assert summary.output.kind == "text" and summary.chosen.startswith(
        "text: each row holds a list"
    )
    # the prompt names the column as a person would, and asks for answers as long as train's
    assert "Reply with only the answers: a few words (about 2 in the examples), not a" in (
        summary.task_yaml
    )
    assert "answers.text" not in summary.task_yaml.split("system_prompt")[1]
    datasheet = (summary.task_dir / "README.md").read_text()
    assert "- gold answers: 40 rows give several (a list in `answers.text`)" in datasheet
    records = {
        r["messages"][0]["content"]: r
        for split in SPLITS
        for r in read_jsonl(summary.task_dir / f"{split}.jsonl")
    }
    first = records["Who won game 1?"]
    assert first["messages"][1]["content"] == "Team 1"
    assert first["metadata"]["answers"] == ["Team 1", "the Team 1"]  # repeats kept once
    rows[5]["answers"]["text"] = [7]  # a number is an answer too
    (tmp_path / "qa.json").write_text(json.dumps(rows))
    again = run(tmp_path / "qa.json", tmp_path, inputs=["question"], outputs=["answers.text"],
                name="json")  # fmt: skip
    texts = {p[0]: p[1] for split in pairs(again).values() for p in split}
    assert texts["Who won game 5?"] == "7" and texts["Who won game 1?"] == "Team 1"
    from tests.tasks.test_importers_tabular import load

    task = load(summary)
    example = next(e for split in SPLITS for e in task.split(split) if e.id == first["id"])
    assert example.alternatives == ["the Team 1"]
    rows[5]["answers"]["text"] = ["Team 5"]
    rows[9]["answers"]["text"] = []  # unanswerable, as in SQuAD 2.0
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "qa2.parquet")
    with pytest.raises(DataError, match="empty list of answers in column") as error:
        run(tmp_path / "qa2.parquet", tmp_path, inputs=["question"], outputs=["answers.text"],
            name="qa2")  # fmt: skip
    assert error.value.where.endswith("qa2.parquet: record 10")
    with pytest.raises(DataError, match="list of answers in column"):
        run(tmp_path / "qa.parquet", tmp_path, inputs=["question"], outputs=["answers.text"],
            output_kind="label", name="qa3")  # fmt: skip


def test_short_answers_that_never_repeat_are_text_not_labels(tmp_path: Path) -> None:
    # a small QA set: every answer a short span of its own; as labels, the prompt would list
    # every test answer
    rows = [{"text": f"Who founded town {i}?", "label": f"Founder {i}"} for i in range(50)]
    (tmp_path / "qa.json").write_text(json.dumps(rows))
    summary = run(tmp_path / "qa.json", tmp_path)
    assert summary.output.kind == "text" and summary.chosen.startswith("text: 50 distinct")
