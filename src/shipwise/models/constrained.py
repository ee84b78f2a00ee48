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
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shipwise.errors import ConfigError
from shipwise.tasks.task import OutputSpec

if TYPE_CHECKING:
    import torch

MAX_OUTPUTS = 20_000  # a JSON spec with more combinations than this is not enumerated


def declares_closed_set(output: OutputSpec) -> bool:
    """The task lists every answer's values: its labels, or every JSON field's."""
    if output.kind == "label":
        return bool(output.labels)
    fields = output.fields or {}
    return output.kind == "json" and bool(fields) and all(fields.values())


def _options(name: str, values: Sequence[str], lists: Sequence[str]) -> list[Any]:
    """A field's possible values: one of ``values``; for a list field, every non-empty
    subset, its items in the order ``values`` lists them (as the importer writes them)."""
    if name not in lists:
        return list(values)
    if 2 ** len(values) > MAX_OUTPUTS:
        raise ConfigError(
            f"cannot constrain decoding: list field {name} allows {len(values)} items, so"
            f" {2 ** len(values) - 1:,} sets (more than {MAX_OUTPUTS:,})",
            where="generation.constrain",
            fix="set generation.constrain=false",
        )
    subsets = (itertools.combinations(values, n) for n in range(1, len(values) + 1))
    return [list(s) for s in itertools.chain.from_iterable(subsets)]


def allowed_outputs(output: OutputSpec) -> tuple[str, ...]:
    """Every answer the task allows, or a ConfigError when it does not declare a closed set.

    A list field's answer is a set of its values, written in the order they are listed."""
    if output.kind == "label" and output.labels:
        return tuple(output.labels)
    if output.kind == "json" and output.fields:
        if any(not v for v in output.fields.values()):
            free = [name for name, v in output.fields.items() if not v]
            raise ConfigError(
                f"cannot constrain decoding: JSON fields {', '.join(free)} allow any value",
                where="generation.constrain",
                fix="list the allowed values of every field in task.output.fields,"
                " or set generation.constrain=false",
            )
        # an absent field (null) is an answer too where the task says fields may be absent
        absent: list[Any] = [None] if output.nullable else []
        values = [
            [*_options(name, v, output.lists), *absent] for name, v in output.fields.items() if v
        ]
        count = math.prod(len(v) for v in values)
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
            for combo in itertools.product(*values)
        )
    raise ConfigError(
        f"cannot constrain decoding for a {output.kind} task: it declares no closed set of answers",
        where="generation.constrain",
        fix="set generation.constrain=false (free-text answers cannot be constrained)",
    )


DEAD = -1  # the state of a row that left the trie or finished an answer: it may only end


class TokenTrie:
    """Token sequences of the allowed outputs, each ending in the end-of-answer token.

    Nodes are numbered (the root is 0), so a row's place in the trie is one integer that
    advances by one dictionary lookup per generated token.
    """

    def __init__(self, sequences: Sequence[Sequence[int]]) -> None:
        if not sequences:
            raise ValueError("a trie needs at least one sequence")
        self.children: list[dict[int, int]] = [{}]  # node -> token -> child node
        for sequence in sequences:
            node = 0
            for token in sequence:
                child = self.children[node].get(token)
                if child is None:
                    child = len(self.children)
                    self.children.append({})
                    self.children[node][token] = child
                node = child
        self._allowed: dict[tuple[int, int], torch.Tensor] = {}

    def step(self, node: int, token: int) -> int:
        """The node after ``token`` is generated at ``node`` (DEAD when it is not allowed)."""
        return DEAD if node == DEAD else self.children[node].get(token, DEAD)

    def walk(self, tokens: Sequence[int], node: int = 0) -> int:
        for token in tokens:
            node = self.step(node, token)
        return node

    def forced(self) -> list[int]:
        """The tokens every allowed output starts with, up to its first choice or its end.

        Decoding them step by step only confirms what the trie dictates (``{"category": "``
        for a JSON task), so they can go in with the prompt instead, one pass for all of them.
        """
        tokens, node = [], 0
        while len(self.children[node]) == 1:
            [(token, child)] = self.children[node].items()
            if not self.children[child]:  # the end-of-answer token: leave it to decoding
                break
            tokens.append(token)
            node = child
        return tokens

    def next_tokens(self, prefix: Sequence[int]) -> list[int]:
        """Tokens that may follow ``prefix``; empty once an output is complete or left the trie."""
        node = self.walk(prefix)
        return [] if node == DEAD else list(self.children[node])

    def allowed(self, node: int, end_token: int) -> torch.Tensor:
        """The token ids allowed at ``node`` as a tensor, made once per node."""
        import torch

        key = (node, end_token)
        if key not in self._allowed:
            ids = list(self.children[node]) if node != DEAD else []
            self._allowed[key] = torch.tensor(ids or [end_token], dtype=torch.long)
        return self._allowed[key]


class TrieConstraint:
    """A logits processor for ``generate``: every score off the trie becomes -inf.

    Each row's trie node is carried from step to step (one lookup for the token just chosen)
    and each node's allowed ids are a tensor made once, so a step costs two indexing
    operations over the batch, not a Python list and a walk from the root per row. Prompts
    are left-padded to ``prompt_length``: a row's answer so far is everything after it, from
    trie node ``start`` (the node after ``forced()`` tokens already put in the prompt).
    """

    def __init__(self, trie: TokenTrie, prompt_length: int, end_token: int, start: int = 0) -> None:
        self.trie, self.prompt_length, self.end_token = trie, prompt_length, end_token
        self.start = start
        self._nodes: list[int] = []
        self._seen = -1  # input length at the last call

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        import torch

        length = input_ids.shape[1]
        if length == self._seen + 1 and len(self._nodes) == input_ids.shape[0]:
            last = input_ids[:, -1].tolist()
            self._nodes = [self.trie.step(n, t) for n, t in zip(self._nodes, last, strict=True)]
        else:  # the first step, or called out of order: walk each row from the root
            answers = input_ids[:, self.prompt_length :].tolist()
            self._nodes = [self.trie.walk(a, self.start) for a in answers]
        self._seen = length
        allowed = [self.trie.allowed(n, self.end_token) for n in self._nodes]
        cols = torch.cat(allowed).to(scores.device)
        counts = torch.tensor([len(a) for a in allowed], device=scores.device)
        rows = torch.repeat_interleave(torch.arange(len(allowed), device=scores.device), counts)
        masked = torch.full_like(scores, -math.inf)
        masked[rows, cols] = scores[rows, cols]
        return masked
