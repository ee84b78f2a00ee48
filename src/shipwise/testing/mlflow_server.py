"""A real MLflow tracking server (``mlflow server`` or ``mlflow ui``) on a free loopback port.

For the tests and benchmarks that read a study the way a team does: over HTTP, from a server
process of MLflow's own, not through the library's in-process store.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

START_S = 90  # a cold start migrates the SQLite schema: tens of seconds on a busy 2-core box


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def mlflow_server(args: Sequence[str], log: Path, command: str = "server") -> Iterator[str]:
    """``mlflow <command> <args>`` on a free port; yields its URL once ``/health`` answers.

    The process's output goes to ``log``; it is stopped (terminated, then killed) on exit.
    """
    port = free_port()
    argv = [sys.executable, "-m", "mlflow", command, "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as out:
        process = subprocess.Popen([*argv, *args], stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_S
            while not _healthy(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text()[-3000:]
                    raise RuntimeError(f"mlflow {command} did not start:\n{tail}")
                time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False
