"""The red-team corpus: malformed inputs and faults, each with the outcome it must have.

A case is an input to ``shipwise`` or ``shipwise-data`` and what must happen: a clear error
(exit 2, the message names what and where, a ``fix:`` line, no traceback) or a documented
behaviour (its exit code and the line that says what happened). ``tests/test_redteam_cli.py``
and ``tests/test_redteam_data.py`` run them; the counts in a report come from here.

Arguments may hold ``{lab}`` (the case's own folder: a tiny label task ``fruit`` lives in
``{lab}/data/fruit`` with its YAML in ``{lab}/conf/task``), ``{root}`` (``paths.root``) and
``{key}`` (a fake key, also in the case's environment as ``OPENAI_API_KEY``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

KEY = "sk-test-SECRET-123456"
ENV_SECRET = "tok-abcdefgh12345-env"  # the value of $MY_SERVICE_TOKEN in every case
FRUIT = [
    ("banana", "yellow"), ("cherry", "red"), ("lime", "green"), ("plum", "purple"),
    ("lemon", "yellow"), ("strawberry", "red"), ("kiwi", "green"), ("grape", "purple"),
    ("apple", "red"), ("pear", "green"), ("blueberry", "purple"), ("mango", "yellow"),
]  # fmt: skip
TASK_YAML = """name: fruit
data_dir: {lab}/data/fruit
metric: label_accuracy
system_prompt: Name the colour of the fruit in one word.
max_new_tokens: 4
output:
  kind: label
  labels: [yellow, red, green, purple]
"""


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    exit: int = 2
    says: str = ""  # a fragment of the message (stderr for runs, stdout or stderr for data)
    files: Mapping[str, str | bytes] = field(default_factory=dict)  # written into {lab}
    behaviour: bool = False  # a documented outcome rather than an error

    @property
    def kind(self) -> str:
        return "behaviour" if self.behaviour else "clear error"


def record(question: str, answer: str, id_: str) -> str:
    messages = [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return json.dumps({"id": id_, "messages": messages})


QUESTIONS = ("What colour is a {}?", "Which colour does a ripe {} have?", "A {} is what colour?")


def split_of(template: str, rows: list[tuple[str, str]], prefix: str) -> str:
    return "".join(record(template.format(f), c, f"{prefix}-{i}") + "\n"
                   for i, (f, c) in enumerate(rows))  # fmt: skip


def write_lab(lab: Path, files: Mapping[str, str | bytes]) -> None:
    """The fruit task (12, 10 and 12 examples: as small as validate lets a task be), then
    the case's own files over it (``{lab}`` filled in)."""
    base: dict[str, str | bytes] = {
        "data/fruit/train.jsonl": split_of(QUESTIONS[0], FRUIT, "t"),
        "data/fruit/val.jsonl": split_of(QUESTIONS[1], FRUIT[:10], "v"),
        "data/fruit/test.jsonl": split_of(QUESTIONS[2], FRUIT, "x"),
        "conf/task/fruit.yaml": TASK_YAML,
    }
    for relative, content in {**base, **files}.items():
        path = lab / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.replace("{lab}", str(lab)), encoding="utf-8")


def fill(args: tuple[str, ...], lab: Path, root: Path) -> list[str]:
    return [a.format(lab=lab, root=root, key=KEY) for a in args]


# a JSON \ud800 escape (json.dumps writes a lone surrogate so), a \u0000 escape, a 1 MiB line
TEST = split_of(QUESTIONS[2], FRUIT, "x")
SURROGATE = TEST + record("What colour is a \ud800?", "red", "s") + "\n"
NUL = TEST + record("What colour\x00 is a fig?", "purple", "n") + "\n"
LONG = TEST + record("x" * (1024 * 1024 + 5), "red", "long") + "\n"
CONF = ("--config-dir", "{lab}/conf", "task=fruit")
