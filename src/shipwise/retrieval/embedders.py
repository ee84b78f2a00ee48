"""Embedders: texts in, unit-length vectors out (so a dot product is the cosine)."""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from shipwise.errors import ConfigError
from shipwise.progress import status

if TYPE_CHECKING:
    from openai import OpenAI
    from sentence_transformers import SentenceTransformer

    from shipwise.retrieval.onnx_encoder import OnnxQueryEncoder

log = logging.getLogger(__name__)
QUERY_BACKENDS = ("onnx", "torch")


@runtime_checkable
class Embedder(Protocol):
    """Texts to unit vectors. ``spent_usd``: what its calls have been billed so far."""

    @property
    def name(self) -> str: ...

    @property
    def spent_usd(self) -> float: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, rows of unit length."""
        ...


class SentenceTransformerEmbedder:
    """Any sentence-transformers model: a local folder (the default MiniLM wheel) or a hub id.

    Batches (the index build) go through sentence-transformers in torch. A single text (a
    query) goes through ``query_backend``: ``onnx`` runs an export of the model in
    onnxruntime, about twice as fast on a CPU, made once under ``cache_dir``; when the export
    cannot be made, a logged note says why and queries use torch. ``torch`` skips the export.
    """

    def __init__(
        self,
        path: str,
        name: str | None = None,
        device: str = "auto",
        batch_size: int = 64,
        query_backend: str = "onnx",
        query_threads: int = 2,
        cache_dir: str | None = None,
    ) -> None:
        if query_backend not in QUERY_BACKENDS:
            raise ConfigError(
                f"unknown query backend {query_backend!r}",
                where="embedder.query_backend",
                fix=f"use one of {', '.join(QUERY_BACKENDS)}",
            )
        if query_threads < 1:
            raise ConfigError("query_threads must be at least 1", where="embedder.query_threads")
        self.path = path
        self._name = name or Path(path).name
        self.device = device
        self.batch_size = batch_size
        self.query_backend = query_backend
        self.query_threads = query_threads
        self.cache_dir = (
            Path(cache_dir).expanduser() if cache_dir else Path(tempfile.gettempdir()) / "shipwise"
        )
        self._model: SentenceTransformer | None = None
        self._query: OnnxQueryEncoder | None = None
        self._query_tried = False

    @property
    def name(self) -> str:
        return self._name

    spent_usd = 0.0  # local compute: costed by time, not billed

    def model(self) -> SentenceTransformer:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            from shipwise.models.local import resolve_device

            # its INFO line repeats the status line below, through Hydra's console handler
            logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
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

    @property
    def query_backend_in_use(self) -> str:
        """``onnx`` or ``torch``: what single texts run through (set up on first use)."""
        return "onnx" if self.query_encoder() is not None else "torch"

    def query_encoder(self) -> OnnxQueryEncoder | None:
        """The onnxruntime encoder for single texts, exported on first use; None means torch."""
        if self.query_backend == "onnx" and not self._query_tried:
            self._query_tried = True
            from shipwise.retrieval.onnx_encoder import OnnxQueryEncoder, export, export_folder

            folder = export_folder(self.cache_dir, self._name, self.path)
            try:
                if not (folder / "model.onnx").is_file():
                    model = self.model()  # outside the status below: spinners do not nest
                    with status(f"Exporting embedder {self._name} to ONNX (once, to {folder})"):
                        export(model, folder)
                self._query = OnnxQueryEncoder(folder, threads=self.query_threads)
            except Exception as exc:  # any failure to export or load means: stay on torch
                log.warning(
                    "embedder.query_backend=onnx: cannot use an ONNX export of %s (%s: %s);"
                    " queries run in torch instead (embedder.query_backend=torch skips this)",
                    self._name,
                    type(exc).__name__,
                    exc,
                )
        return self._query

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 1 and (query := self.query_encoder()) is not None:
            return query.embed(texts)
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

    spent_usd = 0.0

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
        from shipwise.models.openai_compat import check_client_settings

        check_client_settings("embedder", max_retries=max_retries, timeout_s=timeout_s)
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
