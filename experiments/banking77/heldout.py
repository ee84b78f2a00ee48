"""A larger held-out set for Banking77: rows of train.csv that the study never samples.

Usage (after ``run.sh`` has imported the study's task):
    .venv/bin/python experiments/banking77/heldout.py [--per-label 13] [--seed 7]

``HELDOUT=1 bash experiments/banking77/run.sh`` runs this and then the study on the result.

The 200 val examples cannot rank recipes a couple of points apart, and test is for the recipe
chosen, once. This writes the task ``banking77_heldout``: its train and val splits are copies
of the study's, so a run with the same settings loads the same cached adapter, and its test
split is ``--per-label`` rows per intent drawn from the rest of train.csv. A held-out row is
not in the study's train, val or test sample, nor equal to a row there up to case, spacing and
punctuation; texts that carry two intents in train.csv are left out. Intents are written as
the study's task writes them (as words, when it was imported with ``--label-words``).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

import yaml

from shipwise.errors import DataError, ShipwiseError
from shipwise.tasks.importers.tabular import label_words
from shipwise.tasks.jsonl import read_chat_jsonl
from shipwise.validation.similarity import normalize

NAME = "banking77"
HELDOUT = f"{NAME}_heldout"
INPUT, OUTPUT = "text", "category"
STUDY_SPLITS = ("train", "val", "test")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source", type=Path, default=Path("../shared/datasets/banking77/train.csv")
    )
    parser.add_argument(
        "--study",
        type=Path,
        default=Path(".shipwise/experiments/banking77"),
        help="the folder run.sh imports into (data/ and conf/)",
    )
    parser.add_argument("--per-label", type=int, default=13, help="held-out rows per intent")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    try:
        counts = build(args.source, args.study, args.per_label, args.seed)
    except ShipwiseError as exc:
        print(f"heldout.py: {exc}", file=sys.stderr)
        return 2
    short = {label: n for label, n in counts.items() if n < args.per_label}
    print(
        f"{HELDOUT}: {sum(counts.values()):,} held-out rows ({args.per_label} per intent"
        + (f"; fewer for {len(short)} intents: {short}" if short else "")
        + f") in {args.study / 'data' / HELDOUT / 'test.jsonl'}"
    )
    return 0


def build(source: Path, study: Path, per_label: int, seed: int) -> dict[str, int]:
    """Write the held-out task under ``study``; returns the held-out rows per intent."""
    task_dir, yaml_path = study / "data" / NAME, study / "conf" / "task" / f"{NAME}.yaml"
    for path in (task_dir / "train.jsonl", yaml_path):
        if not path.is_file():
            raise DataError(
                "the study's task is not imported",
                where=str(path),
                fix="run `bash experiments/banking77/run.sh` first (or set HELDOUT=1 for it)",
            )
    used = {
        normalize(example.user_text)
        for split in STUDY_SPLITS
        for example in read_chat_jsonl(task_dir / f"{split}.jsonl", split=split)
    }
    spec = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
    rows = [(line, text, label, normalize(text)) for line, text, label in _rows(source)]
    labels = spec["output"]["labels"]
    written = {label: _written(label, labels) for label in {label for *_, label, _ in rows}}
    intents: dict[str, set[str]] = defaultdict(set)
    for *_, label, key in rows:
        intents[key].add(label)

    pool, seen = [], set()
    for line, text, label, key in rows:
        if key not in used and key not in seen:
            seen.add(key)
            pool.append((line, text, written[label], key))
    rng = random.Random(seed)
    rng.shuffle(pool)
    by_label: dict[str, list[tuple[int, str, str, str]]] = defaultdict(list)
    for row in pool:
        if len(intents[row[3]]) == 1:
            by_label[row[2]].append(row)
    chosen = [row for label in sorted(by_label) for row in by_label[label][:per_label]]
    rng.shuffle(chosen)

    out = study / "data" / HELDOUT
    out.mkdir(parents=True, exist_ok=True)
    for split in ("train", "val"):
        shutil.copyfile(task_dir / f"{split}.jsonl", out / f"{split}.jsonl")
    with (out / "test.jsonl").open("w", encoding="utf-8", newline="\n") as handle:
        for line, text, label, _ in chosen:
            record = {
                "id": f"heldout-{line}",
                "messages": [
                    {"role": "user", "content": text},
                    {"role": "assistant", "content": label},
                ],
                "metadata": {"source": source.name, "line": line},
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    (out / "README.md").write_text(
        f"# {HELDOUT}\n\nWritten by experiments/banking77/heldout.py (seed {seed}, {per_label}"
        f" per intent) from {source}.\ntrain.jsonl and val.jsonl are copies of the study's"
        " splits; test.jsonl holds the held-out rows.\n",
        encoding="utf-8",
    )
    spec.update(
        name=HELDOUT,
        description=f"{spec.get('description', '')} Test split: held-out rows of train.csv.",
        data_dir=str(out.resolve()),
    )
    header = "# Written by experiments/banking77/heldout.py from the study's task.\n"
    (yaml_path.parent / f"{HELDOUT}.yaml").write_text(
        header + yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return {label: min(per_label, len(rows)) for label, rows in sorted(by_label.items())}


def _written(label: str, labels: Sequence[str]) -> str:
    """The intent as the study's task writes it: as in the CSV, or as words."""
    if label in labels:
        return label
    words = label_words([label])[label]
    if words in labels:
        return words
    raise DataError(
        f"the intent {label!r} is not one of the study's {len(labels)} labels",
        where="train.csv",
        fix="re-import the study with run.sh from the same train.csv",
    )


def _rows(source: Path) -> Iterator[tuple[int, str, str]]:
    """(line, text, intent) for every row of the CSV, line numbered as in the file."""
    if not source.is_file():
        raise DataError(
            "Banking77's train.csv is not there",
            where=str(source),
            fix="pass --source <path to train.csv>",
        )
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {INPUT, OUTPUT} - set(reader.fieldnames or ())
        if missing:
            raise DataError(
                f"no column {sorted(missing)[0]!r} in the header",
                where=str(source),
                fix=f"give a CSV with the columns {INPUT!r} and {OUTPUT!r}",
            )
        for row in reader:
            yield reader.line_num, row[INPUT], row[OUTPUT]


if __name__ == "__main__":
    raise SystemExit(main())
