"""Acceptance: a user's own table, in a fresh folder, to a decision, with no extra flags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from shipwise.data_cli import main as data_main
from shipwise.evidence import DECISION_TAG
from shipwise.tracking import TrackingConfig, find_runs
from tests.tasks.test_importers_tabular import write_table


def trips_csv(path: Path) -> Path:
    """Bus requests: a split column, a passage per route (documents) and a JSON slots column."""
    cities = ["Boston", "Denver", "Austin", "Seattle"]
    rows = []
    for i in range(48):
        origin, to = cities[i % 4], cities[(i // 4 + 1 + i % 4) % 4]
        slots: dict[str, Any] = {"from": origin, "to": to}
        if i % 3:
            slots["day"] = ["Monday", "Friday"][i % 2]
        day = f" on {slots['day']}" if "day" in slots else ""
        split = "train" if i < 24 else "dev" if i < 36 else "test"
        passage = f"Buses leave {origin} every hour from the central station, trip {i % 6}."
        text = f"Request {i}: one ticket from {origin} to {to}{day}, please."
        rows.append((text, json.dumps(slots), split, passage, f"Route {origin}"))
    return write_table(path, ["text", "slots", "split", "passage", "route"], rows)


def run(folder: Path, *command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=folder, capture_output=True, text=True,
        timeout=600, env=env,
    )  # fmt: skip


def test_a_table_imported_in_a_folder_runs_validates_and_decides_there(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    source = trips_csv(tmp_path / "trips.csv")
    imported = data_main(
        ["import", "table", str(source), "--name", "trips", "--input-col", "text",
         "--output-col", "slots", "--split-col", "split", "--split-map", "dev=val",
         "--docs-col", "passage", "--doc-id-col", "route"]
    )  # fmt: skip
    assert imported == 0
    study = run(
        tmp_path, "shipwise.cli", "-m", "task=trips", "model=fake", "embedder=hashing",
        "limit=2", "study.arms=[majority,prompt,rag]", "arms.retrieval.top_k=1",
        "arms.backend.train_size=8",  # for the tuned arms: the others must run regardless
    )  # fmt: skip
    assert study.returncode == 0, study.stderr[-3000:]
    checked = run(tmp_path, "shipwise.data_cli", "validate", "trips", "model=fake")
    assert checked.returncode in (0, 1), checked.stdout[-2000:] + checked.stderr[-2000:]
    decided = run(tmp_path, "shipwise.decide_cli", "task=trips")
    assert decided.returncode == 0, decided.stderr[-3000:]

    found = find_runs(TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "trips"))
    arms = {r["tags"]["strategy"]: r for r in found if r["tags"].get(DECISION_TAG) != "true"}
    assert sorted(arms) == ["majority", "prompt", "rag"]
    assert all(r["status"] == "FINISHED" for r in arms.values())
    rag, prompt = arms["rag"], arms["prompt"]
    assert rag["params"]["strategy.retrieval.top_k"] == "1"  # the arm-specific override applied
    assert "arms.retrieval.top_k=1" in rag["name"] and "arms." not in prompt["name"]
    assert "task=" not in prompt["name"]  # task=trips names the experiment, not each run again
    assert "test/retrieval.recall_at_1" in rag["metrics"]  # records link their documents
    assert prompt["metrics"]["redteam/n"] == 2  # the generated red-team split was scored
    assert "generated" in prompt["tags"]["split_source.redteam"]
    assert "regression/n" in prompt["metrics"]  # and the package's general regression split
    assert sum(r["tags"].get(DECISION_TAG) == "true" for r in found) == 2  # -m and decide
    # the decision names each arm without the settings all of them ran with, and lists those
    report = max((tmp_path / ".shipwise" / "decisions").glob("*/decision.json"))
    decision = json.loads(report.read_text())
    assert sorted(a["name"] for a in decision["arms"]) == ["majority", "prompt", "rag"]
    assert "limit=2" in decision["shared_settings"]
    assert decision["arm_settings"] == {"rag": ["top_k=1"]}  # its own, listed apart
    # one interval per arm: the run's (printed after the sweep) is the decision's
    verdicts = {a["name"]: a for a in decision["arms"]}
    assert rag["metrics"]["test/primary_ci_low"] == verdicts["rag"]["low"]
    assert rag["metrics"]["test/primary_ci_high"] == verdicts["rag"]["high"]
    # the sweep left knn and the tuned arms out on purpose: shipwise-decide does not flag them
    assert not [c for c in decision["caveats"] if c.startswith("No ") and "arm was run" in c]
    # retrieval is scored in the report too, beside the answers (records name their documents)
    assert (
        verdicts["rag"]["retrieval"]["recall_at_1"] == rag["metrics"]["test/retrieval.recall_at_1"]
    )
    assert verdicts["prompt"]["retrieval"] == {}
    markdown = report.with_name("decision.md").read_text()
    assert "## Retrieval on the test split" in markdown and "| rag | " in markdown
    assert "- Every arm ran with: " in markdown and "- rag also ran with: top_k=1" in markdown
