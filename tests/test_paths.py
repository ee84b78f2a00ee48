from __future__ import annotations

from pathlib import Path

import pytest

from shipwise.errors import ConfigError, DataError
from shipwise.paths import check_name, inside, writable_folder


@pytest.mark.parametrize("name", ["support_triage", "banking77", "a", "A-1_b"])
def test_plain_names_pass(name: str) -> None:
    assert check_name(name, "task.name") == name


@pytest.mark.parametrize(
    "name",
    ["../../../escape", "/tmp/abs", "a/b", "..", ".hidden", "a b", "", "x" * 129, "a.b", "é"],
)
def test_names_that_are_not_one_plain_folder_are_refused(name: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_name(name, "task.name")
    assert err.value.where == "task.name" and err.value.fix


def test_inside_resolves_below_the_root_and_refuses_what_leaves_it(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    assert inside(root, "a/b.json", "a cache entry") == (root / "a" / "b.json").resolve()
    for escaping in ("../x", "/etc/passwd", "a/../../x"):
        with pytest.raises(ConfigError, match="outside"):
            inside(root, escaping, "a cache entry")
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(DataError, match="a document resolves to"):
        inside(root, "link/elsewhere", "a document", data=True)


def test_writable_folder_creates_it_or_says_why_not(tmp_path: Path) -> None:
    assert writable_folder(tmp_path / "new" / "root", "paths.root").is_dir()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="is a file") as err:
        writable_folder(blocker / "below", "paths.root")
    assert err.value.where == "paths.root"
    with pytest.raises(ConfigError, match="cannot write in /proc/shipwise"):
        writable_folder("/proc/shipwise", "paths.root")
