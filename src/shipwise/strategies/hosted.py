"""The fine-tune arm's hosted backend: a job over the OpenAI fine-tuning protocol.

The train (and val) split go up as chat JSONL in exactly the form the predictor will ask in;
the job runs at most once per identical request (see :mod:`shipwise.finetune.hosted`), and the
model it returns is evaluated through the OpenAI-compatible generator, on the same endpoint.
The base model answers the regression split too, for the forgetting check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shipwise.finetune.hosted import HostedSettings, run_job
from shipwise.models.openai_compat import OpenAIGenerator
from shipwise.strategies.base import Setup, SetupContext
from shipwise.tasks.example import Example
from shipwise.tasks.task import Task

if TYPE_CHECKING:
    from shipwise.strategies.finetune import FinetuneStrategy

# Keys of strategy.hosted that shape the evaluation, not the job.
EVAL_KEYS = ("price", "concurrency")


def hosted_setup(
    strategy: FinetuneStrategy,
    task: Task,
    train: Sequence[Example],
    system: str,
    context: SetupContext,
) -> Setup:
    from shipwise.strategies.finetune import FinetunePredictor, settings_from_config

    config = dict(strategy.hosted)
    evaluation = {k: config.pop(k) for k in EVAL_KEYS if k in config}
    config.setdefault("seed", context.seed)
    settings: HostedSettings = settings_from_config(HostedSettings, config, "hosted")
    asking = FinetunePredictor(context.generator, system)

    def rows(examples: Sequence[Example]) -> list[dict[str, Any]]:
        return [
            {
                "messages": [
                    *(m.as_dict() for m in asking.messages(e)),
                    {"role": "assistant", "content": e.reference},
                ]
            }
            for e in examples
        ]

    val = list(task.split("val"))
    result = run_job(
        settings,
        rows(train),
        rows(val) if val else None,
        state_dir=context.root / "hosted",
        on_metrics=context.log_metrics,
    )

    def generator(model: str) -> OpenAIGenerator:
        return OpenAIGenerator(
            model=model,
            base_url=settings.base_url,
            api_key_env=settings.api_key_env,
            max_retries=settings.max_retries,
            **evaluation,
        )

    estimate = result.estimate
    return Setup(
        predictor=FinetunePredictor(
            generator(result.model), system, base_generator=generator(settings.base_model)
        ),
        params={
            "backend": "hosted",
            "job_id": result.job_id,
            "fine_tuned_model": result.model,
            "job_reused": result.reused,
            "train_examples": len(train),
            "instruction": strategy.instruction,
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
        cost_usd=result.estimate.usd if result.reused else result.cost_usd,
    )
