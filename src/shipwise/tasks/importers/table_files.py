"""What a table import writes besides the splits: the task YAML (with a system prompt that
says in plain words what to answer and in what form) and the datasheet stub."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipwise.tasks.importers.common import SPLITS
from shipwise.tasks.task import OutputSpec

if TYPE_CHECKING:
    from shipwise.tasks.importers.tabular import TableSettings

# a constant answer cannot score well on macro-F1, as it can on accuracy (skewed labels);
# slot F1 counts only the values an answer gives, so answering null everywhere scores 0
METRICS = {"label": "macro_f1", "json": "slot_f1", "text": "token_f1"}
NULL = "(null)"  # how an absent value is counted in the datasheet


def _listed(values: Sequence[str]) -> str:
    """Values joined by commas; quoted when one holds a comma itself ("Portland, OR") or ends
    a sentence ("The capital is Madrid."), so the list's own commas and full stop stand out."""
    if any("," in v or v.rstrip().endswith((".", "!", "?")) for v in values):
        return ", ".join(json.dumps(v, ensure_ascii=False) for v in values)
    return ", ".join(values)


def _given(columns: Sequence[str]) -> str:
    if len(columns) == 1:
        return f"the {readable(columns)[0]}"
    return f"these fields, one per line: {', '.join(columns)}"


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
GENERIC_KEYS = {"text", "texts", "value", "values", "content", "string", "name", "data"}


def readable(columns: Sequence[str]) -> list[str]:
    """Columns as a prompt names them: a nested path by its last key (``meta.topic`` as
    ``topic``), or the key above a generic one (``answers.text`` as ``answers``); whole when
    two would then read alike."""

    def key(column: str) -> str:
        parts = column.split(".")
        while len(parts) > 1 and parts[-1].lower() in GENERIC_KEYS:
            parts.pop()
        # every key generic (data.text): the last says most
        last = column.split(".")[-1] if parts[-1].lower() in GENERIC_KEYS else parts[-1]
        if _CAMEL.search(last):
            last = _CAMEL.sub(" ", last).lower()  # a JSON key: userInput as user input
        return last

    keys = [key(c) for c in columns]
    return keys if len(set(keys)) == len(keys) else list(columns)


def default_system_prompt(
    output: OutputSpec, settings: TableSettings, answer_words: float | None = None
) -> str:
    """The answers and their format in plain words: the labels, or the JSON fields and their
    values (absent ones null; a list field's items), or text (as long as train's answers are:
    ``answer_words``)."""
    given = f"You are given {_given(settings.input_cols)}."
    if settings.tags_col is not None and len(settings.input_cols) == 1:
        given = "You are given a text."  # its tokens, joined
    target = readable(settings.answer_cols)[0]
    if output.kind == "label":
        labels = list(output.labels or [])
        return (
            f"{given} Reply with only the {target}: one of these {len(labels)} labels, exactly"
            f" as written, one of: {_listed(labels)}."
        )
    if output.kind == "json":
        fields = output.fields or {}
        lists = output.lists
        shape = json.dumps({f: ["..."] if f in lists else "..." for f in fields})
        lines = [f"{given} Reply with only a JSON object with these fields: {shape}."]
        copied = "in the words of the input"
        if settings.marks_spans:
            copied = "copied exactly from the text"
        for name, allowed in fields.items():
            if name in lists and not settings.marks_spans:  # a label column's label sets
                named = _listed(allowed or [])
                lines.append(f"- {name}: a list of every label that applies, from: {named}")
            elif name in lists:
                lines.append(f"- {name}: a list of every {name} it gives, each {copied}")
            elif allowed is not None:
                lines.append(f"- {name}: one of {_listed(allowed)}")
            else:
                lines.append(f"- {name}: its value, {copied}")
        if lists and not settings.marks_spans and len(fields) == 1:
            lines.append("Write null if none applies. No other text." if output.nullable else
                         "No other text.")  # fmt: skip
        else:
            lines.append("Write null for a field the input does not give. No other text.")
        return "\n".join(lines)
    if answer_words is not None and answer_words <= 5:
        about = max(1, round(answer_words))
        return (
            f"{given} Reply with only the {target}: a few words (about {about} in the examples),"
            " not a sentence."
        )
    if answer_words is not None:
        return (
            f"{given} Reply with only the {target}, as plain text, in about"
            f" {round(answer_words)} words."
        )
    return f"{given} Reply with only the {target}, as plain text, as briefly as it allows."


def task_yaml(
    name: str,
    task_dir: Path,
    output: OutputSpec,
    settings: TableSettings,
    sources: Sequence[Path],
    longest: int,
    answer_words: float | None = None,
) -> str:
    """The task YAML, shaped like conf/task/support_triage.yaml; strings JSON-quoted.
    ``answer_words``: the median length of train's answers, for a text task's prompt."""
    prompt = settings.system_prompt or default_system_prompt(output, settings, answer_words)
    described = {"label": f"one of {len(output.labels or [])} labels", "json": "a JSON object"}
    description = (
        f"{', '.join(settings.input_cols)} -> {_answer_from(settings)} "
        f"({described.get(output.kind, 'text')}), imported from"
        f" {' and '.join(s.name for s in sources)}."
    )
    lines = [
        f"# Imported by `shipwise-data import table` from {', '.join(s.name for s in sources)}.",
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
        lines.append("  fields:   # null: any value")
        for field_name, allowed in output.fields.items():
            values = "null" if allowed is None else f"[{', '.join(map(_quote, allowed))}]"
            lines.append(f"    {_quote(field_name)}: {values}")
        if output.nullable:
            lines.append("  nullable: true   # a field may be null: the input does not give it")
        if output.lists:
            lines.append(f"  lists: [{', '.join(map(_quote, output.lists))}]   # each a list")
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


SHOWN_DROPS = 100  # dropped rows listed in a datasheet; the rest are counted


def datasheet(
    name: str,
    answers: Mapping[str, Sequence[Mapping[str, Any]]],
    output: OutputSpec,
    dropped: Mapping[str, int],
    sources: Mapping[str, str],
    settings: TableSettings,
    command: str | None,
    words: Mapping[str, str],
    documents: Sequence[Mapping[str, Any]] = (),
    drops: Sequence[str] = (),
    several: int = 0,
    spans: str = "",
    to_check: Sequence[str] = (),
) -> str:
    """The datasheet stub: sources, command, counts per split and per value, settings.

    ``answers``: per split, each record's answer by field. ``drops``: one line per row left
    out, with where it was read and why (the first ``SHOWN_DROPS`` are listed).
    """
    files = "\n".join(f"| `{Path(p).resolve()}` | `{digest}` |" for p, digest in sources.items())
    counts = "\n".join(f"| {split} | {len(answers[split]):,} |" for split in SPLITS)
    options = "\n".join(
        f"- {key}: " + ("not given (the default)" if value is None else f"`{value}`")
        for key, value in vars(settings).items()
        if key not in ("system_prompt",)
    )
    spec = f"- output kind: {output.kind}; metric: {METRICS[output.kind]}"
    if several:
        spec += (
            f"\n- gold answers: {several:,} rows give several (a list in"
            f" `{settings.output_cols[0]}`); the first is the reference, and a reply scores"
            " its best against any of them (`metadata.answers`)"
        )
    if spans:
        spec += (
            f"\n- spans: {spans}; each label is a field, its value the text the span marks"
            " (null when none), read from the first input column"
            + (" (its tokens joined by spaces)" if settings.tags_col else "")
        )
    if documents:
        spec += (
            f"\n- documents: {len(documents):,} in `docs/documents.jsonl`, from column"
            f" `{settings.docs_col}` (deduplicated"
            + (f", one per `{settings.doc_id_col}`" if settings.doc_id_col else "")
            + "); each record's `metadata.source_doc` names its document"
        )
    sections = [
        f"# {name} — datasheet (imported)\n\nImported by `shipwise-data import table`. This is a"
        " stub: add where the rows come from, who labelled them, their license and known"
        " problems before relying on results.",
        f"## Source\n\n| file | sha256 |\n|---|---|\n{files}",
        f"## Command\n\n```\n{command or '(called from Python)'}\n```",
        f"## Contents\n\n| split | rows |\n|---|---|\n{counts}\n\n{spec}\n"
        f"- input columns: {', '.join(settings.input_cols)}; output:"
        f" {_answer_from(settings)}\n"
        f"- dropped (an input also in train, or in val for test, up to case, spacing and "
        f"punctuation; or one input with two answers): train {dropped['train']:,}, "
        f"val {dropped['val']:,}, test {dropped['test']:,}",
    ]
    if to_check:
        sections.append(
            "## Spans to check\n\nThese start or end inside a word; the answer keeps what they"
            " mark.\n\n" + _bullets(to_check)
        )
    if drops:
        sections.append("## Dropped rows\n\n" + _bullets(drops))
    counted = output.fields or {}
    for field in [settings.output_cols[0]] if output.kind == "label" else list(counted):
        if output.kind == "label" or counted.get(field) is not None:
            table = _count_table(answers, field, words)
            sections.append(f"## Counts of `{field}`\n\n{table}")
    free = [f for f, allowed in counted.items() if allowed is None]
    if output.kind == "json" and free:
        rows = [
            f"| {f} | " + " | ".join(_given_count(answers[split], f) for split in SPLITS) + " |"
            for f in free
        ]
        sections.append(
            "## Rows giving each free field\n\nThese fields take any value (none is listed in"
            " the prompt); a row that gives none has null.\n\n| field | train | val | test |\n"
            "|---|---|---|---|\n" + "\n".join(rows)
        )
    sections.append(
        f"## Settings\n\n{options}\n\nRe-running the same command on the same files writes"
        " byte-identical files."
    )
    return "\n\n".join(sections) + "\n"


def _bullets(lines: Sequence[str]) -> str:
    """The first ``SHOWN_DROPS`` lines as a Markdown list; the rest counted."""
    more = len(lines) - SHOWN_DROPS
    return "\n".join(f"- {line}" for line in lines[:SHOWN_DROPS]) + (
        f"\n- ... and {more:,} more" if more > 0 else ""
    )


def _given_count(answers: Sequence[Mapping[str, Any]], field: str) -> str:
    given = sum(a.get(field) is not None for a in answers)
    return f"{given:,} of {len(answers):,}"


def _counted(value: Any) -> list[str]:
    """What a count table counts of one answer: its value, or a list's every item."""
    if value is None:
        return [NULL]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _answer_from(settings: TableSettings) -> str:
    if settings.spans_col is not None:
        return f"the spans in {settings.spans_col}"
    if settings.tags_col is not None:
        return f"the entities the tags in {settings.tags_col} mark"
    return ", ".join(settings.output_cols)


def _count_table(
    answers: Mapping[str, Sequence[Mapping[str, Any]]], field: str, words: Mapping[str, str]
) -> str:
    """Rows per value and split; with label words, a column says how each value is written."""
    counted = {
        split: Counter(value for a in answers[split] for value in _counted(a[field]))
        for split in SPLITS
    }
    written_as = {v: k for k, v in words.items()}  # answers carry the written form
    values = sorted(set().union(*counted.values()))
    head, rule = f"| {field} |", "|---|"
    if words:
        head, rule = f"{head} written as |", f"{rule}---|"

    def cells(value: str) -> list[str]:
        source = [written_as.get(value, value)] if words else [value]
        written = [value] if words else []
        return [*source, *written, *(str(counted[split][value]) for split in SPLITS)]

    rows = ["| " + " | ".join(cells(v)) + " |" for v in values]
    return f"{head} train | val | test |\n{rule}---|---|---|\n" + "\n".join(rows)
