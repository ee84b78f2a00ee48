"""Any OpenAI-compatible chat-completions endpoint: OpenAI, Azure OpenAI, vLLM, llama.cpp server.

The key is read from the environment variable named in config, never from config itself, so
it cannot reach MLflow params. Calls run ``concurrency`` at a time; the official client
retries rate limits and server errors with backoff.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from shipwise.errors import ConfigError, GenerationError
from shipwise.models.base import (
    Completion,
    GenerationSettings,
    ModelInfo,
    Price,
    ProgressCallback,
    TokenCounting,
    apply_stop,
)
from shipwise.tasks.example import Messages

if TYPE_CHECKING:
    from openai import OpenAI


class OpenAIGenerator:
    """Chat completions over the OpenAI wire protocol."""

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        name: str | None = None,
        concurrency: int = 4,
        max_retries: int = 3,
        timeout_s: float = 60.0,
        price: Price | Mapping[str, float] | None = None,
    ) -> None:
        check_client_settings(
            "model", concurrency=concurrency, max_retries=max_retries, timeout_s=timeout_s
        )
        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self._info = ModelInfo(
            name=name or model,
            source=f"{base_url or 'https://api.openai.com/v1'}#{model}",
            price=Price.coerce(price),
        )
        self._client: OpenAI | None = None

    @property
    def info(self) -> ModelInfo:
        return self._info

    constrains = False  # the chat-completions protocol cannot restrict an answer to a list

    def token_counting(self) -> TokenCounting:
        from shipwise.models.tokens import hosted_counting

        return hosted_counting()

    def client(self) -> OpenAI:
        if self._client is None:
            from openai import OpenAI

            self._client = OpenAI(
                base_url=self.base_url,
                api_key=self._api_key(),
                max_retries=self.max_retries,
                timeout=self.timeout_s,
            )
        return self._client

    def _api_key(self) -> str:
        return api_key_from_env(self.api_key_env, "model.api_key_env")

    def generate(
        self,
        prompts: Sequence[Messages],
        settings: GenerationSettings,
        on_progress: ProgressCallback | None = None,
    ) -> list[Completion]:
        if settings.allowed:
            raise ConfigError(
                "constrained decoding runs on local models only: the chat-completions protocol"
                " cannot restrict an answer to a list of outputs",
                where="generation.constrain",
                fix="set generation.constrain=false for this model",
            )
        client = self.client()

        def one(prompt: Messages) -> Completion:
            completion = self._call(client, prompt, settings)
            if on_progress:
                on_progress(1)
            return completion

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(one, prompts))

    def _call(self, client: OpenAI, prompt: Messages, settings: GenerationSettings) -> Completion:
        import openai

        request: dict[str, Any] = {
            "model": self.model,
            "messages": [m.as_dict() for m in prompt],
            "max_tokens": settings.max_new_tokens,
            "temperature": settings.temperature,
            "seed": settings.seed,
        }
        if settings.temperature > 0:
            request["top_p"] = settings.top_p
        if settings.stop:
            request["stop"] = list(settings.stop)
        started = time.perf_counter()
        try:
            response = client.chat.completions.create(**request)
        except openai.APIError as exc:
            raise explain_api_error(exc, self.base_url, self.model, self.api_key_env) from None
        elapsed = time.perf_counter() - started
        text = response.choices[0].message.content or ""
        usage = response.usage
        return Completion(
            text=apply_stop(text, settings.stop).strip(),
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            latency_s=elapsed,
            compute_s=elapsed,
        )


MAX_RETRIES = 10  # the client backs off exponentially: ten retries already span minutes
MAX_CONCURRENCY = 64
MAX_TIMEOUT_S = 3600.0


def check_client_settings(group: str, **values: Any) -> None:
    """``concurrency``, ``max_retries`` and ``timeout_s`` of an API client, within bounds.

    An uncapped retry count against an endpoint that keeps answering 429 sends hundreds of
    requests; a run should stop and say so instead (re-running resumes from the cache).
    """
    limits = {
        "concurrency": (1, MAX_CONCURRENCY, True),
        "max_retries": (0, MAX_RETRIES, True),
        "timeout_s": (0.001, MAX_TIMEOUT_S, False),
    }
    for key, value in values.items():
        low, high, whole = limits[key]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or (whole and not isinstance(value, int)) or not low <= value <= high:
            kind = "a whole number" if whole else "a number"
            raise ConfigError(
                f"{key} must be {kind} from {low:g} to {high:g}, got {value!r}",
                where=f"{group}.{key}",
                fix=f"e.g. {group}.{key}={ {'concurrency': 4, 'max_retries': 3}.get(key, 60) }",
            )


def api_key_from_env(env_name: str | None, config_key: str) -> str:
    """The key in ``$env_name``; a clear error naming the variable when it is not set."""
    if env_name is None:
        return "no-key"  # servers without auth (a local vLLM, llama.cpp) ignore it
    from shipwise.scrub import looks_secret, name_secret_variable

    if looks_secret(env_name):  # a key pasted where its variable's name goes: never echo it
        raise ConfigError(
            f"{config_key} holds a key, not the name of the variable that holds it",
            where=config_key,
            fix=f"export the key as a variable (export OPENAI_API_KEY=...) and set {config_key}"
            "=OPENAI_API_KEY; revoke the key if it was real",
        )
    name_secret_variable(env_name)
    key = os.environ.get(env_name)
    if not key:
        raise ConfigError(
            f"environment variable {env_name} is not set",
            where=config_key,
            fix=f"export {env_name}=<your key>, or {config_key}=null for a server without auth",
        )
    return key


def explain_api_error(
    exc: Exception, base_url: str | None, model: str, key_env: str | None
) -> GenerationError:
    """An API failure as an actionable error; never echoes the key."""
    import openai

    where = f"{base_url or 'api.openai.com'} (model {model!r})"
    message = getattr(exc, "message", str(exc))
    if isinstance(exc, openai.AuthenticationError):
        return GenerationError(
            f"the API rejected the key: {message}",
            where=where,
            fix=f"check the key in ${key_env} is valid for this endpoint",
        )
    if isinstance(exc, openai.NotFoundError):
        return GenerationError(
            f"not found: {message}", where=where, fix="check model.model and model.base_url"
        )
    if isinstance(exc, openai.RateLimitError):
        return GenerationError(
            f"rate limited after retries: {message}",
            where=where,
            fix="lower model.concurrency or raise model.max_retries, then re-run to resume",
        )
    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError):
        return GenerationError(
            f"cannot reach the endpoint: {message}",
            where=where,
            fix="check model.base_url and the network, or raise model.timeout_s",
        )
    return GenerationError(f"the API failed: {message}", where=where, fix="re-run to resume")
