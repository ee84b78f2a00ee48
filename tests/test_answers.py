"""What an arm answers: counted as the metrics compare answers, shown as they were written."""

from __future__ import annotations

from shipwise.answers import distribution, shown


def test_answers_are_counted_by_their_canonical_form_and_shown_as_written() -> None:
    answers = ["terminate_account", "terminate_account", "Terminate_Account", "card_arrival"]
    top = distribution(answers)
    # "Terminate_Account" is the same answer to the metrics: one entry, its commonest spelling
    assert [(s.answer, s.share) for s in top] == [
        ("terminate_account", 0.75),
        ("card_arrival", 0.25),
    ]


def test_json_answers_count_as_one_whatever_their_key_order() -> None:
    top = distribution(['{"a": 1, "b": null}', '{"b": null, "a": 1}', '{"a": 2, "b": null}'])
    assert [round(s.share, 2) for s in top] == [0.67, 0.33]
    assert shown(top[0].answer) == '{"a": 1}'  # null fields left out when shown
    assert shown('{"a": null}') == "{}" and shown("plain text") == "plain text"
    assert distribution([]) == []
