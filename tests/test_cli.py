"""The Hydra app as users run it: real composition, real sweeps, real MLflow, in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from shipwise.config import config_dir, register_resolvers
from shipwise.evidence import DECISION_TAG
from shipwise.testing.finetune_server import add_fine_tuning
from shipwise.testing.openai_server import FakeOpenAIServer
from shipwise.tracking import TrackingConfig, find_runs

GROUPS = ["task", "strategy", "model", "embedder", "tracking", "decision"]
FAST = ["model=fake", "embedder=hashing", "eval_splits=[test]"]
TRIAGE = '{"category": "other", "priority": "low"}'


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (config_dir() / group).glob("*.yaml"))


@pytest.mark.parametrize(
    "override",
    [f"{g}={o}" for g in GROUPS for o in options(g)]
    + [f"+experiment={o}" for o in options("experiment")],
)
def test_every_config_composes_and_resolves(override: str) -> None:
    register_resolvers()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("config", overrides=[override])
    plain: Any = OmegaConf.to_container(cfg, resolve=True)
    assert plain["task"]["name"] and plain["strategy"]["_target_"]
    assert plain["tracking"]["uri"].startswith(("sqlite:///", "http://"))


def shipwise(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    flags = [a for a in args if a.startswith("-")]  # argparse wants flags before overrides
    overrides = [a for a in args if not a.startswith("-")]
    command = [sys.executable, "-m", "shipwise.cli", *flags, f"paths.root={root}", *overrides]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}
    )


def runs(root: Path, experiment: str = "support_triage") -> list[dict[str, Any]]:
    """The arms' runs (the decision's own run is left out)."""
    found = find_runs(TrackingConfig(f"sqlite:///{root}/mlflow.db", experiment))
    return [r for r in found if r["tags"].get(DECISION_TAG) != "true"]


def decisions(root: Path, experiment: str) -> list[dict[str, Any]]:
    found = find_runs(TrackingConfig(f"sqlite:///{root}/mlflow.db", experiment))
    return [r for r in found if r["tags"].get(DECISION_TAG) == "true"]


def test_one_run_writes_a_finished_mlflow_run(tmp_path: Path) -> None:
    done = shipwise(tmp_path, *FAST, f"model.default='{TRIAGE}'", "limit=5")
    assert done.returncode == 0, done.stderr
    assert "shipwise results" in done.stdout
    [run] = runs(tmp_path)
    assert run["status"] == "FINISHED"
    assert run["tags"]["task"] == "support_triage"
    assert run["params"]["limit"] == "5"
    assert 0.0 <= run["metrics"]["test/primary"] <= 1.0
    assert run["metrics"]["test/n"] == 5


def test_the_study_sweeps_and_prints_one_table(tmp_path: Path) -> None:
    done = shipwise(
        tmp_path,
        "-m",
        *FAST,
        "strategy=prompt",
        "strategy.demos.k=0,2",
        "limit=3",
        "task=policy_qa",
    )
    assert done.returncode == 0, done.stderr
    assert "shipwise results" in done.stdout
    assert "eval_splits=[test]" in done.stdout  # overrides shown as typed
    names = sorted(r["name"] for r in runs(tmp_path, "policy_qa"))
    assert len(names) == 2
    assert "strategy.demos.k=0" in names[0] and "strategy.demos.k=2" in names[1]
    assert all(n.startswith("prompt ") for n in names)
    [decided] = decisions(tmp_path, "policy_qa")  # the study ends with a ship decision
    assert decided["status"] == "FINISHED" and decided["tags"]["ship"] in names
    assert "report:" in done.stdout


def test_a_key_given_twice_names_the_run_by_its_last_value(tmp_path: Path) -> None:
    # a wrapper script's default followed by the user's own value: Hydra keeps the last
    done = shipwise(tmp_path, *FAST, f"model.default='{TRIAGE}'", "limit=2", "limit=3")
    assert done.returncode == 0, done.stderr
    [run] = runs(tmp_path)
    assert "limit=3" in run["name"] and "limit=2" not in run["name"]
    assert run["params"]["limit"] == "3" and run["metrics"]["test/n"] == 3


def test_a_failing_arm_does_not_stop_the_study(tmp_path: Path) -> None:
    done = shipwise(tmp_path, "-m", *FAST, "strategy=prompt", "strategy.demos.k=1,9999", "limit=2")
    assert done.returncode != 0
    assert "FAILED" in done.stdout and "k=9999" in done.stdout
    assert "Traceback" not in done.stderr
    by_status = {r["status"]: r for r in runs(tmp_path)}
    assert sorted(by_status) == ["FAILED", "FINISHED"]
    assert "k=9999" in by_status["FAILED"]["tags"]["error"]


def test_a_mistyped_key_fails_with_hydras_message(tmp_path: Path) -> None:
    done = shipwise(tmp_path, *FAST, "strategy.kk=3")
    assert done.returncode == 1
    assert "Could not override 'strategy.kk'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_task_folder_is_a_clear_error(tmp_path: Path) -> None:
    done = shipwise(tmp_path, *FAST, "task.data_dir=/no/such/task")
    assert done.returncode == 2
    assert "task folder '/no/such/task' not found" in done.stderr
    assert "fix:" in done.stderr and "Traceback" not in done.stderr


def test_an_openai_compatible_endpoint_is_one_override(tmp_path: Path) -> None:
    key = "sk-local-test-key-0123456789"
    with FakeOpenAIServer(lambda body: TRIAGE, api_key=key) as server:
        done = shipwise(
            tmp_path,
            "model=openai",
            f"model.base_url={server.base_url}",
            "model.model=triage-model",
            "model.api_key_env=SHIPWISE_CLI_TEST_KEY",
            "embedder=hashing",
            "limit=4",
            "eval_splits=[test]",
            env={"SHIPWISE_CLI_TEST_KEY": key},
        )
        requests = server.requests
    assert done.returncode == 0, done.stderr
    assert len(requests) == 4 and {r.json["model"] for r in requests} == {"triage-model"}
    [run] = runs(tmp_path)
    assert run["tags"]["model"] == "triage-model"
    assert run["metrics"]["test/prompt_tokens_per_call"] > 0
    assert run["metrics"]["test/usd_per_1k_calls"] > 0  # token prices from the model config
    logged = str(run["params"]) + str(run["tags"])
    assert key not in logged
    artifacts = "".join(p.read_text() for p in tmp_path.rglob("*.json"))
    assert key not in artifacts and key not in done.stdout + done.stderr


def test_a_wrong_key_inside_a_group_names_the_group(tmp_path: Path) -> None:
    done = shipwise(tmp_path, *FAST, "+model.batchsize=4")
    assert done.returncode == 2
    assert "model.batchsize: unknown key 'batchsize' in the model config" in done.stderr
    assert "use one of: default, replies, responder, name" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_default_study_runs_every_arm_and_names_a_failing_one(tmp_path: Path) -> None:
    done = shipwise(tmp_path, "-m", *FAST, "limit=3", "task=policy_qa")
    # LoRA cannot train the fake model: that arm fails with its reason, the others finish
    assert done.returncode != 0
    assert "the lora backend trains a local model" in done.stderr
    assert "Traceback" not in done.stderr
    # knn votes over closed answer sets; policy_qa's answers are free text: skipped, not failed
    assert "knn" in done.stdout and "skipped" in done.stdout
    by_strategy = {r["tags"]["strategy"]: r for r in runs(tmp_path, "policy_qa")}
    assert sorted(by_strategy) == ["finetune", "majority", "prompt", "rag"]
    assert by_strategy["finetune"]["status"] == "FAILED"
    rag = by_strategy["rag"]["metrics"]
    assert all(by_strategy[s]["status"] == "FINISHED" for s in ("majority", "prompt", "rag"))
    assert by_strategy["majority"]["params"]["setup.answer"] == "No"  # train's commonest
    assert rag["index.docs_added"] == 34 and "test/retrieval.recall_at_5" in rag
    assert "test/retrieval.recall_at_5" not in by_strategy["prompt"]["metrics"]
    # the decision over the rest says why two of the study's arms have no run to compare
    report = max((tmp_path / ".shipwise" / "decisions").glob("*/decision.json"))
    caveats = json.loads(report.read_text())["caveats"]
    assert any(c.startswith("knn has no run: skipped: free-text answers") for c in caveats)
    assert "finetune has no run: it failed (see above)." in caveats


def test_the_hosted_fine_tune_runs_against_a_local_protocol_server(tmp_path: Path) -> None:
    key = "sk-local-finetune-key-0123456789"
    hosted = [
        "strategy=finetune",
        "strategy/backend=hosted",
        "strategy.backend.api_key_env=SHIPWISE_CLI_TEST_KEY",
        "strategy.backend.tokenizer=approx",
        "strategy.backend.poll_interval_s=0.01",
        "strategy.backend.max_poll_interval_s=0.05",
        "model=fake",
        "embedder=hashing",
        "limit=3",
        "eval_splits=[test,regression]",
    ]
    with FakeOpenAIServer(lambda body: TRIAGE, api_key=key) as server:
        jobs = add_fine_tuning(server)
        url = f"strategy.backend.base_url={server.base_url}"
        env = {"SHIPWISE_CLI_TEST_KEY": key}
        done = shipwise(tmp_path, *hosted, url, env=env)
        assert done.returncode == 0, done.stderr
        again = shipwise(tmp_path, *hosted, url, "seed=0", env=env)
        assert again.returncode == 0, again.stderr
        models = [r.json["model"] for r in server.requests if r.path.endswith("/chat/completions")]
        created = jobs.jobs_created
    assert created == 1  # the identical second run reused the succeeded job
    second, first = runs(tmp_path)  # newest first
    tuned = first["params"]["setup.fine_tuned_model"]
    assert tuned.startswith("ft:") and second["params"]["setup.job_reused"] == "True"
    assert first["metrics"]["train/billed_tokens_estimate"] > 0
    assert "regression/baseline_primary" in first["metrics"]
    assert set(models) == {tuned, "gpt-4o-mini-2024-07-18"}  # tuned answers; base: regression
    logged = str(first["params"]) + str(first["tags"])
    assert key not in logged and key not in done.stdout + done.stderr
    state = "".join(p.read_text() for p in tmp_path.rglob("hosted-*.json"))
    assert state and key not in state


def test_a_tuning_sweep_on_val_shows_its_scores_and_makes_no_decision(tmp_path: Path) -> None:
    done = shipwise(
        tmp_path, "-m", "model=fake", "embedder=hashing", "eval_splits=[val]",
        "strategy=prompt", "strategy.demos.k=0,1", "limit=2", "task=policy_qa",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "token_f1 (val)" in done.stdout
    assert decisions(tmp_path, "policy_qa") == []
    assert "Traceback" not in done.stderr and "raised" not in done.stderr


def test_constrained_decoding_is_auto_for_local_models_and_closed_answers() -> None:
    from shipwise.cli import _allowed
    from shipwise.errors import ConfigError
    from shipwise.models.fake import FakeGenerator
    from shipwise.models.openai_compat import OpenAIGenerator
    from shipwise.tasks.task import OutputSpec

    class Local(FakeGenerator):
        constrains = True

    labels = OutputSpec("label", labels=["a", "b"])
    assert _allowed("auto", labels, Local()) == ("a", "b")
    assert _allowed("auto", labels, OpenAIGenerator("m")) == ()  # an endpoint cannot be
    assert _allowed("auto", OutputSpec("text"), Local()) == ()  # free text is not
    assert _allowed(False, labels, Local()) == ()
    with pytest.raises(ConfigError, match="text task"):
        _allowed(True, OutputSpec("text"), Local())
    with pytest.raises(ConfigError, match="auto, true or false"):
        _allowed("sometimes", labels, Local())


def test_auto_says_when_a_closed_set_is_too_large_to_constrain(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from shipwise.cli import _allowed
    from shipwise.models.fake import FakeGenerator
    from shipwise.tasks.task import OutputSpec

    class Local(FakeGenerator):
        constrains = True

    tags = OutputSpec("json", fields={"tags": ["a", "b"]}, lists=["tags"])
    assert len(_allowed("auto", tags, Local())) == 3
    assert capsys.readouterr().err == ""
    wide = OutputSpec("json", fields={"tags": [f"t{i}" for i in range(20)]}, lists=["tags"])
    assert _allowed("auto", wide, Local()) == ()
    err = capsys.readouterr().err
    assert err.startswith("answers not constrained: cannot constrain decoding: list field tags")
    assert _allowed("auto", OutputSpec("json", fields={"note": None}), Local()) == ()
    assert capsys.readouterr().err == ""  # free values: nothing was declared to constrain to


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        (["task=policy_qa", "limit=3"], "prompt limit=3"),  # the experiment names the task
        (["task=policy_qa", "tracking.experiment=all"], "prompt task=policy_qa"),
        (["model.cache_dir=/srv/models", "++embedder.cache_dir=/srv/e", "seed=3"], "prompt seed=3"),
    ],
)
def test_a_run_is_named_by_the_overrides_that_change_its_results(
    overrides: list[str], name: str
) -> None:
    from hydra.core.hydra_config import HydraConfig

    from shipwise.cli import _run_name

    register_resolvers()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("config", overrides=["strategy=prompt", *overrides], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    assert _run_name(cfg) == name
