"""Lexical retrieval: an Okapi BM25 index over inverted postings, and reciprocal rank fusion.

BM25 catches what embeddings blur (order numbers, product codes, exact policy terms); fusing
its ranking with the vector ranking by RRF needs no score calibration between the two.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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
    """Okapi BM25 over documents that can be added, replaced and removed.

    Postings live in dicts, cheap to edit; the first search after an edit freezes them into
    numpy arrays (slots in id order, per-term contributions built on first use), so a term
    found in thousands of documents still costs microseconds rather than a Python loop.
    """

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._postings: dict[str, dict[str, int]] = {}  # term -> id -> term frequency
        self._terms: dict[str, Counter[str]] = {}  # id -> its term frequencies, for removal
        self._lengths: dict[str, int] = {}
        self._total_length = 0
        self._frozen: _Frozen | None = None

    def __len__(self) -> int:
        return len(self._lengths)

    def add(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        """Index ``texts`` under ``ids``; an id already present is replaced."""
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids but {len(texts)} texts")
        for doc_id, text in zip(ids, texts, strict=True):
            self._discard(doc_id)
            counts = Counter(tokenize(text))
            for term, tf in counts.items():
                self._postings.setdefault(term, {})[doc_id] = tf
            self._terms[doc_id] = counts
            self._lengths[doc_id] = length = sum(counts.values())
            self._total_length += length
        self._frozen = None

    def remove(self, ids: Iterable[str]) -> None:
        """Drop ``ids`` from the index; ids it does not hold are ignored."""
        for doc_id in ids:
            self._discard(doc_id)
        self._frozen = None

    def _discard(self, doc_id: str) -> None:
        counts = self._terms.pop(doc_id, None)
        if counts is None:
            return
        for term in counts:
            postings = self._postings[term]
            del postings[doc_id]
            if not postings:
                del self._postings[term]
        self._total_length -= self._lengths.pop(doc_id)

    def search(
        self, query: str, top_k: int, allowed: Callable[[str], bool] | None = None
    ) -> list[tuple[str, float]]:
        """The ``top_k`` best (id, score) pairs with a score above 0, best first, ties by id.

        ``allowed`` keeps only the ids it accepts (how metadata filters reach this index); it
        is asked about candidates best first, until ``top_k`` are accepted.
        """
        if top_k <= 0 or not self._lengths:
            return []
        frozen = self._freeze()
        scores = np.zeros(len(frozen.ids))
        # Sorted unique terms: the float sums, and so the ranking, never depend on query order.
        for term in sorted(set(tokenize(query))):
            if term in self._postings:
                slots, contribution = self._term_arrays(frozen, term)
                scores[slots] += contribution
        return ranked(frozen.ids, scores, top_k, allowed)

    def _freeze(self) -> _Frozen:
        if self._frozen is None:
            ids = sorted(self._lengths)
            lengths = np.array([self._lengths[i] for i in ids], dtype=np.float64)
            average = self._total_length / len(ids) or 1.0  # 0 when every text is stopwords
            norms = self.k1 * (1.0 - self.b + self.b * lengths / average)
            self._frozen = _Frozen(ids, {i: n for n, i in enumerate(ids)}, norms, {})
        return self._frozen

    def _term_arrays(self, frozen: _Frozen, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(slots, idf-weighted BM25 contribution) of the documents holding ``term``."""
        if term not in frozen.terms:
            postings = self._postings[term]
            df = len(postings)
            idf = math.log(1.0 + (len(frozen.ids) - df + 0.5) / (df + 0.5))
            slots = np.fromiter((frozen.slots[i] for i in postings), dtype=np.int64, count=df)
            tf = np.fromiter(postings.values(), dtype=np.float64, count=df)
            contribution = idf * tf * (self.k1 + 1.0) / (tf + frozen.norms[slots])
            frozen.terms[term] = (slots, contribution)
        return frozen.terms[term]


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


class Bm25sIndex:
    """The same index and ranking, scored by the ``bm25s`` library (sparse matrices).

    Lucene's variant, whose scores are ours divided by (k1 + 1): the same ranking. Kept beside
    ``BM25Index`` so ``benchmarks/retrieval.py`` can compare them on the same chunks.
    """

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._tokens: dict[str, list[str]] = {}
        self._ids: list[str] = []
        self._model: Any = None

    def __len__(self) -> int:
        return len(self._tokens)

    def add(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids but {len(texts)} texts")
        self._tokens.update((i, tokenize(t)) for i, t in zip(ids, texts, strict=True))
        self._model = None

    def remove(self, ids: Iterable[str]) -> None:
        for doc_id in ids:
            self._tokens.pop(doc_id, None)
        self._model = None

    def search(
        self, query: str, top_k: int, allowed: Callable[[str], bool] | None = None
    ) -> list[tuple[str, float]]:
        terms = sorted(set(tokenize(query)))
        if top_k <= 0 or not self._tokens or not terms:
            return []
        if self._model is None:
            import bm25s

            self._ids = sorted(self._tokens)
            self._model = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
            # an empty token list marks a document of stopwords only, as it does for BM25Index
            self._model.index([self._tokens[i] for i in self._ids], show_progress=False)
        return ranked(self._ids, np.asarray(self._model.get_scores(terms)), top_k, allowed)


@dataclass
class _Frozen:
    """A read-only view of the index for searching, valid until the next add or remove."""

    ids: list[str]  # slot -> id, sorted
    slots: dict[str, int]
    norms: np.ndarray  # k1 * (1 - b + b * length / avgdl) per slot
    terms: dict[str, tuple[np.ndarray, np.ndarray]]


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
