"""Any bytes or rows through the table importer: a task or the project's own error.

When rows written by a correct CSV writer import, every record is one source row as written:
no two rows merged, no answer moved into another row's text.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from shipwise.errors import ShipwiseError
from shipwise.tasks.importers.tabular import TableImport, TableSettings, import_table

SETTINGS = TableSettings(["text"], ["label"], test_fraction=0.25, val_fraction=0.25)
CELL = st.text(st.characters(exclude_categories=()), max_size=15)
PROSE = st.text(st.sampled_from('ab ,"\n\r\t;é\x00'), min_size=1, max_size=20)
LABEL = st.sampled_from(["billing", "shipping", "refund"])


def import_bytes(data: bytes, suffix: str) -> tuple[TableImport | ShipwiseError, Path]:
    folder = Path(tempfile.mkdtemp(prefix="shipwise-fuzz-"))
    source = folder / f"rows{suffix}"
    source.write_bytes(data)
    try:
        return import_table(source, folder / "data", "fuzz", SETTINGS, conf_dir=None), folder
    except ShipwiseError as exc:
        return exc, folder


@given(
    st.sampled_from([".csv", ".tsv", ".jsonl"]),
    st.one_of(
        st.binary(max_size=300),
        st.lists(st.lists(CELL, max_size=4), max_size=12).map(
            lambda rows: "\n".join(",".join(r) for r in rows).encode("utf-8", "surrogatepass")
        ),
        st.lists(st.lists(PROSE, min_size=2, max_size=2), max_size=12).map(
            lambda rows: ("text,label\n" + "\n".join(",".join(r) for r in rows)).encode()
        ),
    ),
)
def test_any_file_imports_or_is_a_shipwise_error(suffix: str, data: bytes) -> None:
    result, _ = import_bytes(data, suffix)
    if isinstance(result, ShipwiseError):
        assert result.what
    else:
        assert sum(result.counts.values()) > 0


@given(st.lists(st.tuples(PROSE, LABEL), min_size=8, max_size=30))
def test_well_quoted_rows_import_as_written_or_are_refused(rows: list[tuple[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    result, folder = import_bytes(buffer.getvalue().encode(), ".csv")
    if isinstance(result, ShipwiseError):
        return  # e.g. a split left empty, or a cell whose lines read as whole rows
    # what the reader keeps of a cell: its text, stripped; an input whose two rows disagree,
    # or that leaked across splits, is dropped
    source = {(text.strip(), label) for text, label in rows}
    for split in ("train", "val", "test"):
        for line in (result.task_dir / f"{split}.jsonl").read_text().splitlines():
            messages = json.loads(line)["messages"]
            pair = (messages[0]["content"], messages[1]["content"])
            assert pair in source, (pair, folder)
