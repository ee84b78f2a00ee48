"""Seeded percentile bootstrap: an interval for a mean, and for a paired difference of means."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def _percentile_interval(
    values: np.ndarray, resamples: int, confidence: float, seed: int
) -> Interval:
    n = len(values)
    if n == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    # (resamples, n) indices; each row is one bootstrap sample of the examples
    means = values[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Interval(float(values.mean()), float(low), float(high), n)


def bootstrap_mean(
    values: Sequence[float], resamples: int = 10_000, confidence: float = 0.95, seed: int = 0
) -> Interval:
    return _percentile_interval(np.asarray(values, dtype=float), resamples, confidence, seed)


def paired_bootstrap_diff(
    a: Sequence[float],
    b: Sequence[float],
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Interval for mean(a - b) resampling examples, so both arms see the same items."""
    if len(a) != len(b):
        raise ValueError(f"paired scores need equal lengths, got {len(a)} and {len(b)}")
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return _percentile_interval(diff, resamples, confidence, seed)
