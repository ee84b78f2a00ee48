"""What a hosted fine-tune will cost, worked out before anything is uploaded.

Rows are checked against the chat fine-tuning format, tokens are counted the way OpenAI's
chat fine-tuning data-prep guide does (3 tokens per message, 1 more per ``name``, 3 to prime
the reply; each example capped at the model's training context), and ``n_epochs="auto"`` is
resolved with the rule from that guide: aim for 3 epochs, but keep ``examples * epochs``
within [100, 25000] and epochs within [1, 25].

Tokenizers (``strategy.backend.tokenizer``):

- ``tiktoken:<encoding>`` (e.g. ``tiktoken:o200k_base``): exact for OpenAI models, but
  tiktoken downloads its encoding files on first use. Offline, and without a pre-filled
  ``TIKTOKEN_CACHE_DIR``, it falls back to ``approx`` and says so in ``CostEstimate.tokenizer``.
- ``hf:<path>``: a local Hugging Face tokenizer (a ``tokenizer.json`` or a model folder).
- ``approx``: an estimate, not a tokenizer: one token per 4 characters, rounded up, per message.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipwise.errors import ConfigError, DataError

TokenCounter = Callable[[str], int]

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_REPLY_PRIMING = 3
CHARS_PER_TOKEN = 4  # the "approx" rule: ~4 characters of English per token

TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25

ROLES = ("system", "user", "assistant")
APPROX = "approx"


@dataclass(frozen=True)
class CostEstimate:
    """Billed tokens and dollars for one job, before it is created."""

    examples: int
    tokens_per_epoch: int
    n_epochs: int
    billed_tokens: int
    usd: float
    tokenizer: str  # what was actually used, e.g. "approx (tiktoken:o200k_base unavailable)"


def validate_rows(rows: Sequence[Mapping[str, Any]], where: str) -> None:
    """Raise a :class:`DataError` naming the first row that is not a chat training example."""
    if not rows:
        raise DataError("no training examples", where=where, fix="give at least one row")
    for index, row in enumerate(rows):
        problem = _row_problem(row)
        if problem:
            raise DataError(
                f"row {index}: {problem}",
                where=where,
                fix='each row must be {"messages": [{"role": ..., "content": "..."}, ...]} '
                "with roles system/user/assistant, ending on an assistant message",
            )


def _row_problem(row: Mapping[str, Any]) -> str | None:
    messages = row.get("messages") if isinstance(row, Mapping) else None
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list"
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            return f"message {i} is not an object"
        if message.get("role") not in ROLES:
            return f"message {i} has role {message.get('role')!r}, not one of {ROLES}"
        if not isinstance(message.get("content"), str):
            return f"message {i} content must be a string"
    if messages[-1]["role"] != "assistant":
        return "the last message must be the assistant's (the reply to learn)"
    return None


def parse_tokenizer(spec: str) -> tuple[str, str]:
    """``(kind, argument)`` of a tokenizer spec, without loading anything."""
    kind, _, arg = spec.partition(":")
    if spec == APPROX or (kind in ("tiktoken", "hf") and arg):
        return kind, arg
    raise ConfigError(
        f"unknown tokenizer {spec!r}",
        where="strategy.backend.tokenizer",
        fix="use tiktoken:<encoding>, hf:<local path> or approx",
    )


def load_counter(spec: str) -> tuple[TokenCounter, str]:
    """A token counter for ``spec`` and the label of what it really is."""
    kind, arg = parse_tokenizer(spec)
    if kind == "tiktoken":
        return _tiktoken(arg, spec)
    if kind == "hf":
        return _hf(Path(arg).expanduser(), spec)
    return _approx, APPROX


def _approx(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _estimated(spec: str, reason: str) -> tuple[TokenCounter, str]:
    """The labelled approximation, said aloud, when ``spec`` cannot count."""
    label = f"{APPROX} ({spec} unavailable: {reason})"
    print(f"hosted fine-tune: token counts are estimates, {label}", file=sys.stderr)
    return _approx, label


def _tiktoken(encoding_name: str, spec: str) -> tuple[TokenCounter, str]:
    try:
        import tiktoken
    except ImportError:
        return _estimated(spec, "tiktoken is not installed")
    try:
        encoding = tiktoken.get_encoding(encoding_name)
    except ValueError as exc:  # an encoding tiktoken does not know
        raise ConfigError(
            str(exc), where="strategy.backend.tokenizer", fix="e.g. tiktoken:o200k_base"
        ) from None
    except Exception as exc:  # the encoding file could not be downloaded (offline)
        return _estimated(spec, type(exc).__name__)

    def count(text: str) -> int:
        return len(encoding.encode(text, disallowed_special=()))

    return count, spec


def _hf(path: Path, spec: str) -> tuple[TokenCounter, str]:
    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.is_file():
        raise ConfigError(
            f"no tokenizer at {path}",
            where="strategy.backend.tokenizer",
            fix="point hf: at a tokenizer.json file or a folder containing one",
        )
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(file))
    except Exception as exc:  # tokenizers raises a bare Exception for unreadable files
        raise ConfigError(
            f"cannot read the tokenizer {file}: {exc}",
            where="strategy.backend.tokenizer",
            fix="point hf: at a Hugging Face tokenizer.json (or its folder)",
        ) from None

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count, spec


def example_tokens(messages: Sequence[Mapping[str, Any]], count: TokenCounter) -> int:
    """Tokens of one chat example, with the guide's per-message overhead."""
    total = TOKENS_REPLY_PRIMING
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for key, value in message.items():
            if isinstance(value, str):
                total += count(value)
            if key == "name":
                total += TOKENS_PER_NAME
    return total


def auto_epochs(n_examples: int) -> int:
    """The epochs OpenAI picks for ``n_epochs="auto"`` (per its data-prep guide)."""
    if n_examples < 1:
        raise ValueError("n_examples must be at least 1")
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


def estimate(
    rows: Sequence[Mapping[str, Any]],
    *,
    tokenizer: str,
    n_epochs: int | str,
    usd_per_1m_tokens: float,
    max_tokens_per_example: int,
) -> CostEstimate:
    """Validate ``rows`` and estimate the billed tokens and dollars of training on them."""
    validate_rows(rows, "training rows")
    count, used = load_counter(tokenizer)
    per_epoch = sum(
        min(max_tokens_per_example, example_tokens(row["messages"], count)) for row in rows
    )
    epochs = auto_epochs(len(rows)) if n_epochs == "auto" else int(n_epochs)
    billed = per_epoch * epochs
    return CostEstimate(
        examples=len(rows),
        tokens_per_epoch=per_epoch,
        n_epochs=epochs,
        billed_tokens=billed,
        usd=billed * usd_per_1m_tokens / 1e6,
        tokenizer=used,
    )
