"""A validation report for people (a rich terminal view) and for programs (JSON).

The terminal view shows at most :data:`ROWS_PER_CHECK` findings of each check, then says how
many more there are; ``to_json`` always carries every finding.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from shipwise.validation.model import Finding, Report

ROWS_PER_CHECK = 10
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow"}
SHOWN_VALUES = 12  # a dimension with more allowed values shows only its extremes


def to_json(report: Report) -> str:
    """The report as JSON, keys sorted so the same report always prints the same text."""
    return json.dumps(report.as_json(), indent=2, sort_keys=True, ensure_ascii=False)


def render(report: Report, console: Console) -> None:
    """Header, findings, statistics and a verdict, in that order."""
    _header(report, console)
    if report.findings:
        console.print(_findings_table(report.findings))
    _token_table(report.stats.get("tokens"), console)
    _balance_tables(report.stats.get("balance"), console)
    _hosted_line(report.stats.get("hosted_cost"), console)
    console.print(verdict(report))


def verdict(report: Report) -> Text:
    """One line: the counts and what to do next, or "clean"."""
    errors, warnings = len(report.errors), len(report.warnings)
    if not errors and not warnings:
        return Text("clean: no problems found", style="bold green")
    counts = f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
    if errors:
        return Text(f"{counts}: fix the errors before running the study", style="bold red")
    return Text(f"{counts}: review the warnings before running the study", style="yellow")


def _header(report: Report, console: Console) -> None:
    console.print(Text(f"Validation of {report.target}", style="bold"))
    sizes: Mapping[str, int] = report.stats.get("size") or {}
    table = Table(box=None, pad_edge=False)
    table.add_column("split")
    table.add_column("file", overflow="fold")
    for column in ("examples", "errors", "warnings"):
        table.add_column(column, justify="right")
    for split, file in report.files.items():
        mine = [f for f in report.findings if f.split == split]
        errors = sum(f.severity == "error" for f in mine)
        table.add_row(
            split,
            Text(file),
            f"{sizes[split]:,}" if split in sizes else "-",
            Text(str(errors), style="red" if errors else ""),
            str(len(mine) - errors),
        )
    console.print(table)


def _findings_table(findings: list[Finding]) -> Table:
    table = Table(title="Findings", title_justify="left", show_lines=False, expand=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("where", overflow="fold")
    table.add_column("message", ratio=3, overflow="fold")
    table.add_column("fix", ratio=2, overflow="fold")
    by_check: dict[tuple[str, str], list[Finding]] = {}
    for finding in sorted(findings, key=lambda f: f.severity != "error"):
        by_check.setdefault((finding.severity, finding.check), []).append(finding)
    for (severity, check), group in by_check.items():
        style = SEVERITY_STYLE[severity]
        previous_fix = None
        for finding in group[:ROWS_PER_CHECK]:
            fix = "" if finding.fix == previous_fix else finding.fix  # said once per run of rows
            previous_fix = finding.fix
            table.add_row(
                Text(severity, style=style),
                Text(check),
                Text(_where(finding)),
                Text(finding.message),
                Text(fix, style="dim"),
            )
        if len(group) > ROWS_PER_CHECK:
            more = f"… and {len(group) - ROWS_PER_CHECK:,} more {check} (see --json)"
            table.add_row(Text(severity, style=style), Text(check), "", Text(more, "italic"), "")
    return table


def _where(finding: Finding) -> str:
    if finding.file is None:
        return finding.split or ""
    name = Path(finding.file).name
    return f"{name}:{finding.line}" if finding.line is not None else name


def _token_table(stats: Mapping[str, Any] | None, console: Console) -> None:
    if not stats or not stats.get("splits"):
        return
    limits = [
        f"{label} {stats[key]:,}"
        for key, label in (("context_window", "context window"), ("max_length", "max_length"))
        if stats.get(key)
    ]
    title = f"Tokens per example ({stats['tokenizer']}" + "".join(f"; {x}" for x in limits) + ")"
    table = Table(title=title, title_justify="left")
    table.add_column("split")
    for column in ("min", "p10", "median", "p90", "max", "answer median", "answer max"):
        table.add_column(column, justify="right")
    for split, values in stats["splits"].items():
        tokens, answer = values["tokens"], values["assistant_tokens"]
        spread = [_number(tokens[k]) for k in ("min", "p10", "median", "p90", "max")]
        table.add_row(split, *spread, _number(answer["median"]), _number(answer["max"]))
    console.print(table)


def _balance_tables(stats: Mapping[str, Any] | None, console: Console) -> None:
    if not stats:
        return
    for dim, per_split in stats.get("counts", {}).items():
        title = "Labels" if dim == "label" else f"Field {dim!r}"
        table = Table(title=title, title_justify="left")
        table.add_column("split")
        table.add_column("present", justify="right")
        for column in ("most common", "least common", "counts"):
            table.add_column(column)
        for split, counts in per_split.items():
            allowed = {v: n for v, n in counts.items() if v != "(not allowed)"}
            present = {v: n for v, n in allowed.items() if n}
            even = len(present) > 1 and len(set(present.values())) == 1
            table.add_row(
                split,
                f"{len(present)}/{len(allowed)}",
                # balanced: one count for all, not one label named as both extremes
                Text(f"{next(iter(present.values())):,} each") if even else _extreme(present, max),
                Text("-") if even else _extreme(present, min),
                Text(_compact(counts)),
            )
        console.print(table)


def _extreme(counts: Mapping[str, int], pick: Any) -> Text:
    if not counts:
        return Text("-")
    value = pick(counts, key=counts.__getitem__)
    return Text(f"{value} ({counts[value]:,})")


def _compact(counts: Mapping[str, int]) -> str:
    if len(counts) > SHOWN_VALUES:
        return f"{len(counts)} values (see --json)"
    return " · ".join(f"{v} {n:,}" for v, n in counts.items())


def _hosted_line(stats: Mapping[str, Any] | None, console: Console) -> None:
    if not stats:
        return
    if not stats.get("examples"):
        console.print(f"Hosted fine-tune ({stats['model']}): no train examples to price")
        return
    epochs = f"{stats['n_epochs']} epochs"
    if stats.get("n_epochs_setting") == "auto":
        epochs += " (auto)"
    capped = stats.get("capped_examples")
    note = f", {capped:,} examples capped at {stats['max_tokens_per_example']:,}" if capped else ""
    console.print(
        Text(
            f"Hosted fine-tune ({stats['model']}): {stats['examples']:,} train examples, "
            f"{stats['tokens_per_epoch']:,} tokens/epoch x {epochs} = "
            f"{stats['billed_tokens']:,} billed tokens ≈ ${stats['usd']:,.2f} "
            f"(tokenizer: {stats['tokenizer']}{note})"
        )
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
