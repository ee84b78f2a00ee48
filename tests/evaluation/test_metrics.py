from __future__ import annotations

import pytest

from shipwise.evaluation import metrics


def test_squad_normalization_and_exact_match() -> None:
    assert metrics.normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert metrics.exact_match("the 45 days.", "45 Days") == 1.0
    assert metrics.exact_match("46 days", "45 days") == 0.0


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("45 days", "45 days", 1.0),
        ("within 45 days of delivery", "45 days", 2 * (2 / 5) * 1.0 / (2 / 5 + 1.0)),
        ("Paris", "London", 0.0),
        ("", "", 1.0),
        ("", "x", 0.0),
    ],
)
def test_token_f1(prediction: str, reference: str, expected: float) -> None:
    assert metrics.token_f1(prediction, reference) == pytest.approx(expected)


def test_label_accuracy_ignores_case_and_wrapping() -> None:
    assert metrics.label_accuracy(' "Refund". ', "refund") == 1.0
    assert metrics.label_accuracy("refund please", "refund") == 0.0


def test_json_object_is_found_inside_fences_and_chatter() -> None:
    text = 'Sure!\n```json\n{"category": "other", "priority": "low"}\n```'
    assert metrics.parse_json_object(text) == {"category": "other", "priority": "low"}
    assert metrics.parse_json_object("no json {here") is None
    # a broken object is no answer, though an object written inside it parses on its own
    broken = '{"CITY": null, "DATE": "["{"CITY": null, "DATE": "null"}"]}'
    assert metrics.parse_json_object(broken) is None
    scores = metrics.json_scores(broken, '{"CITY": null, "DATE": null}', ["CITY", "DATE"])
    assert scores["json_valid"] == 0.0 and scores["field_accuracy"] == 0.0


def test_json_scores_per_field() -> None:
    ref = '{"category": "billing_issue", "priority": "high"}'
    both = metrics.json_scores(
        '{"category": "Billing_Issue", "priority": "high"}', ref, ["category", "priority"]
    )
    assert both == {
        "json_valid": 1.0,
        "field.category": 1.0,
        "field.priority": 1.0,
        "field_accuracy": 1.0,
        "json_match": 1.0,
        "slot.hits": 2,
        "slot.predicted": 2,
        "slot.gold": 2,
    }
    half = metrics.json_scores(
        '{"category": "billing_issue", "priority": "low"}', ref, ["category", "priority"]
    )
    assert half["field_accuracy"] == 0.5 and half["json_match"] == 0.0
    missing = metrics.json_scores('{"category": "billing_issue"}', ref, ["category", "priority"])
    assert missing["json_valid"] == 0.0 and missing["field.category"] == 1.0
    broken = metrics.json_scores("billing_issue, high", ref, ["category", "priority"])
    assert broken["json_valid"] == 0.0 and broken["field_accuracy"] == 0.0
