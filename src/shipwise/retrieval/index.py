"""A Chroma collection of document chunks, kept in sync with a task's docs/ folder.

Chunk ids derive from the document and position, and every chunk carries its document's
content digest, so a sync re-embeds only documents that are new or changed and deletes
the chunks of removed ones. Embeddings come from our embedder (Chroma never embeds), in a
cosine-space collection whose name encodes the task, the embedder and the chunking, so
two embedders never share a collection.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipwise.cache import slug
from shipwise.errors import ConfigError
from shipwise.progress import counting
from shipwise.retrieval.chunking import Chunk, chunk_documents
from shipwise.retrieval.embedders import Embedder
from shipwise.retrieval.lexical import BM25Index, reciprocal_rank_fusion
from shipwise.tasks.docs import Document

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

CHROMA_FIX = (
    "start it (chroma run --path DIR --port PORT), fix strategy.retrieval.chroma.host and .port,"
    " or unset strategy.retrieval.chroma.host for the embedded store"
)
BATCH = 256  # chunks per embed/upsert call: bounded memory, well under Chroma's batch limit


@dataclass(frozen=True)
class SyncReport:
    added: int
    changed: int
    removed: int
    untouched: int
    chunks_embedded: int
    chunks_deleted: int
    chunks_total: int
    embed_s: float  # embedding time of this sync
    build_s: float  # embedding time of every chunk in the index: what a build from nothing takes
    fingerprint: str

    def as_metrics(self) -> dict[str, float]:
        return {
            "index.docs_added": self.added,
            "index.docs_changed": self.changed,
            "index.docs_removed": self.removed,
            "index.docs_untouched": self.untouched,
            "index.chunks_embedded": self.chunks_embedded,
            "index.chunks_deleted": self.chunks_deleted,
            "index.chunks": self.chunks_total,
            "index.embed_s": self.embed_s,
            "index.build_s": self.build_s,
        }


@dataclass(frozen=True)
class SearchTimings:
    """Where one search spent its time, in seconds (the retrieval benchmark reports these)."""

    embed_s: float  # the query vector
    dense_s: float  # the Chroma query, and reading its hits' texts
    lexical_s: float  # BM25 (0 without hybrid search)
    fusion_s: float  # rank fusion and building the hits (0 without hybrid search)


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    doc_id: str
    text: str
    score: float  # fused rank score with hybrid search, else cosine similarity
    similarity: float | None  # cosine similarity, when the dense search found it


def make_client(path: Path | None, host: str | None = None, port: int = 8000) -> ClientAPI:
    """An embedded PersistentClient at ``path``, or an HttpClient when ``host`` is set."""
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if host:
        from shipwise.services import service_answers

        # Seconds, not the client's own retries: a server that is not there fails at once.
        service_answers(host, port, "Chroma server", "strategy.retrieval.chroma.host", CHROMA_FIX)
        try:
            return chromadb.HttpClient(host=host, port=port, settings=settings)
        except Exception as exc:  # chromadb raises plain exceptions for connection failures
            raise ConfigError(
                f"cannot reach the Chroma server at {host}:{port}: {exc}",
                where="strategy.retrieval.chroma.host",
                fix=CHROMA_FIX,
            ) from None
    if path is None:
        raise ConfigError("no Chroma path or host", where="strategy.retrieval.chroma")
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


def collection_name(task: str, embedder: Embedder, chunk_size: int, chunk_overlap: int) -> str:
    """Readable and unique per (task, embedder, chunking); within Chroma's name rules."""
    identity = (
        f"{task}|{embedder.name}|{getattr(embedder, 'path', '')}|{chunk_size}|{chunk_overlap}"
    )
    digest = hashlib.sha256(identity.encode()).hexdigest()[:10]
    return f"{slug(task, 20, 'x')}-{slug(embedder.name, 20, 'x')}-{digest}"


class ChunkIndex:
    """Chunks of a task's documents in Chroma, plus an optional in-memory BM25 twin."""

    def __init__(
        self,
        client: ClientAPI,
        name: str,
        embedder: Embedder,
        chunk_size: int,
        chunk_overlap: int,
        hybrid: bool = False,
    ) -> None:
        self.client, self.name, self.embedder = client, name, embedder
        self.chunk_size, self.chunk_overlap, self.hybrid = chunk_size, chunk_overlap, hybrid
        self.collection: Collection = client.get_or_create_collection(
            name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        self.lexical = BM25Index()
        # chunk id -> (doc id, text): hits need both. A hybrid sync reads them all; a dense hit
        # not yet here is read once. Asking Chroma's query for documents and metadatas instead
        # costs ~4 ms a query, more than the rest of the search without the embedding.
        self._chunks: dict[str, tuple[str, str]] = {}
        self._count = self.collection.count()
        self.last_timings: SearchTimings | None = None

    def sync(self, documents: Sequence[Document]) -> SyncReport:
        """Reconcile the collection with ``documents``; only new or changed ones are embedded."""
        existing = self.collection.get(include=["metadatas"])
        indexed: dict[str, str] = {}
        present: Counter[str] = Counter()
        expected: dict[str, int] = {}
        build_s: dict[str, float] = {}
        for metadata in existing["metadatas"] or []:
            doc_id = str(metadata["doc_id"])
            indexed[doc_id] = str(metadata["doc_digest"])
            present[doc_id] += 1
            expected[doc_id] = int(_number(metadata, "doc_chunks", -1))
            build_s[doc_id] = build_s.get(doc_id, 0.0) + _number(metadata, "embed_s", 0.0)
        # A sync killed between batches leaves a document with some of its chunks: redo it.
        partial = {d for d in indexed if present[d] != expected[d]}
        current = {doc.id: doc.digest for doc in documents}
        changed = [
            d for d in current if d in indexed and (indexed[d] != current[d] or d in partial)
        ]
        removed = [d for d in indexed if d not in current]
        added = [d for d in current if d not in indexed]
        stale = changed + removed
        chunks_deleted = 0
        for start in range(0, len(stale), BATCH):
            batch = stale[start : start + BATCH]
            where: Any = {"doc_id": {"$in": batch}}
            found = self.collection.get(where=where, include=[])
            chunks_deleted += len(found["ids"])
            if found["ids"]:
                self.collection.delete(ids=found["ids"])
        todo = set(added + changed)
        fresh = chunk_documents(
            [d for d in documents if d.id in todo], self.chunk_size, self.chunk_overlap
        )
        started = time.perf_counter()
        totals = Counter(c.doc_id for c in fresh)
        build_s.update(dict.fromkeys(todo, 0.0))  # re-embedded: their old times no longer count
        if fresh:
            # A first build over thousands of documents takes minutes: say so, then show the rate.
            print(
                f"index {self.name}: embedding {len(fresh):,} chunks of {len(todo):,} documents"
                f" ({len(current) - len(todo):,} unchanged)",
                file=sys.stderr,
                flush=True,
            )
        embedded: set[str] = set()
        with counting(f"index {self.name}", len(fresh)) as advance:
            for start in range(0, len(fresh), BATCH):
                group = fresh[start : start + BATCH]
                each = self._upsert(group, totals)
                for chunk in group:
                    build_s[chunk.doc_id] += each
                    embedded.add(chunk.doc_id)
                elapsed = max(time.perf_counter() - started, 1e-9)
                rate = f"{(start + len(group)) / elapsed:.1f} chunks/s"
                advance(len(group), f"{rate}, {len(embedded) / elapsed:.1f} documents/s")
        embed_s = time.perf_counter() - started
        self._load_lexical()
        self._count = self.collection.count()
        return SyncReport(
            added=len(added),
            changed=len(changed),
            removed=len(removed),
            untouched=len(current) - len(added) - len(changed),
            chunks_embedded=len(fresh),
            chunks_deleted=chunks_deleted,
            chunks_total=self._count,
            embed_s=embed_s,
            build_s=sum(build_s.get(d, 0.0) for d in current),
            fingerprint=self._fingerprint(current),
        )

    def _upsert(self, chunks: Sequence[Chunk], totals: Mapping[str, int]) -> float:
        """Embed and store ``chunks``; returns the embedding seconds per chunk."""
        started = time.perf_counter()
        vectors = self.embedder.embed([c.text for c in chunks])  # (len(chunks), dim)
        each = (time.perf_counter() - started) / max(1, len(chunks))
        self.collection.upsert(
            ids=[c.id for c in chunks],
            embeddings=vectors,
            documents=[c.text for c in chunks],
            metadatas=[
                {**_metadata(c), "doc_chunks": totals[c.doc_id], "embed_s": each} for c in chunks
            ],
        )
        return each

    def _load_lexical(self) -> None:
        self.lexical = BM25Index()
        self._chunks = {}
        if not self.hybrid:
            return
        everything = self.collection.get(include=["documents", "metadatas"])
        texts = [str(t) for t in everything["documents"] or []]
        self.lexical.add(everything["ids"], texts)
        for chunk_id, text, metadata in zip(
            everything["ids"], texts, everything["metadatas"] or [], strict=True
        ):
            self._chunks[chunk_id] = (str(metadata["doc_id"]), text)

    def _fingerprint(self, digests: Mapping[str, str]) -> str:
        payload = repr((self.name, sorted(digests.items())))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def search(
        self,
        query: str,
        top_k: int,
        min_similarity: float | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        """The ``top_k`` chunks for ``query``: dense cosine search, fused with BM25 if hybrid."""
        if self._count == 0:
            return []
        wanted = max(top_k * 4, 20) if self.hybrid else top_k
        started = time.perf_counter()
        vector = self.embedder.embed([query])
        embedded = time.perf_counter()
        found = self.collection.query(
            query_embeddings=vector,
            n_results=min(wanted, self._count),
            where=dict(where) if where else None,
            include=["distances"],
        )
        ids = found["ids"][0]
        self._remember(ids)
        dense: dict[str, Hit] = {}
        for chunk_id, distance in zip(ids, (found["distances"] or [[]])[0], strict=True):
            similarity = 1.0 - float(distance)  # cosine space: distance = 1 - cosine
            if min_similarity is None or similarity >= min_similarity:
                doc_id, text = self._chunks[chunk_id]
                dense[chunk_id] = Hit(chunk_id, doc_id, text, similarity, similarity)
        searched = time.perf_counter()
        if not self.hybrid:
            self.last_timings = SearchTimings(embedded - started, searched - embedded, 0.0, 0.0)
            return list(dense.values())[:top_k]
        allowed = _matcher(where, self) if where else None
        lexical = [cid for cid, _ in self.lexical.search(query, wanted, allowed)]
        matched = time.perf_counter()
        fused = reciprocal_rank_fusion([list(dense), lexical], top_k=top_k)
        hits = []
        for chunk_id, score in fused:
            known = dense.get(chunk_id)
            if known is not None:
                hits.append(Hit(chunk_id, known.doc_id, known.text, score, known.similarity))
            else:
                doc_id, text = self._chunks[chunk_id]
                hits.append(Hit(chunk_id, doc_id, text, score, None))
        self.last_timings = SearchTimings(
            embedded - started,
            searched - embedded,
            matched - searched,
            time.perf_counter() - matched,
        )
        return hits

    def _remember(self, ids: Sequence[str]) -> None:
        """Read the doc ids and texts of the chunks in ``ids`` not yet held in memory."""
        missing = [chunk_id for chunk_id in ids if chunk_id not in self._chunks]
        if not missing:
            return
        found = self.collection.get(ids=missing, include=["documents", "metadatas"])
        for chunk_id, text, metadata in zip(
            found["ids"], found["documents"] or [], found["metadatas"] or [], strict=True
        ):
            self._chunks[chunk_id] = (str(metadata["doc_id"]), str(text))


def _metadata(chunk: Chunk) -> dict[str, str | int | float | bool]:
    # Chroma metadata holds scalars only; document metadata of other types is left out.
    scalars = {k: v for k, v in chunk.metadata.items() if isinstance(v, str | int | float | bool)}
    return {
        **scalars,
        "doc_id": chunk.doc_id,
        "doc_digest": chunk.doc_digest,
        "position": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
    }


def _number(metadata: Mapping[str, Any], key: str, default: float) -> float:
    # Indexes built before a key existed lack it: -1 chunks reads as "redo this document".
    value = metadata.get(key, default)
    return float(value) if isinstance(value, int | float) else default


def _matcher(where: Mapping[str, Any], index: ChunkIndex) -> Any:
    """The lexical side of a metadata filter: the chunk ids Chroma says match it."""
    ids = set(index.collection.get(where=dict(where), include=[])["ids"])
    return ids.__contains__
