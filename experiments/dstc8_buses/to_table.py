"""The DSTC8 bus-booking turns as a table with a JSON slots column, as a user would prepare it.

Usage:
    python experiments/dstc8_buses/to_table.py --source ../shared/datasets/dstc8_buses \
        --out buses.jsonl

One JSONL row a user turn: ``text``, ``slots`` (a JSON object of the slots the turn gives,
each the span of the text its label marks; a turn without labels gives ``{}``, so every slot is
null), ``requested`` (the slots the system had just asked for, kept as metadata), ``split``
(train or test, the files' own split) and ``turn_id``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def row(turn: dict[str, Any], split: str) -> dict[str, Any]:
    text = turn["userInput"]["text"]
    slots = {}
    for label in turn.get("labels", []):
        span = label["valueSpan"]
        slots[label["slot"]] = text[span.get("startIndex", 0) : span["endIndex"]]
    requested = (turn.get("context") or {}).get("requestedSlots") or []
    return {
        "text": text,
        "slots": slots,
        "requested": ", ".join(requested),
        "split": split,
        "turn_id": turn["id"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = []
    for split in ("train", "test"):
        turns = json.loads((args.source / f"{split}.json").read_text(encoding="utf-8"))
        rows += [row(turn, split) for turn in turns]
    with args.out.open("w", encoding="utf-8", newline="\n") as handle:
        for record in rows:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{len(rows):,} turns -> {args.out}")


if __name__ == "__main__":
    main()
