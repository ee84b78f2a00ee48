"""The hosted backend: a job over the OpenAI fine-tuning protocol on the arm's rendered rows.

The train (and val) rows go up as chat JSONL exactly as the arm asks; the job runs at most
once per identical request (see :mod:`shipwise.finetune.hosted`), and the model it returns is
evaluated through the OpenAI-compatible generator on the same endpoint. The base model is the
baseline of the forgetting check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shipwise.errors import ConfigError
from shipwise.finetune.base import Tuned, TuningData
from shipwise.finetune.hosted import HostedSettings, run_job
from shipwise.models.base import Generator
from shipwise.models.openai_compat import OpenAIGenerator
from shipwise.strategies.base import Billing, SetupContext, TrainingLimits


@dataclass(frozen=True)
class HostedBackend(HostedSettings):
    """A hosted fine-tune (the job's fields are :class:`HostedSettings`) and how to call it."""

    train_size: int | None = None  # a seeded subset of the train split (None = all of it)
    # what the fine-tuned model costs per call, USD per million tokens
    price: Mapping[str, float] = field(
        default_factory=lambda: {"usd_per_1m_input": 0.30, "usd_per_1m_output": 1.20}
    )
    concurrency: int = 4  # calls in flight while evaluating

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.train_size is not None and self.train_size < 1:
            raise ConfigError(
                "train_size must be positive or null", where="strategy.backend.train_size"
            )

    def job(self) -> HostedSettings:
        """The job's settings alone."""
        names = HostedSettings.__dataclass_fields__
        return HostedSettings(**{k: getattr(self, k) for k in names})

    def limits(self) -> TrainingLimits:
        return TrainingLimits(
            billing=Billing(
                model=self.base_model,
                tokenizer=self.tokenizer,
                n_epochs=self.n_epochs,
                usd_per_1m_tokens=self.usd_per_1m_training_tokens,
                max_tokens_per_example=self.max_tokens_per_example,
            )
        )

    def tune(self, base: Generator, data: TuningData, context: SetupContext) -> Tuned:
        result = run_job(
            self.job(),
            [r.as_chat() for r in data.train],
            [r.as_chat() for r in data.val] if data.val else None,
            state_dir=context.root / "hosted",
            on_metrics=context.log_metrics,
        )
        estimate = result.estimate
        return Tuned(
            generator=self._generator(result.model),
            baseline=self._generator(self.base_model),
            params={
                "backend": "hosted",
                "job_id": result.job_id,
                "fine_tuned_model": result.model,
                "job_reused": result.reused,
                "billing_tokenizer": estimate.tokenizer,
            },
            metrics={
                "train/billed_tokens_estimate": float(estimate.billed_tokens),
                "train/n_epochs": float(estimate.n_epochs),
                "train/estimated_usd": estimate.usd,
                **(
                    {"train/trained_tokens": float(result.trained_tokens)}
                    if result.trained_tokens
                    else {}
                ),
            },
            # A reused job spent nothing now, but a refresh would pay for it again.
            cost_usd=estimate.usd if result.reused else result.cost_usd,
        )

    def _generator(self, model: str) -> OpenAIGenerator:
        return OpenAIGenerator(
            model=model,
            base_url=self.base_url,
            api_key_env=self.api_key_env,
            max_retries=self.max_retries,
            price=dict(self.price),
            concurrency=self.concurrency,
        )
