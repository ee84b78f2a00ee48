"""Task YAML is data: checked for keys and types, and never able to run code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from shipwise.errors import ConfigError
from shipwise.tasks.schema import check_task_file
from shipwise.tasks.task import task_spec
from tests.conftest import REPO

BASE: dict[str, Any] = {
    "name": "tiny",
    "data_dir": "tiny",
    "metric": "label_accuracy",
    "system_prompt": "Answer yes or no.",
    "output": {"kind": "label", "labels": ["yes", "no"]},
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "task" / "t.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["support_triage", "policy_qa"])
def test_the_shipped_task_files_pass(name: str) -> None:
    values = check_task_file(REPO / "conf" / "task" / f"{name}.yaml")
    assert task_spec(values).name == name


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        (
            "# @package _global_\nname: x\nmodel:\n  extra:\n    _target_: shutil.copyfile\n",
            "cannot carry a package directive (@package _global_)",
            1,
        ),
        ("name: x\n# @package hydra\n", "package directive (@package hydra)", 2),
        ("name: x\noutput:\n  _target_: os.system\n", "task.output._target_", None),
        ("name: x\nstop: [{_args_: [1]}]\n", "task.stop[0]._args_", None),
        ("defaults:\n  - /model: openai\nname: x\n", "cannot hold defaults", None),
        ("name: bad\ndata_dir: x\n  metric: x: y\n", "not valid YAML", 3),
        ("- a\n- b\n", "must be a mapping of keys, not list", None),
        ("", "must be a mapping of keys, not NoneType", None),
    ],
)
def test_task_files_that_are_not_plain_data_are_refused(
    tmp_path: Path, text: str, message: str, line: int | None
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        check_task_file(path)
    assert message in err.value.what
    assert err.value.where == (f"{path}:{line}" if line else str(path))
    assert err.value.fix


def test_harmless_package_headers_pass(tmp_path: Path) -> None:
    for header in ("_group_", "task"):
        path = write(tmp_path, f"# @package {header}\n" + yaml.safe_dump(BASE))
        assert check_task_file(path)["name"] == "tiny"


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        ({"output": {"kind": "label", "labels": [True, False]}}, "task.output.labels", "boolean"),
        ({"output": {"kind": "label", "labels": [1, 2, 3]}}, "task.output.labels", "number"),
        ({"output": {"kind": "label", "labels": ["a", ""]}}, "task.output.labels", "empty"),
        ({"output": {"kind": "label", "labels": "a,b"}}, "task.output.labels", "must be a list"),
        (
            {"output": {"kind": "json", "fields": {"c": [True]}}, "metric": "field_accuracy"},
            "task.output.fields.c",
            "boolean",
        ),
        ({"output": {"kind": "json", "fields": ["c"]}}, "task.output.fields", "must map"),
        ({"output": {"kind": "label", "labels": ["a"], "label": ["b"]}}, "task.output.label", ""),
        ({"output": {"kind": "regression"}}, "task.output.kind", "unknown output kind"),
        ({"temprature": 0.5}, "task.temprature", "unknown key 'temprature' in task"),
        ({"name": None}, "task.name", "has no name"),
        ({"name": True}, "task.name", "boolean"),
        ({"max_new_tokens": "32"}, "task.max_new_tokens", "whole number"),
        ({"max_new_tokens": 0}, "task.max_new_tokens", "whole number"),
        ({"stop": [1]}, "task.stop", "number"),
        ({"metric": "field_accuracy"}, "task.metric", "not available for label outputs"),
        ({"regression_metric": "label_accuracy"}, "task.regression_metric", "text outputs"),
        ({"model": {"_target_": "os.system"}}, "task", "_target_"),
    ],
)
def test_a_task_config_with_a_wrong_key_or_type_is_named(
    change: dict[str, Any], where: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        task_spec({**BASE, **change})
    assert err.value.where == where
    assert message in err.value.what


def test_a_valid_task_config_becomes_its_spec() -> None:
    spec = task_spec({**BASE, "stop": ["\n"], "max_new_tokens": 8})
    assert spec.output.labels == ["yes", "no"] and spec.stop == ("\n",)
    assert spec.max_new_tokens == 8 and spec.metric == "label_accuracy"
