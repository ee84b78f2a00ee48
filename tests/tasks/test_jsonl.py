from __future__ import annotations

from pathlib import Path

import pytest

from shipwise.errors import DataError
from shipwise.tasks.jsonl import read_chat_jsonl

GOOD = (
    '{"id": "a", "messages": [{"role": "user", "content": "hi"},'
    ' {"role": "assistant", "content": "yo"}]}'
)


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "split.jsonl"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_reads_prompt_reference_and_metadata(tmp_path: Path) -> None:
    line = (
        '{"id": "x1", "messages": [{"role": "system", "content": "be brief"},'
        ' {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],'
        ' "metadata": {"source_doc": "d1"}}'
    )
    [example] = read_chat_jsonl(write(tmp_path, line + "\n"), split="test")
    assert example.id == "x1"
    assert [m.role for m in example.prompt] == ["system", "user"]
    assert example.reference == "a"
    assert example.metadata == {"source_doc": "d1"}
    assert example.user_text == "q"


def test_bom_and_blank_lines_are_tolerated(tmp_path: Path) -> None:
    path = write(tmp_path, ("\ufeff" + GOOD + "\n\n").encode("utf-8"))
    assert len(read_chat_jsonl(path, split="train")) == 1


@pytest.mark.parametrize(
    ("line", "line_no", "message"),
    [
        ('{"id": "b", "messages": [', 2, "invalid JSON at column"),
        ("[1, 2]", 2, "expected a JSON object"),
        ('{"id": "b"}', 2, "missing or empty 'messages'"),
        (
            '{"id": "b", "messages": [{"role": "robot", "content": "x"},'
            ' {"role": "assistant", "content": "y"}]}',
            2,
            "unknown role 'robot'",
        ),
        (
            '{"id": "b", "messages": [{"role": "user", "content": 3},'
            ' {"role": "assistant", "content": "y"}]}',
            2,
            "content must be a string",
        ),
        ('{"id": "b", "messages": [{"role": "user", "content": "x"}]}', 2, "last message"),
        (GOOD, 2, "duplicate id 'a'"),
    ],
)
def test_malformed_lines_name_file_and_line(
    tmp_path: Path, line: str, line_no: int, message: str
) -> None:
    path = write(tmp_path, GOOD + "\n" + line + "\n")
    with pytest.raises(DataError) as err:
        read_chat_jsonl(path, split="train")
    assert f"{path}:{line_no}" in str(err.value)
    assert message in str(err.value)


def test_non_utf8_bytes_are_reported(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.encode() + b"\n" + b'{"id": "\xff"}\n')
    with pytest.raises(DataError, match=r":2: bytes that are not UTF-8"):
        read_chat_jsonl(path, split="train")


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_chat_jsonl(tmp_path / "nope.jsonl", split="val")
    with pytest.raises(DataError, match="split is empty"):
        read_chat_jsonl(write(tmp_path, "\n"), split="val")
