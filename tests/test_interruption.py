"""A study killed with SIGKILL mid-training and mid-generation resumes to the same result.

The real tiny stack end to end: SmolLM2 trains a small LoRA adapter for two epochs and
answers; the run is killed outright (no handler runs) in the second epoch of training and in
generation, re-run, and compared with a run that was never interrupted. Training resumes from
its epoch-1 checkpoint rather than starting again. The caches must hold no corrupt entry and
MLflow no dangling RUNNING run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shipwise.tracking import TrackingConfig, find_runs, load_table

pytestmark = pytest.mark.slow
TEST_CONF = Path(__file__).parent / "conf"


def command(root: Path, model_cache: Path) -> list[str]:
    return [
        sys.executable, "-m", "shipwise.cli", "--config-dir", str(TEST_CONF),
        f"paths.root={root}", f"model.cache_dir={model_cache}",
        "strategy=finetune_tiny", "strategy.backend.epochs=2", "limit=4",
        "eval_splits=[test,regression]",
    ]  # fmt: skip


def run_until(argv: list[str], pattern: str, timeout: float = 600) -> list[str]:
    """Start ``argv``, SIGKILL it when a stderr line matches ``pattern``; return the lines."""
    process = subprocess.Popen(
        argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=os.environ
    )
    assert process.stderr is not None
    lines, deadline = [], time.monotonic() + timeout
    for line in process.stderr:
        lines.append(line)
        if re.search(pattern, line):
            process.send_signal(signal.SIGKILL)
            break
        assert time.monotonic() < deadline, "".join(lines[-20:])
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "".join(lines[-30:])
    return lines


def finish(argv: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, env=os.environ)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def answers(root: Path) -> dict[str, list[tuple[str, str, float]]]:
    tracking = TrackingConfig(f"sqlite:///{root}/mlflow.db", "support_triage")
    [run] = [r for r in find_runs(tracking) if r["status"] == "FINISHED"]
    return {
        split: [
            (row["id"], row["prediction"], row["score.field_accuracy" if split == "test" else
             "score.token_f1"])
            for row in load_table(tracking, run["run_id"], f"predictions/{split}.json")
        ]
        for split in ("test", "regression")
    }  # fmt: skip


def test_sigkill_in_training_and_in_generation_then_resume_equals_an_uninterrupted_run(
    tmp_path: Path, model_cache: Path
) -> None:
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    argv = command(killed, model_cache)

    # 1. killed mid-training: at the first optimiser step of epoch 2 (of 2 steps each)
    lines = run_until(argv, r"fine-tuning \(LoRA\): 3/4")
    adapters = killed / ".shipwise" / "adapters"
    assert not list(adapters.glob("*/shipwise.json")), lines[-5:]
    assert list(adapters.glob("*.partial/state.pt")), lines[-5:]  # epoch 1, saved
    # 2. killed mid-generation: training resumed after epoch 1, the test answers are done
    lines = run_until(argv, r"regression: generating")
    assert any("resuming after epoch 1" in line for line in lines), lines[-20:]
    assert list(adapters.glob("*/shipwise.json"))
    assert not list(adapters.glob("*.partial")), "the finished adapter's checkpoint stays"
    # 3. the resumed run trains nothing and generates only what was missing
    resumed = finish(argv)
    assert "test: 4 of 4 answers from the cache, 0 to generate" in resumed.stderr

    finish(command(clean, model_cache))
    assert answers(killed) == answers(clean)

    tracking = TrackingConfig(f"sqlite:///{killed}/mlflow.db", "support_triage")
    statuses = sorted(r["status"] for r in find_runs(tracking))
    assert statuses == ["FINISHED", "KILLED", "KILLED"]  # the killed runs were closed
    [done] = [r for r in find_runs(tracking) if r["status"] == "FINISHED"]
    assert done["params"]["setup.adapter_cached"] == "True"
    assert done["metrics"]["test/generated"] == 0 and done["metrics"]["test/cached"] == 4

    cache = killed / ".shipwise"
    entries = list((cache / "cache" / "predictions").rglob("*.json"))
    assert len(entries) >= 12  # test, regression and the base model's regression answers
    for entry in entries:
        assert isinstance(json.loads(entry.read_text()), dict), entry
    for adapter in (cache / "adapters").iterdir():
        if adapter.is_dir():
            assert (adapter / "adapter_config.json").is_file(), adapter
            assert (adapter / "adapter_model.safetensors").is_file(), adapter
    litter = [p for p in cache.rglob(".staging-*")]
    assert not litter, litter
