"""The RAG arm: retrieve chunks of the task's documents, put them in the prompt, answer.

Setup syncs the Chroma index with docs/ (only new or changed documents are embedded); that
time is the arm's setup cost. Per call, retrieval (query embedding + search) is timed apart
from generation and the retrieved document ids are kept, so retrieval is scored too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipwise.errors import ConfigError
from shipwise.locks import exclusive
from shipwise.models.base import Generator
from shipwise.retrieval.index import ChunkIndex, Hit, collection_name, make_client
from shipwise.strategies.base import CONTEXT_PLACES, Rendered, Setup, SetupContext, render_chat
from shipwise.strategies.demos import DemoSelector
from shipwise.tasks.example import Example
from shipwise.tasks.task import Task

DEFAULT_CONTEXT = "Passages from our documents:\n{passages}"
DEFAULT_PASSAGE = "[{doc_id}] {text}"


@dataclass(frozen=True)
class RagPredictor:
    generator: Generator
    system_prompt: str
    index: ChunkIndex
    demos: DemoSelector
    top_k: int
    depth: int
    min_similarity: float | None
    where: Mapping[str, Any] | None
    context_template: str
    passage_template: str
    context_in: str

    def render(self, examples: Sequence[Example]) -> list[Rendered]:
        rendered = []
        for example, demos in zip(examples, self.demos.select(examples), strict=True):
            started = time.perf_counter()
            hits = self.index.search(example.user_text, self.depth, self.min_similarity, self.where)
            retrieval_s = time.perf_counter() - started
            context = self.context(hits[: self.top_k])
            messages = render_chat(
                self.system_prompt, example, demos, context=context, context_in=self.context_in
            )
            extras = {
                "retrieved_docs": _unique(h.doc_id for h in hits),
                "retrieved_chunks": [h.chunk_id for h in hits[: self.top_k]],
                "retrieval_scores": [round(h.score, 4) for h in hits[: self.top_k]],
                "retrieval_s": retrieval_s,
                "demo_ids": [d.id for d in demos],
            }
            rendered.append(Rendered(messages, extras))
        return rendered

    def context(self, hits: Sequence[Hit]) -> str:
        if not hits:
            return ""
        passages = "\n\n".join(
            self.passage_template.format(doc_id=h.doc_id, text=h.text, score=h.score) for h in hits
        )
        return self.context_template.format(passages=passages)


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


class RagStrategy:
    """Retrieval-augmented generation over a Chroma collection of the task's documents."""

    kind = "rag"  # which arm this is, whatever the run calls it

    def __init__(
        self,
        top_k: int = 2,
        depth: int = 10,
        min_similarity: float | None = None,
        where: Mapping[str, Any] | None = None,
        chunk_size: int = 400,
        chunk_overlap: int = 100,
        hybrid: bool = True,
        k: int = 4,
        selection: str = "similar",
        demo_ids: Sequence[str] | None = None,
        context_template: str = DEFAULT_CONTEXT,
        passage_template: str = DEFAULT_PASSAGE,
        context_in: str = "user",
        chroma: Mapping[str, Any] | None = None,
        name: str = "rag",
    ) -> None:
        if top_k < 1:
            raise ConfigError("top_k must be at least 1", where="strategy.top_k")
        if "{passages}" not in context_template:
            raise ConfigError(
                "the context template has no {passages} slot",
                where="strategy.context_template",
                fix="put {passages} where the retrieved text goes",
            )
        if context_in not in CONTEXT_PLACES:
            raise ConfigError(
                f"unknown context place {context_in!r}",
                where="strategy.context_in",
                fix=f"use one of {', '.join(CONTEXT_PLACES)}",
            )
        self.context_in = context_in
        self.top_k, self.min_similarity, self.where = top_k, min_similarity, where
        # Retrieval returns `depth` chunks so recall@1..10 can be scored; `top_k` go in the prompt.
        self.depth = max(depth, top_k)
        self.chunk_size, self.chunk_overlap, self.hybrid = chunk_size, chunk_overlap, hybrid
        self.k, self.selection, self.demo_ids = k, selection, demo_ids
        self.context_template, self.passage_template = context_template, passage_template
        self.chroma = dict(chroma or {})
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def setup(self, task: Task, context: SetupContext) -> Setup:
        if not task.documents:
            raise ConfigError(
                f"task {task.name!r} has no documents to retrieve from",
                where=str(task.root / "docs"),
                fix="add .md/.txt/.jsonl documents to the task's docs/ folder, or use"
                " strategy=prompt",
            )
        embedder = context.embedder
        client = make_client(
            Path(self.chroma["path"]).expanduser()
            if self.chroma.get("path")
            else context.root / "chroma",
            host=self.chroma.get("host"),
            port=int(self.chroma.get("port") or 8000),
        )
        name = collection_name(task.name, embedder, self.chunk_size, self.chunk_overlap)
        spent = getattr(embedder, "spent_usd", 0.0)  # a hosted embedder bills the index build
        # One sync of a collection at a time: a parallel sweep's runs share the store.
        with exclusive(context.root / "locks" / f"index-{name}", "syncing the index"):
            index = ChunkIndex(
                client, name, embedder, self.chunk_size, self.chunk_overlap, self.hybrid
            )
            report = index.sync(task.documents)
        embed_usd = getattr(embedder, "spent_usd", 0.0) - spent
        selector = DemoSelector(
            task.split("train"),
            k=self.k,
            selection=self.selection,
            seed=context.seed,
            embedder=context.cached_embedder()
            if self.selection == "similar" and self.k > 0
            else None,
            demo_ids=self.demo_ids,
        )
        predictor = RagPredictor(
            context.generator,
            task.spec.system_prompt,
            index,
            selector,
            self.top_k,
            self.depth,
            self.min_similarity,
            self.where,
            self.context_template,
            self.passage_template,
            self.context_in,
        )
        params = {"collection": name, "index_fingerprint": report.fingerprint}
        metrics = {**report.as_metrics(), "index.embed_usd": embed_usd}
        return Setup(
            predictor=predictor,
            params=params,
            metrics=metrics,
            cost_usd=embed_usd,
            build_s=report.build_s if report.chunks_embedded < report.chunks_total else None,
        )
