"""One batch of tokenized prompts through transformers' ``generate``.

The rows are left-padded behind the batch's shared prefix, when there is one (see
prefix_cache.py), constrained to a task's answers when asked (see constrained.py), and the new
tokens are read back into completions with their token counts and timing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shipwise.models.base import Completion, GenerationSettings, apply_stop
from shipwise.models.constrained import TokenTrie, TrieConstraint
from shipwise.models.prefix_cache import Prefix, cache_keyword

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def padded(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, attention mask), each (len(rows), longest row), rows aligned to the right edge."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row) :] = 1
    return ids, mask


def generate_batch(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    rows: Sequence[Sequence[int]],
    settings: GenerationSettings,
    end_ids: Sequence[int],
    prefix: Prefix | None = None,
    trie: TokenTrie | None = None,
    started: float | None = None,
) -> list[Completion]:
    """Completions of ``rows`` (token ids of rendered prompts), in their order.

    ``prefix``: keys and values of the tokens every row starts with, already computed.
    ``trie``: the allowed answers (constrained decoding). ``started``: when this batch's work
    began, if before this call (computing its prefix counts as its time).
    """
    import torch
    from transformers import GenerationConfig, LogitsProcessorList

    started = time.perf_counter() if started is None else started
    shared = len(prefix.tokens) if prefix else 0
    # An answer's forced opening tokens go in with the prompt: one pass, not one step each.
    forced = trie.forced() if trie is not None else []
    if len(forced) >= settings.max_new_tokens:
        forced = []
    rest = [[*r[shared:], *forced] for r in rows]
    suffix_ids, suffix_mask = padded(rest, int(tokenizer.pad_token_id))
    if prefix is not None:
        # [prefix][padding][rest]: the mask hides the padding; positions follow the mask.
        head = torch.tensor([prefix.tokens], dtype=torch.long).expand(len(rows), -1)
        input_ids = torch.cat([head, suffix_ids], dim=1)
        attention_mask = torch.cat([torch.ones_like(head), suffix_mask], dim=1)
    else:
        input_ids, attention_mask = suffix_ids, suffix_mask
    input_ids, attention_mask = input_ids.to(model.device), attention_mask.to(model.device)
    prompt_length = input_ids.shape[1]
    config = GenerationConfig(
        max_new_tokens=settings.max_new_tokens - len(forced),
        do_sample=settings.temperature > 0,
        temperature=settings.temperature if settings.temperature > 0 else None,
        top_p=settings.top_p if settings.temperature > 0 else None,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=list(end_ids),
        # Stop strings end a sequence inside generate, so a batch stops once every answer
        # has finished instead of decoding to max_new_tokens.
        stop_strings=list(settings.stop) or None,
    )
    processors = LogitsProcessorList()
    if trie is not None:
        start = trie.walk(forced)
        processors.append(TrieConstraint(trie, prompt_length, end_ids[0], start))
    extra: dict[str, Any] = {}
    if prefix is not None:
        extra[cache_keyword(model)] = prefix.cache(model, len(rows))
    with torch.inference_mode():
        output = model.generate(  # type: ignore[operator]
            input_ids=input_ids,
            attention_mask=attention_mask,
            generation_config=config,
            tokenizer=tokenizer,
            logits_processor=processors,
            **extra,
        )
    elapsed = time.perf_counter() - started
    new_tokens = [forced + row for row in output[:, prompt_length:].tolist()]  # the answers
    ends = set(end_ids)
    completions = []
    for row, tokens in zip(rows, new_tokens, strict=True):
        n_generated = next((k for k, tok in enumerate(tokens) if tok in ends), len(tokens))
        text = str(tokenizer.decode(tokens[:n_generated], skip_special_tokens=True))
        completions.append(
            Completion(
                text=apply_stop(text, settings.stop).strip(),
                prompt_tokens=len(row),
                completion_tokens=n_generated,
                latency_s=elapsed,
                compute_s=elapsed / len(rows),
            )
        )
    return completions
