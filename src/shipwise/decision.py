"""The ship decision: which arm to ship, how sure we are, and what it costs at the team's volume.

The procedure (DESIGN.md, "The decision"), in the order ``decide`` runs it:

0. Refuse to compare arms that did not see the same test split: every arm must carry the same
   ``test_fingerprint``, the same metric, and scores for exactly the same example ids. Arms are
   paired by example id, taken in sorted order so nothing depends on dict order.
1. Per arm: the primary metric with a BCa bootstrap interval (the metric is recomputed on every
   resample, so corpus metrics such as macro-F1 get honest intervals); monthly cost = compute
   (calls x $ per call + setup $ x refreshes) + people (``costs``).
2. Every pair (a, b): a paired interval for value(a) - value(b) and a paired permutation
   p-value; p-values Holm-adjusted across all pairs. The minimum detectable difference says
   whether the split could see the observed difference at all (``enough_examples``).
3. What may be shipped: an arm declared shippable (a floor such as ``majority`` never is),
   whose answers did not collapse onto one value, that beats every floor arm with confidence
   (the paired interval against it lies above zero), and that meets every constraint
   (quality judged by its interval's lower bound).
4. best = the shippable arm with the highest score. Candidates = best, and every shippable
   arm whose paired interval against best lies above -``margin``: non-inferiority shown, not
   merely "not significantly worse". Ship the cheapest candidate by monthly cost; candidates
   within 5% of the cheapest go to the simplest (the arms' declared ``simplicity``).
5. A cheaper arm that is neither shown within the margin nor shown worse than it is
   unsettled: the verdict says so, with the test examples that would settle it (from the
   observed width of its interval), and the best arm is shipped meanwhile.
6. Caveats and break-even volumes (``verdict``, ``costs``); for a free-text task, each arm's
   style rule pass rates and a few test examples with every arm's reply (``replies``).

Every resampling uses ``config.seed``, and the arms are taken simplest first (then by name)
whatever order they arrive in, so the same runs give the identical Decision: a sweep's and a
later ``shipwise-decide``'s agree to the last digit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import combinations
from statistics import NormalDist

import numpy as np

from shipwise.answers import collapsed, distribution
from shipwise.costs import arm_cost, break_even
from shipwise.decision_types import (
    SCHEMA_VERSION,
    ArmEvidence,
    ArmVerdict,
    BreakEven,
    Constraints,
    Decision,
    DecisionConfig,
    PairComparison,
    oriented,
)
from shipwise.errors import ConfigError, DataError
from shipwise.evaluation.aggregates import Metric
from shipwise.evaluation.stats import interval, paired_interval, paired_p_value
from shipwise.replies import pass_rates, side_by_side
from shipwise.verdict import caveats, failure_sentences, verdict

NEAR_CHEAPEST = 0.05  # candidates within 5% of the cheapest monthly cost compete on simplicity
_EPS = 1e-9  # slack on limits, so 1000 * 0.0041 (= 4.1000000000000005) meets a limit of 4.1


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order, monotone and capped at 1."""
    m = len(p_values)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda j: p_values[j])):
        # a smaller raw p never gets a larger adjusted p than a bigger one: carry the maximum
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def min_detectable(low: float, high: float, confidence: float, power: float) -> float:
    """Smallest true difference a paired test would detect with ``power``, from the interval.

    The interval's half-width is z_{1-alpha/2} x the standard error; the detectable difference
    is (z_{1-alpha/2} + z_power) x that standard error.
    """
    z = NormalDist().inv_cdf
    z_alpha = z(1 - (1 - confidence) / 2)
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return math.inf
    return (z_alpha + z(power)) * (high - low) / (2 * z_alpha)


def examples_to_settle(n: int, mean: float, low: float, high: float, margin: float) -> int | None:
    """Test examples that would settle whether (arm - best) is within -margin, if the observed
    difference held: enough to lift the interval above -margin when the mean is inside it, or to
    push it below when the mean is outside. None when no n would (the mean sits on -margin)."""
    if mean > -margin:
        room, half = mean + margin, mean - low
    else:
        room, half = -margin - mean, high - mean
    if room <= 0 or not (math.isfinite(low) and math.isfinite(high)) or half <= 0:
        return None
    return max(n + 1, math.ceil(round(n * (half / room) ** 2, 6)))  # 2500.0000001 is 2500


def decide(
    evidence: Sequence[ArmEvidence],
    config: DecisionConfig,
    task: str,
    metric: Metric,
    free_text: bool = False,
    shared: Sequence[str] = (),
    absent: Mapping[str, str] | None = None,
    own: Mapping[str, Sequence[str]] | None = None,
) -> Decision:
    """Compare the arms on the shared test split and decide which one to ship (module doc).

    ``free_text``: the task's answers are text, so the report shows example replies.
    ``shared``: settings every arm ran with, left out of their names (the report lists them);
    ``own``: an arm's other settings, where its name is its strategy alone.
    ``absent``: why an arm of the study has no run, where known (skipped, failed).
    """
    # One order whatever order the runs came in (a sweep's, or the tracking store's): a pair's
    # sides, its bootstrap interval (not symmetric when scores tie) and every table follow it.
    evidence = sorted(evidence, key=lambda e: (e.simplicity, e.name))
    ids = _check(evidence, config)
    table = {e.name: _matrix(e, ids) for e in evidence}
    pairs = _compare(evidence, table, metric, config)
    by_pair = {(p.a, p.b): p for p in pairs}
    draft = [_arm(e, table[e.name], ids, metric, config) for e in evidence]
    floors = [v.name for v in draft if not v.shippable]
    draft = [_judge(v, floors, by_pair, e, config) for v, e in zip(draft, evidence, strict=True)]
    ship, best, arms = _choose(draft, by_pair, config)
    first = evidence[0]
    references = distribution(first.references.values()) if first.references else []
    return Decision(
        schema_version=SCHEMA_VERSION,
        task=task,
        metric=first.metric,
        test_fingerprint=first.test_fingerprint,
        ship=ship,
        best=best,
        verdict=verdict(ship, best, arms, by_pair, config, first.metric),
        arms=arms,
        pairs=pairs,
        break_evens=tuple(
            BreakEven(a.name, b.name, break_even(a, b, config))
            for a, b in combinations(evidence, 2)
        ),
        caveats=tuple(
            [
                *caveats(evidence, arms, pairs, config, len(ids), absent),
                *_left_out(len(first.scores) - len(ids)),
            ]
        ),
        config=config,
        reference_answers=tuple(references),
        examples=side_by_side(evidence, ids, config.seed) if free_text else (),
        shared_settings=tuple(shared),
        arm_settings={name: tuple(s) for name, s in (own or {}).items()},
    )


def _check(evidence: Sequence[ArmEvidence], config: DecisionConfig) -> list[str]:
    """Refuse what cannot be compared; return the shared test ids, sorted."""
    for key, ok in (
        ("confidence", 0 < config.confidence < 1),
        ("power", 0 < config.power < 1),
        ("resamples", config.resamples >= 1),
        ("margin", config.margin >= 0),
        ("horizon_months", config.horizon_months > 0),
        ("hourly_rate_usd", config.hourly_rate_usd >= 0),
    ):
        if not ok:
            value = getattr(config, key)
            raise ConfigError(
                f"{key} {value} is out of range",
                where=f"decision.{key}",
                fix="confidence and power lie between 0 and 1; resamples >= 1; margin, the"
                " hourly rate >= 0; the horizon > 0 months",
            )
    if not evidence:
        raise DataError(
            "there are no arms to decide between",
            fix="run at least one arm on the test split first",
        )
    names = [e.name for e in evidence]
    if len(set(names)) < len(names):
        raise DataError(f"arm names repeat: {', '.join(names)}", fix="give every arm its own name")
    if len({e.test_fingerprint for e in evidence}) > 1:
        listed = ", ".join(f"{e.name} ({e.test_fingerprint})" for e in evidence)
        raise DataError(
            f"the arms were scored on different test splits: {listed}",
            fix="re-run the stale arms on the same test split, then decide again",
        )
    if len({e.metric for e in evidence}) > 1:
        listed = ", ".join(f"{e.name} ({e.metric})" for e in evidence)
        raise DataError(
            f"the arms were scored with different metrics: {listed}",
            fix="score every arm with the task's primary metric",
        )
    first = evidence[0]
    for e in evidence[1:]:
        differ = len(set(e.scores) ^ set(first.scores))
        if differ:
            raise DataError(
                f"{e.name} and {first.name} were scored on different test examples: "
                f"{differ} ids differ",
                fix="re-run the arms on the whole test split",
            )
    if not first.scores:
        raise DataError("the arms have no test scores", fix="run the arms on the test split")
    for e in evidence:
        if any(math.isinf(x) for row in e.scores.values() for x in row):
            raise DataError(
                f"{e.name} has an infinite score",
                fix="check the evaluator's output for that run",
            )
    # NaN: an example the metric could not score for that arm (a judge's unparsable answer);
    # pairs need both arms scored, so it leaves the comparison for every arm
    ids = sorted(i for i in first.scores if not _unscored(evidence, i))
    if not ids:
        raise DataError(
            "no test example was scored for every arm (the metric gave NaN)",
            fix="check the judge's answers in the predictions tables, then re-run",
        )
    return ids


def _unscored(evidence: Sequence[ArmEvidence], example: str) -> bool:
    return any(math.isnan(x) for e in evidence for x in e.scores[example])


def _left_out(count: int) -> list[str]:
    if not count:
        return []
    return [
        f"{count} test examples were left out of every comparison: the metric could not score"
        " them for at least one arm (for a judge: an answer it could not read)."
    ]


def _matrix(e: ArmEvidence, ids: Sequence[str]) -> np.ndarray:
    """(columns, n): the arm's per-example metric columns in the shared id order."""
    return np.array([list(e.scores[i]) for i in ids], dtype=float).T


def _compare(
    evidence: Sequence[ArmEvidence],
    table: dict[str, np.ndarray],
    metric: Metric,
    config: DecisionConfig,
) -> tuple[PairComparison, ...]:
    raw = []
    for a, b in combinations(evidence, 2):
        x, y = table[a.name], table[b.name]
        iv = paired_interval(x, y, metric, config.resamples, config.confidence, config.seed)
        p = paired_p_value(x, y, metric, config.resamples, config.seed)
        mdd = min_detectable(iv.low, iv.high, config.confidence, config.power)
        raw.append((a.name, b.name, iv, p, mdd))
    alpha = 1 - config.confidence
    return tuple(
        PairComparison(
            a, b, iv.mean, iv.low, iv.high, p, p_holm, p_holm < alpha, mdd, abs(iv.mean) >= mdd
        )
        for (a, b, iv, p, mdd), p_holm in zip(raw, holm([r[3] for r in raw]), strict=True)
    )


def _arm(
    e: ArmEvidence,
    scores: np.ndarray,
    ids: Sequence[str],
    metric: Metric,
    config: DecisionConfig,
) -> ArmVerdict:
    iv = interval(scores, metric, config.resamples, config.confidence, config.seed)
    cost = arm_cost(e, config)
    return ArmVerdict(
        name=e.name,
        strategy=e.strategy,
        simplicity=e.simplicity,
        run_id=e.run_id,
        mean=iv.mean,
        low=iv.low,
        high=iv.high,
        n=iv.n,
        usd_per_1k_calls=1000 * e.usd_per_call,
        setup_usd=e.setup_usd,
        compute_monthly_usd=cost.compute_usd,
        people_monthly_usd=cost.people_usd,
        monthly_usd=cost.total_usd,
        latency_p95_s=e.latency_p95_s,
        feasible=False,  # judged once the floors are known
        failures=(),
        candidate=False,
        shippable=e.shippable,
        top_answers=tuple(distribution(e.answers.values())) if e.answers else (),
        style=pass_rates(e.style, ids),
        stale=e.stale,
        retrieval=dict(e.retrieval),
    )


def _judge(
    v: ArmVerdict,
    floors: Sequence[str],
    by_pair: dict[tuple[str, str], PairComparison],
    e: ArmEvidence,
    config: DecisionConfig,
) -> ArmVerdict:
    """Whether the arm may be shipped, with one plain sentence per reason it may not."""
    if not v.shippable:
        return replace(v, failures=("it is a floor to measure the others against",))
    collapse = collapsed(e.answers, e.references, config.collapse) if e.answers else None
    others = [f for f in floors if f != v.name]
    beaten = [oriented(by_pair, v.name, f) for f in others]
    beats = all(d.low > 0 for d in beaten) if beaten else None
    failures = failure_sentences(e, v.low, config.constraints, collapse, beaten, _EPS)
    return replace(
        v,
        feasible=not failures,
        failures=tuple(failures),
        collapsed=collapse is not None,
        beats_floor=beats,
    )


def _choose(
    arms: Sequence[ArmVerdict],
    by_pair: dict[tuple[str, str], PairComparison],
    config: DecisionConfig,
) -> tuple[str | None, str | None, tuple[ArmVerdict, ...]]:
    """(arm to ship, best arm, the verdicts with candidates and settle sizes filled in)."""
    feasible = [v for v in arms if v.feasible]
    if not feasible:
        return None, None, tuple(arms)
    best = max(feasible, key=lambda v: v.mean)  # the first in input order on a tie
    judged = []
    for v in arms:
        if not v.feasible:
            judged.append(v)
            continue
        if v is best:
            judged.append(replace(v, candidate=True))
            continue
        d = oriented(by_pair, v.name, best.name)
        candidate = d.low > -config.margin
        settled = candidate or d.high < -config.margin  # inside, or shown outside, the margin
        settle = None if settled else examples_to_settle(v.n, d.mean, d.low, d.high, config.margin)
        judged.append(replace(v, candidate=candidate, settle_n=settle))
    candidates = [v for v in judged if v.candidate]
    cheapest = min(v.monthly_usd for v in candidates)
    near = [v for v in candidates if v.monthly_usd <= cheapest * (1 + NEAR_CHEAPEST) + _EPS]
    ship = min(near, key=lambda v: (v.simplicity, v.monthly_usd))
    return ship.name, best.name, tuple(judged)


__all__ = ["Constraints", "decide", "examples_to_settle", "holm", "min_detectable"]
