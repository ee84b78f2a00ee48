"""Text fingerprints for duplicate and leakage checks, computed a batch at a time in numpy.

Texts are normalized (lower case; punctuation, whitespace and control characters folded into
single spaces), split into words, and summarized per text as:

- ``key``: a 64-bit hash of the normalized word sequence (equal keys = same text up to case,
  spacing and punctuation);
- ``minhash``: :data:`HASHES` MinHash values over the set of word unigrams and bigrams, whose
  fraction of equal positions estimates the Jaccard similarity of two texts' sets;
- ``bands``: :data:`BANDS` locality-sensitive keys, each hashing :data:`ROWS` MinHash values, so
  similar texts share at least one band key and candidates are found by sorting, not by
  comparing every pair.

That is 8 + 4*32 + 8*8 + 1 = 201 bytes per text, whatever its length; texts are never kept.
Hashing is pure arithmetic on the UTF-8 bytes (no Python ``hash``), so results are the same
in every run.

Near-duplicate threshold: an estimated Jaccard similarity of the unigram+bigram sets of at
least :data:`NEAR` (0.8). One word changed in a 20-word input leaves ~0.86 of the set shared;
one in a 40-word input ~0.93; two unrelated inputs on the same topic share well under 0.3. With
8 bands of 4 rows a pair at 0.8 becomes a candidate with probability 0.985 (0.9998 at 0.9),
one at 0.3 with probability 0.06, and every candidate is checked against the threshold.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

HASHES = 32  # MinHash values per text
BANDS, ROWS = 8, 4  # BANDS * ROWS == HASHES
NEAR = 0.8  # estimated Jaccard similarity at or above which two inputs are near-duplicates

_RECORD_SEP = 0x1E  # joins the texts of a batch; normalization maps it to a space inside texts
_SPACE = 0x20
_FOLD = bytes(string.punctuation + string.whitespace, "ascii") + bytes(range(0x20)) + b"\x7f"
_UPPER = bytes(string.ascii_uppercase, "ascii")
# ASCII: letters to lower case, punctuation, whitespace and control characters to spaces.
_TABLE = bytes.maketrans(_FOLD + _UPPER, b" " * len(_FOLD) + _UPPER.lower())
_BATCH_TABLE = _TABLE[:_RECORD_SEP] + bytes([_RECORD_SEP]) + _TABLE[_RECORD_SEP + 1 :]
# Typographic punctuation folded like its ASCII kin (only looked at when a text is not ASCII).
_UNICODE_PUNCT = re.compile("[‘’‚‛“”„‟«»‹›–—―…•·¡¿、。，：；！？（）【】「」]")

_U64 = np.uint64
_WORD_BASE = 0x100000001B3  # odd, so invertible modulo 2**64 (to shift the prefix sums)
_WORD_BASE_INV = pow(_WORD_BASE, -1, 1 << 64)
_SEQ_BASE = 0x9E3779B97F4A7C15
_BIN_BITS = HASHES.bit_length() - 1  # a feature hash's top bits pick its MinHash bin ...
_LOW = (1 << (64 - _BIN_BITS)) - 1  # ... and the rest is its value there
_EMPTY = np.iinfo(np.uint64).max
_COLUMNS = np.arange(2 * HASHES, dtype=np.int8)
_POWERS_KEPT = 1 << 20  # powers for batches of up to 1 MiB of text are kept: 16 MB at most
_POWERS: dict[str, np.ndarray] = {}


@dataclass(frozen=True)
class Signatures:
    """Fingerprints of ``n`` texts (see the module docstring)."""

    key: np.ndarray  # (n,) uint64
    minhash: np.ndarray  # (n, HASHES) uint32
    bands: np.ndarray  # (n, BANDS) uint64
    empty: np.ndarray  # (n,) bool: no words at all (never a near-duplicate of anything)

    def __len__(self) -> int:
        return len(self.key)

    @staticmethod
    def join(parts: list[Signatures]) -> Signatures:
        """One block from ``parts``, which it empties: the batches are let go field by field,
        so joining never holds two copies of the whole state."""
        if not parts:
            return signatures([])
        columns = {f: [getattr(p, f) for p in parts] for f in _FIELDS}
        parts.clear()
        joined = {}
        for name in _FIELDS:
            joined[name] = np.concatenate(columns.pop(name))
        return Signatures(**joined)


_FIELDS = ("key", "minhash", "bands", "empty")


def normalize(text: str) -> str:
    """Lower case, punctuation and whitespace folded to single spaces: the compared form."""
    data = _fold(text).encode("utf-8", "replace").translate(_TABLE)
    return " ".join(data.decode("utf-8").split())


def _fold(text: str) -> str:
    """What the byte table cannot do: non-ASCII case and punctuation (a slow path, so only
    for the texts that need it)."""
    return text if text.isascii() else _UNICODE_PUNCT.sub(" ", text.lower())


def signatures(texts: Sequence[str]) -> Signatures:
    """Fingerprints of ``texts``, all at once (the per-text Python work is one join)."""
    n = len(texts)
    joined = "\x1e".join([_fold(t) for t in texts])
    if joined.count("\x1e") != max(n - 1, 0):  # a text holds the separator itself
        joined = "\x1e".join([_fold(t.replace("\x1e", " ")) for t in texts])
    data = np.frombuffer(joined.encode("utf-8", "replace").translate(_BATCH_TABLE), np.uint8)
    if not len(data):
        data = np.array([_RECORD_SEP], dtype=np.uint8)  # one empty text: a lone separator

    # Words are maximal runs of bytes above the separators; rec says which text holds each.
    edges = np.flatnonzero(np.diff(data <= _SPACE, prepend=True, append=True))
    starts, ends = edges[0::2], edges[1::2]
    rec = np.searchsorted(np.flatnonzero(data == _RECORD_SEP), starts)
    words = _mix(_polynomial(data, starts, ends))

    counts = np.bincount(rec, minlength=n)
    empty = counts == 0
    first = np.concatenate(([0], np.cumsum(counts)[:-1])) if n else counts
    key = np.zeros(n, dtype=_U64)
    minhash = np.full((n, HASHES), np.iinfo(np.uint32).max, dtype=np.uint32)
    if len(words):
        with np.errstate(over="ignore"):
            position = np.arange(len(words)) - first[rec]
            weights = np.cumprod(np.full(int(counts.max()), _SEQ_BASE, dtype=_U64))
            key[~empty] = np.add.reduceat(words * weights[position], first[~empty])
        rank = np.cumsum(~empty) - 1  # each non-empty text's row among the non-empty ones
        minhash[~empty] = _minhash(words, rank[rec], int((~empty).sum()))
    pairs = minhash.view(_U64).reshape(n, HASHES // 2)  # two 32-bit values per 64-bit lane
    lanes = ROWS // 2
    with np.errstate(over="ignore"):
        bands = np.stack(
            [_mix(_mix(pairs[:, b * lanes]) ^ pairs[:, b * lanes + 1]) for b in range(BANDS)],
            axis=1,
        )
    return Signatures(key=key, minhash=minhash, bands=bands, empty=empty)


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of paired rows of two (m, HASHES) MinHash arrays."""
    return np.asarray((a == b).mean(axis=1), dtype=np.float64)


def first_of_run(keys: np.ndarray) -> np.ndarray:
    """For each position, the earliest position holding the same key (itself if first)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    new_run = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    run_head = order[np.maximum.accumulate(np.where(new_run, np.arange(len(keys)), 0))]
    first = np.empty_like(order)
    first[order] = run_head
    return first


def lookup(reference: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """For each query key, the earliest position of an equal key in ``reference``, else -1."""
    if not len(reference):
        return np.full(len(queries), -1, dtype=np.int64)
    order = np.argsort(reference, kind="stable")
    ordered = reference[order]
    at = np.minimum(np.searchsorted(ordered, queries), len(ordered) - 1)
    return np.where(ordered[at] == queries, order[at], -1).astype(np.int64)


def _polynomial(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per word, sum((byte + 1) * BASE**(j - start)) over its bytes j, from one prefix sum."""
    powers, inverse = _powers(len(data))
    with np.errstate(over="ignore"):
        terms = data.astype(_U64)
        terms += _U64(1)
        terms *= powers
        prefix = np.zeros(len(data) + 1, dtype=_U64)
        np.cumsum(terms, out=prefix[1:])
        hashes = prefix[ends]
        hashes -= prefix[starts]
        hashes *= inverse[starts]
        return hashes


def _powers(length: int) -> tuple[np.ndarray, np.ndarray]:
    """BASE**j and BASE**-j for j < length. Kept between batches, as computing them costs as
    much as the rest of the hashing; a batch larger than :data:`_POWERS_KEPT` gets its own."""
    if length > _POWERS_KEPT:
        return _power_tables(length)
    if len(_POWERS.get("base", ())) < length:
        base, inverse = _power_tables(min(max(length + length // 4, 1 << 16), _POWERS_KEPT))
        _POWERS.update(base=base, inverse=inverse)
    return _POWERS["base"][:length], _POWERS["inverse"][:length]


def _power_tables(size: int) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(over="ignore"):
        base = np.cumprod(np.full(size, _WORD_BASE, dtype=_U64)) * _U64(_WORD_BASE_INV)
        inverse = np.cumprod(np.full(size, _WORD_BASE_INV, dtype=_U64)) * _U64(_WORD_BASE)
    return base, inverse


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: every input bit affects every output bit."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
        return np.asarray(x ^ (x >> _U64(31)), dtype=_U64)


def _minhash(words: np.ndarray, rec: np.ndarray, rows: int) -> np.ndarray:
    """One-permutation MinHash with rotation densification (Shrivastava & Li, 2014).

    Each unigram and bigram hash falls in one of HASHES bins (its top bits); a row keeps the
    minimum of each bin. A bin no feature fell in borrows the nearest filled bin to its right,
    shifted by the distance, so two rows' bins agree only if the same features made them.
    One hash per feature instead of HASHES of them: the same estimator, HASHES times cheaper.
    """
    follows = rec[1:] == rec[:-1]
    with np.errstate(over="ignore"):
        bigrams = _mix(words[:-1][follows] * _U64(_SEQ_BASE) ^ words[1:][follows])
    features = np.concatenate((words, bigrams))
    owner = np.concatenate((rec, rec[:-1][follows]))
    flat = np.full(rows * HASHES, _EMPTY, dtype=_U64)
    slot = owner * HASHES + (features >> _U64(64 - _BIN_BITS)).astype(np.int64)
    np.minimum.at(flat, slot, features & _U64(_LOW))
    bins = flat.reshape(rows, HASHES)
    hole = bins == _EMPTY
    if hole.any():
        # For each bin, the nearest filled bin at or to its right, wrapping around: a running
        # minimum, from the right, of the filled columns' indices over two laps of the row.
        columns = np.where(np.tile(~hole, 2), _COLUMNS, np.int8(2 * HASHES))
        nearest = np.minimum.accumulate(columns[:, ::-1], axis=1)[:, : HASHES - 1 : -1]
        distance = (nearest - _COLUMNS[:HASHES]).astype(_U64)
        source = bins.ravel()[nearest % HASHES + np.arange(0, rows * HASHES, HASHES)[:, None]]
        with np.errstate(over="ignore"):
            bins = np.where(hole, source + ((distance * _U64(_SEQ_BASE)) & _U64(_LOW)), bins)
    return np.asarray(_mix(bins) >> _U64(32), dtype=np.uint32)
