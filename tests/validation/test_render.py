"""The terminal report and its JSON twin."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from shipwise.tasks.task import OutputSpec
from shipwise.validation.model import Context, Finding, HostedPricing, Report, Tokens
from shipwise.validation.render import render, to_json
from shipwise.validation.run import validate_files

STATS = {
    "size": {"train": 120, "test": 60},
    "tokens": {
        "tokenizer": "words",
        "context_window": 8192,
        "max_length": 512,
        "splits": {
            "train": {
                "examples": 120,
                "tokens": {"min": 11, "p10": 11.9, "median": 15.5, "p90": 19.1, "max": 20},
                "assistant_tokens": {"min": 1, "p10": 1.0, "median": 1.0, "p90": 1.0, "max": 3},
            }
        },
    },
    "balance": {
        "kind": "label",
        "counts": {
            "label": {
                "train": {"billing": 100, "shipping": 20, "returns": 0},
                "test": {"billing": 30, "shipping": 29, "returns": 0, "(not allowed)": 1},
            }
        },
    },
    "hosted_cost": {
        "model": "gpt-4o-mini",
        "tokenizer": "approx",
        "examples": 120,
        "tokens_per_epoch": 4800,
        "capped_examples": 0,
        "max_tokens_per_example": 65536,
        "n_epochs": 3,
        "n_epochs_setting": "auto",
        "billed_tokens": 14400,
        "usd": 0.0432,
        "usd_per_1m_tokens": 3.0,
    },
}


def duplicate(line: int) -> Finding:
    return Finding(
        "warning",
        "duplicate",
        f"same messages and answer as line {line - 100}",
        "delete the repeated line",
        "/data/task/train.jsonl",
        line,
        "train",
    )


def report(findings: list[Finding]) -> Report:
    files = {"train": "/data/task/train.jsonl", "test": "/data/task/test.jsonl"}
    return Report("banking", files, findings, STATS)


def rendered(rep: Report) -> str:
    console = Console(record=True, width=120)
    render(rep, console)
    return console.export_text()


LEAK = Finding(
    "error",
    "leakage",
    "input also in train (the few-shot pool) at line 7",
    "remove the item from test",
    "/data/task/test.jsonl",
    3,
    "test",
)


def test_render_caps_each_check_and_ends_with_the_verdict() -> None:
    text = rendered(report([duplicate(101 + i) for i in range(12)] + [LEAK]))
    assert "Validation of banking" in text
    assert "/data/task/train.jsonl" in text and "120" in text
    assert "leakage" in text and "test.jsonl:3" in text
    assert "train.jsonl:110" in text  # the 10th duplicate is shown ...
    assert "train.jsonl:111" not in text  # ... the 11th is not
    assert "… and 2 more duplicate (see --json)" in text
    assert text.index("leakage") < text.index("duplicate")  # errors first
    assert text.count("delete the repeated line") == 1  # a repeated fix is said once
    assert text.rstrip().endswith("1 error, 12 warnings: fix the errors before running the study")


def test_render_shows_the_statistics() -> None:
    text = rendered(report([]))
    assert "Tokens per example (words; context window 8,192; max_length 512)" in text
    assert "15.5" in text and "19.1" in text
    assert "billing 100 · shipping 20 · returns 0" in text
    assert "(not allowed) 1" in text
    assert "2/3" in text  # classes present in train
    assert "4,800 tokens/epoch x 3 epochs (auto) = 14,400 billed tokens ≈ $0.04" in text
    assert "(tokenizer: approx)" in text
    assert text.rstrip().endswith("clean: no problems found")


def test_warnings_only_and_markup_is_shown_as_written() -> None:
    odd = Finding("warning", "near_duplicate", "input [bold]x[/bold] again", "fix [it]", None)
    rep = report([odd])
    text = rendered(rep)
    assert "input [bold]x[/bold] again" in text
    assert "0 errors, 1 warning: review the warnings before running the study" in text
    assert rep.exit_code == 1


def test_to_json_round_trips_with_sorted_keys() -> None:
    rep = report([LEAK, duplicate(105)])
    text = to_json(rep)
    data = json.loads(text)
    assert data == json.loads(json.dumps(rep.as_json()))
    assert data["exit_code"] == rep.exit_code == 2
    assert data["counts"] == {"errors": 1, "warnings": 1}
    assert data["findings"][0]["check"] == "leakage"
    assert list(data) == sorted(data)
    assert to_json(rep) == text  # the same report prints the same text
    assert report([]).exit_code == 0


def test_render_a_real_validation(tmp_path: Path) -> None:
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"question number {i} about {w}"},
                {"role": "assistant", "content": "yes" if i % 2 else "no"},
            ]
        }
        for i, w in enumerate(["parcels", "refunds", "vans", "labels", "doors", "boxes"] * 2)
    ]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    tokens = Tokens("words", lambda texts: [len(t.split()) for t in texts], context_window=64)
    hosted = HostedPricing("gpt-4o-mini", "approx", "auto", 3.0, 65536)
    context = Context(OutputSpec("label", labels=("yes", "no", "maybe")), tokens, hosted=hosted)
    rep = validate_files("tiny", {"train": tmp_path / "train.jsonl"}, context)
    text = rendered(rep)
    assert "only 12 examples in train" in text
    assert "class_missing_train" in text and "maybe" in text
    assert "Tokens per example (words; context window 64)" in text
    assert "Hosted fine-tune (gpt-4o-mini): 12 train examples" in text
    assert "0 errors, 2 warnings" in text
    assert json.loads(to_json(rep))["stats"]["size"] == {"train": 12}


def test_balanced_labels_are_not_named_as_both_the_most_and_least_common() -> None:
    from shipwise.validation.render import _balance_tables

    def table(counts: dict[str, int]) -> str:
        console = Console(record=True, width=200)
        _balance_tables({"counts": {"label": {"train": counts}}}, console)
        return console.export_text()

    even = table({"card_arrival": 27, "terminate_account": 27})
    assert "27 each" in even and "card_arrival (27)" not in even
    skewed = table({"card_arrival": 30, "terminate_account": 3})
    assert "card_arrival (30)" in skewed and "terminate_account (3)" in skewed
