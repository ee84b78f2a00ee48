"""The parts an arm is composed of, and the one renderer that puts them in a prompt.

- :class:`Demos`: few-shot demonstrations from the train split (fixed, seeded random, or the
  most similar to each input).
- :class:`Retrieval`: chunks of the task's documents from a Chroma collection kept in sync with
  ``docs/`` (only new or changed documents are embedded), put just before the question.
- :class:`Renderer`: the task's instruction (or an empty system message), the demonstrations,
  the retrieved passages and the example's own turns. Training rows and inference prompts go
  through the same renderer, so a tuned arm learns exactly what it is asked.

Each part is a frozen dataclass whose field defaults are the only defaults: the Hydra nodes
``strategy/demos`` and ``strategy/retrieval`` are built from them (``shipwise.config``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipwise.errors import ConfigError
from shipwise.locks import exclusive
from shipwise.retrieval.index import ChunkIndex, Hit, collection_name, make_client
from shipwise.strategies.base import CONTEXT_PLACES, Rendered, SetupContext, render_chat
from shipwise.strategies.demos import SELECTIONS, DemoSelector
from shipwise.tasks.example import Example
from shipwise.tasks.task import Task


@dataclass(frozen=True)
class Demos:
    """``k`` demonstrations per prompt, drawn from the train split only."""

    k: int = 4
    # fixed (the first k train examples, or demo_ids), random (k drawn once with the seed),
    # similar (the k train examples nearest each input, by the embedder)
    selection: str = "similar"
    demo_ids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.k < 0:
            raise ConfigError("k cannot be negative", where="strategy.demos.k")
        if self.selection not in SELECTIONS:
            raise ConfigError(
                f"unknown demo selection {self.selection!r}",
                where="strategy.demos.selection",
                fix=f"use one of {', '.join(SELECTIONS)}",
            )
        if self.demo_ids is not None:
            object.__setattr__(self, "demo_ids", tuple(self.demo_ids))

    def build(self, task: Task, context: SetupContext) -> DemoSelector:
        similar = self.selection == "similar" and self.k > 0
        return DemoSelector(
            task.split("train"),
            k=self.k,
            selection=self.selection,
            seed=context.seed,
            embedder=context.cached_embedder() if similar else None,
            demo_ids=self.demo_ids,
        )


DEFAULT_CONTEXT = "Passages from our documents:\n{passages}"
DEFAULT_PASSAGE = "[{doc_id}] {text}"
PASSAGES = "passages"  # extras key: the text of the chunks put in the prompt


@dataclass(frozen=True)
class Built:
    """What building a part did: logged with the run, costed as the arm's setup."""

    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    cost_usd: float = 0.0
    build_s: float | None = None  # compute a build from nothing takes, when a cache was reused


@dataclass(frozen=True)
class Retrieval:
    """Retrieve ``depth`` chunks per question (scored as recall@k); ``top_k`` go in the prompt."""

    top_k: int = 2  # chunks put in the prompt (2 of 400 characters: best on policy_qa val)
    depth: int = 10  # chunks retrieved (recall@1..10 are scored over these)
    min_similarity: float | None = None  # drop dense hits below this cosine similarity
    where: Mapping[str, Any] | None = None  # Chroma metadata filter, e.g. {title: Returns}
    chunk_size: int = 400  # characters; split on paragraphs, then sentences, then words
    chunk_overlap: int = 100
    hybrid: bool = True  # fuse dense (embedder) and BM25 rankings by reciprocal rank fusion
    context_template: str = DEFAULT_CONTEXT
    passage_template: str = DEFAULT_PASSAGE
    context_in: str = "user"  # passages just before the question (user), or in the system
    # path null = <paths.cache>/chroma (an embedded PersistentClient); host = a Chroma server
    chroma: Mapping[str, Any] = field(
        default_factory=lambda: {"path": None, "host": None, "port": 8000}
    )

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise ConfigError("top_k must be at least 1", where="strategy.retrieval.top_k")
        if self.depth < self.top_k:
            raise ConfigError(
                f"depth {self.depth} retrieves fewer chunks than the {self.top_k} the prompt"
                " takes (top_k)",
                where="strategy.retrieval.depth",
                fix=f"set strategy.retrieval.depth to at least {self.top_k}",
            )
        if "{passages}" not in self.context_template:
            raise ConfigError(
                "the context template has no {passages} slot",
                where="strategy.retrieval.context_template",
                fix="put {passages} where the retrieved text goes",
            )
        if self.context_in not in CONTEXT_PLACES:
            raise ConfigError(
                f"unknown context place {self.context_in!r}",
                where="strategy.retrieval.context_in",
                fix=f"use one of {', '.join(CONTEXT_PLACES)}",
            )

    def build(self, task: Task, context: SetupContext) -> tuple[Retriever, Built]:
        """The collection synced with ``docs/``: only new or changed documents are embedded."""
        if not task.documents:
            raise ConfigError(
                f"task {task.name!r} has no documents to retrieve from",
                where=str(task.root / "docs"),
                fix="add .md/.txt/.jsonl documents to the task's docs/ folder, or choose an"
                " arm without retrieval",
            )
        embedder = context.embedder
        chroma = dict(self.chroma)
        path = Path(chroma["path"]).expanduser() if chroma.get("path") else context.root / "chroma"
        client = make_client(path, host=chroma.get("host"), port=int(chroma.get("port") or 8000))
        name = collection_name(task.name, embedder, self.chunk_size, self.chunk_overlap)
        spent = embedder.spent_usd  # a hosted embedder bills the index build
        # One sync of a collection at a time: a parallel sweep's runs share the store.
        with exclusive(context.root / "locks" / f"index-{name}", "syncing the index"):
            index = ChunkIndex(
                client, name, embedder, self.chunk_size, self.chunk_overlap, self.hybrid
            )
            report = index.sync(task.documents)
        embed_usd = embedder.spent_usd - spent
        built = Built(
            params={"collection": name, "index_fingerprint": report.fingerprint},
            metrics={**report.as_metrics(), "index.embed_usd": embed_usd},
            cost_usd=embed_usd,
            build_s=report.build_s if report.chunks_embedded < report.chunks_total else None,
        )
        return Retriever(self, index), built


@dataclass(frozen=True)
class Retriever:
    """A synced index and the settings that turn its hits into a prompt's context."""

    settings: Retrieval
    index: ChunkIndex

    def search(self, text: str) -> tuple[list[Hit], float]:
        """The ``depth`` best chunks for ``text`` and the seconds the search took."""
        s = self.settings
        started = time.perf_counter()
        hits = self.index.search(text, s.depth, s.min_similarity, s.where)
        return hits, time.perf_counter() - started

    def context(self, hits: Sequence[Hit]) -> str:
        if not hits:
            return ""
        s = self.settings
        passages = "\n\n".join(
            s.passage_template.format(doc_id=h.doc_id, text=h.text, score=h.score) for h in hits
        )
        return s.context_template.format(passages=passages)


@dataclass(frozen=True)
class Renderer:
    """Every prompt of an arm: instruction, demonstrations, passages, then the example.

    ``system_prompt`` is the task's instruction, or "" for an arm asked without it; then an
    empty system message is sent (``empty_system``), so chat templates that insert a default
    system prompt when there is none do not.
    """

    system_prompt: str
    empty_system: bool
    demos: DemoSelector | None = None
    retriever: Retriever | None = None

    def render(self, examples: Sequence[Example]) -> list[Rendered]:
        chosen = self.demos.select(examples) if self.demos else [[] for _ in examples]
        rendered = []
        for example, demos in zip(examples, chosen, strict=True):
            extras: dict[str, Any] = {}
            context = None
            if self.retriever is not None:
                hits, seconds = self.retriever.search(example.user_text)
                top = hits[: self.retriever.settings.top_k]
                context = self.retriever.context(top)
                extras = {
                    "retrieved_docs": list(dict.fromkeys(h.doc_id for h in hits)),
                    "retrieved_chunks": [h.chunk_id for h in top],
                    "retrieval_scores": [round(h.score, 4) for h in top],
                    "retrieval_s": seconds,
                    # what the prompt carries, for the example's trace (not the table)
                    PASSAGES: [{"doc_id": h.doc_id, "text": h.text} for h in top],
                }
            if self.demos is not None:
                extras["demo_ids"] = [d.id for d in demos]
            place = self.retriever.settings.context_in if self.retriever else "user"
            messages = render_chat(
                self.system_prompt, example, demos, context, place, self.empty_system
            )
            rendered.append(Rendered(messages, extras))
        return rendered
