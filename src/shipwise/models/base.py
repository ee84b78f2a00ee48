"""The Generator protocol and the values that cross it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from shipwise.errors import ConfigError
from shipwise.tasks.example import Messages

ProgressCallback = Callable[[int], None]
"""Called with the number of prompts just finished."""


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding settings; temperature 0 means greedy.

    ``allowed``, when given, is every answer the model may produce (constrained decoding).
    """

    max_new_tokens: int = 32
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int = 0
    allowed: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ConfigError("max_new_tokens must be at least 1", where="max_new_tokens")
        if self.temperature < 0:
            raise ConfigError("temperature cannot be negative", where="generation.temperature")


@dataclass(frozen=True)
class Completion:
    """One generated answer.

    ``latency_s`` is the wall time of the call that produced it (for a batch: the whole batch,
    which is what a caller waits); ``compute_s`` is this prompt's share of that time, which is
    what local compute costs.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    compute_s: float


@dataclass(frozen=True)
class Price:
    """What one call costs: token prices for hosted models, compute time for local ones."""

    usd_per_1m_input: float = 0.0
    usd_per_1m_output: float = 0.0
    usd_per_hour: float = 0.0

    def __post_init__(self) -> None:
        if min(self.usd_per_1m_input, self.usd_per_1m_output, self.usd_per_hour) < 0:
            raise ConfigError("prices cannot be negative", where="model.price")

    @classmethod
    def coerce(cls, value: Price | Mapping[str, float] | None) -> Price:
        """A Price from config (a mapping of its fields), or as given."""
        return value if isinstance(value, Price) else cls(**(value or {}))

    def call_usd(self, completion: Completion) -> float:
        return (
            completion.prompt_tokens * self.usd_per_1m_input / 1e6
            + completion.completion_tokens * self.usd_per_1m_output / 1e6
            + completion.compute_s * self.usd_per_hour / 3600.0
        )


@dataclass(frozen=True)
class ModelInfo:
    """What identifies the model in a run: its name, where it came from, its price."""

    name: str
    source: str
    price: Price = field(default_factory=Price)
    fingerprint: str = ""
    """What identifies the weights (file stats, adapter hash); cached predictions key on it."""

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", self.source)


CountBatch = Callable[[list[str]], list[int]]
"""Token counts of a batch of texts (no special tokens)."""


@dataclass(frozen=True)
class TokenCounting:
    """How a model counts the tokens of a chat example (data validation's statistics).

    An example's count is the sum of its messages' content tokens, plus ``per_message`` for
    each message and ``per_example`` once: the chat template's fixed framing.
    """

    name: str
    count_batch: CountBatch
    per_message: int = 0
    per_example: int = 0
    context_window: int | None = None


@runtime_checkable
class Generator(Protocol):
    """Turns chat prompts into completions. Implementations batch or parallelise as they can.

    ``constrains``: whether decoding can be restricted to a list of allowed answers.
    ``token_counting()``: the model's own token counting, or None when it has none (a fake).
    """

    @property
    def info(self) -> ModelInfo: ...

    @property
    def constrains(self) -> bool: ...

    def token_counting(self) -> TokenCounting | None: ...

    def generate(
        self,
        prompts: Sequence[Messages],
        settings: GenerationSettings,
        on_progress: ProgressCallback | None = None,
    ) -> list[Completion]: ...


def apply_stop(text: str, stop: Sequence[str]) -> str:
    """Cut ``text`` at the first stop sequence, as servers do."""
    cut = len(text)
    for sequence in stop:
        index = text.find(sequence)
        if sequence and index != -1:
            cut = min(cut, index)
    return text[:cut]
