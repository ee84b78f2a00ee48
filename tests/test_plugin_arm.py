"""A new arm is one module and one YAML: a toy arm from outside the package runs through
``shipwise -m`` and ``shipwise-decide`` beside a shipped arm, with no edit to ``src/``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shipwise.evidence import DECISION_TAG
from shipwise.tracking import TrackingConfig, find_runs

REPO = Path(__file__).resolve().parents[1]
TOY_YAML = """\
# a toy arm: answers with the reference of the train example sharing the most words
_target_: tests.plugins.toy_arm.LookupArm
name: lookup
kind: lookup
simplicity: 1
usd_per_hour: 0.05
"""


def run(*args: str, module: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # where the user's module lives
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=600, env=env
    )


def test_a_toy_arm_from_outside_the_package_runs_and_is_decided(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    (conf / "strategy").mkdir(parents=True)
    (conf / "strategy" / "lookup.yaml").write_text(TOY_YAML)
    common = [
        f"paths.root={tmp_path}", "task=policy_qa", "model=fake", "embedder=hashing",
        "study.arms=[prompt,lookup]",
    ]  # fmt: skip
    study = run(
        "--config-dir", str(conf), "-m", *common, "limit=6", "eval_splits=[test,regression]",
        module="shipwise.cli",
    )  # fmt: skip
    assert study.returncode == 0, study.stderr[-3000:]
    assert "lookup" in study.stdout and "Traceback" not in study.stderr

    tracking = TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "policy_qa")
    found = find_runs(tracking)
    arms = {r["tags"]["strategy"]: r for r in found if r["tags"].get(DECISION_TAG) != "true"}
    assert sorted(arms) == ["lookup", "prompt"]
    toy = arms["lookup"]
    assert toy["status"] == "FINISHED" and toy["tags"]["strategy.kind"] == "lookup"
    assert toy["params"]["setup.pool"] == "176" and toy["metrics"]["test/n"] == 6
    assert "regression/n" not in toy["metrics"]  # not a language model: no forgetting check
    assert "regression/n" in arms["prompt"]["metrics"]

    decided = run("--config-dir", str(conf), *common, module="shipwise.decide_cli")
    assert decided.returncode == 0, decided.stderr[-3000:]
    report = sorted((tmp_path / ".shipwise" / "decisions").glob("*/decision.json"))[-1]
    decision = json.loads(report.read_text())
    by_arm = {a["strategy"]: a for a in decision["arms"]}
    assert sorted(by_arm) == ["lookup", "prompt"]
    assert by_arm["lookup"]["simplicity"] == 1 and by_arm["prompt"]["simplicity"] == 2
    assert not any("arm was run" in c for c in decision["caveats"])  # both expected arms ran
