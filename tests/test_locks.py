"""File locks and the cleanup of what killed runs leave behind, across real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shipwise.cache import JsonCache, atomic_write_text, staged_folder
from shipwise.locks import alive, exclusive, sweep_orphans


def dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(child.stdout)


def test_exclusive_makes_a_second_process_wait(tmp_path: Path) -> None:
    target = tmp_path / "index"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from shipwise.locks import exclusive\n"
            f"with exclusive(Path({str(target)!r}), 'work'):\n"
            "    print('held', flush=True); time.sleep(1.5)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    with exclusive(target, "work"):
        waited = time.monotonic() - started
    holder.wait(timeout=30)
    assert waited > 0.5  # it could not enter while the other process held the lock


def test_a_lock_held_by_a_killed_process_is_free(tmp_path: Path) -> None:
    target = tmp_path / "adapter"
    script = (
        "import os, signal; from pathlib import Path; from shipwise.locks import exclusive\n"
        f"with exclusive(Path({str(target)!r}), 'work'):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    assert subprocess.run([sys.executable, "-c", script]).returncode == -9
    started = time.monotonic()
    with exclusive(target, "work"):
        assert time.monotonic() - started < 5


def test_orphans_of_dead_processes_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    gone = dead_pid()
    assert not alive(gone) and alive(os.getpid())
    (tmp_path / f".staging-{gone}-abc").mkdir()
    (tmp_path / f".staging-{gone}-entry.json.x").write_text("{half")
    mine = tmp_path / f".staging-{os.getpid()}-busy"
    mine.mkdir()
    keep = tmp_path / "entry.json"
    keep.write_text("{}")
    assert sweep_orphans(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, keep.name])


def test_a_staged_folder_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "adapters" / "abc"
    with pytest.raises(RuntimeError), staged_folder(target) as staging:
        (staging / "weights").write_text("half")
        raise RuntimeError("killed mid-save")
    assert not target.exists() and list(target.parent.iterdir()) == []
    with staged_folder(target) as staging:
        (staging / "weights").write_text("whole")
    assert (target / "weights").read_text() == "whole"


def test_the_prediction_cache_sweeps_half_written_entries(tmp_path: Path) -> None:
    cache = JsonCache(tmp_path)
    cache.put("ab" * 32, {"text": "red"})
    folder = tmp_path / "ab"
    (folder / f".staging-{dead_pid()}-{'ab' * 32}.json.tmp").write_text('{"te')
    assert cache.sweep() == 1
    assert [p.name for p in folder.iterdir()] == [f"{'ab' * 32}.json"]
    assert cache.get("ab" * 32) == {"text": "red"}
    atomic_write_text(folder / "x.json", "{}")
    assert sorted(p.name for p in folder.iterdir()) == sorted([f"{'ab' * 32}.json", "x.json"])
