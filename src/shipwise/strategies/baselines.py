"""Arms that need no language model: the floor every arm must beat, and a real alternative.

- :class:`MajorityArm` answers the most frequent train answer every time (for a JSON task, the
  most frequent value of each field, absent included). It is the floor: never shipped, and an
  arm that does not beat it significantly is not shippable either.
- :class:`KnnArm` answers by a vote of the nearest train examples, by the configured embedder.
  It is a real arm with its own cost (one embedding per call): "no LLM at all" is a fair
  answer for closed-set tasks. ``k`` and the weighting are chosen on val unless fixed.

Both answer through the :class:`~shipwise.models.base.Generator` seam, so the runner scores,
caches, times and costs them like any arm.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shipwise.cache import content_key
from shipwise.errors import ConfigError
from shipwise.evaluation.aggregates import columns_matrix, metric_for
from shipwise.evaluation.evaluator import Evaluator
from shipwise.evaluation.metrics import normalize_label, parse_json_object
from shipwise.models.base import (
    Completion,
    GenerationSettings,
    ModelInfo,
    Price,
    ProgressCallback,
    TokenCounting,
)
from shipwise.models.constrained import declares_closed_set
from shipwise.retrieval.embedders import Embedder
from shipwise.strategies.base import ArmInfo, PlainPredictor, Setup, SetupContext, check_arm
from shipwise.tasks.example import Example, Messages, last_user_text
from shipwise.tasks.task import OutputSpec, Task

WEIGHTINGS = ("uniform", "similarity")


def closed_set_reason(output: OutputSpec) -> str | None:
    """Why answers cannot be voted on (free text, a free JSON field), or None when they can."""
    if declares_closed_set(output):
        return None
    if output.kind == "json":
        free = [name for name, values in (output.fields or {}).items() if not values]
        return (
            f"JSON fields {', '.join(free)} take free values: there is no closed set to vote over"
        )
    return "free-text answers have no closed set to vote over"


class AnswerKey:
    """Reads answers as the votes count them: labels normalised, JSON objects per field."""

    def __init__(self, output: OutputSpec) -> None:
        self.output = output
        self.fields = list(output.fields or {})
        self.lists = {self.fields.index(name) for name in output.lists}  # voted item by item

    def votes(self, reference: str) -> tuple[Any, ...]:
        """One vote per field (a label task has one field)."""
        if self.output.kind != "json":
            return (reference,)
        parsed = parse_json_object(reference) or {}
        return tuple(parsed.get(f) for f in self.fields)

    def answer(self, winners: Sequence[Any]) -> str:
        if self.output.kind != "json":
            return str(winners[0])
        return json.dumps(dict(zip(self.fields, winners, strict=True)), ensure_ascii=False)


def _label(value: Any) -> Any:
    """A value as votes count it: a label normalised; a list (a field holding several
    values) as its normalised values in any order, as the metric scores it; an object by its
    JSON."""
    if isinstance(value, str):
        return normalize_label(value)
    if isinstance(value, list):
        return json.dumps(sorted(str(_label(v)) for v in value), ensure_ascii=False)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


@dataclass
class FixedAnswer:
    """A "model" that gives one answer to everything, instantly."""

    text: str
    name: str
    constrains: bool = False

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(self.name, "baseline:constant", Price(), content_key(self.text)[:16])

    def token_counting(self) -> TokenCounting | None:
        return None

    def generate(
        self,
        prompts: Sequence[Messages],
        settings: GenerationSettings,
        on_progress: ProgressCallback | None = None,
    ) -> list[Completion]:
        if on_progress:
            on_progress(len(prompts))
        return [Completion(self.text, 0, 0, 0.0, 0.0) for _ in prompts]


class MajorityArm:
    """The constant answer: the most frequent train answer (per field for JSON)."""

    def __init__(self, name: str, kind: str, simplicity: int) -> None:
        check_arm(name, kind, simplicity)
        self.name = name
        self.info = ArmInfo(
            kind=kind, simplicity=simplicity, shippable=False, learns="the majority answer",
            general=False,
        )  # fmt: skip

    def not_applicable(self, task: Task) -> str | None:
        if task.spec.output.kind != "text":
            return None
        counts = Counter(e.reference.strip() for e in task.split("train"))
        if counts and counts.most_common(1)[0][1] > 1:
            return None
        return "every train answer is different: no answer is the most frequent"

    def setup(self, task: Task, context: SetupContext) -> Setup:
        key = AnswerKey(task.spec.output)
        train = task.split("train")
        columns = list(zip(*(key.votes(e.reference) for e in train), strict=True))
        winners = [_most_common(column) for column in columns]
        answer = key.answer(winners)
        generator = FixedAnswer(answer, "majority")
        return Setup(PlainPredictor(generator), params={"answer": answer, "pool": len(train)})


def _most_common(values: Sequence[Any]) -> Any:
    """The most frequent value; ties go to the one seen first (normalised labels compared)."""
    counts = Counter(_label(v) for v in values)
    best = max(counts.values())
    return next(v for v in values if counts[_label(v)] == best)


@dataclass(frozen=True)
class Neighbours:
    """How the nearest-neighbour arm votes; ``auto`` chooses on the val split."""

    k: int | str = "auto"  # neighbours that vote, or auto: the best of `candidates` on val
    weighting: str = "auto"  # uniform, similarity (cosine-weighted), or auto
    candidates: tuple[int, ...] = (1, 3, 5, 10, 20)
    usd_per_hour: float = 0.10  # what the machine embedding each query costs

    def __post_init__(self) -> None:
        if self.k != "auto" and (not isinstance(self.k, int) or self.k < 1):
            raise ConfigError(
                f"k must be auto or at least 1, got {self.k!r}", where="strategy.neighbours.k"
            )
        if self.weighting not in ("auto", *WEIGHTINGS):
            raise ConfigError(
                f"unknown weighting {self.weighting!r}",
                where="strategy.neighbours.weighting",
                fix=f"use auto, {', '.join(WEIGHTINGS)}",
            )
        object.__setattr__(self, "candidates", tuple(int(c) for c in self.candidates))
        if not self.candidates or min(self.candidates) < 1:
            raise ConfigError(
                "candidates must be k values of at least 1", where="strategy.neighbours.candidates"
            )


class Voter:
    """Votes of the ``k`` nearest train examples; the nearest breaks ties."""

    def __init__(
        self, vectors: np.ndarray, votes: Sequence[tuple[Any, ...]], key: AnswerKey
    ) -> None:
        self.vectors, self.votes, self.key = vectors, list(votes), key

    def answers(self, queries: np.ndarray, k: int, weighting: str) -> list[str]:
        scores = queries @ self.vectors.T  # (queries, pool) cosine: rows are unit vectors
        k = min(k, len(self.votes))
        nearest = np.argsort(-scores, axis=1, kind="stable")[:, :k]  # (queries, k)
        out = []
        for row, order in zip(scores, nearest, strict=True):
            weights = row[order] if weighting == "similarity" else np.ones(len(order))
            winners = []
            for field in range(len(self.votes[0])):
                if field in self.key.lists:
                    winners.append(self._items(order, weights, field))
                    continue
                tally: dict[Any, float] = {}
                first: dict[Any, Any] = {}
                for i, w in zip(order, weights, strict=True):
                    value = self.votes[i][field]
                    label = _label(value)
                    tally[label] = tally.get(label, 0.0) + float(
                        max(w, 0.0) if weighting == "similarity" else w
                    )
                    first.setdefault(label, value)
                best = max(tally.values())
                winners.append(next(first[lab] for lab in first if tally[lab] == best))
            out.append(self.key.answer(winners))
        return out

    def _items(self, order: np.ndarray, weights: np.ndarray, field: int) -> list[Any] | None:
        """A list field's answer: each item the neighbours holding it outweigh those that do
        not (multi-label kNN: every label voted on alone), in the order first seen."""
        total = float(np.clip(weights, 0.0, None).sum())
        held: dict[Any, float] = {}
        first: dict[Any, Any] = {}
        for i, w in zip(order, weights, strict=True):
            for item in self.votes[i][field] or []:
                label = _label(item)
                held[label] = held.get(label, 0.0) + max(float(w), 0.0)
                first.setdefault(label, item)
        kept = [first[label] for label in first if total > 0 and held[label] > total / 2]
        return kept or None


@dataclass
class NeighbourVote:
    """The kNN arm's "model": embeds each input and lets its nearest train examples vote."""

    embedder: Embedder
    voter: Voter
    k: int
    weighting: str
    identity: str
    usd_per_hour: float
    constrains: bool = False

    @property
    def info(self) -> ModelInfo:
        name = f"knn k={self.k} {self.weighting} ({self.embedder.name})"
        return ModelInfo(name, "baseline:knn", Price(usd_per_hour=self.usd_per_hour), self.identity)

    def token_counting(self) -> TokenCounting | None:
        return None

    def generate(
        self,
        prompts: Sequence[Messages],
        settings: GenerationSettings,
        on_progress: ProgressCallback | None = None,
    ) -> list[Completion]:
        if not prompts:
            return []
        started = time.perf_counter()
        queries = self.embedder.embed([last_user_text(p) for p in prompts])
        answers = self.voter.answers(queries, self.k, self.weighting)
        elapsed = time.perf_counter() - started
        if on_progress:
            on_progress(len(prompts))
        share = elapsed / len(prompts)
        return [Completion(a, 0, 0, elapsed, share) for a in answers]


class KnnArm:
    """Nearest neighbours over the train inputs, by the configured embedder."""

    def __init__(self, name: str, kind: str, simplicity: int, neighbours: Neighbours) -> None:
        check_arm(name, kind, simplicity)
        self.name, self.neighbours = name, neighbours
        self.info = ArmInfo(
            kind=kind, simplicity=simplicity, learns="the neighbour index", general=False
        )

    def not_applicable(self, task: Task) -> str | None:
        return closed_set_reason(task.spec.output)

    def setup(self, task: Task, context: SetupContext) -> Setup:
        output = task.spec.output
        key = AnswerKey(output)
        train, val = list(task.split("train")), list(task.split("val"))
        cached = context.cached_embedder()
        voter = Voter(
            cached.embed([e.user_text for e in train]), [key.votes(e.reference) for e in train], key
        )
        grid = self._grid(len(train))
        scores: dict[tuple[int, str], float] = {}
        if len(grid) > 1 and val:
            scores = _score_grid(
                voter, cached.embed([e.user_text for e in val]), val, task, grid, context.seed
            )
            k, weighting = max(grid, key=lambda g: (scores[g], -g[0], g[1] == "uniform"))
        else:
            k, weighting = grid[0]
        identity = content_key(
            "knn", [[e.user_text, e.reference] for e in train], k, weighting, cached.name
        )[:16]
        generator = NeighbourVote(
            context.embedder, voter, k, weighting, identity, self.neighbours.usd_per_hour
        )
        metrics = {f"knn.val.k{kk}_{w}": v for (kk, w), v in scores.items()}
        return Setup(
            PlainPredictor(generator),
            params={
                "k": k,
                "weighting": weighting,
                "pool": len(train),
                "chosen_on": "val" if scores else "config",
            },
            metrics=metrics,
        )

    def _grid(self, pool: int) -> list[tuple[int, str]]:
        n = self.neighbours
        ks = [n.k] if isinstance(n.k, int) else sorted({min(c, pool) for c in n.candidates})
        weightings = list(WEIGHTINGS) if n.weighting == "auto" else [n.weighting]
        return [(int(k), w) for k in ks for w in weightings]


def _score_grid(
    voter: Voter,
    queries: np.ndarray,
    val: Sequence[Example],
    task: Task,
    grid: Sequence[tuple[int, str]],
    seed: int,
) -> dict[tuple[int, str], float]:
    """The task's primary metric on val for every (k, weighting) in ``grid``."""
    spec = task.spec
    evaluator = Evaluator(spec.output, spec.metric, seed)
    metric = metric_for(spec.metric, spec.output.kind, spec.output.labels, spec.output.fields)
    out = {}
    for k, weighting in grid:
        answers = voter.answers(queries, k, weighting)
        rows = [
            evaluator.score(a, e.reference, e.alternatives)
            for a, e in zip(answers, val, strict=True)
        ]
        out[(k, weighting)] = float(metric.value(columns_matrix(rows, metric)))
    return out
