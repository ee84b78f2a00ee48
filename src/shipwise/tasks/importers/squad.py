"""Import a SQuAD-format JSON file as a task: questions in splits, paragraphs as documents.

SQuAD v1.1 and v2.0 files both work; v2.0's unanswerable questions (an empty ``answers``
list) are skipped and counted. Every paragraph becomes a document, so the knowledge base a RAG
arm searches is the whole file, not only the passages of the sampled questions.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipwise.errors import ConfigError, DataError
from shipwise.tasks.importers.common import (
    SPLITS,
    check_fractions,
    check_name,
    refuse_overwrite,
    staged_task,
    write_yaml,
)
from shipwise.tasks.importers.common import write_lines as _write_lines

LICENSE = "CC BY-SA 4.0"
SYSTEM_PROMPT = (
    "Answer the question from the provided passages. "
    "Answer with the exact words from the passage, as few as possible."
)
_FORMAT_FIX = (
    'a SQuAD file is {"data": [{"title": ..., "paragraphs": [{"context": ..., "qas": [...]}]}]}'
)


@dataclass(frozen=True)
class ImportSummary:
    """What an import wrote: questions per split, documents, and the task YAML text."""

    task_dir: Path
    yaml_path: Path | None
    documents: int
    counts: Mapping[str, int]
    skipped: int  # questions without any gold answer (SQuAD v2.0's unanswerable ones)
    task_yaml: str
    source_sha256: str


@dataclass(frozen=True)
class _Paragraph:
    doc_id: str
    title: str
    text: str


@dataclass(frozen=True)
class _Question:
    id: str
    question: str
    answers: tuple[str, ...]
    doc_id: str
    title: str

    def record(self) -> dict[str, Any]:
        messages = [
            {"role": "user", "content": self.question},
            {"role": "assistant", "content": self.answers[0]},
        ]
        meta = {"source_doc": self.doc_id, "answers": list(self.answers), "title": self.title}
        return {"id": self.id, "messages": messages, "metadata": meta}


def slugify(title: str) -> str:
    """Lowercase; each run of non-alphanumerics becomes one '-' (``Sky_(UK)`` -> ``sky-uk``)."""
    return re.sub(r"[\W_]+", "-", title.lower()).strip("-")


def import_squad(
    source: Path,
    out_dir: Path,
    name: str,
    *,
    questions: int | None = None,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.5,
    conf_dir: Path | None = None,
    force: bool = False,
) -> ImportSummary:
    """Write ``out_dir/name`` (splits, docs/paragraphs.jsonl, README.md) and its task YAML.

    ``questions`` samples that many questions (seeded) before the seeded split; the same file
    and seed give byte-identical output. The YAML goes to ``conf_dir/task/name.yaml`` if given.
    """
    _check_settings(name, questions, val_fraction, test_fraction)
    task_dir = (out_dir / name).resolve()
    yaml_path = conf_dir / "task" / f"{name}.yaml" if conf_dir is not None else None
    refuse_overwrite(task_dir, yaml_path, force=force)
    data, digest = _load_json(source)
    paragraphs, pool, skipped = _parse(data, source)
    splits = _split(pool, questions, seed, val_fraction, test_fraction)
    counts = {split: len(rows) for split, rows in splits.items()}
    settings = {
        "questions": "all" if questions is None else questions,
        "seed": seed,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
    }
    readme = _readme(name, source, digest, counts, len(paragraphs), skipped, len(pool), settings)
    _write_task(task_dir, splits, paragraphs, readme)
    text = task_yaml(name, task_dir, source)
    if yaml_path is not None:
        write_yaml(yaml_path, text)
    return ImportSummary(task_dir, yaml_path, len(paragraphs), counts, skipped, text, digest)


def task_yaml(name: str, task_dir: Path, source: Path) -> str:
    """The task YAML, shaped like conf/task/policy_qa.yaml; strings JSON-quoted, valid YAML."""
    description = f"Extractive QA imported from {source.name}: answer from the passages in docs/."
    return "\n".join(
        [
            f"# Imported by `shipwise-data import squad` from {source.name} (data {LICENSE}).",
            f"# Datasheet: {task_dir / 'README.md'}",
            f"name: {json.dumps(name)}",
            f"description: {json.dumps(description, ensure_ascii=False)}",
            f"data_dir: {json.dumps(str(task_dir), ensure_ascii=False)}",
            "metric: token_f1",
            "regression_metric: token_f1",
            "max_new_tokens: 24",
            "output:",
            "  kind: text",
            "system_prompt: |-",
            f"  {SYSTEM_PROMPT}",
            "",
        ]
    )


def _check_settings(name: str, questions: int | None, val: float, test: float) -> None:
    check_name(name)
    if questions is not None and questions < 1:
        raise ConfigError(f"questions={questions}", where="questions", fix="ask for 1 or more")
    check_fractions(val, test)


def _load_json(source: Path) -> tuple[Any, str]:
    if not source.is_file():
        raise DataError(
            "the SQuAD file does not exist", where=str(source), fix="check the path to the .json"
        )
    raw = source.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"bytes that are not UTF-8 at byte {exc.start}",
            where=str(source),
            fix="re-save the file as UTF-8",
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            where=f"{source}:{exc.lineno}:{exc.colno}",
            fix="the file must be one JSON document (SQuAD format)",
        ) from None
    return data, hashlib.sha256(raw).hexdigest()


def _parse(data: Any, source: Path) -> tuple[list[_Paragraph], list[_Question], int]:
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise DataError("no top-level 'data' list", where=str(source), fix=_FORMAT_FIX)
    paragraphs: list[_Paragraph] = []
    questions: list[_Question] = []
    skipped = 0
    first_seen: dict[str, str] = {}
    slugs: set[str] = set()
    for i, article in enumerate(articles):
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise DataError(
                "an article needs a 'paragraphs' list",
                where=f"{source}: data[{i}]",
                fix=_FORMAT_FIX,
            )
        title = str(article.get("title") or f"article {i}")
        slug = _unique(slugify(title) or "article", slugs)
        for j, paragraph in enumerate(article["paragraphs"]):
            loc = f"data[{i}].paragraphs[{j}]"
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            if not isinstance(context, str) or not context.strip():
                raise DataError(
                    "a paragraph needs a non-empty 'context' string",
                    where=f"{source}: {loc}",
                    fix="give every paragraph its passage text in 'context', or remove it",
                )
            doc = _Paragraph(f"{slug}-{j:03d}", title, context)
            paragraphs.append(doc)
            qas = paragraph.get("qas", [])
            if not isinstance(qas, list):
                raise DataError("'qas' must be a list", where=f"{source}: {loc}", fix=_FORMAT_FIX)
            for k, qa in enumerate(qas):
                question = _question(qa, doc, where=f"{source}: {loc}.qas[{k}]")
                if question is None:
                    skipped += 1
                    continue
                if question.id in first_seen:
                    raise DataError(
                        f"question id {question.id!r} is used twice"
                        f" (first at {first_seen[question.id]})",
                        where=f"{source}: {loc}.qas[{k}]",
                        fix="give every question a unique id",
                    )
                first_seen[question.id] = f"{loc}.qas[{k}]"
                questions.append(question)
    if not paragraphs:
        raise DataError("the file has no paragraphs", where=str(source), fix=_FORMAT_FIX)
    return paragraphs, questions, skipped


def _question(qa: Any, doc: _Paragraph, where: str) -> _Question | None:
    """One question, or None when it has no gold answer (it cannot be scored)."""
    if not isinstance(qa, dict):
        raise DataError("a question must be a JSON object", where=where, fix=_FORMAT_FIX)
    text, answers, qid = qa.get("question"), qa.get("answers"), qa.get("id")
    if not isinstance(text, str) or not text.strip():
        raise DataError("a question needs a non-empty 'question' string", where=where)
    if not isinstance(answers, list):
        raise DataError(
            "a question needs an 'answers' list",
            where=where,
            fix='write "answers": [{"text": ..., "answer_start": ...}] ([] if none)',
        )
    if not isinstance(qid, str | int) or not str(qid).strip():
        raise DataError("a question needs an 'id'", where=where, fix="give it a unique id")
    golds: list[str] = []
    for m, answer in enumerate(answers):
        gold = answer.get("text") if isinstance(answer, dict) else None
        if not isinstance(gold, str) or not gold.strip():
            raise DataError(
                "an answer needs a non-empty 'text' string",
                where=f"{where}.answers[{m}]",
                fix='write each answer as {"text": ..., "answer_start": ...}',
            )
        if gold.strip() not in golds:
            golds.append(gold.strip())
    if not golds:
        return None
    return _Question(str(qid).strip(), text.strip(), tuple(golds), doc.doc_id, doc.title)


def _unique(slug: str, used: set[str]) -> str:
    # Two titles can share a slug ("C++" and "C"); a suffix keeps doc ids unique.
    candidate, n = slug, 1
    while candidate in used:
        n += 1
        candidate = f"{slug}-{n}"
    used.add(candidate)
    return candidate


def _split(
    pool: list[_Question], questions: int | None, seed: int, val: float, test: float
) -> dict[str, list[_Question]]:
    rng = random.Random(seed)
    if questions is not None and questions > len(pool):
        raise ConfigError(
            f"{questions} questions asked for, the file has {len(pool)} with an answer",
            where="questions",
            fix=f"ask for at most {len(pool)}, or omit it to import all",
        )
    # Shuffled order is kept in the files: "the first N" (limit=N, fixed demos) is then a
    # random sample across articles rather than the first article's questions.
    chosen = rng.sample(pool, len(pool) if questions is None else questions)
    n = len(chosen)
    n_test, n_val = int(n * test + 0.5), int(n * val + 0.5)
    splits = {
        "train": chosen[n_test + n_val :],
        "val": chosen[n_test : n_test + n_val],
        "test": chosen[:n_test],
    }
    empty = [name for name in SPLITS if not splits[name]]
    if empty:
        raise ConfigError(
            f"the {' and '.join(empty)} split would be empty ({n} questions, "
            f"val_fraction={val}, test_fraction={test})",
            where="questions",
            fix="import more questions or change the fractions; every split needs a question",
        )
    return splits


def _write_task(
    task_dir: Path, splits: Mapping[str, list[_Question]], paragraphs: list[_Paragraph], readme: str
) -> None:
    with staged_task(task_dir) as staging:
        (staging / "docs").mkdir()
        for name, rows in splits.items():
            _write_lines(staging / f"{name}.jsonl", (q.record() for q in rows))
        _write_lines(
            staging / "docs" / "paragraphs.jsonl",
            ({"id": p.doc_id, "text": p.text, "metadata": {"title": p.title}} for p in paragraphs),
        )
        (staging / "README.md").write_text(readme, encoding="utf-8", newline="\n")


def _readme(
    name: str,
    source: Path,
    digest: str,
    counts: Mapping[str, int],
    documents: int,
    skipped: int,
    answerable: int,
    settings: Mapping[str, Any],
) -> str:
    rows = "\n".join(f"| {split} | {count:,} |" for split, count in counts.items())
    options = "\n".join(f"- {key}: `{value}`" for key, value in settings.items())
    return f"""# {name} — datasheet (imported)

Imported by `shipwise-data import squad` from a SQuAD-format file. This is a stub: add what
the questions are about, who wrote them, and known problems before relying on results.

## Source

- file: `{source.resolve()}`
- sha256: `{digest}`
- license: SQuAD data is {LICENSE} (https://creativecommons.org/licenses/by-sa/4.0/).
  Credit Rajpurkar et al. (2016) and share derived data under the same license. If the file
  is not SQuAD itself, check its own license.

## Contents

| split | questions |
|---|---|
{rows}

- documents: {documents:,} paragraphs in `docs/paragraphs.jsonl` (every paragraph of the file)
- answerable questions in the file: {answerable:,}; skipped without a gold answer: {skipped:,}
- each record: the question (user), its first gold answer (assistant); `metadata.answers` holds
  every distinct gold answer and `metadata.source_doc` the id of its paragraph.

## Settings

{options}

Re-running the import with the same file and settings writes byte-identical files.
"""
