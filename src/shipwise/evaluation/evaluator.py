"""The shared Evaluator: the same scoring for every arm, from per-example scores up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from shipwise import contract
from shipwise.evaluation import metrics
from shipwise.evaluation.aggregates import Metric, columns_matrix, metric_for
from shipwise.evaluation.stats import Interval, interval
from shipwise.tasks.task import OutputSpec


@dataclass(frozen=True)
class Summary:
    """Aggregates of one split: every metric's value, the primary metric's interval, call stats.

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
    """Scores predictions against references for one output spec and primary metric.

    ``score`` gives one example's scores (and the parts corpus metrics are built from);
    ``summarize`` turns a split's scores into every metric's value and the primary metric's
    interval, resampling examples and recomputing it (``evaluation.stats``).
    """

    def __init__(self, output: OutputSpec, metric: str, seed: int = 0, resamples: int = 10_000):
        self.output = output
        self.fields = list(output.fields or {})
        self.names = metrics.metric_names(output.kind, output.fields)
        self.metrics = {name: self._metric(name) for name in self.names}
        self.primary = self._metric(metric)  # a ConfigError naming the options when unknown
        self.metric, self.seed, self.resamples = metric, seed, resamples

    def _metric(self, name: str) -> Metric:
        return metric_for(name, self.output.kind, self.output.labels, self.output.fields)

    def score(
        self, prediction: str, reference: str, alternatives: Sequence[str] = ()
    ) -> dict[str, float]:
        """Scores against the reference, or the best over it and other gold answers.

        The parts of corpus metrics (label indices, slot counts) always come from the
        reference itself: a best-of over alternatives would mix counts of different answers.
        """
        scores = self._score(prediction, reference)
        for other in alternatives:
            for name, value in self._score(prediction, other).items():
                if name not in metrics.PARTS:
                    scores[name] = max(scores[name], value)
        return scores

    def _score(self, prediction: str, reference: str) -> dict[str, float]:
        scores = {
            "exact_match": metrics.exact_match(prediction, reference),
            "token_f1": metrics.token_f1(prediction, reference),
        }
        if self.output.kind == "label":
            scores["label_accuracy"] = metrics.label_accuracy(prediction, reference)
            scores.update(metrics.label_indices(prediction, reference, self.output.labels or ()))
        elif self.output.kind == "json":
            scores.update(metrics.json_scores(prediction, reference, self.fields))
        return scores

    def value(self, scores: Sequence[Mapping[str, float]], name: str | None = None) -> float:
        """A metric's value over a split (the primary metric when ``name`` is None)."""
        metric = self.primary if name is None else self.metrics[name]
        if not scores:
            return float("nan")
        return float(metric.value(columns_matrix(scores, metric)))

    def summarize(
        self,
        scores: Sequence[Mapping[str, float]],
        latencies_s: Sequence[float],
        compute_s: Sequence[float],
        prompt_tokens: Sequence[int],
        completion_tokens: Sequence[int],
        costs_usd: Sequence[float],
    ) -> Summary:
        means = {name: self.value(scores, name) for name in self.names}
        primary = interval(
            columns_matrix(scores, self.primary), self.primary, self.resamples, seed=self.seed
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
