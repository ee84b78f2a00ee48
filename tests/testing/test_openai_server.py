"""The fake OpenAI server, exercised through the real ``openai`` client."""

from __future__ import annotations

import json
import math
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from shipwise.testing.openai_server import (
    DEFAULT_MODEL,
    FakeOpenAIServer,
    Request,
    Response,
    error_response,
)

KEY = "sk-test-secret-123"
HOLD_S = 1.0  # how long a "timeout" fault holds the request on the server


def _tokens(text: str) -> int:
    # Re-stated from the module docstring on purpose, so a drift in the server shows up here.
    return len(re.findall(r"\w+|[^\w\s]", text))


def _echo(body: dict[str, Any]) -> str:
    """Replies with something that depends on the conversation, to prove it reached us."""
    last_user = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
    return f"{len(body['messages'])} messages; last: {last_user.upper()}"


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(_echo, api_key=KEY, timeout_s=HOLD_S) as srv:
        yield srv


def _client(
    server: FakeOpenAIServer, *, api_key: str = KEY, max_retries: int = 0, timeout: float = 5.0
) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=server.base_url, api_key=api_key, max_retries=max_retries, timeout=timeout
    )


def _raw(
    server: FakeOpenAIServer,
    method: str,
    path: str,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """Plain urllib, for requests the openai client refuses to send."""
    request = urllib.request.Request(
        server.base_url.removesuffix("/v1") + path, data=data, headers=headers or {}, method=method
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_chat_round_trip_uses_responder_and_counts_tokens(server: FakeOpenAIServer) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hello, world!"},
        {"role": "assistant", "content": "Hi."},
        {"role": "user", "content": "ship it?"},
    ]
    with _client(server) as client:
        completion = client.chat.completions.create(model="gpt-test", messages=messages)

    reply = "4 messages; last: SHIP IT?"
    assert completion.choices[0].message.content == reply
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gpt-test"
    assert completion.id.startswith("chatcmpl-")
    assert completion.object == "chat.completion"
    assert completion.usage is not None
    # system 4+3, user 4+3, assistant 2+3, user 3+3
    expected_prompt = sum(_tokens(str(m["content"])) + 3 for m in messages)
    assert expected_prompt == 25
    assert completion.usage.prompt_tokens == expected_prompt
    assert completion.usage.completion_tokens == _tokens(reply) == 8
    assert completion.usage.total_tokens == expected_prompt + 8


@pytest.mark.parametrize("limit_key", ["max_tokens", "max_completion_tokens"])
def test_token_limit_truncates_and_reports_length(limit_key: str) -> None:
    limit: dict[str, Any] = {limit_key: 3}
    with FakeOpenAIServer(lambda body: "one, two three four") as server, _client(server) as client:
        completion = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "count"}], **limit
        )
    assert completion.choices[0].message.content == "one, two"
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None and completion.usage.completion_tokens == 3


def test_stop_sequence_cuts_reply_before_limit() -> None:
    with FakeOpenAIServer(lambda body: "alpha beta END gamma") as server, _client(server) as client:
        completion = client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "x"}],
            stop=["END", "beta"],
            max_tokens=10,
        )
    assert completion.choices[0].message.content == "alpha "
    assert completion.choices[0].finish_reason == "stop"


def test_wrong_key_is_rejected(server: FakeOpenAIServer) -> None:
    with (
        _client(server, api_key="sk-wrong") as client,
        pytest.raises(openai.AuthenticationError) as err,
    ):
        client.models.list()
    assert err.value.status_code == 401
    assert err.value.code == "invalid_api_key"


def test_missing_key_is_rejected(server: FakeOpenAIServer) -> None:
    status, body = _raw(server, "GET", "/v1/models")
    assert status == 401
    assert body["error"]["message"].startswith("Incorrect API key provided")
    assert set(body["error"]) == {"message", "type", "param", "code"}


def test_injected_500_is_retried_by_the_client(server: FakeOpenAIServer) -> None:
    server.inject_faults(r"/v1/chat/completions", [500])
    with _client(server, max_retries=2) as client:
        completion = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "again"}]
        )
    assert completion.choices[0].message.content == "1 messages; last: AGAIN"
    assert [r.path for r in server.requests] == ["/v1/chat/completions"] * 2


def test_injected_429_raises_rate_limit_error(server: FakeOpenAIServer) -> None:
    server.inject_faults(r"/v1/chat/.*", [429])
    with _client(server) as client:
        with pytest.raises(openai.RateLimitError) as err:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        assert err.value.response.headers["retry-after-ms"] == "10"
        # The fault queue is spent, so the next call goes through.
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert len(server.requests) == 2


def test_injected_timeout_raises_api_timeout_error(server: FakeOpenAIServer) -> None:
    server.inject_faults(r"/v1/chat/completions", ["timeout"])
    started = time.monotonic()
    with _client(server, timeout=0.2) as client, pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    # The client gave up on its own, well before the server released the request.
    assert time.monotonic() - started < HOLD_S


def test_embeddings_are_deterministic_unit_vectors(server: FakeOpenAIServer) -> None:
    texts = ["the cat sat", "the cat sat", "the cat ran", "quantum flux capacitor"]
    with _client(server) as client:
        result = client.embeddings.create(model="embed-test", input=texts, dimensions=32)
        single = client.embeddings.create(
            model="embed-test", input="the cat sat", dimensions=32, encoding_format="float"
        )
    vectors = [d.embedding for d in result.data]
    assert [d.index for d in result.data] == [0, 1, 2, 3]
    assert all(len(v) == 32 for v in vectors)
    assert all(math.isclose(math.hypot(*v), 1.0, rel_tol=1e-5) for v in vectors)
    assert vectors[0] == vectors[1]
    assert single.data[0].embedding == pytest.approx(vectors[0], abs=1e-6)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vectors[0], vectors[2]) > cos(vectors[0], vectors[3])
    assert result.usage.prompt_tokens == sum(_tokens(t) for t in texts)


def test_custom_route_receives_path_params(server: FakeOpenAIServer) -> None:
    seen: list[Request] = []

    def get_file(request: Request) -> Response:
        seen.append(request)
        if request.params["file_id"] == "file-missing":
            return error_response(404, "No such file", code="not_found")
        return Response(
            json={
                "id": request.params["file_id"],
                "object": "file",
                "bytes": 12,
                "created_at": 0,
                "filename": "train.jsonl",
                "purpose": "fine-tune",
                "status": "processed",
            }
        )

    server.route("GET", r"/v1/files/(?P<file_id>[^/]+)", get_file)
    with _client(server) as client:
        file = client.files.retrieve("file-abc123")
        with pytest.raises(openai.NotFoundError):
            client.files.retrieve("file-missing")
    assert file.id == "file-abc123" and file.filename == "train.jsonl"
    assert [r.params for r in seen] == [{"file_id": "file-abc123"}, {"file_id": "file-missing"}]


def test_recorded_requests_never_contain_the_key(server: FakeOpenAIServer) -> None:
    with _client(server) as client:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        client.embeddings.create(model="e", input="x")
    with (
        _client(server, api_key="sk-wrong-key-456") as client,
        pytest.raises(openai.AuthenticationError),
    ):
        client.models.list()
    recorded = server.requests
    assert len(recorded) == 3
    assert all(r.headers["authorization"] == "<redacted>" for r in recorded)
    assert KEY not in repr(recorded) and "sk-wrong-key-456" not in repr(recorded)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages.[0].role"),
        ({"model": "m", "messages": [{"role": "user", "content": 7}]}, "messages.[0].content"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True}, "stream"),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0},
            "max_tokens",
        ),
    ],
)
def test_invalid_chat_body_is_a_bad_request(
    server: FakeOpenAIServer, body: dict[str, Any], param: str
) -> None:
    with _client(server) as client, pytest.raises(openai.BadRequestError) as err:
        # The typed create() won't build these bodies, so post them through the raw client.
        client.post("/chat/completions", body=body, cast_to=object)
    assert err.value.param == param


def test_models_lists_default_and_seen_models(server: FakeOpenAIServer) -> None:
    with _client(server) as client:
        client.chat.completions.create(
            model="gpt-seen", messages=[{"role": "user", "content": "x"}]
        )
        ids = [m.id for m in client.models.list()]
    assert ids == [DEFAULT_MODEL, "gpt-seen"]


def test_unknown_route_and_bad_json(server: FakeOpenAIServer) -> None:
    auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    status, body = _raw(server, "GET", "/v1/nope", headers=auth)
    assert status == 404 and body["error"]["message"] == "Invalid URL (GET /v1/nope)"
    status, body = _raw(server, "POST", "/v1/chat/completions", data=b"{not json", headers=auth)
    assert status == 400 and "JSON" in body["error"]["message"]


def test_standalone_default_responder_says_ok() -> None:
    with FakeOpenAIServer() as server, _client(server, api_key="anything") as client:
        assert server.base_url.startswith("http://127.0.0.1:")
        completion = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}]
        )
    assert completion.choices[0].message.content == "ok"
    with pytest.raises(RuntimeError):
        server.base_url  # noqa: B018 - stopped servers have no address
