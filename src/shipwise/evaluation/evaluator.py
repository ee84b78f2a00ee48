"""The shared Evaluator: the same scoring for every arm, from per-example scores up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from shipwise import contract
from shipwise.errors import ConfigError
from shipwise.evaluation import metrics
from shipwise.evaluation.stats import Interval, bootstrap_mean
from shipwise.tasks.task import OutputSpec


@dataclass(frozen=True)
class Summary:
    """Aggregates of one split: mean of every score, the primary metric's interval, call stats.

    Latency is the wall time a caller waited (a whole batch, for batched local generation);
    compute is each call's share of it, which is what throughput and local cost follow.
    """

    metric: str
    primary: Interval
    means: Mapping[str, float]
    latency_p50_s: float
    latency_p95_s: float
    compute_s_mean: float
    prompt_tokens_mean: float
    completion_tokens_mean: float
    usd_per_1k_calls: float
    n: int

    def as_metrics(self, prefix: str = "") -> dict[str, float]:
        out = {f"{prefix}{name}": value for name, value in self.means.items()}
        out.update(
            {
                f"{prefix}{contract.PRIMARY}": self.primary.mean,
                f"{prefix}{contract.PRIMARY_LOW}": self.primary.low,
                f"{prefix}{contract.PRIMARY_HIGH}": self.primary.high,
                f"{prefix}{contract.LATENCY_P50}": self.latency_p50_s,
                f"{prefix}{contract.LATENCY_P95}": self.latency_p95_s,
                f"{prefix}{contract.COMPUTE_PER_CALL}": self.compute_s_mean,
                f"{prefix}{contract.PROMPT_TOKENS}": self.prompt_tokens_mean,
                f"{prefix}{contract.COMPLETION_TOKENS}": self.completion_tokens_mean,
                f"{prefix}{contract.USD_PER_1K}": self.usd_per_1k_calls,
                f"{prefix}{contract.COUNT}": float(self.n),
            }
        )
        return out


class Evaluator:
    """Scores predictions against references for one output spec and primary metric."""

    def __init__(self, output: OutputSpec, metric: str, seed: int = 0, resamples: int = 10_000):
        self.output = output
        self.fields = list(output.fields or {})
        self.names = metrics.metric_names(output.kind, output.fields)
        if metric not in self.names:
            raise ConfigError(
                f"metric {metric!r} is not available for {output.kind} outputs",
                where="task.metric",
                fix=f"use one of {', '.join(self.names)}",
            )
        self.metric, self.seed, self.resamples = metric, seed, resamples

    def score(
        self, prediction: str, reference: str, alternatives: Sequence[str] = ()
    ) -> dict[str, float]:
        """Scores against the reference, or the best over it and other gold answers."""
        scores = self._score(prediction, reference)
        for other in alternatives:
            for name, value in self._score(prediction, other).items():
                scores[name] = max(scores[name], value)
        return scores

    def _score(self, prediction: str, reference: str) -> dict[str, float]:
        scores = {
            "exact_match": metrics.exact_match(prediction, reference),
            "token_f1": metrics.token_f1(prediction, reference),
        }
        if self.output.kind == "label":
            scores["label_accuracy"] = metrics.label_accuracy(prediction, reference)
        elif self.output.kind == "json":
            scores.update(metrics.json_scores(prediction, reference, self.fields))
        return scores

    def summarize(
        self,
        scores: Sequence[Mapping[str, float]],
        latencies_s: Sequence[float],
        compute_s: Sequence[float],
        prompt_tokens: Sequence[int],
        completion_tokens: Sequence[int],
        costs_usd: Sequence[float],
    ) -> Summary:
        means = {name: float(np.mean([s[name] for s in scores])) for name in self.names}
        primary = bootstrap_mean(
            [s[self.metric] for s in scores], resamples=self.resamples, seed=self.seed
        )
        latency = np.asarray(latencies_s, dtype=float)
        return Summary(
            metric=self.metric,
            primary=primary,
            means=means,
            latency_p50_s=float(np.percentile(latency, 50)),
            latency_p95_s=float(np.percentile(latency, 95)),
            compute_s_mean=float(np.mean(compute_s)),
            prompt_tokens_mean=float(np.mean(prompt_tokens)),
            completion_tokens_mean=float(np.mean(completion_tokens)),
            usd_per_1k_calls=float(np.mean(costs_usd)) * 1000,
            n=len(scores),
        )
