"""Free-text metrics: small functions of (prediction, reference) -> score in [0, 1].

ROUGE-L comes from Google's ``rouge-score`` (the reimplementation of ROUGE-1.5.5) and chrF from
``sacrebleu``: both are the reference implementations papers report, so scores compare across
projects. Semantic similarity is the cosine of the configured embedder's unit vectors; it is
batched because an embedder is cheapest on many texts at once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from shipwise.retrieval.embedders import Embedder

# The metrics a text task may choose in ``output.metrics``; ``style`` expands to one score per
# declared rule plus their pass rate, ``judge`` to the judge's score (see the Evaluator).
TEXT_METRICS = ("similarity", "rouge_l", "chrf", "style", "judge")
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


@functools.lru_cache(maxsize=1)
def _rouge() -> Any:
    from rouge_score import rouge_scorer

    # Porter stemming as in the ROUGE-1.5.5 "-m" setting most papers report.
    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


@functools.lru_cache(maxsize=1)
def _chrf() -> Any:
    from sacrebleu.metrics import CHRF

    return CHRF()  # chrF2: character 6-grams, beta 2 (sacrebleu's default signature)


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (longest common subsequence of stemmed words)."""
    if not prediction.strip() or not reference.strip():
        return float(prediction.strip() == reference.strip())
    return float(_rouge().score(reference, prediction)["rougeL"].fmeasure)


def chrf(prediction: str, reference: str) -> float:
    """Sentence-level chrF (character n-gram F-score), scaled from sacrebleu's 0-100 to 0-1."""
    if not prediction.strip() or not reference.strip():
        return float(prediction.strip() == reference.strip())
    return float(_chrf().sentence_score(prediction, [reference]).score) / 100.0


def words(text: str) -> list[str]:
    """Words as a reader counts them: letters and digits, with inner apostrophes and hyphens."""
    return _WORD.findall(text)


def reading_grade(text: str) -> float:
    """Flesch-Kincaid grade level (textstat); 0 for text with no words."""
    import textstat

    if not words(text):
        return 0.0
    return float(textstat.flesch_kincaid_grade(text))


def cosine_similarity(
    embedder: Embedder, predictions: Sequence[str], references: Sequence[Sequence[str]]
) -> list[float]:
    """Per example, the best cosine between the prediction and any of its references.

    One ``embed`` call for every text; empty predictions score 0 (an embedder would still
    place them somewhere). Negative cosines are clipped to 0 so the score stays in [0, 1].
    """
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} reference lists")
    flat = [r for refs in references for r in refs]
    if not predictions:
        return []
    vectors = embedder.embed([*predictions, *flat])
    preds, refs = vectors[: len(predictions)], vectors[len(predictions) :]
    out, start = [], 0
    for i, group in enumerate(references):
        block = refs[start : start + len(group)]
        start += len(group)
        if not predictions[i].strip() or not len(block):
            out.append(0.0)
            continue
        out.append(float(np.clip((block @ preds[i]).max(), 0.0, 1.0)))
    return out
