"""shipwise-data: bring a dataset in as a shipwise task.

Usage:
    shipwise-data import squad dev-v1.1.json --name squad_dev
    shipwise-data import squad dev-v1.1.json --name squad_dev --questions 1000 --seed 0
    shipwise-data import squad train.json --name squad_small --out data --conf-dir conf --force

An import writes the task folder ``<out>/<name>/`` (train/val/test.jsonl, docs/, README.md)
and the task YAML ``<conf-dir>/task/<name>.yaml``, then prints the command to try it.
Errors print as ``shipwise-data: error: ...`` and exit with status 2.

Importers are imported when their subcommand runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from shipwise.errors import ShipwiseError

PROG = "shipwise-data"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except ShipwiseError as err:
        print(f"{PROG}: error: {err.render()}", file=sys.stderr)
        return 2
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Bring a dataset in as a shipwise task (a folder of splits and a task YAML).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # `validate` will sit beside `import`; new formats (csv, ...) beside `import squad`.
    importer = commands.add_parser("import", help="import a dataset as a task")
    formats = importer.add_subparsers(dest="format", required=True, metavar="FORMAT")
    _add_squad(formats)
    return parser


def _add_squad(formats: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    squad = formats.add_parser(
        "squad",
        help="SQuAD-format JSON (v1.1 or v2.0): questions as splits, paragraphs as documents",
        description="Import a SQuAD-format JSON file. Every paragraph becomes a document; the "
        "questions (a seeded sample with --questions) are split into train/val/test.",
    )
    squad.add_argument("source", type=Path, metavar="SOURCE", help="the SQuAD-format .json file")
    squad.add_argument("--name", required=True, help="task name: folder and config name")
    _add_target_options(squad)
    squad.add_argument(
        "--questions", type=int, default=None, metavar="N", help="sample N questions (default: all)"
    )
    squad.add_argument("--seed", type=int, default=0, help="seed for sampling and splitting")
    squad.add_argument(
        "--val-fraction", type=float, default=0.1, metavar="F", help="share for val (default 0.1)"
    )
    squad.add_argument(
        "--test-fraction", type=float, default=0.5, metavar="F", help="share for test (default 0.5)"
    )
    squad.set_defaults(handler=_import_squad)


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    # Shared by every importer: where the task folder and its YAML go.
    parser.add_argument(
        "--out", type=Path, default=Path("data"), help="folder for task folders (default: data)"
    )
    parser.add_argument(
        "--conf-dir",
        type=Path,
        default=Path("conf"),
        help="config folder; the YAML goes to <conf-dir>/task/<name>.yaml (default: conf)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace an existing task folder and YAML"
    )


def _import_squad(args: argparse.Namespace) -> int:
    from shipwise.tasks.importers.squad import import_squad

    summary = import_squad(
        args.source,
        args.out,
        args.name,
        questions=args.questions,
        seed=args.seed,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        conf_dir=args.conf_dir,
        force=args.force,
    )
    counts = ", ".join(f"{split} {n:,}" for split, n in summary.counts.items())
    lines = [
        f"Imported task {args.name!r} from {args.source}",
        f"  task folder  {summary.task_dir}",
        f"  task YAML    {summary.yaml_path}",
        f"  documents    {summary.documents:,} paragraphs",
        f"  questions    {counts}",
    ]
    if summary.skipped:
        lines.append(f"  skipped      {summary.skipped:,} questions without a gold answer")
    lines += ["", "Next:", f"  {_next_command(args.name, args.conf_dir)}"]
    print("\n".join(lines))
    return 0


def _next_command(name: str, conf_dir: Path) -> str:
    from shipwise.config import config_dir

    run = f"task={name} strategy=prompt limit=20"
    try:
        default = config_dir().resolve()
    except ShipwiseError:
        default = None
    # shipwise only searches its own conf/ unless told; another folder needs --config-dir.
    if conf_dir.resolve() == default:
        return f"shipwise {run}"
    return f"shipwise --config-dir {conf_dir.resolve()} {run}"


if __name__ == "__main__":
    raise SystemExit(main())
