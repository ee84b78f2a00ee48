"""How a metric's per-example columns become its value over a split.

A metric reads some per-example score columns (``columns``) and turns their values into one
number (``value``). For a mean metric that is the average of its own column; a corpus metric
(macro-F1, slot F1) recomputes from counts. ``value`` takes an array shaped
``(len(columns), ..., n)`` (any batch axes in between: bootstrap resamples, simulated
studies) and reduces the last axis, so intervals resample examples and recompute the metric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from shipwise.errors import ConfigError
from shipwise.evaluation.metrics import metric_names

if TYPE_CHECKING:
    from shipwise.evaluation.style import StyleRule
    from shipwise.tasks.task import OutputSpec


class Metric(Protocol):
    """``extremes()``: one example's columns at its best and at its worst (pseudo-examples)."""

    @property
    def name(self) -> str: ...

    @property
    def columns(self) -> tuple[str, ...]: ...

    def value(self, data: np.ndarray) -> np.ndarray: ...

    def extremes(self) -> tuple[tuple[float, ...], tuple[float, ...]]: ...


@dataclass(frozen=True)
class Mean:
    """The average of the metric's own per-example score."""

    name: str

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.name,)

    def value(self, data: np.ndarray) -> np.ndarray:
        return np.asarray(data[0].mean(axis=-1))

    def extremes(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return (1.0,), (0.0,)  # every mean metric here scores an example in [0, 1]


@dataclass(frozen=True)
class Slots:
    """Precision, recall or F1 over the field values that are present (micro-averaged).

    An example with nothing to find and nothing claimed adds nothing; a split with nothing
    to find and nothing claimed scores 1 (there was nothing to get wrong).
    """

    name: str
    which: str  # f1, precision or recall

    @property
    def columns(self) -> tuple[str, ...]:
        return ("slot.hits", "slot.predicted", "slot.gold")

    def extremes(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return (1.0, 1.0, 1.0), (0.0, 1.0, 1.0)  # one slot to find: found, or answered wrong

    def value(self, data: np.ndarray) -> np.ndarray:
        hits, predicted, gold = data.sum(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.which == "precision":
                out = np.where(predicted > 0, hits / predicted, 1.0 * (gold == 0))
            elif self.which == "recall":
                out = np.where(gold > 0, hits / gold, 1.0 * (predicted == 0))
            else:
                total = predicted + gold
                out = np.where(total > 0, 2 * hits / total, 1.0)
        return np.asarray(out, dtype=float)


@dataclass(frozen=True)
class MacroF1:
    """F1 per label, averaged over the labels that occur (as gold or as predicted).

    Predictions that are no label count as a miss for the gold label and as no label's
    prediction, as scikit-learn's ``f1_score(average="macro", labels=...)`` counts them.
    """

    name: str
    labels: int

    @property
    def columns(self) -> tuple[str, ...]:
        return ("label.predicted", "label.gold")

    def extremes(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return (0.0, 0.0), (-1.0, 0.0)  # the first label: named, or answered with no label

    def value(self, data: np.ndarray) -> np.ndarray:
        predicted, gold = data.astype(np.int64)
        batch = predicted.shape[:-1]
        rows = int(np.prod(batch)) if batch else 1
        predicted, gold = predicted.reshape(rows, -1), gold.reshape(rows, -1)
        size = self.labels + 1  # the last bin holds "not a label"
        offset = (np.arange(rows) * size)[:, None]

        def counts(index: np.ndarray, keep: np.ndarray) -> np.ndarray:
            index = np.where(index < 0, self.labels, index) + offset
            flat = np.bincount(index[keep], minlength=rows * size)
            return flat.reshape(rows, size)[:, : self.labels].astype(float)

        everything = np.ones_like(gold, dtype=bool)
        hits = counts(gold, (predicted == gold) & (gold >= 0))
        total = counts(predicted, everything) + counts(gold, everything)
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(total > 0, 2 * hits / total, np.nan)
        occurring = np.maximum((total > 0).sum(axis=1), 1)
        out = np.nansum(f1, axis=1) / occurring
        return out.reshape(batch) if batch else np.asarray(out[0])


CORPUS_COLUMNS = ("label.predicted", "label.gold", "slot.hits", "slot.predicted", "slot.gold")


def declared_text_metrics(chosen: Sequence[str], style: Sequence[StyleRule]) -> list[str]:
    """What a text task's ``output.metrics`` add to exact match and token F1: the scores it
    names, each style rule with the pass rate and all-pass score, the judge's two."""
    from shipwise.evaluation.style import style_metric_names

    names = [m for m in chosen if m not in ("style", "judge")]
    if "style" in chosen:
        names += style_metric_names(style)
    if "judge" in chosen:
        names += ["judge", "judge_pairwise"]
    return names


def task_metric(output: OutputSpec, name: str) -> Metric:
    """The metric called ``name`` for a task's output spec, its declared text metrics included.

    A free-text score (similarity, a style rule, the judge's) is a per-example mean.
    """
    kind, fields = output.kind, output.fields
    if kind == "text" and name not in metric_names(kind, fields):
        declared = declared_text_metrics(output.metrics, output.style)
        if name in declared:
            return Mean(name)
        raise ConfigError(
            f"metric {name!r} is not available for {kind} outputs",
            where="task.metric",
            fix=f"use one of {', '.join([*metric_names(kind, fields), *declared])}",
        )
    return metric_for(name, kind, output.labels, fields)


def metric_for(
    name: str, kind: str, labels: Sequence[str] | None, fields: Mapping[str, object] | None
) -> Metric:
    """The metric called ``name`` for a task's output kind, or a ConfigError naming the options."""
    available = metric_names(kind, fields)
    if name not in available:
        raise ConfigError(
            f"metric {name!r} is not available for {kind} outputs",
            where="task.metric",
            fix=f"use one of {', '.join(available)}",
        )
    if name == "macro_f1":
        return MacroF1(name, len(labels or ()))
    if name.startswith("slot_"):
        return Slots(name, name.removeprefix("slot_"))
    return Mean(name)


def columns_matrix(rows: Sequence[Mapping[str, float]], metric: Metric) -> np.ndarray:
    """``(len(metric.columns), n)``: the metric's columns of each example's scores."""
    return np.array([[float(r[c]) for r in rows] for c in metric.columns], dtype=float)
