"""A user's project folder: its conf/ found from where a command runs; settings for every arm."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipwise.arm_settings import applies, apply_arm_settings
from shipwise.config import compose, config_dir
from shipwise.data_cli import main as data_main
from shipwise.decide_cli import main as decide_main
from shipwise.errors import ConfigError
from shipwise.project import check_task_found, chosen_tasks, config_dirs, project_conf
from tests.tasks.test_importers_tabular import labelled_csv


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder where an import has run, as the current directory."""
    monkeypatch.chdir(tmp_path)
    source = labelled_csv(tmp_path / "rows.csv", {"billing": 80, "delivery": 40, "refund": 20})
    args = ["import", "table", str(source), "--name", "mine", "--input-col", "text"]
    assert data_main([*args, "--output-col", "label"]) == 0
    return tmp_path


def test_the_folders_conf_joins_the_search_path(project: Path) -> None:
    assert project_conf() == (project / "conf").resolve()
    assert config_dirs() == [config_dir().resolve(), (project / "conf").resolve()]
    plain = compose(["task=mine"])
    assert plain["task"]["name"] == "mine"
    assert plain["task"]["data_dir"] == str((project / "data" / "mine").resolve())


def test_the_checkout_itself_is_not_a_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(config_dir().parent)
    assert project_conf() is None


def test_a_task_not_found_names_the_places_looked_and_the_fix(project: Path) -> None:
    with pytest.raises(ConfigError) as missing:
        check_task_found("theirs", config_dirs())
    assert str(project / "conf" / "task") in missing.value.what
    assert "mine" in missing.value.what and "--config-dir" in (missing.value.fix or "")
    assert chosen_tasks(["task=a,b", "limit=2"]) == ["a", "b"]


def test_decide_and_validate_find_the_task_and_refuse_an_unknown_one(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert decide_main(["task=theirs"]) == 2
    err = capsys.readouterr().err
    assert "no task named 'theirs'" in err and str(project / "conf" / "task") in err
    assert data_main(["validate", "theirs"]) == 2
    assert "no task named 'theirs'" in capsys.readouterr().err
    assert data_main(["validate", "mine", "model=fake"]) in (0, 1)  # found: its data checked


def test_an_import_refuses_the_name_of_a_shipped_task(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = str(project / "rows.csv")
    args = ["import", "table", source, "--name", "policy_qa", "--input-col", "text"]
    assert data_main([*args, "--output-col", "label"]) == 2
    assert "ships a task named 'policy_qa'" in capsys.readouterr().err


def test_arm_settings_reach_only_the_arms_that_have_the_part() -> None:
    sweep = ["arms.backend.train_size=300", "arms.retrieval.top_k=4"]
    tuned = compose(["strategy=finetune", *sweep])
    assert tuned["strategy"]["backend"]["train_size"] == 300 and "arms" not in tuned
    prompt = compose(["strategy=prompt", *sweep])
    assert "backend" not in prompt["strategy"] and "retrieval" not in prompt["strategy"]
    rag = compose(["strategy=rag", *sweep])
    assert rag["strategy"]["retrieval"]["top_k"] == 4
    # one arm's own value still wins when arms.* leaves the key unset
    own = compose(["strategy=finetune", "strategy.backend.epochs=1", *sweep])
    assert own["strategy"]["backend"]["epochs"] == 1
    with pytest.raises(ConfigError):
        compose(["arms.backend.trainsize=3"])  # a typo is Hydra's error, as for any key


def test_applied_arm_settings_name_only_their_runs() -> None:
    config = {"arms": {"backend": {"rank": 4, "epochs": None}}, "strategy": {"backend": {}}}
    assert apply_arm_settings(config) == []  # the chosen backend has no such key
    config = {"arms": {"backend": {"rank": 4}}, "strategy": {"backend": {"rank": 16}}}
    assert apply_arm_settings(config) == ["arms.backend.rank"] and "arms" not in config
    assert config["strategy"]["backend"]["rank"] == 4
    assert applies("arms.backend.rank=4", ["arms.backend.rank"])
    assert not applies("arms.retrieval.top_k=4", ["arms.backend.rank"])
    assert applies("limit=2", [])
