from __future__ import annotations

import math

import pytest

from shipwise.retrieval.lexical import BM25Index, reciprocal_rank_fusion, tokenize

DOCS = {
    "refunds": "Refunds are paid to the original card within five working days.",
    "returns": "Returns are free: print a label and drop the parcel at any post office.",
    "tracking": "Track a parcel with the tracking number from the dispatch email.",
    "customs": "Parcels sent outside the UK may be charged customs duty on arrival.",
    "damaged": "A damaged parcel is replaced or refunded once the courier confirms it.",
}


def index(docs: dict[str, str] = DOCS) -> BM25Index:
    built = BM25Index()
    built.add(list(docs), list(docs.values()))
    return built


def ids(results: list[tuple[str, float]]) -> list[str]:
    return [doc_id for doc_id, _ in results]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Refunds take 3 days", ["refund", "take", "3", "day"]),
        ("The customer's parcels, the courier’s van", ["customer", "parcel", "courier", "van"]),
        ("Is the bus late? It is.", ["bus", "late"]),
        ("Our policies, a class status x 7", ["policy", "class", "status", "7"]),
        ("ORDER #A-1234", ["order", "1234"]),
        ("", []),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_the_document_with_the_query_terms_ranks_first() -> None:
    results = index().search("How long do refunds take?", top_k=3)
    assert ids(results)[0] == "refunds"
    assert ids(index().search("customs duty", top_k=3)) == ["customs"]


def test_scores_are_positive_best_first_and_follow_the_bm25_formula() -> None:
    docs = {"a": "apple banana", "b": "apple cherry cherry", "c": "durian"}
    results = index(docs).search("cherry", top_k=10)
    assert ids(results) == ["b"]
    n, df, tf, length, average, k1, b = 3, 1, 2, 3, 6 / 3, 1.5, 0.75
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    expected = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / average))
    assert results[0][1] == pytest.approx(expected)
    assert index(docs).search("zebra", top_k=10) == []
    scores = [score for _, score in index().search("parcel refund", top_k=10)]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)


def test_a_rare_term_outweighs_a_common_one() -> None:
    docs = {
        "common": "parcel parcel parcel delivery",
        "rare": "parcel insurance delivery note",
        "filler1": "parcel delivery times",
        "filler2": "parcel delivery address",
    }
    # "parcel" is everywhere; "insurance" is in one document, so it decides the ranking.
    assert ids(index(docs).search("parcel insurance", top_k=2)) == ["rare", "common"]


def test_add_replace_and_remove_update_results_and_length() -> None:
    built = index()
    assert len(built) == 5
    assert built.search("gift", top_k=3) == []  # searched once before the edits
    built.add(["gift"], ["Gift cards cannot be refunded or exchanged for cash."])
    assert len(built) == 6
    assert ids(built.search("gift", top_k=3)) == ["gift"]

    built.add(["gift"], ["Vouchers expire after twelve months."])
    assert len(built) == 6
    assert built.search("gift", top_k=3) == []
    assert ids(built.search("voucher", top_k=3)) == ["gift"]

    assert ids(built.search("refund card parcel", top_k=10))[0] == "refunds"
    built.remove(["gift", "refunds", "no-such-id"])
    assert len(built) == 4
    assert built.search("voucher", top_k=3) == []
    rest = index({k: v for k, v in DOCS.items() if k != "refunds"})
    assert built.search("refund card parcel", top_k=10) == rest.search("refund card parcel", 10)


def test_replacing_and_removing_match_an_index_built_without_them() -> None:
    edited = index()
    edited.add(["returns"], ["Temporary text about parcels."])
    edited.add(["returns"], [DOCS["returns"]])
    edited.add(["extra"], ["An extra parcel document."])
    edited.remove(["extra"])
    query = "parcel refunded label"
    assert edited.search(query, top_k=5) == index().search(query, top_k=5)


def test_allowed_filters_ids_and_top_k_limits() -> None:
    built = index()
    everything = ids(built.search("parcel", top_k=10))
    assert len(everything) == 4 and "refunds" not in everything
    filtered = built.search("parcel", top_k=10, allowed=lambda doc_id: doc_id != everything[0])
    assert ids(filtered) == everything[1:]
    assert ids(built.search("parcel", top_k=2, allowed=lambda d: d in {"customs", "damaged"})) == [
        d for d in everything if d in {"customs", "damaged"}
    ]
    assert ids(built.search("parcel", top_k=2)) == everything[:2]
    assert built.search("parcel", top_k=0) == []
    assert BM25Index().search("parcel", top_k=5) == []


def test_ties_are_broken_by_id_whatever_the_insertion_order() -> None:
    names = ["delta", "alpha", "charlie", "bravo"]
    forward, backward = BM25Index(), BM25Index()
    forward.add(names, ["same parcel text"] * 4)
    backward.add(names[::-1], ["same parcel text"] * 4)
    expected = sorted(names)
    assert ids(forward.search("parcel", top_k=4)) == expected
    assert forward.search("parcel", top_k=4) == backward.search("parcel", top_k=4)
    assert ids(forward.search("parcel", top_k=2)) == expected[:2]


def test_add_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        BM25Index().add(["a", "b"], ["only one text"])


def test_reciprocal_rank_fusion_by_hand() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]], k=10)
    expected = {"a": 1 / 11 + 1 / 12, "c": 1 / 13 + 1 / 11, "b": 1 / 12}
    assert ids(fused) == ["a", "c", "b"]
    assert dict(fused) == pytest.approx(expected)
    assert reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]], k=10, top_k=2) == fused[:2]


def test_reciprocal_rank_fusion_ties_and_duplicates() -> None:
    # "y" and "x" have equal scores: the id decides, not the order they were met in.
    assert ids(reciprocal_rank_fusion([["y", "x"], ["x", "y"]])) == ["x", "y"]
    # An id repeated within one ranking counts once, at its first rank.
    assert dict(reciprocal_rank_fusion([["a", "a", "b"]], k=0)) == pytest.approx(
        {"a": 1.0, "b": 1 / 3}
    )
    assert reciprocal_rank_fusion([]) == []
