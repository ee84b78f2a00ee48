"""Style rules: what a task's style guide can state as a check, declared in the task YAML.

Each rule is one pass/fail check of a reply. ``output.style`` in a task YAML lists them::

    style:
      - {name: length, kind: words, min: 35, max: 120}
      - {name: sign_off, kind: ends_with, pattern: "Warm regards,\\nThe Kestrel Lane team"}
      - {name: no_cliches, kind: banned, phrases: [unfortunately, inconvenience]}
      - {name: order_number, kind: echo, pattern: "KL-\\d{6}"}

The evaluator reports every rule per example (``style.<name>``, 0 or 1), the share of rules a
reply passes (``style_pass``) and whether it passes them all (``style_all``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shipwise.errors import ConfigError
from shipwise.evaluation.text_metrics import reading_grade, words

RULE_KINDS = ("words", "starts_with", "ends_with", "required", "banned", "reading_grade", "echo")
_FIELDS = {"name", "kind", "description", "phrases", "pattern", "min", "max", "ignore_case"}
_NEEDS = {
    "words": "min or max",
    "starts_with": "pattern",
    "ends_with": "pattern",
    "required": "phrases or pattern",
    "banned": "phrases or pattern",
    "reading_grade": "max",
    "echo": "pattern",
}


@dataclass(frozen=True)
class StyleRule:
    """One check. ``pattern`` is a regular expression; ``phrases`` match case-insensitively
    on word boundaries. ``echo``: every match of ``pattern`` in the reference (its first
    group, if it has one) must also match in the reply, so a rule can ask for the facts a
    reference carries (an order number, the name it greets) without a second copy of them.
    """

    name: str
    kind: str
    description: str = ""
    phrases: Sequence[str] = ()
    pattern: str | None = None
    min: float | None = None
    max: float | None = None
    ignore_case: bool = False
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"task.output.style[{self.name}]"
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name or ""):
            raise ConfigError(
                f"style rule name {self.name!r} is not a lower-case identifier",
                where=where,
                fix="name rules like no_exclamation: they become metric names style.<name>",
            )
        if self.kind not in RULE_KINDS:
            raise ConfigError(
                f"unknown style rule kind {self.kind!r}",
                where=f"{where}.kind",
                fix=f"use one of {', '.join(RULE_KINDS)}",
            )
        given = {
            "min": self.min is not None,
            "max": self.max is not None,
            "pattern": self.pattern is not None,
            "phrases": bool(self.phrases),
        }
        if not any(given[option] for option in _NEEDS[self.kind].split(" or ")):
            raise ConfigError(
                f"a {self.kind} rule needs {_NEEDS[self.kind]}", where=where, fix="add it"
            )
        if self.pattern is not None:
            flags = re.IGNORECASE if self.ignore_case else 0
            try:
                compiled = re.compile(self.pattern, flags)
            except re.error as exc:
                raise ConfigError(
                    f"bad regular expression {self.pattern!r}: {exc}",
                    where=f"{where}.pattern",
                    fix="check the escaping (YAML single quotes keep backslashes as written)",
                ) from None
            object.__setattr__(self, "_regex", compiled)
        object.__setattr__(self, "phrases", tuple(self.phrases))

    @classmethod
    def coerce(cls, value: StyleRule | Mapping[str, Any]) -> StyleRule:
        """A rule from the task YAML (a mapping of its fields), or as given."""
        if isinstance(value, StyleRule):
            return value
        unknown = set(value) - _FIELDS
        if unknown or "name" not in value or "kind" not in value:
            raise ConfigError(
                f"style rule {dict(value)!r} has unknown keys or lacks name/kind",
                where="task.output.style",
                fix="give each rule name, kind and its options"
                " (phrases, pattern, min, max, ignore_case, description)",
            )
        return cls(**value)

    @property
    def regex(self) -> re.Pattern[str]:
        assert self._regex is not None, "rules without a pattern have no regex"
        return self._regex

    def check(self, reply: str, reference: str = "") -> bool:
        """Whether ``reply`` passes this rule (``reference`` is read by ``echo`` only)."""
        return _CHECKS[self.kind](self, reply.strip(), reference.strip())


def _within(rule: StyleRule, value: float) -> bool:
    low = rule.min if rule.min is not None else float("-inf")
    high = rule.max if rule.max is not None else float("inf")
    return low <= value <= high


def _phrase_hits(rule: StyleRule, reply: str) -> list[bool]:
    return [
        re.search(rf"(?<!\w){re.escape(p)}(?!\w)", reply, re.IGNORECASE) is not None
        for p in rule.phrases
    ]


def _ends(rule: StyleRule, reply: str) -> bool:
    # \Z, not $: "$" would also accept a match just before a final newline
    return re.search(rf"(?:{rule.regex.pattern})\Z", reply, rule.regex.flags) is not None


def _required(rule: StyleRule, reply: str) -> bool:
    found = all(_phrase_hits(rule, reply))
    return found and (rule.pattern is None or rule.regex.search(reply) is not None)


def _banned(rule: StyleRule, reply: str) -> bool:
    found = any(_phrase_hits(rule, reply))
    return not found and (rule.pattern is None or rule.regex.search(reply) is None)


def _echo(rule: StyleRule, reply: str, reference: str) -> bool:
    def found(text: str) -> set[str]:
        hits = (m.group(1) if m.groups() else m.group(0) for m in rule.regex.finditer(text))
        return {h.casefold() if rule.ignore_case else h for h in hits}

    return found(reference) <= found(reply)


_CHECKS: dict[str, Callable[[StyleRule, str, str], bool]] = {
    "words": lambda rule, reply, ref: _within(rule, len(words(reply))),
    "starts_with": lambda rule, reply, ref: rule.regex.match(reply) is not None,
    "ends_with": lambda rule, reply, ref: _ends(rule, reply),
    "required": lambda rule, reply, ref: _required(rule, reply),
    "banned": lambda rule, reply, ref: _banned(rule, reply),
    "reading_grade": lambda rule, reply, ref: _within(rule, reading_grade(reply)),
    "echo": _echo,
}


def style_scores(rules: Sequence[StyleRule], reply: str, reference: str = "") -> dict[str, float]:
    """``style.<rule>`` (0/1) for every rule, their mean ``style_pass``, and ``style_all``."""
    passed = {rule_metric(rule.name): float(rule.check(reply, reference)) for rule in rules}
    values = list(passed.values())
    passed["style_pass"] = sum(values) / len(values) if values else 1.0
    passed["style_all"] = float(all(values))
    return passed


def style_metric_names(rules: Sequence[StyleRule]) -> list[str]:
    return ["style_pass", "style_all", *(rule_metric(rule.name) for rule in rules)]


def rule_metric(name: str) -> str:
    """The per-example score of the rule called ``name``: ``style.<name>``."""
    return f"style.{name}"
