"""The knowledge documents of a task: Markdown, plain text, or JSONL with id/text/metadata."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipwise.errors import DataError
from shipwise.paths import inside
from shipwise.tasks.example import fingerprint, normalize_text
from shipwise.tasks.jsonl import parse_json_line

TEXT_SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True)
class Document:
    id: str
    text: str
    source: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        payload = json.dumps(
            {"id": self.id, "text": normalize_text(self.text), "metadata": dict(self.metadata)},
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def read_documents(folder: Path) -> list[Document]:
    """Every document under ``folder``; ids are paths relative to it without the suffix.

    A symbolic link is followed only when it stays inside the task's folder (the parent of
    ``docs/``): a link out of it would index files the task does not hold, and is refused.
    """
    if not folder.is_dir():
        return []
    documents: list[Document] = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            inside(folder.parent, path, f"the link {path.name}", data=True)
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix in TEXT_SUFFIXES:
            text = _read_text(path)
            doc_id = path.relative_to(folder).with_suffix("").as_posix()
            documents.append(_checked(Document(doc_id, text, str(path))))
        elif path.suffix == ".jsonl":
            documents.extend(_read_jsonl_documents(path))
        else:
            raise DataError(
                f"unsupported document type {path.suffix or '(no suffix)'}",
                where=str(path),
                fix="use .md, .txt or .jsonl (id/text/metadata), or move the file out of docs/",
            )
    ids: dict[str, str] = {}
    for doc in documents:
        if doc.id in ids:
            raise DataError(
                f"document id {doc.id!r} is used twice (also in {ids[doc.id]})",
                where=doc.source,
                fix="rename one of them",
            )
        ids[doc.id] = doc.source
    return documents


def docs_fingerprint(documents: list[Document]) -> str:
    return fingerprint(d.digest for d in documents)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise DataError(
            "the document is not UTF-8 text", where=str(path), fix="re-save it as UTF-8"
        ) from None


def _checked(doc: Document) -> Document:
    if not doc.text.strip():
        raise DataError(
            f"document {doc.id!r} is empty",
            where=doc.source,
            fix="write its text or delete the file",
        )
    return doc


def _read_jsonl_documents(path: Path) -> list[Document]:
    documents = []
    for lineno, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        record = parse_json_line(line, where)
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise DataError(
                "a document record needs a string 'text'",
                where=where,
                fix='write {"id": "...", "text": "...", "metadata": {...}}',
            )
        doc_id = str(record.get("id") or f"{path.stem}/{lineno}")
        metadata = record.get("metadata") or {}
        documents.append(_checked(Document(doc_id, record["text"], where, metadata)))
    return documents
