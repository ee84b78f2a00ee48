from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shipwise.data_cli import main
from tests.tasks.test_importers_squad import tiny_squad, write_squad


def run_import(source: Path, tmp_path: Path, *extra: str) -> int:
    args = ["import", "squad", str(source), "--name", "tiny"]
    args += ["--out", str(tmp_path / "data"), "--conf-dir", str(tmp_path / "conf"), *extra]
    return main(args)


def test_import_prints_the_summary_and_the_next_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_squad(tmp_path / "tiny.json")
    assert run_import(source, tmp_path, "--seed", "1", "--test-fraction", "0.4") == 0
    out = capsys.readouterr().out
    assert "train 6, val 1, test 4" in out and "5 paragraphs" in out
    assert "skipped      1 questions without a gold answer" in out
    # tmp_path/conf is not shipwise's own conf/, so the command has to point at it.
    assert f"shipwise --config-dir {(tmp_path / 'conf').resolve()} " in out
    assert out.rstrip().endswith("task=tiny strategy=prompt limit=20")
    spec = yaml.safe_load((tmp_path / "conf" / "task" / "tiny.yaml").read_text())
    assert spec["name"] == "tiny"
    assert spec["data_dir"] == str((tmp_path / "data" / "tiny").resolve())


def test_defaults_write_under_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_squad(tmp_path / "tiny.json")
    monkeypatch.chdir(tmp_path)
    assert main(["import", "squad", "tiny.json", "--name", "tiny"]) == 0
    assert (tmp_path / "data" / "tiny" / "test.jsonl").is_file()
    assert (tmp_path / "conf" / "task" / "tiny.yaml").is_file()
    assert source.is_file()


def test_refusal_without_force_exits_2_with_a_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_squad(tmp_path / "tiny.json")
    assert run_import(source, tmp_path) == 0
    capsys.readouterr()
    assert run_import(source, tmp_path) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("shipwise-data: error: ")
    assert "already exists" in captured.err and "--force" in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert run_import(source, tmp_path, "--force") == 0


def test_a_malformed_file_exits_2_naming_the_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tiny_squad()
    del data["data"][0]["paragraphs"][1]["context"]
    source = write_squad(tmp_path / "bad.json", data)
    assert run_import(source, tmp_path) == 2
    err = capsys.readouterr().err
    assert f"{source}: data[0].paragraphs[1]: a paragraph needs" in err
    assert "Traceback" not in err
    assert not (tmp_path / "data" / "tiny").exists()


def test_a_bad_setting_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_squad(tmp_path / "tiny.json")
    assert run_import(source, tmp_path, "--val-fraction", "0.6") == 2
    assert "leaves no train split" in capsys.readouterr().err


def test_help_does_not_import_the_importers() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from shipwise.data_cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):\n"
        "    main(['import', 'squad', '--help'])\n"
        "assert '--questions' in out.getvalue()\n"
        "print(sorted(m for m in sys.modules if m.startswith('shipwise.tasks')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
