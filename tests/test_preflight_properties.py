"""Any command line, any config values through the preflight checks: pass or a ConfigError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shipwise.config import config_dir
from shipwise.errors import ConfigError
from shipwise.preflight import check_argv, check_config
from shipwise.scrub import scrub

KEY = "sk-test-SECRET-123456"
ARG = st.one_of(
    st.text(max_size=30),
    st.tuples(
        st.sampled_from(["limit", "+model.api_key", "model.api_key_env", "~seed", "a.b", ""]),
        st.sampled_from(["=", "=[", "='", "=1,2", "=choice(", "=${x}", ""]),
        st.text(max_size=12) | st.just(KEY),
    ).map("".join),
    st.sampled_from(["-m", "--cfg", "job", "--config-dir", "-cd", "hydra.searchpath=[x"]),
)
VALUE: Any = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=5,
)


@given(st.lists(ARG, max_size=5))
def test_any_command_line_passes_or_is_refused_with_a_config_error(argv: list[str]) -> None:
    try:
        check_argv(argv, config_dir())
    except ConfigError as exc:
        assert exc.where is not None and exc.fix
        assert scrub(exc.render()) == exc.render()  # the refusal never repeats a key
    else:
        assert not any(KEY in arg for arg in argv)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "seed": VALUE,
            "limit": VALUE,
            "eval_splits": VALUE,
            "generation": st.fixed_dictionaries(
                {}, optional={"temperature": VALUE, "top_p": VALUE, "stop": VALUE}
            )
            | VALUE,
        },
    )
)
def test_any_config_values_pass_or_are_a_config_error(values: dict[str, Any]) -> None:
    try:
        check_config(values)
    except ConfigError as exc:
        assert exc.where
        return
    assert type(values["seed"]) is int and values["seed"] >= 0
    assert values["eval_splits"] and all(isinstance(s, str) for s in values["eval_splits"])


def test_the_default_config_passes(tmp_path: Path) -> None:
    from shipwise.config import compose

    check_config(compose([f"paths.root={tmp_path}"]))
