"""Prompt rendering, shared by every arm: instruction, demonstrations, passages, the example."""

from __future__ import annotations

import pytest

from shipwise.errors import ConfigError
from shipwise.strategies.base import check_arm, render_chat
from shipwise.tasks.example import Example, Message


def test_render_puts_system_demos_then_question() -> None:
    demo = Example("d", (Message("user", "q1"),), "a1")
    example = Example("e", (Message("user", "q2"),), "secret")
    messages = render_chat("sys", example, [demo])
    assert [(m.role, m.content) for m in messages] == [
        ("system", "sys"),
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
    ]
    assert all("secret" not in m.content for m in messages)  # the reference never leaks


def test_a_record_with_its_own_system_message_keeps_it() -> None:
    example = Example("e", (Message("system", "own"), Message("user", "q")), "a")
    messages = render_chat("task prompt", example)
    assert messages[0] == Message("system", "own")
    assert len(messages) == 2


def test_context_goes_next_to_the_question_or_into_the_system_message() -> None:
    demo = Example("d", (Message("user", "q1"),), "a1")
    example = Example("e", (Message("user", "q2"),), "a2")
    near = render_chat("sys", example, [demo], context="CTX", context_in="user")
    assert near[0] == Message("system", "sys")
    assert near[-1] == Message("user", "CTX\n\nQuestion: q2")
    assert near[1] == Message("user", "q1")  # demonstrations stay as they were
    apart = render_chat("sys", example, [demo], context="CTX", context_in="system")
    assert apart[0] == Message("system", "sys\n\nCTX") and apart[-1] == Message("user", "q2")


def test_an_arm_asked_without_the_instruction_sends_an_empty_system_message() -> None:
    example = Example("e", (Message("user", "q"),), "a")
    assert render_chat("", example, empty_system=True)[0] == Message("system", "")
    assert render_chat("", example)[0] == Message("user", "q")


@pytest.mark.parametrize(
    ("name", "kind", "simplicity", "where"),
    [("", "prompt", 1, "strategy.name"), ("a", " ", 1, "strategy.kind"),
     ("a", "b", -1, "strategy.simplicity"), ("a", "b", True, "strategy.simplicity")],
)  # fmt: skip
def test_an_arm_must_say_what_it_is(name: str, kind: str, simplicity: int, where: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_arm(name, kind, simplicity)
    assert err.value.where == where
