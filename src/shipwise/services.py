"""Services a run talks to (an MLflow tracking server, a Chroma server) answer in seconds.

A server that is down or silent would otherwise hold a run for minutes of client retries
before a chain of tracebacks; one TCP connection with a short timeout says so at once.
"""

from __future__ import annotations

import socket

from shipwise.errors import ConfigError

SERVICE_TIMEOUT_S = 5.0


def service_answers(host: str, port: int, what: str, key: str, fix: str) -> None:
    """A TCP connection to ``host:port`` opens within seconds, else a ConfigError."""
    try:
        with socket.create_connection((host, port), timeout=SERVICE_TIMEOUT_S):
            return
    except TimeoutError:
        reason = f"no answer within {SERVICE_TIMEOUT_S:g} s"
    except OSError as exc:
        reason = exc.strerror or str(exc)
    raise ConfigError(f"cannot reach the {what} at {host}:{port}: {reason}", where=key, fix=fix)
