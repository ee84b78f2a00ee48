"""Build the reply_style splits from the hand-written parts in parts.py and handwritten.py.

Usage (from the repository root; rewrites data/reply_style/*.jsonl byte for byte):
    python data/reply_style/build.py            # write the splits
    python data/reply_style/build.py --check    # fail if the committed files differ

Train, val and test compose one customer message from a frame of its scenario (with an
optional opener and sign-off) and its reply from the scenario's acknowledgement, action and
next-step sentences, filled with the facts of that message. The last frame of every scenario
and the third variant of every reply sentence appear only in test, so test holds wording no
arm has seen. Redteam and regression are written out in full in handwritten.py. Seeded: the
same parts always give the same files.
"""

from __future__ import annotations

import json
import random
import re
import string
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import handwritten  # noqa: E402
import parts  # noqa: E402

SEED = 21
SIZES = {"train": 200, "val": 50, "test": 100}
NAMED = 0.7  # share of messages signed with a first name
# Word Jaccard at or above which a new message is too close to an accepted one: in another
# split (no test message is a reworded train message) and in the same split (no near-copies).
NEAR_ACROSS = 0.6
NEAR_WITHIN = 0.65
SIGN_OFF = "Warm regards,\nThe Kestrel Lane team"
DERIVED = {"order_phrase", "Order_phrase", "item_or_parcel", "colour_or_size", "days_or_that"}


def slots(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def with_articles(text: str) -> str:
    # "a {item}" before a vowel-initial product name reads "an Aldercrest ..."
    return text.replace("a {item}", "{a_item}").replace("A {item}", "{A_item}")


def facts(rng: random.Random, kind: str) -> dict[str, str]:
    if kind == "partful":
        item = rng.choice(sorted(parts.PARTS))
    elif kind == "hard":  # things that crack, dent and smash (not clothing)
        item = rng.choice([i for k, group in parts.ITEMS.items() if k != "clothing" for i in group])
    elif kind in parts.ITEMS:
        item = rng.choice(parts.ITEMS[kind])
    else:
        item = rng.choice([i for group in parts.ITEMS.values() for i in group])
    article = "an" if item[0] in "AEIOU" else "a"
    return {
        "name": rng.choice(parts.NAMES),
        "order": f"KL-{rng.randint(100000, 999999)}",
        "item": item,
        "a_item": f"{article} {item}",
        "A_item": f"{article.capitalize()} {item}",
        "part": rng.choice(parts.PARTS.get(item, ["the instructions"])),
        "date": rng.choice(parts.DATES),
        "weekday": rng.choice(parts.WEEKDAYS),
        "days": str(rng.choice([6, 8, 9, 11, 12, 15, 18, 21, 24])),
        "amount": f"{rng.choice(parts.CURRENCY)}{rng.randint(12, 240)}.{rng.choice(['00', '50', '99', '49', '95'])}",
        "address": rng.choice(parts.STREETS),
        "town": rng.choice(parts.TOWNS),
        "size": rng.choice(parts.SIZES),
        "colour": rng.choice(parts.COLOURS),
    }


def derived(values: dict[str, str], given: set[str]) -> dict[str, str]:
    out = dict(values)
    has_order = "order" in given
    out["order_phrase"] = f"order {values['order']}" if has_order else "your order"
    out["Order_phrase"] = f"Order {values['order']}" if has_order else "Your order"
    out["item_or_parcel"] = values["item"] if "item" in given else "parcel"
    out["colour_or_size"] = values["colour"] if "colour" in given else f"size {values['size']}"
    out["days_or_that"] = f"{values['days']} days" if "days" in given else "that"
    return out


def fits(sentence: str, given: set[str]) -> bool:
    needed = slots(with_articles(sentence)) - DERIVED - {"a_item", "A_item"}
    if "a_item" in slots(with_articles(sentence)) or "A_item" in slots(with_articles(sentence)):
        needed.add("item")
    if "colour_or_size" in slots(sentence) and not given & {"colour", "size"}:
        return False
    return needed <= given


def compose(rng: random.Random, scenario: str, split: str) -> tuple[str, str, dict[str, Any]]:
    spec = parts.SCENARIOS[scenario]
    frames: list[str] = spec["frames"]  # type: ignore[assignment]
    frame = rng.choice(frames if split == "test" else frames[:-1])
    values = facts(rng, str(spec["kind"]))
    given = slots(frame)
    named = rng.random() < NAMED
    message = with_articles(frame).format(**values)
    if not re.match(r"(hi|hello|hey)\b", message, re.IGNORECASE):
        opener = rng.choice(parts.OPENERS)
        if opener or rng.random() < 0.5:
            message = message[0].upper() + message[1:]
        message = opener + message
    if named:
        message += rng.choice(parts.SIGNATURES).format(**values)
    fill = derived(values, given)
    body = []
    for key in ("ack", "act", "next"):
        pool: list[str] = spec[key]  # type: ignore[assignment]
        pool = pool if split == "test" else pool[:-1]
        choices = [s for s in pool if fits(s, given)]
        if not choices:
            raise SystemExit(f"{scenario}: no {key} sentence fits frame {frame!r}")
        body.append(with_articles(rng.choice(choices)).format(**fill))
    greeting = f"Hi {values['name']}," if named else "Hi there,"
    reply = f"{greeting}\n\n{body[0]} {body[1]}\n\n{body[2]}\n\n{SIGN_OFF}"
    return message, reply, {"scenario": scenario, "named": named}


def weight(scenario: str) -> int:
    return 1 if parts.SCENARIOS[scenario]["kind"] == "none" else 2


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def record(id_: str, message: str, reply: str, metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": id_,
        "messages": [
            {"role": "user", "content": message},
            {"role": "assistant", "content": reply},
        ],
        "metadata": metadata,
    }


def composed_splits() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    rng = random.Random(SEED)
    earlier: list[set[str]] = []  # messages of the splits already built
    # Account requests name no order or item, so they have fewer distinct messages: half weight.
    scenarios = [s for s in sorted(parts.SCENARIOS) for _ in range(weight(s))]
    for split, size in SIZES.items():
        rows: list[dict[str, Any]] = []
        mine: list[set[str]] = []
        order = [scenarios[i % len(scenarios)] for i in range(size)]
        rng.shuffle(order)
        for scenario in order:
            for _ in range(200):
                message, reply, meta = compose(rng, scenario, split)
                bag = words(message)
                far = all(jaccard(bag, other) < NEAR_ACROSS for other in earlier)
                if far and all(jaccard(bag, other) < NEAR_WITHIN for other in mine):
                    break
            else:
                raise SystemExit(f"{scenario}: no message far enough from the others")
            mine.append(bag)
            rows.append(record(f"rs-{split}-{len(rows) + 1:04d}", message, reply, meta))
        earlier += mine
        yield split, rows


def all_splits() -> dict[str, list[dict[str, Any]]]:
    splits = dict(composed_splits())
    splits["redteam"] = [
        record(f"rs-redteam-{i:04d}", message, reply, {"case": case})
        for i, (case, message, reply) in enumerate(handwritten.REDTEAM, start=1)
    ]
    splits["regression"] = [
        {
            "id": f"rs-regression-{i:04d}",
            "messages": [
                {"role": "system", "content": handwritten.REGRESSION_SYSTEM},
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer},
            ],
        }
        for i, (question, answer) in enumerate(handwritten.REGRESSION, start=1)
    ]
    return splits


def render(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main(argv: list[str]) -> int:
    stale = []
    for split, rows in all_splits().items():
        path = HERE / f"{split}.jsonl"
        text = render(rows)
        if "--check" in argv:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"{path.name}: {len(rows)} records")
    if stale:
        print(f"out of date: {', '.join(stale)} (run python data/reply_style/build.py)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
