"""Style rules: each kind passes what it should and fails what it should."""

from __future__ import annotations

import pytest

from shipwise.errors import ConfigError
from shipwise.evaluation.style import StyleRule, style_metric_names, style_scores

REPLY = (
    "Hi Priya,\n\nWe're sorry your kettle on order KL-304918 arrived with a cracked lid. We've"
    " sent a new one today.\n\nYou don't need to send the old one back.\n\nWarm regards,\n"
    "The Kestrel Lane team"
)


def rule(kind: str, **options: object) -> StyleRule:
    return StyleRule(name="r", kind=kind, **options)  # type: ignore[arg-type]


def test_word_bounds() -> None:
    assert rule("words", min=20, max=60).check(REPLY)
    assert not rule("words", max=10).check(REPLY)
    assert not rule("words", min=100).check(REPLY)


def test_opening_and_closing_patterns_anchor_at_the_ends() -> None:
    opening = rule("starts_with", pattern=r"Hi ([A-Z]\w*|there),\n\n")
    closing = rule("ends_with", pattern=r"\n\nWarm regards,\nThe Kestrel Lane team")
    assert opening.check(REPLY) and closing.check(REPLY)
    assert closing.check(REPLY + "\n")  # surrounding whitespace is not the reply's content
    assert not opening.check("Dear Priya,\n\n" + REPLY)
    assert not closing.check(REPLY + "\nPS: see you soon")
    assert not opening.check("Hi priya,\n\nthanks")  # a name is capitalised


def test_required_and_banned_phrases_match_whole_words_in_any_case() -> None:
    banned = rule("banned", phrases=["unfortunately", "as per"])
    assert banned.check(REPLY)
    assert not banned.check(REPLY.replace("We've sent", "Unfortunately we've sent"))
    assert banned.check("Pass the aspergillus test")  # "as per" only as words
    required = rule("required", phrases=["order KL", "cracked lid"])
    assert required.check(REPLY) and not required.check("Hi Priya, thanks.")


def test_banned_pattern_catches_punctuation_emoji_and_first_person() -> None:
    calm = rule("banned", pattern=r"[!\U0001F300-\U0001FAFF]|[A-Z]{5,}")
    assert calm.check(REPLY)
    assert not calm.check(REPLY.replace("today.", "today!"))
    assert not calm.check(REPLY + " 📦")
    assert not calm.check(REPLY.replace("sorry", "SORRY"))
    we = rule("banned", pattern=r"(?<![\w'])(I|I'm|me|my)(?![\w'])")
    assert we.check(REPLY) and not we.check(REPLY.replace("We've sent", "I've sent and I"))


def test_echo_asks_for_the_references_facts_in_the_same_form() -> None:
    order = rule("echo", pattern=r"KL-\d{6}")
    assert order.check(REPLY, reference="... order KL-304918 ...")
    assert not order.check(REPLY.replace("KL-304918", "your order"), reference="KL-304918")
    assert not order.check(REPLY, reference="KL-111111 and KL-304918")
    assert order.check("no number", reference="no number either")  # nothing to echo
    name = rule("echo", pattern=r"\AHi ([^,\n]+),")
    assert name.check(REPLY, reference="Hi Priya,\n\n...")
    assert not name.check(REPLY, reference="Hi there,\n\n...")  # the customer left no name
    assert not name.check(REPLY.replace("Hi Priya", "Hi Tom"), reference="Hi Priya,")


def test_reading_grade_bound() -> None:
    assert rule("reading_grade", max=9).check(REPLY)
    dense = "Notwithstanding organisational considerations, comprehensive reimbursement " * 3
    assert not rule("reading_grade", max=9).check(dense)


def test_scores_per_rule_and_their_pass_rate() -> None:
    rules = [
        StyleRule("short", "words", max=10),
        StyleRule("sign_off", "ends_with", pattern="The Kestrel Lane team"),
        StyleRule("no_exclamation", "banned", pattern="!"),
        StyleRule("names_order", "echo", pattern=r"KL-\d{6}"),
    ]
    scores = style_scores(rules, REPLY, reference="KL-304918")
    assert scores["style.short"] == 0.0 and scores["style.sign_off"] == 1.0
    assert scores["style_pass"] == pytest.approx(0.75) and scores["style_all"] == 0.0
    assert style_metric_names(rules)[:2] == ["style_pass", "style_all"]
    assert set(style_metric_names(rules)) == set(scores)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"name": "x", "kind": "shout"}, "unknown style rule kind"),
        ({"name": "x", "kind": "words"}, "needs min or max"),
        ({"name": "x", "kind": "echo", "phrases": ["a"]}, "needs pattern"),
        ({"name": "x", "kind": "banned", "pattern": "(unclosed"}, "bad regular expression"),
        ({"name": "Bad Name", "kind": "words", "max": 3}, "lower-case identifier"),
        ({"name": "x", "kind": "words", "maximum": 3}, "unknown keys"),
        ({"kind": "words", "max": 3}, "lacks name/kind"),
    ],
)
def test_bad_rules_are_config_errors_naming_the_rule(
    value: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        StyleRule.coerce(value)
    assert "task.output.style" in str(err.value)
