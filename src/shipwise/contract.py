"""What an arm's run records and the decision reads back: the one place those names live.

The runner logs through these names and the evidence reader reads through them, so a renamed
metric is a failing test here rather than an arm silently costed at $0. A value the decision
needs and a run lacks is an error naming the run (``required``), never a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipwise.errors import DataError

# Per-split summary metrics, logged as "<split>/<name>" (see Summary.as_metrics).
PRIMARY = "primary"
PRIMARY_LOW = "primary_ci_low"
PRIMARY_HIGH = "primary_ci_high"
LATENCY_P50 = "latency_p50_s"
LATENCY_P95 = "latency_p95_s"
COMPUTE_PER_CALL = "compute_s_per_call"
PROMPT_TOKENS = "prompt_tokens_per_call"
COMPLETION_TOKENS = "completion_tokens_per_call"
USD_PER_1K = "usd_per_1k_calls"
COUNT = "n"

# Run-level metrics.
SETUP_S = "setup_s"
SETUP_BUILD_S = "setup_build_s"
SETUP_USD = "setup_usd"
REGRESSION_BASELINE = "regression/baseline_primary"
REGRESSION_CHANGE = "regression/change"

# Tags: what the arm is, as its config says (the decision never guesses from names).
TAG_TASK = "task"
TAG_STRATEGY = "strategy"  # the arm's name
TAG_KIND = "strategy.kind"
TAG_SIMPLICITY = "strategy.simplicity"
TAG_SHIPPABLE = "strategy.shippable"
TAG_MODEL = "model"
FINGERPRINT = "fingerprint."  # + split name or "docs": the task's content when the run started
EVAL_FINGERPRINT = "fingerprint.eval."  # + split: the examples actually scored

# Params and artifacts.
PARAM_METRIC = "task.metric"
PREDICTIONS = "predictions/{split}.json"
SCORE_COLUMN = "score.{metric}"


def split_metric(split: str, name: str) -> str:
    return f"{split}/{name}"


def predictions_file(split: str) -> str:
    return PREDICTIONS.format(split=split)


def score_column(metric: str) -> str:
    return SCORE_COLUMN.format(metric=metric)


def required(values: Mapping[str, Any], key: str, run: Mapping[str, Any], what: str) -> Any:
    """``values[key]``, or an error naming the run and the missing ``what`` (metric, tag...)."""
    if key in values and values[key] is not None:
        return values[key]
    raise DataError(
        f"run {run.get('name')!r} ({run.get('run_id')}) has no {what} {key!r}",
        where=str(run.get("run_id")),
        fix="re-run the arm with this version of shipwise, or leave it out of --runs",
    )
