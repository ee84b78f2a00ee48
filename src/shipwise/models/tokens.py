"""Counting a chat example's tokens the way a model sees it: content plus the template's framing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shipwise.models.base import TokenCounting

# OpenAI's chat fine-tuning guide: 3 tokens of framing per message, 3 to prime the reply.
OPENAI_PER_MESSAGE = 3
OPENAI_PER_EXAMPLE = 3
OPENAI_TOKENIZER = "tiktoken:o200k_base"


def hf_counting(tokenizer: Any, name: str, context_window: int | None) -> TokenCounting:
    """A Hugging Face tokenizer's batch encoding, and its chat template's framing measured."""

    def count_batch(texts: list[str]) -> list[int]:
        if not texts:
            return []
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]

    per_message, per_example = 0, 0
    if getattr(tokenizer, "chat_template", None):
        # Empty contents leave only the framing; two more turns give the per-message share.
        def framing(roles: Sequence[str]) -> int:
            messages = [{"role": r, "content": ""} for r in roles]
            text = tokenizer.apply_chat_template(messages, tokenize=False)
            return count_batch([text])[0]

        # Both probes carry a system message, so templates that add a default one when there
        # is none are measured the same way in each.
        three = framing(["system", "user", "assistant"])
        five = framing(["system", "user", "assistant", "user", "assistant"])
        per_message = max(1, (five - three) // 2)
        per_example = max(0, three - 3 * per_message)
    return TokenCounting(name, count_batch, per_message, per_example, context_window)


def hosted_counting(spec: str = OPENAI_TOKENIZER) -> TokenCounting:
    """A hosted model's counting: ``spec`` as the fine-tune cost estimate reads it."""
    from shipwise.finetune.hosted_cost import load_counter

    count, used = load_counter(spec)
    return TokenCounting(
        used,
        lambda texts: [count(t) for t in texts],
        per_message=OPENAI_PER_MESSAGE,
        per_example=OPENAI_PER_EXAMPLE,
    )
