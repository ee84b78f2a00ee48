"""The OpenAI-compatible generator against a local server speaking the same wire protocol."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shipwise.errors import ConfigError, GenerationError
from shipwise.models.base import GenerationSettings
from shipwise.models.openai_compat import OpenAIGenerator
from shipwise.tasks.example import Message
from shipwise.testing.openai_server import FakeOpenAIServer, count_tokens

KEY = "sk-test-0123456789abcdefghij"


def echo_upper(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"]).upper()


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(echo_upper, api_key=KEY) as running:
        yield running


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SHIPWISE_TEST_KEY", KEY)
    return "SHIPWISE_TEST_KEY"


def prompts(n: int) -> list[tuple[Message, ...]]:
    return [(Message("system", "be brief"), Message("user", f"question {i}")) for i in range(n)]


def test_completions_keep_order_and_report_usage(server: FakeOpenAIServer, key_env: str) -> None:
    generator = OpenAIGenerator(
        "tiny", base_url=server.base_url, api_key_env=key_env, concurrency=4, max_retries=0
    )
    done: list[int] = []
    out = generator.generate(prompts(9), GenerationSettings(max_new_tokens=8), done.append)
    assert [c.text for c in out] == [f"QUESTION {i}" for i in range(9)]
    expected_prompt = count_tokens("be brief") + count_tokens("question 0") + 2 * 3
    assert out[0].prompt_tokens == expected_prompt
    assert out[0].completion_tokens == 2
    assert sum(done) == 9
    assert all(r.json["max_tokens"] == 8 for r in server.requests)


def test_server_errors_are_retried_by_the_client(server: FakeOpenAIServer, key_env: str) -> None:
    server.inject_faults(r"/v1/chat/completions", [500])
    generator = OpenAIGenerator(
        "tiny", base_url=server.base_url, api_key_env=key_env, max_retries=2
    )
    [completion] = generator.generate(prompts(1), GenerationSettings())
    assert completion.text == "QUESTION 0"
    assert len(server.requests) == 2


def test_a_rejected_key_is_explained(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WRONG_KEY", "sk-wrong-key-000000000000")
    generator = OpenAIGenerator(
        "tiny", base_url=server.base_url, api_key_env="WRONG_KEY", max_retries=0
    )
    with pytest.raises(GenerationError) as err:
        generator.generate(prompts(1), GenerationSettings())
    assert "rejected the key" in str(err.value) and "$WRONG_KEY" in str(err.value)
    assert "sk-wrong" not in str(err.value)


def test_rate_limits_after_retries_say_what_to_do(server: FakeOpenAIServer, key_env: str) -> None:
    server.inject_faults(r"/v1/chat/completions", [429, 429])
    generator = OpenAIGenerator(
        "tiny", base_url=server.base_url, api_key_env=key_env, max_retries=1
    )
    with pytest.raises(GenerationError, match=r"rate limited.*\n.*concurrency"):
        generator.generate(prompts(1), GenerationSettings())


def test_missing_key_variable_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    generator = OpenAIGenerator(
        "tiny", base_url="http://127.0.0.1:9/v1", api_key_env="NO_SUCH_KEY_VAR"
    )
    with pytest.raises(ConfigError, match=r"NO_SUCH_KEY_VAR is not set"):
        generator.generate(prompts(1), GenerationSettings())


def test_unreachable_endpoint_is_explained() -> None:
    generator = OpenAIGenerator(
        "tiny", base_url="http://127.0.0.1:9/v1", api_key_env=None, max_retries=0, timeout_s=2
    )
    with pytest.raises(GenerationError, match=r"cannot reach the endpoint"):
        generator.generate(prompts(1), GenerationSettings())


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"max_retries": 10_000}, "model.max_retries"),
        ({"max_retries": -1}, "model.max_retries"),
        ({"max_retries": 2.5}, "model.max_retries"),
        ({"concurrency": 0}, "model.concurrency"),
        ({"concurrency": 1000}, "model.concurrency"),
        ({"timeout_s": 0}, "model.timeout_s"),
        ({"timeout_s": "60"}, "model.timeout_s"),
    ],
)
def test_client_settings_are_bounded(kwargs: dict[str, Any], where: str) -> None:
    with pytest.raises(ConfigError) as err:
        OpenAIGenerator("tiny", **kwargs)
    assert err.value.where == where and err.value.fix


def test_persistent_429s_stop_after_the_capped_retries(
    server: FakeOpenAIServer, key_env: str
) -> None:
    server.inject_faults(r"/v1/chat/completions", [429] * 40)
    generator = OpenAIGenerator(
        "tiny", base_url=server.base_url, api_key_env=key_env, max_retries=2, concurrency=1
    )
    with pytest.raises(GenerationError, match="rate limited"):
        generator.generate(prompts(1), GenerationSettings())
    assert len(server.requests) == 3  # one try and two retries, not hundreds


def test_a_key_pasted_as_the_variable_name_is_never_echoed() -> None:
    generator = OpenAIGenerator("tiny", api_key_env="sk-test-SECRET-123456789")
    with pytest.raises(ConfigError) as err:
        generator.client()
    assert "holds a key" in err.value.what and "sk-test" not in err.value.render()
