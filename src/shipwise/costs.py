"""What an arm costs a month: compute (calls and refreshes) plus people time, and break-evens.

- compute = calls x $ per call + setup $ x refreshes per month (an index rebuild, a retrain);
- people = hourly rate x (one-off hours / horizon in months + hours per refresh x refreshes).

Effort is configured per arm kind (``decision.effort``); a kind without an entry costs no
people time, and the decision says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipwise.decision_types import ArmEvidence, DecisionConfig, Effort


@dataclass(frozen=True)
class MonthlyCost:
    compute_usd: float
    people_usd: float

    @property
    def total_usd(self) -> float:
        return self.compute_usd + self.people_usd


def monthly_cost(
    usd_per_call: float, setup_usd: float, calls_per_month: float, refreshes_per_month: float
) -> float:
    """Monthly compute $: every call, plus one setup (index build, training) per refresh."""
    return calls_per_month * usd_per_call + setup_usd * refreshes_per_month


def effort_of(arm: ArmEvidence, config: DecisionConfig) -> Effort | None:
    return config.effort.get(arm.kind)


def people_per_month(arm: ArmEvidence, config: DecisionConfig) -> float:
    effort = effort_of(arm, config)
    if effort is None or config.hourly_rate_usd == 0:
        return 0.0
    hours = effort.one_off_hours / config.horizon_months
    hours += effort.per_refresh_hours * config.refreshes_per_month
    return hours * config.hourly_rate_usd


def arm_cost(arm: ArmEvidence, config: DecisionConfig) -> MonthlyCost:
    compute = monthly_cost(
        arm.usd_per_call, arm.setup_usd, config.calls_per_month, config.refreshes_per_month
    )
    return MonthlyCost(compute, people_per_month(arm, config))


def fixed_per_month(arm: ArmEvidence, config: DecisionConfig) -> float:
    """What an arm costs a month at zero calls: refreshed setups and people time."""
    return arm.setup_usd * config.refreshes_per_month + people_per_month(arm, config)


def break_even(a: ArmEvidence, b: ArmEvidence, config: DecisionConfig) -> float | None:
    """Monthly calls at which a and b cost the same; None if the lines never cross above zero."""
    slope = a.usd_per_call - b.usd_per_call
    if slope == 0:
        return None  # parallel lines: one arm is cheaper at every volume
    calls = (fixed_per_month(b, config) - fixed_per_month(a, config)) / slope
    return calls if calls > 0 else None
