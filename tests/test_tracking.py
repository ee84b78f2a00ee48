from __future__ import annotations

import re
from pathlib import Path

import mlflow
import pytest

from shipwise.errors import ConfigError
from shipwise.scrub import REDACTED
from shipwise.tracking import (
    TrackingConfig,
    check_store,
    end_dangling_runs,
    find_runs,
    load_table,
    tracked_run,
)


def config(tmp_path: Path) -> TrackingConfig:
    return TrackingConfig(
        uri=f"sqlite:///{tmp_path}/mlflow.db",
        experiment="exp",
        artifact_location=str(tmp_path / "artifacts"),
    )


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


def test_run_names_errors_and_tables_are_scrubbed(tmp_path: Path) -> None:
    key = "sk-test-SECRET-1234567890"
    cfg = config(tmp_path)
    with pytest.raises(RuntimeError), tracked_run(cfg, f"prompt x={key}", {"t": key}) as run:
        run.log_table([{"input": f"my key is {key}", "n": 1}], "preds.json")
        run.log_dict({"note": key}, "notes.json")
        raise RuntimeError(f"the endpoint rejected {key}")
    [found] = find_runs(cfg)
    assert key not in found["name"] and REDACTED in found["name"]
    assert key not in str(found["tags"]) and REDACTED in found["tags"]["error"]
    assert [r["input"] for r in load_table(cfg, found["run_id"], "preds.json")] == [
        f"my key is {REDACTED}"
    ]
    on_disk = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert key.encode() not in on_disk


def test_an_artifact_folder_holding_a_key_is_logged_scrubbed(tmp_path: Path) -> None:
    key = "sk-test-SECRET-1234567890"
    folder = tmp_path / "report"
    folder.mkdir()
    (folder / "decision.md").write_text(f"ship it; key {key}\n")
    cfg = config(tmp_path)
    with tracked_run(cfg, "ok", {}) as run:
        run.log_artifacts(folder, "report")
    logged = list((tmp_path / "artifacts").rglob("decision.md"))
    assert [p.read_text() for p in logged] == [f"ship it; key {REDACTED}\n"]
    assert key in (folder / "decision.md").read_text()  # the source is not rewritten


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("bogus://x", "MLflow has no store for 'bogus' URIs"),
        ("http://127.0.0.1:9", "cannot reach the MLflow tracking server at 127.0.0.1:9"),
        ("sqlite:////proc/shipwise/mlflow.db", "cannot write in /proc/shipwise"),
    ],
)
def test_a_store_that_cannot_work_fails_in_seconds(uri: str, message: str) -> None:
    import time

    started = time.monotonic()
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        check_store(TrackingConfig(uri, "exp"))
    assert time.monotonic() - started < 15
    assert err.value.where == "tracking.uri" and err.value.fix


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    store = tmp_path / "mlflow.db"
    store.write_text("these are my notes, not a database\n")
    with pytest.raises(ConfigError, match="is not an SQLite database"):
        check_store(TrackingConfig(f"sqlite:///{store}", "exp"))
    assert store.read_text().startswith("these are my notes")  # left as it was


def test_a_server_that_accepts_but_never_answers_fails_within_seconds() -> None:
    import socket
    import time

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(ConfigError, match="does not answer"):
            check_store(TrackingConfig(f"http://127.0.0.1:{port}", "exp"))
    assert time.monotonic() - started < 30  # one try with a 5 s timeout, not 260 s of retries


def test_a_good_store_passes(tmp_path: Path) -> None:
    check_store(config(tmp_path))
    assert (tmp_path / "mlflow.db").read_bytes().startswith(b"SQLite format 3")
