from __future__ import annotations

import numpy as np

from shipwise.evaluation.stats import bootstrap_mean, paired_bootstrap_diff


def test_interval_brackets_the_mean_and_is_seeded() -> None:
    values = [1.0] * 30 + [0.0] * 70
    interval = bootstrap_mean(values, seed=1)
    assert interval.mean == 0.3
    assert interval.low < 0.3 < interval.high
    assert interval.low > 0.18 and interval.high < 0.42  # ~ +-1.96 * sqrt(.21/100)
    assert bootstrap_mean(values, seed=1) == interval
    continuous = np.random.default_rng(0).random(50).tolist()
    assert bootstrap_mean(continuous, seed=1) != bootstrap_mean(continuous, seed=2)


def test_interval_narrows_with_more_examples() -> None:
    rng = np.random.default_rng(0)
    small = bootstrap_mean(rng.random(20).round().tolist())
    large = bootstrap_mean(rng.random(2000).round().tolist())
    assert (large.high - large.low) < (small.high - small.low) / 5


def test_paired_difference_sees_a_consistent_gain() -> None:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2, 200).astype(float)
    better = np.maximum(base, rng.integers(0, 2, 200) * (rng.random(200) < 0.3))
    diff = paired_bootstrap_diff(better.tolist(), base.tolist())
    assert diff.mean > 0 and diff.excludes_zero()
    same = paired_bootstrap_diff(base.tolist(), base.tolist())
    assert same.mean == 0 and not same.excludes_zero()
