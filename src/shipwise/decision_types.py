"""The values the ship decision reads and writes: evidence per arm in, a Decision out.

Kept apart from the procedure (decision.py) and the report (report.py) so both depend on
plain data only; ``decision`` never sees MLflow, models or configs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

SCHEMA_VERSION = 2


@dataclass(frozen=True)
class Constraints:
    """Limits an arm must meet to be shipped; ``None`` means no limit."""

    min_quality: float | None = None  # judged on the primary metric's interval lower bound
    max_p95_latency_s: float | None = None
    max_usd_per_1k_calls: float | None = None
    max_regression_drop: float | None = None  # allowed drop on the regression split vs the base
    min_redteam_pass_rate: float | None = None


@dataclass(frozen=True)
class DecisionConfig:
    calls_per_month: float = 100_000
    refreshes_per_month: float = 1.0  # index rebuilds / retrains per month
    expected_arms: Sequence[str] = ()  # the study's arms: any that did not run is a caveat
    constraints: Constraints = field(default_factory=Constraints)
    confidence: float = 0.95
    resamples: int = 10_000
    seed: int = 0
    power: float = 0.8  # for the minimum detectable difference


@dataclass(frozen=True)
class ArmEvidence:
    """One arm's run, as the decision needs it.

    ``scores`` maps test example id -> primary-metric score (pairs arms by example);
    ``latencies_s`` are per test example; ``regression_baseline`` is the base model's
    regression score when the arm changed the model (fine-tune), else None. ``kind``,
    ``simplicity`` and ``shippable`` are what the arm's config declared it to be.
    """

    name: str
    strategy: str
    kind: str
    simplicity: int
    run_id: str
    metric: str
    scores: Mapping[str, float]
    test_fingerprint: str
    usd_per_call: float
    setup_usd: float
    latency_p95_s: float
    latencies_s: Sequence[float] = ()
    redteam_pass_rate: float | None = None
    regression_score: float | None = None
    regression_baseline: float | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    stale: bool = False
    warnings: Sequence[str] = ()
    shippable: bool = True


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
    monthly_usd: float
    latency_p95_s: float
    feasible: bool
    failures: Sequence[str]  # one plain sentence per failed constraint
    not_worse_than_best: bool  # not significantly worse than the best feasible arm
    stale: bool = False  # its inputs changed since it ran: re-run it before trusting this


@dataclass(frozen=True)
class PairComparison:
    """Difference a - b of the primary metric, paired by example."""

    a: str
    b: str
    mean: float
    low: float
    high: float
    p_value: float  # two-sided, from the bootstrap
    p_holm: float  # Holm-adjusted across all pairs
    significant: bool  # p_holm < 1 - confidence
    min_detectable: float  # smallest difference the test split could detect (given power)
    enough_examples: bool  # |observed difference| >= min_detectable


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
    verdict: str  # one plain sentence
    arms: Sequence[ArmVerdict]
    pairs: Sequence[PairComparison]
    break_evens: Sequence[BreakEven]
    caveats: Sequence[str]
    config: DecisionConfig


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
