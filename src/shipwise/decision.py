"""The ship decision: which arm to ship, how sure we are, and what it costs at the team's volume.

The procedure (DESIGN.md, "The decision"), in the order ``decide`` runs it:

0. Refuse to compare arms that did not see the same test split: every arm must carry the same
   ``test_fingerprint``, the same metric, and scores for exactly the same example ids. Arms are
   paired by example id, taken in sorted order so nothing depends on dict order.
1. Per arm: the mean score with a ``confidence`` percentile-bootstrap interval; monthly cost =
   calls x $ per call + setup $ x refreshes per month; $ per 1k calls = 1000 x $ per call.
2. Every pair (a, b), a before b in input order: a paired-bootstrap interval and a two-sided
   bootstrap p-value for mean(a - b), from the same resamples; p-values Holm-adjusted across all
   pairs; ``significant`` when p_holm < 1 - confidence. The minimum detectable difference,
   (z_{1-alpha/2} + z_power) x sd(a - b) / sqrt(n), says whether the split could see the observed
   difference at all (``enough_examples``).
3. Feasible arms meet every constraint in ``config.constraints``; quality is judged by the
   interval's lower bound, so an arm must be good with confidence, not just on average.
4. best = the feasible arm with the highest mean. Candidates = feasible arms not significantly
   worse than best. Ship the cheapest candidate by monthly cost; when several candidates cost within
   5% of the cheapest, ship the simplest of those (the arms' declared ``simplicity``).
   When no arm is feasible, ship nothing and say which constraints each arm fails.
5. The verdict is one plain sentence with the numbers.
6. Caveats name what the numbers cannot settle: a split too small for the observed difference,
   forgetting on the regression split, red-team failures, stale arms, every arm's warnings (e.g.
   leakage), and strategies that were never run.
7. Break-even volumes for every pair: the monthly calls at which the two cost lines cross.

Every bootstrap uses ``config.seed``, so the same inputs give the identical Decision. Sharing one
seed is deliberate: with the same n, every arm and pair is resampled on the same example indices
(common random numbers), so arms differ only by their scores, not by their luck of the draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from itertools import combinations
from statistics import NormalDist

import numpy as np

from shipwise.decision_types import (
    SCHEMA_VERSION,
    ArmEvidence,
    ArmVerdict,
    BreakEven,
    Constraints,
    Decision,
    DecisionConfig,
    PairComparison,
)
from shipwise.errors import ConfigError, DataError
from shipwise.evaluation.stats import Interval, bootstrap_mean

NEAR_CHEAPEST = 0.05  # candidates within 5% of the cheapest monthly cost compete on simplicity
_EPS = 1e-9  # slack on limits, so 1000 * 0.0041 (= 4.1000000000000005) meets a limit of 4.1


def monthly_cost(
    usd_per_call: float, setup_usd: float, calls_per_month: float, refreshes_per_month: float
) -> float:
    """Monthly $: every call, plus one setup (index build, training) per refresh."""
    return calls_per_month * usd_per_call + setup_usd * refreshes_per_month


def break_even(a: ArmEvidence, b: ArmEvidence, refreshes_per_month: float) -> float | None:
    """Monthly calls at which a and b cost the same; None if the lines never cross above zero."""
    slope = a.usd_per_call - b.usd_per_call
    if slope == 0:
        return None  # parallel lines: one arm is cheaper at every volume
    calls = (b.setup_usd - a.setup_usd) * refreshes_per_month / slope
    return calls if calls > 0 else None


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


def min_detectable_difference(diffs: Sequence[float], confidence: float, power: float) -> float:
    """Smallest true mean difference a paired test on ``diffs`` would detect with ``power``."""
    d = np.asarray(diffs, dtype=float)
    if len(d) < 2:
        return math.inf  # one example cannot say how much the difference varies
    z = NormalDist().inv_cdf
    return (z(1 - (1 - confidence) / 2) + z(power)) * float(d.std(ddof=1)) / math.sqrt(len(d))


def _paired_test(
    diffs: np.ndarray, resamples: int, confidence: float, seed: int
) -> tuple[Interval, float]:
    """Percentile interval of mean(diffs) and its two-sided bootstrap p-value, from one draw.

    Draws exactly what ``stats.paired_bootstrap_diff`` draws (same seed, same index matrix), so the
    interval is identical to it and the p-value agrees with it.
    """
    n = len(diffs)
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    p = min(1.0, 2 * min(float(np.mean(means <= 0)), float(np.mean(means >= 0))))
    return Interval(float(diffs.mean()), float(low), float(high), n), p


def decide(evidence: Sequence[ArmEvidence], config: DecisionConfig, task: str) -> Decision:
    """Compare the arms on the shared test split and decide which one to ship (see module doc)."""
    ids = _check(evidence, config)
    table = {e.name: np.array([e.scores[i] for i in ids], dtype=float) for e in evidence}
    pairs = _compare(evidence, table, config)
    by_pair = {(p.a, p.b): p for p in pairs}
    draft = [_arm(e, table[e.name], config) for e in evidence]
    ship, candidates, best = _choose(draft, by_pair)
    arms = tuple(replace(v, not_worse_than_best=v.name in candidates) for v in draft)
    return Decision(
        schema_version=SCHEMA_VERSION,
        task=task,
        metric=evidence[0].metric,
        test_fingerprint=evidence[0].test_fingerprint,
        ship=ship,
        verdict=_verdict(ship, best, arms, by_pair, config, evidence[0].metric),
        arms=arms,
        pairs=pairs,
        break_evens=tuple(
            BreakEven(a.name, b.name, break_even(a, b, config.refreshes_per_month))
            for a, b in combinations(evidence, 2)
        ),
        caveats=tuple(_caveats(evidence, pairs, config, len(ids))),
        config=config,
    )


def _check(evidence: Sequence[ArmEvidence], config: DecisionConfig) -> list[str]:
    """Refuse what cannot be compared; return the shared test ids, sorted."""
    for key, ok in (
        ("confidence", 0 < config.confidence < 1),
        ("power", 0 < config.power < 1),
        ("resamples", config.resamples >= 1),
    ):
        if not ok:
            value = getattr(config, key)
            raise ConfigError(
                f"{key} {value} is out of range",
                where=f"decision.{key}",
                fix="confidence and power lie between 0 and 1; resamples >= 1",
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
        if not all(math.isfinite(s) for s in e.scores.values()):
            raise DataError(
                f"{e.name} has a score that is not a finite number",
                fix="check the evaluator's output for that run",
            )
    return sorted(first.scores)


def _compare(
    evidence: Sequence[ArmEvidence], table: dict[str, np.ndarray], config: DecisionConfig
) -> tuple[PairComparison, ...]:
    raw = []
    for a, b in combinations(evidence, 2):
        diffs = table[a.name] - table[b.name]
        interval, p = _paired_test(diffs, config.resamples, config.confidence, config.seed)
        mdd = min_detectable_difference(diffs, config.confidence, config.power)
        raw.append((a.name, b.name, interval, p, mdd))
    alpha = 1 - config.confidence
    return tuple(
        PairComparison(
            a, b, iv.mean, iv.low, iv.high, p, p_holm, p_holm < alpha, mdd, abs(iv.mean) >= mdd
        )
        for (a, b, iv, p, mdd), p_holm in zip(raw, holm([r[3] for r in raw]), strict=True)
    )


def _oriented(by_pair: dict[tuple[str, str], PairComparison], x: str, y: str) -> PairComparison:
    """The comparison of x - y, flipping the stored (y, x) one when needed."""
    if (x, y) in by_pair:
        return by_pair[(x, y)]
    p = by_pair[(y, x)]
    return replace(p, a=x, b=y, mean=-p.mean, low=-p.high, high=-p.low)


def _arm(e: ArmEvidence, scores: np.ndarray, config: DecisionConfig) -> ArmVerdict:
    iv = bootstrap_mean(scores.tolist(), config.resamples, config.confidence, config.seed)
    failures = _failures(e, iv.low, config.constraints)
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
        monthly_usd=monthly_cost(
            e.usd_per_call, e.setup_usd, config.calls_per_month, config.refreshes_per_month
        ),
        latency_p95_s=e.latency_p95_s,
        feasible=not failures,
        failures=tuple(failures),
        not_worse_than_best=False,  # set once the best arm is known
        stale=e.stale,
    )


def _failures(e: ArmEvidence, quality_low: float, c: Constraints) -> list[str]:
    """One plain sentence, with the numbers, per constraint the arm fails."""
    out = []
    if c.min_quality is not None and quality_low < c.min_quality - _EPS:
        out.append(
            f"quality lower bound {quality_low:.3f} is below the minimum {c.min_quality:.3f}"
        )
    if c.max_p95_latency_s is not None and e.latency_p95_s > c.max_p95_latency_s + _EPS:
        out.append(
            f"p95 latency {e.latency_p95_s:.2f} s is above the maximum {c.max_p95_latency_s:.2f} s"
        )
    per_1k = 1000 * e.usd_per_call
    if c.max_usd_per_1k_calls is not None and per_1k > c.max_usd_per_1k_calls + _EPS:
        out.append(
            f"{_usd(per_1k)} per 1k calls is above the maximum {_usd(c.max_usd_per_1k_calls)}"
        )
    base, score = e.regression_baseline, e.regression_score
    limit = c.max_regression_drop
    if limit is not None and base is not None and score is not None and base - score > limit + _EPS:
        out.append(
            f"regression score dropped {base - score:.3f} (from {base:.3f} to {score:.3f}), "
            f"more than the allowed {limit:.3f}"
        )
    if c.min_redteam_pass_rate is not None:
        if e.redteam_pass_rate is None:
            out.append(
                f"red-team pass rate was not measured, and the minimum is "
                f"{c.min_redteam_pass_rate:.3f}"
            )
        elif e.redteam_pass_rate < c.min_redteam_pass_rate - _EPS:
            out.append(
                f"red-team pass rate {e.redteam_pass_rate:.3f} is below the minimum "
                f"{c.min_redteam_pass_rate:.3f}"
            )
    return out


def _choose(
    arms: Sequence[ArmVerdict], by_pair: dict[tuple[str, str], PairComparison]
) -> tuple[str | None, set[str], str | None]:
    """(arm to ship, candidate names, best arm) by the rule in the module docstring."""
    feasible = [v for v in arms if v.feasible]
    if not feasible:
        return None, set(), None
    best = max(feasible, key=lambda v: v.mean)  # the first in input order on a tie

    def worse_than_best(v: ArmVerdict) -> bool:
        if v is best:
            return False
        d = _oriented(by_pair, v.name, best.name)
        return d.significant and d.mean < 0

    candidates = [v for v in feasible if not worse_than_best(v)]
    cheapest = min(v.monthly_usd for v in candidates)
    near = [v for v in candidates if v.monthly_usd <= cheapest * (1 + NEAR_CHEAPEST) + _EPS]
    ship = min(near, key=lambda v: (v.simplicity, v.monthly_usd))
    return ship.name, {v.name for v in candidates}, best.name


def _verdict(
    ship: str | None,
    best: str | None,
    arms: Sequence[ArmVerdict],
    by_pair: dict[tuple[str, str], PairComparison],
    config: DecisionConfig,
    metric: str,
) -> str:
    if ship is None:
        reasons = "; ".join(f"{v.name}: {' and '.join(v.failures)}" for v in arms)
        return f"Ship nothing: no arm meets the constraints ({reasons})."
    s = next(v for v in arms if v.name == ship)
    head = (
        f"Ship {ship}: {metric} {_num(s.mean)} [{_num(s.low)}, {_num(s.high)}] at "
        f"{_usd(s.monthly_usd)}/month for {config.calls_per_month:,.0f} calls"
    )
    rank = {v.name: v.simplicity for v in arms}
    clauses = []
    for v in arms:
        if v is s:
            continue
        d = _oriented(by_pair, v.name, ship)
        if not v.feasible:
            clauses.append(f"{v.name} is ruled out ({' and '.join(v.failures)})")
        elif d.significant and d.mean < 0:
            clauses.append(f"{v.name} is significantly worse ({_diff(d)})")
        elif d.significant:
            # possible only because significance is not transitive; say so rather than hide it
            clauses.append(
                f"{v.name} is significantly better ({_diff(d)}), but {ship} is within noise of "
                f"the best arm, {best}"
            )
        else:
            direction = "better" if d.mean > 0 else "worse" if d.mean < 0 else "different"
            # the interval is per pair; significance is Holm-corrected, so they can disagree
            corrected = (
                f" after correcting for {len(by_pair)} comparisons"
                if d.low > 0 or d.high < 0
                else ""
            )
            cost = f"costs {_usd(v.monthly_usd)}/month"
            if v.not_worse_than_best and v.monthly_usd <= s.monthly_usd:
                cost += (
                    f", within 5% of {ship}, and {ship} is simpler"
                    if rank[ship] < rank[v.name]
                    else ", the same as " + ship
                )
            clauses.append(
                f"{v.name} is not significantly {direction}{corrected} ({_diff(d)}) and {cost}"
            )
    return head + "".join(f"; {c}" for c in clauses) + "."


def _caveats(
    evidence: Sequence[ArmEvidence],
    pairs: Sequence[PairComparison],
    config: DecisionConfig,
    n: int,
) -> list[str]:
    out = [
        # worded to hold whether or not the pair came out significant: small splits do both
        f"Too few test examples for the difference between {p.a} and {p.b} "
        f"({_signed(p.mean)}): {n} examples reliably detect (at {config.power:.0%} power) only "
        f"differences of {p.min_detectable:.3f} or more, so one this small is easily missed "
        f"or overstated."
        for p in pairs
        if not p.enough_examples
    ]
    for e in evidence:
        base, score = e.regression_baseline, e.regression_score
        if base is not None and score is not None and score < base:
            out.append(
                f"{e.name} forgot some of what the base model knew: its regression score "
                f"fell from {_num(base)} to {_num(score)} ({_signed(score - base)})."
            )
    rates = [
        f"{e.name} {e.redteam_pass_rate:.1%}"
        for e in evidence
        if e.redteam_pass_rate is not None and e.redteam_pass_rate < 1
    ]
    if rates:
        out.append(f"Red-team failures: pass rates are {', '.join(rates)}.")
    out += [
        f"{e.name} is stale: its inputs changed since it ran, so re-run it before trusting "
        f"this decision."
        for e in evidence
        if e.stale
    ]
    out += [f"{e.name}: {w}" for e in evidence for w in e.warnings]
    run = {e.strategy for e in evidence}
    out += [f"No {s} arm was run." for s in config.expected_arms if s not in run]
    return out


def _num(x: float) -> str:
    x = round(x, 3) + 0.0  # + 0.0 turns -0.0 into 0.0, so nothing prints as "−0.000"
    return f"−{-x:.3f}" if x < 0 else f"{x:.3f}"


def _signed(x: float) -> str:
    text = _num(x)
    return text if text.startswith("−") else "+" + text


def _diff(d: PairComparison) -> str:
    return f"{_signed(d.mean)} [{_num(d.low)}, {_num(d.high)}]"


def _usd(x: float) -> str:
    # per-call prices of local models would all print as $0.00 with two decimals
    return f"${x:,.2f}" if x == 0 or abs(x) >= 0.01 else f"${x:.2g}"
