"""Any text as a task file, any values as a task config: a TaskSpec or a ConfigError."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from shipwise.errors import ConfigError
from shipwise.tasks.schema import KEYS, OUTPUT_KEYS, check_task_file
from shipwise.tasks.task import task_spec

SCALAR = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
KEY = st.sampled_from([*KEYS, "_target_", "defaults", "model", "labels"]) | st.text(max_size=8)
OUTPUT = st.fixed_dictionaries(
    {"kind": st.sampled_from(["label", "json", "text"]) | VALUE},
    optional={
        "labels": st.lists(st.sampled_from(["yes", "no"]) | SCALAR, max_size=3) | VALUE,
        "fields": st.dictionaries(st.text(max_size=5) | st.integers(), VALUE, max_size=3),
        **{k: VALUE for k in ("label", "_target_")},
    },
)
TASK = st.fixed_dictionaries(
    {
        "name": st.just("t") | VALUE,
        "data_dir": st.just("t") | VALUE,
        "metric": st.sampled_from(["exact_match", "label_accuracy", "field_accuracy"]) | VALUE,
        "system_prompt": st.text(max_size=10) | VALUE,
    },
    optional={"output": OUTPUT | VALUE, "max_new_tokens": VALUE, "stop": VALUE},
).flatmap(lambda base: st.dictionaries(KEY, VALUE, max_size=2).map(lambda x: {**base, **x}))
YAML_TEXT = st.one_of(
    st.text(max_size=200),
    TASK.map(lambda t: yaml.safe_dump(t, allow_unicode=True)),
    st.tuples(st.sampled_from(["", "# @package _global_\n", "# @package _group_\n"]), TASK).map(
        lambda p: p[0] + yaml.safe_dump(p[1])
    ),
)


@given(TASK)
def test_any_task_config_is_a_spec_or_a_config_error(values: dict[str, Any]) -> None:
    try:
        spec = task_spec(values)
    except ConfigError as exc:
        assert exc.where and exc.what
        return
    assert set(values) <= set(KEYS) and set(values.get("output") or {}) <= set(OUTPUT_KEYS)
    assert isinstance(spec.name, str) and isinstance(spec.max_new_tokens, int)
    assert all(isinstance(label, str) for label in spec.output.labels or [])


@given(YAML_TEXT)
def test_any_task_file_text_is_data_or_a_config_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "task.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            values = check_task_file(path)
        except ConfigError as exc:
            assert exc.where and exc.where.startswith(str(path))
            return
    assert isinstance(values, dict) and "_target_" not in str(values.keys())
    with contextlib.suppress(ConfigError):
        task_spec(values)
