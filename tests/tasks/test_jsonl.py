from __future__ import annotations

import re
from pathlib import Path

import pytest

from shipwise.errors import DataError
from shipwise.tasks.jsonl import MAX_LINE_BYTES, read_chat_jsonl, read_lines

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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # half of a UTF-16 pair: json reads it, nothing downstream can write it
        (GOOD.replace('"yo"', '"yo \\ud800"'), "messages[1].content (character 4) holds a lone"),
        (GOOD.replace('"a"', '"\\udfff"', 1), "id (character 1) holds a lone surrogate"),
        (GOOD.replace('"yo"}]}', '"yo"}], "metadata": {"\\ud800": 1}}'), "a key of metadata"),
        (GOOD.replace('"yo"', "NaN"), "NaN is not a JSON value"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_what_no_later_step_could_read_is_refused_at_its_line(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(DataError, match=re.escape(message)) as err:
        read_chat_jsonl(write(tmp_path, GOOD.replace('"a"', '"b"') + "\n" + text + "\n"), split="x")
    assert err.value.where == f"{tmp_path / 'split.jsonl'}:2"


def test_a_paired_surrogate_escape_is_one_character(tmp_path: Path) -> None:
    [example] = read_chat_jsonl(
        write(tmp_path, GOOD.replace('"yo"', '"\\ud83d\\ude00"')), split="x"
    )
    assert example.reference == "\U0001f600"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_a_wide_encoding_is_named_once_for_the_file(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path, (GOOD + "\n" + GOOD.replace('"a"', '"b"') + "\n").encode(encoding))
    with pytest.raises(DataError, match=r"the file is UTF-(16|32), not UTF-8") as err:
        read_chat_jsonl(path, split="train")
    assert err.value.where == str(path) and "iconv" in (err.value.fix or "")


def test_a_line_over_the_cap_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    long = GOOD.replace('"hi"', '"' + "x" * (MAX_LINE_BYTES + 10) + '"')
    path = write(tmp_path, GOOD + "\n" + long + "\n")
    with pytest.raises(DataError, match=r"is 1,048,6\d\d bytes long, over the 1,048,576") as err:
        read_chat_jsonl(path, split="train")
    assert err.value.where == f"{path}:2"


def test_read_lines_reports_long_lines_empty_and_keeps_counting() -> None:
    import io

    data = b"a\n" + b"b" * 50 + b"\nc\n" + b"d" * 30
    lines = list(read_lines(io.BytesIO(data), limit=10))
    assert lines == [(b"a\n", 2), (b"", 51), (b"c\n", 2), (b"", 30)]
