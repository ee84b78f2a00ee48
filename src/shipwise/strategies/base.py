"""The Strategy seam: setup (index build, training: measured and costed apart) -> a Predictor.

A Predictor only decides what each example's prompt is and which generator answers it; the
runner does generation, caching, scoring and logging the same way for every arm.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from shipwise.models.base import GenerationSettings, Generator
from shipwise.retrieval.embedders import Embedder
from shipwise.tasks.example import Example, Message, Messages
from shipwise.tasks.task import Task


@dataclass(frozen=True)
class Rendered:
    """The prompt sent for one example and what a reader should see beside its answer."""

    messages: Messages
    extras: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Predictor(Protocol):
    @property
    def generator(self) -> Generator: ...

    def render(self, examples: Sequence[Example]) -> list[Rendered]: ...


def _ignore(*args: Any) -> None:
    return None


@dataclass
class SetupContext:
    """What a strategy may use during setup; the embedder is built only if asked for.

    ``settings`` are the run's decoding settings (a fine-tune checks val answers with them);
    ``log_metrics(metrics, step)`` and ``log_artifacts(folder, path)`` reach the run's tracking.
    """

    generator: Generator
    embedder_factory: Callable[[], Embedder]
    root: Path
    seed: int
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    log_metrics: Callable[[Mapping[str, float], int], None] = _ignore
    log_artifacts: Callable[[Path, str], None] = _ignore
    _embedder: Embedder | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self.embedder_factory()
        return self._embedder

    def cached_embedder(self) -> Embedder:
        """The embedder with its vectors kept on disk per text (demonstration selection)."""
        from shipwise.retrieval.vector_cache import CachedEmbedder

        return CachedEmbedder(self.embedder, self.root / "embeddings")


@dataclass(frozen=True)
class Setup:
    """A ready predictor plus what its setup did (logged as params and metrics of the run).

    ``cost_usd`` is money the setup spent beyond local compute time (a hosted job, a hosted
    embedder); the runner adds compute time at the model's hourly price. ``build_s`` is the
    compute a setup from nothing takes, when this one reused a cache (a synced index, a saved
    adapter): a refresh pays that, so the setup is costed at it rather than at the reuse.
    """

    predictor: Predictor
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    cost_usd: float = 0.0
    build_s: float | None = None


@runtime_checkable
class Strategy(Protocol):
    @property
    def name(self) -> str: ...

    def setup(self, task: Task, context: SetupContext) -> Setup: ...


CONTEXT_PLACES = ("user", "system")


def render_chat(
    system_prompt: str,
    example: Example,
    demos: Sequence[Example] = (),
    context: str | None = None,
    context_in: str = "user",
    empty_system: bool = False,
) -> Messages:
    """System prompt, demonstrations as past turns, then the example's own turns.

    A record that carries its own system message keeps it (the task's prompt is not added).
    ``context`` (retrieved passages) goes just ahead of the question in the last user turn
    (``context_in="user"``: small models use passages they read next to the question), or
    into the system message. ``empty_system`` sends an empty system message rather than none,
    for chat templates that put a default system prompt in when there is none.
    """
    own_system = [m for m in example.prompt if m.role == "system"]
    system = own_system[0].content if own_system else system_prompt
    if context and context_in == "system":
        system = f"{system}\n\n{context}" if system else context
    messages: list[Message] = [Message("system", system)] if system or empty_system else []
    for demo in demos:
        messages.extend(m for m in demo.prompt if m.role != "system")
        messages.append(Message("assistant", demo.reference))
    turns = [m for m in example.prompt if m.role != "system"]
    if context and context_in == "user":
        last = max(i for i, m in enumerate(turns) if m.role == "user")
        turns[last] = Message("user", f"{context}\n\nQuestion: {turns[last].content}")
    messages.extend(turns)
    return tuple(messages)


@dataclass(frozen=True)
class PlainPredictor:
    """The example's own messages, as written: how general-capability checks are asked."""

    generator: Generator

    def render(self, examples: Sequence[Example]) -> list[Rendered]:
        return [Rendered(render_chat("", e)) for e in examples]
