from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from shipwise.tracking import (
    REDACTED,
    TrackingConfig,
    end_dangling_runs,
    find_runs,
    flatten,
    load_table,
    redact,
    tracked_run,
)


def config(tmp_path: Path) -> TrackingConfig:
    return TrackingConfig(
        uri=f"sqlite:///{tmp_path}/mlflow.db",
        experiment="exp",
        artifact_location=str(tmp_path / "artifacts"),
    )


def test_secrets_never_survive_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-abcdefgh12345")
    flat = flatten(
        {
            "model": {"api_key": "anything", "api_key_env": "OPENAI_API_KEY", "max_new_tokens": 8},
            "note": "key sk-abcdefghijklmnopqrstu here",
            "url": "http://x/?t=tok-abcdefgh12345",
        }
    )
    clean = redact(flat)
    assert clean["model.api_key"] == REDACTED
    assert clean["model.api_key_env"] == "OPENAI_API_KEY"  # a variable's name is not a secret
    assert clean["model.max_new_tokens"] == 8
    assert clean["note"] == REDACTED
    assert clean["url"] == REDACTED


def test_a_failing_run_ends_failed_with_the_error(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    with pytest.raises(RuntimeError), tracked_run(cfg, "boom", {"task": "t"}) as run:
        run.log_metrics({"m": 1.0})
        raise RuntimeError("the model fell over")
    [found] = find_runs(cfg)
    assert found["status"] == "FAILED"
    assert "the model fell over" in found["tags"]["error"]
    assert found["metrics"]["m"] == 1.0
    assert mlflow.active_run() is None


def test_tables_params_and_tags_are_logged(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    with tracked_run(cfg, "ok", {"task": "t"}) as run:
        run.log_params({"a.b": 1, "secret": "hidden-value"})
        run.log_metrics({"monthly_usd.prompt k=[2]": 1.5})
        run.log_table(
            [{"id": "1", "prediction": "x"}, {"id": "2", "prediction": "y"}], "preds.json"
        )
    [found] = find_runs(cfg)
    assert found["status"] == "FINISHED"
    assert found["params"] == {"a.b": "1", "secret": REDACTED}
    assert found["metrics"] == {"monthly_usd.prompt k__2_": 1.5}
    rows = load_table(cfg, found["run_id"], "preds.json")
    assert [r["prediction"] for r in rows] == ["x", "y"]


def test_a_run_whose_process_was_killed_is_ended_killed_by_the_next(tmp_path: Path) -> None:
    import subprocess
    import sys

    cfg = config(tmp_path)
    script = (
        "import os, signal\n"
        "from shipwise.tracking import TrackingConfig, tracked_run\n"
        f"cfg = TrackingConfig({cfg.uri!r}, {cfg.experiment!r}, {cfg.artifact_location!r})\n"
        "with tracked_run(cfg, 'doomed', {}):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == -9, done.stderr
    [dangling] = find_runs(cfg)
    assert dangling["status"] == "RUNNING"

    with tracked_run(cfg, "next", {}):
        statuses = {r["name"]: r["status"] for r in find_runs(cfg)}
        assert statuses == {"doomed": "KILLED", "next": "RUNNING"}
        # a run whose process lives (another worker of a parallel sweep) is left alone
        experiment = mlflow.get_experiment_by_name(cfg.experiment)
        assert experiment is not None and end_dangling_runs(experiment.experiment_id) == []
    [doomed] = [r for r in find_runs(cfg) if r["name"] == "doomed"]
    assert "ended mid-run" in doomed["tags"]["error"]
