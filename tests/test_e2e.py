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


def test_the_default_study_runs_smollm2_and_writes_a_real_mlflow_run(
    tmp_path: Path, model_cache: Path
) -> None:
    command = [
        sys.executable, "-m", "shipwise.cli", "-m",
        f"paths.root={tmp_path}", f"paths.cache={model_cache}",
        "limit=4", "eval_splits=[test,regression]", "strategy.k=2",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=os.environ)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "shipwise results" in done.stdout
    tracking = TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "support_triage")
    found = find_runs(tracking)
    [decided] = [r for r in found if r["tags"].get(DECISION_TAG) == "true"]
    assert decided["tags"]["ship"].split()[0] in {"prompt", "rag"}  # the study ends deciding
    by_strategy = {r["tags"]["strategy"]: r for r in found if r is not decided}
    assert sorted(by_strategy) == ["prompt", "rag"]
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
    assert all(len(json.loads(r["extras"])["demo_ids"]) == 2 for r in rows)
