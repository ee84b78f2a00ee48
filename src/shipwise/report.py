"""The results table printed at the end of a run or a sweep, and the ship decision's report.

The decision report is ``decision.json`` (machine-readable), ``decision.md`` (for people) and PNG
figures (drawn by ``shipwise.figures``); ``decision_table`` is its compact terminal form.
Heavy imports (rich, matplotlib) stay inside the functions so importing this module is cheap.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipwise.answers import is_json_object, shown
from shipwise.decision_types import (
    AnswerShare,
    ArmEvidence,
    ArmVerdict,
    Constraints,
    Decision,
    decision_as_dict,
)
from shipwise.evaluation.retrieval import CUTOFFS

if TYPE_CHECKING:
    from rich.table import Table


def results_table(
    results: Sequence[Mapping[str, Any]],
    failures: Sequence[tuple[str, str]] = (),
    skipped: Sequence[tuple[str, str]] = (),
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

    from shipwise.evidence import shorter_names

    # named as the decision names them: settings every run shares are said once, below
    ran = [r["run_name"] for r in results]
    names, shared, own = shorter_names(ran)
    short = dict(zip(ran, names, strict=True))
    short.update({n: " ".join(p for p in n.split(" ") if p not in shared) for n, _ in skipped})
    notes = [f"{escape(short[name])} was skipped: {escape(reason)}" for name, reason in skipped]
    if shared:
        notes.append(f"Every arm ran with: {escape(' '.join(shared))}")
    notes += [f"{escape(arm)} also ran with: {escape(' '.join(s))}" for arm, s in own.items()]
    for result in results:
        found = result["splits"].get("test", {}).get("retrieval") or {}
        shown = retrieval_shown({k.removeprefix("retrieval."): v for k, v in found.items()})
        if "MRR" in shown:
            mrr = shown.pop("MRR")
            recall = ", ".join(f"@{k.removeprefix('recall@')} {v}" for k, v in shown.items())
            notes.append(
                f"{escape(short[result['run_name']])} retrieval on test: recall {recall}, MRR {mrr}"
            )
    table = Table(
        title="shipwise results",
        show_lines=False,
        caption="\n".join(notes) or None,
        caption_justify="left",
    )
    columns = (
        "run",
        "metric",
        "score (95% CI)",
        "ungameable",
        "redteam",
        "regression",
        "p95 s",
        "s/call",
        "$/1k",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("run", "metric") else "right")
    if calls_per_month:
        table.add_column(f"compute $/month @ {calls_per_month:,.0f}", justify="right")
    for result in results:
        splits = result["splits"]
        # The test split when scored, else the first one (e.g. val while tuning).
        headline = "test" if "test" in splits else next(iter(splits), None)
        if headline is None:
            continue
        test = splits[headline]["summary"]
        p = test["primary"]
        row = [
            escape(short[result["run_name"]]),
            test["metric"] if headline == "test" else f"{test['metric']} ({headline})",
            f"{p['mean']:.3f} [{p['low']:.3f}, {p['high']:.3f}] n={p['n']}",
            _ungameable(test),
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
    for name, _ in skipped:  # the reason, whole, is in the caption
        table.add_row(escape(short[name]), "skipped", "(below)", *[""] * (len(table.columns) - 3))
    return table


# Beside a metric a constant answer can score well on, the one it cannot (see metrics.py).
UNGAMEABLE = ("macro_f1", "slot_f1")


def _ungameable(summary: Mapping[str, Any]) -> str:
    """macro-F1 or slot F1 beside an accuracy-like primary metric ("-" when it is one)."""
    for name in UNGAMEABLE:
        if name in summary.get("means", {}) and name != summary["metric"]:
            return f"{name} {summary['means'][name]:.3f}"
    return "-"


def _number(value: float | None, spec: str) -> str:
    # Results logged by older versions may lack newer fields.
    return "-" if value is None else format(value, spec)


def _primary(splits: Mapping[str, Any], name: str) -> str:
    summary = splits.get(name, {}).get("summary")
    return "-" if summary is None else f"{summary['primary']['mean']:.3f}"


def print_table(table: Any) -> None:
    from rich.console import Console

    Console(width=160).print(table)


# --- The ship decision -------------------------------------------------------------------------


def write_decision_report(
    decision: Decision, evidence: Sequence[ArmEvidence], out_dir: Path
) -> dict[str, Path]:
    """Write decision.json, decision.md and figures/*.png under ``out_dir``.

    Returns {"json": ..., "markdown": ..., "<figure name>": ...} for every file written.
    """
    from shipwise.figures import write_figures

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "decision.json"
    json_path.write_text(json.dumps(decision_as_dict(decision), indent=2) + "\n")
    figures = write_figures(decision, evidence, out_dir / "figures")
    markdown_path = out_dir / "decision.md"
    markdown_path.write_text(decision_markdown(decision, figures), encoding="utf-8")
    return {"json": json_path, "markdown": markdown_path, **figures}


def decision_table(decision: Decision) -> Table:
    """Compact terminal table: one row per arm, the verdict as its title."""
    from rich.markup import escape
    from rich.table import Table

    config = decision.config
    table = Table(title=escape(decision.verdict), title_justify="left")
    table.add_column("arm")
    table.add_column(f"{decision.metric} mean [{_percent(config.confidence)} CI]", justify="right")
    table.add_column("shippable", justify="center")
    table.add_column("top answer", justify="right")
    table.add_column("$/1k", justify="right")
    table.add_column(f"total $/month @ {config.calls_per_month:,.0f}", justify="right")
    table.add_column("p95 s", justify="right")
    table.add_column("ship", justify="center")
    for arm in decision.arms:
        shipped = arm.name == decision.ship
        table.add_row(
            escape(arm.name) + (" [yellow](stale)[/yellow]" if arm.stale else ""),
            _interval(arm),
            _shippable(arm, rich=True),
            _top(arm),
            _price(arm.usd_per_1k_calls, symbol=False),
            _cents(arm.monthly_usd, symbol=False),
            _fixed(arm.latency_p95_s, 2),
            "SHIP" if shipped else "",
            style="bold green" if shipped else None,
        )
    return table


def _shippable(arm: ArmVerdict, rich: bool = False) -> str:
    if not arm.shippable:
        return "floor"
    if arm.feasible:
        return "yes"
    return "[red]no[/red]" if rich else "**no**"


def _top(arm: ArmVerdict) -> str:
    return f"{arm.top_answers[0].share:.0%}" if arm.top_answers else "-"


def decision_markdown(decision: Decision, figures: Mapping[str, Path]) -> str:
    """decision.md: verdict, how it was decided, the numbers, caveats, settings and figures."""
    from shipwise.figures import FIGURE_TITLES

    config = decision.config
    confidence = _percent(config.confidence)
    lines = [f"# Ship decision: {decision.task}", "", f"**{_inline(decision.verdict)}**", ""]
    if decision.ship is None:
        lines += ["No arm is shipped: none is feasible.", ""]
    order = " → ".join(a.name for a in sorted(decision.arms, key=lambda a: a.simplicity))
    people = (
        f"compute plus people time at ${config.hourly_rate_usd:,.0f}/hour: one-off hours "
        f"over {config.horizon_months:g} months, and hours per refresh"
        if config.hourly_rate_usd
        else "compute only: decision.hourly_rate_usd is 0"
    )
    lines += [
        "## How this was decided",
        "",
        f"Every arm was scored on the same frozen test split (fingerprint "
        f"`{decision.test_fingerprint}`) with `{decision.metric}` as the primary metric. "
        f"Intervals are {confidence} BCa bootstrap intervals that resample test examples and "
        f"recompute the metric ({config.resamples:,} resamples, seed {config.seed}); pairs are "
        f"resampled jointly, and their p-values come from paired permutation tests, "
        f"Holm-corrected across all pairs.",
        "",
        "An arm can be shipped when it is not a floor, its answers did not collapse onto one "
        "value, it beats every floor arm with confidence (the paired interval lies above 0), "
        "and it meets every constraint (quality judged by its interval's lower bound). The best "
        f"such arm is a candidate, and so is any whose paired interval against the best lies "
        f'above −{config.margin:g} (the margin: non-inferiority shown, not merely "not '
        f'significantly worse"). Of the candidates, the one that costs least a month at '
        f"{config.calls_per_month:,.0f} calls ({people}) is shipped; candidates within 5% of "
        f"its cost go to the simplest ({order}).",
        "",
        "## Arms",
        "",
        *_arms_table(decision),
        "",
        "## Pairwise differences",
        "",
        *_pairs_table(decision),
        "",
        "## Break-even volumes",
        "",
        *_break_evens(decision),
        "",
        "## Answers against the references",
        "",
        *_answers(decision),
        "",
        *_retrieval(decision),
        *_style_rules(decision),
        *_example_replies(decision),
        "## Caveats",
        "",
        *([f"- {_inline(c)}" for c in decision.caveats] or ["None."]),
        "",
        "## Settings",
        "",
        f"- Calls per month: {config.calls_per_month:,.0f}",
        f"- Refreshes per month (index rebuilds / retrains): {config.refreshes_per_month:g}",
        f"- Confidence: {confidence}; power for the minimum detectable difference: "
        f"{config.power:g}",
        f"- Margin: {config.margin:g} on `{decision.metric}`",
        f"- People time: ${config.hourly_rate_usd:,.2f}/hour; one-off effort spread over "
        f"{config.horizon_months:g} months",
        f"- Collapsed answers: the most frequent answer covers at least "
        f"{config.collapse.min_share:.0%} of the split and {config.collapse.excess:.0%} more "
        f"than the most frequent reference",
        f"- Order of simplicity: {order}",
        f"- Constraints: {_constraints(config.constraints)}",
        *(
            [f"- Every arm ran with: {_inline(' '.join(decision.shared_settings))}"]
            if decision.shared_settings
            else []
        ),
        *(
            f"- {_inline(name)} also ran with: {_inline(' '.join(settings))}"
            for name, settings in decision.arm_settings.items()
        ),
        "",
    ]
    if figures:
        lines += ["## Figures", ""]
        for name, path in figures.items():
            title = FIGURE_TITLES.get(name, name.replace("_", " "))
            lines += [f"### {title}", "", f"![{title}](figures/{path.name})", ""]
    return "\n".join(lines)


def _arms_table(decision: Decision) -> list[str]:
    if not decision.arms:
        return ["No arms."]
    rows = [
        f"| arm | strategy | {_cell(decision.metric)} [low, high] | n | $/1k calls | setup $ "
        "| compute $/month | people $/month | total $/month | p95 s | shippable "
        "| why not shipped |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|:-:|---|",
    ]
    for arm in decision.arms:
        name = f"**{_cell(arm.name)}** (shipped)" if arm.name == decision.ship else _cell(arm.name)
        name += " (stale: re-run it)" if arm.stale else ""
        why = "; ".join(arm.failures)
        if arm.settle_n is not None:
            why = f"not shown within the margin; ~{arm.settle_n:,} test examples would settle it"
        rows.append(
            "| "
            + " | ".join(
                [
                    name,
                    _cell(arm.strategy),
                    _interval(arm),
                    f"{arm.n:,}",
                    _price(arm.usd_per_1k_calls),
                    _cents(arm.setup_usd),
                    _cents(arm.compute_monthly_usd),
                    _cents(arm.people_monthly_usd),
                    _cents(arm.monthly_usd),
                    _fixed(arm.latency_p95_s, 2),
                    _shippable(arm),
                    _cell(why) or "-",
                ]
            )
            + " |"
        )
    return rows


def _answers(decision: Decision) -> list[str]:
    """Each arm's most frequent answers beside the references': a collapse shows at once."""
    if not decision.reference_answers and not any(a.top_answers for a in decision.arms):
        return ["No answers were recorded."]
    every = [*decision.reference_answers, *(s for a in decision.arms for s in a.top_answers)]
    note = "; JSON without its null fields" if any(is_json_object(s.answer) for s in every) else ""
    rows = [f"| | most frequent answers (share of the test split{note}) |", "|---|---|"]
    rows.append(f"| *references* | {_cell(_shares(decision.reference_answers))} |")
    for arm in decision.arms:
        mark = " (collapsed)" if arm.collapsed else ""
        rows.append(f"| {_cell(arm.name)}{mark} | {_cell(_shares(arm.top_answers))} |")
    return rows


def _style_rules(decision: Decision) -> list[str]:
    """Per style rule, the share of each arm's test replies that pass it (text tasks)."""
    arms = [(arm.name, arm.style) for arm in decision.arms if arm.style is not None]
    if not arms:
        return []
    rules = list(arms[0][1].rules)
    lines = [
        "## Style rules",
        "",
        f"Share of the {arms[0][1].n:,} test replies that pass each style rule the task declares "
        "(`output.style`); *all rules*: the share that pass every one.",
        "",
        "| rule | " + " | ".join(_cell(name) for name, _ in arms) + " |",
        "|---|" + "--:|" * len(arms),
    ]
    for rule in rules:
        rates = [_fixed(style.rules[rule], 3) for _, style in arms]
        lines.append(f"| `{rule}` | " + " | ".join(rates) + " |")
    every = [_fixed(style.all_rules, 3) for _, style in arms]
    return [*lines, "| *all rules* | " + " | ".join(every) + " |", ""]


# Texts in the example table longer than this are cut, and the cut is marked in the cell.
LONGEST = 1_500


def _example_replies(decision: Decision) -> list[str]:
    """A few test examples, one per column, with every arm's reply under the input (text tasks)."""
    examples = decision.examples
    if not examples:
        return []
    arms = [arm.name for arm in decision.arms if arm.name in examples[0].replies]
    rules = " Under a reply, the style rules it breaks." if examples[0].failed_rules else ""
    lines = [
        "## Example replies",
        "",
        f"{len(examples)} test examples drawn with seed {decision.config.seed}: the input, the "
        f"reference and each arm's reply, as written (texts over {LONGEST:,} characters are cut "
        f"where marked; decision.json holds them whole).{rules}",
        "",
        "| | " + " | ".join(_verbatim(e.id) for e in examples) + " |",
        "|---|" + "---|" * len(examples),
        "| *input* | " + " | ".join(_verbatim(e.input) for e in examples) + " |",
        "| *reference* | " + " | ".join(_verbatim(e.reference) for e in examples) + " |",
    ]
    for arm in arms:
        cells = [_verbatim(e.replies[arm]) + _broken(e.failed_rules.get(arm)) for e in examples]
        lines.append(f"| **{_cell(arm)}** | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _broken(rules: Sequence[str] | None) -> str:
    if rules is None:
        return ""
    if not rules:
        return "<br><br>*passes every rule*"
    return "<br><br>*breaks* " + ", ".join(f"`{rule}`" for rule in rules)


def _verbatim(text: str, longest: int = LONGEST) -> str:
    """``text`` in a Markdown table cell, shown as written: HTML and Markdown escaped, line
    breaks kept, nothing dropped without a mark."""
    text = text.replace("\r\n", "\n").strip()
    if not text:
        return "-"
    head = text[:longest]
    if len(text) > longest and " " in head[-40:]:
        head = head.rsplit(" ", 1)[0]  # cut between words
    cut = len(text) - len(head)
    # &, < and > as entities (a reply's "<script>" stays text); Markdown's inline marks escaped
    escaped = _marks(head)
    return escaped.replace("\n", "<br>") + (f" … *[{cut:,} more characters]*" if cut else "")


def _shares(shares: Sequence[AnswerShare]) -> str:
    """Answers as written, quoted: HTML and Markdown marks escaped, so they show as text."""
    return "; ".join(f"“{_marks(_clip(shown(s.answer)))}” {s.share:.0%}" for s in shares) or "-"


def _marks(text: str) -> str:
    """``text`` with HTML escaped and Markdown's inline marks backslashed (shown, never run)."""
    return re.sub(r"([\\`*_\[\]|~])", r"\\\1", html.escape(text, quote=False))


def _clip(text: str, size: int = 40) -> str:
    text = _inline(text).replace("`", "'")
    return text if len(text) <= size else text[: size - 1] + "…"


def _pairs_table(decision: Decision) -> list[str]:
    if not decision.pairs:
        return ["No pairs to compare."]
    rows = [
        "| a − b | difference [low, high] | Holm p | significant | min. detectable "
        "| enough examples |",
        "|---|---|--:|:-:|--:|:-:|",
    ]
    for pair in decision.pairs:
        difference = f"{_fixed(pair.mean, 3, sign=True)} "
        difference += f"[{_fixed(pair.low, 3, sign=True)}, {_fixed(pair.high, 3, sign=True)}]"
        rows.append(
            f"| {_cell(pair.a)} − {_cell(pair.b)} | {difference} | {_p_value(pair.p_holm)} "
            f"| {'yes' if pair.significant else 'no'} | {_fixed(pair.min_detectable, 3)} "
            f"| {'yes' if pair.enough_examples else '**no**'} |"
        )
    if len(decision.pairs) > 1:
        alpha = 1 - decision.config.confidence
        rows += [
            "",
            f"Each interval is its pair's own; *significant* means the Holm-corrected p is below"
            f" {alpha:g}, which accounts for all {len(decision.pairs)} comparisons, so an interval"
            " clear of 0 can still be not significant.",
        ]
    return rows


def _break_evens(decision: Decision) -> list[str]:
    if not decision.break_evens:
        return ["No pairs to compare."]
    per_1k = {arm.name: arm.usd_per_1k_calls for arm in decision.arms}
    lines = []
    for even in decision.break_evens:
        pair = f"`{_inline(even.a)}` and `{_inline(even.b)}`"
        volume = even.calls_per_month
        if volume is None or not math.isfinite(volume):
            lines.append(f"- {pair}: the cost lines never cross.")
            continue
        line = f"- {pair} cost the same at {volume:,.0f} calls/month"
        # Above the break-even the arm with the lower per-call cost is the cheaper one.
        a, b = per_1k.get(even.a), per_1k.get(even.b)
        if a is not None and b is not None and a != b:
            cheaper = even.a if a < b else even.b
            line += f"; above that, `{_inline(cheaper)}` is cheaper"
        lines.append(line + ".")
    return lines


def _constraints(constraints: Constraints) -> str:
    c = constraints
    described = [
        f"minimum quality {c.min_quality:.3f} (interval's lower bound)"
        if c.min_quality is not None
        else "",
        f"maximum p95 latency {c.max_p95_latency_s:.2f} s"
        if c.max_p95_latency_s is not None
        else "",
        f"maximum {_usd(c.max_usd_per_1k_calls)} per 1k calls"
        if c.max_usd_per_1k_calls is not None
        else "",
        f"maximum regression drop {c.max_regression_drop:.3f}"
        if c.max_regression_drop is not None
        else "",
        f"minimum red-team pass rate {c.min_redteam_pass_rate:.3f}"
        if c.min_redteam_pass_rate is not None
        else "",
    ]
    return "; ".join(d for d in described if d) or "none"


def _percent(fraction: float) -> str:
    # 0.975 must read 97.5%, not 98%.
    return f"{fraction * 100:g}%"


def _interval(arm: ArmVerdict) -> str:
    return f"{_fixed(arm.mean, 3)} [{_fixed(arm.low, 3)}, {_fixed(arm.high, 3)}]"


def _fixed(value: float, decimals: int, sign: bool = False) -> str:
    if not math.isfinite(value):
        return "n/a" if math.isnan(value) else ("∞" if value > 0 else "−∞")
    return format(value, f"{'+' if sign else ''}.{decimals}f")


def _usd(value: float, symbol: bool = True) -> str:
    """Dollars with 2 decimals, more for sub-cent amounts so they don't read as $0.00."""
    if not math.isfinite(value):
        return _fixed(value, 2)
    decimals = 2
    if 0 < abs(value) < 0.01:
        decimals = min(8, 1 - math.floor(math.log10(abs(value))))
    text = f"{abs(value):,.{decimals}f}"
    prefix = "-" if value < 0 else ""
    return f"{prefix}${text}" if symbol else f"{prefix}{text}"


def retrieval_shown(scores: Mapping[str, float]) -> dict[str, str]:
    """recall@k for each cutoff logged, then MRR (when logged), by the name a table gives it."""
    shown = {
        f"recall@{k}": f"{scores[f'recall_at_{k}']:.3f}"
        for k in CUTOFFS
        if f"recall_at_{k}" in scores
    }
    if "mrr" in scores:
        shown["MRR"] = f"{scores['mrr']:.3f}"
    return shown


def _retrieval(decision: Decision) -> list[str]:
    """How often a retrieving arm found the document a question came from (records that name
    their ``source_doc``), beside its answers' score: retrieval and reading fail apart."""
    arms = [a for a in decision.arms if a.retrieval]
    if not arms:
        return []
    shown = [retrieval_shown(a.retrieval) for a in arms]
    columns = list(dict.fromkeys(c for cells in shown for c in cells))
    head = ["arm", *columns, "questions"]
    rows = [
        "| "
        + " | ".join(
            [
                _inline(a.name),
                *(cells.get(c, "-") for c in columns),
                f"{a.retrieval.get('n', 0):,.0f}",
            ]
        )
        + " |"
        for a, cells in zip(arms, shown, strict=True)
    ]
    return [
        "## Retrieval on the test split",
        "",
        "How often the retrieved passages included the document the question was written from.",
        "With few documents, a high recall is easy; compare it with the number of documents.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *rows,
        "",
    ]


def _price(value: float, symbol: bool = True) -> str:
    """A price per 1,000 calls, to four places under a dollar, as the results table prints it."""
    if not math.isfinite(value) or value < 0 or value >= 1:
        return _usd(value, symbol)
    return f"{'$' if symbol else ''}{value:.4f}"


def _cents(value: float, symbol: bool = True) -> str:
    """An amount billed (a month's total, a setup): to the cent, and "< 0.01" for less."""
    if not math.isfinite(value) or value < 0:
        return _usd(value, symbol)
    sign = "$" if symbol else ""
    return f"< {sign}0.01" if 0 < value < 0.01 else f"{sign}{value:,.2f}"


def _p_value(p: float) -> str:
    return "< 0.001" if 0 <= p < 0.001 else _fixed(p, 3)


def _inline(text: str) -> str:
    # Names and sentences come from configs and runs; keep each on one Markdown line.
    return " ".join(text.split())


def _cell(text: str) -> str:
    return _inline(text).replace("|", "\\|")
