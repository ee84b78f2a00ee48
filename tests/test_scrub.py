from __future__ import annotations

from pathlib import Path

import pytest

from shipwise import scrub as scrubber
from shipwise.scrub import (
    REDACTED,
    find_secret,
    name_secret_variable,
    redact,
    scrub,
    scrub_files,
    scrub_value,
    scrubbed_copy,
    secret_variables,
)

SHAPES = [
    "sk-test-SECRET-123456",
    "sk-proj-abcdefghijklmnop1234",
    "sk-ant-api03-abcdefghijklmnopqrst",
    "hf_abcdefghijklmnopqrstuvwxyz",
    "ghp_abcdefghijklmnopqrstuvwxyz0123",
    "AKIAABCDEFGHIJKLMNOP",
    "Bearer eyJhbGciOiJIUzI1NiJ9.payload",
]


@pytest.mark.parametrize("key", SHAPES)
def test_every_key_shape_is_scrubbed_inside_text(key: str) -> None:
    text = f"run prompt model.api_key_env={key} limit=2"
    assert key not in scrub(text) and REDACTED in scrub(text)
    assert scrub(text).startswith("run prompt model.api_key_env=")
    assert find_secret(text) == "a key's shape"


@pytest.mark.parametrize(
    "text",
    [
        "prompt strategy.k=4 limit=20",
        "task=support_triage",
        "OPENAI_API_KEY",  # a variable's name is not a secret
        "sk-short",
        "desk-abcdefghijklmnopqrstuvwx",  # sk- inside a word
        "sqlite:////tmp/mlflow.db",
        "http://localhost:5000",
    ],
)
def test_ordinary_values_pass_untouched(text: str) -> None:
    assert scrub(text) == text and find_secret(text) is None


def test_values_of_secret_variables_are_scrubbed_wherever_they_appear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-abcdefgh12345")
    monkeypatch.setenv("PLAIN_SETTING", "tok-abcdefgh12345-not-secret-by-name")
    assert scrub("url?t=tok-abcdefgh12345&x=1") == f"url?t={REDACTED}&x=1"
    assert find_secret("tok-abcdefgh12345") == "the value of $MY_SERVICE_TOKEN"
    monkeypatch.setenv("ODDLY_NAMED", "custom-credential-42")
    assert scrub("custom-credential-42") == "custom-credential-42"
    name_secret_variable("ODDLY_NAMED")  # a config names it as holding a key
    try:
        assert scrub("x custom-credential-42 y") == f"x {REDACTED} y"
    finally:
        scrubber._named.discard("ODDLY_NAMED")


def test_a_password_in_a_url_is_scrubbed_and_the_host_kept() -> None:
    assert scrub("http://me:hunter22@mlflow.example:5000/") == (
        f"http://{REDACTED}@mlflow.example:5000/"
    )


def test_redact_keeps_names_of_variables_and_hides_secret_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-abcdefgh12345")
    clean = redact(
        {
            "model.api_key": "anything",
            "model.api_key_env": "OPENAI_API_KEY",
            "model.max_new_tokens": 8,
            "note": "key sk-abcdefghijklmnopqrstu here",
            "url": "http://x/?t=tok-abcdefgh12345",
        }
    )
    assert clean == {
        "model.api_key": REDACTED,
        "model.api_key_env": "OPENAI_API_KEY",
        "model.max_new_tokens": 8,
        "note": REDACTED,
        "url": REDACTED,
    }


def test_values_tables_and_files_are_scrubbed(tmp_path: Path) -> None:
    key = "sk-abcdefghijklmnopqrstuvwx"
    assert scrub_value({"a": [key, 1, None], key: {"b": f"x {key}"}}) == {
        "a": [REDACTED, 1, None],
        REDACTED: {"b": f"x {REDACTED}"},
    }
    (tmp_path / "run").mkdir()
    clean, dirty = tmp_path / "run" / "config.yaml", tmp_path / "run" / "overrides.yaml"
    clean.write_text("limit: 2\n")
    dirty.write_text(f"- model.api_key_env={key}\n")
    (tmp_path / "run" / "weights.bin").write_bytes(key.encode() + b"\x00\xff")
    with scrubbed_copy(tmp_path / "run") as copy:
        assert copy != tmp_path / "run"
        assert key not in (copy / "overrides.yaml").read_text()
        assert (copy / "config.yaml").read_text() == "limit: 2\n"
    assert key in dirty.read_text()  # the original is left as it was
    with scrubbed_copy(clean) as same:
        assert same == clean  # nothing to scrub: no copy
    assert scrub_files([clean, dirty, tmp_path / "missing.yaml"]) == 1
    assert key not in dirty.read_text()


def test_secret_variables_are_found_under_key_env_keys() -> None:
    tree = {
        "model": {"api_key_env": "MY_KEY", "name": "x"},
        "strategy": {"hosted": {"api_key_env": "HOSTED_KEY"}},
        "embedder": {"api_key_env": None},
    }
    assert sorted(secret_variables(tree)) == ["HOSTED_KEY", "MY_KEY"]
