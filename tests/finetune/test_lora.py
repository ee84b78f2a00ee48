import random
from typing import Any

import pytest

from shipwise.errors import ConfigError, DataError
from shipwise.finetune.lora import Encoded, LoraSettings, collate, encode, length_batches


class _Tokenizer:
    """Characters as tokens: enough to check what encode() keeps."""

    def __call__(self, texts: list[str], add_special_tokens: bool = False) -> dict:
        return {"input_ids": [[ord(c) for c in t] for t in texts]}


def test_settings_validate_with_the_config_key() -> None:
    with pytest.raises(ConfigError, match=r"strategy\.lora\.rank"):
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
