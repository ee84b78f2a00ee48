"""Embedders: texts in, unit-length vectors out (so a dot product is the cosine)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from shipwise.errors import ConfigError
from shipwise.progress import status

if TYPE_CHECKING:
    from openai import OpenAI
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


class OpenAIEmbedder:
    """An OpenAI-compatible embeddings endpoint; counts billed tokens and what they cost."""

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        base_url: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        name: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 256,
        usd_per_1m_tokens: float = 0.02,
        max_retries: int = 3,
        timeout_s: float = 60.0,
    ) -> None:
        self.model, self.base_url, self.api_key_env = model, base_url, api_key_env
        self.dimensions, self.batch_size = dimensions, batch_size
        self.usd_per_1m_tokens = usd_per_1m_tokens
        self.max_retries, self.timeout_s = max_retries, timeout_s
        self._name = name or model
        self.path = f"{base_url or 'https://api.openai.com/v1'}#{model}"  # part of its identity
        self.tokens = 0
        self._client: OpenAI | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def spent_usd(self) -> float:
        return self.tokens * self.usd_per_1m_tokens / 1e6

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import openai

        from shipwise.models.openai_compat import api_key_from_env, explain_api_error

        if self._client is None:
            self._client = openai.OpenAI(
                base_url=self.base_url,
                api_key=api_key_from_env(self.api_key_env, "embedder.api_key_env"),
                max_retries=self.max_retries,
                timeout=self.timeout_s,
            )
        rows: list[list[float]] = []
        extra: dict[str, Any] = {"dimensions": self.dimensions} if self.dimensions else {}
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            try:
                response = self._client.embeddings.create(model=self.model, input=batch, **extra)
            except openai.APIError as exc:
                raise explain_api_error(exc, self.base_url, self.model, self.api_key_env) from None
            self.tokens += response.usage.prompt_tokens if response.usage else 0
            rows.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        vectors = np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)
