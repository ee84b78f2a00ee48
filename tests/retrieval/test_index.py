"""The Chroma index for real (embedded PersistentClient), with a deterministic embedder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from shipwise.retrieval.embedders import HashingEmbedder
from shipwise.retrieval.index import ChunkIndex, collection_name, make_client
from shipwise.tasks.docs import Document


class CountingEmbedder(HashingEmbedder):
    """Remembers every text it embedded, so a test can see what a sync re-embedded."""

    def __init__(self) -> None:
        super().__init__(dim=128, name="counting")
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        return super().embed(texts)


DOCS = {
    "returns": "Returns are accepted within 30 days of delivery.\n\nKitchen appliances: 45 days.",
    "shipping": "Standard shipping takes 3 to 5 days.\n\nExpress shipping costs 9 dollars.",
    "gift-cards": "Gift cards never expire and can be used online only.",
}


def docs(**texts: str) -> list[Document]:
    return [Document(i, t, f"{i}.md") for i, t in texts.items()]


def index(path: Path, embedder: HashingEmbedder, hybrid: bool = False) -> ChunkIndex:
    client = make_client(path)
    name = collection_name("policies", embedder, 60, 0)
    return ChunkIndex(client, name, embedder, chunk_size=60, chunk_overlap=0, hybrid=hybrid)


def test_sync_embeds_only_new_and_changed_documents(tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    first = index(tmp_path, embedder).sync(docs(**DOCS))
    assert (first.added, first.changed, first.removed, first.untouched) == (3, 0, 0, 0)
    assert first.chunks_embedded == first.chunks_total > 3  # 60-char chunks split the docs

    embedder.seen.clear()
    again = index(tmp_path, embedder).sync(docs(**DOCS))  # a new process, the same store
    assert (again.added, again.changed, again.untouched) == (0, 0, 3)
    assert embedder.seen == [] and again.fingerprint == first.fingerprint

    edited = dict(DOCS, shipping=DOCS["shipping"].replace("9 dollars", "12 dollars"))
    third = index(tmp_path, embedder).sync(docs(**edited))
    assert (third.added, third.changed, third.removed, third.untouched) == (0, 1, 0, 2)
    assert embedder.seen and all(
        text in edited["shipping"] for text in embedder.seen
    )  # only the edited document's chunks
    assert third.chunks_deleted == third.chunks_embedded == 2
    assert third.fingerprint != first.fingerprint

    del edited["gift-cards"]
    fourth = index(tmp_path, embedder).sync(docs(**edited))
    assert (fourth.removed, fourth.chunks_deleted, fourth.chunks_embedded) == (1, 1, 0)
    assert fourth.chunks_total == third.chunks_total - 1


@pytest.mark.parametrize("hybrid", [False, True])
def test_search_finds_the_document_that_answers(tmp_path: Path, hybrid: bool) -> None:
    built = index(tmp_path, CountingEmbedder(), hybrid=hybrid)
    built.sync(docs(**DOCS))
    hits = built.search("how much does express shipping cost", top_k=2)
    assert hits[0].doc_id == "shipping" and "Express" in hits[0].text
    assert len(hits) == 2
    gift = built.search("do gift cards expire", top_k=3, where={"doc_id": "gift-cards"})
    assert {h.doc_id for h in gift} == {"gift-cards"}


def test_dense_hits_carry_current_texts_without_a_sync_in_this_process(tmp_path: Path) -> None:
    index(tmp_path, CountingEmbedder()).sync(docs(**DOCS))
    fresh = index(tmp_path, CountingEmbedder())  # a new process: no chunk text in memory yet
    hits = fresh.search("how much does express shipping cost", top_k=2)
    assert hits[0].doc_id == "shipping" and "9 dollars" in hits[0].text
    timings = fresh.last_timings
    assert timings is not None and timings.embed_s > 0 and timings.dense_s > 0
    assert timings.lexical_s == timings.fusion_s == 0  # dense only

    edited = dict(DOCS, shipping=DOCS["shipping"].replace("9 dollars", "12 dollars"))
    fresh.sync(docs(**edited))  # same chunk ids, new text: what search held must not linger
    hits = fresh.search("how much does express shipping cost", top_k=2)
    assert hits[0].doc_id == "shipping" and "12 dollars" in hits[0].text


def test_min_similarity_drops_weak_dense_hits(tmp_path: Path) -> None:
    built = index(tmp_path, CountingEmbedder())
    built.sync(docs(**DOCS))
    assert built.search("zebra quantum violin", top_k=3, min_similarity=0.3) == []
    assert built.search("gift cards expire", top_k=3, min_similarity=0.3)


def test_each_embedder_gets_its_own_collection() -> None:
    a = collection_name("task", HashingEmbedder(name="a"), 800, 100)
    b = collection_name("task", HashingEmbedder(name="b"), 800, 100)
    c = collection_name("task", HashingEmbedder(name="a"), 400, 100)
    assert len({a, b, c}) == 3 and a.startswith("task-a-")


def test_a_document_left_half_indexed_by_a_killed_sync_is_redone(tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    first = index(tmp_path, embedder).sync(docs(**DOCS))
    assert 0 < first.build_s <= first.embed_s  # embedding only; the sync also writes
    store = index(tmp_path, embedder)
    shipping = store.collection.get(where={"doc_id": "shipping"}, include=[])["ids"]
    assert len(shipping) == 2
    store.collection.delete(ids=shipping[1:])  # as if killed between two upsert batches

    embedder.seen.clear()
    again = index(tmp_path, embedder).sync(docs(**DOCS))
    assert (again.changed, again.untouched, again.chunks_embedded) == (1, 2, 2)
    assert all(text in DOCS["shipping"] for text in embedder.seen)
    assert again.chunks_total == first.chunks_total
    # the recorded build time covers every chunk in the index, not just this sync's
    stored = index(tmp_path, embedder).collection.get(include=["metadatas"])["metadatas"]
    assert stored and all(m["doc_chunks"] >= 1 and m["embed_s"] > 0 for m in stored)
    assert again.build_s == pytest.approx(sum(float(m["embed_s"]) for m in stored))


def test_an_unreachable_chroma_server_fails_in_seconds() -> None:
    import time

    from shipwise.errors import ConfigError

    started = time.monotonic()
    with pytest.raises(ConfigError, match="cannot reach the Chroma server") as err:
        make_client(None, host="127.0.0.1", port=9)
    assert time.monotonic() - started < 6
    assert err.value.where == "strategy.retrieval.chroma.host"
    assert "chroma run" in (err.value.fix or "")
