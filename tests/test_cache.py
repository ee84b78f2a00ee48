from __future__ import annotations

from pathlib import Path

from shipwise.cache import JsonCache, atomic_write_text, content_key


def test_keys_depend_on_every_part() -> None:
    assert content_key("m", [1, 2]) == content_key("m", [1, 2])
    assert content_key("m", [1, 2]) != content_key("m", [2, 1])
    assert content_key({"a": 1, "b": 2}) == content_key({"b": 2, "a": 1})


def test_round_trip_counts_hits_and_misses(tmp_path: Path) -> None:
    cache = JsonCache(tmp_path)
    key = content_key("x")
    assert cache.get(key) is None
    cache.put(key, {"text": "hi"})
    assert cache.get(key) == {"text": "hi"}
    assert (cache.hits, cache.misses) == (1, 1)


def test_a_corrupt_entry_reads_as_a_miss(tmp_path: Path) -> None:
    cache = JsonCache(tmp_path)
    key = content_key("y")
    cache.put(key, {"text": "hi"})
    path = next(tmp_path.rglob(f"{key}.json"))
    path.write_text('{"text": "h')  # a torn write from a tool that is not atomic
    assert cache.get(key) is None


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["file.json"]
