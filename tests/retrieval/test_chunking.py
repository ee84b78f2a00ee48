from __future__ import annotations

import re
from itertools import pairwise

import pytest

from shipwise.errors import ConfigError
from shipwise.retrieval.chunking import Chunk, chunk_document, chunk_documents
from shipwise.tasks.docs import Document


def doc(text: str, doc_id: str = "faq/shipping", **metadata: object) -> Document:
    return Document(doc_id, text, f"{doc_id}.md", metadata)


def texts(chunks: list[Chunk]) -> list[str]:
    return [c.text for c in chunks]


def sentence(n: int, words: int) -> str:
    return " ".join(f"w{n}x{k}" for k in range(words)).capitalize() + "."


PARAGRAPHS = [
    " ".join(sentence(10 * p + s, 4 + (p + s) % 9) for s in range(1 + p % 6)) for p in range(14)
]
LONG = doc("\n\n".join(PARAGRAPHS))


def test_a_short_document_is_one_chunk_of_its_stripped_text() -> None:
    d = doc("\n  Parcels ship within two days.\n\n", lang="en")
    [chunk] = chunk_document(d, size=200, overlap=20)
    assert chunk.text == "Parcels ship within two days."
    assert d.text[chunk.start : chunk.end] == chunk.text
    assert (chunk.id, chunk.doc_id, chunk.index) == ("faq/shipping#0", "faq/shipping", 0)
    assert chunk.doc_digest == d.digest
    assert chunk.metadata == {"lang": "en"}


def test_long_document_chunks_fit_and_cover_every_word_in_order() -> None:
    assert any(len(p) > 120 for p in PARAGRAPHS) and any(len(p) < 60 for p in PARAGRAPHS)
    chunks = chunk_document(LONG, size=120, overlap=0)
    assert len(chunks) > 5
    assert all(0 < len(c.text) <= 120 for c in chunks)
    assert all(LONG.text[c.start : c.end] == c.text for c in chunks)
    assert [w for c in chunks for w in c.text.split()] == LONG.text.split()


def test_paragraphs_that_fit_are_never_split() -> None:
    chunks = chunk_document(LONG, size=120, overlap=0)
    for paragraph in PARAGRAPHS:
        if len(paragraph) <= 120:
            assert any(paragraph in c.text for c in chunks), paragraph
    # A chunk ends inside a paragraph only when that paragraph alone is too long.
    ends = {LONG.text.index(p) + len(p) for p in PARAGRAPHS}
    for c in chunks:
        if c.end not in ends:
            paragraph = next(p for p in PARAGRAPHS if c.text.split()[-1] in p.split())
            assert len(paragraph) > 120


def test_overlapping_chunks_cover_the_text_without_gaps() -> None:
    chunks = chunk_document(LONG, size=120, overlap=40)
    assert all(len(c.text) <= 120 for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(LONG.text)
    for prev, nxt in pairwise(chunks):
        assert prev.start < nxt.start <= prev.end + 2  # at most the blank line between
        assert prev.end < nxt.end


def test_a_giant_sentence_is_split_between_words() -> None:
    words = [f"word{k}" for k in range(300)]
    chunks = chunk_document(doc(" ".join(words)), size=50, overlap=0)
    assert len(chunks) > 10
    assert all(len(c.text) <= 50 for c in chunks)
    assert [w for c in chunks for w in c.text.split()] == words


def test_only_a_word_longer_than_a_chunk_is_cut() -> None:
    chunks = chunk_document(doc("short " + "x" * 25 + " tail"), size=10, overlap=3)
    assert texts(chunks) == ["short", "xxxxxxxxxx", "xxxxxxxxxx", "xxxxx tail"]


def test_overlap_carries_whole_trailing_sentences() -> None:
    text = (
        "Orders ship in two days. Refunds take a week. Returns are free. "
        "Labels are printed online. Couriers collect at noon."
    )
    chunks = chunk_document(doc(text), size=50, overlap=25)
    assert texts(chunks) == [
        "Orders ship in two days. Refunds take a week.",
        "Refunds take a week. Returns are free.",
        "Returns are free. Labels are printed online.",
        # "Labels are printed online." is 26 > 25 characters: whole words instead.
        "are printed online. Couriers collect at noon.",
    ]


def test_overlap_falls_back_to_whole_words_within_the_limit() -> None:
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota"]
    chunks = chunk_document(doc(" ".join(words)), size=20, overlap=12)
    assert texts(chunks)[:2] == ["alpha beta gamma", "beta gamma delta"]
    for prev, nxt in pairwise(chunks):
        carried = nxt.text[: max(prev.end - nxt.start, 0)]
        assert 0 < len(carried) <= 12
        assert prev.text.endswith(carried)
        assert set(carried.split()) <= set(words)  # no word was cut to fit the overlap


def test_ids_are_positional_and_stable() -> None:
    first = chunk_document(LONG, size=100, overlap=30)
    assert [c.id for c in first] == [f"faq/shipping#{i}" for i in range(len(first))]
    assert [c.index for c in first] == list(range(len(first)))
    assert chunk_document(LONG, size=100, overlap=30) == first


def test_chunk_documents_chunks_each_document_in_order() -> None:
    other = doc("Returns are free within thirty days.", doc_id="faq/returns")
    chunks = chunk_documents([LONG, other], size=100, overlap=0)
    assert chunks[-1].id == "faq/returns#0"
    assert chunks[:-1] == chunk_document(LONG, size=100, overlap=0)


@pytest.mark.parametrize(
    ("text", "size", "expected"),
    [
        # Were the point in "£3.50" a sentence end, "£3." would join the first chunk.
        (
            "We ship daily. It costs £3.50 per parcel.",
            30,
            ["We ship daily.", "It costs £3.50 per parcel."],
        ),
        ("Hi. Use a courier, e.g. DHL or UPS.", 31, ["Hi.", "Use a courier, e.g. DHL or UPS."]),
        ("Hi. Ask for Mr. Smith at the desk.", 31, ["Hi.", "Ask for Mr. Smith at the desk."]),
        ("Hi. See clause No. 5 of the terms.", 31, ["Hi.", "See clause No. 5 of the terms."]),
        ("Hi. Pay $12.99 by card today.", 27, ["Hi.", "Pay $12.99 by card today."]),
        ("Hi. I said no. We left at noon.", 17, ["Hi. I said no.", "We left at noon."]),
    ],
)
def test_sentence_boundaries_skip_amounts_and_abbreviations(
    text: str, size: int, expected: list[str]
) -> None:
    assert texts(chunk_document(doc(text), size=size, overlap=0)) == expected


def test_a_heading_moves_on_to_the_paragraph_it_introduces() -> None:
    text = "# Intro\n\nWe ship parcels worldwide.\n\n# Refunds\n\nRefunds take fourteen days."
    chunks = chunk_document(doc(text), size=60, overlap=0)
    assert texts(chunks) == [
        "# Intro\n\nWe ship parcels worldwide.",
        "# Refunds\n\nRefunds take fourteen days.",
    ]


def test_whitespace_only_text_has_no_chunks() -> None:
    assert chunk_document(doc(" \n\n\t \n"), size=50, overlap=0) == []


@pytest.mark.parametrize(
    ("size", "overlap", "key"),
    [
        (0, 0, "strategy.chunk_size"),
        (-5, 0, "strategy.chunk_size"),
        (100, -1, "strategy.chunk_overlap"),
        (100, 100, "strategy.chunk_overlap"),
        (100, 150, "strategy.chunk_overlap"),
    ],
)
def test_invalid_size_or_overlap_names_the_config_key(size: int, overlap: int, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        chunk_document(doc("Some text."), size=size, overlap=overlap)
    assert caught.value.where == key and caught.value.fix
    with pytest.raises(ConfigError, match=re.escape(key)):
        chunk_documents([], size=size, overlap=overlap)
