"""Import rows of a table file as a task: input columns in, output columns out.

The file is CSV, TSV, JSON Lines, a JSON array or Parquet (see :mod:`.rows`).
The input columns become the user message (several are written as ``Column: value`` lines);
the output columns become the reference. One output column with at most 200 distinct values
that repeat or are a few words each is a label task, any other a text task; several make a
JSON task whose reference is a JSON object of those columns. Splits are seeded and, for label
tasks, stratified; a test (and val) file can replace the fractions. Inputs that also occur in
train are dropped from val and test (and test inputs also in val), as are inputs that carry
two different answers.
``label_map`` names labels a column stores as numbers or codes (``0`` as ``negative``), and
``label_words`` writes each label with its underscores as spaces (``card_arrival`` becomes
``card arrival``): both give the labels a language model reads as words.
"""

from __future__ import annotations

import ast
import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from shipwise.errors import ConfigError, DataError
from shipwise.tasks.importers.columns import (
    as_object,
    documents,
    empty,
    found,
    key_paths,
    lookup,
    pair_map,
    split_of,
)
from shipwise.tasks.importers.common import (
    SPLITS,
    check_fractions,
    check_name,
    refuse_overwrite,
    staged_task,
    write_lines,
    write_yaml,
)
from shipwise.tasks.importers.rows import (
    check_columns,
    check_merged,
    read_rows,
    table_format,
)
from shipwise.tasks.importers.spans import answers as span_answers
from shipwise.tasks.importers.spans import read_spans, split_word_lines, tag_spans
from shipwise.tasks.importers.spans import split_words as span_split_words
from shipwise.tasks.importers.spans import summary as span_summary
from shipwise.tasks.importers.table_files import datasheet, readable, task_yaml
from shipwise.tasks.task import OUTPUT_KINDS, OutputSpec

MAX_LABELS = 200  # one output column with more distinct values than this is free text
DEFAULT_SHARES = {"test": 0.2, "val": 0.1}  # of SOURCE, for a split no file or column gives
LABEL_WORDS = 4  # answers of at most this many words (the median) may be labels though unique
MAX_FIELD_VALUES = 50  # a JSON field with more distinct values than this allows any value


@dataclass(frozen=True)
class TableSettings:
    """How rows become examples. ``None`` means: decide from the data (see each field)."""

    input_cols: Sequence[str]
    output_cols: Sequence[str]
    output_kind: str | None = None  # label/text by distinct values (one column), json (several)
    system_prompt: str | None = None  # None: one written from the output spec
    val_fraction: float | None = None  # of SOURCE; 0.1 unless a val file is given
    test_fraction: float | None = None  # of SOURCE; 0.2 unless a test file is given
    stratify: bool | None = None  # None: on for label tasks
    sample: Mapping[str, int] = field(default_factory=dict)  # rows per split, drawn after splitting
    seed: int = 0
    delimiter: str | None = None  # None: by extension
    header: bool = True  # False: a delimited file's first row is data; columns are "1", "2", ...
    column_names: Sequence[str] = ()  # without a header: the columns' names, in order
    label_map: Mapping[str, str] = field(default_factory=dict)  # label value -> its name
    label_list: bool = False  # the map was a JSON list: values are 0-based positions in it
    label_words: bool = False  # labels written with spaces for underscores (label tasks only)
    split_col: str | None = None  # a column naming each row's split (train/val/test, or mapped)
    split_map: Mapping[str, str] = field(default_factory=dict)  # its values -> split or skip
    docs_col: str | None = None  # a column whose text becomes the task's documents
    doc_id_col: str | None = None  # the column naming each row's document (e.g. a title)
    keep_cols: Sequence[str] = ()  # columns kept in each record's metadata
    spans_col: str | None = None  # a column of labelled spans into the first input (spans.py)
    tags_col: str | None = None  # a column of token tags (BIO) beside a first input of tokens
    label_sep: str | None = None  # the output cells are label sets joined by this
    id_col: str | None = None  # a column of unique record ids (default: file stem and line)
    span_keys: Mapping[str, str] = field(default_factory=dict)  # role -> key in each span

    @property
    def answer_cols(self) -> Sequence[str]:
        """The columns the answer is read from: the output columns, or the spans or tags
        column."""
        marks = self.spans_col if self.spans_col is not None else self.tags_col
        return (marks,) if marks is not None else self.output_cols

    @property
    def marks_spans(self) -> bool:
        """The answer is the text of marked spans (from --spans-col or --tags-col)."""
        return self.spans_col is not None or self.tags_col is not None

    def __post_init__(self) -> None:
        if not self.input_cols or not self.answer_cols:
            raise ConfigError(
                "name at least one input and one output column",
                where="columns",
                fix="add --output-col COL (or --spans-col COL for labelled spans)",
            )
        self._check_spans()
        if self.doc_id_col is not None and self.docs_col is None:
            raise ConfigError(
                "--doc-id-col names the document of a --docs-col, and there is none",
                where="--doc-id-col",
                fix="add --docs-col COL (the column holding the document text)",
            )
        if self.split_map and self.split_col is None:
            raise ConfigError(
                "--split-map maps the values of a --split-col, and there is none",
                where="--split-map",
                fix="add --split-col COL",
            )
        for flag, column in (("--docs-col", self.docs_col), ("--split-col", self.split_col)):
            if column is not None and column in self.answer_cols:
                raise ConfigError(
                    f"column {column!r} is both an output and {flag}",
                    where=flag,
                    fix="name another column",
                )
        both = sorted(set(self.input_cols) & set(self.answer_cols))
        if both:
            raise ConfigError(
                f"column {both[0]!r} is both an input and an output: the answer would be in the"
                " question",
                where="--input-col/--output-col",
            )
        if self.output_kind is not None and self.output_kind not in OUTPUT_KINDS:
            raise ConfigError(
                f"unknown output kind {self.output_kind!r}",
                where="--output-kind",
                fix=f"use one of {', '.join(OUTPUT_KINDS)}",
            )
        if len(self.output_cols) > 1 and self.output_kind not in (None, "json"):
            raise ConfigError(
                f"{len(self.output_cols)} output columns make a JSON object, not a "
                f"{self.output_kind}",
                where="--output-kind",
                fix="use --output-kind json, or name one --output-col",
            )
        for split, n in self.sample.items():
            if split not in SPLITS or n < 1:
                raise ConfigError(
                    f"cannot sample {n} rows from split {split!r}",
                    where="--sample",
                    fix="write SPLIT=N with SPLIT one of train, val, test and N >= 1",
                )
        if self.column_names and self.header:
            raise ConfigError(
                "--column-names names the columns of a file without a header row",
                where="--column-names",
                fix="add --no-header if the file has none; a header's names are used as written",
            )
        repeated = sorted({n for n in self.column_names if list(self.column_names).count(n) > 1})
        if repeated or any(not n.strip() for n in self.column_names):
            what = f"the name {repeated[0]!r} twice" if repeated else "an empty name"
            raise ConfigError(
                f"--column-names gives {what}",
                where="--column-names",
                fix="give each column its own name, e.g. --column-names class,title,description",
            )
        # one column of labels, or of label sets (a JSON list field)
        one_label = len(self.output_cols) == 1 and self.output_kind in (None, "label", "json")
        if self.label_map and not one_label and self.tags_col is None:
            raise ConfigError(
                "--label-map names the values of one label column, and this is not a label task",
                where="--label-map",
                fix="drop --label-map, or name one --output-col (and no --output-kind)",
            )
        if self.label_sep is not None and (len(self.output_cols) != 1 or not self.label_sep):
            raise ConfigError(
                "--label-sep splits one output column's cells into label sets",
                where="--label-sep",
                fix="name one --output-col, and give the character that joins its labels",
            )
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise ConfigError(
                f"delimiter {self.delimiter!r} is not one character",
                where="--delimiter",
                fix="give one character, e.g. ';' or '\\t'",
            )

    def _check_spans(self) -> None:
        if self.spans_col is not None and self.tags_col is not None:
            raise ConfigError(
                "--spans-col and --tags-col each make the answer; name one",
                where="--tags-col",
                fix="--spans-col for character spans, --tags-col for a tag per token",
            )
        if self.span_keys and self.spans_col is None:
            raise ConfigError(
                "--span-keys names the keys of a --spans-col's spans, and there is none",
                where="--span-keys",
                fix="add --spans-col COL (the column listing each row's spans)",
            )
        if not self.marks_spans:
            return
        flag = "--spans-col" if self.spans_col is not None else "--tags-col"
        if self.output_cols:
            raise ConfigError(
                f"{flag} makes the answer (each label's marked text), and --output-col"
                " names another",
                where=flag,
                fix=f"drop --output-col, or drop {flag}",
            )
        if self.output_kind not in (None, "json"):
            raise ConfigError(
                f"spans make a JSON answer (a field a label), not a {self.output_kind}",
                where="--output-kind",
                fix="drop --output-kind",
            )


@dataclass(frozen=True)
class TableImport:
    """What an import wrote: the output spec, rows per split, rows dropped as leaks."""

    task_dir: Path
    yaml_path: Path | None
    output: OutputSpec
    counts: Mapping[str, int]
    dropped: Mapping[str, int]  # rows dropped as leaks or conflicting answers, per split
    sources: Mapping[str, str]  # path -> sha256
    task_yaml: str
    documents: int = 0  # documents written to docs/ (from --docs-col)
    chosen: str = ""  # why the data made it a label or a text task ("" when told or JSON)
    spans: str = ""  # with --spans-col: spans read, rows marking none, list fields
    warnings: Sequence[str] = ()  # what the import read but doubts (spans cutting words)


@dataclass(frozen=True)
class _Row:
    input: str
    output: tuple[Any, ...]  # the output cells, in --output-col order: text, an object, None
    source: str  # the id prefix: the file's stem
    file: str
    line: int
    split: str | None = None  # from --split-col
    doc: tuple[str, Any] | None = None  # (document text, id cell) from --docs-col/--doc-id-col
    keep: Mapping[str, Any] = field(default_factory=dict)  # --keep-col cells
    doc_id: str | None = None  # its document's id in docs/ (metadata.source_doc)
    where: str = ""  # path:line, for errors
    unit: str = "line"  # what ``line`` counts: "record" in a JSON array or a Parquet file
    id: str | None = None  # from --id-col
    per_token: bool = False  # its answer is a list as long as its first input's list (tags)


def parse_sample(text: str) -> dict[str, int]:
    """``train=1000,val=200,test=500`` -> a dict; any subset of the splits."""
    counts = pair_map(
        text,
        "--sample",
        "write SPLIT=N pairs joined by commas, e.g. train=1000,val=200,test=500",
        lambda split, count: split in SPLITS and count.isdigit(),
    )
    return {split: int(count) for split, count in counts.items()}


def import_table(
    source: Path,
    out_dir: Path,
    name: str,
    settings: TableSettings,
    *,
    test_file: Path | None = None,
    val_file: Path | None = None,
    conf_dir: Path | None = None,
    force: bool = False,
    command: str | None = None,
) -> TableImport:
    """Write ``out_dir/name`` (train/val/test.jsonl, README.md) and its task YAML.

    The same files, settings and seed give byte-identical output. ``command`` (the command
    line) is recorded in the datasheet.
    """
    check_name(name)
    fractions = _fractions(settings, test_file, val_file)
    task_dir = (out_dir / name).resolve()
    yaml_path = conf_dir / "task" / f"{name}.yaml" if conf_dir is not None else None
    refuse_overwrite(task_dir, yaml_path, force=force)

    files = {
        role: path
        for role, path in (("source", source), ("test", test_file), ("val", val_file))
        if path is not None
    }
    stems = Counter(path.stem for path in files.values())
    # Ids are `<file stem>-<line>`; two files with one stem get their role in the prefix.
    prefixes = {r: p.stem if stems[p.stem] == 1 else f"{p.stem}-{r}" for r, p in files.items()}
    read = {role: _read(path, settings, prefixes[role]) for role, path in files.items()}
    _check_ids(read)
    lists: list[str] = []
    marked = ""
    warnings: list[str] = []
    sets: dict[str, list[str]] = {}  # a label column whose rows each hold a set: its labels
    to_check: list[str] = []  # spans cutting words, for the datasheet
    if settings.marks_spans:
        spans_read = [row.output[0] for rows, _ in read.values() for row in rows]
        cut = span_split_words(spans_read)
        warnings += [cut] if cut else []
        to_check = split_word_lines(spans_read)
        read, lists, marked = _span_answers(read)
    every_read = [r for rows, _ in read.values() for r in rows]
    if _label_sets(settings, every_read):
        read, sets = _label_set_answers(read, settings)
        lists = list(sets)
    docs = _documents(read, settings)
    every = [r for rows, _ in read.values() for r in rows]
    output, words = _output_spec(settings, every, sets=bool(sets))
    output = replace(output, lists=tuple(lists))
    joined = _joined_labels(output.labels or ()) if output.kind == "label" else ""
    warnings += [joined] if joined else []
    answer = _answer(output, settings.answer_cols, words, _holds_objects(every))
    reference = _reference(output, answer)
    stratify = output.kind == "label" if settings.stratify is None else settings.stratify
    if stratify and output.kind == "text":
        raise ConfigError(
            "a text output has no classes to stratify by",
            where="--stratify",
            fix="drop --stratify, or use --output-kind label",
        )
    key: Callable[[_Row], str] = reference if stratify else (lambda row: "")

    rng = random.Random(settings.seed)
    if settings.split_col is not None:
        splits = _split_by_column(read["source"][0], fractions, key, rng)
    else:
        splits = _split(read["source"][0], fractions, key, rng)
        splits.update({role: list(read[role][0]) for role in ("test", "val") if role in read})
    drops: list[str] = []
    dropped = _drop_leaks(splits, reference, drops)
    for split, n in settings.sample.items():
        splits[split] = _sample(splits[split], n, key, rng, split)
    _check_not_empty(splits, dropped)
    output = _closed_fields(output, splits, answer, sets, spans=settings.marks_spans)

    counts = {split: len(splits[split]) for split in SPLITS}
    sources = {str(files[role]): digest for role, (_, digest) in read.items()}
    longest = max(len(reference(r).encode()) for rows, _ in read.values() for r in rows)
    lengths = sorted(len(reference(r).split()) for r in splits["train"])
    typical = float(lengths[len(lengths) // 2]) if output.kind == "text" and lengths else None
    text = task_yaml(name, task_dir, output, settings, list(files.values()), longest, typical)
    answers = {split: [answer(r) for r in splits[split]] for split in SPLITS}
    several = sum(
        isinstance(r.output[0], tuple) and len(r.output[0]) > 1
        for split in SPLITS
        for r in splits[split]
    )
    readme = datasheet(
        name,
        answers,
        output,
        dropped,
        sources,
        settings,
        command,
        words,
        docs,
        drops,
        several,
        marked,
        to_check,
    )
    with staged_task(task_dir) as staging:
        for split in SPLITS:
            write_lines(staging / f"{split}.jsonl", (_record(r, reference) for r in splits[split]))
        if docs:
            (staging / "docs").mkdir()
            write_lines(staging / "docs" / "documents.jsonl", docs)
        (staging / "README.md").write_text(readme, encoding="utf-8", newline="\n")
    if yaml_path is not None:
        write_yaml(yaml_path, text)
    chosen = ""
    if sets and settings.output_kind is None:
        items = sum(len(_set_of(r)) for r in every_read)
        chosen = (
            f"JSON: each row holds a set of labels ({len(next(iter(sets.values())))} labels,"
            f" {items:,} given in {len(every):,} rows), a list scored label by label"
            " (--output-kind text if each list holds alternative answers to one question)"
        )
    elif settings.output_kind is None and _lists(every):
        chosen = (
            "text: each row holds a list of gold answers (the first is the reference;"
            " --output-kind json if each list holds every label that applies)"
        )
    elif settings.output_kind is None and output.kind in ("label", "text"):
        chosen = kind_reason(output, len(every), len({str(r.output[0]) for r in every}))
    return TableImport(
        task_dir, yaml_path, output, counts, dropped, sources, text, len(docs), chosen, marked,
        tuple(warnings),
    )  # fmt: skip


def _label_sets(settings: TableSettings, rows: Sequence[_Row]) -> bool:
    """One output column of lists that are sets of labels (every label that applies), not
    alternative answers: at most ``MAX_LABELS`` values, each given twice on average, and not
    nearly all given once. ``--output-kind json`` says so; ``text`` says not."""
    if settings.marks_spans or len(settings.output_cols) != 1 or not _lists(rows):
        return False
    listed = [row for row in rows if isinstance(row.output[0], tuple)]
    if all(row.per_token for row in listed):
        column, tokens = settings.output_cols[0], settings.input_cols[0]
        raise DataError(
            f"every list in {column!r} is as long as the list in {tokens!r}: a tag per token,"
            " not a set of labels or of answers",
            where=listed[0].where,
            fix=f"import token tags with --tags-col {column} in place of --output-col (and"
            " --label-map for numbered tags)",
        )
    if settings.output_kind is not None or settings.label_sep is not None:
        return settings.output_kind in (None, "json")
    counts = Counter(v for row in rows for v in _set_of(row))
    distinct, once = len(counts), sum(n == 1 for n in counts.values())
    mostly_once = distinct >= 20 and once >= 0.8 * distinct
    return 0 < distinct <= MAX_LABELS and 2 * distinct <= counts.total() and not mostly_once


def _joined_labels(labels: Sequence[str]) -> str:
    """A warning when labels read as sets joined by a separator (``billing|refund``: every
    combination its own label, ordered), or "" when they do not."""
    for sep in ("|", ";", ","):
        joined = [label for label in labels if sep in label]
        # a part in two labels: the labels are combinations of a few
        parts = Counter(p.strip() for label in labels for p in set(label.split(sep)))
        shared = any(n > 1 for p, n in parts.items() if p)
        if len(labels) >= 4 and len(joined) >= 0.3 * len(labels) and shared:
            return (
                f"{len(joined)} of the {len(labels)} labels join others with {sep!r} (e.g."
                f" {joined[0]!r}): each combination is then a label of its own. If a row can"
                f" have several labels, re-import with --label-sep {sep!r}"
            )
    return ""


def _set_of(row: _Row) -> list[str]:
    """An output cell's values: a list's items, one value alone, none for an empty cell."""
    value = row.output[0]
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, tuple) else [str(value)]


def _label_set_answers(
    read: Mapping[str, tuple[list[_Row], str]], settings: TableSettings
) -> tuple[dict[str, tuple[list[_Row], str]], dict[str, list[str]]]:
    """Each row's set of labels as a JSON answer with one list field, named by ``--label-map``
    and ``--label-words`` as one label is; null when none applies. Returns the rows and
    {field: every label}, sorted."""
    every = [row for rows, _ in read.values() for row in rows]
    values = sorted({v for row in every for v in _set_of(row)})
    words = written_labels(values, settings, every) or {v: v for v in values}
    name = readable(settings.output_cols)[0]
    labels = sorted(set(words.values()))
    order = {label: i for i, label in enumerate(labels)}
    # each set once, in the order the labels are listed: as constrained decoding writes it
    answers = [
        {name: sorted({words[v] for v in _set_of(row)}, key=order.__getitem__) or None}
        for row in every
    ]
    return _answered(read, answers), {name: labels}


def _span_answers(
    read: Mapping[str, tuple[list[_Row], str]],
) -> tuple[dict[str, tuple[list[_Row], str]], list[str], str]:
    """Every row's spans (read with it) as its answer object, over the labels of every file;
    the labels some row marks twice (list fields), and a line on what was read."""
    marked = [row.output[0] for rows, _ in read.values() for row in rows]
    objects, lists = span_answers(marked)
    return _answered(read, objects), lists, span_summary(marked, lists)


def _answered(
    read: Mapping[str, tuple[list[_Row], str]], answers: Sequence[dict[str, Any]]
) -> dict[str, tuple[list[_Row], str]]:
    """The rows read, each with its answer object (``answers``: one a row, in read order)."""
    given = iter(answers)
    return {
        role: ([replace(row, output=(next(given),)) for row in rows], digest)
        for role, (rows, digest) in read.items()
    }


def _fractions(
    settings: TableSettings, test_file: Path | None, val_file: Path | None
) -> dict[str, float]:
    """The shares of SOURCE that go to test and val; a split read from a file takes none.

    With a split column, rows go where it says; val, when it names none, is drawn from train.
    """
    if settings.split_col is not None:
        given = [
            flag
            for flag, value in (
                ("--test-file", test_file),
                ("--val-file", val_file),
                ("--test-fraction", settings.test_fraction),
            )
            if value is not None
        ]
        if given:
            raise ConfigError(
                f"--split-col and {given[0]} both choose the splits",
                where=given[0],
                fix=f"drop {given[0]}: the split column says where every row goes",
            )
        val = DEFAULT_SHARES["val"] if settings.val_fraction is None else settings.val_fraction
        check_fractions(val, 0.0)
        return {"val": val}
    shares: dict[str, float] = {}
    for split, given_share, file in (
        ("test", settings.test_fraction, test_file),
        ("val", settings.val_fraction, val_file),
    ):
        default = DEFAULT_SHARES[split]
        if file is not None and given_share is not None:
            raise ConfigError(
                f"--{split}-fraction and --{split}-file both set the {split} split",
                where=f"--{split}-fraction",
                fix=f"drop --{split}-fraction: the {split} split is the whole --{split}-file",
            )
        shares[split] = (
            0.0 if file is not None else (default if given_share is None else given_share)
        )
    check_fractions(shares["val"], shares["test"])
    return shares


# --- reading -------------------------------------------------------------------------------


def _read(path: Path, settings: TableSettings, prefix: str) -> tuple[list[_Row], str]:
    """Every row of one file, and the file's sha256 (hashed as it streams)."""
    form = table_format(path, settings.delimiter)
    if not settings.header and form.kind != "delimited":
        raise ConfigError(
            f"--no-header is for CSV and TSV files; {path.name} names its fields in every row",
            where="--no-header",
            fix="drop --no-header and name the fields with --input-col/--output-col",
        )
    hasher = hashlib.sha256()
    found = read_rows(
        path, form, _columns(settings), hasher, settings.header, settings.column_names
    )
    if form.delimiter is not None:
        check_merged(found, settings.answer_cols, form.delimiter, path)
    # a JSON row may leave out a key it has no value for (no spans; no metadata): absent is
    # null, unless no row has it (a misspelt column)
    for column in [*settings.keep_cols, *([settings.spans_col] if settings.spans_col else [])]:
        if found and not any(_found_in(row.cells, column) for row in found):
            seen = dict.fromkeys(p for row in found for p in key_paths(row.cells))
            check_columns([column], list(seen), where=str(path))
    rows = [_row(row.cells, path, row.line, settings, prefix, form.unit) for row in found]
    rows = [row for row in rows if row.split != "skip"]
    if not rows:
        raise DataError("the file has no rows", where=str(path), fix="add rows below the header")
    return rows, hasher.hexdigest()


def _columns(settings: TableSettings) -> list[str]:
    """Every column an import reads."""
    named = [settings.split_col, settings.docs_col, settings.doc_id_col]
    return [
        *settings.input_cols,
        *settings.answer_cols,
        *(c for c in [*named, settings.id_col] if c is not None),
        *settings.keep_cols,
    ]


def _row(
    record: Mapping[str, Any],
    path: Path,
    line: int,
    settings: TableSettings,
    prefix: str,
    unit: str = "line",
) -> _Row:
    where = f"{path}:{line}" if unit == "line" else f"{path}: {unit} {line}"

    def raw(column: str) -> Any:
        value = lookup(record, column)
        if not found(value):
            check_columns([column], key_paths(record), where=where)
        return value

    def cell(column: str) -> str:
        value = raw(column)
        if empty(value):
            raise DataError(
                f"empty cell in column {column!r}", where=where, fix="fill it in or remove the row"
            )
        return value.strip() if isinstance(value, str) else _dumps(value)

    def output(column: str) -> Any:
        value = raw(column)
        if empty(value):
            return None  # absent: allowed in a JSON answer, refused in a label or text one
        if len(settings.output_cols) == 1 and isinstance(value, str):
            value = _list_cell(value, settings.label_sep)  # a CSV cell holding a list
        if _answer_list(value) and len(settings.output_cols) == 1:
            # several gold answers (a QA export's answers.text), as a tuple; () if none
            return tuple(dict.fromkeys(str(a).strip() for a in value if not empty(a)))
        parsed = as_object(value, where)
        if parsed is not None:
            return parsed  # {} too: an answer with every field null
        return value.strip() if isinstance(value, str) else _dumps(value)

    inputs = [(c, cell(c)) for c in settings.input_cols]
    if settings.spans_col is not None:
        spans = _or_none(lookup(record, settings.spans_col))
        marked_in = raw(settings.input_cols[0])  # as written: the offsets count its characters
        outputs: tuple[Any, ...] = (read_spans(spans, marked_in, settings.span_keys, where),)
    elif settings.tags_col is not None:
        tokens, tags = raw(settings.input_cols[0]), raw(settings.tags_col)
        joined, runs = tag_spans(tokens, tags, settings.label_map, where)
        outputs = (read_spans(runs, joined, {}, where),)
        inputs[0] = (inputs[0][0], joined)  # a list of tokens: the text is its words
    else:
        outputs = tuple(output(c) for c in settings.output_cols)
    text = inputs[0][1] if len(inputs) == 1 else "\n".join(f"{c}: {v}" for c, v in inputs)
    split = None
    if settings.split_col is not None:
        split = split_of(raw(settings.split_col), settings.split_map, settings.split_col, where)
    doc = None
    if settings.docs_col is not None:
        doc = (cell(settings.docs_col), cell(settings.doc_id_col) if settings.doc_id_col else "")
    keep = {c: _or_none(lookup(record, c)) for c in settings.keep_cols}
    record_id = None if settings.id_col is None else _record_id(cell(settings.id_col), where)
    per_token = False
    if len(settings.output_cols) == 1 and isinstance(outputs[0], tuple):
        first, answer = raw(settings.input_cols[0]), raw(settings.output_cols[0])
        if isinstance(first, str) and isinstance(answer, str):  # lists written into CSV cells
            first, answer = _list_cell(first, None), _list_cell(answer, settings.label_sep)
        per_token = isinstance(first, list) and isinstance(answer, list)
        per_token = per_token and len(first) == len(answer)
    return _Row(
        text, outputs, prefix, path.name, line, split, doc, keep, where=where, unit=unit,
        id=record_id, per_token=per_token,
    )  # fmt: skip


def _record_id(value: str, where: str) -> str:
    if not value.isprintable():  # a tab, a line break, a control character
        raise DataError(
            f"id {value[:40]!r} holds a line break, tab or control character",
            where=where,
            fix="name an --id-col of plain ids, or drop --id-col (ids are then file and line)",
        )
    return value


def _check_ids(read: Mapping[str, tuple[list[_Row], str]]) -> None:
    """Every --id-col value names one row, across every file read."""
    first: dict[str, _Row] = {}
    for rows, _ in read.values():
        for row in rows:
            if row.id is None:
                continue
            if row.id in first:
                raise DataError(
                    f"id {row.id[:40]!r} names two rows: {first[row.id].where} and this one",
                    where=row.where,
                    fix="name a column whose values are unique, or drop --id-col (ids are then"
                    " file and line)",
                )
            first[row.id] = row


def _found_in(record: Mapping[str, Any], column: str) -> bool:
    return found(lookup(record, column))


def _list_cell(value: str, sep: str | None) -> Any:
    """A text cell as the list it writes, when it writes one: split at ``sep`` (--label-sep),
    or a JSON list (``["a", "b"]``, as pandas writes a list into CSV) or Python's form of one
    (``['a', 'b']``) of plain values. Anything else is returned as it is."""
    if sep is not None:
        return [part.strip() for part in value.split(sep) if part.strip()]
    text = value.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return value
    if len(text) > 100_000:
        return value
    for parse in (json.loads, ast.literal_eval):  # literal_eval reads literals, runs nothing
        try:
            parsed = parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        return parsed if _answer_list(parsed) else value
    return value


def _or_none(value: Any) -> Any:
    return value if found(value) else None


def _answer_list(value: Any) -> bool:
    """A JSON or Parquet list of plain answers (texts or numbers)."""
    return isinstance(value, list) and all(
        isinstance(a, str | int | float) and not isinstance(a, bool) for a in value
    )


def _dumps(value: Any) -> str:
    """A cell that is not text (a number, a list; a date from Parquet) as JSON."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _documents(
    read: Mapping[str, tuple[list[_Row], str]], settings: TableSettings
) -> list[dict[str, Any]]:
    """docs/ from --docs-col (deduplicated), each row given its document's id, in place."""
    if settings.docs_col is None:
        return []
    every = [row for rows, _ in read.values() for row in rows]
    records, ids = documents([row.doc or ("", "") for row in every], settings.doc_id_col)
    by_row = {id(row): doc_id for row, doc_id in zip(every, ids, strict=True)}
    for rows, _ in read.values():
        rows[:] = [replace(row, doc_id=by_row[id(row)]) for row in rows]
    return records


# --- output spec and records ---------------------------------------------------------------


def _output_spec(
    settings: TableSettings, rows: Sequence[_Row], sets: bool = False
) -> tuple[OutputSpec, dict[str, str]]:
    """The output spec, and each source label's written form (empty without label_words).
    ``sets``: the rows hold sets of labels, already named (a JSON task of one list field)."""
    columns = settings.answer_cols
    objects = _holds_objects(rows)
    kind = settings.output_kind
    if kind is None:
        many = len(columns) > 1 or objects
        kind = "json" if many else "text" if _lists(rows) else _label_or_text(rows)
    if kind == "json" and settings.label_map and not sets and settings.tags_col is None:
        raise ConfigError(
            "--label-map names the labels of one column, and this is a JSON task of"
            f" {', '.join(columns)}",
            where="--label-map",
            fix="drop --label-map, or name one --output-col of labels (or of label lists)",
        )
    if settings.label_words and kind != "label" and not sets:
        raise ConfigError(
            f"--label-words rewrites labels, and this is a {kind} task",
            where="--label-words",
            fix="drop --label-words, or use --output-kind label with one output column",
        )
    if kind == "json":
        fields = _object_fields(rows, columns[0]) if objects else list(columns)
        # every field free for now: which values to list is read from train (_closed_fields)
        return OutputSpec("json", fields=dict.fromkeys(fields)), {}
    for row in rows:
        value = row.output[0]
        if value is None:
            what, fix = "empty cell", "fill it in or remove the row"
        elif value == ():
            what = "empty list of answers"
            fix = "remove the rows with no answer (an unanswerable question cannot be scored)"
        elif isinstance(value, dict):
            what = "JSON object"
            fix = "use --output-kind json (or drop --output-kind) for a column of JSON objects"
        elif kind == "label" and isinstance(value, tuple):
            what = "list of answers"
            fix = (
                "use --output-kind json if each list holds every label that applies, or"
                " --output-kind text if it holds alternative answers"
            )
        else:
            continue
        raise DataError(
            f"{what} in column {columns[0]!r}, which holds a {kind} answer",
            where=row.where,
            fix=fix,
        )
    values = sorted({str(r.output[0]) for r in rows})
    if kind == "label":
        words = written_labels(values, settings, rows)
        return OutputSpec("label", labels=sorted(set(words.values())) or values), words
    if settings.label_map:
        raise ConfigError(
            f"--label-map names labels, and column {columns[0]!r} holds {len(values):,} distinct"
            f" values: a text task, not a label one (at most {MAX_LABELS} labels)",
            where="--label-map",
            fix="drop --label-map, or check --output-col",
        )
    return OutputSpec("text"), {}


def _lists(rows: Sequence[_Row]) -> bool:
    """One output column holding lists of gold answers."""
    return len(rows[0].output) == 1 and any(isinstance(r.output[0], tuple) for r in rows)


def _label_or_text(rows: Sequence[_Row]) -> str:
    """Labels are a closed set: at most ``MAX_LABELS`` values that repeat (most rows share
    their answer with another) or are short. Answers that almost never repeat (a question's
    own answer, short or long) are free text: as labels, every one, test answers too, would
    be listed in the prompt."""
    answers = [str(r.output[0]) for r in rows if r.output[0] is not None]
    counts = Counter(answers)
    distinct = set(answers)
    once = sum(n == 1 for n in counts.values())
    if len(distinct) > MAX_LABELS or (len(distinct) >= 20 and once >= 0.8 * len(distinct)):
        return "text"
    words = sorted(len(a.split()) for a in distinct)
    repeated = 2 * len(distinct) <= len(answers)
    return "label" if repeated or (words and words[len(words) // 2] <= LABEL_WORDS) else "text"


def kind_reason(output: OutputSpec, rows: int, distinct: int) -> str:
    """Why an import chose label or text, and the flag that chooses the other."""
    other = "text" if output.kind == "label" else "label"
    return (
        f"{output.kind}: {distinct:,} distinct answers in {rows:,} rows (--output-kind {other}"
        f" if they are {'free text' if other == 'text' else 'a closed set of labels'})"
    )


def _holds_objects(rows: Sequence[_Row]) -> bool:
    """One output column whose cells are JSON objects: the answer is that object."""
    return len(rows[0].output) == 1 and any(isinstance(r.output[0], dict) for r in rows)


def _object_fields(rows: Sequence[_Row], column: str) -> list[str]:
    """The fields of a JSON-object column: every key any row uses, in the order first seen."""
    fields: dict[str, None] = {}
    for row in rows:
        value = row.output[0]
        if value is not None and not isinstance(value, dict):
            raise DataError(
                f"column {column!r} holds JSON objects in other rows, and {str(value)[:40]!r} here",
                where=row.where,
                fix="write every cell as a JSON object ({} or an empty cell: every field null)",
            )
        fields.update(dict.fromkeys(value or {}))
    if not fields:
        raise DataError(
            f"every JSON object in column {column!r} is empty: there is no field to answer",
            where=rows[0].file,
            fix="check the column",
        )
    return list(fields)


def _json_answer(row: _Row, fields: Sequence[str], objects: bool) -> dict[str, Any]:
    """The answer as a JSON object over ``fields``: absent or empty values are null."""
    given = (row.output[0] or {}) if objects else dict(zip(fields, row.output, strict=True))
    return {f: None if empty(given.get(f)) else given.get(f) for f in fields}


def _closed_fields(
    output: OutputSpec,
    splits: Mapping[str, Sequence[_Row]],
    answer: Callable[[_Row], dict[str, Any]],
    sets: Mapping[str, Sequence[str]] | None = None,
    spans: bool = False,
) -> OutputSpec:
    """A JSON field's values listed where they form a small closed set: at most
    ``MAX_FIELD_VALUES`` texts, read from train, with every val and test value among them.

    The list goes into the system prompt, so it is read from train only: a value that only val
    or test holds would put test answers in every prompt. A field whose later splits hold
    values train never shows is free text (a name). Spans' fields are always free; a label
    set's field (``sets``) lists every label.
    """
    if output.kind != "json":
        return output
    fields: dict[str, list[str] | None] = {}
    nullable = False
    for name in output.fields or {}:
        seen = [answer(r)[name] for r in splits["train"]]
        later = [answer(r)[name] for split in ("val", "test") for r in splits[split]]
        nullable = nullable or None in seen
        if sets and name in sets:
            fields[name] = list(sets[name])  # a label column's labels: the set it declares
            continue
        if spans:
            # a span is the input's own text: listing the values train shows would make
            # extraction a choice among them, and new names could never be right
            fields[name] = None
            continue
        values = _items([*seen, *later])
        allowed = sorted({v for v in _items(seen) if isinstance(v, str)})  # a number: free
        closed = all(isinstance(v, str) for v in values) and set(values) <= set(allowed)
        fields[name] = allowed if closed and 0 < len(allowed) <= MAX_FIELD_VALUES else None
    return OutputSpec("json", fields=fields, nullable=nullable, lists=output.lists)


def _items(values: Sequence[Any]) -> list[Any]:
    """Field values with a list field's items in place of its lists; nulls left out."""
    return [i for v in values for i in (v if isinstance(v, list) else [v]) if i is not None]


def written_labels(
    values: Sequence[str], settings: TableSettings, rows: Sequence[_Row]
) -> dict[str, str]:
    """Each label value as the task writes it: named by ``--label-map``, then spaced by
    ``--label-words``; empty when neither rewrites them."""
    words = named_labels(values, settings, rows) if settings.label_map else {}
    if settings.label_words:
        spaced = label_words(sorted(set(words.values()) or values))
        words = {v: spaced[words.get(v, v)] for v in values}
    return words


def named_labels(
    values: Sequence[str], settings: TableSettings, rows: Sequence[_Row]
) -> dict[str, str]:
    """Each label value's name from ``--label-map``: every value named, no two one name.

    A list names 0, 1, 2, ...; when no row holds 0 and the values reach the list's length,
    it names 1, 2, 3, ... (classes counted from 1, as AG News's are).
    """
    mapping = dict(settings.label_map)
    if settings.label_list and values and all(v.isdigit() for v in values):
        numbers = sorted(int(v) for v in values)
        if numbers[0] >= 1 and numbers[-1] == len(mapping):
            # values 1..n and n names: counting from 1 is the one reading that names them all
            mapping = {str(int(k) + 1): name for k, name in mapping.items()}
        elif numbers[0] >= 1:
            raise ConfigError(
                f"no row holds 0, and the values run to {numbers[-1]} while the list has"
                f" {len(mapping)} names: the list's first name may be for 0 or for 1",
                where="--label-map",
                fix='write the names as an object, {"1": "first name", "2": ...}, or as'
                " --label-map 1=NAME,2=NAME,...",
            )
    missing = [v for v in values if v not in mapping]
    if missing:
        row = next(r for r in rows if missing[0] in _set_of(r))
        unused = [k for k in mapping if k not in values]
        raise DataError(
            f"label {missing[0]!r} has no name in --label-map ({len(missing)} of {len(values)}"
            f" values have none: {', '.join(map(repr, missing[:5]))})"
            + (
                f"; the map names {', '.join(map(repr, unused[:5]))}, which no row holds: are"
                " its values off by one, or spelled otherwise?"
                if unused
                else ""
            ),
            where=row.where,
            fix="name every value the column holds ("
            + ", ".join(values[:8])
            + (", ..." if len(values) > 8 else "")
            + "); add "
            + ",".join(f"{v}=NAME" for v in missing[:5])
            + (" (a JSON list names 0, 1, 2, ... in order)" if settings.label_list else ""),
        )
    names: dict[str, str] = {}
    for value in values:
        name = mapping[value]
        if name in names:
            raise ConfigError(
                f"labels {names[name]!r} and {value!r} are both named {name!r}: the two"
                " classes would become one",
                where="--label-map",
                fix="give each value its own name (merge classes in the data, if you mean to)",
            )
        names[name] = value
    return {value: mapping[value] for value in values}


def parse_label_map(text: str) -> tuple[dict[str, str], bool]:
    """``0=negative,1=positive``, or a JSON file: an object (value -> name) or a list (the
    names of 0, 1, 2, ...; as Hugging Face datasets keep them). Returns the map, and whether
    it came from a list."""
    path = Path(text)
    if text.endswith(".json") or path.is_file():
        return _label_map_file(path)
    mapping = pair_map(
        text,
        "--label-map",
        "write VALUE=NAME pairs joined by commas, e.g. 0=negative,1=positive; or name a .json"
        " file holding an object or a list of names",
        lambda value, name: bool(value and name),
    )
    return mapping, False


def _label_map_file(path: Path) -> tuple[dict[str, str], bool]:
    try:
        names = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"cannot read the label names: {exc.strerror}", where=str(path), fix="check the path"
        ) from None
    except ValueError as exc:
        raise DataError(
            f"not valid JSON: {exc}", where=str(path), fix="write a JSON object or list"
        ) from None
    if isinstance(names, dict) and isinstance(names.get("names"), list):
        names = names["names"]  # a ClassLabel feature as datasets writes it
    fine = isinstance(names, list) and all(isinstance(n, str) and n.strip() for n in names)
    fine = fine or (
        isinstance(names, dict) and all(isinstance(n, str) and n.strip() for n in names.values())
    )
    if not fine or not names:
        raise DataError(
            "expected a JSON list of names, or an object from value to name, every name text",
            where=str(path),
            fix='e.g. ["negative", "positive"] (names of 0 and 1) or {"1": "World", ...}',
        )
    if isinstance(names, list):
        return {str(i): n.strip() for i, n in enumerate(names)}, True
    return {str(k).strip(): n.strip() for k, n in names.items()}, False


def label_words(labels: Sequence[str]) -> dict[str, str]:
    """Each label with underscores as spaces (runs folded), refusing two that would meet."""
    words: dict[str, str] = {}
    first: dict[str, str] = {}
    for label in labels:
        written = " ".join(label.replace("_", " ").split())
        if not written:
            raise DataError(
                f"the label {label!r} is only underscores: as words it would be empty",
                where="--label-words",
                fix="drop --label-words, or relabel those rows",
            )
        if written in first:
            raise DataError(
                f"the labels {first[written]!r} and {label!r} would both be written {written!r}",
                where="--label-words",
                fix="drop --label-words, or merge or rename one of the two labels",
            )
        first[written] = words[label] = written
    return words


def _answer(
    output: OutputSpec, columns: Sequence[str], words: Mapping[str, str], objects: bool
) -> Callable[[_Row], dict[str, Any]]:
    """Each row's answer by field (a label or text answer: one field, its column)."""
    if output.kind == "json":
        fields = list(output.fields or {})
        return lambda row: _json_answer(row, fields, objects)
    if words:
        return lambda row: {columns[0]: words[row.output[0]]}
    # of several gold answers, the first is the reference; all are scored (metadata.answers)
    return lambda row: {columns[0]: _gold(row)[0]}


def _gold(row: _Row) -> tuple[Any, ...]:
    """A text or label row's gold answers: one, or the list its cell holds."""
    value = row.output[0]
    return value if isinstance(value, tuple) else (value,)


def _reference(
    output: OutputSpec, answer: Callable[[_Row], dict[str, Any]]
) -> Callable[[_Row], str]:
    if output.kind == "json":
        # Same shape as support_triage's references: {"category": "...", "priority": "..."}
        return lambda row: json.dumps(answer(row), ensure_ascii=False)
    return lambda row: str(next(iter(answer(row).values())))


def _record(row: _Row, reference: Callable[[_Row], str]) -> dict[str, Any]:
    # The id names the row's file and line, so a record traces back to its source row.
    messages = [
        {"role": "user", "content": row.input},
        {"role": "assistant", "content": reference(row)},
    ]
    metadata: dict[str, Any] = {"source": row.file, row.unit: row.line, **row.keep}
    if row.doc_id is not None:
        metadata["source_doc"] = row.doc_id
    if len(row.output) == 1 and isinstance(row.output[0], tuple):
        metadata["answers"] = list(row.output[0])  # every gold answer, as SQuAD's importer keeps
    record_id = row.id if row.id is not None else f"{row.source}-{row.line}"
    return {"id": record_id, "messages": messages, "metadata": metadata}


def _split_by_column(
    rows: Sequence[_Row],
    fractions: Mapping[str, float],
    key: Callable[[_Row], str],
    rng: random.Random,
) -> dict[str, list[_Row]]:
    """Rows in the split their column names; val drawn from train when the column has none."""
    splits: dict[str, list[_Row]] = {
        split: [r for r in rows if r.split == split] for split in SPLITS
    }
    if not splits["val"] and fractions["val"] > 0:
        carved = _split(splits["train"], {"val": fractions["val"]}, key, rng)
        splits["train"], splits["val"] = carved["train"], carved["val"]
    for members in splits.values():
        rng.shuffle(members)
    return splits


# --- splitting and sampling ----------------------------------------------------------------


def _groups(
    rows: Sequence[_Row], key: Callable[[_Row], str], rng: random.Random
) -> dict[str, list[_Row]]:
    """Rows by class (sorted by class, so the seed alone fixes the order), each shuffled."""
    groups: dict[str, list[_Row]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    ordered = {k: groups[k] for k in sorted(groups)}
    for members in ordered.values():
        rng.shuffle(members)
    return ordered


def _apportion(sizes: Mapping[str, int], total: int, caps: Mapping[str, int]) -> dict[str, int]:
    """Share ``total`` in proportion to ``sizes``: floors, then the largest remainders.

    Each share is the floor or ceiling of its exact proportion (unless capped), which is what
    keeps each class within one row of its proportion in every split.
    """
    whole = sum(sizes.values())
    total = min(total, sum(caps.values()))
    counts = {k: min(total * n // whole, caps[k]) for k, n in sizes.items()}
    order = sorted(sizes, key=lambda k: (-(total * sizes[k] % whole), k))
    while (short := total - sum(counts.values())) > 0:
        for k in [k for k in order if counts[k] < caps[k]][:short]:
            counts[k] += 1
    return counts


def _split(
    rows: Sequence[_Row],
    fractions: Mapping[str, float],
    key: Callable[[_Row], str],
    rng: random.Random,
) -> dict[str, list[_Row]]:
    groups = _groups(rows, key, rng)
    sizes = {k: len(g) for k, g in groups.items()}
    left = dict(sizes)
    splits: dict[str, list[_Row]] = {}
    for split, fraction in fractions.items():  # test, then val; train keeps the rest
        counts = _apportion(sizes, int(len(rows) * fraction + 0.5), left)
        splits[split] = []
        for k, g in groups.items():
            start = sizes[k] - left[k]
            splits[split] += g[start : start + counts[k]]
            left[k] -= counts[k]
    splits["train"] = [r for k, g in groups.items() for r in g[sizes[k] - left[k] :]]
    for members in splits.values():
        rng.shuffle(members)  # "the first N" (limit=N, fixed demos) is then a mix of classes
    return splits


def _sample(
    rows: Sequence[_Row], n: int, key: Callable[[_Row], str], rng: random.Random, split: str
) -> list[_Row]:
    if n > len(rows):
        raise ConfigError(
            f"{n} {split} rows asked for, the {split} split has {len(rows)}",
            where="--sample",
            fix=f"ask for at most {len(rows)} {split} rows",
        )
    groups = _groups(rows, key, rng)
    sizes = {k: len(g) for k, g in groups.items()}
    counts = _apportion(sizes, n, sizes)
    chosen = [r for k, g in groups.items() for r in g[: counts[k]]]
    rng.shuffle(chosen)
    return chosen


def _drop_leaks(
    splits: dict[str, list[_Row]], label: Callable[[_Row], str], notes: list[str] | None = None
) -> dict[str, int]:
    """Drop what ``shipwise-data validate`` calls an error: val/test rows whose input (up to
    case, spacing and punctuation) is in train (or, for test, in val), and every row of an
    input that carries two different answers within a split (which one is right is unknown),
    and the repeats of a test row (one item listed twice would count double in every score).
    ``notes`` gets one line per dropped row: its split, where it was read, and why."""
    from shipwise.validation.similarity import normalize

    notes = [] if notes is None else notes
    keys = {id(row): normalize(row.input) for split in SPLITS for row in splits[split]}
    dropped = {}
    for split in SPLITS:
        answers: dict[str, set[str]] = {}
        for row in splits[split]:
            answers.setdefault(keys[id(row)], set()).add(label(row))
        kept = [r for r in splits[split] if len(answers[keys[id(r)]]) == 1]
        notes += [
            f"{split}: {_at(r)}: its input has two answers in {split}"
            for r in splits[split]
            if len(answers[keys[id(r)]]) > 1
        ]
        if split == "test":
            first = {keys[id(r)]: r for r in reversed(kept)}
            notes += [
                f"test: {_at(r)}: repeats the test row at {_at(first[keys[id(r)]])}"
                for r in kept
                if first[keys[id(r)]] is not r
            ]
            kept = [r for r in kept if first[keys[id(r)]] is r]
        dropped[split] = len(splits[split]) - len(kept)
        splits[split] = kept
    seen: dict[str, tuple[str, str]] = {}
    for row in splits["train"]:
        seen.setdefault(keys[id(row)], ("train", _at(row)))
    for split in ("val", "test"):
        kept = [r for r in splits[split] if keys[id(r)] not in seen]
        notes += [
            f"{split}: {_at(r)}: its input is also in {seen[keys[id(r)]][0]}"
            f" ({seen[keys[id(r)]][1]})"
            for r in splits[split]
            if keys[id(r)] in seen
        ]
        dropped[split] += len(splits[split]) - len(kept)
        splits[split] = kept
        for row in kept:
            seen.setdefault(keys[id(row)], (split, _at(row)))
    return dropped


def _at(row: _Row) -> str:
    """Where a row was read, by file name and line (the datasheet lists the files in full)."""
    return Path(row.where).name


def _check_not_empty(splits: Mapping[str, Sequence[_Row]], dropped: Mapping[str, int]) -> None:
    empty = [split for split in SPLITS if not splits[split]]
    if empty:
        leaks = sum(dropped.get(split, 0) for split in empty)
        after = f" after dropping {leaks} leaked or conflicting rows" if leaks else ""
        raise ConfigError(
            f"the {' and '.join(empty)} split would be empty{after}",
            where="--val-fraction/--test-fraction",
            fix="import more rows or change the fractions; every split needs a row",
        )
