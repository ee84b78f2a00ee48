"""A scripted generator for tests and dry runs: no model, deterministic answers.

Answers come from a ``responder`` (a function of the prompt), else from ``replies`` matched by
substring of the last user message, else ``default``. Token counts are words, time is zero.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from shipwise.models.base import (
    Completion,
    GenerationSettings,
    ModelInfo,
    Price,
    ProgressCallback,
    TokenCounting,
    apply_stop,
)
from shipwise.tasks.example import Messages


class FakeGenerator:
    def __init__(
        self,
        default: str = "",
        replies: Mapping[str, str] | None = None,
        responder: Callable[[Messages], str] | None = None,
        name: str = "fake",
        price: Price | Mapping[str, float] | None = None,
    ) -> None:
        self.default = default
        self.replies = dict(replies or {})
        self.responder = responder
        self.calls: list[Messages] = []
        self._info = ModelInfo(name=name, source=f"fake:{name}", price=Price.coerce(price))

    constrains = False

    @property
    def info(self) -> ModelInfo:
        return self._info

    def token_counting(self) -> TokenCounting | None:
        return None  # its "tokens" are words: nothing to validate lengths against

    def reply(self, prompt: Messages) -> str:
        if self.responder is not None:
            return self.responder(prompt)
        last_user = next((m.content for m in reversed(prompt) if m.role == "user"), "")
        for needle, answer in self.replies.items():
            if needle in last_user:
                return answer
        return self.default

    def generate(
        self,
        prompts: Sequence[Messages],
        settings: GenerationSettings,
        on_progress: ProgressCallback | None = None,
    ) -> list[Completion]:
        completions = []
        for prompt in prompts:
            self.calls.append(prompt)
            text = apply_stop(self.reply(prompt), settings.stop)
            words = text.split()[: settings.max_new_tokens]
            completions.append(
                Completion(
                    text=" ".join(words) if len(words) < len(text.split()) else text.strip(),
                    prompt_tokens=sum(len(m.content.split()) for m in prompt),
                    completion_tokens=len(words),
                    latency_s=0.0,
                    compute_s=0.0,
                )
            )
            if on_progress:
                on_progress(1)
        return completions
