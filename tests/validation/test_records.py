"""The validating reader: each corpus file's one defect is found where it is; the rest is read."""

from __future__ import annotations

import io
import json
import tracemalloc
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from shipwise.tasks.example import Message
from shipwise.validation.model import Finding, Record
from shipwise.validation.records import CHECKS, scan

CORPUS = Path(__file__).parent / "corpus"
CASES: dict[str, dict[str, Any]] = json.loads((CORPUS / "cases.json").read_text())


def split_items(items: Iterable[Finding | Record]) -> tuple[list[Finding], list[Record]]:
    findings: list[Finding] = []
    records: list[Record] = []
    for item in items:
        (findings if isinstance(item, Finding) else records).append(item)
    return findings, records


def chat(question: str, answer: str, **extra: Any) -> str:
    messages = [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return json.dumps({"messages": messages, **extra})


def test_corpus_covers_every_check_with_one_file_per_case() -> None:
    files = {p.name for p in CORPUS.glob("*.jsonl")}
    assert files == set(CASES)
    assert len(files) >= 24
    # A missing file cannot sit in the corpus, nor should a line of over 1 MiB: the tests at
    # the bottom cover them.
    covered = {case["check"] for case in CASES.values()}
    assert covered == set(CHECKS) - {"missing_file", "line_too_long"}
    # The defect is not always on the first line, so line numbers are really checked.
    assert sum(1 for case in CASES.values() if (case["line"] or 1) > 1) >= 20


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_file_reports_its_defect_and_reads_the_rest(name: str) -> None:
    case = CASES[name]
    path = CORPUS / name
    findings, records = split_items(scan(path, "train"))

    matches = [
        f
        for f in findings
        if f.check == case["check"]
        and f.line == case["line"]
        and f.severity == case["severity"]
        and case["message_contains"] in f.message
    ]
    assert matches, f"expected {case}, got {findings}"
    assert len(records) == case["records"]
    # One defect per file: every error sits on the defect's line (or is file-level).
    assert {f.line for f in findings if f.severity == "error"} <= {case["line"]}
    assert all(f.file == str(path) and f.split == "train" for f in findings)
    assert all(f.fix and "\n" not in f.message + f.fix for f in findings)
    assert all(f.severity == CHECKS[f.check] for f in findings)
    # A line with an error never comes out as a Record; the other lines keep their numbers.
    error_lines = {f.line for f in findings if f.severity == "error"}
    assert not error_lines & {r.line for r in records}
    assert all(r.messages[-1].role == "assistant" for r in records)


def test_clean_file_yields_only_records_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    system = {"role": "system", "content": "Answer briefly."}
    lines = [
        chat("Where is parcel 1?", "At the depot.", id="a"),
        json.dumps(
            {
                "id": 7,
                "messages": [system, *json.loads(chat("Ship to Oslo?", "Yes."))["messages"]],
                "metadata": {"source": "faq"},
            }
        ),
        chat("Opening hours?", "8 to 18.", metadata=None),
    ]
    path.write_text("\n".join(lines) + "\n")

    items = list(scan(path, "val"))

    assert all(isinstance(item, Record) for item in items)
    assert [r.line for r in items if isinstance(r, Record)] == [1, 2, 3]
    assert [r.id for r in items if isinstance(r, Record)] == ["a", "7", None]
    second = items[1]
    assert isinstance(second, Record)
    assert second.messages == (
        Message("system", "Answer briefly."),
        Message("user", "Ship to Oslo?"),
        Message("assistant", "Yes."),
    )
    assert (second.split, second.file, second.output_text) == ("val", str(path), "Yes.")


def test_every_problem_on_a_line_is_reported_and_no_record_comes_out(tmp_path: Path) -> None:
    record = {
        "id": "x",
        "label": "billing",
        "messages": [
            {"role": "user", "content": "   "},
            {"role": "bot", "content": "Hi", "weight": 2},
        ],
    }
    path = tmp_path / "train.jsonl"
    path.write_text(chat("q", "a") + "\n" + json.dumps(record) + "\n")

    findings, records = split_items(scan(path, "train"))

    assert {f.check for f in findings} == {
        "unknown_record_key",
        "empty_input",
        "unrecognized_role",
        "bad_weight",
        "no_assistant",
    }
    assert {f.line for f in findings} == {2}
    assert [r.line for r in records] == [1]


def test_a_warning_only_line_yields_the_warning_then_its_record(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(chat("q", "a", source="web") + "\n")

    items = list(scan(path, "train"))

    assert [type(item) for item in items] == [Finding, Record]
    assert isinstance(items[0], Finding) and items[0].check == "unknown_record_key"


def test_non_finite_number_is_located_outside_strings(tmp_path: Path) -> None:
    line = '{"messages": [], "metadata": {"note": "NaN \\" Infinity", "x": -Infinity}}'
    path = tmp_path / "train.jsonl"
    path.write_text(line + "\n")

    [finding] = list(scan(path, "train"))

    assert isinstance(finding, Finding) and finding.check == "invalid_json"
    assert f"column {line.index('-Infinity') + 1}: -Infinity" in finding.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"id": ' + "9" * 5000 + "}", "integer string conversion"),
        ('{"messages": [{"role": ["user"], "content": {"text": "hi"}}]}', "unrecognized role"),
        ('{"messages": [null, 3, []]}', "messages[0] is null"),
    ],
)
def test_odd_input_is_a_finding_not_a_traceback(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(text + "\n")

    findings, records = split_items(scan(path, "train"))

    assert not records
    assert any(expected in f.message for f in findings), findings


def test_bom_offsets_count_the_bom_bytes(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"x": "\xff"}\n')

    findings, _ = split_items(scan(path, "train"))

    assert [f.check for f in findings] == ["bom", "not_utf8"]
    assert "byte offset 10 of the line (0xff)" in findings[1].message


def test_scan_reads_lazily(tmp_path: Path) -> None:
    # Lines appended after the first Record came out are still read: nothing was read ahead
    # into a list before yielding.
    path = tmp_path / "train.jsonl"
    path.write_text(chat("q1", "a1") + "\n")
    items = scan(path, "train")

    first = next(items)
    with path.open("a") as handle:
        handle.write(chat("q2", "a2") + "\n" + chat("q3", "a3") + "\n")
    rest = list(items)

    assert isinstance(first, Record) and first.line == 1
    assert [r.line for r in rest if isinstance(r, Record)] == [2, 3]


def test_a_large_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    line = chat("Where is my parcel? " * 8, "At the depot, out for delivery tomorrow. " * 4)
    with path.open("w") as handle:
        for _ in range(20_000):
            handle.write(line + "\n")
    size = path.stat().st_size

    tracemalloc.start()
    try:
        count = sum(1 for item in scan(path, "train") if isinstance(item, Record))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 20_000
    assert size > 5_000_000
    assert peak < 256_000  # a few lines' worth, not the file's


def test_missing_file_is_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "test.jsonl"

    [finding] = list(scan(path, "test"))

    assert isinstance(finding, Finding)
    assert (finding.check, finding.severity, finding.line) == ("missing_file", "error", None)
    assert "test split file does not exist" in finding.message
    assert finding.file == str(path)


def test_directory_is_a_finding(tmp_path: Path) -> None:
    [finding] = list(scan(tmp_path, "train"))

    assert isinstance(finding, Finding) and finding.check == "missing_file"
    assert "is a directory" in finding.message


def test_unreadable_file_is_a_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(chat("q", "a") + "\n")

    def denied(self: Path, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)  # chmod does not stop root, who runs CI here
    [finding] = list(scan(path, "train"))

    assert isinstance(finding, Finding) and finding.check == "missing_file"
    assert "permission denied" in finding.message and "chmod" in finding.fix


def test_a_read_error_midway_is_a_finding_after_the_lines_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(chat("q", "a") + "\n")

    class FailingFile(io.BytesIO):
        lines = 0

        def readline(self, size: int | None = -1) -> bytes:
            self.lines += 1
            if self.lines > 1:
                raise OSError(5, "Input/output error")
            return (chat("q", "a") + "\n").encode()

    monkeypatch.setattr(Path, "open", lambda self, *a, **k: FailingFile())
    findings, records = split_items(scan(path, "train"))

    assert [r.line for r in records] == [1]
    assert [f.check for f in findings] == ["missing_file"]
    assert "failed after line 1: Input/output error" in findings[0].message


def test_a_line_over_the_cap_is_one_finding_and_the_rest_is_read(tmp_path: Path) -> None:
    from shipwise.tasks.jsonl import MAX_LINE_BYTES

    path = tmp_path / "train.jsonl"
    huge = chat("x" * (MAX_LINE_BYTES + 1), "a")
    path.write_text("\n".join([chat("q", "a"), huge, chat("r", "b")]) + "\n")
    findings, records = split_items(scan(path, "train"))

    assert [(f.check, f.line, f.severity) for f in findings] == [("line_too_long", 2, "error")]
    assert "over the 1,048,576 allowed" in findings[0].message and findings[0].fix
    assert [r.line for r in records] == [1, 3]


def test_utf16_without_a_bom_is_named_once(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(("\n".join([chat("q", "a")] * 50) + "\n").encode("utf-16-le"))
    findings, records = split_items(scan(path, "train"))

    assert not records
    assert [(f.check, f.line) for f in findings] == [("not_utf8", 1)]
    assert "UTF-16, not UTF-8" in findings[0].message and "iconv" in findings[0].fix
