"""The LLM judge against a local server speaking the OpenAI protocol (scripted answers)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shipwise.errors import ConfigError
from shipwise.evaluation.judge import Judge, parse_grade, parse_winner, prediction_first
from shipwise.testing.openai_server import FakeOpenAIServer

KEY = "sk-judge-test-0123456789abcdef"
RUBRIC = "1. Greets by name.\n2. Signs off as the team."
MESSAGES = [f"Where is order KL-10000{i}?" for i in range(6)]
REPLIES = [f"Hi, reply {i}" for i in range(6)]
REFERENCES = [f"Hi there, reference {i}" for i in range(6)]


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SHIPWISE_JUDGE_KEY", KEY)
    return "SHIPWISE_JUDGE_KEY"


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[dict[str, Any]], str]], FakeOpenAIServer]]:
    servers: list[FakeOpenAIServer] = []

    def start(responder: Callable[[dict[str, Any]], str]) -> FakeOpenAIServer:
        servers.append(FakeOpenAIServer(responder, api_key=KEY).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def judge_for(server: FakeOpenAIServer, key_env: str, tmp_path: Path, **options: Any) -> Judge:
    return Judge(
        "grader",
        base_url=server.base_url,
        api_key_env=key_env,
        max_retries=0,
        price={"usd_per_1m_input": 1.0, "usd_per_1m_output": 2.0},
        cache_dir=str(tmp_path / "judge"),
        **options,
    )


def user_text(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


@pytest.mark.parametrize(
    ("answer", "grade"),
    [
        ('{"score": 4, "reason": "warm"}', 4),
        ('```json\n{"score": "2"}\n```', 2),
        ("Score: 5. It follows every point.", 5),
        ("**Score**: 3", 3),
        ("1", 1),
        ('{"score": 7}', None),
        ('{"score": 3.5}', None),
        ('{"score": "high"}', None),
        ("I would give it a 4.5 out of 5", None),
        ("", None),
    ],
)
def test_grades_are_parsed_robustly(answer: str, grade: int | None) -> None:
    parsed, error = parse_grade(answer)
    assert parsed == grade
    assert bool(error) == (grade is None)


@pytest.mark.parametrize(
    ("answer", "winner"),
    [
        ('{"winner": "B", "reason": "x"}', "B"),
        ('{"winner": "Tie"}', "tie"),
        ("Winner: A", "A"),
        ("a", "A"),
        ("Both are fine.", None),
        ('{"winner": "C"}', None),
    ],
)
def test_pairwise_winners_are_parsed_robustly(answer: str, winner: str | None) -> None:
    assert parse_winner(answer)[0] == winner


def test_pointwise_grades_are_normalised_and_costed_apart(
    serve: Callable[..., FakeOpenAIServer], key_env: str, tmp_path: Path
) -> None:
    grades = iter([5, 1, 3, 4, 2, 5])
    server = serve(lambda body: json.dumps({"score": next(grades), "reason": "ok"}))
    judge = judge_for(server, key_env, tmp_path)
    verdicts = judge.judge(RUBRIC, MESSAGES, REPLIES, REFERENCES)
    assert sorted(v.score for v in verdicts) == sorted([1.0, 0.0, 0.5, 0.75, 0.25, 1.0])
    prompt = user_text(server.requests[0].json)
    assert RUBRIC in prompt and "Where is order" in prompt and "Hi there, reference" in prompt
    assert server.requests[0].json["temperature"] == 0.0
    usage = judge.usage
    assert usage.calls == 6 and usage.cached == 0 and usage.failures == 0
    expected = (usage.prompt_tokens * 1.0 + usage.completion_tokens * 2.0) / 1e6
    assert usage.prompt_tokens > 0 and usage.usd == pytest.approx(expected)


def test_calls_are_cached_and_a_rerun_costs_nothing(
    serve: Callable[..., FakeOpenAIServer], key_env: str, tmp_path: Path
) -> None:
    server = serve(lambda body: '{"score": 4}')
    first = judge_for(server, key_env, tmp_path)
    first.judge(RUBRIC, MESSAGES, REPLIES, REFERENCES)
    again = judge_for(server, key_env, tmp_path)
    verdicts = again.judge(RUBRIC, MESSAGES, REPLIES, REFERENCES)
    assert len(server.requests) == 6  # nothing new was asked
    assert [v.score for v in verdicts] == [0.75] * 6
    assert again.usage.cached == 6 and again.usage.calls == 0 and again.usage.usd == 0.0
    assert again.usage.usd_uncached == pytest.approx(first.usage.usd)
    again.judge("A different rubric", MESSAGES[:1], REPLIES[:1], REFERENCES[:1])
    assert len(server.requests) == 7  # the rubric is part of what is cached


def test_malformed_answers_are_recorded_failures_not_crashes(
    serve: Callable[..., FakeOpenAIServer], key_env: str, tmp_path: Path
) -> None:
    answers = iter(["I like it", '{"score": 9}', '{"score": 2}', "", "Score: 4", "{oops"])
    server = serve(lambda body: next(answers))
    judge = judge_for(server, key_env, tmp_path)
    verdicts = judge.judge(RUBRIC, MESSAGES, REPLIES, REFERENCES)
    failed = [v for v in verdicts if v.failed]
    assert len(failed) == 4 and judge.usage.failures == 4
    assert all(math.isnan(v.score) and v.error for v in failed)
    assert sorted(v.score for v in verdicts if not v.failed) == [0.25, 0.75]


def test_pairwise_order_is_randomised_and_mapped_back(
    serve: Callable[..., FakeOpenAIServer], key_env: str, tmp_path: Path
) -> None:
    messages = [f"message {i}" for i in range(40)]
    replies = [f"GOOD reply {i}" for i in range(40)]
    references = [f"reference {i}" for i in range(40)]

    def prefers_good(body: dict[str, Any]) -> str:
        text = user_text(body)
        a = text.split("Reply A:")[1].split("Reply B:")[0]
        return '{"winner": "A"}' if "GOOD" in a else '{"winner": "B"}'

    server = serve(prefers_good)
    judge = judge_for(server, key_env, tmp_path, mode="pairwise", seed=3)
    assert judge.metric == "judge_pairwise"
    verdicts = judge.judge(RUBRIC, messages, replies, references)
    assert all(v.score == 1.0 for v in verdicts)  # the better reply wins in either position
    firsts = [prediction_first(3, m, r) for m, r in zip(messages, references, strict=True)]
    assert 10 < sum(firsts) < 30  # both orders occur

    always_a = serve(lambda body: '{"winner": "A"}')  # pure position bias
    biased = judge_for(always_a, key_env, tmp_path / "b", mode="pairwise", seed=3)
    scores = [v.score for v in biased.judge(RUBRIC, messages, replies, references)]
    assert scores == [float(f) for f in firsts]  # bias lands on both sides, not on one arm


def test_the_key_never_reaches_disk_or_the_recorded_requests(
    serve: Callable[..., FakeOpenAIServer], key_env: str, tmp_path: Path
) -> None:
    server = serve(lambda body: '{"score": 3}')
    judge_for(server, key_env, tmp_path).judge(RUBRIC, MESSAGES, REPLIES, REFERENCES)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files, "the judge cached nothing"
    assert not any(KEY in p.read_text(errors="ignore") for p in files)
    assert all(r.headers.get("authorization") == "<redacted>" for r in server.requests)


def test_a_missing_key_names_the_judge_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("NO_JUDGE_KEY", raising=False)
    judge = Judge("grader", base_url="http://127.0.0.1:9/v1", api_key_env="NO_JUDGE_KEY")
    with pytest.raises(ConfigError, match=r"judge\.api_key_env") as err:
        judge.judge(RUBRIC, MESSAGES[:1], REPLIES[:1], REFERENCES[:1])
    assert "NO_JUDGE_KEY is not set" in str(err.value)


def test_an_unknown_mode_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"judge\.mode"):
        Judge("grader", mode="tournament")


def test_the_judge_config_builds_and_judges_reply_style_through_the_evaluator(
    serve: Callable[..., FakeOpenAIServer], key_env: str, tmp_path: Path
) -> None:
    """judge=openai composed as users run it, pointed at the local server, on real records."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from shipwise.config import config_dir, instantiate_node, register_resolvers
    from shipwise.evaluation.evaluator import Evaluator, ScoringContext
    from shipwise.retrieval.embedders import HashingEmbedder
    from shipwise.tasks.task import load_task_config
    from shipwise.tracking import flatten, redact

    server = serve(lambda body: '{"score": 4, "reason": "follows the guide"}')
    register_resolvers()
    overrides = ["task=reply_style", "judge=openai", f"judge.base_url={server.base_url}"]
    overrides += [f"judge.api_key_env={key_env}", f"paths.root={tmp_path}"]
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    plain: Any = OmegaConf.to_container(cfg, resolve=True)
    judge = instantiate_node(plain["judge"], "judge")
    assert isinstance(judge, Judge) and judge.seed == plain["seed"]
    task = load_task_config(plain["task"], plain["paths"]["data"])
    val = list(task.split("val"))[:4]
    context = ScoringContext(embedder_factory=HashingEmbedder, judge=judge)
    evaluator = Evaluator(task.spec.output, task.spec.metric, context=context)
    scores = evaluator.score_batch(
        [e.reference for e in val], [e.reference for e in val], [e.user_text for e in val]
    )
    assert all(s["judge"] == 0.75 and s["style_all"] == 1.0 for s in scores)
    assert task.spec.output.rubric.splitlines()[0] in user_text(server.requests[0].json)
    # The same scrub as for models: the key is in no param, no cache file, no request record.
    params = redact(flatten(plain))
    assert not any(KEY in str(v) for v in params.values())
    cached = [p for p in (tmp_path / ".shipwise" / "judge").rglob("*.json")]
    assert len(cached) == 4 and not any(KEY in p.read_text() for p in cached)
