"""Constrained decoding: the answer can only be one of the outputs a task allows.

A label task allows its labels; a JSON task whose every field lists its allowed values allows
each combination, written as the references are (``json.dumps`` with default separators).
Greedy decoding then walks a token trie of those outputs, so an answer is always valid and the
model's own preferences still choose between them. Any arm can switch it on
(``generation.constrain=true``); the local backend enforces it inside ``generate``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shipwise.errors import ConfigError
from shipwise.tasks.task import OutputSpec

if TYPE_CHECKING:
    import torch

MAX_OUTPUTS = 20_000  # a JSON spec with more combinations than this is not enumerated


def allowed_outputs(output: OutputSpec) -> tuple[str, ...]:
    """Every answer the task allows, or a ConfigError when it does not declare a closed set."""
    if output.kind == "label" and output.labels:
        return tuple(output.labels)
    if output.kind == "json" and output.fields:
        values = list(output.fields.values())
        if any(not v for v in values):
            free = [name for name, v in output.fields.items() if not v]
            raise ConfigError(
                f"cannot constrain decoding: JSON fields {', '.join(free)} allow any value",
                where="generation.constrain",
                fix="list the allowed values of every field in task.output.fields,"
                " or set generation.constrain=false",
            )
        count = 1
        for v in values:
            count *= len(v)  # type: ignore[arg-type]  # checked non-empty above
        if count > MAX_OUTPUTS:
            raise ConfigError(
                f"cannot constrain decoding: the JSON fields allow {count} combinations"
                f" (more than {MAX_OUTPUTS})",
                where="generation.constrain",
                fix="set generation.constrain=false",
            )
        names = list(output.fields)
        return tuple(
            json.dumps(dict(zip(names, combo, strict=True)), ensure_ascii=False)
            for combo in itertools.product(*values)  # type: ignore[arg-type]
        )
    raise ConfigError(
        f"cannot constrain decoding for a {output.kind} task: it declares no closed set of answers",
        where="generation.constrain",
        fix="set generation.constrain=false (free-text answers cannot be constrained)",
    )


@dataclass
class _Node:
    children: dict[int, _Node] = field(default_factory=dict)


class TokenTrie:
    """Token sequences of the allowed outputs, each ending in the end-of-answer token."""

    def __init__(self, sequences: Sequence[Sequence[int]]) -> None:
        if not sequences:
            raise ValueError("a trie needs at least one sequence")
        self.root = _Node()
        for sequence in sequences:
            node = self.root
            for token in sequence:
                node = node.children.setdefault(token, _Node())

    def next_tokens(self, prefix: Sequence[int]) -> list[int]:
        """Tokens that may follow ``prefix``; empty once an output is complete or left the trie."""
        node = self.root
        for token in prefix:
            child = node.children.get(token)
            if child is None:
                return []
            node = child
        return list(node.children)


def prefix_constraint(
    trie: TokenTrie, prompt_length: int, end_token: int
) -> Callable[[int, torch.Tensor], list[int]]:
    """A ``prefix_allowed_tokens_fn`` for ``generate``: the trie's next tokens for each row.

    Prompts are left-padded to ``prompt_length``, so a row's answer so far is everything after
    it. A finished row (or one off the trie, which greedy decoding cannot reach) may only end.
    """

    def allowed(batch_id: int, input_ids: torch.Tensor) -> list[int]:
        return trie.next_tokens(input_ids[prompt_length:].tolist()) or [end_token]

    return allowed
