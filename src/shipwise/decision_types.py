"""The values the ship decision reads and writes: evidence per arm in, a Decision out.

Kept apart from the procedure (decision.py) and the report (report.py) so both depend on
plain data only; ``decision`` never sees MLflow, models or configs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from shipwise.errors import ConfigError

SCHEMA_VERSION = 3


@dataclass(frozen=True)
class Constraints:
    """Limits an arm must meet to be shipped; ``None`` means no limit."""

    min_quality: float | None = None  # judged on the primary metric's interval lower bound
    max_p95_latency_s: float | None = None
    max_usd_per_1k_calls: float | None = None
    max_regression_drop: float | None = None  # allowed drop on the regression split vs the base
    min_redteam_pass_rate: float | None = None


@dataclass(frozen=True)
class Effort:
    """People-hours an arm of one kind takes: to build it, and at every refresh of the data."""

    one_off_hours: float = 0.0
    per_refresh_hours: float = 0.0

    def __post_init__(self) -> None:
        if min(self.one_off_hours, self.per_refresh_hours) < 0:
            raise ConfigError("effort hours cannot be negative", where="decision.effort")


@dataclass(frozen=True)
class Collapse:
    """When an arm's answers count as collapsed onto one value (then it is not shippable).

    Its most frequent answer must cover at least ``min_share`` of the test split and exceed
    the share of the most frequent reference by at least ``excess``, on at least
    ``min_examples`` test examples (on fewer, one repeated answer proves little).
    """

    min_share: float = 0.5
    excess: float = 0.25
    min_examples: int = 10


@dataclass(frozen=True)
class DecisionConfig:
    """The decision's settings; these defaults are the only ones (``decision/base``).

    - ``calls_per_month`` 100,000 and ``refreshes_per_month`` 1: a modest production volume,
      and data that changes monthly (each refresh rebuilds indexes and retrains).
    - ``margin`` 0.02: two points of accuracy or F1, on the primary metric's scale. A smaller
      margin needs thousands of test examples to show any arm within it; a larger one lets a
      visibly worse arm through. Set it to what your users would notice.
    - ``confidence`` 0.95, ``power`` 0.8: the usual levels; ``resamples`` 10,000 keeps the
      interval's ends stable to about 0.002.
    - ``hourly_rate_usd`` 0: compute only until a rate is set; ``conf/decision/default.yaml``
      sets one and the people-hours per arm kind (``effort``), spread over ``horizon_months``.
    """

    calls_per_month: float = 100_000
    refreshes_per_month: float = 1.0  # index rebuilds / retrains per month
    expected_arms: Sequence[str] = ()  # the study's arms: any that did not run is a caveat
    constraints: Constraints = field(default_factory=Constraints)
    confidence: float = 0.95
    resamples: int = 10_000
    seed: int = 0
    power: float = 0.8  # for the minimum detectable difference
    # a cheaper arm is a candidate when (arm - best) is above -margin with confidence
    margin: float = 0.02
    hourly_rate_usd: float = 0.0  # people time; 0 = compute only
    horizon_months: float = 12.0  # one-off effort is spread over this many months
    effort: Mapping[str, Effort] = field(default_factory=dict)  # by arm kind
    collapse: Collapse = field(default_factory=Collapse)


@dataclass(frozen=True)
class ArmEvidence:
    """One arm's run, as the decision needs it.

    ``scores`` maps test example id -> the primary metric's per-example columns (pairs arms by
    example; one column for a mean metric, counts for a corpus metric); ``answers``,
    ``references`` and ``inputs`` are the arm's answers, the gold answers and the user's
    messages by id (for the answer distributions and the example replies); ``style`` maps id ->
    each declared style rule's score, 1 pass or 0 fail (empty when the task declares no rules
    or the run logged none); ``latencies_s`` are per test example; ``regression_baseline`` is
    the base model's regression score when the arm changed the model (fine-tune), else None.
    ``kind``, ``simplicity`` and ``shippable`` are what the arm's config declared it to be.
    """

    name: str
    strategy: str
    kind: str
    simplicity: int
    run_id: str
    metric: str
    scores: Mapping[str, Sequence[float]]
    test_fingerprint: str
    usd_per_call: float
    setup_usd: float
    latency_p95_s: float
    latencies_s: Sequence[float] = ()
    answers: Mapping[str, str] = field(default_factory=dict)
    references: Mapping[str, str] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)
    style: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    redteam_pass_rate: float | None = None
    regression_score: float | None = None
    regression_baseline: float | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    stale: bool = False
    warnings: Sequence[str] = ()
    shippable: bool = True
    retrieval: Mapping[str, float] = field(default_factory=dict)  # recall_at_k, mrr, n on test


@dataclass(frozen=True)
class AnswerShare:
    """One answer and the share of the test split it covers."""

    answer: str
    share: float


@dataclass(frozen=True)
class StylePassRates:
    """Shares of the test replies that pass each declared style rule, and all of them."""

    rules: Mapping[str, float]  # rule name -> pass rate, in the task's order
    all_rules: float
    n: int


@dataclass(frozen=True)
class ExampleReplies:
    """One test example with every arm's reply to it, to be read side by side."""

    id: str
    input: str
    reference: str
    replies: Mapping[str, str]  # arm name -> its reply, for every arm that answered
    failed_rules: Mapping[str, Sequence[str]] = field(default_factory=dict)  # arm -> rules broken


@dataclass(frozen=True)
class ArmVerdict:
    name: str
    strategy: str
    simplicity: int
    run_id: str
    mean: float
    low: float
    high: float
    n: int
    usd_per_1k_calls: float
    setup_usd: float
    compute_monthly_usd: float
    people_monthly_usd: float
    monthly_usd: float  # compute + people
    latency_p95_s: float
    feasible: bool  # meets every constraint, is shippable, beats the floor, did not collapse
    failures: Sequence[str]  # one plain sentence per reason it cannot be shipped
    candidate: bool  # the best arm, or within the margin of it with confidence
    shippable: bool = True  # as declared (False: a floor, never shipped)
    collapsed: bool = False
    beats_floor: bool | None = None  # None when no floor arm ran
    top_answers: Sequence[AnswerShare] = ()
    style: StylePassRates | None = None  # None when the arm logged no style rule scores
    settle_n: int | None = None  # test examples that would settle "within the margin of best"
    stale: bool = False  # its inputs changed since it ran: re-run it before trusting this
    retrieval: Mapping[str, float] = field(default_factory=dict)  # a retrieving arm's, on test


@dataclass(frozen=True)
class PairComparison:
    """Difference a - b of the primary metric, paired by example."""

    a: str
    b: str
    mean: float
    low: float
    high: float
    p_value: float  # two-sided, from a paired permutation test
    p_holm: float  # Holm-adjusted across all pairs
    significant: bool  # p_holm < 1 - confidence
    min_detectable: float  # smallest difference the test split could detect (given power)
    enough_examples: bool  # |observed difference| >= min_detectable


def oriented(by_pair: Mapping[tuple[str, str], PairComparison], x: str, y: str) -> PairComparison:
    """The comparison of x - y, flipping the stored (y, x) one when needed."""
    if (x, y) in by_pair:
        return by_pair[(x, y)]
    p = by_pair[(y, x)]
    return replace(p, a=x, b=y, mean=-p.mean, low=-p.high, high=-p.low)


@dataclass(frozen=True)
class BreakEven:
    """Monthly call volume where two arms cost the same (None where the lines never cross)."""

    a: str
    b: str
    calls_per_month: float | None


@dataclass(frozen=True)
class Decision:
    schema_version: int
    task: str
    metric: str
    test_fingerprint: str
    ship: str | None  # the arm's name, or None when no arm is feasible
    best: str | None  # the feasible arm with the highest score
    verdict: str  # plain sentences with the numbers
    arms: Sequence[ArmVerdict]
    pairs: Sequence[PairComparison]
    break_evens: Sequence[BreakEven]
    caveats: Sequence[str]
    config: DecisionConfig
    reference_answers: Sequence[AnswerShare] = ()
    examples: Sequence[ExampleReplies] = ()  # free-text tasks only
    shared_settings: Sequence[str] = ()  # overrides every arm ran with, left out of arm names
    arm_settings: Mapping[str, Sequence[str]] = field(default_factory=dict)  # one arm's own


def decision_as_dict(decision: Decision) -> dict[str, object]:
    """The machine-readable form written to decision.json (carries ``schema_version``).

    Non-finite numbers (an undetectable difference on one example) become null: strict JSON.
    """
    import math
    from dataclasses import asdict

    def finite(value: object) -> object:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [finite(v) for v in value]
        return value

    result = finite(asdict(decision))
    assert isinstance(result, dict)
    return result
