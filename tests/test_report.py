"""The decision report: decision.json, decision.md, figures and the terminal table."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shipwise.decision_types import (
    SCHEMA_VERSION,
    AnswerShare,
    ArmEvidence,
    ArmVerdict,
    BreakEven,
    Constraints,
    Decision,
    DecisionConfig,
    PairComparison,
)
from shipwise.report import decision_table, write_decision_report

VERDICT = "Ship rag: 0.780 [0.710, 0.850], not significantly worse than finetune, $12.00/month."
FINGERPRINT = "test-fp-0001"
SIMPLICITY = {"prompt": 2, "rag": 3, "finetune": 4}


def _evidence(
    name: str,
    strategy: str,
    usd_per_call: float,
    setup_usd: float,
    latency: float,
    params: dict[str, str] | None = None,
) -> ArmEvidence:
    latencies = [latency * (0.6 + 0.02 * i) for i in range(40)]
    return ArmEvidence(
        name=name,
        strategy=strategy,
        kind=strategy,
        simplicity=SIMPLICITY[strategy],
        run_id=f"run-{name}",
        metric="accuracy",
        scores={f"ex{i}": float(i % 3 != 0) for i in range(40)},
        test_fingerprint=FINGERPRINT,
        usd_per_call=usd_per_call,
        setup_usd=setup_usd,
        latency_p95_s=sorted(latencies)[37],
        latencies_s=latencies,
        params=params or {},
    )


def _verdict(
    evidence: ArmEvidence, mean: float, config: DecisionConfig, **kw: object
) -> ArmVerdict:
    fields: dict[str, object] = {
        "name": evidence.name,
        "strategy": evidence.strategy,
        "simplicity": evidence.simplicity,
        "run_id": evidence.run_id,
        "mean": mean,
        "low": mean - 0.07,
        "high": mean + 0.07,
        "n": 40,
        "usd_per_1k_calls": evidence.usd_per_call * 1000,
        "setup_usd": evidence.setup_usd,
        "compute_monthly_usd": evidence.usd_per_call * config.calls_per_month
        + evidence.setup_usd * config.refreshes_per_month,
        "people_monthly_usd": 0.0,
        "monthly_usd": evidence.usd_per_call * config.calls_per_month
        + evidence.setup_usd * config.refreshes_per_month,
        "latency_p95_s": evidence.latency_p95_s,
        "feasible": True,
        "failures": (),
        "candidate": True,
        "top_answers": (AnswerShare("yes", 0.6), AnswerShare("no", 0.4)),
    }
    fields.update(kw)
    return ArmVerdict(**fields)  # type: ignore[arg-type]


def _study(swept: bool = True) -> tuple[Decision, list[ArmEvidence]]:
    """prompt, rag, finetune (train_size 100) and, when ``swept``, finetune at 25 and 50."""
    config = DecisionConfig(
        calls_per_month=100_000,
        refreshes_per_month=2,
        constraints=Constraints(min_quality=0.6, max_p95_latency_s=2.0),
    )
    size = {"strategy.backend.train_size": "100"} if swept else {}
    evidence = [
        _evidence("prompt", "prompt", 0.0004, 0.0, 0.8),
        _evidence("rag", "rag", 0.0001, 1.0, 1.1),
        _evidence("finetune", "finetune", 0.00002, 40.0, 2.5, size),
    ]
    arms = [
        _verdict(
            evidence[0],
            0.62,
            config,
            feasible=False,
            failures=("Quality 0.550 (lower bound) is below the minimum 0.600.",),
            candidate=False,
        ),
        _verdict(evidence[1], 0.78, config),
        _verdict(
            evidence[2],
            0.80,
            config,
            feasible=False,
            failures=("p95 latency 3.35 s exceeds the maximum 2.00 s.",),
        ),
    ]
    if swept:
        for size_value, mean in (("25", 0.55), ("50", 0.70)):
            extra = _evidence(
                f"finetune-n{size_value}",
                "finetune",
                0.00002,
                40.0,
                2.5,
                {"strategy.backend.train_size": size_value},
            )
            evidence.append(extra)
            arms.append(_verdict(extra, mean, config, feasible=False))
    pairs = [
        PairComparison("rag", "prompt", 0.16, 0.05, 0.27, 0.004, 0.012, True, 0.09, True),
        PairComparison("finetune", "rag", 0.02, -0.05, 0.09, 0.5, 1.0, False, 0.09, False),
        PairComparison("finetune", "prompt", 0.18, 0.07, 0.29, 0.0, 0.0, True, 0.09, True),
    ]
    break_evens = [
        BreakEven("prompt", "rag", 2 / (0.0004 - 0.0001)),
        BreakEven("rag", "finetune", 78 / (0.0001 - 0.00002)),
        BreakEven("prompt", "finetune", 80 / (0.0004 - 0.00002)),
        BreakEven("finetune", "finetune-n25", None),
    ]
    decision = Decision(
        schema_version=SCHEMA_VERSION,
        task="ticket-triage",
        metric="accuracy",
        test_fingerprint=FINGERPRINT,
        ship="rag",
        best="finetune",
        verdict=VERDICT,
        arms=arms,
        pairs=pairs,
        break_evens=break_evens if swept else break_evens[:3],
        caveats=("40 test examples cannot settle finetune vs rag (needs a difference ≥ 0.090).",),
        config=config,
        reference_answers=(AnswerShare("yes", 0.55), AnswerShare("no", 0.45)),
    )
    return decision, evidence


def _image_shape(path: Path) -> tuple[int, ...]:
    from matplotlib.image import imread

    return tuple(imread(str(path)).shape)


def test_report_writes_json_markdown_and_every_figure(tmp_path: Path) -> None:
    decision, evidence = _study()
    written = write_decision_report(decision, evidence, tmp_path)

    assert set(written) == {
        "json",
        "markdown",
        "quality_vs_cost",
        "cost_vs_volume",
        "latency",
        "learning_curve",
    }
    loaded = json.loads((tmp_path / "decision.json").read_text())
    assert loaded["schema_version"] == SCHEMA_VERSION
    assert loaded["verdict"] == VERDICT
    assert loaded["ship"] == "rag"

    markdown = written["markdown"].read_text()
    assert VERDICT in markdown
    for arm in decision.arms:
        assert arm.name in markdown
    figures = {name: path for name, path in written.items() if name not in ("json", "markdown")}
    for name, path in figures.items():
        assert path.parent == tmp_path / "figures"
        assert f"](figures/{name}.png)" in markdown
        height, width, *_ = _image_shape(path)
        assert height > 300 and width > 300, (name, height, width)
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == sorted(
        f"{name}.png" for name in figures
    )


def test_markdown_numbers_and_sections(tmp_path: Path) -> None:
    decision, evidence = _study()
    markdown = write_decision_report(decision, evidence, tmp_path)["markdown"].read_text()

    assert f"**{VERDICT}**" in markdown
    assert "Holm" in markdown
    assert "0.780 [0.710, 0.850]" in markdown  # metric mean [low, high], 3 decimals
    assert "| $12.00 |" in markdown  # rag: 100,000 x $0.0001 + $1 x 2 refreshes
    assert "$0.40" in markdown  # prompt's $/1k calls
    assert "$0.02" in markdown  # finetune's $/1k calls, sub-dollar but not rounded away
    assert "6,667 calls/month" in markdown  # prompt = rag break-even, thousands separators
    assert "never cross" in markdown
    assert "< 0.001" in markdown
    assert "- 40 test examples cannot settle" in markdown
    assert "Calls per month: 100,000" in markdown
    assert "maximum p95 latency 2.00 s" in markdown
    assert "**rag** (shipped)" in markdown
    assert "## Answers against the references" in markdown
    assert "| *references* | “yes” 55%; “no” 45% |" in markdown
    assert "above −0.02 (the margin" in markdown


def test_learning_curve_absent_without_a_swept_parameter(tmp_path: Path) -> None:
    decision, evidence = _study(swept=False)
    written = write_decision_report(decision, evidence, tmp_path)

    assert "learning_curve" not in written
    assert not (tmp_path / "figures" / "learning_curve.png").exists()
    assert "learning_curve" not in written["markdown"].read_text()


def test_a_later_report_removes_its_stale_learning_curve(tmp_path: Path) -> None:
    write_decision_report(*_study(swept=True), tmp_path)
    assert (tmp_path / "figures" / "learning_curve.png").exists()

    write_decision_report(*_study(swept=False), tmp_path)
    assert not (tmp_path / "figures" / "learning_curve.png").exists()


def test_no_shipped_arm_renders(tmp_path: Path) -> None:
    decision, evidence = _study()
    verdict = "Ship nothing: no arm meets every constraint."
    decision = dataclasses.replace(
        decision,
        ship=None,
        verdict=verdict,
        arms=[dataclasses.replace(arm, feasible=False) for arm in decision.arms],
    )
    written = write_decision_report(decision, evidence, tmp_path)

    assert json.loads(written["json"].read_text())["ship"] is None
    markdown = written["markdown"].read_text()
    assert f"**{verdict}**" in markdown
    assert "(shipped)" not in markdown
    assert _image_shape(written["quality_vs_cost"])[0] > 300
    assert verdict in _render(decision)


def test_latency_figure_skipped_without_latencies(tmp_path: Path) -> None:
    decision, evidence = _study()
    evidence = [dataclasses.replace(e, latencies_s=()) for e in evidence]
    written = write_decision_report(decision, evidence, tmp_path)

    assert "latency" not in written
    assert "figures/latency.png" not in written["markdown"].read_text()


def test_free_arm_and_break_even_beyond_the_default_range_render(tmp_path: Path) -> None:
    # A local model costs nothing per call (the cost axis cannot be plain log) and a break-even
    # at 5 billion calls must widen the volume axis rather than be dropped.
    decision, evidence = _study()
    evidence = [
        dataclasses.replace(e, usd_per_call=0.0, setup_usd=0.0) if e.name == "prompt" else e
        for e in evidence
    ]
    arms = [
        dataclasses.replace(a, usd_per_1k_calls=0.0, setup_usd=0.0, monthly_usd=0.0)
        if a.name == "prompt"
        else a
        for a in decision.arms
    ]
    decision = dataclasses.replace(
        decision, arms=arms, break_evens=[BreakEven("rag", "finetune", 5e9)]
    )
    written = write_decision_report(decision, evidence, tmp_path)

    assert _image_shape(written["cost_vs_volume"])[1] > 300
    assert "5,000,000,000 calls/month" in written["markdown"].read_text()
    assert "| $0.00 |" in written["markdown"].read_text()


def test_figures_are_deterministic(tmp_path: Path) -> None:
    decision, evidence = _study()
    first = write_decision_report(decision, evidence, tmp_path / "a")
    second = write_decision_report(decision, evidence, tmp_path / "b")

    for name in first:
        assert first[name].read_bytes() == second[name].read_bytes(), name


def _render(decision: Decision) -> str:
    from rich.console import Console

    console = Console(record=True, width=140, file=io.StringIO())
    console.print(decision_table(decision))
    return console.export_text()


def test_decision_table_lists_every_arm_under_the_verdict() -> None:
    decision, _ = _study()
    text = _render(decision)

    assert VERDICT in " ".join(text.split())
    for arm in decision.arms:
        assert arm.name in text
    assert "SHIP" in text
    assert "0.780 [0.710, 0.850]" in text


@pytest.mark.parametrize("module", ["matplotlib", "rich"])
def test_importing_report_stays_light(module: str) -> None:
    code = f"import sys, shipwise.report; sys.exit({module!r} in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_stale_arm_is_marked_in_the_table_and_the_markdown(tmp_path: Path) -> None:
    decision, evidence = _study()
    stale_name = decision.arms[0].name
    arms = tuple(dataclasses.replace(a, stale=a.name == stale_name) for a in decision.arms)
    decision = dataclasses.replace(decision, arms=arms)
    text = _render(decision)
    assert f"{stale_name} (stale)" in text
    assert sum("(stale)" in line for line in text.splitlines()) == 1
    files = write_decision_report(decision, evidence, tmp_path)
    assert f"{stale_name} (stale: re-run it)" in files["markdown"].read_text().replace("**", "")


# --- Free-text tasks: style rules per arm and example replies ----------------------------------

RULES = ("greeting", "sign_off", "length")  # in the order the task declares them
TEXT_IDS = [f"t{i:02d}" for i in range(10)]
# Which test examples pass each rule, per arm (by index into TEXT_IDS).
PASSES = {
    "prompt": {"greeting": range(10), "sign_off": range(5), "length": range(8)},
    "rag": {"greeting": range(9), "sign_off": range(10), "length": range(10)},
}


def _reply(arm: str, i: int) -> str:
    if arm == "rag":  # markup a report must show as text, never run or render
        return f"Hi Sam,\n\nWe fixed <script>alert({i})</script> | *now* for you.\n\nThe team"
    return f"Hi Sam,\n\nWe sent order {i} again.\n\nThe team"


def _text_evidence(name: str) -> ArmEvidence:
    """An arm of a text task whose per-rule scores follow PASSES (none logged: no answers)."""
    passes = PASSES.get(name)
    style = {
        i: {rule: float(k in passes[rule]) for rule in RULES}
        for k, i in enumerate(TEXT_IDS)
        if passes
    }
    return ArmEvidence(
        name=name,
        strategy=name,
        kind=name,
        simplicity=SIMPLICITY.get(name, 1),
        run_id=f"run-{name}",
        metric="style_all",
        scores={i: (float(all(style[i].values())) if style else 0.0,) for i in TEXT_IDS},
        test_fingerprint=FINGERPRINT,
        usd_per_call=0.0001,
        setup_usd=0.0,
        latency_p95_s=1.0,
        answers={i: _reply(name, k) for k, i in enumerate(TEXT_IDS)} if passes else {},
        references={
            i: f"Hi Sam,\n\nWe resent order {k}.\n\nThe team" for k, i in enumerate(TEXT_IDS)
        },
        # long enough to be cut in the Markdown, kept whole in decision.json
        inputs={i: f"Order {k}: " + "the parcel never came. " * 80 for k, i in enumerate(TEXT_IDS)},
        style=style,
    )


def _text_report(tmp_path: Path, free_text: bool = True) -> tuple[str, dict[str, Any]]:
    from shipwise.decision import decide
    from shipwise.evaluation.aggregates import Mean

    # "finetune" ran but logged neither answers nor rule scores: it is left out of both sections
    evidence = [_text_evidence(name) for name in ("prompt", "rag", "finetune")]
    decision = decide(
        evidence, DecisionConfig(resamples=200), "replies", Mean("style_all"), free_text
    )
    written = write_decision_report(decision, evidence, tmp_path)
    return written["markdown"].read_text(), json.loads(written["json"].read_text())


def _section(markdown: str, title: str) -> str:
    return markdown.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_style_rules_table_has_each_rule_and_all_rules_per_arm(tmp_path: Path) -> None:
    markdown, loaded = _text_report(tmp_path)

    table = [
        line for line in _section(markdown, "Style rules").splitlines() if line.startswith("|")
    ]
    assert table == [
        "| rule | prompt | rag |",
        "|---|--:|--:|",
        "| `greeting` | 1.000 | 0.900 |",
        "| `sign_off` | 0.500 | 1.000 |",
        "| `length` | 0.800 | 1.000 |",
        "| *all rules* | 0.500 | 0.900 |",
    ]
    assert "Share of the 10 test replies" in markdown
    arms = {arm["name"]: arm for arm in loaded["arms"]}
    assert arms["prompt"]["style"] == {
        "rules": {"greeting": 1.0, "sign_off": 0.5, "length": 0.8},
        "all_rules": 0.5,
        "n": 10,
    }
    assert arms["finetune"]["style"] is None
    # all rules is the primary metric style_all, recomputed from the rules
    assert arms["rag"]["mean"] == pytest.approx(arms["rag"]["style"]["all_rules"])


def test_three_examples_show_every_answering_arm_side_by_side(tmp_path: Path) -> None:
    markdown, loaded = _text_report(tmp_path)

    examples = loaded["examples"]
    ids = [e["id"] for e in examples]
    assert len(set(ids)) == 3 and ids == sorted(ids) and set(ids) <= set(TEXT_IDS)
    assert ids == [e["id"] for e in _text_report(tmp_path / "again")[1]["examples"]]
    rows = _section(markdown, "Example replies").splitlines()
    assert f"| | {' | '.join(ids)} |" in rows
    for example in examples:
        k = TEXT_IDS.index(example["id"])
        assert set(example["replies"]) == {"prompt", "rag"}  # finetune gave no answers
        assert example["replies"]["rag"] == _reply("rag", k)
        assert len(example["input"]) > 1_500  # whole in decision.json
        broken = [r for r in RULES if k not in PASSES["prompt"][r]]
        assert example["failed_rules"]["prompt"] == broken
    # prompt's replies, with line breaks kept and the rules each one breaks under it
    cells = []
    for example in examples:
        k = TEXT_IDS.index(example["id"])
        broken = [f"`{r}`" for r in RULES if k not in PASSES["prompt"][r]]
        marks = "*breaks* " + ", ".join(broken) if broken else "*passes every rule*"
        cells.append(_reply("prompt", k).replace("\n", "<br>") + "<br><br>" + marks)
    assert f"| **prompt** | {' | '.join(cells)} |" in rows
    assert sum(row.startswith("| **") for row in rows) == 2
    (inputs,) = [row for row in rows if row.startswith("| *input* |")]
    assert inputs.count("more characters]*") == 3  # long inputs are cut, and say so


def test_example_replies_are_escaped_as_text_in_the_rendered_html(tmp_path: Path) -> None:
    from markdown_it import MarkdownIt

    markdown, loaded = _text_report(tmp_path)
    assert "<script>" not in markdown

    rendered = MarkdownIt("commonmark").enable("table").render(markdown)
    assert "<script" not in rendered and "<em>now</em>" not in rendered
    for example in loaded["examples"]:
        k = TEXT_IDS.index(example["id"])
        # the reply reads as written, in its own cell: "|" and "*" did not become markup
        shown = f"We fixed &lt;script&gt;alert({k})&lt;/script&gt; | *now* for you."
        assert f"<td>Hi Sam,<br><br>{shown}<br><br>The team" in rendered


def test_a_label_task_report_has_neither_section(tmp_path: Path) -> None:
    decision, evidence = _study()
    markdown = write_decision_report(decision, evidence, tmp_path)["markdown"].read_text()
    assert "## Style rules" not in markdown and "## Example replies" not in markdown
    loaded = json.loads((tmp_path / "decision.json").read_text())
    assert loaded["examples"] == [] and all(arm["style"] is None for arm in loaded["arms"])

    # the same text arms decided as a task whose answers are not free text: no examples
    markdown, loaded = _text_report(tmp_path / "label", free_text=False)
    assert "## Example replies" not in markdown and loaded["examples"] == []


def test_json_answers_show_without_their_null_fields(tmp_path: Path) -> None:
    decision, evidence = _study()
    nulls, fresno = '{"from": null, "to": null}', '{"from": null, "to": "Fresno"}'
    shares = (AnswerShare(nulls, 0.6), AnswerShare(fresno, 0.4))
    decision = dataclasses.replace(decision, reference_answers=shares)
    markdown = write_decision_report(decision, evidence, tmp_path)["markdown"].read_text()
    row = next(line for line in markdown.splitlines() if line.startswith("| *references*"))
    assert "“{}” 60%" in row and '“{"to": "Fresno"}” 40%' in row, row
    assert "JSON without its null fields" in markdown


def test_results_table_says_shared_settings_and_skip_reasons_once_and_whole() -> None:
    from rich.console import Console

    from shipwise.report import results_table

    def result(name: str, mean: float) -> dict[str, Any]:
        primary = {"mean": mean, "low": mean - 0.1, "high": mean + 0.05, "n": 20}
        summary = {
            "metric": "macro_f1",
            "primary": primary,
            "means": {"macro_f1": mean},
            "latency_p95_s": 0.5,
            "compute_s_mean": 0.1,
            "usd_per_1k_calls": 0.01,
        }
        return {"run_name": name, "splits": {"test": {"summary": summary}}, "setup_usd": 0.0}

    reason = (
        "task 'reviews' has no documents to retrieve from (/tmp/project/data/reviews/docs is"
        " missing): import with --docs-col COL, or leave the retrieving arms out"
    )
    tuned = result("finetune arms.backend.train_size=60 limit=20", 0.9)
    retrieving = result("rag limit=20", 0.7)
    retrieving["splits"]["test"]["retrieval"] = {
        "retrieval.recall_at_1": 0.65, "retrieval.recall_at_3": 0.9, "retrieval.mrr": 0.771
    }  # fmt: skip
    table = results_table(
        [result("prompt limit=20", 0.6), tuned, retrieving],
        skipped=[("rag_finetune limit=20", reason)],
    )
    console = Console(width=160, record=True)
    console.print(table)
    text = " ".join(console.export_text().split())  # the caption wraps at the table's width
    assert f"rag_finetune was skipped: {reason}" in text  # whole, not cut at 80 characters
    assert "rag retrieval on test: recall @1 0.650, @3 0.900, MRR 0.771" in text
    assert "Every arm ran with: limit=20" in text
    table_part = text.split("rag_finetune was skipped")[0]
    assert "│ finetune │" in table_part and "limit=20" not in table_part  # named below
    assert "train_size" not in table_part
    assert "Every arm ran with: limit=20 finetune also ran with: train_size=60" in text


def test_amounts_billed_are_to_the_cent_and_prices_per_1k_calls_to_four_places() -> None:
    from shipwise.report import _cents, _price

    assert _cents(6e-8) == "< $0.01" and _cents(6e-8, symbol=False) == "< 0.01"
    assert _cents(0.0) == "$0.00" and _cents(600.384) == "$600.38"
    assert _cents(1234.5, symbol=False) == "1,234.50"
    # prices per 1k calls: four places, as in the results table (0.0127 is not 0.01)
    assert _price(0.0127) == "$0.0127" and _price(0.008, symbol=False) == "0.0080"
    assert _price(12.5) == "$12.50"
