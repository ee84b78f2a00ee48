"""Free-text metrics: ROUGE-L, chrF, embedding cosine, word counts and reading level."""

from __future__ import annotations

import pytest

from shipwise.evaluation.text_metrics import (
    chrf,
    cosine_similarity,
    reading_grade,
    rouge_l,
    words,
)
from shipwise.retrieval.embedders import HashingEmbedder

REF = "We've sent a new kettle today and refunded the delivery charge."


def test_rouge_l_rewards_the_longest_common_subsequence() -> None:
    assert rouge_l(REF, REF) == pytest.approx(1.0)
    assert rouge_l("Bananas are yellow.", REF) == 0.0
    partial = rouge_l("We've sent a kettle today.", REF)
    reordered = rouge_l("Today a kettle we've sent.", REF)
    assert 0.3 < partial < 1.0 and reordered < partial  # order matters, unlike token F1


def test_rouge_l_stems_words_as_rouge_1_5_5_does() -> None:
    assert rouge_l("we refund the charges", "we refunded the charge") == pytest.approx(1.0)


def test_chrf_is_scaled_to_one_and_tolerates_inflection() -> None:
    assert chrf(REF, REF) == pytest.approx(1.0)
    near = chrf("We have sent a new kettle today and refunded delivery charges.", REF)
    far = chrf("Your jumper is on its way back to the warehouse.", REF)
    assert 0.6 < near < 1.0 and far < 0.35


@pytest.mark.parametrize("metric", [rouge_l, chrf])
def test_empty_texts_match_only_empty_texts(metric: object) -> None:
    assert metric("", REF) == 0.0  # type: ignore[operator]
    assert metric("  ", "") == 1.0  # type: ignore[operator]


def test_cosine_takes_the_best_reference_and_scores_empty_replies_zero() -> None:
    embedder = HashingEmbedder()
    scores = cosine_similarity(
        embedder,
        [REF, "kettle refunded", ""],
        [[REF], ["bananas are yellow", "the kettle was refunded"], [REF]],
    )
    assert scores[0] == pytest.approx(1.0, abs=1e-6)
    assert 0.5 < scores[1] < 1.0  # the second reference, not the unrelated first
    assert scores[2] == 0.0
    with pytest.raises(ValueError, match="2 predictions but 1"):
        cosine_similarity(embedder, ["a", "b"], [["a"]])


def test_words_keep_contractions_hyphens_and_order_numbers_whole() -> None:
    assert words("We've sent KL-123456 to you, re-packed.") == [
        "We've",
        "sent",
        "KL-123456",
        "to",
        "you",
        "re-packed",
    ]


def test_reading_grade_separates_plain_from_dense_prose() -> None:
    plain = "We sent a new lamp today. It should reach you on Friday."
    dense = (
        "Notwithstanding the aforementioned considerations, organisational responsibilities"
        " regarding comprehensive reimbursement necessitate individualised administrative"
        " verification procedures."
    )
    assert reading_grade(plain) < 6 < 14 < reading_grade(dense)
    assert reading_grade("") == 0.0
