"""shipwise-data: bring a dataset in as a shipwise task.

Usage:
    shipwise-data validate support_triage              # a task, by name
    shipwise-data validate data/my_task --json         # a task folder; or one .jsonl file
    shipwise-data validate my_task model=openai        # count tokens with another model
    shipwise-data validate banking77                   # a task an import wrote here (./conf)
    shipwise-data validate banking77 --config-dir DIR  # ... or into another config folder
    shipwise-data import squad dev-v1.1.json --name squad_dev
    shipwise-data import squad dev-v1.1.json --name squad_dev --questions 1000 --seed 0
    shipwise-data import squad train.json --name squad_small --out data --conf-dir conf --force
    shipwise-data import table train.csv --test-file test.csv --name banking77 \
        --input-col text --output-col category --sample train=1000,val=200,test=500
    shipwise-data import table tickets.jsonl --name triage --input-col subject --input-col body \
        --output-col category --output-col priority
    shipwise-data import table squad.csv --name squad_flat --input-col question \
        --output-col answer --split-col split --docs-col context --doc-id-col title
    shipwise-data import table trips.jsonl --name buses --input-col turn.text \
        --output-col slots --keep-col dialogue_id       # a column of JSON objects: a JSON task

An import writes the task folder ``<out>/<name>/`` (train/val/test.jsonl, docs/, README.md)
and the task YAML ``<conf-dir>/task/<name>.yaml``, then prints the command to try it.
Errors print as ``shipwise-data: error: ...`` and exit with status 2.

Importers are imported when their subcommand runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from shipwise.errors import ShipwiseError

PROG = "shipwise-data"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # Config overrides may follow options (validate NAME --json model=openai): keep them.
    if extra and getattr(args, "command", None) == "validate" and all("=" in e for e in extra):
        args.overrides = [*args.overrides, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    # Recorded in the datasheet, so a task says exactly how to rebuild it.
    given = list(sys.argv[1:] if argv is None else argv)
    args.command_line = shlex.join([PROG, *given])
    try:
        from shipwise.preflight import refuse_secrets

        refuse_secrets(given)  # the command line goes into the datasheet: a key is refused
        status: int = args.handler(args)
    except ShipwiseError as err:
        from shipwise.scrub import scrub

        print(f"{PROG}: error: {scrub(err.render())}", file=sys.stderr)
        return 2
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Bring a dataset in as a shipwise task (a folder of splits and a task YAML).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_validate(commands)
    importer = commands.add_parser("import", help="import a dataset as a task")
    formats = importer.add_subparsers(dest="format", required=True, metavar="FORMAT")
    _add_squad(formats)
    _add_table(formats)
    return parser


def _add_validate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = commands.add_parser(
        "validate",
        help="check a task's data before spending anything on it",
        description="Check chat-format JSONL: format, roles, token lengths with the model's "
        "tokenizer, duplicates, contradictions, leakage into test, size and balance, answer "
        "format, and the hosted fine-tune's cost. Exit 0 clean, 1 warnings only, 2 errors.",
    )
    validate.add_argument(
        "target", metavar="TARGET", help="a task name (as in task=NAME), a task folder, or a .jsonl"
    )
    validate.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="config overrides, as for shipwise (e.g. model=openai, paths.data=DIR)",
    )
    validate.add_argument("--json", action="store_true", help="print the report as JSON")
    validate.add_argument(
        "--config-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="another config folder (e.g. one an import wrote task/NAME.yaml into)",
    )
    validate.set_defaults(handler=_validate)


def _validate(args: argparse.Namespace) -> int:
    import os

    from shipwise.validation.context import context_from_config, resolve_target
    from shipwise.validation.run import validate_files

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the tokenizer is local; never wait on a hub
    overrides = list(args.overrides)
    if args.config_dir is not None:
        overrides.append(f"hydra.searchpath=[file://{args.config_dir.expanduser().resolve()}]")
    _check_target(args.target, overrides)
    folder, files, plain = resolve_target(args.target, overrides)
    if not Path(args.target).expanduser().exists():  # a task by name: its config, as a run
        from shipwise.tasks.task import task_spec  # would refuse it, is reported first

        task_spec(plain["task"])
    report = validate_files(args.target, files, context_from_config(plain, folder))
    if args.json:
        from shipwise.validation.render import to_json

        print(to_json(report))
    else:
        from rich.console import Console

        from shipwise.validation.render import render

        console = Console()
        if not console.is_terminal:
            console = Console(width=140)  # a log or a pipe: wide enough for the findings table
        render(report, console)
    return report.exit_code


def _check_target(target: str, overrides: list[str]) -> None:
    """The command line refused as a run would refuse it (keys, task files that hold code),
    and a target that is neither a path nor a task named plainly, not passed on to Hydra."""
    from shipwise.config import config_dir
    from shipwise.errors import ConfigError
    from shipwise.preflight import check_argv, search_dirs
    from shipwise.project import check_task_found

    check_argv([target, *overrides], config_dir())
    given = Path(target).expanduser()
    if given.exists():
        return
    if given.suffix == ".jsonl" or any(c in target for c in "/\\~") or target.startswith("."):
        raise ConfigError(
            "no such file or folder",
            where=target,
            fix="check the path: a task folder, a .jsonl split file, or a task's name",
        )
    check_task_found(target, search_dirs(overrides, config_dir()))


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


def _add_table(formats: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    table = formats.add_parser(
        "table",
        help="CSV, TSV, JSONL, JSON or Parquet rows: input columns -> a label, a JSON object or"
        " text",
        description="Import rows of a .csv, .tsv, .jsonl, .json (an array of objects) or"
        " .parquet file, any but Parquet also gzipped (.csv.gz). Input columns become the user "
        "message; one output column is a label task (<= 200 distinct values that repeat or are"
        " short) or a text task, "
        "several make a JSON task. Splits are seeded and, for labels, stratified; inputs that "
        "also occur in train are dropped from val and test.",
    )
    table.add_argument(
        "source",
        type=Path,
        metavar="SOURCE",
        help="the rows (.csv/.tsv/.jsonl/.json/.parquet; .gz after any but .parquet)",
    )
    table.add_argument("--test-file", type=Path, metavar="FILE", help="rows for the test split")
    table.add_argument("--val-file", type=Path, metavar="FILE", help="rows for the val split")
    table.add_argument("--name", required=True, help="task name: folder and config name")
    table.add_argument(
        "--input-col",
        action="append",
        required=True,
        dest="input_cols",
        metavar="COL",
        help="an input column (repeat for several: written as 'Col: value' lines)",
    )
    table.add_argument(
        "--output-col",
        action="append",
        default=[],
        dest="output_cols",
        metavar="COL",
        help="an output column (repeat for several: a JSON object)",
    )
    table.add_argument(
        "--spans-col",
        metavar="COL",
        help="instead of --output-col: a column listing labelled character spans of the first"
        " --input-col ([[start, end, label], ...] or objects with start/end/label keys); the"
        " answer is a JSON object, a field a label, its value the text marked",
    )
    table.add_argument(
        "--tags-col",
        metavar="COL",
        help="instead of --output-col: a column of token tags (BIO, BIOES or IO; numbered tags"
        " named by --label-map) beside a first --input-col of tokens; the tagged runs become"
        " the answer as --spans-col's spans do",
    )
    table.add_argument(
        "--span-keys",
        metavar="ROLE=KEY,...",
        help="with --spans-col: the keys of each span when they are not the common names,"
        " e.g. label=slot,start=valueSpan.startIndex,end=valueSpan.endIndex",
    )
    table.add_argument(
        "--split-col",
        metavar="COL",
        help="a column naming each row's split (train, val/validation/dev, test); val is drawn"
        " from train when no row names it",
    )
    table.add_argument(
        "--split-map",
        metavar="VALUE=SPLIT,...",
        help="what the --split-col values mean, e.g. heldout=test,unused=skip",
    )
    table.add_argument(
        "--docs-col",
        metavar="COL",
        help="a column of documents (abstracts, passages): written once each to docs/ for"
        " retrieval; each record's metadata.source_doc names its document",
    )
    table.add_argument(
        "--doc-id-col",
        metavar="COL",
        help="the column naming each row's document (e.g. a title): rows sharing it share one"
        " document (its distinct --docs-col texts joined)",
    )
    table.add_argument(
        "--id-col",
        metavar="COL",
        help="a column of unique ids (a dataset's own id) for the records; default: the file's"
        " name and line (or record)",
    )
    table.add_argument(
        "--keep-col",
        action="append",
        default=[],
        dest="keep_cols",
        metavar="COL",
        help="a column kept in each record's metadata (repeat for several)",
    )
    table.add_argument(
        "--output-kind",
        choices=("label", "json", "text"),
        help="override the kind chosen from the data",
    )
    table.add_argument("--system-prompt", metavar="TEXT", help="default: written from the labels")
    table.add_argument(
        "--val-fraction", type=float, metavar="F", help="share of SOURCE for val (default 0.1)"
    )
    table.add_argument(
        "--test-fraction", type=float, metavar="F", help="share of SOURCE for test (default 0.2)"
    )
    table.add_argument(
        "--stratify",
        action=argparse.BooleanOptionalAction,
        help="keep label proportions in every split (default: on for label tasks)",
    )
    table.add_argument(
        "--sample",
        metavar="SPLIT=N,...",
        help="seeded subsets drawn after splitting, e.g. train=1000,val=200,test=500",
    )
    table.add_argument(
        "--label-map",
        action="append",
        metavar="VALUE=NAME,...|FILE.json",
        help="name the labels a column codes (0=negative,1=positive), or a .json file: an object"
        " from value to name, or a list naming 0, 1, 2, ... (as datasets keep ClassLabel names)",
    )
    table.add_argument(
        "--label-sep",
        metavar="CHAR",
        help="the output cells are sets of labels joined by CHAR (billing|refund): a JSON task"
        " of one list field (a cell holding a JSON list needs no flag)",
    )
    table.add_argument(
        "--label-words",
        action="store_true",
        help="write each label with spaces for underscores (card_arrival -> card arrival): "
        "words a language model knows; the datasheet keeps both forms",
    )
    table.add_argument("--seed", type=int, default=0, help="seed for splitting and sampling")
    table.add_argument(
        "--delimiter", metavar="CHAR", help="cell delimiter ('\\t' for tab); default by extension"
    )
    table.add_argument(
        "--no-header",
        action="store_false",
        dest="header",
        help="the CSV/TSV has no header row: its columns are named by position, from 1"
        " (--input-col 2 --output-col 1), or by --column-names",
    )
    table.add_argument(
        "--column-names",
        metavar="NAME,...",
        help="with --no-header: the columns' names, in order (e.g. class,title,description);"
        " the prompt and the datasheet use them",
    )
    _add_target_options(table)
    table.set_defaults(handler=_import_table)


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
    _refuse_shadow(args.name, args.conf_dir)
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


def _import_table(args: argparse.Namespace) -> int:
    _refuse_shadow(args.name, args.conf_dir)
    from shipwise.tasks.importers.columns import parse_split_map
    from shipwise.tasks.importers.spans import parse_span_keys
    from shipwise.tasks.importers.tabular import (
        TableSettings,
        import_table,
        parse_label_map,
        parse_sample,
    )
    from shipwise.validation.content import coded_labels, coded_labels_fix, label_sets

    delimiter = args.delimiter
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    label_map: dict[str, str] = {}
    label_list = False
    for given in args.label_map or ():
        parsed, listed = parse_label_map(given)
        label_map.update(parsed)
        label_list = label_list or listed
    settings = TableSettings(
        input_cols=args.input_cols,
        output_cols=args.output_cols,
        output_kind=args.output_kind,
        system_prompt=args.system_prompt,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        stratify=args.stratify,
        sample=parse_sample(args.sample or ""),
        seed=args.seed,
        delimiter=delimiter,
        header=args.header,
        column_names=[n.strip() for n in args.column_names.split(",")] if args.column_names else (),
        label_map=label_map,
        label_list=label_list,
        label_words=args.label_words,
        split_col=args.split_col,
        id_col=args.id_col,
        split_map=parse_split_map(args.split_map or ""),
        docs_col=args.docs_col,
        doc_id_col=args.doc_id_col,
        keep_cols=args.keep_cols,
        spans_col=args.spans_col,
        tags_col=args.tags_col,
        label_sep=args.label_sep,
        span_keys=parse_span_keys(args.span_keys or ""),
    )
    summary = import_table(
        args.source,
        args.out,
        args.name,
        settings,
        test_file=args.test_file,
        val_file=args.val_file,
        conf_dir=args.conf_dir,
        force=args.force,
        command=args.command_line,
    )
    output = summary.output
    kind = {
        "label": f"label, {len(output.labels or [])} labels",
        "json": f"JSON, fields {', '.join(output.fields or {})}",
    }.get(output.kind, "text")
    counts = ", ".join(f"{split} {n:,}" for split, n in summary.counts.items())
    lines = [
        f"Imported task {args.name!r} ({kind}) from {', '.join(summary.sources)}",
        f"  task folder  {summary.task_dir}",
        f"  task YAML    {summary.yaml_path}",
        f"  rows         {counts}",
    ]
    if summary.chosen:
        lines.append(f"  kind         {summary.chosen}")
    if summary.spans:
        lines.append(f"  spans        {summary.spans}")
    if summary.documents:
        lines.append(f"  documents    {summary.documents:,} in docs/documents.jsonl")
    if any(summary.dropped.values()):
        dropped = ", ".join(f"{split} {n:,}" for split, n in summary.dropped.items() if n)
        why = "leaked into a later split, two answers, or a repeated test row"
        lines.append(f"  dropped      {dropped} ({why}; each is listed in the datasheet)")
    labels = label_sets(output)
    coded = coded_labels(labels)
    if coded:
        lines += ["", f"Warning: {coded}", f"  fix: {coded_labels_fix(labels)}"]
    lines += [f"\nWarning: {w}" for w in [*summary.warnings, *_small_splits(summary.counts, args)]]
    lines += ["", "Next:", f"  {_next_command(args.name, args.conf_dir)}"]
    print("\n".join(lines))
    return 0


def _small_splits(counts: Mapping[str, int], args: argparse.Namespace) -> list[str]:
    """Splits too small for ``shipwise-data validate`` (an error there), with what would do."""
    from shipwise.tasks.importers.tabular import DEFAULT_SHARES
    from shipwise.validation.content import MIN_EXAMPLES

    warnings = []
    for split, n in counts.items():
        if n >= MIN_EXAMPLES:
            continue
        given = getattr(args, f"{split}_file", None)
        share = getattr(args, f"{split}_fraction", None) or DEFAULT_SHARES.get(split)
        if given is not None or share is None or args.split_col:
            what = "add rows to it"
        else:
            wanted = math.ceil(100 * share * MIN_EXAMPLES / max(n, 1)) / 100
            what = f"import more rows, or give it a larger share: --{split}-fraction {wanted:g}"
        warnings.append(
            f"{split} has {n} rows; shipwise-data validate calls fewer than {MIN_EXAMPLES} an"
            f" error, and the study will not run on it\n  fix: {what}"
        )
    return warnings


def _next_command(name: str, conf_dir: Path) -> str:
    from shipwise.project import config_dirs

    # shipwise searches its own conf/ and ./conf; another folder needs --config-dir.
    found = conf_dir.resolve() in config_dirs()
    flag = "" if found else f" --config-dir {conf_dir.resolve()}"
    return "\n  ".join(
        [
            f"shipwise-data validate{flag} {name}",
            f"shipwise{flag} task={name} strategy=prompt limit=20",
            f"shipwise -m{flag} task={name}",
        ]
    )


def _refuse_shadow(name: str, conf_dir: Path) -> None:
    """A task YAML beside shipwise's own task of the same name would never be read."""
    from shipwise.config import config_dir
    from shipwise.errors import ConfigError
    from shipwise.project import shadowed

    ours = shadowed(name)
    if ours is not None and conf_dir.resolve() != config_dir().resolve():
        raise ConfigError(
            f"shipwise ships a task named {name!r} ({ours}); its config is found first, so"
            f" {conf_dir / 'task' / (name + '.yaml')} would never be read",
            where="--name",
            fix="choose another --name",
        )


if __name__ == "__main__":
    raise SystemExit(main())
