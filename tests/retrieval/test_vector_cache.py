"""Vectors kept on disk per text: an unchanged re-run embeds nothing, an edit embeds one."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shipwise.retrieval.embedders import HashingEmbedder
from shipwise.retrieval.vector_cache import CachedEmbedder, embedder_identity
from tests.retrieval.test_index import CountingEmbedder

TEXTS = ["where is my order", "refund my card", "reset my password", "cancel order 12"]


def test_a_second_run_reads_vectors_back_and_an_edit_embeds_only_itself(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    first = CachedEmbedder(inner, tmp_path).embed(TEXTS)
    assert inner.seen == TEXTS
    np.testing.assert_allclose(first, HashingEmbedder(dim=128, name="counting").embed(TEXTS))

    inner.seen.clear()
    again = CachedEmbedder(inner, tmp_path)  # a new run: only the file is shared
    np.testing.assert_array_equal(again.embed(TEXTS), first)
    assert inner.seen == [] and (again.hits, again.misses) == (4, 0)

    edited = [*TEXTS[:3], "cancel order 13"]
    vectors = again.embed(edited)
    assert inner.seen == ["cancel order 13"] and vectors.shape == (4, 128)
    np.testing.assert_array_equal(vectors[:3], first[:3])


def test_two_runs_writing_the_same_file_merge_and_a_corrupt_file_is_a_miss(
    tmp_path: Path,
) -> None:
    one = CachedEmbedder(CountingEmbedder(), tmp_path)
    two = CachedEmbedder(CountingEmbedder(), tmp_path)
    one._load(), two._load()  # both runs start before either has saved anything
    one.embed(TEXTS[:2])
    two.embed(TEXTS[2:])  # its save merges what the first wrote, rather than clobbering it
    inner = CountingEmbedder()
    CachedEmbedder(inner, tmp_path).embed(TEXTS)
    assert inner.seen == []

    one.path_on_disk.write_bytes(b"not a zip")
    inner = CountingEmbedder()
    CachedEmbedder(inner, tmp_path).embed(TEXTS)
    assert inner.seen == TEXTS


def test_the_identity_separates_embedders_and_settings() -> None:
    assert embedder_identity(HashingEmbedder(dim=64)) != embedder_identity(HashingEmbedder(dim=128))
    assert embedder_identity(HashingEmbedder(name="a")) != embedder_identity(
        HashingEmbedder(name="b")
    )
    assert embedder_identity(HashingEmbedder()) == embedder_identity(HashingEmbedder())
