"""The red-team corpus against ``shipwise`` itself, each case in a subprocess as a user runs it.

Every case ends in a clear error (exit 2, what and where, a ``fix:``, no traceback) or its
documented behaviour, and after every case no file under its folder (the MLflow store, the
caches, the Hydra run folder) holds the key or the environment's secret.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redteam import (
    CONF,
    ENV_SECRET,
    KEY,
    LONG,
    NUL,
    SURROGATE,
    TASK_YAML,
    TEST,
    Case,
    fill,
    write_lab,
)

BASE = ("model=fake", "embedder=hashing", "limit=2", "eval_splits=[test]", "paths.root={root}")
GLOBAL_TASK = "# @package _global_\n" + "model:\n  extra:\n    _target_: shutil.copyfile\n"
EVIL = GLOBAL_TASK + "    _args_: [{lab}/conf/task/fruit.yaml, {lab}/copied]\n"
YES_NO = TASK_YAML.replace("[yellow, red, green, purple]", "[yes, no]")
NUMBERS = TASK_YAML.replace("[yellow, red, green, purple]", "[1, 2, 3]")

CASES = [
    # secrets: refused before anything is written
    Case(
        "key_as_variable_name",
        ("model=openai", "model.api_key_env={key}"),
        says="not an environment variable's name",
    ),
    Case("key_as_value", ("+model.api_key={key}",), says="keys are read from the environment"),
    Case(
        "key_in_url",
        ("model=openai", "model.base_url=http://127.0.0.1:9/v1?k={key}"),
        says="a key's shape",
    ),
    Case(
        "env_secret_as_value",
        (f"+model.default={ENV_SECRET}",),
        says="the value of $MY_SERVICE_TOKEN",
    ),
    Case("key_in_a_sweep", ("-m", "strategy.k=1,{key}"), says="a key's shape"),
    Case(
        "password_in_tracking_uri",
        ("tracking.uri=http://me:hunter22x@127.0.0.1:9",),
        says="a key's shape",
    ),
    Case("bare_key_argument", ("{key}",), says="argument"),
    # containment
    Case("task_name_relative_escape", ("task.name=../../../escape",), says="cannot name a folder"),
    Case("task_name_absolute", ("task.name={lab}/abs-escape",), says="cannot name a folder"),
    Case("task_name_with_space", ("task.name=my task",), says="cannot name a folder"),
    Case(
        "docs_link_outside_task",
        (*CONF, "strategy=rag"),
        files={"data/fruit/docs/a.md": "Fruit.", "secret.md": "x"},
        says="outside",
    ),
    # task files are data
    Case(
        "task_file_global_package",
        (*CONF,),
        files={"conf/task/evil.yaml": EVIL},
        says="package directive",
    ),
    Case(
        "task_file_target",
        (*CONF,),
        files={"conf/task/fruit.yaml": "name: fruit\noutput:\n  _target_: os.getcwd\n"},
        says="cannot hold _target_",
    ),
    Case(
        "task_file_defaults",
        (*CONF,),
        files={"conf/task/fruit.yaml": "defaults:\n  - /model: openai\n"},
        says="cannot hold defaults",
    ),
    Case(
        "task_file_invalid_yaml",
        (*CONF,),
        files={"conf/task/fruit.yaml": "name: fruit\n  metric: x: y\n"},
        says="not valid YAML",
    ),
    Case("labels_yes_no", CONF, files={"conf/task/fruit.yaml": YES_NO}, says="YAML reads yes, no"),
    Case("labels_numbers", CONF, files={"conf/task/fruit.yaml": NUMBERS}, says="must be text"),
    Case("labels_numbers_override", (*CONF, "task.output.labels=[1,2,3]"), says="must be text"),
    Case("task_unknown_key", (*CONF, "+task.temprature=0.5"), says="unknown key 'temprature'"),
    Case(
        "task_metric_for_another_kind",
        (*CONF, "task.metric=field_accuracy"),
        says="not available for label outputs",
    ),
    Case("task_max_new_tokens_text", (*CONF, "task.max_new_tokens=lots"), says="whole number"),
    # config values
    Case("seed_text", ("seed=abc",), says="seed must be a whole number"),
    Case("seed_negative", ("seed=-1",), says="seed must be a whole number"),
    Case("seed_fraction", ("seed=1.5",), says="seed must be a whole number"),
    Case("limit_zero", ("limit=0",), says="limit must be a positive"),
    Case("eval_splits_typo", ("eval_splits=[tset]",), says="'tset', which is not a split"),
    Case("eval_splits_not_a_list", ("eval_splits=test",), says="must be a list"),
    # a task without its own red-team file is scored on one generated from its test inputs
    Case(
        "eval_splits_generated_redteam",
        (*CONF, "eval_splits=[redteam]"),
        exit=0,
        says="redteam: generating",
        behaviour=True,
    ),
    Case("temperature_negative", ("generation.temperature=-1",), says="generation.temperature"),
    Case("top_p_above_one", ("generation.top_p=2",), says="generation.top_p"),
    Case("stop_not_a_list", ("generation.stop=x",), says="generation.stop"),
    Case("override_unparsable", ("limit=[1",), says="cannot read this override"),
    Case(
        "max_retries_unbounded",
        ("model=openai", "model.api_key_env=null", "model.max_retries=1000"),
        says="max_retries must be",
    ),
    Case(
        "concurrency_zero",
        ("model=openai", "model.api_key_env=null", "model.concurrency=0"),
        says="concurrency must be",
    ),
    Case(
        "lora_rank_text",
        ("strategy=finetune", "strategy.backend.rank=abc"),
        says="strategy.backend.rank",
    ),
    Case(
        "mistyped_key",
        ("strategy.kk=3",),
        exit=1,
        says="Could not override 'strategy.kk'",
        behaviour=True,
    ),
    # where things go
    Case("root_under_proc", ("paths.root=/proc/shipwise",), says="cannot write in /proc/shipwise"),
    Case("root_under_a_file", ("paths.root={lab}/conf/task/fruit.yaml/x",), says="is a file"),
    Case("cache_under_a_file", ("paths.cache={lab}/conf/task/fruit.yaml/x",), says="is a file"),
    # services
    Case(
        "tracking_unknown_scheme",
        ("tracking.uri=bogus://x",),
        says="MLflow has no store for 'bogus'",
    ),
    Case(
        "tracking_not_a_database",
        ("tracking.uri=sqlite:///{lab}/conf/task/fruit.yaml",),
        says="not an SQLite database",
    ),
    Case(
        "tracking_database_is_a_folder",
        ("tracking.uri=sqlite:///{lab}/conf",),
        says="not an SQLite database",
    ),
    Case(
        "tracking_server_refuses",
        ("tracking.uri=http://127.0.0.1:9",),
        says="cannot reach the MLflow tracking server",
    ),
    Case(
        "tracking_server_silent",
        ("tracking.uri=http://127.0.0.1:{silent}",),
        says="does not answer",
    ),
    Case(
        "chroma_server_refuses",
        (
            "strategy=rag",
            "strategy.retrieval.chroma.host=127.0.0.1",
            "strategy.retrieval.chroma.port=9",
        ),
        says="cannot reach the Chroma server",
    ),
    # data the run reads
    Case(
        "data_lone_surrogate",
        (*CONF,),
        files={"data/fruit/test.jsonl": SURROGATE},
        says="data has 1 errors",
    ),
    Case(
        "data_utf16",
        (*CONF,),
        files={"data/fruit/test.jsonl": TEST.encode("utf-16")},
        says="data has",
    ),
    Case(
        "data_line_over_1_mib",
        (*CONF,),
        files={"data/fruit/test.jsonl": LONG},
        says="data has 1 errors",
    ),
    Case("data_split_empty", CONF, files={"data/fruit/val.jsonl": ""}, says="data has 1 errors"),
    Case(
        "data_nul_character_kept",
        (*CONF,),
        files={"data/fruit/test.jsonl": NUL},
        exit=0,
        says="control_char",
        behaviour=True,
    ),
]


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    """A server that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


def shipwise(argv: list[str], lab: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENAI_API_KEY": KEY, "MY_SERVICE_TOKEN": ENV_SECRET}
    flags = [a for a in argv if a.startswith("-") or a == f"{lab}/conf"]
    overrides = [a for a in argv if a not in flags]
    command = [sys.executable, "-m", "shipwise.cli", *flags, *overrides]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def leaks(lab: Path, inputs: set[Path]) -> list[str]:
    """Files under ``lab`` (but the case's own inputs) holding the key or the env secret."""
    found = []
    for path in lab.rglob("*"):
        if path.is_file() and path not in inputs and not path.is_symlink():
            data = path.read_bytes()
            if KEY.encode() in data or ENV_SECRET.encode() in data:
                found.append(str(path.relative_to(lab)))
    return found


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_case_ends_as_documented_and_leaks_nothing(
    case: Case, tmp_path: Path, silent_port: int
) -> None:
    lab, root = tmp_path, tmp_path / "root"
    write_lab(lab, case.files)
    if case.name == "docs_link_outside_task":
        (lab / "data/fruit/docs/linked.md").symlink_to(lab / "secret.md")
    inputs = {p for p in lab.rglob("*") if p.is_file()}
    args = tuple(a.replace("{silent}", str(silent_port)) for a in (*BASE, *case.args))
    argv = fill(args, lab, root)
    started = time.monotonic()
    done = shipwise(argv, lab)
    took = time.monotonic() - started

    assert done.returncode == case.exit, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert case.says in done.stderr, done.stderr[-3000:]
    if case.exit == 2:
        assert "fix:" in done.stderr and done.stderr.count("shipwise: error:") == 1
    assert not leaks(lab, inputs)
    assert not (lab / "copied").exists()  # the task file's _target_ never ran
    assert not list(tmp_path.parent.glob("escape*")) and not (lab / "abs-escape").exists()
    if case.name.startswith(("tracking_server", "chroma_server")):
        assert took < 60, f"{took:.0f} s"  # seconds, not minutes of retries
    if case.name.startswith(("key_", "env_secret", "bare_key", "password_")):
        assert not root.exists()  # refused before Hydra made its run folder


def test_secrets_in_data_and_config_files_never_reach_disk(tmp_path: Path) -> None:
    """A key in a data record, an env secret in a task file's prompt: the run goes ahead,
    and neither is in MLflow, the caches, the Hydra run folder or the log afterwards."""
    lab, root = tmp_path, tmp_path / "root"
    test = TEST.replace("A banana is", f"Ignore that. My key is {KEY}. A banana is")
    write_lab(
        lab,
        {
            "data/fruit/test.jsonl": test,
            "conf/task/fruit.yaml": TASK_WITH_SECRET,
        },
    )
    inputs = {p for p in lab.rglob("*") if p.is_file()}
    done = shipwise(fill((*BASE, *CONF, "+model.replies={{banana: 'yellow ok'}}"), lab, root), lab)
    assert done.returncode == 0, done.stderr[-3000:]
    assert KEY not in done.stdout + done.stderr and ENV_SECRET not in done.stdout + done.stderr
    assert (root / "mlflow.db").is_file() and list(root.rglob(".hydra/config.yaml"))
    assert not leaks(lab, inputs)


TASK_WITH_SECRET = (
    "name: fruit\ndata_dir: {lab}/data/fruit\nmetric: label_accuracy\nmax_new_tokens: 4\n"
    f"system_prompt: Use token {ENV_SECRET} when asked. Name the colour in one word.\n"
    "output:\n  kind: label\n  labels: [yellow, red, green, purple]\n"
)


def test_sigterm_mid_run_ends_with_a_line_and_a_killed_run(tmp_path: Path) -> None:
    from shipwise.testing.openai_server import FakeOpenAIServer
    from shipwise.tracking import TrackingConfig, find_runs

    def slow(body: dict[str, object]) -> str:
        time.sleep(0.5)
        return "red"

    lab, root = tmp_path, tmp_path / "root"
    write_lab(lab, {})
    with FakeOpenAIServer(slow) as server:
        model = ("model=openai", f"model.base_url={server.base_url}", "model.api_key_env=null")
        argv = fill((*BASE, *CONF, *model, "model.concurrency=1", "limit=null"), lab, root)
        flags = [a for a in argv if a.startswith("-") or a == f"{lab}/conf"]
        command = [sys.executable, "-m", "shipwise.cli", *flags]
        command += [a for a in argv if a not in flags]
        process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=os.environ)
        assert process.stderr is not None
        lines = []
        for line in process.stderr:
            lines.append(line)
            if re.search(r"test: generating: 1/", line):
                process.send_signal(signal.SIGTERM)
                break
        lines.append(process.stderr.read())
        process.wait(timeout=120)
    stderr = "".join(lines)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert "Traceback" not in stderr and "interrupted (SIGTERM)" in stderr
    runs = find_runs(TrackingConfig(f"sqlite:///{root}/mlflow.db", "fruit"))
    assert [r["status"] for r in runs] == ["KILLED"]
