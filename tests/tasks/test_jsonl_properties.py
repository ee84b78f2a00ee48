"""Any bytes through the JSONL readers: a result or the project's own error, never anything else.

And the two readers agree: whatever the study's strict reader refuses, ``shipwise-data
validate``'s scan reports as an error first.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shipwise.errors import DataError
from shipwise.tasks.example import Example
from shipwise.tasks.jsonl import read_chat_jsonl
from shipwise.validation.model import Finding, Record
from shipwise.validation.records import scan

# Text with everything a file can carry: lone surrogates, NUL and other control characters.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=12)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=8,
)
ROLE = st.sampled_from(["system", "user", "assistant", "tool", "bot", ""]) | JSON
MESSAGE = st.fixed_dictionaries(
    {}, optional={"role": ROLE, "content": ANY_TEXT | JSON, "weight": JSON, "name": JSON}
)
RECORD = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["a", "b", 1, 1.5, None]) | JSON,
        "messages": st.lists(MESSAGE, max_size=4) | JSON,
        "metadata": JSON,
        "extra": JSON,
    },
)
WORDS = st.text(min_size=1, max_size=20).filter(lambda t: not t.isspace())
PLAIN = st.tuples(WORDS, WORDS, st.sampled_from(["a", "b", "c"]))
GOOD = PLAIN.map(
    lambda t: json.dumps(
        {
            "id": t[2],
            "messages": [{"role": "user", "content": t[0]}, {"role": "assistant", "content": t[1]}],
        }
    )
)
LINE = (
    GOOD
    | RECORD.map(json.dumps)
    | JSON.map(lambda v: json.dumps(v, allow_nan=True))
    | st.text(max_size=40)
    | st.just("")
)
FILE = st.one_of(
    st.lists(LINE, max_size=6).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")),
    st.binary(max_size=400),
    st.lists(LINE, min_size=1, max_size=3).map(lambda lines: "\n".join(lines).encode("utf-16")),
)


def both_readers(data: bytes) -> tuple[list[Example] | DataError, list[Finding | Record]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.jsonl"
        path.write_bytes(data)
        strict: list[Example] | DataError
        try:
            strict = read_chat_jsonl(path, split="train")
        except DataError as exc:
            strict = exc
        return strict, list(scan(path, "train"))


@given(FILE)
def test_any_file_reads_or_is_a_data_error_and_validate_saw_it_first(data: bytes) -> None:
    strict, items = both_readers(data)  # anything but a DataError from the reader fails here
    assert all(isinstance(item, Finding | Record) for item in items)
    errors = [i for i in items if isinstance(i, Finding) and i.severity == "error"]
    if isinstance(strict, DataError):
        assert strict.where and strict.what
        assert errors, f"the run refuses ({strict.render()}) what validate passed"
    else:
        assert all(isinstance(e, Example) for e in strict) and strict
        for example in strict:  # what the run reads can be written everywhere it goes
            _encodable(example.as_record())


def _encodable(value: Any) -> None:
    json.dumps(value, ensure_ascii=False).encode("utf-8")


@given(st.lists(GOOD, min_size=1, max_size=5, unique_by=lambda line: json.loads(line)["id"]))
def test_well_formed_records_read_back_as_written(lines: list[str]) -> None:
    strict, items = both_readers(("\n".join(lines) + "\n").encode())
    assert not isinstance(strict, DataError), strict
    written = [json.loads(line) for line in lines]
    assert [e.reference for e in strict] == [r["messages"][1]["content"] for r in written]
    assert [e.id for e in strict] == [r["id"] for r in written]
    assert len([i for i in items if isinstance(i, Record)]) == len(lines)
