"""One chat-format example and the content fingerprints built from examples."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]
ROLES: tuple[str, ...] = ("system", "user", "assistant")


@dataclass(frozen=True)
class Message:
    role: str
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


Messages = tuple[Message, ...]


@dataclass(frozen=True)
class Example:
    """A chat transcript whose final assistant turn is the reference answer.

    ``prompt`` is every message before that turn (a record's own system message included);
    ``reference`` is the assistant's content the evaluator compares against.
    """

    id: str
    prompt: Messages
    reference: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def user_text(self) -> str:
        """The last user message: the input a person would read in a predictions table."""
        return last_user_text(self.prompt)

    @property
    def alternatives(self) -> list[str]:
        """Other gold answers the record lists (SQuAD-style ``metadata.answers``)."""
        answers = self.metadata.get("answers") or []
        return [str(a) for a in answers if str(a) != self.reference]

    def has_system(self) -> bool:
        return any(m.role == "system" for m in self.prompt)

    def as_record(self) -> dict[str, Any]:
        messages = [m.as_dict() for m in self.prompt]
        messages.append({"role": "assistant", "content": self.reference})
        return {"id": self.id, "messages": messages, "metadata": dict(self.metadata)}


def last_user_text(messages: Sequence[Message]) -> str:
    """The content of the last user message ("" when there is none)."""
    for message in reversed(messages):
        if message.role == "user":
            return message.content
    return ""


def normalize_text(text: str) -> str:
    """Unicode NFC, unified newlines, stripped ends: edits that change nothing a model sees."""
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip()


def example_digest(example: Example) -> str:
    """sha256 of the normalized record; the id is part of it so a relabelled id is a change."""
    record = example.as_record()
    for message in record["messages"]:
        message["content"] = normalize_text(message["content"])
    payload = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def fingerprint(digests: Iterable[str]) -> str:
    """Order-free fingerprint of a collection of digests (a shuffled file is the same split)."""
    h = hashlib.sha256()
    for digest in sorted(digests):
        h.update(digest.encode("ascii"))
    return h.hexdigest()[:16]


def split_fingerprint(examples: Sequence[Example]) -> str:
    return fingerprint(example_digest(e) for e in examples)
