from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from shipwise.tracking import (
    REDACTED,
    TrackingConfig,
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
