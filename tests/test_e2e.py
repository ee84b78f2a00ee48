"""The study as a user runs it, on the real embedded stack, on a handful of examples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shipwise.evidence import DECISION_TAG
from shipwise.tracking import TrackingConfig, find_runs, load_table

pytestmark = pytest.mark.slow
TEST_CONF = Path(__file__).parent / "conf"  # strategy=finetune_tiny: a LoRA arm in seconds


def test_the_default_study_runs_smollm2_and_writes_a_real_mlflow_run(
    tmp_path: Path, model_cache: Path
) -> None:
    command = [
        sys.executable, "-m", "shipwise.cli", "-m", "--config-dir", str(TEST_CONF),
        f"paths.root={tmp_path}", f"paths.cache={model_cache}",
        "limit=4", "eval_splits=[test,regression]", "strategy=prompt,rag,finetune_tiny",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=os.environ)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "shipwise results" in done.stdout
    tracking = TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "support_triage")
    found = find_runs(tracking)
    [decided] = [r for r in found if r["tags"].get(DECISION_TAG) == "true"]
    # it decides (on 4 examples nothing may beat the others, and then nothing ships)
    assert decided["tags"]["ship"].split()[0] in {"prompt", "rag", "finetune", "none"}
    assert decided["tags"]["mlflow.note.content"].startswith("Ship ")
    by_strategy = {r["tags"]["strategy"]: r for r in found if r is not decided}
    assert sorted(by_strategy) == ["finetune", "prompt", "rag"]
    tuned = by_strategy["finetune"]
    assert tuned["status"] == "FINISHED" and tuned["params"]["setup.train_examples"] == "8"
    assert (
        tuned["metrics"]["train/steps"] == 2 and "regression/baseline_primary" in tuned["metrics"]
    )
    assert tuned["metrics"]["setup_usd"] > 0
    assert by_strategy["rag"]["status"] == "FINISHED"
    assert by_strategy["rag"]["metrics"]["index.chunks"] > 16  # the triage handbook, chunked
    run = by_strategy["prompt"]
    assert run["status"] == "FINISHED"
    assert run["tags"]["model"] == "SmolLM2-135M-Instruct"
    assert run["tags"]["strategy"] == "prompt"
    assert len(run["tags"]["fingerprint.test"]) == 16 and run["tags"]["git_commit"]
    metrics = run["metrics"]
    for name in ("primary", "primary_ci_low", "json_valid", "field.category", "latency_p95_s"):
        assert f"test/{name}" in metrics, name
    assert metrics["test/usd_per_1k_calls"] > 0 and metrics["regression/n"] == 4
    rows = load_table(tracking, run["run_id"], "predictions/test.json")
    assert len(rows) == 4 and all(r["prediction"] for r in rows)
    assert all(len(json.loads(r["extras"])["demo_ids"]) == 4 for r in rows)
