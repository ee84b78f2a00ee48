"""Embedders: texts in, unit-length vectors out (so a dot product is the cosine)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from shipwise.errors import ConfigError
from shipwise.progress import status

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


@runtime_checkable
class Embedder(Protocol):
    @property
    def name(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, rows of unit length."""
        ...


class SentenceTransformerEmbedder:
    """Any sentence-transformers model: a local folder (the default MiniLM wheel) or a hub id."""

    def __init__(
        self, path: str, name: str | None = None, device: str = "auto", batch_size: int = 64
    ) -> None:
        self.path = path
        self._name = name or Path(path).name
        self.device = device
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None

    @property
    def name(self) -> str:
        return self._name

    def model(self) -> SentenceTransformer:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            from shipwise.models.local import resolve_device

            with status(f"Loading embedder {self._name}"):
                try:
                    self._model = SentenceTransformer(self.path, device=resolve_device(self.device))
                except OSError as exc:
                    raise ConfigError(
                        f"cannot load embedder {self.path!r}: {exc}",
                        where="embedder.path",
                        fix="use a local folder or a hub id reachable from this machine",
                    ) from None
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


class HashingEmbedder:
    """A deterministic bag-of-words embedder for tests: texts sharing words are similar."""

    def __init__(self, dim: int = 256, name: str = "hashing") -> None:
        self.dim = dim
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest())
                out[row, bucket % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)
