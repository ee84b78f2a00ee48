"""The study against a real MLflow tracking server over HTTP, as a team shares one.

``mlflow server`` runs on loopback (an SQLite backend, a local artifact folder it serves); a
small study (the fake model, two arms, two examples) logs to it and decides from it; then what
landed is read back over HTTP: the arms' runs, their traces and dataset inputs, the decision.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pytest
from mlflow import MlflowClient

from shipwise.evidence import DECISION_TAG
from shipwise.study import ARMS_TAG
from shipwise.testing.mlflow_server import mlflow_server
from shipwise.traces import EXPECTED
from shipwise.tracking import TrackingConfig, connect, find_runs

TRIAGE = '{"category": "other", "priority": "low"}'


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A tracking server on loopback: SQLite backend, artifacts served from a local folder."""
    args = [
        "--backend-store-uri", f"sqlite:///{tmp_path}/server.db",
        "--artifacts-destination", str(tmp_path / "served-artifacts"), "--workers", "1",
    ]  # fmt: skip
    with mlflow_server(args, tmp_path / "server.log") as url:
        yield url


def traces_of(run: dict[str, Any]) -> list[Any]:
    return list(
        mlflow.search_traces(
            locations=[run["experiment_id"]], run_id=run["run_id"], return_type="list"
        )
    )


def test_a_study_logs_to_a_tracking_server_and_decides_from_it(server: str, tmp_path: Path) -> None:
    root = tmp_path / "study"
    command = [
        sys.executable, "-m", "shipwise.cli", "-m", f"paths.root={root}",
        "tracking=server", f"tracking.uri={server}", "model=fake", f"model.default='{TRIAGE}'",
        "embedder=hashing", "eval_splits=[test]", "limit=2", "strategy=majority,rag",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=os.environ)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (root / "mlflow.db").exists()  # nothing went to a local store

    tracking = TrackingConfig(server, "support_triage")
    connect(tracking)
    found = find_runs(tracking)
    [decided] = [r for r in found if r["tags"].get(DECISION_TAG) == "true"]
    arms = {r["tags"]["strategy"]: r for r in found if r is not decided}
    assert sorted(arms) == ["majority", "rag"]
    client = MlflowClient()
    for arm in arms.values():
        assert arm["status"] == "FINISHED"
        traces = traces_of(arm)
        assert len(traces) == 2
        for trace in traces:
            names = {a.name for a in trace.info.assessments}
            assert {EXPECTED, "field_accuracy"} <= names, names
        inputs = client.get_run(arm["run_id"]).inputs.dataset_inputs
        digests = {i.dataset.name: i.dataset.digest for i in inputs}
        assert digests["support_triage/test"] == arm["tags"]["fingerprint.eval.test"]
    retrieving = traces_of(arms["rag"])[0]
    assert "retrieve" in {s.name for s in retrieving.data.spans}
    assert {"support_triage/train"} <= set(digests)  # the rag arm's demonstrations

    compared = decided["tags"][ARMS_TAG].split(",")
    assert sorted(compared) == sorted(r["run_id"] for r in arms.values())
    note = decided["tags"]["mlflow.note.content"]
    assert note.startswith("Ship ")  # the verdict, then the arms it compared
    assert all(r["run_id"] in note for r in arms.values())
    artifacts = {a.path for a in client.list_artifacts(decided["run_id"])}
    assert {"decision.md", "decision.json", "figures"} <= artifacts
    # the artifacts live where the server keeps them
    assert list((tmp_path / "served-artifacts").rglob("decision.md"))
