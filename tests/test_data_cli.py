from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shipwise.data_cli import main
from tests.conftest import SHARED_DATASETS
from tests.tasks.test_importers_squad import tiny_squad, write_squad
from tests.tasks.test_importers_tabular import SPLITS, labelled_csv, write_table


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
    assert f"shipwise --config-dir {(tmp_path / 'conf').resolve()} task=tiny " in out
    assert f"shipwise-data validate --config-dir {(tmp_path / 'conf').resolve()} tiny" in out
    assert out.rstrip().endswith("task=tiny")
    spec = yaml.safe_load((tmp_path / "conf" / "task" / "tiny.yaml").read_text())
    assert spec["name"] == "tiny"
    assert spec["data_dir"] == str((tmp_path / "data" / "tiny").resolve())


def test_defaults_write_under_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_squad(tmp_path / "tiny.json")
    monkeypatch.chdir(tmp_path)
    assert main(["import", "squad", "tiny.json", "--name", "tiny"]) == 0
    # ./conf is searched from here: the next commands need no flag
    assert "\n  shipwise task=tiny strategy=prompt limit=20" in capsys.readouterr().out
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


# --- import table ----------------------------------------------------------------------------


def run_table(source: Path, tmp_path: Path, *extra: str, name: str = "rows") -> int:
    args = ["import", "table", str(source), "--name", name, "--input-col", "text"]
    args += ["--output-col", "label", "--out", str(tmp_path / "data")]
    return main([*args, "--conf-dir", str(tmp_path / "conf"), *extra])


def snapshot(tmp_path: Path, name: str = "rows") -> dict[str, bytes]:
    files = [*(tmp_path / "data" / name).iterdir(), tmp_path / "conf" / "task" / f"{name}.yaml"]
    return {p.name: p.read_bytes() for p in files}


def test_table_import_is_byte_identical_for_a_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = labelled_csv(tmp_path / "rows.csv")
    # --force from the start: the datasheet records the exact command, so it must not change.
    assert run_table(source, tmp_path, "--seed", "7", "--sample", "train=30", "--force") == 0
    out = capsys.readouterr().out
    assert "Imported task 'rows' (label, 3 labels)" in out
    assert "rows         train 30, val 6, test 12" in out
    assert "task=rows strategy=prompt limit=20\n" in out
    first = snapshot(tmp_path)
    assert sorted(first) == ["README.md", "rows.yaml", "test.jsonl", "train.jsonl", "val.jsonl"]
    assert "--sample train=30" in first["README.md"].decode()  # the exact command
    assert run_table(source, tmp_path, "--seed", "7", "--sample", "train=30", "--force") == 0
    assert snapshot(tmp_path) == first
    assert run_table(source, tmp_path, "--seed", "8", "--sample", "train=30", "--force") == 0
    assert snapshot(tmp_path)["test.jsonl"] != first["test.jsonl"]


def test_table_refusal_without_force_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = labelled_csv(tmp_path / "rows.csv")
    assert run_table(source, tmp_path) == 0
    before = snapshot(tmp_path)
    capsys.readouterr()
    assert run_table(source, tmp_path, "--seed", "1") == 2
    err = capsys.readouterr().err
    assert err.startswith("shipwise-data: error: ") and "already exists" in err
    assert "--force" in err and "Traceback" not in err
    assert snapshot(tmp_path) == before
    assert run_table(source, tmp_path, "--seed", "1", "--force") == 0
    assert snapshot(tmp_path) != before


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Each bad input, and what its error must say."""
    csv_ = tmp_path / "bad.csv"
    jsonl = tmp_path / "bad.jsonl"
    cases: dict[str, tuple[str | bytes, Path, str]] = {
        "missing column": (
            "body,label\nhi,a\n",
            csv_,
            f"{csv_}:1: no column 'text'; the columns are 'body', 'label'",
        ),
        "empty input cell": (
            "text,label\nhi,a\n  ,b\n",
            csv_,
            f"{csv_}:3: empty cell in column 'text'",
        ),
        "empty output cell": (
            "text,label\nhi,a\n\nho,\n",
            csv_,
            f"{csv_}:4: empty cell in column 'label'",
        ),
        "too many cells": (
            "text,label\nhi,a\nhi, there,b\n",
            csv_,
            f"{csv_}:3: 3 cells, the header has 2",
        ),
        "not utf-8": (
            b"text,label\nhi,a\n\xff\xfe,b\n",
            csv_,
            f"{csv_}:3: bytes that are not UTF-8",
        ),
        "header only": ("text,label\n", csv_, f"{csv_}: the file has no rows"),
        "empty file": ("", csv_, f"{csv_}: the file is empty"),
        "malformed jsonl": (
            '{"text": "hi", "label": "a"}\n\n{"text": "ho", "label": }\n',
            jsonl,
            f"{jsonl}:3: invalid JSON at column",
        ),
        "jsonl missing key": (
            '{"text": "hi", "label": "a"}\n{"txt": "ho", "label": "b"}\n',
            jsonl,
            f"{jsonl}:2: no column 'text'; the columns are 'txt', 'label'",
        ),
        "jsonl not an object": ('["hi", "a"]\n', jsonl, f"{jsonl}:1: expected a JSON object"),
        "jsonl null": ('{"text": null, "label": "a"}\n', jsonl, f"{jsonl}:1: empty cell"),
    }
    written = {}
    for case, (content, path, message) in cases.items():
        target = path.with_name(f"{case.replace(' ', '_')}{path.suffix}")
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
        written[case] = (target, message.replace(str(path), str(target)))
    return written


BAD_CASES = [
    "missing column", "empty input cell", "empty output cell", "too many cells", "not utf-8",
    "header only", "empty file", "malformed jsonl", "jsonl missing key", "jsonl not an object",
    "jsonl null",
]  # fmt: skip


@pytest.mark.parametrize("case", BAD_CASES)
def test_table_bad_rows_exit_2_naming_file_and_line(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, message = _bad_files(tmp_path)[case]
    assert run_table(source, tmp_path) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"shipwise-data: error: {message}"), captured.err
    assert "fix:" in captured.err or case in ("not utf-8",)
    assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "data" / "rows").exists()


@pytest.mark.parametrize(
    ("setup", "extra", "message"),
    [
        ("absent", (), "the file does not exist"),
        ("folder", (), "the file is a folder, not a file"),
        ("txt", (), "cannot tell the format of 'rows.txt'"),
        ("csv", ("--sample", "train=lots"), "--sample: cannot read 'train=lots'"),
        ("csv", ("--sample", "test=99"), "99 test rows asked for, the test split has 12"),
        ("csv", ("--input-col", "label"), "column 'label' is both an input and an output"),
        ("csv", ("--delimiter", ";;"), "not one character"),
        ("csv", ("--val-fraction", "0.5", "--test-fraction", "0.5"), "leaves no train split"),
        ("csv", ("--output-col", "text2", "--output-kind", "label"), "make a JSON object"),
    ],
)
def test_table_bad_files_and_settings_exit_2(
    setup: str, extra: tuple[str, ...], message: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    source = {
        "absent": tmp_path / "absent.csv",
        "folder": tmp_path / "folder.csv",
        "txt": tmp_path / "rows.txt",
        "csv": labelled_csv(tmp_path / "rows.csv"),
    }[setup]
    if setup == "folder":
        source.mkdir()
    if setup == "txt":
        labelled_csv(source)
    assert run_table(source, tmp_path, *extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("shipwise-data: error: ") and message in err, err
    assert "Traceback" not in err


def test_table_delimiter_overrides_the_extension(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "rows.txt"
    source.write_text("text|label\n" + "".join(f"row, {i}|{'ab'[i % 2]}\n" for i in range(10)))
    assert run_table(source, tmp_path, "--delimiter", "|") == 0
    spec = yaml.safe_load((tmp_path / "conf" / "task" / "rows.yaml").read_text())
    assert spec["output"]["labels"] == ["a", "b"]
    tsv = write_table(tmp_path / "tabs.txt", ["text", "label"], [(f"r {i}", "x") for i in range(9)])
    tsv.write_text(tsv.read_text().replace(",", "\t"))
    assert run_table(tsv, tmp_path, "--delimiter", "\\t", name="tabs") == 0


def test_table_help_does_not_import_the_importers() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from shipwise.data_cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):\n"
        "    main(['import', 'table', '--help'])\n"
        "assert '--input-col' in out.getvalue() and '--no-stratify' in out.getvalue()\n"
        "print(sorted(m for m in sys.modules if m.startswith('shipwise.tasks')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.dataset
def test_imports_banking77_validates_it_and_runs_it_with_the_fake_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model_cache: Path
) -> None:
    folder = SHARED_DATASETS / "banking77"
    if not (folder / "train.csv").is_file() or not (folder / "test.csv").is_file():
        pytest.skip(f"{folder} is absent")
    data, conf = tmp_path / "data", tmp_path / "conf"
    args = ["import", "table", str(folder / "train.csv"), "--test-file", str(folder / "test.csv")]
    args += ["--name", "banking77", "--input-col", "text", "--output-col", "category"]
    args += ["--sample", "train=1000,val=200,test=500", "--seed", "0"]
    assert main([*args, "--out", str(data), "--conf-dir", str(conf)]) == 0
    out = capsys.readouterr().out
    assert "rows         train 1,000, val 200, test 500" in out
    spec = yaml.safe_load((conf / "task" / "banking77.yaml").read_text())
    assert spec["output"]["kind"] == "label" and len(spec["output"]["labels"]) == 77
    assert spec["metric"] == "macro_f1"
    counts = {s: len((data / "banking77" / f"{s}.jsonl").read_text().splitlines()) for s in SPLITS}
    assert counts == {"train": 1000, "val": 200, "test": 500}
    train = (data / "banking77" / "train.jsonl").read_text().splitlines()
    assert len({json.loads(line)["messages"][1]["content"] for line in train}) == 77

    # The YAML lives outside shipwise's conf/: --config-dir adds it to Hydra's search path,
    # which is the command the import printed.
    assert f"shipwise --config-dir {conf.resolve()} task=banking77" in out
    # It validates with the real tokenizer: no errors (warnings, e.g. near-duplicates, may be).
    where = [f"paths.data={data}", f"paths.root={tmp_path}", f"model.cache_dir={model_cache}"]
    status = main(["validate", "banking77", "--config-dir", str(conf), "--json", *where])
    report = json.loads(capsys.readouterr().out)
    assert status in (0, 1) and report["counts"]["errors"] == 0, report["findings"][:5]
    assert report["stats"]["tokens"]["splits"]["test"]["examples"] == 500
    assert len(report["stats"]["balance"]["counts"]["label"]["train"]) == 77

    command = [sys.executable, "-m", "shipwise.cli", "--config-dir", str(conf.resolve())]
    command += ["task=banking77", "strategy=prompt", "limit=20", "model=fake", "embedder=hashing"]
    command += [f"paths.data={data}", f"paths.root={tmp_path}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "macro_f1" in done.stdout and "n=20" in done.stdout


def test_table_label_words_flag_writes_labels_as_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [(f"message {i} {lab}", lab) for lab in ("card_arrival", "top_up") for i in range(10)]
    source = tmp_path / "rows.csv"
    source.write_text("text,label\n" + "".join(f"{t},{lab}\n" for t, lab in rows))
    assert run_table(source, tmp_path, "--label-words") == 0
    spec = yaml.safe_load((tmp_path / "conf" / "task" / "rows.yaml").read_text())
    assert spec["output"]["labels"] == ["card arrival", "top up"]
    assert "card arrival, top up" in spec["system_prompt"]


def test_table_spans_col_imports_labelled_spans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = []
    for i in range(40):
        city = ("Oslo", "Lima", "Perth")[i % 3]
        text = f"Ticket {i} to {city}"
        start = text.index(city)
        rows.append({"text": text, "marks": [{"kind": "city", "at": [start, start + len(city)]}]})
    source = tmp_path / "marks.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    args = ["import", "table", str(source), "--name", "tickets", "--input-col", "text"]
    args += ["--spans-col", "marks", "--span-keys", "label=kind,start=at.0,end=at.1"]
    args += ["--out", str(tmp_path / "data"), "--conf-dir", str(tmp_path / "conf")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Imported task 'tickets' (JSON, fields city)" in out
    assert "spans        40 spans, 1 label; 0 of 40 rows mark none" in out
    first = json.loads((tmp_path / "data" / "tickets" / "train.jsonl").read_text().splitlines()[0])
    assert json.loads(first["messages"][1]["content"])["city"] in first["messages"][0]["content"]
    # a span key misnamed: exit 2 with the span quoted and the flag that fixes it
    args[args.index("label=kind,start=at.0,end=at.1")] = "label=kind,start=at.0,end=at.2"
    assert main([*args, "--force"]) == 2
    err = capsys.readouterr().err
    assert "no end key in span" in err and "--span-keys" in err and "Traceback" not in err
