"""Embeddings kept on disk per text, so an unchanged re-run embeds nothing.

The similar-demonstration selector embeds the whole train split and every example it answers
on each run; with the default MiniLM that is most of an unchanged re-run's time (the model must
load too). Vectors are stored per embedder identity (class, name, path and the stat of its
weight files) keyed by a digest of each text: an edited example is embedded again, the rest are
read back. The file is rewritten whole under a lock, so parallel runs merge rather than clobber.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from shipwise.cache import atomic_write_bytes, content_key
from shipwise.locks import exclusive
from shipwise.models.local import weights_fingerprint
from shipwise.retrieval.embedders import Embedder


def embedder_identity(embedder: Embedder) -> str:
    """What decides an embedder's vectors: its kind, name, settings and weight files."""
    path = str(getattr(embedder, "path", ""))
    weights = weights_fingerprint(Path(path).expanduser(), None) if path else ""
    size = getattr(embedder, "dim", None) or getattr(embedder, "dimensions", None)
    return content_key(type(embedder).__name__, embedder.name, path, weights, size)[:24]


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class CachedEmbedder:
    """``embedder`` with a disk cache of its vectors under ``folder``."""

    def __init__(self, embedder: Embedder, folder: Path) -> None:
        self.inner = embedder
        self.path_on_disk = folder / f"{embedder_identity(embedder)}.npz"
        self._vectors: dict[str, np.ndarray] | None = None
        self.hits = self.misses = 0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def spent_usd(self) -> float:
        return self.inner.spent_usd

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        stored = self._load() if self._vectors is None else self._vectors
        keys = [text_key(t) for t in texts]
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in stored}
        self.misses += len(todo)
        self.hits += len(keys) - len(todo)
        if todo:
            fresh = self.inner.embed(list(todo.values()))  # (len(todo), dim)
            stored.update(zip(todo, fresh, strict=True))
            self._save(dict(zip(todo, fresh, strict=True)))
        if not keys:
            return self.inner.embed([])
        return np.stack([stored[k] for k in keys]).astype(np.float32)

    def _load(self) -> dict[str, np.ndarray]:
        self._vectors = _read(self.path_on_disk)
        return self._vectors

    def _save(self, fresh: dict[str, np.ndarray]) -> None:
        with exclusive(self.path_on_disk, "saving embeddings"):
            merged = _read(self.path_on_disk)  # what other runs added meanwhile
            merged.update(fresh)
            keys = np.array(sorted(merged), dtype="U32")
            matrix = np.stack([merged[k] for k in keys]).astype(np.float32)
            buffer = io.BytesIO()
            np.savez(buffer, keys=keys, vectors=matrix)
            atomic_write_bytes(self.path_on_disk, buffer.getvalue())
        assert self._vectors is not None
        self._vectors.update(merged)


def _read(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as data:
            return dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    except (OSError, ValueError, KeyError):
        return {}  # none yet, or unreadable: embed again
