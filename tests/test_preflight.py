"""The checks before Hydra writes anything, and before any data is read or model loaded."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest

from shipwise.errors import ConfigError
from shipwise.preflight import (
    check_argv,
    check_config,
    check_splits,
    parse_overrides,
    refuse_secrets,
    search_dirs,
)
from shipwise.services import service_answers

KEY = "sk-test-SECRET-123456"
GOOD: dict[str, Any] = {
    "seed": 0,
    "limit": None,
    "eval_splits": ["test"],
    "generation": {"temperature": 0.0, "top_p": 1.0, "stop": []},
}


@pytest.mark.parametrize(
    ("argv", "where"),
    [
        ([f"model.api_key_env={KEY}"], "model.api_key_env"),
        (["model.api_key_env=not a name"], "model.api_key_env"),
        ([f"strategy.backend.api_key_env={KEY}"], "strategy.backend.api_key_env"),
        ([f"+model.api_key={KEY}"], "model.api_key"),
        (["+model.api_key=short"], "model.api_key"),
        (["++model.password=hunter22"], "model.password"),
        ([f"model.base_url=http://x/v1?key={KEY}"], "model.base_url"),
        ([f"+model.default={KEY}"], "model.default"),
        (["-m", f"strategy.k=1,{KEY}"], "strategy.k"),
        ([KEY], "argument 2"),  # after model=openai
        (["tracking.uri=http://me:hunter22@host:5000"], "tracking.uri"),
    ],
)
def test_a_key_on_the_command_line_is_refused_without_being_repeated(
    argv: list[str], where: str
) -> None:
    with pytest.raises(ConfigError) as err:
        refuse_secrets(["model=openai", *argv])
    rendered = err.value.render()
    assert err.value.where == where and "refused before anything was written" in rendered
    assert KEY not in rendered and "hunter22" not in rendered


def test_a_value_equal_to_a_secret_in_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-abcdefgh12345")
    with pytest.raises(ConfigError, match=r"the value of \$MY_SERVICE_TOKEN"):
        refuse_secrets(["+strategy.note=tok-abcdefgh12345"])


@pytest.mark.parametrize(
    "argv",
    [
        ["model=openai", "model.api_key_env=OPENAI_API_KEY", "model.base_url=http://x:8000/v1"],
        ["model.api_key_env=null", "strategy.backend.api_key_env="],
        ["-m", "strategy=prompt,rag", "strategy.demos.k=0,2,4", "limit=20", "--config-dir", "conf"],
        ["task=support_triage", "paths.root=/tmp/x", "generation.stop=[\n]"],
    ],
)
def test_ordinary_command_lines_pass(argv: list[str]) -> None:
    refuse_secrets(argv)


def test_every_task_file_on_the_search_path_is_checked(tmp_path: Path) -> None:
    mine = tmp_path / "conf"
    (mine / "task").mkdir(parents=True)
    (mine / "task" / "evil.yaml").write_text("# @package _global_\nmodel: {}\n")
    config = Path(__file__).parents[1] / "conf"
    check_argv(["task=support_triage"], config)  # the shipped ones are plain data
    for argv in (
        ["--config-dir", str(mine)],
        [f"--config-dir={mine}"],
        ["-cd", str(mine)],
        ["--config-path", str(mine)],
        [f"hydra.searchpath=[file://{mine}]"],
        [f"hydra.searchpath=[pkg://shipwise.conf,{mine}]"],
    ):
        assert mine in search_dirs(argv, config)
        with pytest.raises(ConfigError, match="package directive") as err:
            check_argv(argv, config)
        assert err.value.where == f"{mine / 'task' / 'evil.yaml'}:1"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"seed": "abc"}, "seed"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**40}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": True}, "seed"),
        ({"limit": 0}, "limit"),
        ({"limit": "all"}, "limit"),
        ({"eval_splits": "test"}, "eval_splits"),
        ({"eval_splits": []}, "eval_splits"),
        ({"eval_splits": [1]}, "eval_splits"),
        ({"generation": {**GOOD["generation"], "temperature": -1}}, "generation.temperature"),
        ({"generation": {**GOOD["generation"], "temperature": "hot"}}, "generation.temperature"),
        ({"generation": {**GOOD["generation"], "top_p": 1.5}}, "generation.top_p"),
        ({"generation": {**GOOD["generation"], "stop": "\n"}}, "generation.stop"),
        ({"generation": {**GOOD["generation"], "stop": [""]}}, "generation.stop"),
    ],
)
def test_config_values_a_run_would_trip_over_late_are_refused_first(
    change: dict[str, Any], where: str
) -> None:
    with pytest.raises(ConfigError) as err:
        check_config({**GOOD, **change})
    assert err.value.where == where


def test_a_good_config_passes() -> None:
    check_config(GOOD)
    check_config({**GOOD, "seed": 2**32 - 1, "limit": 5})


def test_eval_splits_must_name_splits_and_score_something() -> None:
    known = ("train", "val", "test", "regression", "redteam")
    available = ["train", "val", "test"]
    with pytest.raises(ConfigError, match="'tset', which is not a split") as err:
        check_splits(["test", "tset"], available, known)
    assert "train, val, test" in (err.value.fix or "")
    with pytest.raises(ConfigError, match="nothing to score"):
        check_splits(["redteam"], available, known)
    check_splits(["test", "redteam", "regression"], available, known)  # the default


def test_a_service_that_is_not_there_fails_at_once() -> None:
    started = time.monotonic()
    unreachable = r"cannot reach the Chroma server at 127\.0\.0\.1:9"
    with pytest.raises(ConfigError, match=unreachable) as err:
        service_answers("127.0.0.1", 9, "Chroma server", "strategy.retrieval.chroma.host", "fix")
    assert time.monotonic() - started < 5 and err.value.where == "strategy.retrieval.chroma.host"
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(1)
        service_answers("127.0.0.1", listening.getsockname()[1], "x", "k", "f")


@pytest.mark.parametrize("arg", ["limit=[1", "key='unterminated", "a b=c", "x=choice(1,"])
def test_an_override_hydra_cannot_read_is_a_config_error_naming_it(arg: str) -> None:
    with pytest.raises(ConfigError, match="cannot read this override") as err:
        parse_overrides(["-m", "--config-dir", "conf", arg])
    assert err.value.where == arg and "quote" in (err.value.fix or "")


def test_overrides_are_parsed_and_flags_passed_over() -> None:
    parsed = parse_overrides(["-m", "--cfg", "job", "strategy.k=0,2", "~seed", "limit=3"])
    assert [o.key_or_group for o in parsed] == ["strategy.k", "seed", "limit"]
