"""Two arms of a parallel sweep (Hydra's joblib launcher, 2 workers) sharing one store."""

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


def test_a_joblib_sweep_of_two_arms_leaves_both_runs_and_every_cache_intact(
    tmp_path: Path, model_cache: Path
) -> None:
    command = [
        sys.executable, "-m", "shipwise.cli", "-m",
        "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
        f"paths.root={tmp_path}", f"model.cache_dir={model_cache}",
        "limit=3", "eval_splits=[test]", "strategy=prompt,rag",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=os.environ)
    assert done.returncode == 0, done.stderr[-3000:]
    # the parent's study table and decision see both workers' results
    assert "shipwise results" in done.stdout and "SHIP" in done.stdout

    tracking = TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "support_triage")
    runs = find_runs(tracking)
    arms = {r["tags"]["strategy"]: r for r in runs if r["tags"].get(DECISION_TAG) != "true"}
    assert sorted(arms) == ["prompt", "rag"]
    assert all(r["status"] == "FINISHED" for r in runs) and len(runs) == 3
    for run in arms.values():
        rows = load_table(tracking, run["run_id"], "predictions/test.json")
        assert len(rows) == 3 and all(r["prediction"] for r in rows)
        assert run["metrics"]["test/generated"] == 3

    cache = tmp_path / ".shipwise"
    entries = list((cache / "cache" / "predictions").rglob("*.json"))
    assert len(entries) == 6  # 3 answers per arm: their prompts differ
    assert all(isinstance(json.loads(e.read_text()), dict) for e in entries)
    assert len(list((cache / "state" / "support_triage").glob("*.json"))) == 2
    assert arms["rag"]["metrics"]["index.chunks"] > 16
    assert not list(cache.rglob(".staging-*"))

    # the store the two workers shared serves the next sweep: nothing left to compute
    again = subprocess.run(command, capture_output=True, text=True, timeout=900, env=os.environ)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stderr.count("nothing changed since the last run") == 2
    assert again.stderr.count("test: 3 of 3 answers from the cache, 0 to generate") == 2
