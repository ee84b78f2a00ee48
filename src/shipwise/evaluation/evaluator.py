"""The shared Evaluator: the same scoring for every arm, from per-example scores up."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from shipwise import contract
from shipwise.errors import ConfigError
from shipwise.evaluation import metrics, text_metrics
from shipwise.evaluation.aggregates import Mean, Metric, columns_matrix, metric_for
from shipwise.evaluation.stats import Interval, interval
from shipwise.evaluation.style import style_metric_names, style_scores
from shipwise.tasks.task import OutputSpec

if TYPE_CHECKING:
    from shipwise.evaluation.judge import Judge
    from shipwise.retrieval.embedders import Embedder


@dataclass(frozen=True)
class ScoringContext:
    """What the scores that embed or call a judge need. A text metric whose part is absent
    (no embedder factory for ``similarity``, no judge for ``judge``) is left out."""

    embedder_factory: Callable[[], Embedder] | None = None
    judge: Judge | None = None


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
    scoring: Mapping[str, float] = field(default_factory=dict)
    """What scoring itself cost (the judge's calls and $), apart from the arm's calls."""

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
        out.update({f"{prefix}{name}": value for name, value in self.scoring.items()})
        return out


class Evaluator:
    """Scores predictions against references for one output spec and primary metric.

    :meth:`score` gives the per-example metrics; :meth:`score_batch` adds those that embed
    (``similarity``) or call a judge (``judge``), which need a :class:`ScoringContext`.
    """

    def __init__(
        self,
        output: OutputSpec,
        metric: str,
        seed: int = 0,
        resamples: int = 10_000,
        context: ScoringContext | None = None,
    ):
        self.output = output
        self.fields = list(output.fields or {})
        self.context = context or ScoringContext()
        self.judge = self.context.judge if "judge" in output.metrics else None
        self.embeds = "similarity" in output.metrics and self.context.embedder_factory is not None
        self.names = metrics.metric_names(output.kind, output.fields) + self._text_names()
        if metric not in self.names:
            needs = {"similarity": "an embedder", "judge": "a judge (judge=openai)"}
            needs["judge_pairwise"] = needs["judge"]
            raise ConfigError(
                f"metric {metric!r} is not available for this {output.kind} output"
                + (f": it needs {needs[metric]} in the scoring context" if metric in needs else ""),
                where="task.metric",
                fix=f"use one of {', '.join(self.names)}",
            )
        self.metrics = {n: self._metric(n) for n in self.names}
        self.primary = self.metrics[metric]
        self.metric, self.seed, self.resamples = metric, seed, resamples
        self._embedder: Embedder | None = None
        self._scoring: dict[str, float] = {}

    def _text_names(self) -> list[str]:
        chosen = self.output.metrics
        names = [m for m in ("rouge_l", "chrf") if m in chosen]
        if self.embeds:
            names.insert(0, "similarity")
        if "style" in chosen:
            names += style_metric_names(self.output.style)
        if self.judge is not None:
            names += [self.judge.metric, "judge_failed"]
        return names

    def _metric(self, name: str) -> Metric:
        if name not in metrics.metric_names(self.output.kind, self.output.fields):
            return Mean(name)  # the free-text scores are per example, averaged
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
        chosen = self.output.metrics
        if "rouge_l" in chosen:
            scores["rouge_l"] = text_metrics.rouge_l(prediction, reference)
        if "chrf" in chosen:
            scores["chrf"] = text_metrics.chrf(prediction, reference)
        if "style" in chosen:
            scores.update(style_scores(self.output.style, prediction, reference))
        return scores

    def score_batch(
        self,
        predictions: Sequence[str],
        references: Sequence[str],
        inputs: Sequence[str] | None = None,
        alternatives: Sequence[Sequence[str]] | None = None,
    ) -> list[dict[str, float]]:
        """:meth:`score` for every example, plus similarity (one embedding call for the
        batch) and the judge's verdicts (``inputs``, the user messages, are what it reads)."""
        others = alternatives if alternatives is not None else [()] * len(predictions)
        scores = [
            self.score(p, r, a) for p, r, a in zip(predictions, references, others, strict=True)
        ]
        if self.embeds and predictions:
            groups = [[r, *a] for r, a in zip(references, others, strict=True)]
            sims = text_metrics.cosine_similarity(self._embedder_once(), predictions, groups)
            for row, value in zip(scores, sims, strict=True):
                row["similarity"] = value
        if self.judge is not None and predictions:
            if inputs is None:
                raise ValueError("the judge reads the user messages: pass inputs=")
            before = copy.copy(self.judge.usage)
            verdicts = self.judge.judge(self.output.rubric, inputs, predictions, references)
            for row, verdict in zip(scores, verdicts, strict=True):
                row[self.judge.metric] = verdict.score
                row["judge_failed"] = float(verdict.failed)
            spent = asdict(self.judge.usage)
            for key, old in asdict(before).items():
                name = f"judge.{key}"
                self._scoring[name] = self._scoring.get(name, 0.0) + spent[key] - old
        return scores

    def _embedder_once(self) -> Embedder:
        if self._embedder is None:
            assert self.context.embedder_factory is not None
            self._embedder = self.context.embedder_factory()
        return self._embedder

    def value(self, scores: Sequence[Mapping[str, float]], name: str | None = None) -> float:
        """A metric's value over a split (the primary metric when ``name`` is None).

        Examples a metric could not score (a judge's unparsable answer: NaN) are left out.
        """
        metric = self.primary if name is None else self.metrics[name]
        rows = _scored(scores, metric)
        if not rows:
            return float("nan")
        return float(metric.value(columns_matrix(rows, metric)))

    def summarize(
        self,
        scores: Sequence[Mapping[str, float]],
        latencies_s: Sequence[float],
        compute_s: Sequence[float],
        prompt_tokens: Sequence[int],
        completion_tokens: Sequence[int],
        costs_usd: Sequence[float],
    ) -> Summary:
        # Names every score carries: score() alone leaves out similarity and the judge.
        names = [n for n in self.names if all(n in s for s in scores)]
        means = {n: self.value(scores, n) for n in names}
        # A judge's unparsable answers are NaN: the interval is over the examples it scored.
        rows = _scored(scores, self.primary)
        primary = interval(
            columns_matrix(rows, self.primary), self.primary, self.resamples, seed=self.seed
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
            scoring=dict(self._scoring),
        )


def _scored(scores: Sequence[Mapping[str, float]], metric: Metric) -> list[Mapping[str, float]]:
    """The examples the metric could score: none of its columns is NaN."""
    return [s for s in scores if not any(np.isnan(s[c]) for c in metric.columns)]
