"""A local stand-in for an OpenAI-compatible endpoint, for tests only.

This is not a model and does no inference. Chat replies come from a plain Python
``responder`` callable (default: the string ``"ok"``) and embeddings from hashing words.
It speaks enough of the OpenAI REST wire protocol (chat completions, embeddings, model
listing, bearer auth, OpenAI-style error bodies) that the real ``openai`` client can be
pointed at it, so shipwise's OpenAI path can be tested offline. Faults (HTTP errors, hung
responses) can be injected to exercise retries and timeouts, and extra endpoints (files,
fine-tuning jobs, ...) can be added with :meth:`FakeOpenAIServer.route`.

Token counts are a deterministic approximation, not a real tokenizer: a token is a run of
word characters or a single punctuation mark (regex ``\\w+|[^\\w\\s]``). Prompt tokens are
the tokens of every message's content plus 3 per message.

Standalone use (serves the default responder until Ctrl-C)::

    python -m shipwise.testing.openai_server --port 8123 [--api-key KEY]

then point a client at ``http://127.0.0.1:8123/v1``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import logging
import math
import re
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, TypeAlias
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "DEFAULT_MODEL",
    "FakeOpenAIServer",
    "RecordedRequest",
    "Request",
    "Response",
    "count_tokens",
    "error_response",
    "fake_embedding",
]

log = logging.getLogger(__name__)

DEFAULT_MODEL = "shipwise-fake"
TOKEN_PATTERN = re.compile(r"\w+|[^\w\s]")
MESSAGE_OVERHEAD_TOKENS = 3
DEFAULT_EMBEDDING_DIMENSIONS = 64
_ROLES = ("system", "developer", "user", "assistant", "tool")
# "api-key" is how Azure-style clients send the key; neither may end up in a recording.
_SECRET_HEADERS = frozenset({"authorization", "api-key"})
REDACTED = "<redacted>"

Fault: TypeAlias = int | Literal["timeout"]


@dataclass(frozen=True)
class Request:
    """An incoming request as handed to a route handler (header names lower-cased)."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    body: bytes = b""  # raw bytes, for non-JSON bodies such as multipart file uploads


@dataclass
class Response:
    """What a route handler returns. ``body`` (raw bytes) is sent instead of ``json`` if set."""

    status: int = 200
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the server saw it, with credentials replaced by ``"<redacted>"``."""

    method: str
    path: str
    json: Any
    headers: dict[str, str]


Handler: TypeAlias = Callable[[Request], Response]


def error_response(
    status: int,
    message: str,
    *,
    error_type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> Response:
    """Build an OpenAI-style error: ``{"error": {"message", "type", "param", "code"}}``."""
    error = {"message": message, "type": error_type, "param": param, "code": code}
    return Response(status, {"error": error})


class _Invalid(Exception):
    """Raised by validation so handlers can bail out with a 400 from any depth."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.response = error_response(400, message, param=param)


def count_tokens(text: str) -> int:
    """The documented token approximation: words plus individual punctuation marks."""
    return len(TOKEN_PATTERN.findall(text))


def fake_embedding(text: str, dimensions: int = DEFAULT_EMBEDDING_DIMENSIONS) -> list[float]:
    """Deterministic unit vector: each lower-cased word adds +-1 at a hashed coordinate."""
    vector = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()) or [text]:
        # hashlib, not hash(): Python's str hash is salted per process.
        n = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
        vector[n % dimensions] += 1.0 if n >> 63 else -1.0
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0.0:  # words cancelled out; any fixed unit vector keeps equal texts equal
        return [1.0] + [0.0] * (dimensions - 1)
    return [x / norm for x in vector]


def _truncate(text: str, limit: int) -> tuple[str, bool]:
    """Cut ``text`` after its ``limit``-th token; the flag says whether anything was cut."""
    tokens = list(TOKEN_PATTERN.finditer(text))
    if len(tokens) <= limit:
        return text, False
    return text[: tokens[limit - 1].end()], True


def _message_text(message: object, index: int) -> str:
    param = f"messages.[{index}]"
    if not isinstance(message, dict):
        raise _Invalid(f"Invalid type for '{param}': expected an object.", param)
    role = message.get("role")
    if role not in _ROLES:
        raise _Invalid(
            f"Invalid value for '{param}.role': {role!r}. Supported values are: "
            + ", ".join(repr(r) for r in _ROLES)
            + ".",
            f"{param}.role",
        )
    content = message.get("content")
    if isinstance(content, str):
        return content
    if content is None and role == "assistant":  # assistant turns that only carry tool_calls
        return ""
    if isinstance(content, list) and all(
        isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
        for p in content
    ):
        return "\n".join(p["text"] for p in content)
    raise _Invalid(
        f"Invalid value for '{param}.content': expected a string or a list of text parts.",
        f"{param}.content",
    )


def _positive_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _Invalid(f"Invalid '{key}': expected a positive integer, got {value!r}.", key)
    return value


def _body_and_model(body: object) -> tuple[dict[str, Any], str]:
    if not isinstance(body, dict):
        raise _Invalid("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _Invalid("You must provide a model parameter (a non-empty string).", "model")
    return body, model


class FakeOpenAIServer:
    """A local HTTP server speaking the parts of the OpenAI REST protocol shipwise uses."""

    def __init__(
        self,
        responder: Callable[[dict[str, Any]], str] | None = None,
        *,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout_s: float = 2.0,
    ) -> None:
        self.responder = responder or (lambda body: "ok")
        self.api_key = api_key
        self.timeout_s = timeout_s
        self._address = (host, port)
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults: list[tuple[re.Pattern[str], list[Fault]]] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._models: dict[str, None] = {DEFAULT_MODEL: None}  # dict: ordered set
        self._created = int(time.time())
        # Set on stop() so requests held by a "timeout" fault don't outlive the server.
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.route("POST", r"/v1/chat/completions", self._chat_completions)
        self.route("GET", r"/v1/models", self._list_models)
        self.route("POST", r"/v1/embeddings", self._embeddings)

    @property
    def base_url(self) -> str:
        """``http://<host>:<port>/v1``, available once started (the port may be OS-chosen)."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> FakeOpenAIServer:
        """Bind and serve in a daemon thread; returns self for chaining."""
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._stopping.clear()
        self._httpd = _HTTPServer(self._address, self)
        # A short poll interval keeps stop() fast; shutdown() waits for the next poll.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-openai-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call more than once."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Serve ``method`` on paths fully matching the regex ``pattern``.

        Named groups arrive as ``Request.params``. Later registrations win, so built-in
        endpoints can be overridden.
        """
        with self._lock:
            self._routes.insert(0, (method.upper(), re.compile(pattern), handler))

    def inject_faults(self, pattern: str, faults: Sequence[Fault]) -> None:
        """Make the next ``len(faults)`` requests whose path fully matches ``pattern`` fail.

        An int is returned as that HTTP status with an OpenAI-style error body; ``"timeout"``
        holds the request for ``timeout_s`` seconds, then drops the connection unanswered.
        """
        for fault in faults:
            if fault != "timeout" and not (isinstance(fault, int) and 400 <= fault <= 599):
                raise ValueError(f"fault must be an HTTP error status or 'timeout': {fault!r}")
        with self._lock:
            self._faults.append((re.compile(pattern), list(faults)))

    def _handle(
        self, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> Response | None:
        """Answer one request; ``None`` means drop the connection without a response."""
        url = urlsplit(target)
        raw = {name.lower(): value for name, value in headers}
        safe = {k: REDACTED if k in _SECRET_HEADERS else v for k, v in raw.items()}
        payload, bad_json = None, False
        if body and "json" in raw.get("content-type", "json"):  # multipart etc. stay raw
            try:
                payload = json.loads(body)
            except ValueError:
                bad_json = True
        with self._lock:
            # A copy, so handlers that mutate the body can't rewrite history.
            self._requests.append(RecordedRequest(method, url.path, copy.deepcopy(payload), safe))
            fault = self._pop_fault(url.path)
        if fault == "timeout":
            self._stopping.wait(self.timeout_s)
            return None
        if fault is not None:
            return self._fault_response(fault)
        if self.api_key is not None and raw.get("authorization") != f"Bearer {self.api_key}":
            # Never echo the offered key back: responses may end up in logs.
            return error_response(401, "Incorrect API key provided.", code="invalid_api_key")
        if bad_json:
            return error_response(400, "We could not parse the JSON body of your request.")
        with self._lock:
            routes = list(self._routes)
        for route_method, regex, handler in routes:
            match = regex.fullmatch(url.path)
            if match and route_method == method:
                request = Request(
                    method,
                    url.path,
                    match.groupdict(),
                    dict(parse_qsl(url.query)),
                    payload,
                    safe,
                    body,
                )
                try:
                    return handler(request)
                except _Invalid as exc:
                    return exc.response
                except Exception as exc:  # surface handler bugs to the client, not just stderr
                    log.exception("handler for %s %s failed", method, url.path)
                    return error_response(
                        500, f"{type(exc).__name__}: {exc}", error_type="server_error"
                    )
        return error_response(404, f"Invalid URL ({method} {url.path})", code="unknown_url")

    def _pop_fault(self, path: str) -> Fault | None:
        for regex, queue in self._faults:
            if queue and regex.fullmatch(path):
                return queue.pop(0)
        return None

    @staticmethod
    def _fault_response(status: int) -> Response:
        if status == 429:
            response = error_response(
                429,
                "Rate limit reached (injected fault).",
                error_type="requests",
                code="rate_limit_exceeded",
            )
            # Small but non-zero: the openai client ignores 0 and falls back to its backoff.
            response.headers.update({"retry-after-ms": "10", "retry-after": "0"})
            return response
        error_type = "server_error" if status >= 500 else "invalid_request_error"
        return error_response(status, f"Injected fault: HTTP {status}.", error_type=error_type)

    def _see_model(self, model: str) -> None:
        with self._lock:
            self._models[model] = None

    def _chat_completions(self, request: Request) -> Response:
        body, model = _body_and_model(request.json)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _Invalid("'messages' must be a non-empty list of message objects.", "messages")
        texts = [_message_text(message, i) for i, message in enumerate(messages)]
        if body.get("stream"):
            raise _Invalid(
                "stream=true is not supported by this fake server; send non-streaming requests.",
                "stream",
            )
        if body.get("n") not in (None, 1):
            raise _Invalid("Only n=1 is supported by this fake server.", "n")
        limit = _positive_int(body, "max_completion_tokens") or _positive_int(body, "max_tokens")
        stop = body.get("stop")
        stops = [stop] if isinstance(stop, str) else stop or []
        if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
            raise _Invalid("'stop' must be a string or a list of non-empty strings.", "stop")
        self._see_model(model)

        reply = self.responder(body)
        if not isinstance(reply, str):
            raise TypeError(f"responder must return str, got {type(reply).__name__}")
        cuts = [i for i in (reply.find(s) for s in stops) if i >= 0]
        reply = reply[: min(cuts)] if cuts else reply
        truncated = False
        if limit is not None:  # applied after stop: whichever comes first ends generation
            reply, truncated = _truncate(reply, limit)
        prompt_tokens = sum(count_tokens(t) + MESSAGE_OVERHEAD_TOKENS for t in texts)
        completion_tokens = count_tokens(reply)
        return Response(
            json={
                "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply, "refusal": None},
                        "finish_reason": "length" if truncated else "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    def _list_models(self, request: Request) -> Response:
        with self._lock:
            models = list(self._models)
        data = [
            {"id": m, "object": "model", "created": self._created, "owned_by": "shipwise"}
            for m in models
        ]
        return Response(json={"object": "list", "data": data})

    def _embeddings(self, request: Request) -> Response:
        body, model = _body_and_model(request.json)
        raw_input = body.get("input")
        inputs = [raw_input] if isinstance(raw_input, str) else raw_input
        if (
            not isinstance(inputs, list)
            or not inputs
            or not all(isinstance(text, str) and text for text in inputs)
        ):
            raise _Invalid(
                "'input' must be a non-empty string or a non-empty list of non-empty "
                "strings (token arrays are not supported here).",
                "input",
            )
        dimensions = _positive_int(body, "dimensions") or DEFAULT_EMBEDDING_DIMENSIONS
        encoding = body.get("encoding_format") or "float"
        if encoding not in ("float", "base64"):
            raise _Invalid("'encoding_format' must be 'float' or 'base64'.", "encoding_format")
        self._see_model(model)
        data = []
        for index, text in enumerate(inputs):
            vector: Any = fake_embedding(text, dimensions)
            if encoding == "base64":  # the openai client asks for this by default
                vector = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": vector})
        tokens = sum(count_tokens(text) for text in inputs)
        return Response(
            json={
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )


class _RequestHandler(BaseHTTPRequestHandler):
    # HTTP/1.0 closes every connection after its response, so stop() leaves no idle
    # keep-alive threads behind; the openai client copes fine.
    protocol_version = "HTTP/1.0"
    server: _HTTPServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response = self.server.owner._handle(self.command, self.path, self.headers.items(), body)
        if response is None:
            self.close_connection = True
            return
        if response.body is not None:
            data, content_type = response.body, "application/octet-stream"
        else:
            data, content_type = json.dumps(response.json).encode(), "application/json"
        headers = {"content-type": content_type, "x-request-id": f"req_{uuid.uuid4().hex}"}
        headers.update({k.lower(): v for k, v in response.headers.items()})
        headers["content-length"] = str(len(data))
        self.send_response(response.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], owner: FakeOpenAIServer) -> None:
        super().__init__(address, _RequestHandler)
        self.owner = owner


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the default responder until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--api-key", default=None, help="require this bearer token")
    args = parser.parse_args(argv)
    server = FakeOpenAIServer(api_key=args.api_key, host=args.host, port=args.port).start()
    try:
        print(
            f"Fake OpenAI server (a testing stand-in, not a model) at {server.base_url}; "
            "Ctrl-C stops",
            flush=True,
        )
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
