"""The hosted fine-tune backend against the local fake of the OpenAI fine-tuning API."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import openai
import pytest

from shipwise.errors import ConfigError, DataError, GenerationError
from shipwise.finetune.hosted import HostedSettings, estimate_cost, run_job
from shipwise.finetune.hosted_cost import auto_epochs, load_counter
from shipwise.models.base import GenerationSettings
from shipwise.models.openai_compat import OpenAIGenerator
from shipwise.tasks.example import Message
from shipwise.testing.finetune_server import FakeFineTuning, add_fine_tuning
from shipwise.testing.openai_server import FakeOpenAIServer, Request, Response

KEY = "sk-hosted-secret-789"
KEY_ENV = "SHIPWISE_TEST_FT_KEY"
BASE = "gpt-4o-mini-2024-07-18"


def _rows(n: int, answer: str = "red") -> list[dict[str, Any]]:
    return [
        {
            "messages": [
                {"role": "system", "content": "Answer with one colour."},
                {"role": "user", "content": f"What colour is fruit number {i}?"},
                {"role": "assistant", "content": answer},
            ]
        }
        for i in range(n)
    ]


TRAIN, VAL = _rows(10), _rows(3, "green")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    monkeypatch.setenv(KEY_ENV, KEY)
    with FakeOpenAIServer(lambda body: f"tuned reply from {body['model']}", api_key=KEY) as srv:
        yield srv


@pytest.fixture
def ft(server: FakeOpenAIServer) -> FakeFineTuning:
    return add_fine_tuning(server)


def _settings(server: FakeOpenAIServer, **changes: Any) -> HostedSettings:
    settings = HostedSettings(
        base_model=BASE,
        base_url=server.base_url,
        api_key_env=KEY_ENV,
        tokenizer="approx",
        poll_interval_s=0.001,
        max_poll_interval_s=0.01,
        timeout_s=20,
        max_retries=2,
    )
    return replace(settings, **changes)


def _posts(server: FakeOpenAIServer, path: str) -> int:
    return sum(r.method == "POST" and r.path == path for r in server.requests)


def _state(state_dir: Path) -> dict[str, Any]:
    (path,) = state_dir.glob("hosted-*.json")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_full_job_reports_metrics_and_the_model_answers(
    server: FakeOpenAIServer, ft: FakeFineTuning, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logged: list[tuple[dict[str, float], int]] = []

    def on_metrics(metrics: Mapping[str, float], step: int) -> None:
        logged.append((dict(metrics), step))

    result = run_job(_settings(server), TRAIN, VAL, tmp_path, on_metrics)

    job = ft.job(result.job_id)
    assert job["status"] == "succeeded"
    assert result.model == job["fine_tuned_model"]
    assert not result.reused
    assert result.trained_tokens == job["trained_tokens"]
    assert result.cost_usd == pytest.approx(job["trained_tokens"] * 3.0 / 1e6)
    assert result.estimate.n_epochs == 10 == job["hyperparameters"]["n_epochs"]
    assert result.estimate.tokenizer == "approx"
    (sent,) = [r.json for r in server.requests if r.path == "/v1/fine_tuning/jobs"]
    assert sent["method"] == {
        "type": "supervised",
        "supervised": {
            "hyperparameters": {
                "n_epochs": "auto",
                "batch_size": "auto",
                "learning_rate_multiplier": "auto",
            }
        },
    }
    assert (sent["model"], sent["suffix"], sent["seed"]) == (BASE, "shipwise", 0)
    assert sent["validation_file"] == job["validation_file"] is not None
    # checkpoints of the last three epochs, in step order, with validation metrics
    assert [step for _, step in logged] == [80, 90, 100]
    assert all({"train_loss", "valid_loss"} <= metrics.keys() for metrics, _ in logged)
    assert logged[-1][0]["train_loss"] < logged[0][0]["train_loss"]

    generator = OpenAIGenerator(model=result.model, base_url=server.base_url, api_key_env=KEY_ENV)
    (completion,) = generator.generate(
        [(Message("user", "What colour is fruit number 42?"),)], GenerationSettings()
    )
    assert completion.text == f"tuned reply from {result.model}"

    printed = capsys.readouterr().err
    assert "validating_files -> queued" in printed
    assert "running -> succeeded" in printed
    assert "New fine-tuned model created" in printed
    state_text = next(tmp_path.glob("hosted-*.json")).read_text()
    assert KEY not in state_text and KEY not in printed
    assert json.loads(state_text)["request"]["api_key_env"] == KEY_ENV


def test_poll_survives_a_rate_limit_and_a_server_error(
    server: FakeOpenAIServer, ft: FakeFineTuning, tmp_path: Path
) -> None:
    server.inject_faults(r"/v1/fine_tuning/jobs/ftjob-[^/]+", [429, 500])
    result = run_job(_settings(server), TRAIN, None, tmp_path)
    assert ft.job(result.job_id)["status"] == "succeeded"
    retrieves = [r for r in server.requests if r.path == f"/v1/fine_tuning/jobs/{result.job_id}"]
    # three polls (-> queued, -> running, -> succeeded), the first one retried twice
    assert len(retrieves) == 3 + 2


def test_a_run_that_gives_up_is_resumed_not_repeated(
    server: FakeOpenAIServer, ft: FakeFineTuning, tmp_path: Path
) -> None:
    with pytest.raises(GenerationError, match="still queued") as info:
        run_job(_settings(server, timeout_s=1e-6), TRAIN, VAL, tmp_path)
    assert "re-run with the same inputs" in (info.value.fix or "")
    first = _state(tmp_path)["job_id"]
    assert first and _state(tmp_path)["status"] == "queued"

    result = run_job(_settings(server), TRAIN, VAL, tmp_path)
    assert result.job_id == first and not result.reused
    assert _posts(server, "/v1/fine_tuning/jobs") == 1
    assert _posts(server, "/v1/files") == 2  # the uploads were not repeated either


def test_a_crash_after_success_reuses_the_model(
    server: FakeOpenAIServer, ft: FakeFineTuning, tmp_path: Path
) -> None:
    def crash(metrics: Mapping[str, float], step: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_job(_settings(server), TRAIN, None, tmp_path, crash)
    steps: list[int] = []
    result = run_job(_settings(server), TRAIN, None, tmp_path, lambda m, s: steps.append(s))
    assert result.reused and result.cost_usd == 0.0
    assert steps == [80, 90, 100]  # the metrics still reach the caller
    assert ft.jobs_created == 1


def test_a_lost_create_response_adopts_the_job_it_made(
    server: FakeOpenAIServer, ft: FakeFineTuning, tmp_path: Path
) -> None:
    """The provider made the job but the answer never arrived: find it, do not make another."""
    real_create = ft._create
    lost: list[str] = []

    def create_then_fail(request: Request) -> Response:
        response = real_create(request)
        if not lost:
            lost.append(response.json["id"])
            return Response(502, {"error": {"message": "bad gateway", "type": "server_error"}})
        return response

    server.route("POST", r"/v1/fine_tuning/jobs", create_then_fail)
    result = run_job(_settings(server), TRAIN, None, tmp_path)
    assert result.job_id == lost[0]
    assert ft.jobs_created == 1


def test_a_run_killed_mid_create_adopts_the_job_on_the_next_run(
    server: FakeOpenAIServer, ft: FakeFineTuning, tmp_path: Path
) -> None:
    real_create = ft._create
    calls: list[str] = []

    def create_then_refuse(request: Request) -> Response:
        response = real_create(request)
        calls.append(response.json["id"])
        if len(calls) == 1:  # a 400 is not retried: the run stops with the state "creating"
            return Response(400, {"error": {"message": "lost", "type": "invalid_request_error"}})
        return response

    server.route("POST", r"/v1/fine_tuning/jobs", create_then_refuse)
    with pytest.raises(GenerationError, match="creating the job"):
        run_job(_settings(server), TRAIN, None, tmp_path)
    assert _state(tmp_path)["phase"] == "creating"
    result = run_job(_settings(server), TRAIN, None, tmp_path)
    assert result.job_id == calls[0] and len(calls) == 1


def test_an_identical_request_reuses_and_a_changed_one_trains_again(
    server: FakeOpenAIServer, ft: FakeFineTuning, tmp_path: Path
) -> None:
    first = run_job(_settings(server), TRAIN, VAL, tmp_path)
    before = len(server.requests)
    again = run_job(_settings(server), TRAIN, VAL, tmp_path)
    assert again.reused and again.model == first.model and again.cost_usd == 0.0
    new_posts = [r for r in server.requests[before:] if r.method == "POST"]
    assert new_posts == []  # no upload, no job: nothing that costs money

    changed = run_job(_settings(server, learning_rate_multiplier=0.5), TRAIN, VAL, tmp_path)
    assert not changed.reused and changed.job_id != first.job_id
    assert ft.jobs_created == 2
    assert ft.job(changed.job_id)["hyperparameters"]["learning_rate_multiplier"] == 0.5


def test_the_spend_cap_refuses_before_any_upload(
    server: FakeOpenAIServer, ft: FakeFineTuning, tmp_path: Path
) -> None:
    settings = _settings(server, max_cost_usd=0.0001)
    estimate = estimate_cost(settings, TRAIN)
    assert estimate.usd > 0.0001
    with pytest.raises(ConfigError) as info:
        run_job(settings, TRAIN, None, tmp_path)
    assert info.value.where == "strategy.backend.max_cost_usd"
    assert "raise it explicitly" in (info.value.fix or "")
    assert server.requests == []  # not even a file upload
    assert list(tmp_path.glob("hosted-*.json")) == []

    result = run_job(replace(settings, max_cost_usd=estimate.usd * 2), TRAIN, None, tmp_path)
    assert result.model and ft.jobs_created == 1


def test_a_failed_job_raises_the_providers_message_and_a_rerun_retries(
    server: FakeOpenAIServer, ft: FakeFineTuning, tmp_path: Path
) -> None:
    ft.fail_with = "Training file has an example with no assistant reply on line 7."
    with pytest.raises(GenerationError, match="failed: Training file has an example"):
        run_job(_settings(server), TRAIN, None, tmp_path)
    state = _state(tmp_path)
    assert state["status"] == "failed"
    assert state["history"][0]["error"] == ft.fail_with

    ft.fail_with = None
    result = run_job(_settings(server), TRAIN, None, tmp_path)
    assert ft.jobs_created == 2 and result.job_id != state["job_id"]
    assert _state(tmp_path)["attempt"] == 2


def test_a_cancelled_job_raises_on_resume(
    server: FakeOpenAIServer, ft: FakeFineTuning, tmp_path: Path
) -> None:
    with pytest.raises(GenerationError, match="still"):
        run_job(_settings(server, timeout_s=1e-6), TRAIN, None, tmp_path)
    job_id = _state(tmp_path)["job_id"]
    openai.OpenAI(base_url=server.base_url, api_key=KEY).fine_tuning.jobs.cancel(job_id)
    with pytest.raises(GenerationError, match=f"{job_id} cancelled"):
        run_job(_settings(server), TRAIN, None, tmp_path)
    assert _state(tmp_path)["history"][-1]["status"] == "cancelled"
    assert ft.jobs_created == 1


def test_a_rejected_key_is_explained_without_echoing_it(
    server: FakeOpenAIServer, ft: FakeFineTuning, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-wrong-key-000")
    with pytest.raises(GenerationError, match="rejected the key") as info:
        run_job(_settings(server), TRAIN, None, tmp_path)
    assert "sk-wrong-key-000" not in str(info.value)
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(ConfigError) as missing:
        run_job(_settings(server), TRAIN, None, tmp_path)
    assert missing.value.where == "strategy.backend.api_key_env"


@pytest.mark.parametrize(
    ("examples", "epochs"),
    [(1, 25), (3, 25), (10, 10), (33, 3), (34, 3), (8333, 3), (8334, 2), (12_500, 2), (30_000, 1)],
)
def test_auto_epochs_follow_openais_rule(examples: int, epochs: int) -> None:
    assert auto_epochs(examples) == epochs


def test_estimate_counts_tokens_like_the_data_prep_guide() -> None:
    row = {
        "messages": [
            {"role": "user", "content": "abcd"},  # "user" 1 + "abcd" 1 token
            {"role": "assistant", "content": "abcdefgh", "name": "bot"},  # 3 + 2 + 1 + 1
        ]
    }
    settings = HostedSettings(base_model=BASE, tokenizer="approx", n_epochs=2)
    estimate = estimate_cost(settings, [row])
    # 3 to prime the reply + (3 + 1 + 1) + (3 + 3 + 2 + 1 for the name + 1 for "bot")
    assert estimate.tokens_per_epoch == 18
    assert (estimate.n_epochs, estimate.billed_tokens) == (2, 36)
    assert estimate.usd == pytest.approx(36 * 3.0 / 1e6)
    capped = estimate_cost(replace(settings, max_tokens_per_example=10), [row])
    assert capped.tokens_per_epoch == 10


def test_a_local_hugging_face_tokenizer_counts_words(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, "what": 1, "colour": 2}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    count, label = load_counter(f"hf:{tmp_path}")
    assert count("what colour is a kiwi") == 5
    assert label == f"hf:{tmp_path}"
    with pytest.raises(ConfigError, match="no tokenizer"):
        load_counter(f"hf:{tmp_path / 'missing'}")


def test_tiktoken_falls_back_to_the_labelled_approximation_offline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import requests
    import tiktoken

    def offline(name: str) -> None:
        if name != "o200k_base":
            raise ValueError(f"Unknown encoding {name}")
        raise requests.ConnectionError("no route to openaipublic.blob.core.windows.net")

    monkeypatch.setattr(tiktoken, "get_encoding", offline)
    count, label = load_counter("tiktoken:o200k_base")
    assert label == "approx (tiktoken:o200k_base unavailable: ConnectionError)"
    assert count("12345678") == 2
    with pytest.raises(ConfigError):
        load_counter("tiktoken:no_such_encoding")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "no training examples"),
        ([{"messages": [{"role": "user", "content": "hi"}]}], "row 0: the last message"),
        ([*_rows(1), {"messages": [{"role": "tool", "content": "x"}]}], "row 1: message 0"),
        ([{"messages": [{"role": "user", "content": ["a"]}]}], "content must be a string"),
        ([{"text": "completion-style"}], "'messages' must be"),
    ],
)
def test_bad_rows_are_refused_before_anything_is_sent(
    server: FakeOpenAIServer, tmp_path: Path, rows: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(DataError, match=message):
        run_job(_settings(server), rows, None, tmp_path)
    with pytest.raises(DataError, match="validation rows"):
        run_job(_settings(server), TRAIN, [{"messages": []}], tmp_path)
    assert server.requests == []


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"n_epochs": 0}, "n_epochs"),
        ({"n_epochs": True}, "n_epochs"),
        ({"n_epochs": 2.5}, "n_epochs"),
        ({"batch_size": "big"}, "batch_size"),
        ({"learning_rate_multiplier": 0}, "learning_rate_multiplier"),
        ({"suffix": "x" * 65}, "suffix"),
        ({"max_cost_usd": -1}, "max_cost_usd"),
        ({"tokenizer": "bpe"}, "tokenizer"),
        ({"poll_interval_s": 10, "max_poll_interval_s": 1}, "max_poll_interval_s"),
        ({"max_cost_usd": "abc"}, "max_cost_usd"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"timeout_s": None}, "timeout_s"),
        ({"seed": "0"}, "seed"),
    ],
)
def test_settings_name_the_bad_key(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        HostedSettings(base_model=BASE, **changes)
    assert info.value.where == f"strategy.backend.{key}"


def test_without_tiktoken_installed_counts_are_labelled_estimates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "tiktoken", None)  # import tiktoken -> ImportError
    count, label = load_counter("tiktoken:o200k_base")
    assert label == "approx (tiktoken:o200k_base unavailable: tiktoken is not installed)"
    assert count("12345678") == 2
