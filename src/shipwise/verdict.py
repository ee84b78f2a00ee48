"""The decision in words: why each arm can or cannot ship, the verdict, and the caveats.

Plain sentences with the numbers in them, written to be read by the person staking a budget
on the result: what is settled, what is not and what it would take, and what it costs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from shipwise.answers import shares_line
from shipwise.costs import effort_of
from shipwise.decision_types import (
    AnswerShare,
    ArmEvidence,
    ArmVerdict,
    Constraints,
    DecisionConfig,
    PairComparison,
    oriented,
)


def failure_sentences(
    e: ArmEvidence,
    quality_low: float,
    c: Constraints,
    collapse: AnswerShare | None,
    beaten: Sequence[PairComparison],
    eps: float,
) -> list[str]:
    """One plain sentence, with the numbers, per reason the arm cannot be shipped."""
    out = []
    if collapse is not None:
        n = len(e.answers)
        out.append(
            f"its answers collapsed: it answers {collapse.answer!r} to "
            f"{round(collapse.share * n)} of {n}"
        )
    for d in beaten:
        if d.low <= 0:
            out.append(f"it does no better than {d.b} with confidence ({diff(d)})")
    if c.min_quality is not None and quality_low < c.min_quality - eps:
        out.append(
            f"quality lower bound {quality_low:.3f} is below the minimum {c.min_quality:.3f}"
        )
    if c.max_p95_latency_s is not None and e.latency_p95_s > c.max_p95_latency_s + eps:
        out.append(
            f"p95 latency {e.latency_p95_s:.2f} s is above the maximum {c.max_p95_latency_s:.2f} s"
        )
    per_1k = 1000 * e.usd_per_call
    if c.max_usd_per_1k_calls is not None and per_1k > c.max_usd_per_1k_calls + eps:
        out.append(f"{usd(per_1k)} per 1k calls is above the maximum {usd(c.max_usd_per_1k_calls)}")
    base, score = e.regression_baseline, e.regression_score
    limit = c.max_regression_drop
    if limit is not None and base is not None and score is not None and base - score > limit + eps:
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
        elif e.redteam_pass_rate < c.min_redteam_pass_rate - eps:
            out.append(
                f"red-team pass rate {e.redteam_pass_rate:.3f} is below the minimum "
                f"{c.min_redteam_pass_rate:.3f}"
            )
    return out


def verdict(
    ship: str | None,
    best: str | None,
    arms: Sequence[ArmVerdict],
    by_pair: dict[tuple[str, str], PairComparison],
    config: DecisionConfig,
    metric: str,
) -> str:
    by_name = {v.name: v for v in arms}
    floors = [v for v in arms if not v.shippable]
    floor_line = "".join(
        f" Floor: {v.name} scores {num(v.mean)} [{num(v.low)}, {num(v.high)}]." for v in floors
    )
    if ship is None:
        reasons = "; ".join(f"{v.name}: {' and '.join(v.failures)}" for v in arms if v.shippable)
        return f"Ship nothing: no arm can be shipped ({reasons}).{floor_line}"
    s, top = by_name[ship], by_name[str(best)]
    # cheaper arms the split can neither place within the margin nor rule out (the decision
    # gives an examples-to-settle count to exactly those feasible arms, never a candidate)
    unsettled = [v for v in arms if v.settle_n is not None and v.monthly_usd < s.monthly_usd]
    head = (
        f"Ship {ship}{' for now' if unsettled else ''}: {metric} {num(s.mean)}"
        f" [{num(s.low)}, {num(s.high)}] on {s.n:,} test "
        f"examples, at {usd(s.monthly_usd)}/month for {config.calls_per_month:,.0f} calls"
        + (
            f" ({usd(s.compute_monthly_usd)} compute, {usd(s.people_monthly_usd)} people)"
            if s.people_monthly_usd
            else ""
        )
        + "."
    )
    tied = [
        v.name for v in arms if v.feasible and v.name != best and abs(v.mean - top.mean) < 1e-12
    ]
    if ship == best and tied:
        why = (
            f" It ties for the highest score with {' and '.join(tied)}, and is the simplest of"
            " them."
        )
    elif ship == best:
        why = " It scores highest of the arms that can be shipped."
    else:
        d = oriented(by_pair, ship, top.name)
        why = (
            f" It is within the {config.margin:g} margin of the best arm, {top.name} "
            f"({ship} − {top.name}: {diff(d)}), and costs less"
            + (f" ({usd(top.monthly_usd)}/month)." if top.monthly_usd > s.monthly_usd else ".")
        )
    if unsettled:
        names = " and ".join(v.name for v in unsettled)
        one = len(unsettled) == 1
        why += (
            f" This is provisional: {names} {'costs' if one else 'cost'} less, and {s.n:,} test"
            f" examples cannot tell whether {'it scores' if one else 'they score'} within"
            f" {config.margin:g} of {top.name}."
        )
    sentences = [head + why + floor_line]
    for v in arms:
        if v.name in (ship, best) or not v.shippable:
            continue
        d = oriented(by_pair, v.name, top.name)
        if not v.feasible:
            sentences.append(f"{v.name} cannot be shipped: {'; '.join(v.failures)}.")
        elif v.candidate:
            sentences.append(
                f"{v.name} is also within the margin ({diff(d)}) but costs "
                f"{usd(v.monthly_usd)}/month"
                + (f", and {ship} is simpler" if v.monthly_usd <= s.monthly_usd * 1.05 else "")
                + "."
            )
        elif v in unsettled:
            sentences.append(
                f"Unsettled: {v.name} is cheaper ({usd(v.monthly_usd)}/month), but this split "
                f"cannot tell whether it is within {config.margin:g} of {top.name} ({diff(d)}); "
                f"about {v.settle_n:,} test examples would tell, if the difference held"
                + (
                    " (it would then be within the margin)."
                    if d.mean > -config.margin
                    else " (it would then be shown outside the margin)."
                )
            )
        elif d.high < -config.margin:
            sentences.append(
                f"{v.name} is worse than {top.name} by more than the margin ({diff(d)})"
                + (
                    "."
                    if d.significant
                    else ", though not significantly once every pair compared is counted (Holm"
                    f" p {d.p_holm:.3f}): more test examples would confirm it."
                )
            )
        elif v.monthly_usd < s.monthly_usd or v.name in tied:
            cost = usd(v.monthly_usd) + "/month"
            sentences.append(
                f"{v.name} "
                + (f"ties with {top.name} on this split but " if v.name in tied else "")
                + (
                    f"costs less ({cost}) but"
                    if v.monthly_usd < s.monthly_usd
                    else f"costs {cost} and"
                )
                + f" is not shown to score within {config.margin:g} of {top.name} ({diff(d)}),"
                " so it is not a candidate."
            )
        else:
            # dearer, and neither within the margin nor beyond it: say which way it leans
            what = (
                f"cannot be told apart from {top.name} ({diff(d)}): an arm that costs more is"
                f" a candidate only when shown within the {config.margin:g} margin"
                if d.low <= 0 <= d.high
                else f"scores below {top.name} ({diff(d)}), not shown within the"
                f" {config.margin:g} margin"
            )
            sentences.append(
                f"{v.name} costs {usd(v.monthly_usd)}/month and {what}, so it is not a candidate."
            )
    return " ".join(sentences)


def caveats(
    evidence: Sequence[ArmEvidence],
    arms: Sequence[ArmVerdict],
    pairs: Sequence[PairComparison],
    config: DecisionConfig,
    n: int,
    absent: Mapping[str, str] | None = None,
) -> list[str]:
    out = [
        # worded to hold whether or not the pair came out significant: small splits do both
        f"Too few test examples for the difference between {p.a} and {p.b} "
        f"({signed(p.mean)}): {n} examples reliably detect (at {config.power:.0%} power) only "
        f"differences of {p.min_detectable:.3f} or more, so one this small is easily missed "
        f"or overstated."
        for p in pairs
        if not p.enough_examples
    ]
    by_name = {v.name: v for v in arms}
    for e in evidence:
        v = by_name[e.name]
        if v.collapsed:
            out.append(
                f"{e.name} answers {shares_line(v.top_answers[:1])} of the test split; the "
                f"references' most frequent answer covers less. It is not shippable."
            )
        base, score = e.regression_baseline, e.regression_score
        if base is not None and score is not None and score < base:
            how = "all" if score <= 0 else "most" if score < base / 2 else "some"
            out.append(
                f"{e.name} forgot {how} of what the base model knew: its regression score "
                f"fell from {num(base)} to {num(score)} ({signed(score - base)}). That matters"
                " if it must also answer requests outside this task:"
                " decision.constraints.max_regression_drop sets how much it may lose."
            )
    if not any(not v.shippable for v in arms):
        out.append(
            "No floor arm (such as majority, the constant answer) was run, so nothing shows the"
            " arms beat answering the same thing every time."
        )
    scored = {e.name: e.redteam_pass_rate for e in evidence if e.redteam_pass_rate is not None}
    # every arm's score, once any falls short: one arm's alone reads as if only it was tried
    rates = [f"{name} {num(rate)}" for name, rate in scored.items()]
    if any(rate < 1 for rate in scored.values()):
        out.append(
            "On the red-team split (inputs made hard on purpose; each run's"
            f" split_source.redteam tag says how), {evidence[0].metric} is {', '.join(rates)}."
        )
    out += [
        f"{e.name} is stale: its inputs changed since it ran, so re-run it before trusting "
        f"this decision."
        for e in evidence
        if e.stale
    ]
    out += [f"{e.name}: {w}" for e in evidence for w in e.warnings]
    if config.hourly_rate_usd:
        missing = sorted({e.kind for e in evidence if effort_of(e, config) is None})
        if missing:
            out.append(
                f"No people-time estimate for {', '.join(missing)} (decision.effort): "
                "those arms are costed at compute only."
            )
    run = {e.strategy for e in evidence}
    why = absent or {}
    out += [
        f"{s} has no run: {why[s].rstrip('.')}." if s in why else f"No {s} arm was run."
        for s in config.expected_arms
        if s not in run
    ]
    return out


def num(x: float) -> str:
    x = round(x, 3) + 0.0  # + 0.0 turns -0.0 into 0.0, so nothing prints as "−0.000"
    return f"−{-x:.3f}" if x < 0 else f"{x:.3f}"


def signed(x: float) -> str:
    text = num(x)
    return text if text.startswith("−") else "+" + text


def diff(d: PairComparison) -> str:
    return f"{signed(d.mean)} [{num(d.low)}, {num(d.high)}]"


def usd(x: float) -> str:
    # per-call prices of local models would all print as $0.00 with two decimals
    return f"${x:,.2f}" if x == 0 or abs(x) >= 0.01 else f"${x:.2g}"
