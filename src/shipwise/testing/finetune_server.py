"""Fine-tuning endpoints for :class:`FakeOpenAIServer`, for tests only: nothing is trained.

:func:`add_fine_tuning` serves file uploads and fine-tuning jobs (create, retrieve, list,
events, checkpoints, cancel) in OpenAI's wire format, so the real ``openai`` client and
:mod:`shipwise.finetune.hosted` can be exercised offline. Uploads of purpose ``fine-tune``
must be ``.jsonl`` files of chat rows. Jobs advance one tick per retrieve; see
:mod:`shipwise.testing.finetune_jobs` for the state machine and its made-up numbers. A
succeeded job's ``fine_tuned_model`` (and its checkpoints) then answer chat completions
through the server's responder; unknown ``ft:`` model names get OpenAI's 404.

Faults (429, 500, hung requests) come from :meth:`FakeOpenAIServer.inject_faults`, e.g.
``inject_faults(r"/v1/fine_tuning/jobs/[^/]+", [429, 500])`` for the retrieve endpoint.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from shipwise.testing.finetune_jobs import TERMINAL, FakeJob, new_id
from shipwise.testing.openai_server import (
    MESSAGE_OVERHEAD_TOKENS,
    FakeOpenAIServer,
    Request,
    Response,
    _Invalid,
    _message_text,
    count_tokens,
    error_response,
)

__all__ = ["FakeFineTuning", "add_fine_tuning"]


def _page(items: list[dict[str, Any]], query: dict[str, str], default_limit: int) -> Response:
    """A cursor page: ``items`` are newest first; ``after`` is the last id already seen."""
    after = query.get("after")
    ids = [item["id"] for item in items]
    start = ids.index(after) + 1 if after in ids else 0
    try:
        limit = int(query.get("limit", default_limit))
    except ValueError:
        raise _Invalid("'limit' must be an integer.", "limit") from None
    data = items[start : start + limit]
    body: dict[str, Any] = {"object": "list", "data": data, "has_more": start + limit < len(items)}
    body.update(first_id=data[0]["id"] if data else None, last_id=data[-1]["id"] if data else None)
    return Response(json=body)


def _multipart(request: Request) -> dict[str, tuple[str | None, bytes]]:
    """Form fields of a multipart body: ``name -> (filename, bytes)``."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise _Invalid("Expected a multipart/form-data upload.")
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = (part.get_filename(), payload)
    return fields


def _chat_rows(content: bytes) -> tuple[int, int]:
    """``(examples, tokens)`` of a chat fine-tuning JSONL file; 400 on the first bad line."""
    examples = tokens = 0
    for number, line in enumerate(content.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            messages = row["messages"] if isinstance(row, dict) else None
            if not isinstance(messages, list) or not messages:
                raise _Invalid("'messages' must be a non-empty list")
            texts = [_message_text(m, i) for i, m in enumerate(messages)]
            if not any(m.get("role") == "assistant" for m in messages):
                raise _Invalid("no assistant message to learn from")
        except (ValueError, KeyError, _Invalid) as exc:
            raise _Invalid(
                f"Invalid file format for Fine-Tuning API: line {number}: {exc}"
            ) from None
        examples += 1
        tokens += sum(count_tokens(t) + MESSAGE_OVERHEAD_TOKENS for t in texts) + 3
    if not examples:
        raise _Invalid("Invalid file format for Fine-Tuning API: the file has no examples.")
    return examples, tokens


def _hyperparameter(raw: dict[str, Any], key: str, integer: bool, high: float) -> Any:
    value = raw.get(key, "auto")
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if value == "auto" or (
        number and (not integer or isinstance(value, int)) and 0 < value <= high
    ):
        return value
    raise _Invalid(f"Invalid '{key}': expected 'auto' or a number in (0, {high}].", key)


class FakeFineTuning:
    """The files and fine-tuning jobs one :class:`FakeOpenAIServer` knows about."""

    def __init__(
        self,
        server: FakeOpenAIServer,
        *,
        polls_per_state: int = 1,
        fail_with: str | None = None,
        organization: str = "org-shipwise-fake",
    ) -> None:
        if polls_per_state < 1:
            raise ValueError("polls_per_state must be at least 1")
        self.server = server
        self.polls_per_state = polls_per_state
        self.fail_with = fail_with  # read when a job is created; change it between jobs
        self.organization = organization
        self._lock = threading.Lock()
        self._files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self._jobs: dict[str, FakeJob] = {}
        jobs = r"/v1/fine_tuning/jobs"
        server.route("POST", r"/v1/files", self._upload)
        server.route("GET", r"/v1/files/(?P<file_id>[^/]+)", self._get_file)
        server.route("POST", jobs, self._create)
        server.route("GET", jobs, self._list)
        server.route("GET", jobs + r"/(?P<job_id>[^/]+)", self._retrieve)
        server.route("GET", jobs + r"/(?P<job_id>[^/]+)/events", self._events)
        server.route("GET", jobs + r"/(?P<job_id>[^/]+)/checkpoints", self._checkpoints)
        server.route("POST", jobs + r"/(?P<job_id>[^/]+)/cancel", self._cancel)
        server.route("POST", r"/v1/chat/completions", self._chat)

    @property
    def jobs_created(self) -> int:
        with self._lock:
            return len(self._jobs)

    @property
    def files_uploaded(self) -> int:
        with self._lock:
            return len(self._files)

    def job(self, job_id: str) -> dict[str, Any]:
        """A snapshot of a job's wire object, without advancing it."""
        with self._lock:
            return copy.deepcopy(self._jobs[job_id].wire)

    def file_content(self, file_id: str) -> bytes:
        with self._lock:
            return self._files[file_id][1]

    # -- files ---------------------------------------------------------------------------

    def _upload(self, request: Request) -> Response:
        fields = _multipart(request)
        purpose = fields.get("purpose", (None, b""))[1].decode()
        filename, content = fields.get("file", (None, b""))
        if not filename:
            raise _Invalid("Missing the 'file' field.", "file")
        if not purpose:
            raise _Invalid("Missing the 'purpose' field.", "purpose")
        if purpose == "fine-tune":
            if not filename.endswith(".jsonl"):
                raise _Invalid("Invalid file format for Fine-Tuning API. Must be .jsonl", "file")
            _chat_rows(content)
        wire = {
            "id": new_id("file-"),
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": None,
        }
        with self._lock:
            self._files[str(wire["id"])] = (wire, content)
        return Response(json=wire)

    def _get_file(self, request: Request) -> Response:
        with self._lock:
            found = self._files.get(request.params["file_id"])
        if found is None:
            return error_response(
                404, f"No such File object: {request.params['file_id']}", param="id"
            )
        return Response(json=found[0])

    def _fine_tune_file(self, file_id: object, param: str) -> tuple[int, int]:
        with self._lock:
            found = self._files.get(file_id) if isinstance(file_id, str) else None
        if found is None or found[0]["purpose"] != "fine-tune":
            raise _Invalid(
                f"Invalid file ID: {file_id!r} is not an uploaded fine-tune file.", param
            )
        return _chat_rows(found[1])

    # -- jobs ----------------------------------------------------------------------------

    def _create(self, request: Request) -> Response:
        body = request.json if isinstance(request.json, dict) else {}
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _Invalid("You must provide a model parameter.", "model")
        examples, tokens = self._fine_tune_file(body.get("training_file"), "training_file")
        validation = body.get("validation_file")
        if validation is not None:
            self._fine_tune_file(validation, "validation_file")
        method = body.get("method") or {"type": "supervised"}
        if not isinstance(method, dict) or method.get("type") != "supervised":
            raise _Invalid("This fake server only supports method.type 'supervised'.", "method")
        supervised = method.get("supervised") or {}
        raw = (supervised.get("hyperparameters") if isinstance(supervised, dict) else None) or (
            body.get("hyperparameters") or {}
        )
        if not isinstance(raw, dict):
            raise _Invalid("'hyperparameters' must be an object.", "hyperparameters")
        hyper = {
            "n_epochs": _hyperparameter(raw, "n_epochs", True, 50),
            "batch_size": _hyperparameter(raw, "batch_size", True, 256),
            "learning_rate_multiplier": _hyperparameter(raw, "learning_rate_multiplier", False, 10),
        }
        suffix = body.get("suffix")
        if suffix is not None and not (isinstance(suffix, str) and 0 < len(suffix) <= 64):
            raise _Invalid("'suffix' must be a string of 1 to 64 characters.", "suffix")
        metadata = body.get("metadata")
        if metadata is not None and not (
            isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
        ):
            raise _Invalid("'metadata' must map strings to strings.", "metadata")
        seed = body.get("seed")
        job_id = new_id("ftjob-")
        wire = {
            "id": job_id,
            "object": "fine_tuning.job",
            "created_at": int(time.time()),
            "error": None,
            "fine_tuned_model": None,
            "finished_at": None,
            "hyperparameters": hyper,
            "model": model,
            "organization_id": self.organization,
            "result_files": [],
            "seed": seed if isinstance(seed, int) else 42,
            "status": "validating_files",
            "trained_tokens": None,
            "training_file": body["training_file"],
            "validation_file": validation,
            "estimated_finish": None,
            "integrations": [],
            "metadata": metadata,
            "method": {"type": "supervised", "supervised": {"hyperparameters": hyper}},
            "user_provided_suffix": suffix,
        }
        job = FakeJob(wire, examples, tokens, self.organization, self.fail_with)
        job.event(f"Created fine-tuning job: {job_id}")
        job.event(f"Validating training file: {body['training_file']}")
        with self._lock:
            self._jobs[job_id] = job
        return Response(json=copy.deepcopy(wire))

    def _job(self, request: Request) -> FakeJob:
        job = self._jobs.get(request.params["job_id"])
        if job is None:
            raise _NotFound(request.params["job_id"])
        return job

    def _retrieve(self, request: Request) -> Response:
        with self._lock:
            job = self._job(request)
            job.advance(self.polls_per_state)
            for model in job.models():
                self.server._see_model(model)  # listed by GET /v1/models, like OpenAI
            return Response(json=copy.deepcopy(job.wire))

    def _list(self, request: Request) -> Response:
        wanted = {
            k[len("metadata[") : -1]: v
            for k, v in request.query.items()
            if k.startswith("metadata[") and k.endswith("]")
        }
        with self._lock:
            jobs = [
                copy.deepcopy(j.wire)
                for j in reversed(self._jobs.values())
                if all((j.wire["metadata"] or {}).get(k) == v for k, v in wanted.items())
            ]
        return _page(jobs, request.query, 20)

    def _events(self, request: Request) -> Response:
        with self._lock:
            events = copy.deepcopy(self._job(request).events[::-1])
        return _page(events, request.query, 20)

    def _checkpoints(self, request: Request) -> Response:
        with self._lock:
            checkpoints = copy.deepcopy(self._job(request).checkpoints[::-1])
        return _page(checkpoints, request.query, 10)

    def _cancel(self, request: Request) -> Response:
        with self._lock:
            job = self._job(request)
            if job.status in TERMINAL:
                raise _Invalid(f"Job has already completed: {job.wire['id']}")
            job.cancel()
            return Response(json=copy.deepcopy(job.wire))

    # -- chat with fine-tuned models -------------------------------------------------------

    def _chat(self, request: Request) -> Response:
        model = request.json.get("model") if isinstance(request.json, dict) else None
        if isinstance(model, str) and model.startswith("ft:"):
            with self._lock:
                known = any(model in job.models() for job in self._jobs.values())
            if not known:
                return error_response(
                    404,
                    f"The model `{model}` does not exist or you do not have access to it.",
                    code="model_not_found",
                )
        return self.server._chat_completions(request)


class _NotFound(_Invalid):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"Could not find fine-tuning job {job_id}.")
        self.response = error_response(404, str(self), param="fine_tuning_job_id")


def add_fine_tuning(
    server: FakeOpenAIServer,
    *,
    polls_per_state: int = 1,
    fail_with: str | None = None,
) -> FakeFineTuning:
    """Serve the files and fine-tuning endpoints on ``server``; returns their state."""
    return FakeFineTuning(server, polls_per_state=polls_per_state, fail_with=fail_with)
