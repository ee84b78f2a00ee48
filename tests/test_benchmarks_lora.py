"""benchmarks/lora.py end to end on a handful of Banking77 rows (both trainers, all three evals)."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType

import pytest

from tests.conftest import REPO, SHARED_DATASETS


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_lora", REPO / "benchmarks" / "lora.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.dataset
def test_both_runs_train_on_the_same_tokens(capsys: pytest.CaptureFixture[str]) -> None:
    if not (SHARED_DATASETS / "banking77" / "train.csv").is_file():
        pytest.skip("../shared/datasets/banking77 is absent")
    args = ["--train", "4", "--val", "2", "--test", "1", "--batch-size", "4", "--json"]
    assert _benchmark().main(args) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["examples"] == {"train": 4, "val": 2, "test": 1}
    shipwise, trainer = results["shipwise"], results["trainer"]
    assert shipwise["train_tokens"] == trainer["train_tokens"] > 0
    # one batch of all four examples: both pad it to its longest
    assert shipwise["padding_fraction"] == pytest.approx(trainer["padding_fraction"])
    for key in ("accuracy", "accuracy_free"):
        assert 0 <= shipwise[key] <= 1
    assert results["ratio"] > 0
