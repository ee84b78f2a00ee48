"""Retrieval quality per example: did the retrieved documents include the source document."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CUTOFFS = (1, 3, 5, 10)


def retrieval_scores(source: str, retrieved: Sequence[str]) -> dict[str, float]:
    """recall@k (as recall_at_k) per cutoff, and the reciprocal rank of ``source``."""
    rank = retrieved.index(source) + 1 if source in retrieved else 0
    scores = {f"recall_at_{k}": float(0 < rank <= k) for k in CUTOFFS}
    scores["mrr"] = 1.0 / rank if rank else 0.0
    return scores


def summarize_retrieval(
    per_example: Sequence[dict[str, float]], seconds: Sequence[float]
) -> dict[str, float]:
    """Means of the scored examples, plus p50/p95 of query time (embedding + search)."""
    out: dict[str, float] = {}
    if per_example:
        for name in per_example[0]:
            out[f"retrieval.{name}"] = float(np.mean([s[name] for s in per_example]))
        out["retrieval.n"] = float(len(per_example))
    if seconds:
        out["retrieval.p50_s"] = float(np.percentile(seconds, 50))
        out["retrieval.p95_s"] = float(np.percentile(seconds, 95))
    return out
