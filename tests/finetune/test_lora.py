import random
from typing import Any

import pytest

from shipwise.errors import ConfigError, DataError
from shipwise.finetune.lora import Encoded, LoraSettings, collate, encode, length_batches
from tests.conftest import tiny_llama


class _Tokenizer:
    """Characters as tokens: enough to check what encode() keeps."""

    def __call__(self, texts: list[str], add_special_tokens: bool = False) -> dict:
        return {"input_ids": [[ord(c) for c in t] for t in texts]}


def test_settings_validate_with_the_config_key() -> None:
    with pytest.raises(ConfigError, match=r"strategy\.backend\.rank"):
        LoraSettings(rank=0)
    with pytest.raises(ConfigError, match="schedule"):
        LoraSettings(schedule="exponential")
    assert LoraSettings(target_modules=["q_proj"]).target_modules == ("q_proj",)  # type: ignore[arg-type]


def test_encode_keeps_the_answer_whole_and_cuts_the_prompt_start() -> None:
    [e] = encode(_Tokenizer(), [("a", "abcdefgh", "xy")], end_token=0, max_length=6)
    assert e.answer == (ord("x"), ord("y"), 0)
    assert e.prompt == tuple(ord(c) for c in "fgh")
    with pytest.raises(DataError, match="max_length"):
        encode(_Tokenizer(), [("a", "p", "too long")], end_token=0, max_length=8)


def test_length_batches_group_similar_lengths_and_cover_everything() -> None:
    lengths = [random.Random(i).randint(5, 200) for i in range(101)]
    batches = length_batches(lengths, 8, random.Random(0))
    assert sorted(i for b in batches for i in b) == list(range(101))
    spread = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches]
    unsorted = [lengths[i : i + 8] for i in range(0, 101, 8)]
    assert sum(spread) < sum(max(b) - min(b) for b in unsorted) / 3
    # the batch order differs between epochs (same rng, drawn again)
    rng = random.Random(0)
    assert length_batches(lengths, 8, rng) != length_batches(lengths, 8, rng)


def test_collate_predicts_exactly_the_answer_tokens() -> None:
    examples = [Encoded("a", (1, 2, 3), (7, 8, 0)), Encoded("b", (4,), (9, 0))]
    batch = collate(examples, pad_id=0, device="cpu")
    assert batch.input_ids.tolist() == [[1, 2, 3, 7, 8, 0], [4, 9, 0, 0, 0, 0]]
    assert batch.targets.tolist() == [7, 8, 0, 9, 0]
    # the position before each answer token predicts it; padding predicts nothing
    assert batch.predicts.tolist() == [
        [False, False, True, True, True, False],
        [True, True, False, False, False, False],
    ]
    assert (batch.tokens, batch.padded) == (9, 12)


def test_top_layers_adapt_the_upper_layers_only() -> None:
    from types import SimpleNamespace

    from shipwise.finetune.lora import _top_layers

    model: Any = SimpleNamespace(config=SimpleNamespace(num_hidden_layers=30))
    assert _top_layers(model, 10) == list(range(20, 30))
    assert _top_layers(model, None) is None
    with pytest.raises(ConfigError, match="30 layers"):
        _top_layers(model, 31)


def test_top_layers_with_all_linear_adapts_every_linear_module_of_the_top_layers_only() -> None:
    from shipwise.finetune.lora import train_lora

    examples = [Encoded(str(i), (1, 2, 3 + i), (7 + i, 0)) for i in range(4)]
    settings = LoraSettings(top_layers=2, epochs=1, batch_size=2, dropout=0.0)
    report = train_lora(tiny_llama(), examples, [], settings, pad_id=0)
    adapted = {
        name.split(".layers.")[1].split(".lora_A")[0]
        for name, _ in report.model.named_parameters()
        if "lora_A" in name
    }
    modules = ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]
    prefix = {"self_attn": "q_proj k_proj v_proj o_proj", "mlp": "gate_proj up_proj down_proj"}
    expected = {
        f"{layer}.{block}.{name}"
        for layer in (2, 3)
        for block, names in prefix.items()
        for name in names.split()
    }
    assert adapted == expected and len(expected) == 2 * len(modules)
    assert report.steps == 2


def test_top_layers_refuses_a_pattern_it_cannot_combine_with_layers() -> None:
    from shipwise.finetune.lora import train_lora

    settings = LoraSettings(top_layers=2, target_modules=".*proj", epochs=1)
    with pytest.raises(ConfigError, match="target_modules"):
        train_lora(tiny_llama(), [Encoded("a", (1,), (2, 0))], [], settings, pad_id=0)


def test_frozen_layers_run_once_and_train_exactly_as_the_plain_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    from shipwise.finetune import lora

    examples = [Encoded(str(i), (1, 2 + i % 3, 3 + i), (7 + i, 9, 0)) for i in range(10)]
    val = [Encoded(f"v{i}", (1, 4, 5 + i), (8 + i, 0)) for i in range(3)]
    # dropout 0: both paths must draw nothing random for their weights to agree
    settings = LoraSettings(top_layers=2, epochs=2, batch_size=4, learning_rate=1e-2, dropout=0.0)

    def adapter(report: Any) -> dict[str, Any]:
        return {k: v for k, v in report.model.state_dict().items() if "lora_" in k}

    cached = lora.train_lora(tiny_llama(), examples, val, settings, pad_id=0)
    assert cached.frozen_layers_cached == 2
    assert cached.summary()["train/frozen_layers_cached"] == 2.0
    monkeypatch.setattr(lora.FrozenBelow, "build", classmethod(lambda cls, *a: None))
    plain = lora.train_lora(tiny_llama(), examples, val, settings, pad_id=0)
    assert plain.frozen_layers_cached == 0
    assert [e.val_loss for e in cached.epochs] == pytest.approx([e.val_loss for e in plain.epochs])
    weights, reference = adapter(cached), adapter(plain)
    assert weights.keys() == reference.keys() and weights
    assert all(torch.allclose(weights[k], reference[k], atol=1e-5) for k in weights)
    assert any(float(reference[k].abs().sum()) > 0 for k in reference if "lora_B" in k)


def test_frozen_layers_fall_back_when_the_split_path_differs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shipwise.finetune import lora

    monkeypatch.setattr(lora.FrozenBelow, "matches", lambda self, batch: False)
    examples = [Encoded(str(i), (1, 2, 3 + i), (7 + i, 0)) for i in range(4)]
    settings = LoraSettings(top_layers=2, epochs=1, batch_size=2)
    report = lora.train_lora(tiny_llama(), examples, [], settings, pad_id=0)
    assert report.frozen_layers_cached == 0 and report.steps == 2


@pytest.mark.parametrize(
    ("key", "value"),
    [("rank", "abc"), ("epochs", 1.5), ("learning_rate", "x"), ("dropout", True), ("seed", None)],
)
def test_settings_of_the_wrong_type_name_their_key(key: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=rf"strategy\.backend\.{key}"):
        LoraSettings(**{key: value})


def test_a_spent_budget_stops_training_and_keeps_the_best_epoch_so_far(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from shipwise.finetune.lora import train_lora

    examples = [Encoded(str(i), (1, 2, 3 + i), (7 + i, 0)) for i in range(8)]
    settings = LoraSettings(epochs=3, batch_size=2, dropout=0.0)
    # a budget spent at once: every epoch begun takes one step, then it is checked on val
    report = train_lora(tiny_llama(), examples, examples[:2], settings, pad_id=0, max_minutes=1e-9)
    assert report.stopped_by_budget and report.steps == 1
    assert len(report.epochs) == 1 and report.best_epoch == 1
    assert report.summary()["train/stopped_by_budget"] == 1.0
    err = capsys.readouterr().err
    assert "8 examples" in err and "3 epochs" in err  # announced before the first epoch
    assert "budget (max_train_minutes) ran out in epoch 1 of 3" in err


def test_without_a_budget_training_runs_every_epoch_and_estimates_the_time(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from shipwise.finetune.lora import train_lora

    examples = [Encoded(str(i), (1, 2, 3 + i), (7 + i, 0)) for i in range(8)]
    report = train_lora(tiny_llama(), examples, [], LoraSettings(epochs=2, batch_size=2), pad_id=0)
    assert not report.stopped_by_budget and len(report.epochs) == 2 and report.steps == 8
    err = capsys.readouterr().err
    up_front = err.index("fine-tuning: about")  # timed on one batch, before any step
    assert up_front < err.index("min to go") and "for 2 epoch(s)" in err


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_timing_one_batch_before_training_learns_nothing(batch_size: int) -> None:
    import torch
    from peft import LoraConfig, get_peft_model

    from shipwise.finetune.lora import _time_one_batch

    examples = [Encoded(str(i), (1, 2, 3 + i), (7 + i, 0)) for i in range(5)]
    model = get_peft_model(tiny_llama(), LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    params = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    state = torch.random.get_rng_state()
    per_token = _time_one_batch(model, examples, None, 0, "cpu", params, batch_size)
    assert per_token is not None and per_token > 0
    assert all(p.grad is None for p in params)  # no gradient left to leak into step one
    assert all(torch.equal(a, b.detach()) for a, b in zip(before, params, strict=True))
    assert torch.equal(state, torch.random.get_rng_state())  # dropout draws as without it
