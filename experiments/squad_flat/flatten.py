"""SQuAD v1.1 dev as one flat table, as a user's own data often arrives: one row a question.

Usage:
    python experiments/squad_flat/flatten.py \
        --source ../shared/datasets/squad_v1.1_dev/dev-v1.1.json \
        --out squad_flat.csv [--questions 1200] [--seed 0]

Columns: question, context (the paragraph), title (the article), answer (the first gold
answer), split (test for a seeded half of the articles, train for the rest: article-disjoint,
so no test question's paragraph is a training question's). ``shipwise-data import table`` then
turns context into documents, one per title (``--docs-col context --doc-id-col title``).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path
from typing import Any

HEADER = ["question", "context", "title", "answer", "split"]


def rows(data: dict[str, Any], questions: int | None, seed: int) -> list[list[str]]:
    """One row per answerable question; test: a seeded half of the articles."""
    rng = random.Random(seed)
    titles = sorted(article["title"] for article in data["data"])
    test = set(rng.sample(titles, len(titles) // 2))
    table = []
    for article in data["data"]:
        split = "test" if article["title"] in test else "train"
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                if qa["answers"]:
                    answer = qa["answers"][0]["text"].strip()
                    row = [qa["question"].strip(), paragraph["context"], article["title"]]
                    table.append([*row, answer, split])
    if questions is not None and questions < len(table):
        table = rng.sample(table, questions)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--questions", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = json.loads(args.source.read_text(encoding="utf-8"))
    table = rows(data, args.questions, args.seed)
    with args.out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(table)
    print(f"{len(table):,} questions -> {args.out}")


if __name__ == "__main__":
    main()
