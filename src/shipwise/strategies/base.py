"""The Strategy seam: what an arm is, and its setup (measured and costed apart) -> a Predictor.

A Strategy says everything the runner, the change planner and the decision need to know about
it through ``info`` (an :class:`ArmInfo`, from the arm's config); nothing outside an arm's own
module reads its name. A Predictor only decides what each example's prompt is and which
generator answers it; the runner generates, caches, scores and logs the same way for every arm.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from shipwise.errors import ConfigError
from shipwise.evaluation.evaluator import ScoringContext
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


@dataclass(frozen=True)
class Billing:
    """What a hosted fine-tune would bill: its tokenizer spec, epochs and price."""

    model: str
    tokenizer: str  # a hosted_cost tokenizer spec: tiktoken:<enc>, hf:<path> or approx
    n_epochs: int | str  # an int or "auto"
    usd_per_1m_tokens: float
    max_tokens_per_example: int


@dataclass(frozen=True)
class TrainingLimits:
    """What a tuned arm's training data must fit, for data validation before any spend.

    ``max_tokens``: examples longer than this are cut in training. ``billing``: the hosted
    job's tokenizer spec, epochs and price, when a provider bills the training tokens.
    """

    max_tokens: int | None = None
    billing: Billing | None = None


@dataclass(frozen=True)
class ArmInfo:
    """What an arm is and what its setup builds from which inputs, as its config declares it.

    - ``kind``: the family (prompt, rag, finetune, ...), whatever the run calls the arm.
    - ``simplicity``: its place in the simplicity order (lower is simpler); the decision breaks
      ties in quality and cost towards the simpler arm.
    - ``shippable``: False for a floor the other arms are measured against (never shipped).
    - ``index``: setup syncs a retrieval index over the task's documents.
    - ``demos``: each prompt carries demonstrations drawn from the train split.
    - ``learns``: what setup learns from train and val ("the adapter", "the classifier"), or
      None; a change to either, or to any setting, redoes it and every answer.
    - ``general``: a language model that answers general questions, so the regression split
      (the forgetting check) applies.
    - ``training``: limits of its training data, for validation (None when it does not train).
    """

    kind: str
    simplicity: int
    shippable: bool = True
    index: bool = False
    demos: bool = False
    learns: str | None = None
    general: bool = True
    training: TrainingLimits | None = None


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
    scoring: ScoringContext | None = None  # what free-text metrics need (embedder, judge)
    log_metrics: Callable[[Mapping[str, float], int], None] = _ignore
    log_artifacts: Callable[[Path, str], None] = _ignore
    _embedder: Embedder | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self.embedder_factory()
        return self._embedder

    def cached_embedder(self) -> Embedder:
        """The embedder with its vectors kept on disk per text (demonstrations, neighbours)."""
        from shipwise.retrieval.vector_cache import CachedEmbedder

        return CachedEmbedder(self.embedder, self.root / "embeddings")


@dataclass(frozen=True)
class Setup:
    """A ready predictor plus what its setup did (logged as params and metrics of the run).

    ``cost_usd`` is money the setup spent beyond local compute time (a hosted job, a hosted
    embedder); the runner adds compute time at the model's hourly price. ``build_s`` is the
    compute a setup from nothing takes, when this one reused a cache (a synced index, a saved
    adapter): a refresh pays that, so the setup is costed at it rather than at the reuse.
    ``baseline`` is the model the arm started from when it changed it (a fine-tune): the
    regression split goes to it too, for the forgetting check.
    """

    predictor: Predictor
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    cost_usd: float = 0.0
    build_s: float | None = None
    baseline: Generator | None = None


@runtime_checkable
class Strategy(Protocol):
    """An arm of the study: one module and one YAML, chosen by ``_target_``."""

    @property
    def name(self) -> str: ...

    @property
    def info(self) -> ArmInfo: ...

    def not_applicable(self, task: Task) -> str | None:
        """Why this arm cannot run on ``task`` (one line), or None when it can."""
        ...

    def setup(self, task: Task, context: SetupContext) -> Setup: ...


CONTEXT_PLACES = ("user", "system")


def check_arm(name: str, kind: str, simplicity: int) -> None:
    """The identity every arm's config gives, checked the same way for every arm."""
    if not str(name).strip():
        raise ConfigError("the arm has no name", where="strategy.name")
    if not str(kind).strip():
        raise ConfigError("the arm has no kind", where="strategy.kind")
    if not isinstance(simplicity, int) or isinstance(simplicity, bool) or simplicity < 0:
        raise ConfigError(
            f"simplicity must be a whole number >= 0, got {simplicity!r}",
            where="strategy.simplicity",
            fix="lower is simpler: ties in quality and cost go to the simplest arm",
        )


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
