"""Shared prompt prefixes, processed once: the key/value cache of the tokens prompts start with.

Prompts of one arm start alike: the chat template's opening and the task's system prompt are
about two thirds of a prompt-arm prompt on ``support_triage``. Under causal attention the keys
and values of those tokens depend on nothing after them, so they are computed once (batch of
one), kept per generator, and every batch starts from a copy expanded to its rows: only the
rest of each prompt goes through the model. The kept tensors are never written to (a
transformers ``DynamicCache`` grows by concatenation, into new tensors).

A batch then reads ``[shared prefix][left padding][rest of the prompt]``: the attention mask
hides the padding, and ``generate`` numbers positions from that mask (``cumsum - 1``), so every
real token keeps the position it has without the cache. Answers equal the uncached ones up to
floating-point summation order (a test compares them on the shipped tasks).
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel
    from transformers.cache_utils import DynamicCache

MIN_SHARED = 16  # tokens: a shorter common prefix is not worth a forward pass of its own
KEEP = 4  # prefixes kept per generator, least recently used dropped first


def common_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """How many leading tokens every row shares (0 for no rows)."""
    if not rows:
        return 0
    first, length = list(rows[0]), min(len(r) for r in rows)
    for row in map(list, rows[1:]):
        if row[:length] != first[:length]:  # one comparison in C when the rows agree
            length = next(k for k in range(length) if row[k] != first[k])
    return length


def cache_keyword(model: Any) -> str:
    """The name of the cache argument: ``cache`` (transformers 5.25 on), or ``past_key_values``."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    names = inspect.signature(type(base).forward).parameters
    return "cache" if "cache" in names else "past_key_values"


@dataclass(frozen=True)
class Prefix:
    """The keys and values of ``tokens``, one (keys, values) pair per layer, batch size 1."""

    tokens: tuple[int, ...]
    layers: tuple[tuple[torch.Tensor, torch.Tensor], ...]  # each (1, kv_heads, len, head_dim)

    def cache(self, model: PreTrainedModel, rows: int) -> DynamicCache:
        """A new cache holding this prefix for ``rows`` rows (the kept tensors stay untouched)."""
        from transformers.cache_utils import DynamicCache

        data = [(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1)) for k, v in self.layers]
        return DynamicCache(ddp_cache_data=data, config=model.config)


class PrefixCache:
    """Prefixes computed with one model's weights (other weights need a cache of their own)."""

    def __init__(self, keep: int = KEEP, min_tokens: int = MIN_SHARED) -> None:
        self.keep, self.min_tokens = keep, min_tokens
        self._kept: OrderedDict[tuple[int, ...], Prefix] = OrderedDict()
        self.tokens_computed = 0  # prefix tokens run through the model (for benchmarks)

    def __len__(self) -> int:
        return len(self._kept)

    def shared(self, model: PreTrainedModel, rows: Sequence[Sequence[int]]) -> Prefix | None:
        """The longest prefix every row starts with, if it pays: kept, extended, or None.

        A kept prefix is extended (and the extension kept) when the rows share at least
        ``min_tokens`` more; a single row only reuses what is kept. One token of every row
        stays out: ``generate`` needs a new token to score the next one.
        """
        if not rows:
            return None
        length = min(common_prefix_length(rows), min(len(r) for r in rows) - 1)
        start = self.longest(rows[0][:length])
        done = len(start.tokens) if start else 0
        if len(rows) > 1 and length - done >= self.min_tokens:
            return self.get(model, tuple(rows[0][:length]))
        return start

    def longest(self, tokens: Sequence[int]) -> Prefix | None:
        """The longest kept prefix that ``tokens`` starts with (marked recently used)."""
        best: Prefix | None = None
        for kept in self._kept.values():
            longer = best is None or len(kept.tokens) > len(best.tokens)
            if longer and tuple(tokens[: len(kept.tokens)]) == kept.tokens:
                best = kept
        if best is not None:
            self._kept.move_to_end(best.tokens)
        return best

    def get(self, model: PreTrainedModel, tokens: tuple[int, ...]) -> Prefix:
        """The prefix of exactly ``tokens``: kept, or computed from the longest kept start."""
        start = self.longest(tokens)
        if start is not None and start.tokens == tokens:
            return start
        prefix = self._extend(model, start, tokens)
        self._kept[tokens] = prefix
        while len(self._kept) > self.keep:
            self._kept.popitem(last=False)
        return prefix

    def _extend(
        self, model: PreTrainedModel, start: Prefix | None, tokens: tuple[int, ...]
    ) -> Prefix:
        import torch
        from transformers.cache_utils import DynamicCache

        done = len(start.tokens) if start else 0
        cache = start.cache(model, 1) if start else DynamicCache(config=model.config)
        ids = torch.tensor([tokens[done:]], device=model.device)  # (1, new)
        with torch.inference_mode():
            # One row, no padding: positions run on from the cache's length. Only the last
            # position's scores are computed (they are not used; the output layer is large).
            model(input_ids=ids, use_cache=True, logits_to_keep=1, **{cache_keyword(model): cache})
        self.tokens_computed += len(tokens) - done
        layers = tuple((keys, values) for keys, values, *_ in cache)  # per layer
        return Prefix(tokens, layers)
