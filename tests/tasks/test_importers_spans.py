"""Labelled spans imported as a JSON task (``--spans-col``): the shapes span data ships in."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipwise.errors import ConfigError, DataError
from shipwise.evaluation.metrics import json_scores
from shipwise.tasks.importers.spans import parse_span_keys, read_spans
from shipwise.tasks.importers.tabular import TableImport, TableSettings, import_table
from tests.conftest import SHARED_DATASETS

PEOPLE = ("Ada Lovelace", "Alan Turing", "Grace Hopper", "Ken Thompson", "Edsger Dijkstra")
PLACES = ("London", "Paris", "Boston", "Zurich", "Oslo")


def sentences(n: int = 60) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """Texts naming one or two people and a place (none in every seventh), with their spans."""
    out = []
    for i in range(n):
        people = [PEOPLE[i % 5]] + ([PEOPLE[(i + 2) % 5]] if i % 3 == 0 else [])
        place = PLACES[(i // 5) % 5]
        if i % 7 == 6:
            out.append((f"Note {i}: nothing to report today.", []))
            continue
        second = f" and {people[1]}" if len(people) > 1 else ""
        text = f"Note {i}: {people[0]}{second} flew to {place}."
        spans = [(text.index(p), text.index(p) + len(p), "person") for p in people]
        spans.append((text.index(place), text.index(place) + len(place), "place"))
        out.append((text, spans))
    return out


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def run(source: Path, tmp_path: Path, **settings: Any) -> TableImport:
    settings.setdefault("input_cols", ["text"])
    settings.setdefault("output_cols", [])
    force = settings.pop("force", False)
    return import_table(
        source,
        tmp_path / "data",
        "spans",
        TableSettings(**settings),
        conf_dir=tmp_path / "conf",
        force=force,
    )


def answers(summary: TableImport) -> dict[str, Any]:
    """Each imported row's answer, by its input text."""
    out = {}
    for split in ("train", "val", "test"):
        for line in (summary.task_dir / f"{split}.jsonl").read_text().splitlines():
            record = json.loads(line)
            out[record["messages"][0]["content"]] = json.loads(record["messages"][1]["content"])
    return out


def test_doccano_lists_become_one_field_a_label(tmp_path: Path) -> None:
    rows = [{"text": t, "label": [list(s) for s in spans]} for t, spans in sentences()]
    summary = run(write_jsonl(tmp_path / "doccano.jsonl", rows), tmp_path, spans_col="label")
    got = answers(summary)
    assert summary.output.kind == "json" and list(summary.output.fields or {}) == [
        "person",
        "place",
    ]
    # a label some row marks twice is a list in every row; a row marking nothing is all null
    assert got["Note 0: Ada Lovelace and Grace Hopper flew to London."] == {
        "person": ["Ada Lovelace", "Grace Hopper"],
        "place": "London",
    }
    alan = {"person": ["Alan Turing"], "place": "London"}
    assert got["Note 1: Alan Turing flew to London."] == alan
    assert got["Note 6: nothing to report today."] == {"person": None, "place": None}
    assert "a list: person" in summary.spans and "of 60 rows mark none" in summary.spans
    prompt = yaml.safe_load(summary.task_yaml)["system_prompt"]
    assert '{"person": ["..."], "place": "..."}' in prompt
    # every person and place test names is in train, and still no value is listed: a span
    # is the text's own, and listing train's would make extraction a choice among them
    assert "- person: a list of every person it gives, each copied exactly from the text" in prompt
    assert "- place: its value, copied exactly from the text" in prompt
    output = yaml.safe_load(summary.task_yaml)["output"]
    assert output["lists"] == ["person"] and output["fields"] == {"person": None, "place": None}
    readme = (summary.task_dir / "README.md").read_text()
    assert "the spans in label" in readme
    assert "| person | 36 of 42 | 5 of 6 | 11 of 12 |" in readme  # rows giving it, per split


def test_label_studio_export_reads_the_label_beside_the_offsets(tmp_path: Path) -> None:
    # Label Studio keeps a "type" ("labels") beside "value"; the label is value.labels[0]
    tasks = []
    for i, (text, spans) in enumerate(sentences(40)):
        result = [
            {
                "from_name": "label",
                "type": "labels",
                "value": {"start": s, "end": e, "text": text[s:e], "labels": [lab]},
            }
            for s, e, lab in spans
        ]
        tasks.append({"id": i, "data": {"text": text}, "annotations": [{"result": result}]})
    source = tmp_path / "export.json"
    source.write_text(json.dumps(tasks), encoding="utf-8")
    summary = run(source, tmp_path, input_cols=["data.text"], spans_col="annotations.0.result")
    assert list(summary.output.fields or {}) == ["person", "place"]
    assert answers(summary)["Note 2: Grace Hopper flew to London."]["place"] == "London"
    # the nested input key is named as words in the prompt ("the text", not "the data")
    assert "You are given the text." in yaml.safe_load(summary.task_yaml)["system_prompt"]


def test_protobuf_style_spans_leave_a_zero_start_out(tmp_path: Path) -> None:
    # DSTC8's shape: the slot and valueSpan.{startIndex, endIndex}; startIndex absent when 0
    turns = [
        {"userInput": {"text": "Fresno to Reno please"}, "labels": [
            {"slot": "from_location", "valueSpan": {"endIndex": 6}},
            {"slot": "to_location", "valueSpan": {"startIndex": 10, "endIndex": 14}},
        ]},
        {"userInput": {"text": "Thanks a lot"}},  # no labels key at all: no slot
    ]  # fmt: skip
    turns += [
        {"userInput": {"text": f"Leaving on day {i}"}, "labels": [
            {"slot": "leaving_date", "valueSpan": {"startIndex": 11, "endIndex": 15 + len(str(i))}}
        ]}
        for i in range(40)
    ]  # fmt: skip
    source = tmp_path / "turns.json"
    source.write_text(json.dumps(turns), encoding="utf-8")
    summary = run(source, tmp_path, input_cols=["userInput.text"], spans_col="labels")
    got = answers(summary)
    assert got["Fresno to Reno please"] == {
        "from_location": "Fresno",
        "to_location": "Reno",
        "leaving_date": None,
    }
    assert got["Thanks a lot"] == dict.fromkeys(["from_location", "to_location", "leaving_date"])
    assert got["Leaving on day 7"]["leaving_date"] == "day 7"
    assert "1 span gives no start and is read as starting at 0" in summary.spans
    readme = (summary.task_dir / "README.md").read_text()
    # test's dates are not train's: a free field, counted by the rows giving it
    assert re.search(r"## Rows giving each free field(.|\n)*\| leaving_date \| \d+ of", readme)
    assert "You are given the user input." in yaml.safe_load(summary.task_yaml)["system_prompt"]


def test_span_keys_name_keys_the_common_names_miss(tmp_path: Path) -> None:
    rows = [
        {"text": t, "marks": [{"kind": lab, "from": s, "to": e} for s, e, lab in spans]}
        for t, spans in sentences(30)
    ]
    source = write_jsonl(tmp_path / "rows.jsonl", rows)
    with pytest.raises(DataError) as caught:
        run(source, tmp_path, spans_col="marks")
    assert "no label key in span" in str(caught.value) and "--span-keys" in caught.value.fix
    keys = parse_span_keys("label=kind,start=from,end=to")
    summary = run(source, tmp_path, spans_col="marks", span_keys=keys)
    assert answers(summary)["Note 1: Alan Turing flew to London."]["place"] == "London"


def test_a_csv_cell_of_json_spans(tmp_path: Path) -> None:
    lines = ["text,spans"]
    for text, spans in sentences(30):
        cell = json.dumps([list(s) for s in spans]).replace('"', '""')
        lines.append(f'"{text}","{cell}"')
    source = tmp_path / "rows.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = run(source, tmp_path, spans_col="spans")
    assert answers(summary)["Note 1: Alan Turing flew to London."]["person"] == ["Alan Turing"]


@pytest.mark.parametrize(
    ("span", "message", "fix"),
    [
        ([0, 40, "city"], "ends at 40, past the text's 13 characters", "UTF-8 bytes"),
        ([6, 2, "city"], "does not run forward", "end one past the last"),
        ([5, 6, "city"], "marks only white space", "correct its offsets"),
        ({"start": 0, "end": 5, "label": "city", "text": "Paris"}, "span says", "--input-col"),
        ([0, 5], "has 2 items, not 3", "[start, end, label]"),
        ([0, "five", "city"], 'end is "five", not a character offset', "whole numbers"),
        ({"start": 0, "end": 5}, "no label key", "--span-keys"),
        ([0, 5, ["a", "b"]], "not a name", "one label"),
    ],
)
def test_a_bad_span_names_its_row_and_span(span: Any, message: str, fix: str) -> None:
    with pytest.raises(DataError) as caught:
        read_spans([[0, 4, "city"], span], "Oslo, Bergen.", {}, "rows.jsonl:3")
    assert message in str(caught.value)
    assert caught.value.where == "rows.jsonl:3, span 2"
    assert fix in (caught.value.fix or "")


def test_spaces_at_a_spans_ends_are_left_out_and_counted() -> None:
    from shipwise.tasks.importers.spans import summary

    marked = read_spans([[0, 5, "city"], [6, 13, "city"]], "Oslo  Bergen .", {}, "r:1")
    assert marked.texts == {"city": ("Oslo", "Bergen")} and marked.trimmed == 2
    assert summary([marked], ["city"]).endswith("; 2 with spaces at an end, left out of the answer")


def test_a_span_cutting_a_word_is_imported_and_warned_about(tmp_path: Path) -> None:
    rows = [{"text": t, "label": [list(s) for s in spans]} for t, spans in sentences(30)]
    text = rows[1]["text"]  # "Note 1: Alan Turing flew to London."
    rows[1]["label"].append([text.index("London"), text.index("London") + 3, "place"])
    summary = run(write_jsonl(tmp_path / "rows.jsonl", rows), tmp_path, spans_col="label")
    (warning,) = summary.warnings
    assert warning.startswith("1 span starts or ends inside a word: place 'Lon' in the word")
    assert "'London'" in warning and "rows.jsonl:2, span 3" in warning
    readme = (summary.task_dir / "README.md").read_text()
    assert "## Spans to check" in readme and "place 'Lon' in the word 'London'" in readme
    assert answers(summary)[text]["place"] == ["London", "Lon"]  # kept: the data says so
    clean = run(write_jsonl(tmp_path / "clean.jsonl", rows[2:]), tmp_path, spans_col="label",
                force=True)  # fmt: skip
    assert clean.warnings == ()


def test_spans_make_the_answer_alone(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--spans-col makes the answer"):
        TableSettings(input_cols=["text"], output_cols=["label"], spans_col="spans")
    with pytest.raises(ConfigError, match="spans make a JSON answer"):
        TableSettings(input_cols=["text"], output_cols=[], spans_col="s", output_kind="label")
    with pytest.raises(ConfigError, match="there is none"):
        TableSettings(input_cols=["text"], output_cols=["y"], span_keys={"label": "kind"})
    with pytest.raises(ConfigError) as caught:
        TableSettings(input_cols=["text"], output_cols=[])
    assert "--spans-col" in (caught.value.fix or "")
    with pytest.raises(ConfigError, match="ROLE=KEY"):
        parse_span_keys("colour=kind")


def test_a_misspelt_spans_column_and_no_spans_at_all(tmp_path: Path) -> None:
    rows = [{"text": t, "label": [list(s) for s in spans]} for t, spans in sentences(30)]
    source = write_jsonl(tmp_path / "rows.jsonl", rows)
    with pytest.raises(DataError, match="no column 'labels'; the columns are 'text', 'label'"):
        run(source, tmp_path, spans_col="labels")
    bare = write_jsonl(tmp_path / "bare.jsonl", [{"text": t, "label": []} for t, _ in sentences()])
    with pytest.raises(DataError, match="every JSON object in column 'label' is empty"):
        run(bare, tmp_path, spans_col="label")


def test_list_fields_score_each_value() -> None:
    fields = ["person", "place"]
    gold = json.dumps({"person": ["Ada", "Alan", "Grace"], "place": "Oslo"})
    two_of_three = json.dumps({"person": ["alan", "Ada", "Ken"], "place": "Oslo"})
    scores = json_scores(two_of_three, gold, fields)
    assert (scores["slot.hits"], scores["slot.predicted"], scores["slot.gold"]) == (3, 4, 4)
    assert scores["field.person"] == 0.0 and scores["field.place"] == 1.0
    reordered = json.dumps({"person": ["Grace", "Ada", "Alan"], "place": "Oslo"})
    assert json_scores(reordered, gold, fields)["json_match"] == 1.0
    # one name given as a string counts as a list of one; an empty list is no value
    alone = json_scores(json.dumps({"person": "Ada", "place": None}), gold, fields)
    assert (alone["slot.hits"], alone["slot.predicted"], alone["slot.gold"]) == (1, 1, 4)
    empty = json_scores(json.dumps({"person": [], "place": None}), json.dumps(
        {"person": None, "place": None}), fields)  # fmt: skip
    assert empty["json_match"] == 1.0 and empty["slot.predicted"] == 0


@pytest.mark.dataset
def test_imports_the_shared_dstc8_turns_as_they_ship(tmp_path: Path) -> None:
    folder = SHARED_DATASETS / "dstc8_buses"
    if not (folder / "train.json").is_file():
        pytest.skip(f"{folder} is absent")
    summary = import_table(
        folder / "train.json",
        tmp_path / "data",
        "buses",
        TableSettings(input_cols=["userInput.text"], output_cols=[], spans_col="labels"),
        test_file=folder / "test.json",
    )
    assert dict(summary.counts) == {"train": 1020, "val": 101, "test": 316}
    assert set(summary.output.fields or {}) == {"from_location", "to_location", "leaving_date"}
    assert re.match(r"663 spans, 3 labels; 1,076 of 1,510 rows mark none; 10 spans", summary.spans)
    got = answers(summary)
    text = (
        "The date is March 14th and the destination is Sacramento. The departure is from Las Vegas."
    )
    assert got[text] == {
        "to_location": "Sacramento",
        "leaving_date": "March 14th",
        "from_location": "Las Vegas",
    }


# --- token tags (--tags-col) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "entities"),
    [
        # BIO (IOB2); a B between two of one label splits them
        (["B-PER", "I-PER", "O", "B-LOC", "B-LOC"], [("Ada Lovelace", "PER"), ("in", "LOC"),
                                                     ("Oslo", "LOC")]),
        # IOB1: I opens an entity; B only between two entities of one label
        (["I-PER", "I-PER", "O", "I-LOC", "B-LOC"], [("Ada Lovelace", "PER"), ("in", "LOC"),
                                                     ("Oslo", "LOC")]),
        # BIOES: S is one token, E closes
        (["B-PER", "E-PER", "O", "S-LOC", "S-LOC"], [("Ada Lovelace", "PER"), ("in", "LOC"),
                                                     ("Oslo", "LOC")]),
        # IO: the tag is the label; a run is one entity; another label ends it
        (["person", "person", "O", "place", "place"], [("Ada Lovelace", "person"),
                                                       ("in Oslo", "place")]),
        (["B-PER", "I-LOC", "O", "O", "O"], [("Ada", "PER"), ("Lovelace", "LOC")]),
    ],
)  # fmt: skip
def test_tag_schemes_become_spans(tags: list[str], entities: list[tuple[str, str]]) -> None:
    from shipwise.tasks.importers.spans import tag_spans

    tokens = ["Ada", "Lovelace", "went", "in", "Oslo"]
    text, spans = tag_spans(tokens, tags, {}, "t:1")
    assert [(text[s:e], label) for s, e, label in spans] == entities


def test_numbered_tags_are_named_and_refused_unnamed(tmp_path: Path) -> None:
    from shipwise.tasks.importers.spans import tag_spans

    names = {"0": "O", "1": "B-PER", "2": "I-PER"}
    assert tag_spans(["Ada", "Lovelace", "wrote"], [1, 2, 0], names, "t:1")[1] == [[0, 12, "PER"]]
    with pytest.raises(DataError, match="tag 0 is a number") as caught:
        tag_spans(["Ada"], [0], {}, "t:1")
    assert "--label-map" in (caught.value.fix or "") and caught.value.where == "t:1, token 1"
    with pytest.raises(DataError, match="tag 7 has no name in --label-map"):
        tag_spans(["Ada"], [7], names, "t:1")
    with pytest.raises(DataError, match="2 tokens and 1 tags"):
        tag_spans(["Ada", "Lovelace"], ["O"], {}, "t:1")
    with pytest.raises(DataError, match="not a list of words"):
        tag_spans("Ada Lovelace", ["O"], {}, "t:1")


def test_a_hub_ner_export_imports_with_tags_col(tmp_path: Path) -> None:
    tag_names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    rows = []
    for i, (text, spans) in enumerate(sentences(60)):
        tokens = text.replace(".", " .").replace(":", " :").split()
        tags = [0] * len(tokens)
        for start, end, label in spans:
            words = text[start:end].split()
            first = tokens.index(words[0])
            code = 1 if label == "person" else 3
            tags[first : first + len(words)] = [code] + [code + 1] * (len(words) - 1)
        rows.append({"tokens": tokens, "ner_tags": tags, "id": f"n{i}"})
    source = write_jsonl(tmp_path / "ner.jsonl", rows)
    names = {str(i): n for i, n in enumerate(tag_names)}
    summary = run(source, tmp_path, input_cols=["tokens"], tags_col="ner_tags", label_map=names,
                  label_list=True, id_col="id")  # fmt: skip
    got = answers(summary)
    assert got["Note 0 : Ada Lovelace and Grace Hopper flew to London ."] == {
        "PER": ["Ada Lovelace", "Grace Hopper"],
        "LOC": "London",
    }
    prompt = yaml.safe_load(summary.task_yaml)["system_prompt"]
    assert prompt.startswith("You are given a text.")
    assert "(its tokens joined by spaces)" in (summary.task_dir / "README.md").read_text()
    with pytest.raises(ConfigError, match="each make the answer"):
        TableSettings(input_cols=["t"], output_cols=[], spans_col="s", tags_col="g")
