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


def test_a_perfect_corpus_score_on_few_examples_gets_a_real_interval() -> None:
    from shipwise.evaluation.aggregates import MacroF1, Slots
    from shipwise.evaluation.stats import interval

    gold = np.array([i % 3 for i in range(20)], dtype=float)
    perfect = interval(np.stack([gold, gold]), MacroF1("macro_f1", 3))
    # Every resample of 20 right answers scores 1.0; that says little about the next 20.
    assert perfect.mean == 1.0 and perfect.high == 1.0
    assert 0.75 < perfect.low < 0.95
    wrong = gold.copy()
    wrong[0] = 1.0
    one_off = interval(np.stack([wrong, gold]), MacroF1("macro_f1", 3))
    assert one_off.low < perfect.low  # one miss more is never more certain
    many = np.array([i % 3 for i in range(400)], dtype=float)
    assert interval(np.stack([many, many]), MacroF1("macro_f1", 3)).low > 0.98
    slots = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]] * 10).T  # found every slot there was
    assert interval(slots, Slots("slot_f1", "f1")).low < 0.95
