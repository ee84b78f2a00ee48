"""Everything MLflow: the only module that imports it.

One experiment per task, one run per (task, strategy, parameters). Params are the flattened
resolved config with secrets removed; a run that raises ends FAILED with the error as a tag,
an interrupted one ends KILLED. A run whose process was killed outright (SIGKILL) is ended
KILLED by the next run that starts in its experiment.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REDACTED = "<redacted>"
_SECRET_KEY = re.compile(
    r"(api[_-]?key|secret|password|passwd|credentials?|access[_-]?token|auth[_-]?token|bearer)$",
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(r"\b(sk-[A-Za-z0-9_-]{16,}|Bearer\s+\S+)")
_SECRET_ENV = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD)", re.IGNORECASE)
MAX_PARAM_CHARS = 6000
OWNER_PID, OWNER_HOST = "shipwise.pid", "shipwise.host"  # who runs it: dangling-run cleanup
_METRIC_UNSAFE = re.compile(r"[^\w\-. :/]")


@dataclass(frozen=True)
class TrackingConfig:
    uri: str
    experiment: str
    artifact_location: str | None = None


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def redact(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Drop values under secret-looking keys, and any value carrying a secret from the env."""
    env_secrets = [v for k, v in os.environ.items() if _SECRET_ENV.search(k) and v and len(v) >= 8]
    clean: dict[str, Any] = {}
    for key, value in flat.items():
        if _SECRET_KEY.search(key.rsplit(".", 1)[-1]) and value is not None:
            clean[key] = REDACTED
            continue
        text = str(value)
        if _SECRET_VALUE.search(text) or any(s in text for s in env_secrets):
            clean[key] = REDACTED
            continue
        clean[key] = value
    return clean


def git_commit(cwd: Path | None = None) -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if sha.returncode != 0:
        return "unknown"
    return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


class TrackedRun:
    """The active run; methods take plain Python values."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        import mlflow

        clean = {k: _param_value(v) for k, v in redact(params).items()}
        mlflow.log_params(clean)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        import math

        import mlflow

        finite = {metric_name(k): float(v) for k, v in metrics.items() if math.isfinite(float(v))}
        mlflow.log_metrics(finite, step=step)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        import mlflow

        mlflow.set_tags({k: str(v) for k, v in redact(tags).items()})

    def log_table(self, rows: Sequence[Mapping[str, Any]], artifact_file: str) -> None:
        """Rows of one table (same keys); shown in the UI's evaluation view."""
        import mlflow

        if not rows:
            return
        columns = {key: [row[key] for row in rows] for key in rows[0]}
        mlflow.log_table(data=columns, artifact_file=artifact_file)

    def log_dict(self, data: Mapping[str, Any], artifact_file: str) -> None:
        import mlflow

        mlflow.log_dict(dict(data), artifact_file)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        import mlflow

        mlflow.log_artifact(str(path), artifact_path)

    def log_artifacts(self, folder: Path, artifact_path: str | None = None) -> None:
        import mlflow

        mlflow.log_artifacts(str(folder), artifact_path)


def metric_name(name: str) -> str:
    """``name`` with characters MLflow refuses in metric names (``=``, ``@``, ``[``...) as ``_``."""
    return _METRIC_UNSAFE.sub("_", name)


def _param_value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 3] + "..."


_READY: set[str] = set()


def connect(config: TrackingConfig) -> None:
    """Point MLflow at the store; create a SQLite store under a lock the first time.

    Two workers of a parallel sweep opening a new SQLite store at once would both run its
    schema migrations, and one fails ("duplicate column"). The first creates it, the other waits.
    """
    import mlflow

    # Reading a run's tables back is instant; its per-file progress bars are only noise.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(config.uri)
    if config.uri in _READY or not config.uri.startswith("sqlite:///"):
        return
    from mlflow import MlflowClient

    from shipwise.locks import exclusive

    database = Path(config.uri.removeprefix("sqlite:///")).expanduser()
    with exclusive(database, "creating the MLflow store"):
        MlflowClient().search_experiments(max_results=1)  # creates and migrates the schema
    _READY.add(config.uri)


def _experiment_id(config: TrackingConfig) -> str:
    import mlflow

    experiment = mlflow.get_experiment_by_name(config.experiment)
    if experiment is not None:
        return str(experiment.experiment_id)
    try:
        return str(
            mlflow.create_experiment(config.experiment, artifact_location=config.artifact_location)
        )
    except mlflow.exceptions.MlflowException:
        # A parallel job created it first.
        experiment = mlflow.get_experiment_by_name(config.experiment)
        if experiment is None:
            raise
        return str(experiment.experiment_id)


@contextlib.contextmanager
def tracked_run(
    config: TrackingConfig, run_name: str, tags: Mapping[str, Any]
) -> Iterator[TrackedRun]:
    """Open a run; it ends FINISHED, FAILED (error tagged) or KILLED (interrupted)."""
    import mlflow

    connect(config)
    experiment_id = _experiment_id(config)
    end_dangling_runs(experiment_id)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as active:
        run = TrackedRun(active.info.run_id)
        run.set_tags({**tags, OWNER_PID: os.getpid(), OWNER_HOST: socket.gethostname()})
        try:
            yield run
        except KeyboardInterrupt:
            mlflow.set_tag("error", "interrupted")
            mlflow.end_run(status="KILLED")
            raise
        except BaseException as exc:
            mlflow.set_tag("error", f"{type(exc).__name__}: {exc}"[:5000])
            mlflow.end_run(status="FAILED")
            raise


def end_dangling_runs(experiment_id: str) -> list[str]:
    """End as KILLED the RUNNING runs whose process is gone (a SIGKILL, a lost machine).

    Only runs started on this host are judged; a run of a live process (another worker of a
    parallel sweep) is left alone. Returns the ids that were ended.
    """
    import mlflow
    from mlflow import MlflowClient

    from shipwise.locks import alive

    host = socket.gethostname()
    ended = []
    running = mlflow.search_runs(
        [experiment_id], filter_string="attributes.status = 'RUNNING'", output_format="list"
    )
    client = MlflowClient()
    for found in running:
        owner = found.data.tags.get(OWNER_PID, "")
        if found.data.tags.get(OWNER_HOST) != host or not owner.isdigit() or alive(int(owner)):
            continue
        client.set_tag(found.info.run_id, "error", f"killed: process {owner} ended mid-run")
        client.set_terminated(found.info.run_id, status="KILLED")
        ended.append(found.info.run_id)
    return ended


def find_runs(config: TrackingConfig, filter_string: str = "") -> list[dict[str, Any]]:
    """Runs of the experiment as plain dicts (id, name, status, params, metrics, tags)."""
    import mlflow

    connect(config)
    experiment = mlflow.get_experiment_by_name(config.experiment)
    if experiment is None:
        return []
    runs = mlflow.search_runs(
        [experiment.experiment_id], filter_string=filter_string, output_format="list"
    )
    return [
        {
            "run_id": r.info.run_id,
            "name": r.info.run_name,
            "status": r.info.status,
            "params": dict(r.data.params),
            "metrics": dict(r.data.metrics),
            "tags": dict(r.data.tags),
            "artifact_uri": r.info.artifact_uri,
        }
        for r in runs
    ]


def load_table(config: TrackingConfig, run_id: str, artifact_file: str) -> list[dict[str, Any]]:
    """A table logged by ``TrackedRun.log_table``, as rows."""
    from mlflow import MlflowClient

    connect(config)
    experiment_id = _experiment_id(config)
    frame = MlflowClient().load_table(experiment_id, artifact_file, run_ids=[run_id])
    return list(frame.to_dict(orient="records"))
