"""A hosted fine-tune over the OpenAI fine-tuning protocol, paid for at most once.

``run_job`` validates the rows and estimates the cost (refusing above
``strategy.backend.max_cost_usd`` before anything is uploaded), uploads the JSONL files,
creates a supervised job, polls it with exponential backoff while printing status changes
and events, hands checkpoint metrics to ``on_metrics`` and returns the fine-tuned model id.

A state file under ``state_dir`` (see :mod:`shipwise.finetune.hosted_state`) makes re-runs
safe: the same request resumes the job it already started, or reuses its model once it has
succeeded; only after a failure or cancellation does a re-run create a new job. The spend
cap guards new jobs only: resuming or reusing one adds nothing to the bill.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipwise.errors import ConfigError, GenerationError
from shipwise.finetune.hosted_cost import CostEstimate, estimate, parse_tokenizer, validate_rows
from shipwise.finetune.hosted_jobs import JobClient
from shipwise.finetune.hosted_state import JobState, fingerprint

if TYPE_CHECKING:
    from openai.types.fine_tuning import FineTuningJob

__all__ = ["CostEstimate", "HostedResult", "HostedSettings", "estimate_cost", "run_job"]

MetricsCallback = Callable[[Mapping[str, float], int], None]


def _auto_or(value: object, *, integer: bool, minimum: float, key: str) -> None:
    if value == "auto":
        return
    if not _is_number(value, integer) or value < minimum:  # type: ignore[operator]
        raise ConfigError(
            f"must be 'auto' or a number >= {minimum}, got {value!r}",
            where=f"strategy.backend.{key}",
        )


def _is_number(value: object, integer: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or not integer


WHOLE = ("seed", "max_retries", "max_tokens_per_example")
NUMBERS = (
    "max_cost_usd",
    "usd_per_1m_training_tokens",
    "poll_interval_s",
    "max_poll_interval_s",
    "timeout_s",
    "request_timeout_s",
)


@dataclass(frozen=True)
class HostedSettings:
    """Everything that shapes a hosted fine-tune; validated on construction."""

    base_model: str = "gpt-4o-mini-2024-07-18"
    base_url: str | None = None  # None = OpenAI; any compatible service otherwise
    api_key_env: str | None = "OPENAI_API_KEY"  # None for a server without auth
    n_epochs: int | str = "auto"
    batch_size: int | str = "auto"
    learning_rate_multiplier: float | str = "auto"
    suffix: str | None = "shipwise"
    seed: int = 0
    max_cost_usd: float = 1.0
    usd_per_1m_training_tokens: float = 3.0
    tokenizer: str = "tiktoken:o200k_base"
    # Examples longer than the model's training context are truncated, so not billed beyond
    # it; 65,536 is gpt-4o(-mini)'s training context (the data-prep guide's 4,096 is older).
    max_tokens_per_example: int = 65_536
    poll_interval_s: float = 5.0
    max_poll_interval_s: float = 60.0
    timeout_s: float = 6 * 3600
    request_timeout_s: float = 120.0
    max_retries: int = 3

    def __post_init__(self) -> None:
        if not self.base_model:
            raise ConfigError("base_model is empty", where="strategy.backend.base_model")
        _auto_or(self.n_epochs, integer=True, minimum=1, key="n_epochs")
        _auto_or(self.batch_size, integer=True, minimum=1, key="batch_size")
        _auto_or(
            self.learning_rate_multiplier,
            integer=False,
            minimum=1e-9,
            key="learning_rate_multiplier",
        )
        for key in (*WHOLE, *NUMBERS):
            if not _is_number(getattr(self, key), key in WHOLE):
                kind = "a whole number" if key in WHOLE else "a number"
                raise ConfigError(
                    f"must be {kind}, got {getattr(self, key)!r}",
                    where=f"strategy.backend.{key}",
                    fix=f"e.g. strategy.backend.{key}={getattr(HostedSettings, key)} (the default)",
                )
        if self.suffix is not None and not 0 < len(self.suffix) <= 64:
            raise ConfigError(
                "suffix must be 1 to 64 characters (or null)", where="strategy.backend.suffix"
            )
        for key in ("max_cost_usd", "usd_per_1m_training_tokens", "max_retries"):
            if getattr(self, key) < 0:
                raise ConfigError("must not be negative", where=f"strategy.backend.{key}")
        for key in ("poll_interval_s", "timeout_s", "request_timeout_s", "max_tokens_per_example"):
            if getattr(self, key) <= 0:
                raise ConfigError("must be positive", where=f"strategy.backend.{key}")
        if self.max_poll_interval_s < self.poll_interval_s:
            raise ConfigError(
                "must be at least poll_interval_s", where="strategy.backend.max_poll_interval_s"
            )
        parse_tokenizer(self.tokenizer)

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "n_epochs": self.n_epochs,
            "batch_size": self.batch_size,
            "learning_rate_multiplier": self.learning_rate_multiplier,
        }


@dataclass(frozen=True)
class HostedResult:
    """The outcome of :func:`run_job`."""

    model: str  # the fine_tuned_model id to evaluate
    job_id: str
    reused: bool  # True when an earlier succeeded job was reused (nothing spent this run)
    estimate: CostEstimate
    trained_tokens: int | None
    cost_usd: float  # spent by this run: trained_tokens (or the estimate) x price; 0 if reused


def estimate_cost(
    settings: HostedSettings, train_rows: Sequence[Mapping[str, Any]]
) -> CostEstimate:
    """Validate ``train_rows`` and estimate what training on them would cost."""
    return estimate(
        train_rows,
        tokenizer=settings.tokenizer,
        n_epochs=settings.n_epochs,
        usd_per_1m_tokens=settings.usd_per_1m_training_tokens,
        max_tokens_per_example=settings.max_tokens_per_example,
    )


def _say(message: str) -> None:
    print(f"hosted fine-tune: {message}", file=sys.stderr, flush=True)


def _jsonl(rows: Sequence[Mapping[str, Any]]) -> bytes:
    return "".join(json.dumps(dict(row), ensure_ascii=False) + "\n" for row in rows).encode()


def run_job(
    settings: HostedSettings,
    train_rows: Sequence[Mapping[str, Any]],
    val_rows: Sequence[Mapping[str, Any]] | None,
    state_dir: Path,
    on_metrics: MetricsCallback | None = None,
) -> HostedResult:
    """Fine-tune ``settings.base_model`` on ``train_rows`` (at most once per identical request)."""
    cost = estimate_cost(settings, train_rows)
    if val_rows is not None:
        validate_rows(val_rows, "validation rows")
    train, val = _jsonl(train_rows), _jsonl(val_rows) if val_rows is not None else None
    key = fingerprint(
        train,
        val,
        base_model=settings.base_model,
        hyperparameters=settings.hyperparameters(),
        suffix=settings.suffix,
        seed=settings.seed,
        base_url=settings.base_url,
    )
    request = {
        "base_url": settings.base_url,
        "base_model": settings.base_model,
        "api_key_env": settings.api_key_env,  # the variable's name, never its value
        "hyperparameters": settings.hyperparameters(),
        "suffix": settings.suffix,
        "seed": settings.seed,
    }
    state = JobState(state_dir, key, request)
    job_id = state.active_job()
    if job_id is None:
        _refuse_over_cap(settings, cost)
    _say(
        f"{cost.examples} examples x {cost.n_epochs} epochs = ~{cost.billed_tokens:,} billed "
        f"tokens, ~${cost.usd:.4f} (tokenizer: {cost.tokenizer})"
    )
    jobs = JobClient(settings, state, on_event=_say)
    job: FineTuningJob | None = None
    if job_id is not None and state.get("status") == "succeeded":
        job = jobs.retrieve(job_id)  # free, and confirms the provider still has it
        if job.status == "succeeded":
            _say(f"reusing {job_id} ({job.fine_tuned_model}); nothing spent; {state.path}")
        else:
            job = None
    reused = job is not None
    if job_id is None:
        job_id = jobs.create(jobs.upload(train, val), key)
    if job is None:
        job = jobs.poll(job_id)
    _finish(job, state, settings)
    if on_metrics is not None:
        for metrics, step in jobs.checkpoint_metrics(job_id):
            on_metrics(metrics, step)
    assert job.fine_tuned_model is not None  # _finish raised otherwise
    spent = 0.0
    if not reused:
        tokens = job.trained_tokens
        spent = cost.usd if tokens is None else tokens * settings.usd_per_1m_training_tokens / 1e6
    return HostedResult(
        model=job.fine_tuned_model,
        job_id=job_id,
        reused=reused,
        estimate=cost,
        trained_tokens=job.trained_tokens,
        cost_usd=spent,
    )


def _refuse_over_cap(settings: HostedSettings, cost: CostEstimate) -> None:
    if cost.usd > settings.max_cost_usd:
        suggested = math.ceil(cost.usd * 120) / 100  # 20% headroom, rounded up to cents
        raise ConfigError(
            f"the fine-tune would cost ~${cost.usd:.2f} ({cost.billed_tokens:,} tokens at "
            f"${settings.usd_per_1m_training_tokens}/1M, {cost.n_epochs} epochs), above the "
            f"cap of ${settings.max_cost_usd:.2f}; nothing was uploaded",
            where="strategy.backend.max_cost_usd",
            fix=f"raise it explicitly, e.g. strategy.backend.max_cost_usd={suggested:.2f}, "
            "or train on fewer examples or epochs",
        )


def _finish(job: FineTuningJob, state: JobState, settings: HostedSettings) -> None:
    """Record the terminal job; a failed or cancelled one becomes a GenerationError."""
    error = job.error.message if job.error and job.error.message else None
    state.finish(job.id, job.status, error)
    if job.status == "succeeded" and job.fine_tuned_model:
        state.save(fine_tuned_model=job.fine_tuned_model, trained_tokens=job.trained_tokens)
        return
    reason = error or ("no model name returned" if job.status == "succeeded" else "no reason given")
    raise GenerationError(
        f"fine-tuning job {job.id} {job.status}: {reason}",
        where=f"{settings.base_url or 'api.openai.com'} (base model {settings.base_model!r})",
        fix=f"fix the cause and re-run; a new job will be created (state: {state.path})",
    )
