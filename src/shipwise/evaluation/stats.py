"""Intervals and paired tests for any metric, resampling examples and recomputing the metric.

- :func:`interval`: a BCa bootstrap interval for one arm's metric (``scipy.stats.bootstrap``).
- :func:`paired_interval`: the same for the difference between two arms scored on the same
  examples, resampling the examples once for both (``paired=True``).
- :func:`paired_p_value`: a two-sided paired permutation test of that difference
  (``scipy.stats.permutation_test`` swapping the two arms' results within each example).

Data is ``(len(metric.columns), ..., n)``: the metric's per-example columns, with any batch
axes in between (the calibration tests decide thousands of simulated studies in one call).
Two corrections make the intervals honest at the 20 to 100 test examples many real studies
have. BCa corrects the percentile interval's bias and skew, with its level widened for small
samples as Hesterberg's expanded percentile interval does (the normal quantile replaced by
sqrt(n / (n - 1)) times Student's t with n - 1 degrees of freedom): bootstrap intervals are
too narrow there. And where the scores are counted outcomes (right or wrong, hits, labels)
and two arms differ on fewer than ``FEW_DISCORDANT`` examples (or an arm scores every example
the same, or every resample the same, as a perfect macro-F1 does), the resampled spread says
little about the true one:
two arms that agree on every example of a small split would get the interval [0, 0], and a
cheaper arm would be waved through as equivalent on 20 examples. There the data gain two
pseudo-examples, one at the metric's best and one at its worst (for a pair: one each way),
as Agresti and Caffo add a success and a failure to each group; the interval is then
conservative rather than falsely sure. The tests check 93-97% coverage from n = 20 to 500.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shipwise.evaluation.aggregates import Mean, Metric


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def _bootstrap(
    data: tuple[np.ndarray, ...],
    statistic: Any,
    resamples: int,
    confidence: float,
    seed: int,
    expand: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """scipy's BCa interval; where BCa is undefined (every resample equal), the point value."""
    from scipy import stats

    point = statistic(*data, axis=-1)
    n = data[0].shape[-1]
    if n < 2:
        return np.asarray(point, dtype=float), np.asarray(point, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate resamples: handled below
        result = stats.bootstrap(
            data,
            statistic,
            paired=len(data) > 1,
            vectorized=True,
            axis=-1,
            n_resamples=resamples,
            confidence_level=expanded(confidence, n) if expand else confidence,
            method="BCa",
            random_state=np.random.default_rng(seed),
            batch=max(1, 20_000_000 // max(n * int(np.prod(data[0].shape[:-1])), 1)),
        )
    confidence = expanded(confidence, n) if expand else confidence
    low = np.asarray(result.confidence_interval.low, dtype=float)
    high = np.asarray(result.confidence_interval.high, dtype=float)
    spread = np.asarray(result.bootstrap_distribution, dtype=float)
    if np.isnan(low).any() or np.isnan(high).any():
        # BCa needs some spread among the resamples; without it, fall back to percentiles
        # (equal to the point value when every resample is the same)
        tail = (1 - confidence) / 2
        fallback_low, fallback_high = np.nanquantile(spread, [tail, 1 - tail], axis=-1)
        low = np.where(np.isnan(low), fallback_low, low)
        high = np.where(np.isnan(high), fallback_high, high)
    return low, high


def expanded(confidence: float, n: int) -> float:
    """The level whose normal quantile is sqrt(n/(n-1)) t_{n-1}: ``confidence`` for small n."""
    from scipy import stats

    z = np.sqrt(n / (n - 1)) * stats.t.ppf((1 + confidence) / 2, df=n - 1)
    return float(2 * stats.norm.cdf(z) - 1)


# McNemar's rule of thumb: fewer discordant pairs than this call for an exact test
FEW_DISCORDANT = 25


def with_pseudo(data: np.ndarray, examples: Sequence[tuple[float, ...]]) -> np.ndarray:
    """``data`` with pseudo-examples appended on the last axis (the same in every batch)."""
    extra = np.array(examples, dtype=float).T  # (columns, pseudo)
    shape = (*data.shape[:-1], len(examples))
    extra = np.broadcast_to(extra.reshape(extra.shape[0], *[1] * (data.ndim - 2), -1), shape)
    return np.concatenate([data, extra], axis=-1)


def _bounded(
    value: np.ndarray, low: np.ndarray, high: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The interval widened, where the pseudo-examples moved it, to hold the observed value."""
    return value, np.minimum(low, value), np.maximum(high, value)


def _smoothed(
    data: tuple[np.ndarray, ...],
    pseudo: tuple[np.ndarray, ...],
    needs: np.ndarray,
    statistic: Any,
    resamples: int,
    confidence: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The interval from ``pseudo`` (the data plus pseudo-examples) where ``needs`` holds,
    from ``data`` elsewhere (``needs`` is over the batch axes)."""
    if np.all(needs):
        return _bootstrap(pseudo, statistic, resamples, confidence, seed, expand=False)
    plain = _bootstrap(data, statistic, resamples, confidence, seed)
    if not np.any(needs):
        return plain
    smooth = _bootstrap(pseudo, statistic, resamples, confidence, seed, expand=False)
    return np.where(needs, smooth[0], plain[0]), np.where(needs, smooth[1], plain[1])


def interval_batch(
    data: np.ndarray, metric: Metric, resamples: int, confidence: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value, low, high) arrays over the batch axes of ``data``."""

    def statistic(x: np.ndarray, axis: int = -1) -> np.ndarray:
        return metric.value(x)

    best, worst = metric.extremes()
    # every example the same: the bootstrap alone would say [value, value]
    flat = (data == data[..., :1]).all(axis=(0, -1))
    pseudo = (with_pseudo(data, [best, worst]),)
    low, high = _smoothed((data,), pseudo, flat, statistic, resamples, confidence, seed)
    # Examples that differ yet score the same on every resample: a corpus metric at its bound
    # (macro-F1 or slot F1 of 1.000 on 20 examples). The spread is zero there for the same
    # reason, and says as little.
    stuck = (high - low <= 1e-12) & ~flat
    if np.any(stuck):
        smooth = _bootstrap(pseudo, statistic, resamples, confidence, seed, expand=False)
        low, high = np.where(stuck, smooth[0], low), np.where(stuck, smooth[1], high)
    return _bounded(metric.value(data), low, high)


def paired_interval_batch(
    a: np.ndarray, b: np.ndarray, metric: Metric, resamples: int, confidence: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value(a) - value(b), low, high) over the batch axes, resampling examples jointly."""

    def statistic(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return metric.value(x) - metric.value(y)

    best, worst = metric.extremes()
    # counted outcomes (hits, labels) on which the arms differ only a few times: that count
    # estimates its own variance badly, as in McNemar's test
    counted = bool(np.all(a == np.round(a)) and np.all(b == np.round(b)))
    few = ((a != b).any(axis=0).sum(axis=-1) < FEW_DISCORDANT) & counted
    pseudo = (with_pseudo(a, [best, worst]), with_pseudo(b, [worst, best]))
    low, high = _smoothed((a, b), pseudo, few, statistic, resamples, confidence, seed)
    return _bounded(metric.value(a) - metric.value(b), low, high)


def interval(
    data: np.ndarray,
    metric: Metric,
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    n = data.shape[-1]
    if n == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    value, low, high = interval_batch(data, metric, resamples, confidence, seed)
    return Interval(float(value), float(low), float(high), n)


def paired_interval(
    a: np.ndarray,
    b: np.ndarray,
    metric: Metric,
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """The difference value(a) - value(b) over the same examples, with its interval."""
    if a.shape != b.shape:
        raise ValueError(f"paired scores need equal shapes, got {a.shape} and {b.shape}")
    value, low, high = paired_interval_batch(a, b, metric, resamples, confidence, seed)
    return Interval(float(value), float(low), float(high), a.shape[-1])


def paired_p_value(
    a: np.ndarray, b: np.ndarray, metric: Metric, resamples: int = 10_000, seed: int = 0
) -> float:
    """Two-sided permutation p-value for value(a) = value(b), swapping arms within examples."""
    from scipy import stats

    if a.shape[-1] < 2 or np.array_equal(a, b):
        return 1.0

    def statistic(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        if x.ndim == a.ndim + 1:  # scipy puts the permutations first: (perms, columns, n)
            x, y = np.moveaxis(x, 0, -2), np.moveaxis(y, 0, -2)
        return metric.value(x) - metric.value(y)

    result = stats.permutation_test(
        (a, b),
        statistic,
        permutation_type="samples",
        vectorized=True,
        n_resamples=resamples,
        alternative="two-sided",
        axis=-1,
        random_state=np.random.default_rng(seed),
    )
    return float(min(1.0, result.pvalue))


def bootstrap_mean(
    values: Sequence[float], resamples: int = 10_000, confidence: float = 0.95, seed: int = 0
) -> Interval:
    """The mean of per-example scores with its interval."""
    data = np.asarray(values, dtype=float)[None, :]
    return interval(data, Mean("score"), resamples, confidence, seed)


def paired_bootstrap_diff(
    a: Sequence[float],
    b: Sequence[float],
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Interval for mean(a) - mean(b) resampling examples, so both arms see the same items."""
    if len(a) != len(b):
        raise ValueError(f"paired scores need equal lengths, got {len(a)} and {len(b)}")
    x = np.asarray(a, dtype=float)[None, :]
    y = np.asarray(b, dtype=float)[None, :]
    return paired_interval(x, y, Mean("score"), resamples, confidence, seed)
