"""Choosing few-shot demonstrations from the train split: fixed, seeded random, or most similar.

Demonstrations only ever come from the pool given here (the train split), and never include
the example being answered: when a tuned arm renders its own training rows, a train example
is not shown itself as a demonstration (it would teach copying).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from shipwise.errors import ConfigError
from shipwise.retrieval.embedders import Embedder
from shipwise.tasks.example import Example

SELECTIONS = ("fixed", "random", "similar")


class DemoSelector:
    def __init__(
        self,
        pool: Sequence[Example],
        k: int,
        selection: str,
        seed: int,
        embedder: Embedder | None = None,
        demo_ids: Sequence[str] | None = None,
    ) -> None:
        if k > len(pool):
            raise ConfigError(
                f"k={k} demonstrations asked for, the train split has {len(pool)}",
                where="strategy.demos.k",
            )
        self.k, self.selection = k, selection
        self.pool = list(pool)
        self._fixed: list[Example] = []
        self._matrix: np.ndarray | None = None
        self._embedder = embedder
        if selection == "fixed":
            self._fixed = self._by_ids(demo_ids) if demo_ids else self.pool[:k]
        elif selection == "random":
            self._fixed = random.Random(seed).sample(self.pool, k)
        elif k > 0:
            if embedder is None:
                raise ConfigError("similar selection needs an embedder", where="embedder")
            # (pool, dim) unit rows: one matrix product scores every query against the pool
            self._matrix = embedder.embed([e.user_text for e in self.pool])

    def _by_ids(self, ids: Sequence[str]) -> list[Example]:
        by_id = {e.id: e for e in self.pool}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise ConfigError(
                f"demo ids not in the train split: {', '.join(missing)}",
                where="strategy.demos.demo_ids",
            )
        return [by_id[i] for i in ids]

    def select(self, examples: Sequence[Example]) -> list[list[Example]]:
        """Demonstrations per example; the most similar goes last, nearest the question."""
        if self._matrix is None or self._embedder is None:
            return [[d for d in self._fixed if d.id != e.id] for e in examples]
        queries = self._embedder.embed([e.user_text for e in examples])  # (n, dim)
        scores = queries @ self._matrix.T  # (n, pool)
        position = {d.id: i for i, d in enumerate(self.pool)}
        chosen = []
        for example, row in zip(examples, scores, strict=True):
            if example.id in position:
                row[position[example.id]] = -np.inf  # never its own demonstration
            top = np.argsort(-row, kind="stable")[: self.k]
            chosen.append([self.pool[i] for i in reversed(top)])
        return chosen
