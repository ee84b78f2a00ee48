"""The small JSON file that keeps a hosted fine-tune from being paid for twice.

One file per request fingerprint (training and validation content, base model,
hyperparameters, suffix, seed, endpoint). It is written atomically as soon as something
worth remembering exists: uploaded file ids, "about to create attempt N", the job id, each
status change. It never holds the API key, only the name of its environment variable.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipwise.cache import atomic_write_text, content_key

DEFAULT_BASE_URL = "https://api.openai.com/v1"
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
FAILED = frozenset({"failed", "cancelled"})


def fingerprint(
    train_jsonl: bytes,
    val_jsonl: bytes | None,
    *,
    base_model: str,
    hyperparameters: Mapping[str, Any],
    suffix: str | None,
    seed: int,
    base_url: str | None,
) -> str:
    """A hex key: the same request, and only the same request, maps to the same job."""
    return content_key(
        hashlib.sha256(train_jsonl).hexdigest(),
        hashlib.sha256(val_jsonl).hexdigest() if val_jsonl is not None else None,
        base_model,
        dict(hyperparameters),
        suffix,
        seed,
        (base_url or DEFAULT_BASE_URL).rstrip("/"),
    )


class JobState:
    """The state file for one fingerprint; ``data`` is what was last saved (or ``{}``)."""

    def __init__(self, state_dir: Path, key: str, request: Mapping[str, Any]) -> None:
        self.path = state_dir / f"hosted-{key[:16]}.json"
        self.key = key
        self.data: dict[str, Any] = {}
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            loaded = None
        # A different full key in the same file name (a prefix clash) is treated as no state.
        if isinstance(loaded, dict) and loaded.get("key") == key:
            self.data = loaded
        self.data.update(key=key, request=dict(request))
        self.data.setdefault("attempt", 0)
        self.data.setdefault("history", [])

    def get(self, name: str) -> Any:
        return self.data.get(name)

    def save(self, **changes: Any) -> None:
        self.data.update(changes)
        atomic_write_text(self.path, json.dumps(self.data, indent=2, sort_keys=True) + "\n")

    def active_job(self) -> str | None:
        """The job to resume or reuse: one that exists and has not failed or been cancelled."""
        job_id = self.data.get("job_id")
        return job_id if job_id and self.data.get("status") not in FAILED else None

    def start_attempt(self) -> int:
        """Record that a new job is about to be created; returns its attempt number."""
        attempt = int(self.data["attempt"]) + 1
        self.save(attempt=attempt, phase="creating", job_id=None, status=None)
        return attempt

    def finish(self, job_id: str, status: str, error: str | None) -> None:
        """Record a terminal job, keeping failed ones in ``history``."""
        changes: dict[str, Any] = {"status": status, "error": error}
        if status in FAILED:
            entry = {"job_id": job_id, "status": status, "error": error}
            changes["history"] = [*self.data["history"], entry]
        self.save(**changes)
