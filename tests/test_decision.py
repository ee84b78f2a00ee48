"""The ship decision on synthetic score tables whose right answer is known by construction."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from shipwise.decision import (
    _paired_test,
    break_even,
    decide,
    holm,
    min_detectable_difference,
    monthly_cost,
)
from shipwise.decision_types import (
    ArmEvidence,
    Constraints,
    Decision,
    DecisionConfig,
    decision_as_dict,
)
from shipwise.errors import ConfigError, DataError
from shipwise.evaluation.stats import bootstrap_mean, paired_bootstrap_diff

CFG = DecisionConfig(resamples=2_000, seed=7)

# 200 examples: rag gets 160 right (0.8), prompt 80 (0.4), and prompt's hits are a subset of rag's
STRONG = [1.0] * 160 + [0.0] * 40
WEAK = [1.0] * 80 + [0.0] * 120
# 100 examples, about half right, in no neat order
MIXED = np.random.default_rng(3).integers(0, 2, 100).astype(float).tolist()


SIMPLICITY = {"prompt": 2, "rag": 3, "finetune": 4}  # as conf/strategy/*.yaml declare


def arm(
    name: str,
    scores: Sequence[float],
    *,
    strategy: str | None = None,
    usd_per_call: float = 0.001,
    setup_usd: float = 0.0,
    latency: float = 0.5,
    fingerprint: str = "fp-test-1",
    **extra: Any,
) -> ArmEvidence:
    return ArmEvidence(
        name=name,
        strategy=strategy or name,
        kind=strategy or name,
        simplicity=SIMPLICITY.get(strategy or name, 9),
        run_id=f"run-{name}",
        metric="accuracy",
        scores={f"ex{i:03d}": float(s) for i, s in enumerate(scores)},
        test_fingerprint=fingerprint,
        usd_per_call=usd_per_call,
        setup_usd=setup_usd,
        latency_p95_s=latency,
        **extra,
    )


def with_constraints(**limits: float) -> DecisionConfig:
    return DecisionConfig(resamples=2_000, seed=7, constraints=Constraints(**limits))


def verdict_of(decision: Decision, name: str) -> Any:
    return next(v for v in decision.arms if v.name == name)


# --- the rule ----------------------------------------------------------------------------------


def test_equal_quality_ships_the_cheaper_arm() -> None:
    prompt = arm("prompt", MIXED, usd_per_call=0.002)  # $200/month at 100k calls
    rag = arm("rag", MIXED, usd_per_call=0.001)  # $100/month
    decision = decide([prompt, rag], CFG, "t")
    assert decision.ship == "rag"
    (pair,) = decision.pairs
    assert pair.mean == 0 and not pair.significant and pair.p_value == 1.0
    assert all(v.not_worse_than_best for v in decision.arms)
    assert verdict_of(decision, "rag").monthly_usd == pytest.approx(100.0)
    assert decision.verdict.startswith("Ship rag: accuracy ")
    assert "$100.00/month for 100,000 calls" in decision.verdict


@pytest.mark.parametrize(
    ("prompt_usd_per_call", "ships"),
    [(0.00104, "prompt"), (0.00106, "rag")],  # $104 is within 5% of rag's $100; $106 is not
)
def test_within_five_percent_the_simpler_arm_ships(prompt_usd_per_call: float, ships: str) -> None:
    prompt = arm("prompt", MIXED, usd_per_call=prompt_usd_per_call)
    rag = arm("rag", MIXED, usd_per_call=0.001)
    decision = decide([rag, prompt], CFG, "t")  # input order must not decide it
    assert decision.ship == ships
    if ships == "prompt":
        assert "prompt is simpler" in decision.verdict


def test_unknown_strategy_ranks_after_the_known_ones() -> None:
    odd = arm("odd", MIXED, strategy="agent", usd_per_call=0.001)
    prompt = arm("prompt", MIXED, usd_per_call=0.00102)
    assert decide([odd, prompt], CFG, "t").ship == "prompt"


def test_a_significantly_better_arm_ships_even_though_it_costs_more() -> None:
    prompt = arm("prompt", WEAK, usd_per_call=0.001)
    rag = arm("rag", STRONG, usd_per_call=0.01, setup_usd=20.0)
    decision = decide([prompt, rag], CFG, "t")
    assert decision.ship == "rag"
    (pair,) = decision.pairs
    assert (pair.a, pair.b) == ("prompt", "rag")
    assert pair.mean == pytest.approx(-0.4)
    assert pair.significant and pair.high < 0 and pair.p_holm < 0.05
    assert pair.enough_examples
    assert not verdict_of(decision, "prompt").not_worse_than_best
    assert "prompt is significantly worse (−0.400 [" in decision.verdict
    assert verdict_of(decision, "rag").monthly_usd == pytest.approx(100_000 * 0.01 + 20.0)


def test_a_cheaper_arm_not_significantly_worse_ships_and_the_verdict_says_why() -> None:
    better = list(MIXED)
    flips = [i for i, s in enumerate(better) if s == 0][:2]
    for i in flips:
        better[i] = 1.0  # rag is right on two more examples of 100: +0.02, well within noise
    decision = decide(
        [arm("prompt", MIXED, usd_per_call=0.001), arm("rag", better, usd_per_call=0.003)],
        CFG,
        "t",
    )
    assert decision.ship == "prompt"
    assert "rag is not significantly better (+0.020 [" in decision.verdict
    assert "costs $300.00/month" in decision.verdict
    assert not decision.pairs[0].significant


# --- constraints -------------------------------------------------------------------------------

EXPENSIVE_STRONG = arm(
    "tuned",
    STRONG,
    strategy="finetune",
    usd_per_call=0.004,
    latency=2.4,
    regression_score=0.5,
    regression_baseline=0.7,
    redteam_pass_rate=0.8,
)
CHEAP_WEAK = arm("prompt", WEAK, usd_per_call=0.001, redteam_pass_rate=1.0)


def test_without_constraints_the_strong_arm_ships() -> None:
    assert decide([CHEAP_WEAK, EXPENSIVE_STRONG], CFG, "t").ship == "tuned"


@pytest.mark.parametrize(
    ("limits", "sentence"),
    [
        ({"max_p95_latency_s": 1.0}, "p95 latency 2.40 s is above the maximum 1.00 s"),
        ({"max_usd_per_1k_calls": 2.0}, "$4.00 per 1k calls is above the maximum $2.00"),
        (
            {"max_regression_drop": 0.1},
            "regression score dropped 0.200 (from 0.700 to 0.500), more than the allowed 0.100",
        ),
        ({"min_redteam_pass_rate": 0.9}, "red-team pass rate 0.800 is below the minimum 0.900"),
    ],
)
def test_a_constraint_removes_the_best_arm(limits: dict[str, float], sentence: str) -> None:
    decision = decide([CHEAP_WEAK, EXPENSIVE_STRONG], with_constraints(**limits), "t")
    assert decision.ship == "prompt"
    tuned = verdict_of(decision, "tuned")
    assert not tuned.feasible and list(tuned.failures) == [sentence]
    assert verdict_of(decision, "prompt").feasible
    assert f"tuned is ruled out ({sentence})" in decision.verdict


def test_min_quality_is_judged_on_the_lower_bound() -> None:
    # rag has the higher mean (0.62) but a wide interval; prompt scores 0.60 on every example
    noisy = [1.0] * 31 + [0.0] * 19
    steady = [0.6] * 50
    decision = decide(
        [arm("prompt", steady), arm("rag", noisy)], with_constraints(min_quality=0.55), "t"
    )
    low = bootstrap_mean(noisy, 2_000, 0.95, 7).low
    assert low < 0.55
    assert decision.ship == "prompt"
    assert list(verdict_of(decision, "rag").failures) == [
        f"quality lower bound {low:.3f} is below the minimum 0.550"
    ]


def test_a_limit_equal_to_the_value_passes_despite_float_rounding() -> None:
    cheap = arm("prompt", MIXED, usd_per_call=0.0041)  # 1000 * 0.0041 = 4.1000000000000005
    assert decide([cheap], with_constraints(max_usd_per_1k_calls=4.1), "t").ship == "prompt"


def test_no_feasible_arm_ships_nothing_and_lists_every_failure() -> None:
    slow = arm("prompt", WEAK, latency=3.0)
    unmeasured = arm("rag", STRONG, latency=0.2)  # no red-team result
    limits = with_constraints(max_p95_latency_s=1.0, min_redteam_pass_rate=0.9)
    decision = decide([slow, unmeasured], limits, "t")
    assert decision.ship is None
    assert not any(v.feasible or v.not_worse_than_best for v in decision.arms)
    assert decision.verdict.startswith("Ship nothing: no arm meets the constraints")
    assert "prompt: p95 latency 3.00 s is above the maximum 1.00 s and red-team pass rate" in (
        decision.verdict
    )
    assert "rag: red-team pass rate was not measured, and the minimum is 0.900" in decision.verdict


# --- costs -------------------------------------------------------------------------------------


def test_monthly_cost_and_break_even_by_hand() -> None:
    a = arm("a", MIXED, usd_per_call=0.001, setup_usd=50.0)
    b = arm("b", MIXED, usd_per_call=0.003, setup_usd=0.0)
    # 0.001 x + 100 = 0.003 x  ->  x = 50,000 calls/month
    assert break_even(a, b, 2.0) == pytest.approx(50_000)
    assert break_even(b, a, 2.0) == pytest.approx(50_000)
    assert monthly_cost(0.001, 50.0, 50_000, 2.0) == pytest.approx(
        monthly_cost(0.003, 0, 50_000, 2)
    )
    parallel = arm("c", MIXED, usd_per_call=0.001, setup_usd=0.0)
    assert break_even(a, parallel, 2.0) is None
    cheaper_everywhere = arm("d", MIXED, usd_per_call=0.0005, setup_usd=10.0)
    assert break_even(a, cheaper_everywhere, 2.0) is None  # lines cross only at negative volume
    config = DecisionConfig(resamples=200, refreshes_per_month=2.0)
    (even,) = decide([a, b], config, "t").break_evens
    assert (even.a, even.b) == ("a", "b") and even.calls_per_month == pytest.approx(50_000)


# --- statistics --------------------------------------------------------------------------------


def test_holm_by_hand() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.6]) == [1.0, 1.0]  # 2 * 0.5 caps at 1, and 0.6 may not undercut it
    assert holm([]) == []


def test_paired_test_matches_the_stats_interval_and_its_p_value() -> None:
    diffs = np.array(STRONG) - np.array(WEAK)
    interval, p = _paired_test(diffs, 2_000, 0.95, 7)
    assert interval == paired_bootstrap_diff(STRONG, WEAK, 2_000, 0.95, 7)
    assert p == 0.0
    noise = np.random.default_rng(1).normal(0.2, 1, 40)
    interval, p = _paired_test(noise, 2_000, 0.95, 7)
    assert 0.05 < p < 1.0 and interval.low < 0 < interval.high
    # two-sided: twice the smaller tail of the very resamples stats.py draws for the interval
    means = noise[np.random.default_rng(7).integers(0, 40, size=(2_000, 40))].mean(axis=1)
    assert p == pytest.approx(2 * min(np.mean(means <= 0), np.mean(means >= 0)))


def test_min_detectable_difference_shrinks_with_root_n() -> None:
    pattern = [0.3, -0.1, 0.2, -0.2, 0.1]
    small = min_detectable_difference(pattern * 20, 0.95, 0.8)
    large = min_detectable_difference(pattern * 80, 0.95, 0.8)
    assert small / large == pytest.approx(2.0, rel=0.01)
    sd = float(np.std(pattern * 20, ddof=1))
    assert small == pytest.approx((1.959964 + 0.841621) * sd / 10, rel=1e-5)
    assert math.isinf(min_detectable_difference([0.5], 0.95, 0.8))


def test_a_tiny_split_gets_the_too_few_examples_caveat() -> None:
    a = [0.5, 0.6, 0.4, 0.7, 0.3, 0.5, 0.6, 0.4, 0.7, 0.3]
    diffs = [0.12, -0.08] * 5  # a real but small gain of 0.02, in noise of about 0.1
    b = [x - d for x, d in zip(a, diffs, strict=True)]
    decision = decide([arm("rag", a), arm("prompt", b)], CFG, "t")
    (pair,) = decision.pairs
    assert pair.mean == pytest.approx(0.02)
    assert not pair.enough_examples and pair.min_detectable > 0.05
    (caveat,) = [c for c in decision.caveats if c.lower().startswith("too few test examples")]
    assert "between rag and prompt (+0.020)" in caveat and "10 examples" in caveat
    assert f"{pair.min_detectable:.3f}" in caveat


# --- refusals ----------------------------------------------------------------------------------


def test_mismatched_fingerprints_are_refused() -> None:
    old = arm("prompt", MIXED, fingerprint="fp-aaa")
    new = arm("rag", MIXED, fingerprint="fp-bbb")
    with pytest.raises(DataError) as raised:
        decide([old, new], CFG, "t")
    text = str(raised.value)
    assert "prompt (fp-aaa)" in text and "rag (fp-bbb)" in text
    assert "re-run the stale arms on the same test split" in text


def test_mismatched_ids_are_refused() -> None:
    full = arm("prompt", MIXED)
    partial = arm("rag", MIXED[:98])
    with pytest.raises(DataError, match="2 ids differ"):
        decide([full, partial], CFG, "t")


def test_empty_evidence_mixed_metrics_and_bad_config_are_refused() -> None:
    with pytest.raises(DataError):
        decide([], CFG, "t")
    other_metric = ArmEvidence(**{**arm("rag", MIXED).__dict__, "metric": "token_f1"})
    with pytest.raises(DataError, match="different metrics"):
        decide([arm("prompt", MIXED), other_metric], CFG, "t")
    with pytest.raises(ConfigError, match="confidence"):
        decide([arm("prompt", MIXED)], DecisionConfig(confidence=1.5), "t")


# --- caveats -----------------------------------------------------------------------------------


def test_caveats_name_stale_arms_warnings_forgetting_redteam_and_missing_strategies() -> None:
    prompt = arm("prompt", MIXED, stale=True, redteam_pass_rate=0.9)
    tuned = arm(
        "tuned",
        MIXED,
        strategy="finetune",
        regression_score=0.58,
        regression_baseline=0.7,
        warnings=("3 test items also appear in the training file",),
    )
    study = DecisionConfig(resamples=2_000, seed=7, expected_arms=("prompt", "rag", "finetune"))
    caveats = decide([prompt, tuned], study, "t").caveats
    assert any(c.startswith("prompt is stale") for c in caveats)
    assert "tuned: 3 test items also appear in the training file" in caveats
    assert any("tuned forgot" in c and "from 0.700 to 0.580 (−0.120)" in c for c in caveats)
    assert "Red-team failures: pass rates are prompt 90.0%." in caveats
    assert "No rag arm was run." in caveats
    assert not any("finetune arm" in c or "prompt arm" in c for c in caveats)


# --- determinism -------------------------------------------------------------------------------


def test_same_inputs_and_seed_give_the_identical_decision() -> None:
    arms = [arm("prompt", WEAK), arm("rag", STRONG, usd_per_call=0.002), arm("ft", MIXED * 2)]
    first = decide(arms, CFG, "t")
    assert decide(arms, CFG, "t") == first
    assert decision_as_dict(decide(arms, CFG, "t")) == decision_as_dict(first)
    # the order of ids in the score dicts must not matter either
    shuffled = [
        ArmEvidence(**{**a.__dict__, "scores": dict(reversed(list(a.scores.items())))})
        for a in arms
    ]
    assert decide(shuffled, CFG, "t") == first
    assert len(first.pairs) == 3 and len(first.break_evens) == 3
