"""``shipwise-data validate`` as a user runs it: every corpus file through the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shipwise.data_cli import main

CORPUS = Path(__file__).parent / "corpus"
CONTENT = Path(__file__).parent / "corpus_content"
CASES = json.loads((CORPUS / "cases.json").read_text())
LABELS = "+task.output.labels=[billing,shipping,returns]"


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    status = main(["validate", *args, "--json", "model=fake"])
    return status, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_malformed_file_gets_its_message_line_and_exit_code(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES[name]
    status, report = validate(capsys, str(CORPUS / name))
    assert status == (2 if case["severity"] == "error" else 1)
    found = [f for f in report["findings"] if f["check"] == case["check"]]
    assert found, report["findings"]
    assert any(
        f["line"] == case["line"] and case["message_contains"] in f["message"] for f in found
    ), found
    assert all(f["fix"] for f in report["findings"])  # every finding says what to do


def label_cases() -> list[Path]:
    return [
        case
        for case in sorted(CONTENT.iterdir())
        if (case / "case.json").is_file()
        and json.loads((case / "case.json").read_text())["output"]["kind"] == "label"
        and "context_window" not in json.loads((case / "case.json").read_text())
    ]


@pytest.mark.parametrize("case", label_cases(), ids=lambda p: p.name)
def test_each_content_defect_in_a_task_folder_is_found_from_the_command_line(
    case: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = json.loads((case / "case.json").read_text())
    status, report = validate(capsys, str(case), "task.output.kind=label", LABELS)
    [finding] = report["findings"]
    assert (finding["check"], finding["line"], finding["split"]) == (
        spec["check"],
        spec["line"],
        spec["split"],
    )
    assert spec["message_contains"] in finding["message"]
    assert status == (2 if spec["severity"] == "error" else 1)


def test_the_corpus_has_thirty_error_files_and_covers_every_reader_check() -> None:
    from shipwise.validation.records import CHECKS

    errors = [n for n, c in CASES.items() if c["severity"] == "error"]
    assert len(errors) >= 30
    assert {c["check"] for c in CASES.values()} >= set(CHECKS) - {"missing_file", "line_too_long"}


def test_the_command_never_shows_a_traceback(tmp_path: Path) -> None:
    binary = tmp_path / "train.jsonl"
    binary.write_bytes(b"\x00\xff\xfe{not json at all\n\x89PNG\r\n")
    for target in (str(binary), str(tmp_path / "missing.jsonl"), "no_such_task", str(tmp_path)):
        done = subprocess.run(
            [sys.executable, "-m", "shipwise.data_cli", "validate", target, "model=fake"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, (target, done.stdout[-500:], done.stderr[-500:])
        assert "Traceback" not in done.stderr + done.stdout, target
