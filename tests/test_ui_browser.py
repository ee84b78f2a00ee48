"""The MLflow UI of a small finished study, in headless Chromium (skipped without one)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shipwise.tracking import TrackingConfig, find_runs

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("ui_check", ROOT / "benchmarks" / "ui_check.py")
assert spec is not None and spec.loader is not None
ui_check = importlib.util.module_from_spec(spec)
sys.modules["ui_check"] = ui_check
spec.loader.exec_module(ui_check)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(ui_check.browser() is None, reason="no Chromium installed"),
]
TRIAGE = '{"category": "other", "priority": "low"}'


def test_the_ui_shows_every_arm_its_rows_and_a_trace(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "shipwise.cli", "-m", f"paths.root={tmp_path}",
        "model=fake", f"model.default='{TRIAGE}'", "embedder=hashing", "eval_splits=[test]",
        "limit=3", "strategy=majority,prompt,rag",
    ]  # fmt: skip
    for _ in range(2):  # the re-run links the first run's traces: the UI must show them too
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=os.environ)
        assert done.returncode == 0, done.stderr[-3000:]
    runs = find_runs(TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "support_triage"))
    arms = [r for r in runs if r["tags"].get("shipwise.decision") != "true"]
    reused = sorted(r["metrics"]["test/traces_reused"] for r in arms)
    assert reused == [0, 0, 0, 3, 3, 3]  # first run: logged; the re-run: all 3 linked
    seen = ui_check.check(tmp_path, "support_triage", tmp_path / "shots")
    assert [s.page.name for s in seen] == ["runs", "traces", "evaluation", "trace", "decision"]
    for page in seen:
        assert not page.missing, (page.page.name, page.missing)
        assert page.screenshot.stat().st_size > 10_000  # a rendered page, not a blank one
