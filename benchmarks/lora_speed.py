"""What each CPU-side LoRA setting buys: training tokens/s of shipwise's trainer, side by side.

Usage:
    .venv/bin/python benchmarks/lora_speed.py [--train 120] [--epochs 2] [--batch-size 8]
        [--top-layers 16] [--rounds 2] [--json]

Reads ../shared/datasets/banking77 (skips when absent), imports a seeded sample of train.csv
with the project's table importer, and trains ``train_lora`` on the embedded SmolLM2-135M for
``--epochs`` epochs per setting, in one process, on the same examples in the same order:
  - dropout 0.05, every layer adapted (the default);
  - dropout 0, every layer adapted;
  - dropout 0, only the top ``--top-layers`` layers adapted: backpropagation stops below them,
    and the frozen layers below run once per example (their output is cached), not per step;
  - the same, with the frozen layers run at every step (what the cache saves).
Tokens/s counts every epoch's tokens, over the optimisation steps plus the frozen layers' one
pass. Each setting runs ``--rounds`` times, interleaved (a, b, c, a, b, c), and its best round
counts, so a burst of other work on the shared cores does not land on one setting only. It
prints each setting's tokens/s and its ratio to the first.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from lora import BANKING77, embedded_generator, encode_examples, warm_up


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=120)
    parser.add_argument("--epochs", type=int, default=2, help="the frozen cache pays from the 2nd")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--top-layers", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object, no table")
    args = parser.parse_args(argv)
    if not (BANKING77 / "train.csv").is_file():
        print(f"skipped: {BANKING77} not found (the shared datasets are not beside this checkout)")
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="shipwise-bench-") as work:
        results = run(args, Path(work))
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    first = results["settings"][0]["tokens_per_s"]
    print(
        f"\nBanking77: {results['train']} examples x {args.epochs} epochs, batch {args.batch_size},"
        f" best of {args.rounds} interleaved rounds"
    )
    print(f"{'setting':>34} {'tokens':>7} {'tok/s':>7} {'rounds tok/s':>16} {'vs first':>9}")
    for row in results["settings"]:
        rounds = " / ".join(f"{r:.0f}" for r in row["rounds"])
        print(
            f"{row['name']:>34} {row['tokens']:>7} {row['tokens_per_s']:>7.1f}"
            f" {rounds:>16} {row['tokens_per_s'] / first:>8.2f}x"
        )
    return 0


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from shipwise.finetune.lora import LoraSettings, train_lora
    from shipwise.tasks.importers.tabular import TableSettings, import_table
    from shipwise.tasks.jsonl import read_chat_jsonl

    table = TableSettings(
        input_cols=("text",),
        output_cols=("category",),
        sample={"train": args.train},
        seed=args.seed,
    )
    summary = import_table(BANKING77 / "train.csv", work, "banking77", table)
    examples = read_chat_jsonl(summary.task_dir / "train.jsonl", split="train")
    gen = embedded_generator()
    _, tokenizer = gen.load()
    pad = int(tokenizer.pad_token_id)
    train = encode_examples(gen, examples, LoraSettings().max_length)
    warm_up(gen.fresh_model(), train[: args.batch_size], pad)

    base = LoraSettings(
        epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, patience=args.epochs
    )
    top = f"dropout 0, top {args.top_layers}"
    settings = {
        "dropout 0.05, all layers": replace(base, dropout=0.05),
        "dropout 0, all layers": replace(base, dropout=0.0),
        top: replace(base, dropout=0.0, top_layers=args.top_layers),
    }
    runs = [(name, chosen, True) for name, chosen in settings.items()]
    # the same settings with the frozen layers run at every step: what caching them saves
    runs.append((f"{top}, no frozen cache", settings[top], False))
    rounds: dict[str, list[float]] = {name: [] for name, _, _ in runs}
    tokens: dict[str, int] = {}
    for _ in range(args.rounds):
        for name, chosen, cache in runs:
            report = train_lora(gen.fresh_model(), train, [], chosen, pad, cache_frozen=cache)
            rounds[name].append(report.tokens_per_s)
            tokens[name] = report.train_tokens
    return {
        "train": len(train),
        "settings": [
            {
                "name": name,
                "tokens": tokens[name],
                "tokens_per_s": max(rounds[name]),
                "rounds": rounds[name],
            }
            for name in rounds
        ],
    }


if __name__ == "__main__":
    raise SystemExit(main())
