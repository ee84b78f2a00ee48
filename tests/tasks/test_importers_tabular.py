from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from shipwise.config import config_dir, register_resolvers
from shipwise.errors import ConfigError, DataError
from shipwise.evaluation.metrics import json_scores
from shipwise.tasks.importers.tabular import (
    TableImport,
    TableSettings,
    import_table,
    parse_sample,
)
from shipwise.tasks.jsonl import read_chat_jsonl
from shipwise.tasks.task import Task, load_task_config

CLASSES = {"billing": 40, "delivery": 15, "refund": 5}  # skewed on purpose
SPLITS = ("train", "val", "test")


def write_table(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    delimiter = "\t" if path.suffix == ".tsv" else ","
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def labelled_csv(path: Path, classes: dict[str, int] = CLASSES, tag: str = "") -> Path:
    rows = [
        (f"{tag}message {i} about {label}", label) for label, n in classes.items() for i in range(n)
    ]
    return write_table(path, ["text", "label"], rows)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def labels_by_split(summary: TableImport) -> dict[str, Counter[str]]:
    return {
        split: Counter(
            r["messages"][1]["content"] for r in read_jsonl(summary.task_dir / f"{split}.jsonl")
        )
        for split in SPLITS
    }


def load(summary: TableImport) -> Task:
    assert summary.yaml_path is not None
    return load_task_config(yaml.safe_load(summary.yaml_path.read_text()))


def run(source: Path, tmp_path: Path, **kwargs: Any) -> TableImport:
    options = {"conf_dir": tmp_path / "conf"}
    options.update(
        {k: kwargs.pop(k) for k in list(kwargs) if k in ("test_file", "val_file", "force")}
    )
    inputs, outputs = kwargs.pop("inputs", ["text"]), kwargs.pop("outputs", ["label"])
    name = kwargs.pop("name", "tiny")
    settings = TableSettings(inputs, outputs, **kwargs)
    return import_table(source, tmp_path / "data", name, settings, **options)


def test_label_task_keeps_class_proportions_in_every_split(tmp_path: Path) -> None:
    summary = run(labelled_csv(tmp_path / "rows.csv"), tmp_path)
    assert dict(summary.counts) == {"train": 42, "val": 6, "test": 12}
    by_split = labels_by_split(summary)
    for label, n in CLASSES.items():
        for split, share in (("val", 0.1), ("test", 0.2), ("train", 0.7)):
            assert abs(by_split[split][label] - n * share) <= 1, (label, split)
    ids = [r["id"] for s in SPLITS for r in read_jsonl(summary.task_dir / f"{s}.jsonl")]
    assert sorted(ids) == sorted(f"rows-{line}" for line in range(2, 62))  # every row, once

    raw = yaml.safe_load(summary.task_yaml)
    assert raw["output"] == {"kind": "label", "labels": ["billing", "delivery", "refund"]}
    assert raw["metric"] == "macro_f1" and raw["regression_metric"] == "token_f1"
    assert raw["max_new_tokens"] == 16
    assert "one of: billing, delivery, refund" in raw["system_prompt"]
    assert "label" in raw["system_prompt"]
    task = load(summary)
    assert {k: len(task.split(k)) for k in SPLITS} == summary.counts
    record = read_jsonl(summary.task_dir / "test.jsonl")[0]
    assert set(record) == {"id", "messages", "metadata"}
    [example] = [e for e in task.split("test") if e.id == record["id"]]
    assert example.reference == record["messages"][1]["content"]
    assert example.metadata == {"source": "rows.csv", "line": record["metadata"]["line"]}

    readme = (summary.task_dir / "README.md").read_text()
    for needle in (summary.sources[str(tmp_path / "rows.csv")], "| test | 12 |", "| refund |"):
        assert needle in readme


def test_no_stratify_splits_the_rows_as_one_pool(tmp_path: Path) -> None:
    source = labelled_csv(tmp_path / "rows.csv")
    drifts = []
    for seed in range(5):
        summary = run(source, tmp_path, stratify=False, seed=seed, name=f"t{seed}")
        test = labels_by_split(summary)["test"]
        drifts.append(max(abs(test[label] - n * 0.2) for label, n in CLASSES.items()))
    assert max(drifts) > 1  # so the stratified test above asserts something


def test_json_task_from_two_output_columns(tmp_path: Path) -> None:
    rows = [
        (f"subject {i}", f"body {i}", ("open", "closed", "spam")[i % 3], f"R-{i:03d}")
        for i in range(60)
    ]
    source = write_table(tmp_path / "tickets.tsv", ["subject", "body", "status", "ref"], rows)
    summary = run(source, tmp_path, inputs=["subject", "body"], outputs=["status", "ref"])
    raw = yaml.safe_load(summary.task_yaml)
    # 3 statuses are listed; 60 distinct refs (over 50) allow any value.
    assert raw["output"] == {
        "kind": "json",
        "fields": {"status": ["closed", "open", "spam"], "ref": None},
    }
    assert raw["metric"] == "slot_f1"
    assert '{"status": "...", "ref": "..."}' in raw["system_prompt"]
    assert "- status: one of closed, open, spam" in raw["system_prompt"]
    records = {r["id"]: r for s in SPLITS for r in read_jsonl(summary.task_dir / f"{s}.jsonl")}
    first = records["tickets-2"]["messages"]
    assert first[0]["content"] == "subject: subject 0\nbody: body 0"
    assert first[1]["content"] == '{"status": "open", "ref": "R-000"}'
    assert (
        json_scores(first[1]["content"], first[1]["content"], ["status", "ref"])["json_match"]
        == 1.0
    )
    assert load(summary).spec.output.kind == "json"


def test_text_task_from_many_distinct_outputs_and_jsonl(tmp_path: Path) -> None:
    source = tmp_path / "qa.jsonl"
    rows = [{"q": f"question {i}", "n": i, "a": f"answer number {i}"} for i in range(210)]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n")
    summary = run(source, tmp_path, inputs=["q", "n"], outputs=["a"])
    raw = yaml.safe_load(summary.task_yaml)
    assert raw["output"] == {"kind": "text"} and raw["metric"] == "token_f1"
    assert dict(summary.counts) == {"train": 147, "val": 21, "test": 42}
    record = next(r for r in read_jsonl(summary.task_dir / "train.jsonl") if r["id"] == "qa-8")
    assert record["messages"][0]["content"] == "q: question 7\nn: 7"  # numbers become text
    load(summary)
    with pytest.raises(ConfigError, match="no classes to stratify by"):
        run(source, tmp_path, inputs=["q"], outputs=["a"], stratify=True, name="s")


def test_output_kind_text_overrides_a_label_column(tmp_path: Path) -> None:
    summary = run(labelled_csv(tmp_path / "rows.csv"), tmp_path, output_kind="text")
    assert yaml.safe_load(summary.task_yaml)["output"] == {"kind": "text"}
    with pytest.raises(ConfigError, match="make a JSON object"):
        TableSettings(["text"], ["label", "other"], output_kind="label")


def test_test_file_is_the_test_split_and_val_comes_from_source(tmp_path: Path) -> None:
    source = labelled_csv(tmp_path / "train.csv")
    test_file = labelled_csv(tmp_path / "test.csv", {"billing": 4, "refund": 2}, tag="new ")
    summary = run(source, tmp_path, test_file=test_file)
    assert dict(summary.counts) == {"train": 54, "val": 6, "test": 6}
    test_ids = sorted(r["id"] for r in read_jsonl(summary.task_dir / "test.jsonl"))
    assert test_ids == sorted(f"test-{line}" for line in range(2, 8))
    assert set(summary.sources) == {str(source), str(test_file)}
    val_file = labelled_csv(tmp_path / "val.csv", {"delivery": 3}, tag="other ")
    summary = run(source, tmp_path, test_file=test_file, val_file=val_file, name="both")
    assert dict(summary.counts) == {"train": 60, "val": 3, "test": 6}
    with pytest.raises(ConfigError, match="both set the test split") as info:
        run(source, tmp_path, test_file=test_file, test_fraction=0.3, name="x")
    assert info.value.where == "--test-fraction"


def test_same_stem_files_get_distinct_ids(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    source = labelled_csv(tmp_path / "a" / "rows.csv")
    test_file = labelled_csv(tmp_path / "b" / "rows.csv", {"billing": 3}, tag="new ")
    summary = run(source, tmp_path, test_file=test_file)
    assert load(summary).split("test")[0].id.startswith("rows-test-")


def test_id_col_keeps_a_datasets_own_ids(tmp_path: Path) -> None:
    rows = [(f"hub-{i:03d}", f"message {i} about {label}", label)
            for i, label in enumerate(["billing", "refund"] * 30)]  # fmt: skip
    source = write_table(tmp_path / "rows.csv", ["id", "text", "label"], rows)
    summary = run(source, tmp_path, id_col="id")
    ids = sorted(r["id"] for s in SPLITS for r in read_jsonl(summary.task_dir / f"{s}.jsonl"))
    assert ids == [f"hub-{i:03d}" for i in range(60)]
    # an id twice, across two files too, names both rows
    test = write_table(tmp_path / "test.csv", ["id", "text", "label"], [rows[5]])
    with pytest.raises(DataError) as caught:
        run(source, tmp_path, id_col="id", test_file=test, force=True)
    assert "id 'hub-005' names two rows: " in str(caught.value)
    assert f"{source}:7 and this one" in str(caught.value)
    assert caught.value.where == f"{test}:2" and "drop --id-col" in (caught.value.fix or "")
    tabbed = write_table(tmp_path / "tabs.csv", ["id", "text", "label"], [("a\tb", "x", "y")])
    with pytest.raises(DataError, match="line break, tab or control character"):
        run(tabbed, tmp_path, id_col="id", name="tabs")


def test_sample_draws_stratified_subsets_after_splitting(tmp_path: Path) -> None:
    source = labelled_csv(tmp_path / "rows.csv")
    full = run(source, tmp_path, seed=2, name="full")
    summary = run(source, tmp_path, seed=2, sample={"train": 21, "test": 6})
    assert dict(summary.counts) == {"train": 21, "val": 6, "test": 6}
    by_split = labels_by_split(summary)
    for label, n in CLASSES.items():
        assert abs(by_split["train"][label] - 21 * n / 60) <= 1
        assert abs(by_split["test"][label] - 6 * n / 60) <= 1
    for split in SPLITS:  # each sample is a subset of the same seed's full split
        ids = {r["id"] for r in read_jsonl(summary.task_dir / f"{split}.jsonl")}
        assert ids <= {r["id"] for r in read_jsonl(full.task_dir / f"{split}.jsonl")}
    with pytest.raises(ConfigError, match="13 test rows asked for, the test split has 12"):
        run(source, tmp_path, sample={"test": 13}, name="big")
    assert parse_sample("train=1000, val=200,test=500") == {
        "train": 1000, "val": 200, "test": 500
    }  # fmt: skip
    for bad in ("train=", "dev=3", "train=-1", "train:3"):
        with pytest.raises(ConfigError):
            parse_sample(bad)


def test_inputs_seen_in_train_are_dropped_from_val_and_test(tmp_path: Path) -> None:
    # 20 distinct inputs, each three times with different case and spacing.
    rows = [
        (text, "yes" if i % 2 else "no")
        for i in range(20)
        for text in (f"input {i}", f"INPUT  {i}", f" Input {i} ")
    ]
    source = write_table(tmp_path / "dups.csv", ["text", "label"], rows)
    summary = run(source, tmp_path, val_fraction=0.2, test_fraction=0.3)
    assert sum(summary.dropped.values()) > 0
    assert sum(summary.counts.values()) + sum(summary.dropped.values()) == 60
    task = load(summary)

    def norm(text: str) -> str:
        return " ".join(text.split()).casefold()

    train = {norm(e.prompt[-1].content) for e in task.split("train")}
    for split in ("val", "test"):
        assert not train & {norm(e.prompt[-1].content) for e in task.split(split)}
    readme = (summary.task_dir / "README.md").read_text()
    assert f"val {summary.dropped['val']}, test {summary.dropped['test']}" in readme
    assert summary.dropped["train"] == 0  # no input with two answers here
    # each dropped row is listed: where it was read, and the row it repeats
    listed = [line for line in readme.splitlines() if line.startswith(("- val: ", "- test: "))]
    assert len(listed) == summary.dropped["val"] + summary.dropped["test"]
    assert all(line.split(": ")[1].startswith("dups.csv:") for line in listed)
    assert all("is also in" in line or "repeats the test row" in line for line in listed)


def test_a_dropped_row_says_whether_it_repeated_a_test_row_or_had_two_answers(
    tmp_path: Path,
) -> None:
    rows = [(f"question {i}", "yes" if i % 2 else "no", "train") for i in range(8)]
    rows += [("asked twice", "yes", "test"), ("Asked  twice", "yes", "test")]
    rows += [("torn", "yes", "test"), ("torn", "no", "test"), ("fine", "no", "test")]
    source = write_table(tmp_path / "t.csv", ["text", "label", "split"], rows)
    summary = run(source, tmp_path, split_col="split")
    readme = (summary.task_dir / "README.md").read_text()
    assert summary.dropped["test"] == 3
    assert "- test: t.csv:11: repeats the test row at t.csv:10" in readme
    assert readme.count("its input has two answers in test") == 2


def test_a_bom_blank_lines_and_quoted_newlines_are_read(tmp_path: Path) -> None:
    source = tmp_path / "bom.csv"
    body = 'text,label\n"two\nlines",a\n\n' + "".join(f"row {i},{'ab'[i % 2]}\n" for i in range(9))
    source.write_bytes(b"\xef\xbb\xbf" + body.encode())
    summary = run(source, tmp_path, test_fraction=0.3)
    records = {r["id"]: r for s in SPLITS for r in read_jsonl(summary.task_dir / f"{s}.jsonl")}
    assert records["bom-2"]["messages"][0]["content"] == "two\nlines"
    assert records["bom-5"]["messages"][0]["content"] == "row 0"  # line 4 is blank
    assert yaml.safe_load(summary.task_yaml)["output"]["labels"] == ["a", "b"]


def test_system_prompt_round_trips_through_hydra(tmp_path: Path) -> None:
    prompt = "Sort the ticket.\n  Say ${label} only: no ${other.key} lookups.\n\nThanks"
    source = labelled_csv(tmp_path / "rows.csv")
    run(source, tmp_path, system_prompt=prompt, name="prompted")
    run(source, tmp_path, system_prompt=" starts with a space\t", name="quoted")
    register_resolvers()
    conf = (tmp_path / "conf").resolve()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        for name, expected in (("prompted", prompt), ("quoted", " starts with a space\t")):
            cfg = compose("config", overrides=[f"hydra.searchpath=[file://{conf}]", f"task={name}"])
            plain: Any = OmegaConf.to_container(cfg, resolve=True)
            assert plain["task"]["system_prompt"] == expected
            task = load_task_config(plain["task"])
            assert task.spec.output.labels == ["billing", "delivery", "refund"]


def test_max_new_tokens_follows_the_longest_output(tmp_path: Path) -> None:
    rows = [(f"short {i}", "a b") for i in range(9)] + [("long", "word " * 80)]
    source = write_table(tmp_path / "t.csv", ["text", "answer"], rows)
    summary = run(source, tmp_path, outputs=["answer"], output_kind="text")
    # 399 bytes at two bytes a token, plus room, rounded up to a multiple of 8
    assert yaml.safe_load(summary.task_yaml)["max_new_tokens"] == 208


def test_every_split_file_is_valid_chat_jsonl(tmp_path: Path) -> None:
    summary = run(labelled_csv(tmp_path / "rows.csv"), tmp_path)
    for split in SPLITS:
        examples = read_chat_jsonl(summary.task_dir / f"{split}.jsonl", split=split)
        assert [m.role for m in examples[0].prompt] == ["user"]


def test_label_words_write_labels_as_words_and_keep_the_split(tmp_path: Path) -> None:
    classes = {"card_arrival": 12, "lost__card_": 9, "top_up_failed": 6}
    source = labelled_csv(tmp_path / "rows.csv", classes)
    plain = run(source, tmp_path, seed=3, name="plain")
    worded = run(source, tmp_path, seed=3, name="worded", label_words=True)
    written = {"card_arrival": "card arrival", "lost__card_": "lost card",
               "top_up_failed": "top up failed"}  # fmt: skip
    assert load(worded).spec.output.labels == sorted(written.values())
    for split in SPLITS:  # the same rows in every split, only the labels written differently
        before = read_jsonl(plain.task_dir / f"{split}.jsonl")
        after = read_jsonl(worded.task_dir / f"{split}.jsonl")
        assert [r["id"] for r in after] == [r["id"] for r in before]
        assert [r["messages"][1]["content"] for r in after] == [
            written[r["messages"][1]["content"]] for r in before
        ]
    assert "top up failed" in (worded.yaml_path.read_text() if worded.yaml_path else "")
    datasheet = (worded.task_dir / "README.md").read_text()
    assert "| label | written as | train | val | test |" in datasheet
    assert "| lost__card_ | lost card |" in datasheet
    assert "label_words: `True`" in datasheet


def test_label_words_refuse_labels_that_would_meet_or_vanish(tmp_path: Path) -> None:
    source = labelled_csv(tmp_path / "meet.csv", {"top_up": 5, "top up": 5})
    with pytest.raises(DataError, match="'top up' and 'top_up' would both be written 'top up'"):
        run(source, tmp_path, label_words=True, name="meet")
    source = labelled_csv(tmp_path / "empty.csv", {"__": 5, "other": 5})
    with pytest.raises(DataError, match="only underscores"):
        run(source, tmp_path, label_words=True, name="empty")
    rows = [(f"question {i}", f"answer number {i}") for i in range(300)]
    text = write_table(tmp_path / "text.csv", ["text", "label"], rows)
    with pytest.raises(ConfigError, match="this is a text task"):
        run(text, tmp_path, label_words=True, name="text")


def rows_text(n: int = 12) -> str:
    labels = ["billing", "shipping"]
    return "".join(f"message {i} about {labels[i % 2]},{labels[i % 2]}\n" for i in range(n))


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        # the quote closes at the next row's end: two rows read as one, billing inside the text
        ('"I was charged twice,billing\nwhere is my parcel",shipping\n', 2, "a quote was left"),
        # the quote never closes
        ('"I was charged twice,billing\nwhere is my parcel,shipping\n', 2, "unreadable CSV"),
        # the quote closes mid-cell
        ('"I was charged "twice,billing\n', 2, "unreadable CSV"),
    ],
)
def test_an_unclosed_quote_is_an_error_not_two_rows_merged(
    tmp_path: Path, body: str, line: int, message: str
) -> None:
    source = tmp_path / "quotes.csv"
    source.write_text("text,label\n" + body + rows_text())
    with pytest.raises(DataError, match=message) as err:
        run(source, tmp_path)
    assert err.value.where == f"{source}:{line}" and "quote" in (err.value.fix or "")
    assert not (tmp_path / "data").exists()  # nothing written


def test_a_quoted_cell_over_several_lines_of_prose_still_imports(tmp_path: Path) -> None:
    source = tmp_path / "prose.csv"
    body = '"Hello team,\nmy chair broke, the leg snapped,\nthanks",billing\n'
    source.write_text("text,label\n" + body + rows_text())
    summary = run(source, tmp_path, test_fraction=0.3)
    records = [r for s in SPLITS for r in read_jsonl(summary.task_dir / f"{s}.jsonl")]
    texts = [r["messages"][0]["content"] for r in records]
    assert "Hello team,\nmy chair broke, the leg snapped,\nthanks" in texts


def test_a_column_named_twice_is_named_as_the_problem(tmp_path: Path) -> None:
    source = tmp_path / "twice.csv"
    source.write_text("text,label,text\n" + "".join(f"m {i},a,n {i}\n" for i in range(60)))
    with pytest.raises(DataError, match=r"names column 'text' twice \(columns 1 and 3\)") as err:
        run(source, tmp_path)
    assert err.value.where == f"{source}:1"


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_utf16_file_is_named_once(tmp_path: Path, suffix: str) -> None:
    source = tmp_path / f"wide{suffix}"
    text = "text,label\n" + rows_text() if suffix == ".csv" else '{"text": "a", "label": "b"}\n'
    source.write_bytes(text.encode("utf-16"))
    with pytest.raises(DataError, match="the file is UTF-16, not UTF-8") as err:
        run(source, tmp_path)
    assert err.value.where == str(source)


def test_a_lone_surrogate_in_a_jsonl_row_is_refused_at_its_line(tmp_path: Path) -> None:
    source = tmp_path / "rows.jsonl"
    good = "".join(json.dumps({"text": f"m {i}", "label": "ab"[i % 2]}) + "\n" for i in range(9))
    source.write_text(good + '{"text": "broken \\ud800", "label": "a"}\n')
    with pytest.raises(DataError, match="lone surrogate") as err:
        run(source, tmp_path)
    assert err.value.where == f"{source}:10"


def emotion_rows(n: int = 90) -> list[dict[str, Any]]:
    """Posts each naming one or two of six feelings, with their class numbers as a list."""
    said = ("furious", "delighted", "adoring", "scared", "shocked", "fine")
    rows = []
    for i in range(n):
        classes = sorted({i % 6, (i + 3) % 6} if i % 3 == 0 else {i % 6})
        text = f"Post {i}: I am " + " and ".join(said[c] for c in classes) + "."
        rows.append({"text": text, "labels": classes})
    return rows


def test_a_column_of_label_sets_is_a_json_list_field(tmp_path: Path) -> None:
    source = tmp_path / "posts.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in emotion_rows()), encoding="utf-8")
    names = tmp_path / "names.json"
    names.write_text(json.dumps({"names": ["anger", "joy", "love", "fear", "surprise", "calm"]}))
    summary = run(source, tmp_path, outputs=["labels"], label_map={}, label_list=False)
    assert summary.output.lists == ("labels",) and summary.chosen.startswith(
        "JSON: each row holds a set of labels (6 labels, 120 given in 90 rows)"
    )
    from shipwise.tasks.importers.tabular import parse_label_map

    mapping, listed = parse_label_map(str(names))
    summary = run(source, tmp_path, outputs=["labels"], label_map=mapping, label_list=listed,
                  force=True)  # fmt: skip
    spec = yaml.safe_load(summary.task_yaml)
    assert spec["output"]["lists"] == ["labels"]
    assert spec["output"]["fields"] == {
        "labels": ["anger", "calm", "fear", "joy", "love", "surprise"]
    }
    assert (
        "- labels: a list of every label that applies, from: anger, calm" in spec["system_prompt"]
    )
    by_input = {
        r["messages"][0]["content"]: json.loads(r["messages"][1]["content"])
        for split in SPLITS
        for r in read_jsonl(summary.task_dir / f"{split}.jsonl")
    }
    assert by_input["Post 3: I am furious and scared."] == {"labels": ["anger", "fear"]}
    assert by_input["Post 1: I am delighted."] == {"labels": ["joy"]}
    task = load(summary)  # the YAML loads, lists and all
    assert task.spec.output.lists == ("labels",)
    readme = (summary.task_dir / "README.md").read_text()
    assert "## Counts of `labels`" in readme and "| surprise |" in readme
    # scored label by label: one of two found is one hit of two
    scores = json_scores('{"labels": ["fear"]}', '{"labels": ["fear", "surprise"]}', ["labels"])
    assert (scores["slot.hits"], scores["slot.predicted"], scores["slot.gold"]) == (1, 1, 2)


def test_answer_lists_that_never_repeat_stay_alternative_answers(tmp_path: Path) -> None:
    rows = [{"q": f"Who wrote book {i}?", "a": [f"Author {i}", f"A. {i}"]} for i in range(40)]
    source = tmp_path / "qa.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    summary = run(source, tmp_path, inputs=["q"], outputs=["a"])
    assert summary.output.kind == "text" and "--output-kind json if each list" in summary.chosen
    # told they are sets, they are (each label then given once: a poor label set, but asked for)
    forced = run(source, tmp_path, inputs=["q"], outputs=["a"], output_kind="json", force=True)
    assert forced.output.lists == ("a",)
    with pytest.raises(DataError) as caught:
        run(source, tmp_path, inputs=["q"], outputs=["a"], output_kind="label", force=True)
    assert "--output-kind json if each list holds every label" in (caught.value.fix or "")


def test_label_sets_in_csv_cells_and_joined_labels(tmp_path: Path) -> None:
    tags = ["billing", "login", "bug", "refund"]
    rows = [
        (f"ticket {i} about {tags[i % 4]} and {tags[(i + 1) % 4]}",
         [tags[i % 4]] + ([tags[(i + 1) % 4]] if i % 2 else []))
        for i in range(80)
    ]  # fmt: skip
    # a JSON list in a CSV cell, as pandas writes one, and Python's form of it
    for n, cell in enumerate((json.dumps, repr)):
        source = write_table(tmp_path / f"t{n}.csv", ["text", "tags"],
                             [(t, cell(ts)) for t, ts in rows])  # fmt: skip
        summary = run(source, tmp_path, outputs=["tags"], name=f"t{n}")
        assert summary.output.lists == ("tags",), cell
        assert summary.output.fields == {"tags": sorted(tags)}
    # joined by a character: a warning naming --label-sep, which then reads them as sets
    joined = write_table(tmp_path / "joined.csv", ["text", "tags"],
                         [(t, "|".join(ts)) for t, ts in rows])  # fmt: skip
    summary = run(joined, tmp_path, outputs=["tags"], name="joined")
    assert (
        summary.output.kind == "label" and "re-import with --label-sep '|'" in (summary.warnings[0])
    )
    summary = run(joined, tmp_path, outputs=["tags"], name="joined", label_sep="|", force=True)
    assert summary.output.lists == ("tags",) and summary.warnings == ()
    # every row has a tag: the prompt does not offer null
    prompt = yaml.safe_load(summary.task_yaml)["system_prompt"]
    assert prompt.endswith("from: billing, bug, login, refund\nNo other text.")


def test_a_tag_per_token_in_an_output_column_is_refused_naming_tags_col(tmp_path: Path) -> None:
    rows = [{"tokens": ["Ada", "met", "Alan", str(i)], "ner_tags": [1, 0, 1, 0]} for i in range(30)]
    source = tmp_path / "ner.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(DataError) as caught:
        run(source, tmp_path, inputs=["tokens"], outputs=["ner_tags"])
    assert "a tag per token" in str(caught.value)
    assert "--tags-col ner_tags in place of --output-col" in (caught.value.fix or "")
