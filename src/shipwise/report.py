"""The results table printed at the end of a run or a sweep."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def results_table(
    results: Sequence[Mapping[str, Any]],
    failures: Sequence[tuple[str, str]] = (),
    calls_per_month: float = 0.0,
    refreshes_per_month: float = 0.0,
) -> Any:
    """A rich Table: one row per run, the primary metric with its 95% interval first.

    ``p95 s`` is the wall time callers waited; ``s/call`` each call's share of compute.

    ``results`` are ``RunResult.as_json()`` dicts; monthly cost = calls x per-call cost +
    setup cost x refreshes.
    """
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="shipwise results", show_lines=False)
    columns = ("run", "metric", "test (95% CI)", "redteam", "regression", "p95 s", "s/call", "$/1k")
    for column in columns:
        table.add_column(column, justify="left" if column in ("run", "metric") else "right")
    if calls_per_month:
        table.add_column(f"$/month @ {calls_per_month:,.0f}", justify="right")
    for result in results:
        splits = result["splits"]
        test = splits.get("test", {}).get("summary")
        if test is None:
            continue
        p = test["primary"]
        row = [
            escape(result["run_name"]),
            test["metric"],
            f"{p['mean']:.3f} [{p['low']:.3f}, {p['high']:.3f}] n={p['n']}",
            _primary(splits, "redteam"),
            _primary(splits, "regression"),
            f"{test['latency_p95_s']:.2f}",
            _number(test.get("compute_s_mean"), ".3f"),
            f"{test['usd_per_1k_calls']:.4f}",
        ]
        if calls_per_month:
            monthly = (
                calls_per_month * test["usd_per_1k_calls"] / 1000
                + result["setup_usd"] * refreshes_per_month
            )
            row.append(f"{monthly:,.2f}")
        table.add_row(*row)
    for name, error in failures:
        table.add_row(escape(name), "FAILED", escape(error[:80]), *[""] * (len(table.columns) - 3))
    return table


def _number(value: float | None, spec: str) -> str:
    # Results logged by older versions may lack newer fields.
    return "-" if value is None else format(value, spec)


def _primary(splits: Mapping[str, Any], name: str) -> str:
    summary = splits.get(name, {}).get("summary")
    return "-" if summary is None else f"{summary['primary']['mean']:.3f}"


def print_table(table: Any) -> None:
    from rich.console import Console

    Console(width=160).print(table)
