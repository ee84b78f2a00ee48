"""A sweep through Hydra's submitit launcher (its local executor: one process per job).

The same launcher plugin runs the study as Slurm jobs with ``hydra/launcher=submitit_slurm``;
here each arm is a local subprocess that submitit starts, and the parent decides from the runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shipwise.evidence import DECISION_TAG
from shipwise.tracking import TrackingConfig, find_runs

TRIAGE = '{"category": "other", "priority": "low"}'


def test_a_submitit_local_sweep_runs_each_arm_as_a_job_and_decides(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "shipwise.cli", "-m",
        "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5",
        f"paths.root={tmp_path}", "model=fake", f"model.default='{TRIAGE}'",
        "embedder=hashing", "eval_splits=[test]", "limit=2", "strategy=majority,prompt",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=os.environ)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "shipwise results" in done.stdout and "report:" in done.stdout
    runs = find_runs(TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "support_triage"))
    arms = {r["tags"]["strategy"]: r for r in runs if r["tags"].get(DECISION_TAG) != "true"}
    assert sorted(arms) == ["majority", "prompt"]
    assert all(r["status"] == "FINISHED" for r in runs) and len(runs) == 3
    # each arm ran in a process of its own, started by submitit
    assert len({r["tags"]["shipwise.pid"] for r in arms.values()}) == 2
    assert list((tmp_path / ".shipwise" / "multirun").rglob(".submitit/*/*_result.pkl"))
