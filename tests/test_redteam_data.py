"""The red-team corpus against ``shipwise-data`` (validate and import), and the agreement of
validate with the run: whatever the study's loader refuses, validate reports as an error.

These run in-process through ``data_cli.main``: any exception but the project's own would
fail the test, so "no traceback" is checked by the test runner itself.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from shipwise.data_cli import main
from shipwise.errors import DataError
from shipwise.tasks.task import load_task, task_spec
from tests.redteam import (
    KEY,
    LONG,
    NUL,
    SURROGATE,
    TASK_YAML,
    TEST,
    Case,
    fill,
    record,
    write_lab,
)

FOLDER = "{lab}/data/fruit"
CONF = ("fruit", "--config-dir", "{lab}/conf")
LABELS = ["billing", "shipping"]
ROWS = "".join(f"message {i} about {LABELS[i % 2]},{LABELS[i % 2]}\n" for i in range(12))
JSON_ROWS = "".join(json.dumps({"text": f"m {i}", "label": "ab"[i % 2]}) + "\n" for i in range(12))
IMPORT = ("--name", "rows", "--input-col", "text", "--output-col", "label",
          "--out", "{lab}/out", "--conf-dir", "{lab}/out-conf")  # fmt: skip

VALIDATE = [
    Case("missing_path", ("/missing/path",), says="no such file or folder"),
    Case("unknown_task", ("no_such_task",), says="no task named 'no_such_task'"),
    Case(
        "lone_surrogate",
        (FOLDER,),
        files={"data/fruit/test.jsonl": SURROGATE},
        says="lone surrogate",
    ),
    Case(
        "utf16_file",
        (FOLDER,),
        files={"data/fruit/test.jsonl": TEST.encode("utf-16")},
        says="UTF-16, not UTF-8",
    ),
    Case("line_over_1_mib", (FOLDER,), files={"data/fruit/test.jsonl": LONG}, says="line_too_long"),
    Case(
        "nul_character",
        (FOLDER,),
        files={"data/fruit/test.jsonl": NUL},
        exit=1,
        says="NUL character",
        behaviour=True,
    ),
    Case(
        "id_in_two_splits",
        (FOLDER,),
        files={"data/fruit/val.jsonl": record("Is a fig purple?", "purple", "t-0") + "\n"},
        says="also in train",
    ),
    Case(
        "docs_link_outside",
        (FOLDER,),
        files={"data/fruit/docs/a.md": "Fruit.", "secret.md": "x"},
        says="outside",
    ),
    Case(
        "task_labels_yes_no",
        CONF,
        files={
            "conf/task/fruit.yaml": TASK_YAML.replace("[yellow, red, green, purple]", "[yes, no]")
        },
        says="YAML reads yes, no",
    ),
    Case(
        "task_global_package",
        CONF,
        files={"conf/task/fruit.yaml": "# @package _global_\n" + TASK_YAML},
        says="package directive",
    ),
    Case(
        "task_unknown_key",
        CONF,
        files={"conf/task/fruit.yaml": TASK_YAML + "temprature: 0.5\n"},
        says="unknown key 'temprature'",
    ),
    Case(
        "task_invalid_yaml",
        CONF,
        files={"conf/task/fruit.yaml": TASK_YAML + "  bad: x: y\n"},
        says="not valid YAML",
    ),
    Case("key_in_override", (*CONF, "model.api_key_env={key}"), says="refused before anything"),
    Case("unparsable_override", (*CONF, "limit=[1"), says="cannot read this override"),
    Case("clean_task", CONF, exit=1, says='"errors": 0', behaviour=True),
]
IMPORTS = [
    Case(
        "csv_unclosed_quote_merged",
        ("{lab}/rows.csv",),
        files={
            "rows.csv": 'text,label\n"charged twice,billing\nwhere is my parcel",shipping\n' + ROWS
        },
        says="a quote was left open",
    ),
    Case(
        "csv_unclosed_quote_at_end",
        ("{lab}/rows.csv",),
        files={"rows.csv": "text,label\n" + ROWS + '"charged twice,billing\n'},
        says="unreadable CSV",
    ),
    Case(
        "csv_quote_closed_mid_cell",
        ("{lab}/rows.csv",),
        files={"rows.csv": 'text,label\n"charged "twice,billing\n' + ROWS},
        says="unreadable CSV",
    ),
    Case(
        "csv_header_twice",
        ("{lab}/rows.csv",),
        files={"rows.csv": "text,label,text\n" + ROWS.replace("\n", ",x\n")},
        says="names column 'text' twice",
    ),
    Case(
        "csv_utf16",
        ("{lab}/rows.csv",),
        files={"rows.csv": ("text,label\n" + ROWS).encode("utf-16")},
        says="UTF-16",
    ),
    Case(
        "csv_missing_column",
        ("{lab}/rows.csv",),
        files={"rows.csv": "body,label\n" + ROWS},
        says="no column 'text'",
    ),
    Case("csv_empty", ("{lab}/rows.csv",), files={"rows.csv": ""}, says="the file is empty"),
    Case(
        "csv_ragged_row",
        ("{lab}/rows.csv",),
        files={"rows.csv": "text,label\n" + ROWS + "a,b,c\n"},
        says="3 cells, the header has 2",
    ),
    Case(
        "csv_nul_byte_kept",  # as in JSONL: kept as written, and validate warns
        ("{lab}/rows.csv",),
        files={"rows.csv": "text,label\n" + ROWS + "a\x00b,billing\n"},
        exit=0,
        says="Imported task 'rows'",
        behaviour=True,
    ),
    Case(
        "csv_line_over_1_mib",
        ("{lab}/rows.csv",),
        files={"rows.csv": "text,label\n" + ROWS + "x" * 1_100_000 + ",billing\n"},
        says="over the 1,048,576",
    ),
    Case(
        "jsonl_lone_surrogate",
        ("{lab}/rows.jsonl",),
        files={"rows.jsonl": JSON_ROWS + '{"text": "\\ud800", "label": "a"}\n'},
        says="lone surrogate",
    ),
    Case(
        "jsonl_nan",
        ("{lab}/rows.jsonl",),
        files={"rows.jsonl": JSON_ROWS + '{"text": NaN, "label": "a"}\n'},
        says="NaN is not a JSON value",
    ),
    Case(
        "name_with_traversal",
        ("{lab}/rows.csv",),
        files={"rows.csv": "text,label\n" + ROWS},
        says="cannot name a folder",
    ),
    Case("source_is_a_folder", ("{lab}/data",), says="cannot tell the format of 'data'"),
    Case("source_folder_named_csv", ("{lab}/d.csv",), files={"d.csv/x": ""}, says="is a folder"),
    Case(
        "csv_prose_over_lines",
        ("{lab}/rows.csv",),
        files={"rows.csv": 'text,label\n"Hello,\nmy lamp broke, sadly\nthanks",billing\n' + ROWS},
        exit=0,
        says="Imported task 'rows'",
        behaviour=True,
    ),
    Case(
        "csv_crlf_endings",
        ("{lab}/rows.csv",),
        files={"rows.csv": ("text,label\n" + ROWS).replace("\n", "\r\n")},
        exit=0,
        says="Imported task 'rows'",
        behaviour=True,
    ),
]


def outcome(case: Case, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == case.exit
    out = capsys.readouterr()
    text = out.out + out.err
    assert case.says in text, text[-3000:]
    if case.exit == 2 and out.out.startswith("{"):  # validate's report: error findings
        findings = json.loads(out.out)["findings"]
        assert any(f["severity"] == "error" for f in findings)
        assert all(f["fix"] for f in findings)
    elif case.exit == 2:
        assert "shipwise-data: error:" in out.err and "fix:" in out.err
    assert KEY not in text
    return text


@pytest.mark.parametrize("case", VALIDATE, ids=lambda c: c.name)
def test_validate_ends_as_documented(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lab(tmp_path, case.files)
    if case.name == "docs_link_outside":
        (tmp_path / "data/fruit/docs/linked.md").symlink_to(tmp_path / "secret.md")
    argv = ["validate", *fill(case.args, tmp_path, tmp_path), "model=fake", "--json"]
    started = time.monotonic()
    outcome(case, argv, capsys)
    assert time.monotonic() - started < 120


def test_a_30_mb_line_is_read_past_in_seconds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lab(tmp_path, {})
    huge = tmp_path / "data/fruit/test.jsonl"
    with huge.open("a") as handle:
        handle.write(record("y" * 30_000_000, "red", "huge") + "\n")
    started = time.monotonic()
    assert main(["validate", str(huge.parent), "model=fake", "--json"]) == 2
    assert time.monotonic() - started < 60  # was over 4 minutes at 4 GB
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [f["line"] for f in findings if f["check"] == "line_too_long"] == [13]


@pytest.mark.parametrize("case", IMPORTS, ids=lambda c: c.name)
def test_import_ends_as_documented(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lab(tmp_path, case.files)
    extra = ["--name", "../escape"] if case.name == "name_with_traversal" else []
    argv = ["import", "table", *fill((*case.args, *IMPORT), tmp_path, tmp_path), *extra]
    outcome(case, argv, capsys)
    assert not (tmp_path.parent / "escape").exists()
    if case.exit == 2:
        assert not (tmp_path / "out").exists()  # nothing half-written


DEFECTS = {
    "lone_surrogate": {"data/fruit/test.jsonl": SURROGATE},
    "utf16": {"data/fruit/test.jsonl": TEST.encode("utf-16")},
    "line_over_1_mib": {"data/fruit/test.jsonl": LONG},
    "empty_split": {"data/fruit/val.jsonl": ""},
    "invalid_json": {"data/fruit/test.jsonl": TEST + "{not json\n"},
    "nan": {"data/fruit/test.jsonl": TEST.replace('"red"', "NaN", 1)},
    "unknown_role": {"data/fruit/test.jsonl": TEST.replace('"user"', '"bot"', 1)},
    "no_user": {"data/fruit/test.jsonl": TEST.replace('"user"', '"system"', 1)},
    "content_not_text": {"data/fruit/test.jsonl": TEST.replace('"red"', "7", 1)},
    "id_twice_in_a_split": {"data/fruit/test.jsonl": TEST.replace('"x-1"', '"x-0"')},
    "id_in_two_splits": {"data/fruit/test.jsonl": TEST.replace('"x-1"', '"t-0"')},
    "metadata_not_object": {
        "data/fruit/test.jsonl": TEST.replace('"id": "x-0"', '"metadata": 3, "id": "x-0"')
    },
    "docs_not_utf8": {"data/fruit/docs/a.md": b"caf\xe9"},
    "docs_empty": {"data/fruit/docs/a.md": " \n"},
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_whatever_the_run_refuses_validate_reports_first(
    defect: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    write_lab(tmp_path, DEFECTS[defect])
    spec = task_spec(yaml.safe_load(TASK_YAML.replace("{lab}", str(tmp_path))))
    with pytest.raises(DataError):
        load_task(spec)
    assert main(["validate", str(tmp_path / "data/fruit"), "model=fake", "--json"]) == 2
    capsys.readouterr()


def test_an_import_command_line_holding_a_key_is_refused_before_the_datasheet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lab(tmp_path, {"rows.csv": "text,label\n" + ROWS})
    argv = ["import", "table", f"{tmp_path}/rows.csv", *fill(IMPORT, tmp_path, tmp_path)]
    assert main([*argv, "--system-prompt", f"Use {KEY} to call the tool."]) == 2
    assert "refused before anything was written" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
