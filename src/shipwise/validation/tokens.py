"""Token lengths under the chosen model's tokenizer, and what a hosted fine-tune would bill.

Both analyzers count a batch at a time and keep, per example, at most two small integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from shipwise.finetune.hosted_cost import TokenCounter, auto_epochs, example_tokens, load_counter
from shipwise.validation.model import Finding, HostedPricing, Record, Tokens

PERCENTILES = {"min": 0, "p10": 10, "median": 50, "p90": 90, "max": 100}


class TokensAnalyzer:
    """``tokens`` statistics per split, and the ``over_context``/``over_max_length`` checks.

    An example's tokens are its contents' tokens plus the chat template's framing
    (``per_message`` each, ``per_example`` once); the assistant's are its answer's content.
    """

    name = "tokens"

    def __init__(self, tokens: Tokens, max_length: int | None = None) -> None:
        self.tokens = tokens
        self.max_length = max_length
        self._lengths: dict[str, list[np.ndarray]] = {}  # split -> per batch (n, 2) int32
        self._findings: list[Finding] = []

    def observe(self, records: Sequence[Record]) -> None:
        if not records:
            return
        contents = [m.content for r in records for m in r.messages]
        # Each distinct text once: a shared system prompt or a label costs one encoding.
        unique = list(dict.fromkeys(contents))
        counts = self.tokens.count_batch(unique)
        if len(counts) != len(unique):
            raise ValueError(
                f"tokenizer {self.tokens.name!r} returned {len(counts)} counts for "
                f"{len(unique)} texts: count_batch must return one count per text"
            )
        per_text = dict(zip(unique, counts, strict=True))
        content = np.fromiter((per_text[c] for c in contents), np.int64, len(contents))
        sizes = np.fromiter((len(r.messages) for r in records), np.int64, len(records))
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        example = np.add.reduceat(content, starts) + self.tokens.per_message * sizes
        example += self.tokens.per_example
        answer = content[starts + sizes - 1]
        lengths = np.stack((example, answer), axis=1).astype(np.int32)
        self._lengths.setdefault(records[0].split, []).append(lengths)
        self._check(records, example)

    def _check(self, records: Sequence[Record], example: np.ndarray) -> None:
        window, max_length = self.tokens.context_window, self.max_length
        limits = [x for x in (window, max_length) if x is not None]
        if not limits:
            return
        for i in np.flatnonzero(example > min(limits)):
            record, count = records[int(i)], int(example[i])
            if window is not None and count > window:
                self._findings.append(
                    Finding(
                        "error",
                        "over_context",
                        f"{count} tokens, more than the {window}-token context window of "
                        f"{self.tokens.name}",
                        "shorten or drop the example: the model cannot see it whole",
                        record.file,
                        record.line,
                        record.split,
                    )
                )
            elif max_length is not None and count > max_length:
                self._findings.append(
                    Finding(
                        "warning",
                        "over_max_length",
                        f"{count} tokens, more than max_length {max_length}: will be "
                        "truncated in LoRA training",
                        "shorten the example, or raise the fine-tune arm's max_length "
                        "(more memory per batch)",
                        record.file,
                        record.line,
                        record.split,
                    )
                )

    def finish(self) -> tuple[list[Finding], dict[str, Any]]:
        splits: dict[str, Any] = {}
        for split, parts in self._lengths.items():
            lengths = np.concatenate(parts)
            splits[split] = {
                "examples": len(lengths),
                "tokens": _spread(lengths[:, 0]),
                "assistant_tokens": _spread(lengths[:, 1]),
            }
        stats = {
            "tokenizer": self.tokens.name,
            "context_window": self.tokens.context_window,
            "max_length": self.max_length,
            "splits": splits,
        }
        return self._findings, stats


def _spread(values: np.ndarray) -> dict[str, float | int]:
    """min, p10, median, p90, max (numpy's linear interpolation) and the total."""
    points = np.percentile(values, list(PERCENTILES.values()))
    spread: dict[str, float | int] = {
        k: round(float(p), 1) for k, p in zip(PERCENTILES, points, strict=True)
    }
    spread["min"], spread["max"] = int(values.min()), int(values.max())
    spread["total"] = int(values.sum(dtype=np.int64))
    return spread


class HostedCostAnalyzer:
    """``hosted_cost`` statistics: the train split's billed tokens and dollars.

    Counted the way :mod:`shipwise.finetune.hosted_cost` bills a job (its counter, per-message
    overhead, per-example cap and ``auto`` epochs), so the figure matches the hosted arm's.
    """

    name = "hosted_cost"

    def __init__(self, hosted: HostedPricing) -> None:
        self.hosted = hosted
        self._count: TokenCounter | None = None
        self._tokenizer = hosted.tokenizer
        self.examples = 0
        self.tokens_per_epoch = 0
        self.capped = 0

    def observe(self, records: Sequence[Record]) -> None:
        if not records or records[0].split != "train":
            return
        if self._count is None:  # loaded on first use: tiktoken may fetch or fall back
            self._count, self._tokenizer = load_counter(self.hosted.tokenizer)
        # Each distinct string of the batch counted once: system prompts and labels repeat.
        count = self._count
        counted = {t: count(t) for r in records for m in r.messages for t in (m.role, m.content)}
        cap = self.hosted.max_tokens_per_example
        for record in records:
            messages = [{"role": m.role, "content": m.content} for m in record.messages]
            tokens = example_tokens(messages, counted.__getitem__)
            self.capped += tokens > cap
            self.tokens_per_epoch += min(cap, tokens)
        self.examples += len(records)

    def finish(self) -> tuple[list[Finding], dict[str, Any]]:
        hosted = self.hosted
        stats: dict[str, Any] = {
            "model": hosted.model,
            "tokenizer": self._tokenizer,
            "examples": self.examples,
            "tokens_per_epoch": self.tokens_per_epoch,
            "capped_examples": self.capped,
            "max_tokens_per_example": hosted.max_tokens_per_example,
        }
        if not self.examples:
            return [], stats
        auto = hosted.n_epochs == "auto"
        epochs = auto_epochs(self.examples) if auto else int(hosted.n_epochs)
        billed = self.tokens_per_epoch * epochs
        stats |= {
            "n_epochs": epochs,
            "n_epochs_setting": hosted.n_epochs,
            "billed_tokens": billed,
            "usd": round(billed * hosted.usd_per_1m_tokens / 1e6, 4),
            "usd_per_1m_tokens": hosted.usd_per_1m_tokens,
        }
        return [], stats
