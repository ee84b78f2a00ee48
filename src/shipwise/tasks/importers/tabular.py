"""Import rows of a CSV, TSV or JSONL file as a task: input columns in, output columns out.

The input columns become the user message (several are written as ``Column: value`` lines);
the output columns become the reference. One output column with at most 200 distinct values
is a label task, one with more a text task, several a JSON task whose reference is a JSON
object of those columns. Splits are seeded and, for label tasks, stratified; a test (and val)
file can replace the fractions. Inputs that also occur in train are dropped from val and test
(and test inputs also in val), as are inputs that carry two different answers.
``label_words`` writes each label with its underscores as spaces (``card_arrival`` becomes
``card arrival``), the form a language model reads as words.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipwise.errors import ConfigError, DataError
from shipwise.tasks.importers.common import (
    SPLITS,
    check_fractions,
    check_name,
    refuse_overwrite,
    staged_task,
    write_lines,
    write_yaml,
)
from shipwise.tasks.importers.rows import check_columns, check_merged, read_rows
from shipwise.tasks.task import OUTPUT_KINDS, OutputSpec

MAX_LABELS = 200  # one output column with more distinct values than this is free text
MAX_FIELD_VALUES = 50  # a JSON field with more distinct values than this allows any value
DELIMITERS = {".csv": ",", ".tsv": "\t"}
# a constant answer cannot score well on macro-F1, as it can on accuracy (skewed labels)
METRICS = {"label": "macro_f1", "json": "field_accuracy", "text": "token_f1"}


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
    label_words: bool = False  # labels written with spaces for underscores (label tasks only)

    def __post_init__(self) -> None:
        if not self.input_cols or not self.output_cols:
            raise ConfigError("name at least one input and one output column", where="columns")
        both = sorted(set(self.input_cols) & set(self.output_cols))
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
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise ConfigError(
                f"delimiter {self.delimiter!r} is not one character",
                where="--delimiter",
                fix="give one character, e.g. ';' or '\\t'",
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


@dataclass(frozen=True)
class _Row:
    input: str
    output: tuple[str, ...]  # the output cells, in --output-col order
    source: str  # the id prefix: the file's stem
    file: str
    line: int


def parse_sample(text: str) -> dict[str, int]:
    """``train=1000,val=200,test=500`` -> a dict; any subset of the splits."""
    sample: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        split, _, count = part.partition("=")
        if split.strip() not in SPLITS or not count.strip().isdigit():
            raise ConfigError(
                f"cannot read {part!r}",
                where="--sample",
                fix="write SPLIT=N pairs joined by commas, e.g. train=1000,val=200,test=500",
            )
        sample[split.strip()] = int(count)
    return sample


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
    output, words = _output_spec(settings, [r for rows, _ in read.values() for r in rows])
    reference = _reference(output, settings.output_cols, words)
    stratify = output.kind == "label" if settings.stratify is None else settings.stratify
    if stratify and output.kind == "text":
        raise ConfigError(
            "a text output has no classes to stratify by",
            where="--stratify",
            fix="drop --stratify, or use --output-kind label",
        )
    key: Callable[[_Row], str] = reference if stratify else (lambda row: "")

    rng = random.Random(settings.seed)
    splits = _split(read["source"][0], fractions, key, rng)
    splits.update({role: list(read[role][0]) for role in ("test", "val") if role in read})
    dropped = _drop_leaks(splits, reference)
    for split, n in settings.sample.items():
        splits[split] = _sample(splits[split], n, key, rng, split)
    _check_not_empty(splits, dropped)

    counts = {split: len(splits[split]) for split in SPLITS}
    sources = {str(files[role]): digest for role, (_, digest) in read.items()}
    longest = max(len(reference(r).encode()) for rows, _ in read.values() for r in rows)
    text = task_yaml(name, task_dir, output, settings, source, longest)
    readme = _readme(name, splits, output, dropped, sources, settings, command, words)
    with staged_task(task_dir) as staging:
        for split in SPLITS:
            write_lines(staging / f"{split}.jsonl", (_record(r, reference) for r in splits[split]))
        (staging / "README.md").write_text(readme, encoding="utf-8", newline="\n")
    if yaml_path is not None:
        write_yaml(yaml_path, text)
    return TableImport(task_dir, yaml_path, output, counts, dropped, sources, text)


def _fractions(
    settings: TableSettings, test_file: Path | None, val_file: Path | None
) -> dict[str, float]:
    """The shares of SOURCE that go to test and val; a split read from a file takes none."""
    shares: dict[str, float] = {}
    for split, given, file, default in (
        ("test", settings.test_fraction, test_file, 0.2),
        ("val", settings.val_fraction, val_file, 0.1),
    ):
        if file is not None and given is not None:
            raise ConfigError(
                f"--{split}-fraction and --{split}-file both set the {split} split",
                where=f"--{split}-fraction",
                fix=f"drop --{split}-fraction: the {split} split is the whole --{split}-file",
            )
        shares[split] = 0.0 if file is not None else (default if given is None else given)
    check_fractions(shares["val"], shares["test"])
    return shares


# --- reading -------------------------------------------------------------------------------


def _read(path: Path, settings: TableSettings, prefix: str) -> tuple[list[_Row], str]:
    """Every row of one file, and the file's sha256 (hashed as it streams)."""
    delimiter = settings.delimiter or DELIMITERS.get(path.suffix.lower())
    if delimiter is None and path.suffix.lower() != ".jsonl":
        raise ConfigError(
            f"cannot tell the format of {path.name!r} from its extension",
            where=str(path),
            fix="name it .csv, .tsv or .jsonl, or give --delimiter for a delimited file",
        )
    hasher = hashlib.sha256()
    found = read_rows(path, delimiter, [*settings.input_cols, *settings.output_cols], hasher)
    if delimiter is not None:
        check_merged(found, settings.output_cols, delimiter, path)
    rows = [_row(row.cells, path, row.line, settings, prefix) for row in found]
    if not rows:
        raise DataError("the file has no rows", where=str(path), fix="add rows below the header")
    return rows, hasher.hexdigest()


def _row(
    record: Mapping[str, Any], path: Path, line: int, settings: TableSettings, prefix: str
) -> _Row:
    def cell(column: str) -> str:
        check_columns([column], list(record), where=f"{path}:{line}")
        value = record[column]
        text = value if isinstance(value, str) else "" if value is None else json.dumps(value)
        if not text.strip():
            raise DataError(
                f"empty cell in column {column!r}",
                where=f"{path}:{line}",
                fix="fill it in or remove the row",
            )
        return text.strip()

    inputs = [(c, cell(c)) for c in settings.input_cols]
    text = inputs[0][1] if len(inputs) == 1 else "\n".join(f"{c}: {v}" for c, v in inputs)
    outputs = tuple(cell(c) for c in settings.output_cols)
    return _Row(text, outputs, prefix, path.name, line)


# --- output spec and records ---------------------------------------------------------------


def _output_spec(
    settings: TableSettings, rows: Sequence[_Row]
) -> tuple[OutputSpec, dict[str, str]]:
    """The output spec, and each source label's written form (empty without label_words)."""
    values = [sorted({r.output[i] for r in rows}) for i in range(len(settings.output_cols))]
    kind = settings.output_kind
    if kind is None:
        many = len(settings.output_cols) > 1
        kind = "json" if many else "label" if len(values[0]) <= MAX_LABELS else "text"
    if settings.label_words and kind != "label":
        raise ConfigError(
            f"--label-words rewrites labels, and this is a {kind} task",
            where="--label-words",
            fix="drop --label-words, or use --output-kind label with one output column",
        )
    if kind == "label":
        words = label_words(values[0]) if settings.label_words else {}
        return OutputSpec("label", labels=sorted(words.values()) or values[0]), words
    if kind == "json":
        fields = {
            c: (v if len(v) <= MAX_FIELD_VALUES else None)
            for c, v in zip(settings.output_cols, values, strict=True)
        }
        return OutputSpec("json", fields=fields), {}
    return OutputSpec("text"), {}


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


def _reference(
    output: OutputSpec, columns: Sequence[str], words: Mapping[str, str]
) -> Callable[[_Row], str]:
    if output.kind == "json":
        # Same shape as support_triage's references: {"category": "...", "priority": "..."}
        return lambda row: json.dumps(
            dict(zip(columns, row.output, strict=True)), ensure_ascii=False
        )
    if words:
        return lambda row: words[row.output[0]]
    return lambda row: row.output[0]


def _record(row: _Row, reference: Callable[[_Row], str]) -> dict[str, Any]:
    # The id names the row's file and line, so a record traces back to its source row.
    messages = [
        {"role": "user", "content": row.input},
        {"role": "assistant", "content": reference(row)},
    ]
    return {
        "id": f"{row.source}-{row.line}",
        "messages": messages,
        "metadata": {"source": row.file, "line": row.line},
    }


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


def _drop_leaks(splits: dict[str, list[_Row]], label: Callable[[_Row], str]) -> dict[str, int]:
    """Drop what ``shipwise-data validate`` calls an error: val/test rows whose input (up to
    case, spacing and punctuation) is in train (or, for test, in val), and every row of an
    input that carries two different answers within a split (which one is right is unknown)."""
    from shipwise.validation.similarity import normalize

    keys = {id(row): normalize(row.input) for split in SPLITS for row in splits[split]}
    dropped = {}
    for split in SPLITS:
        answers: dict[str, set[str]] = {}
        for row in splits[split]:
            answers.setdefault(keys[id(row)], set()).add(label(row))
        kept = [r for r in splits[split] if len(answers[keys[id(r)]]) == 1]
        dropped[split] = len(splits[split]) - len(kept)
        splits[split] = kept
    seen = {keys[id(r)] for r in splits["train"]}
    for split in ("val", "test"):
        kept = [r for r in splits[split] if keys[id(r)] not in seen]
        dropped[split] += len(splits[split]) - len(kept)
        splits[split] = kept
        seen |= {keys[id(r)] for r in kept}
    return dropped


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


# --- the task YAML and the datasheet -------------------------------------------------------


def default_system_prompt(output: OutputSpec, settings: TableSettings) -> str:
    """A plain instruction naming the kind of answer and, where there are few, its values."""
    inputs = ", ".join(settings.input_cols)
    if output.kind == "label":
        return (
            f"Classify the input ({inputs}) by its {settings.output_cols[0]}. Reply with only "
            f"the label, exactly as written, one of: {', '.join(output.labels or [])}."
        )
    if output.kind == "json":
        shape = json.dumps(dict.fromkeys(output.fields or {}, "..."))
        lines = [f"Read the input ({inputs}). Reply with only a JSON object: {shape}."]
        for name, allowed in (output.fields or {}).items():
            if allowed is not None:
                lines.append(f"- {name}: one of {', '.join(allowed)}")
        return "\n".join(lines)
    return (
        f"Read the input ({inputs}) and reply with only its {settings.output_cols[0]}, "
        "as plain text."
    )


def task_yaml(
    name: str,
    task_dir: Path,
    output: OutputSpec,
    settings: TableSettings,
    source: Path,
    longest: int,
) -> str:
    """The task YAML, shaped like conf/task/support_triage.yaml; strings JSON-quoted."""
    prompt = settings.system_prompt or default_system_prompt(output, settings)
    described = {"label": f"one of {len(output.labels or [])} labels", "json": "a JSON object"}
    description = (
        f"{', '.join(settings.input_cols)} -> {', '.join(settings.output_cols)} "
        f"({described.get(output.kind, 'text')}), imported from {source.name}."
    )
    lines = [
        f"# Imported by `shipwise-data import table` from {source.name}.",
        f"# Datasheet: {task_dir / 'README.md'}",
        f"name: {_quote(name)}",
        f"description: {_quote(description)}",
        f"data_dir: {_quote(str(task_dir))}",
        f"metric: {METRICS[output.kind]}",
        "regression_metric: token_f1",
        f"max_new_tokens: {_max_new_tokens(longest)}",
        "output:",
        f"  kind: {output.kind}",
    ]
    if output.labels:
        lines += ["  labels:", *(f"    - {_quote(label)}" for label in output.labels)]
    if output.fields:
        lines.append("  fields:")
        for field_name, allowed in output.fields.items():
            values = "null" if allowed is None else f"[{', '.join(map(_quote, allowed))}]"
            lines.append(f"    {_quote(field_name)}: {values}")
    lines += _system_prompt(prompt)
    return "\n".join(lines) + "\n"


def _system_prompt(prompt: str) -> list[str]:
    # A block scalar reads like the hand-written task YAMLs; it holds any prompt without
    # edge whitespace or control characters. Anything else is quoted.
    if prompt == prompt.strip() and all(line.isprintable() for line in prompt.split("\n")):
        return [
            "system_prompt: |-",
            *(f"  {line}" if line else "" for line in _escape(prompt).split("\n")),
        ]
    return [f"system_prompt: {_quote(prompt)}"]


def _escape(text: str) -> str:
    return text.replace("${", "\\${")  # OmegaConf would read `${...}` as an interpolation


def _quote(text: str) -> str:
    # A JSON string is a YAML double-quoted scalar, where the escape's backslash is doubled.
    return json.dumps(_escape(text), ensure_ascii=False)


def _max_new_tokens(longest_bytes: int) -> int:
    # BPE tokenizers average ~4 bytes a token on English and ~2 on identifiers and JSON;
    # assume 2, add room for a closing token, and round up to a multiple of 8.
    need = longest_bytes // 2 + 8
    return -(-need // 8) * 8


def _readme(
    name: str,
    splits: Mapping[str, Sequence[_Row]],
    output: OutputSpec,
    dropped: Mapping[str, int],
    sources: Mapping[str, str],
    settings: TableSettings,
    command: str | None,
    words: Mapping[str, str],
) -> str:
    files = "\n".join(f"| `{Path(p).resolve()}` | `{digest}` |" for p, digest in sources.items())
    counts = "\n".join(f"| {split} | {len(splits[split]):,} |" for split in SPLITS)
    options = "\n".join(
        f"- {key}: `{value}`"
        for key, value in vars(settings).items()
        if key not in ("system_prompt",)
    )
    spec = f"- output kind: {output.kind}; metric: {METRICS[output.kind]}"
    sections = [
        f"# {name} — datasheet (imported)\n\nImported by `shipwise-data import table`. This is a"
        " stub: add where the rows come from, who labelled them, their license and known"
        " problems before relying on results.",
        f"## Source\n\n| file | sha256 |\n|---|---|\n{files}",
        f"## Command\n\n```\n{command or '(called from Python)'}\n```",
        f"## Contents\n\n| split | rows |\n|---|---|\n{counts}\n\n{spec}\n"
        f"- input columns: {', '.join(settings.input_cols)}; output columns:"
        f" {', '.join(settings.output_cols)}\n"
        f"- dropped (an input also in train, or in val for test, up to case, spacing and "
        f"punctuation; or one input with two answers): train {dropped['train']:,}, "
        f"val {dropped['val']:,}, test {dropped['test']:,}",
    ]
    for i, column in enumerate(settings.output_cols):
        if output.kind == "label" or (output.fields or {}).get(column) is not None:
            table = _count_table(splits, i, column, words)
            sections.append(f"## Counts of `{column}`\n\n{table}")
    sections.append(
        f"## Settings\n\n{options}\n\nRe-running the same command on the same files writes"
        " byte-identical files."
    )
    return "\n\n".join(sections) + "\n"


def _count_table(
    splits: Mapping[str, Sequence[_Row]], index: int, column: str, words: Mapping[str, str]
) -> str:
    """Rows per value and split; with label words, a column says how each value is written."""
    counted = {split: Counter(r.output[index] for r in splits[split]) for split in SPLITS}
    values = sorted(set().union(*counted.values()))
    head, rule = f"| {column} |", "|---|"
    if words:
        head, rule = f"{head} written as |", f"{rule}---|"

    def cells(value: str) -> list[str]:
        written = [words[value]] if words else []
        return [value, *written, *(str(counted[split][value]) for split in SPLITS)]

    rows = ["| " + " | ".join(cells(v)) + " |" for v in values]
    return f"{head} train | val | test |\n{rule}---|---|---|\n" + "\n".join(rows)
