"""The ship decision on synthetic score tables whose right answer is known by construction."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from shipwise.costs import break_even, monthly_cost
from shipwise.decision import decide, examples_to_settle, holm, min_detectable
from shipwise.decision_types import (
    ArmEvidence,
    Constraints,
    Decision,
    DecisionConfig,
    Effort,
    decision_as_dict,
)
from shipwise.errors import ConfigError, DataError
from shipwise.evaluation.aggregates import MacroF1, Mean
from shipwise.evaluation.stats import bootstrap_mean

ACC = Mean("accuracy")
CFG = DecisionConfig(resamples=1_000, seed=7)
SIMPLICITY = {"majority": 0, "knn": 1, "prompt": 2, "rag": 3, "finetune": 4}

# 200 examples: rag gets 160 right (0.8), prompt 80 (0.4), and prompt's hits are a subset of rag's
STRONG = [1.0] * 160 + [0.0] * 40
WEAK = [1.0] * 80 + [0.0] * 120
# 400 examples, about half right, in no neat order
MIXED = np.random.default_rng(3).integers(0, 2, 400).astype(float).tolist()


def arm(
    name: str,
    scores: Sequence[float],
    *,
    strategy: str | None = None,
    usd_per_call: float = 0.001,
    setup_usd: float = 0.0,
    latency: float = 0.5,
    fingerprint: str = "fp-test-1",
    answers: Sequence[str] | None = None,
    references: Sequence[str] | None = None,
    **extra: Any,
) -> ArmEvidence:
    kind = strategy or name
    ids = [f"ex{i:03d}" for i in range(len(scores))]
    return ArmEvidence(
        name=name,
        strategy=kind,
        kind=kind,
        simplicity=SIMPLICITY.get(kind, 9),
        run_id=f"run-{name}",
        metric="accuracy",
        scores={i: (float(s),) for i, s in zip(ids, scores, strict=True)},
        test_fingerprint=fingerprint,
        usd_per_call=usd_per_call,
        setup_usd=setup_usd,
        latency_p95_s=latency,
        answers=dict(zip(ids, answers, strict=True)) if answers else {},
        references=dict(zip(ids, references, strict=True)) if references else {},
        shippable=kind != "majority",
        **extra,
    )


def with_constraints(**limits: float) -> DecisionConfig:
    return DecisionConfig(resamples=1_000, seed=7, constraints=Constraints(**limits))


def verdict_of(decision: Decision, name: str) -> Any:
    return next(v for v in decision.arms if v.name == name)


def worse_by(scores: Sequence[float], wrong: int) -> list[float]:
    """``scores`` with ``wrong`` of its right answers turned wrong (a paired, smaller score)."""
    out = list(scores)
    for i in [i for i, s in enumerate(out) if s == 1.0][:wrong]:
        out[i] = 0.0
    return out


# --- the rule: non-inferiority, then cost, then simplicity --------------------------------------


def test_equal_quality_ships_the_cheaper_arm() -> None:
    prompt = arm("prompt", MIXED, usd_per_call=0.002)  # $200/month at 100k calls
    rag = arm("rag", MIXED, usd_per_call=0.001)  # $100/month
    decision = decide([prompt, rag], CFG, "t", ACC)
    assert decision.ship == "rag"
    (pair,) = decision.pairs
    assert pair.mean == 0 and not pair.significant and pair.p_value == 1.0
    assert all(v.candidate for v in decision.arms)
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
    decision = decide([rag, prompt], CFG, "t", ACC)  # input order must not decide it
    assert decision.ship == ships


def test_a_significantly_better_arm_ships_even_though_it_costs_more() -> None:
    prompt = arm("prompt", WEAK, usd_per_call=0.001)
    rag = arm("rag", STRONG, usd_per_call=0.01, setup_usd=20.0)
    decision = decide([prompt, rag], CFG, "t", ACC)
    assert decision.ship == "rag" and decision.best == "rag"
    (pair,) = decision.pairs
    assert (pair.a, pair.b) == ("prompt", "rag")
    assert pair.mean == pytest.approx(-0.4)
    assert pair.significant and pair.high < 0 and pair.p_holm < 0.05 and pair.enough_examples
    assert not verdict_of(decision, "prompt").candidate
    assert "prompt is worse than rag by more than the margin (−0.400 [" in decision.verdict
    assert verdict_of(decision, "rag").monthly_usd == pytest.approx(100_000 * 0.01 + 20.0)


def test_not_significantly_worse_is_not_enough_to_ship_the_cheaper_arm() -> None:
    """The old rule's failure: a small split waves the cheapest arm through. Now the split
    must show the cheaper arm within the margin; when it cannot, the verdict says what would."""
    best = MIXED[:200]
    cheap = worse_by(best, 2)  # 0.01 worse on 200 examples: well within noise
    decision = decide(
        [arm("prompt", cheap, usd_per_call=0.001), arm("rag", best, usd_per_call=0.003)],
        CFG,
        "t",
        ACC,
    )
    (pair,) = decision.pairs
    assert not pair.significant and pair.low < -CFG.margin  # neither worse nor shown equal
    assert decision.ship == "rag"
    prompt = verdict_of(decision, "prompt")
    assert not prompt.candidate and prompt.settle_n is not None and prompt.settle_n > 200
    assert "Unsettled: prompt is cheaper ($100.00/month)" in decision.verdict
    # the headline says so too: the best arm ships only until the split can tell
    assert decision.verdict.startswith("Ship rag for now: accuracy ")
    assert "This is provisional: prompt costs less, and 200 test examples cannot tell" in (
        decision.verdict
    )
    assert f"about {prompt.settle_n:,} test examples would tell" in decision.verdict
    assert "(it would then be within the margin)" in decision.verdict  # −0.010 is inside it


def test_a_cheaper_arm_shown_within_the_margin_ships() -> None:
    best = STRONG * 10  # 2,000 examples
    cheap = worse_by(best, 10)  # 0.005 worse, on examples where they otherwise agree
    decision = decide(
        [arm("prompt", cheap, usd_per_call=0.001), arm("rag", best, usd_per_call=0.003)],
        CFG,
        "t",
        ACC,
    )
    (pair,) = decision.pairs
    assert pair.low > -CFG.margin and pair.significant  # worse, but by less than the margin
    assert decision.ship == "prompt" and decision.best == "rag"
    assert "It is within the 0.02 margin of the best arm, rag (prompt − rag: −0.005 [" in (
        decision.verdict
    )


def test_the_margin_is_the_users_to_set() -> None:
    best = STRONG[:100]
    arms = [
        arm("prompt", worse_by(best, 2), usd_per_call=0.001),
        arm("rag", best, usd_per_call=0.003),
    ]
    assert decide(arms, CFG, "t", ACC).ship == "rag"
    loose = DecisionConfig(resamples=1_000, seed=7, margin=0.1)
    assert decide(arms, loose, "t", ACC).ship == "prompt"


def test_examples_to_settle_by_hand() -> None:
    # half-width 0.05 at n=100 and an observed -0.01 against a 0.02 margin: room is 0.01,
    # so the half-width must shrink 5x: 25x the examples
    assert examples_to_settle(100, -0.01, -0.06, 0.04, 0.02) == 2_500
    # observed −0.03, outside the margin by 0.01, upper end +0.02: 0.05 must shrink 5x to show it
    assert examples_to_settle(100, -0.03, -0.08, 0.02, 0.02) == 2_500
    assert examples_to_settle(100, -0.02, -0.07, 0.03, 0.02) is None  # on the margin: no n would


# --- floors and collapsed answers ---------------------------------------------------------------

YES_NO = ["yes"] * 22 + ["no"] * 18  # references: 55% yes


def test_an_arm_that_collapses_onto_one_answer_is_not_shippable() -> None:
    """The fine-tune that answered "yes" to 40 of 40, exactly the majority baseline."""
    majority = arm("majority", [float(r == "yes") for r in YES_NO], usd_per_call=0.0,
                   answers=["yes"] * 40, references=YES_NO)  # fmt: skip
    tuned = arm("finetune", [float(r == "yes") for r in YES_NO], usd_per_call=0.00001,
                answers=["yes"] * 40, references=YES_NO)  # fmt: skip
    honest = [r if i % 10 else ("no" if r == "yes" else "yes") for i, r in enumerate(YES_NO)]
    prompt = arm("prompt", [float(a == r) for a, r in zip(honest, YES_NO, strict=True)],
                 usd_per_call=0.001, answers=honest, references=YES_NO)  # fmt: skip
    decision = decide([majority, tuned, prompt], CFG, "t", ACC)
    assert decision.ship == "prompt"
    failed = verdict_of(decision, "finetune")
    assert not failed.feasible and failed.collapsed and failed.beats_floor is False
    assert "its answers collapsed: it answers 'yes' to 40 of 40" in failed.failures
    assert any(
        f.startswith("it does no better than majority with confidence") for f in failed.failures
    )
    assert "finetune cannot be shipped: its answers collapsed" in decision.verdict
    assert "Floor: majority scores 0.550" in decision.verdict
    assert verdict_of(decision, "majority").failures == (
        "it is a floor to measure the others against",
    )
    assert any("finetune answers 'yes' 100%" in c for c in decision.caveats)


def test_nothing_ships_when_no_arm_beats_the_floor() -> None:
    floor = arm("majority", WEAK, usd_per_call=0.0)
    same = arm("prompt", WEAK, usd_per_call=0.001)
    decision = decide([floor, same], CFG, "t", ACC)
    assert decision.ship is None
    assert decision.verdict.startswith("Ship nothing: no arm can be shipped (prompt: it does no")


def test_without_a_floor_the_decision_says_nothing_checked_it() -> None:
    decision = decide([arm("prompt", MIXED)], CFG, "t", ACC)
    assert decision.ship == "prompt"
    assert verdict_of(decision, "prompt").beats_floor is None
    assert any(c.startswith("No floor arm") for c in decision.caveats)


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
    assert decide([CHEAP_WEAK, EXPENSIVE_STRONG], CFG, "t", ACC).ship == "tuned"


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
    decision = decide([CHEAP_WEAK, EXPENSIVE_STRONG], with_constraints(**limits), "t", ACC)
    assert decision.ship == "prompt"
    tuned = verdict_of(decision, "tuned")
    assert not tuned.feasible and list(tuned.failures) == [sentence]
    assert f"tuned cannot be shipped: {sentence}" in decision.verdict


def test_min_quality_is_judged_on_the_lower_bound() -> None:
    # rag has the higher mean (0.62) but a wide interval; prompt scores 0.60 on every example
    noisy = [1.0] * 31 + [0.0] * 19
    steady = [0.6] * 50
    decision = decide(
        [arm("prompt", steady), arm("rag", noisy)], with_constraints(min_quality=0.55), "t", ACC
    )
    low = bootstrap_mean(noisy, 1_000, 0.95, 7).low
    assert low < 0.55
    assert decision.ship == "prompt"
    assert list(verdict_of(decision, "rag").failures) == [
        f"quality lower bound {low:.3f} is below the minimum 0.550"
    ]


def test_no_feasible_arm_ships_nothing_and_lists_every_failure() -> None:
    slow = arm("prompt", WEAK, latency=3.0)
    unmeasured = arm("rag", STRONG, latency=0.2)  # no red-team result
    limits = with_constraints(max_p95_latency_s=1.0, min_redteam_pass_rate=0.9)
    decision = decide([slow, unmeasured], limits, "t", ACC)
    assert decision.ship is None and not any(v.feasible for v in decision.arms)
    assert "prompt: p95 latency 3.00 s is above the maximum 1.00 s and red-team pass rate" in (
        decision.verdict
    )
    assert "rag: red-team pass rate was not measured, and the minimum is 0.900" in decision.verdict


# --- costs: compute and people ------------------------------------------------------------------


def test_monthly_cost_and_break_even_by_hand() -> None:
    a = arm("a", MIXED, usd_per_call=0.001, setup_usd=50.0)
    b = arm("b", MIXED, usd_per_call=0.003, setup_usd=0.0)
    twice = DecisionConfig(resamples=200, refreshes_per_month=2.0)
    # 0.001 x + 100 = 0.003 x  ->  x = 50,000 calls/month
    assert break_even(a, b, twice) == pytest.approx(50_000)
    assert break_even(b, a, twice) == pytest.approx(50_000)
    assert monthly_cost(0.001, 50.0, 50_000, 2.0) == pytest.approx(
        monthly_cost(0.003, 0, 50_000, 2)
    )
    assert break_even(a, arm("c", MIXED, setup_usd=0.0), twice) is None  # parallel lines
    cheaper_everywhere = arm("d", MIXED, usd_per_call=0.0005, setup_usd=10.0)
    assert break_even(a, cheaper_everywhere, twice) is None  # cross only at negative volume
    (even,) = decide([a, b], twice, "t", ACC).break_evens
    assert (even.a, even.b) == ("a", "b") and even.calls_per_month == pytest.approx(50_000)


def test_people_time_is_costed_per_month_and_moves_the_break_even() -> None:
    effort = {"prompt": Effort(12, 1), "finetune": Effort(24, 4)}
    config = DecisionConfig(
        resamples=200, hourly_rate_usd=100, horizon_months=12, refreshes_per_month=2, effort=effort
    )
    prompt = arm("prompt", MIXED, usd_per_call=0.002)
    tuned = arm("tuned", MIXED, strategy="finetune", usd_per_call=0.0002, setup_usd=10.0)
    decision = decide([prompt, tuned], config, "t", ACC)
    p, t = verdict_of(decision, "prompt"), verdict_of(decision, "tuned")
    assert p.people_monthly_usd == pytest.approx(100 * (12 / 12 + 1 * 2))  # $300
    assert t.people_monthly_usd == pytest.approx(100 * (24 / 12 + 4 * 2))  # $1,000
    assert t.compute_monthly_usd == pytest.approx(100_000 * 0.0002 + 10 * 2)
    assert t.monthly_usd == pytest.approx(t.compute_monthly_usd + t.people_monthly_usd)
    # 0.002 x + 300 = 0.0002 x + 20 + 1000  ->  x = 400,000 calls/month
    (even,) = decision.break_evens
    assert even.calls_per_month == pytest.approx(400_000)
    assert decision.ship == "prompt"  # equal quality: prompt's $500 beats the tune's $1,040
    compute_only = DecisionConfig(resamples=200, refreshes_per_month=2, effort=effort)
    assert decide([prompt, tuned], compute_only, "t", ACC).ship == "tuned"


def test_a_kind_without_an_effort_estimate_is_named() -> None:
    config = DecisionConfig(resamples=200, hourly_rate_usd=50, effort={"prompt": Effort(1, 0)})
    caveats = decide([arm("prompt", MIXED), arm("agent", MIXED)], config, "t", ACC).caveats
    assert "No people-time estimate for agent (decision.effort)" in " ".join(caveats)


# --- corpus metrics -----------------------------------------------------------------------------


def test_a_corpus_metric_is_recomputed_on_every_resample() -> None:
    """Macro-F1 over 3 labels: the majority label gets accuracy, not macro-F1."""
    gold = [0] * 60 + [1] * 20 + [2] * 20

    def labelled(name: str, predicted: Sequence[int], **kw: Any) -> ArmEvidence:
        e = arm(name, [0.0] * len(gold), **kw)
        scores = {
            i: (float(p), float(g)) for i, p, g in zip(e.scores, predicted, gold, strict=True)
        }
        return ArmEvidence(**{**e.__dict__, "metric": "macro_f1", "scores": scores})

    floor = labelled("majority", [0] * 100, usd_per_call=0.0)
    good = labelled("prompt", [g if i % 4 else (g + 1) % 3 for i, g in enumerate(gold)])
    decision = decide([floor, good], CFG, "t", MacroF1("macro_f1", 3))
    assert verdict_of(decision, "majority").mean == pytest.approx((2 * 60 / 160) / 3)
    assert decision.ship == "prompt" and verdict_of(decision, "prompt").beats_floor


# --- statistics --------------------------------------------------------------------------------


def test_holm_by_hand() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.6]) == [1.0, 1.0]  # 2 * 0.5 caps at 1, and 0.6 may not undercut it
    assert holm([]) == []


def test_min_detectable_difference_from_the_interval() -> None:
    # an interval of half-width 1.96 se: detectable at 80% power is (1.96 + 0.84) se
    assert min_detectable(-0.0196, 0.0196, 0.95, 0.8) == pytest.approx(0.0280, rel=1e-3)
    assert math.isinf(min_detectable(0.5, 0.5, 0.95, 0.8))


def test_a_tiny_split_gets_the_too_few_examples_caveat() -> None:
    a = [0.5, 0.6, 0.4, 0.7, 0.3, 0.5, 0.6, 0.4, 0.7, 0.3]
    diffs = [0.12, -0.08] * 5  # a real but small gain of 0.02, in noise of about 0.1
    b = [x - d for x, d in zip(a, diffs, strict=True)]
    decision = decide([arm("rag", a), arm("prompt", b)], CFG, "t", ACC)
    (pair,) = decision.pairs  # simplest first: prompt − rag
    assert (pair.a, pair.b) == ("prompt", "rag") and pair.mean == pytest.approx(-0.02)
    assert not pair.enough_examples and pair.min_detectable > 0.05
    (caveat,) = [c for c in decision.caveats if c.lower().startswith("too few test examples")]
    assert "between prompt and rag (−0.020)" in caveat and "10 examples" in caveat


# --- refusals ----------------------------------------------------------------------------------


def test_mismatched_fingerprints_are_refused() -> None:
    old = arm("prompt", MIXED, fingerprint="fp-aaa")
    new = arm("rag", MIXED, fingerprint="fp-bbb")
    with pytest.raises(DataError) as raised:
        decide([old, new], CFG, "t", ACC)
    text = str(raised.value)
    assert "prompt (fp-aaa)" in text and "rag (fp-bbb)" in text


def test_mismatched_ids_metrics_and_settings_are_refused() -> None:
    with pytest.raises(DataError, match="2 ids differ"):
        decide([arm("prompt", MIXED), arm("rag", MIXED[:398])], CFG, "t", ACC)
    with pytest.raises(DataError, match="no arms"):
        decide([], CFG, "t", ACC)
    other_metric = ArmEvidence(**{**arm("rag", MIXED).__dict__, "metric": "token_f1"})
    with pytest.raises(DataError, match="different metrics"):
        decide([arm("prompt", MIXED), other_metric], CFG, "t", ACC)
    for bad in ({"confidence": 1.5}, {"margin": -0.1}, {"horizon_months": 0}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            decide([arm("prompt", MIXED)], DecisionConfig(**bad), "t", ACC)  # type: ignore[arg-type]


# --- caveats and determinism -------------------------------------------------------------------


@pytest.mark.parametrize(("score", "how"), [(0.69, "some"), (0.3, "most"), (0.0, "all")])
def test_the_forgetting_caveat_says_how_much_was_forgotten(score: float, how: str) -> None:
    tuned = arm("tuned", MIXED, regression_score=score, regression_baseline=0.7)
    caveats = decide([tuned], DecisionConfig(resamples=200, seed=7), "t", ACC).caveats
    assert any(c.startswith(f"tuned forgot {how} of what") for c in caveats), caveats


def test_caveats_name_stale_arms_warnings_forgetting_redteam_and_missing_arms() -> None:
    prompt = arm("prompt", MIXED, stale=True, redteam_pass_rate=0.9)
    tuned = arm(
        "tuned",
        MIXED,
        strategy="finetune",
        regression_score=0.58,
        regression_baseline=0.7,
        warnings=("3 test items also appear in the training file",),
    )
    study = DecisionConfig(resamples=500, seed=7, expected_arms=("prompt", "rag", "finetune"))
    caveats = decide([prompt, tuned], study, "t", ACC).caveats
    assert any(c.startswith("prompt is stale") for c in caveats)
    assert "tuned: 3 test items also appear in the training file" in caveats
    assert any("tuned forgot some" in c and "from 0.700 to 0.580 (−0.120)" in c for c in caveats)
    assert any(c.startswith("On the red-team split") and c.endswith("accuracy is prompt 0.900.")
               for c in caveats), caveats  # fmt: skip
    assert "No rag arm was run." in caveats
    assert not any("finetune arm" in c or "prompt arm" in c for c in caveats)


def test_same_inputs_and_seed_give_the_identical_decision() -> None:
    arms = [arm("prompt", WEAK), arm("rag", STRONG, usd_per_call=0.002), arm("ft", STRONG[::-1])]
    first = decide(arms, CFG, "t", ACC)
    assert decide(arms, CFG, "t", ACC) == first
    assert decision_as_dict(decide(arms, CFG, "t", ACC)) == decision_as_dict(first)
    # the order of ids in the score dicts must not matter either
    shuffled = [
        ArmEvidence(**{**a.__dict__, "scores": dict(reversed(list(a.scores.items())))})
        for a in arms
    ]
    assert decide(shuffled, CFG, "t", ACC) == first
    assert len(first.pairs) == 3 and len(first.break_evens) == 3


def test_examples_a_metric_could_not_score_leave_every_comparison() -> None:
    """A judge that could not read two answers: those examples leave the pairing for all."""
    judged = arm("prompt", MIXED)
    scores = dict(judged.scores)
    for i in ("ex000", "ex001"):
        scores[i] = (float("nan"),)
    judged = ArmEvidence(**{**judged.__dict__, "scores": scores})
    decision = decide([judged, arm("rag", MIXED)], CFG, "t", ACC)
    assert all(v.n == len(MIXED) - 2 for v in decision.arms)
    assert any(c.startswith("2 test examples were left out") for c in decision.caveats)
    with pytest.raises(DataError, match="infinite"):
        decide([ArmEvidence(**{**judged.__dict__, "scores": {**scores, "ex002": (math.inf,)}})],
               CFG, "t", ACC)  # fmt: skip


def test_the_decision_does_not_depend_on_the_order_the_runs_arrive_in() -> None:
    # tied 0/1 scores: a pair's BCa interval is not the mirror image of its reverse's
    runs = [
        arm("majority", [1.0] * 120 + [0.0] * 280),
        arm("prompt", worse_by(MIXED, 30)),
        arm("rag", MIXED, usd_per_call=0.002),
        arm("finetune", list(reversed(MIXED)), usd_per_call=0.0005),
    ]
    decisions = [decision_as_dict(decide(order, CFG, "t", ACC)) for order in (runs, runs[::-1])]
    assert decisions[0] == decisions[1]
    assert [p["a"] for p in decisions[0]["pairs"]][:3] == ["majority"] * 3  # simplest first


def test_an_arm_outside_the_candidates_is_named_with_its_cost_in_plain_words() -> None:
    rag = arm("rag", STRONG, usd_per_call=0.001)
    dearer = arm("prompt", worse_by(STRONG, 6), usd_per_call=0.01)
    verdict = decide([rag, dearer], CFG, "t", ACC).verdict
    assert (
        "prompt costs $1,000.00/month and scores below rag (−0.030 [−0.062, −0.010]), not shown"
        " within the 0.02 margin, so it is not a candidate." in verdict
    )
    # dearer, and its interval holds 0: a tie is as likely as a loss, and the verdict says so
    close = arm("prompt", worse_by(STRONG, 2), usd_per_call=0.01)
    verdict = decide([rag, close], CFG, "t", ACC).verdict
    assert "prompt costs $1,000.00/month and cannot be told apart from rag (−0.010 [" in verdict
    assert "a candidate only when shown within the 0.02 margin, so it is not a candidate." in (
        verdict
    )
    # cheaper and looking worse than the margin, but the split cannot show it: unsettled, with
    # the examples that would show it (−0.030 [−0.062, −0.010]: 0.020 must shrink to 0.010)
    cheaper = arm("prompt", worse_by(STRONG, 6), usd_per_call=0.0001)
    verdict = decide([arm("rag", STRONG, usd_per_call=0.01), cheaper], CFG, "t", ACC).verdict
    assert "Unsettled: prompt is cheaper ($10.00/month), but this split cannot tell" in verdict
    assert "about 808 test examples would tell, if the difference held (it would then be shown" in (
        verdict
    )


def test_worse_by_more_than_the_margin_says_when_holm_does_not_back_it() -> None:
    """An interval past the margin, from a pair that is not significant once every pair is
    counted: the verdict says both, rather than stating the first as settled."""
    base = [1.0] * 42 + [0.0] * 18
    rng = np.random.default_rng(0)
    others = [
        arm(f"x{i}", rng.integers(0, 2, 60).astype(float).tolist(), usd_per_call=0.02)
        for i in range(3)
    ]
    runs = [
        arm("rag", base, usd_per_call=0.001),
        arm("prompt", worse_by(base, 8), usd_per_call=0.01),
    ]
    decision = decide([*runs, *others], CFG, "t", ACC)
    pair = next(p for p in decision.pairs if {p.a, p.b} == {"rag", "prompt"})
    assert pair.high < -CFG.margin and not pair.significant
    assert "prompt is worse than rag by more than the margin (−0.133 [" in decision.verdict
    assert "though not significantly once every pair compared is counted (Holm p 0.100)" in (
        decision.verdict
    )


def test_a_tie_for_the_top_says_so_rather_than_scores_highest() -> None:
    perfect = [1.0] * 18  # every arm right on all 18: the split cannot order them
    runs = [
        arm("knn", perfect, usd_per_call=0.0001),
        arm("prompt", perfect, usd_per_call=0.01),
        arm("finetune", perfect, usd_per_call=0.005),
    ]
    verdict = decide(runs, CFG, "t", ACC).verdict
    assert "It ties for the highest score with prompt and finetune, and is the simplest" in verdict
    assert "scores highest" not in verdict
    assert "prompt ties with knn on this split but costs $1,000.00/month and is not shown" in (
        verdict
    )


def test_the_red_team_caveat_gives_every_arm_once_any_falls_short() -> None:
    floor = arm("majority", MIXED, redteam_pass_rate=0.167)
    knn = arm("knn", MIXED, redteam_pass_rate=1.0)
    caveats = decide([floor, knn], DecisionConfig(resamples=200, seed=7), "t", ACC).caveats
    assert any(c.endswith("accuracy is majority 0.167, knn 1.000.") for c in caveats), caveats
    perfect = arm("knn", MIXED, redteam_pass_rate=1.0)
    caveats = decide([perfect], DecisionConfig(resamples=200, seed=7), "t", ACC).caveats
    assert not any(c.startswith("On the red-team split") for c in caveats)
