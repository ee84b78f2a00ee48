"""The decision's statistics, calibrated by simulation: thousands of studies whose true
difference is known, each decided by the same code the decision uses (vectorised: a batch of
studies is one call)."""

from __future__ import annotations

import numpy as np
import pytest

from shipwise.evaluation.aggregates import Mean, Slots
from shipwise.evaluation.stats import paired_interval_batch

MEAN = Mean("score")
RESAMPLES = 499


def binary(rng: np.random.Generator, studies: int, n: int, p: float) -> np.ndarray:
    return (rng.random((studies, n)) < p).astype(float)[None]


def continuous(rng: np.random.Generator, studies: int, n: int, a: float, b: float) -> np.ndarray:
    """Scores in [0, 1] from a beta distribution (mean a / (a + b)), like token F1."""
    return rng.beta(a, b, (studies, n))[None]


def correlated(
    rng: np.random.Generator, studies: int, n: int, share: float, p: float
) -> tuple[np.ndarray, np.ndarray]:
    """Two arms that agree except on ``share`` of the examples, where the second scores ``p``.

    Real arms of one task agree on most examples; the difference lives in the rest.
    """
    first = binary(rng, studies, n, 0.80)
    differ = rng.random((studies, n)) < share
    second = np.where(differ, rng.random((studies, n)) < p, first[0])[None].astype(float)
    return second, first


@pytest.mark.parametrize(
    ("kind", "n", "studies"),
    [("binary", 20, 800), ("binary", 100, 600), ("binary", 500, 250),
     ("continuous", 20, 800), ("continuous", 100, 600), ("continuous", 500, 250),
     ("correlated", 100, 600), ("correlated", 500, 250)],
)  # fmt: skip
def test_paired_intervals_cover_the_true_difference_93_to_97_percent(
    kind: str, n: int, studies: int
) -> None:
    rng = np.random.default_rng(n)
    if kind == "binary":  # accuracy 0.75 vs 0.70: the true difference is 0.05
        a, b, truth = binary(rng, studies, n, 0.75), binary(rng, studies, n, 0.70), 0.05
    elif kind == "continuous":  # mean 2/5 vs 2/6
        a, b = continuous(rng, studies, n, 2, 3), continuous(rng, studies, n, 2, 4)
        truth = 2 / 5 - 2 / 6
    else:  # agree on 80%; on the rest 0.6 against 0.8: the truth is 0.2 x -0.2
        a, b = correlated(rng, studies, n, 0.20, 0.60)
        truth = 0.20 * (0.60 - 0.80)
    _, low, high = paired_interval_batch(a, b, MEAN, RESAMPLES, 0.95, seed=1)
    coverage = float(np.mean((low <= truth) & (truth <= high)))
    assert 0.93 <= coverage <= 0.97, coverage


def test_corpus_metric_intervals_cover_too() -> None:
    """Slot F1 is recomputed on every resample; its interval still covers the truth."""
    rng = np.random.default_rng(7)
    studies, n = 300, 200
    gold = rng.random((studies, n)) < 0.3  # a slot is present in 30% of examples
    said = rng.random((studies, n)) < 0.35
    hit_a = gold & said & (rng.random((studies, n)) < 0.8)
    hit_b = gold & said & (rng.random((studies, n)) < 0.6)
    slots = Slots("slot_f1", "f1")
    a = np.stack([hit_a, said, gold]).astype(float)
    b = np.stack([hit_b, said, gold]).astype(float)
    # the true difference, from a very large sample of the same process
    big = 400_000
    g, s = rng.random(big) < 0.3, rng.random(big) < 0.35
    truth = float(
        slots.value(np.stack([g & s & (rng.random(big) < 0.8), s, g]).astype(float))
        - slots.value(np.stack([g & s & (rng.random(big) < 0.6), s, g]).astype(float))
    )
    _, low, high = paired_interval_batch(a, b, slots, RESAMPLES, 0.95, seed=2)
    coverage = float(np.mean((low <= truth) & (truth <= high)))
    assert 0.93 <= coverage <= 0.97, coverage


@pytest.mark.parametrize("n", [20, 100, 300])
def test_the_rule_rarely_ships_an_arm_worse_than_the_margin(n: int) -> None:
    """A cheaper arm truly 0.03 worse than the best (margin 0.02) ships at most 5% of the time:
    it ships only when the paired interval of (cheap - best) lies above -margin. At n = 20 the
    two arms often differ on no example at all: that must not pass for equivalence."""
    rng = np.random.default_rng(100 + n)
    studies, margin = 600, 0.02
    cheap, best = correlated(rng, studies, n, 0.10, 0.50)
    truth = 0.10 * (0.50 - 0.80)  # = -0.03, beyond the margin
    assert truth < -margin
    _, low, _ = paired_interval_batch(cheap, best, MEAN, RESAMPLES, 0.95, seed=3)
    shipped = float(np.mean(low > -margin))
    assert shipped <= 0.05, shipped
