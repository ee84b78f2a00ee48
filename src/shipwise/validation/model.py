"""The shapes validation passes around: findings, well-formed records, the context, the report.

The reader (``records.py``) turns each line of a split file into either a :class:`Finding`
(a line that is not a chat example) or a :class:`Record`. Analyzers (``content.py``) watch the
records stream past, keeping only compact state (hashes, counts, lengths) so a large file
validates in bounded memory, and report their findings and statistics at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from shipwise.models.base import TokenCounting
from shipwise.strategies.base import Billing
from shipwise.tasks.docs import Document
from shipwise.tasks.example import Message, last_user_text
from shipwise.tasks.task import OutputSpec

Severity = Literal["error", "warning"]

# Splits are read in this order, so cross-split checks (leakage) have seen train and val
# before test arrives. Any other split file (regression, redteam) comes before test.
SPLIT_ORDER = ("train", "val", "regression", "redteam", "test")


@dataclass(frozen=True)
class Finding:
    """One problem: what (``message``), where (``file``/``line``), and what to do (``fix``).

    ``check`` is a stable identifier (``invalid_json``, ``duplicate``, ``leakage``...) that
    ``--json`` consumers and tests match on.
    """

    severity: Severity
    check: str
    message: str
    fix: str
    file: str | None = None
    line: int | None = None
    split: str | None = None

    @property
    def where(self) -> str:
        if self.file is None:
            return self.split or ""
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Record:
    """One line that is a well-formed chat example; ``messages`` ends with the assistant's."""

    split: str
    file: str
    line: int
    messages: tuple[Message, ...]
    id: str | None = None

    @property
    def input_text(self) -> str:
        """Everything the model is shown: each message before the final answer, role-tagged."""
        return "\n".join(f"{m.role}: {m.content}" for m in self.messages[:-1])

    @property
    def user_text(self) -> str:
        return last_user_text(self.messages)

    @property
    def output_text(self) -> str:
        return self.messages[-1].content


# The model's token counting and a hosted fine-tune's billing, as validation calls them.
Tokens = TokenCounting
HostedPricing = Billing


@dataclass(frozen=True)
class Context:
    """What the checks know about the task besides its files."""

    output: OutputSpec = field(default_factory=OutputSpec)
    tokens: Tokens | None = None
    max_length: int | None = None  # the fine-tune arm's configured max length, in tokens
    documents: Sequence[Document] = ()
    hosted: HostedPricing | None = None


class Analyzer(Protocol):
    """A check over the stream of well-formed records.

    ``observe`` receives batches in file order, one split at a time, splits in
    :data:`SPLIT_ORDER`; ``finish`` returns the findings and a JSON-able statistics block.
    """

    name: str

    def observe(self, records: Sequence[Record]) -> None: ...

    def finish(self) -> tuple[list[Finding], dict[str, Any]]: ...


@dataclass
class Report:
    """Everything one validation found; ``exit_code`` is 2 with errors, 1 with warnings only."""

    target: str
    files: Mapping[str, str] = field(default_factory=dict)  # split -> file
    findings: list[Finding] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def exit_code(self) -> int:
        if self.errors:
            return 2
        return 1 if self.warnings else 0

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "files": dict(self.files),
            "exit_code": self.exit_code,
            "counts": {"errors": len(self.errors), "warnings": len(self.warnings)},
            "findings": [f.as_json() for f in self.findings],
            "stats": self.stats,
        }
