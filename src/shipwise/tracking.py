"""Everything MLflow: with ``shipwise.traces`` (an arm's examples as traces, its splits as
dataset inputs), the only module that imports it.

One experiment per task, one run per (task, strategy, parameters). Params are the flattened
resolved config with secrets removed; a run that raises ends FAILED with the error as a tag,
an interrupted one ends KILLED. A run whose process was killed outright (SIGKILL) is ended
KILLED by the next run that starts in its experiment. Everything this module hands MLflow
(run names, params, tags, errors, tables, files) passes through the one scrubber
(``shipwise.scrub``) first. :func:`check_store` answers within seconds whether the store is
usable, so a bad ``tracking.uri`` fails before any model work.
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
from typing import TYPE_CHECKING, Any

from shipwise.errors import ShipwiseError
from shipwise.scrub import env_secrets, redact, scrub, scrub_value, scrubbed_copy

if TYPE_CHECKING:
    from shipwise.traces import ExampleTrace, LoggedTraces

MAX_PARAM_CHARS = 6000
OWNER_PID, OWNER_HOST = "shipwise.pid", "shipwise.host"  # who runs it: dangling-run cleanup
TRACE_FLUSH_S = "trace_flush_s"  # waiting at the run's end for its traces to be written
_METRIC_UNSAFE = re.compile(r"[^\w\-. :/]")


@dataclass(frozen=True)
class TrackingConfig:
    """Where runs go, and which scored splits become per-example traces (at most
    ``trace_limit`` examples each; null = all, 0 = none)."""

    uri: str
    experiment: str
    artifact_location: str | None = None
    trace_splits: Sequence[str] = ("test", "redteam", "regression")
    trace_limit: int | None = None

    def traced(self, split: str) -> int | None:
        """How many of ``split``'s examples to trace: 0 for none, None for all."""
        return self.trace_limit if split in self.trace_splits else 0


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


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

    def __init__(self, run_id: str, experiment_id: str | None = None) -> None:
        self.run_id = run_id
        self.experiment_id = experiment_id  # where earlier traces are looked up for reuse
        self.trace_ids: list[str] = []  # written in the background; linked when the run ends

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
        """Rows of one table (same keys); shown in the UI's evaluation view. Text is scrubbed."""
        import mlflow

        if not rows:
            return
        secrets = env_secrets()
        columns = {key: [scrub_value(row[key], secrets) for row in rows] for key in rows[0]}
        mlflow.log_table(data=columns, artifact_file=artifact_file)

    def log_dict(self, data: Mapping[str, Any], artifact_file: str) -> None:
        import mlflow

        mlflow.log_dict(scrub_value(dict(data)), artifact_file)

    def log_traces(
        self, name: str, split: str, model: str, examples: Sequence[ExampleTrace]
    ) -> LoggedTraces:
        """One trace per scored example, its scores as feedback; linked when the run ends.

        An example whose trace an earlier run of the experiment logged, unchanged, reuses it.
        """
        from shipwise.traces import log_traces

        logged = log_traces(self.run_id, self.experiment_id, name, split, model, examples)
        self.trace_ids.extend(logged.ids)
        return logged

    def link_traces(self) -> None:
        """Wait for the run's trace writes and link the traces to it (logs ``trace_flush_s``)."""
        import time

        from shipwise.traces import link_traces

        if not self.trace_ids:
            return
        started = time.perf_counter()
        link_traces(self.run_id, self.trace_ids)
        self.log_metrics({TRACE_FLUSH_S: time.perf_counter() - started})
        self.trace_ids = []

    def log_dataset(
        self,
        name: str,
        context: str,
        fingerprint: str,
        rows: Sequence[Mapping[str, Any]],
        source: str,
    ) -> None:
        """A split this run read, as an MLflow dataset input whose digest is ``fingerprint``."""
        from shipwise.traces import log_dataset

        log_dataset(name, context, fingerprint, rows, source)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        import mlflow

        with scrubbed_copy(path) as clean:
            mlflow.log_artifact(str(clean), artifact_path)

    def log_artifacts(self, folder: Path, artifact_path: str | None = None) -> None:
        import mlflow

        with scrubbed_copy(folder) as clean:
            mlflow.log_artifacts(str(clean), artifact_path)


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


SQLITE_MAGIC = b"SQLite format 3\x00"
STORE_SCHEMES = ("sqlite", "http", "https", "file", "postgresql", "mysql", "mssql", "databricks")


def check_store(config: TrackingConfig) -> None:
    """The store answers within seconds, or a ConfigError says why (before any model work).

    A server must accept a connection (no retries, a short timeout); a SQLite store must be a
    SQLite file in a folder that can be written; any store must then answer one query.
    """
    from urllib.parse import urlsplit

    from shipwise.errors import ConfigError
    from shipwise.paths import writable_folder
    from shipwise.services import service_answers

    uri = config.uri
    fix = "start the server, or use the local store (drop tracking.uri for sqlite:///mlflow.db)"
    parts = urlsplit(uri)
    if parts.scheme.split("+")[0] not in (*STORE_SCHEMES, ""):
        raise ConfigError(
            f"MLflow has no store for {parts.scheme or uri!r} URIs",
            where="tracking.uri",
            fix=f"use one of {', '.join(s + '://' for s in STORE_SCHEMES)} or a folder",
        )
    if parts.scheme in ("http", "https"):
        port = parts.port or (443 if parts.scheme == "https" else 80)
        service_answers(parts.hostname or "", port, "MLflow tracking server", "tracking.uri", fix)
    elif parts.scheme == "sqlite":
        database = Path(uri.removeprefix("sqlite:///")).expanduser()
        writable_folder(database.parent, "tracking.uri")
        if database.is_dir() or (database.is_file() and not _is_sqlite(database)):
            raise ConfigError(
                f"{database} is not an SQLite database, so it cannot hold MLflow's runs",
                where="tracking.uri",
                fix="move it aside, or point tracking.uri at another file"
                " (tracking.uri=sqlite:///PATH/mlflow.db)",
            )
    try:
        with _quick_http():
            connect(config)
            from mlflow import MlflowClient

            MlflowClient().search_experiments(max_results=1)
    except ShipwiseError:
        raise
    except Exception as exc:  # MLflow raises many kinds, by store
        reason = scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        raise ConfigError(
            f"the MLflow store does not answer: {reason[:300]}",
            where="tracking.uri",
            fix="use sqlite:///PATH, a folder, or http(s)://HOST:PORT of a running server",
        ) from None


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError:
        return False
    return head in (b"", SQLITE_MAGIC)  # an empty file becomes a new database


@contextlib.contextmanager
def _quick_http() -> Iterator[None]:
    """MLflow's HTTP calls without retries and with a short timeout, for one probe."""
    saved = {k: os.environ.get(k) for k in _QUICK_HTTP}
    os.environ.update(_QUICK_HTTP)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_QUICK_HTTP = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}


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
    with mlflow.start_run(experiment_id=experiment_id, run_name=scrub(run_name)) as active:
        run = TrackedRun(active.info.run_id, experiment_id)
        run.set_tags({**tags, OWNER_PID: os.getpid(), OWNER_HOST: socket.gethostname()})
        try:
            yield run
            run.link_traces()
        except KeyboardInterrupt:
            mlflow.set_tag("error", "interrupted")
            mlflow.end_run(status="KILLED")
            raise
        except BaseException as exc:
            mlflow.set_tag("error", scrub(f"{type(exc).__name__}: {exc}")[:5000])
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
            "experiment_id": r.info.experiment_id,
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
