"""Lexical retrieval: an Okapi BM25 index (scored by ``bm25s``), and reciprocal rank fusion.

BM25 catches what embeddings blur (order numbers, product codes, exact policy terms); fusing
its ranking with the vector ranking by RRF needs no score calibration between the two.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

_TOKEN = re.compile(r"\w+")
# Small on purpose: words such as "not" or "before" can decide an answer, so they stay.
STOPWORDS = frozenset(
    {"a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did"}
    | {"do", "does", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is"}
    | {"it", "its", "me", "my", "of", "on", "or", "our", "so", "than", "that", "the", "their"}
    | {"them", "then", "there", "these", "they", "this", "those", "to", "was", "we", "were"}
    | {"what", "when", "where", "which", "who", "will", "with", "would", "you", "your"}
)


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens without stopwords, single letters, possessives or plural "s"."""
    tokens = []
    # A possessive needs no rule of its own: \w+ splits "customer's" into "customer" and "s",
    # and the lone "s" goes with the other single letters.
    for token in _TOKEN.findall(text.lower()):
        if token in STOPWORDS or (len(token) == 1 and not token.isdigit()):
            continue
        tokens.append(_singular(token))
    return tokens


def _singular(token: str) -> str:
    # Crude on purpose, applied alike to documents and queries: "refunds" meets "refund".
    if len(token) <= 3 or not token.endswith("s") or token.endswith(("ss", "us", "is")):
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"  # "policies" -> "policy"
    return token[:-1]


class BM25Index:
    """Okapi BM25 over documents that can be added, replaced and removed, scored by ``bm25s``.

    Edits touch only a dict of token lists; the first search after them has bm25s build its
    sparse term-document matrix (the RAG index rebuilds this index after each sync anyway).
    bm25s's Lucene variant leaves out the constant factor (k1 + 1), which is put back so the
    scores are classic Okapi BM25; the ranking is the same either way. On SQuAD it ranked all
    1,000 benchmark questions exactly as our former hand-written index did, and faster.
    """

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._tokens: dict[str, list[str]] = {}
        self._ids: list[str] = []  # sorted: bm25s row i is document _ids[i]
        self._model: Any = None

    def __len__(self) -> int:
        return len(self._tokens)

    def add(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        """Index ``texts`` under ``ids``; an id already present is replaced."""
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids but {len(texts)} texts")
        self._tokens.update((i, tokenize(t)) for i, t in zip(ids, texts, strict=True))
        self._model = None

    def remove(self, ids: Iterable[str]) -> None:
        """Drop ``ids`` from the index; ids it does not hold are ignored."""
        for doc_id in ids:
            self._tokens.pop(doc_id, None)
        self._model = None

    def search(
        self, query: str, top_k: int, allowed: Callable[[str], bool] | None = None
    ) -> list[tuple[str, float]]:
        """The ``top_k`` best (id, score) pairs with a score above 0, best first, ties by id.

        ``allowed`` keeps only the ids it accepts (how metadata filters reach this index); it
        is asked about candidates best first, until ``top_k`` are accepted.
        """
        # Sorted unique terms: the float sums, and so the ranking, never depend on query order.
        terms = sorted(set(tokenize(query)))
        if top_k <= 0 or not terms or not any(self._tokens.values()):
            return []
        if self._model is None:
            import bm25s

            # bm25s sets its own logger to DEBUG, which Hydra's console handler then prints
            logging.getLogger("bm25s").setLevel(logging.WARNING)
            self._ids = sorted(self._tokens)
            self._model = bm25s.BM25(k1=self.k1, b=self.b, method="lucene", dtype="float64")
            self._model.index([self._tokens[i] for i in self._ids], show_progress=False)
        scores = np.asarray(self._model.get_scores(terms)) * (self.k1 + 1.0)
        return ranked(self._ids, scores, top_k, allowed)


def ranked(
    ids: Sequence[str], scores: np.ndarray, top_k: int, allowed: Callable[[str], bool] | None
) -> list[tuple[str, float]]:
    """The ``top_k`` best (id, score) pairs with a score above 0, best first, ties by id.

    ``ids`` are sorted and ``scores[i]`` is the score of ``ids[i]``.
    """
    hits = np.flatnonzero(scores > 0.0)
    if allowed is None and len(hits) > top_k:
        # Only the top_k best (and anything tied with the last of them) need sorting.
        cutoff = np.partition(scores[hits], len(hits) - top_k)[len(hits) - top_k]
        hits = hits[scores[hits] >= cutoff]
    # lexsort's last key is the primary one; slots follow id order, so ties go by id.
    order = hits[np.lexsort((hits, -scores[hits]))]
    results: list[tuple[str, float]] = []
    for slot in order.tolist():
        if allowed is None or allowed(ids[slot]):
            results.append((ids[slot], float(scores[slot])))
            if len(results) == top_k:
                break
    return results


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], k: int = 60, top_k: int | None = None
) -> list[tuple[str, float]]:
    """Fuse rankings: score(id) = sum of 1 / (k + rank), rank 1-based; best first, ties by id.

    An id listed twice in one ranking counts once, at its best rank.
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        seen: set[str] = set()
        for rank, doc_id in enumerate(ranking, start=1):
            if doc_id in seen:
                continue
            seen.add(doc_id)
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (k + rank)
    fused = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return fused if top_k is None else fused[: max(top_k, 0)]
