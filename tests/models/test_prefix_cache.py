"""The shared-prefix cache on a tiny random Llama: same answers, kept tensors untouched."""

from __future__ import annotations

from typing import Any

import pytest

from shipwise.models.base import GenerationSettings
from shipwise.models.constrained import TokenTrie
from shipwise.models.decoding import generate_batch
from shipwise.models.prefix_cache import PrefixCache, common_prefix_length
from tests.conftest import tiny_llama

torch = pytest.importorskip("torch")
PAD, END = 0, 1
SHARED = list(range(10, 40))  # 30 tokens every prompt starts with, like a system prompt


class Tokens:
    """Just enough of a tokenizer for generate_batch: ids in, their digits out."""

    pad_token_id = PAD
    eos_token_id = END

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return " ".join(str(i) for i in ids)


@pytest.fixture(scope="module")
def model() -> Any:
    return tiny_llama(pad_token_id=PAD, eos_token_id=END, bos_token_id=2).eval()


def rows() -> list[list[int]]:
    # Different lengths after the shared part: the padding lands between prefix and rest.
    return [[*SHARED, 41, 42, 43, 44, 45], [*SHARED, 50, 51], [*SHARED, 41, 60, 61, 62]]


def answers(model: Any, prompts: list[list[int]], cache: PrefixCache | None, **kw: Any) -> Any:
    settings = GenerationSettings(max_new_tokens=6, **kw)
    prefix = cache.shared(model, prompts) if cache is not None else None
    if cache is not None:
        assert prefix is not None and len(prefix.tokens) == common_prefix_length(prompts)
    return generate_batch(model, Tokens(), prompts, settings, [END], prefix)


@pytest.mark.parametrize(
    ("prompts", "length"),
    [([[1, 2, 3], [1, 2, 4], [1, 2]], 2), ([[5, 6]], 2), ([[1], [2]], 0), ([], 0)],
)
def test_common_prefix_length(prompts: list[list[int]], length: int) -> None:
    assert common_prefix_length(prompts) == length


def test_answers_with_the_prefix_cache_equal_those_without(model: Any) -> None:
    plain = answers(model, rows(), None)
    cache = PrefixCache(min_tokens=8)
    cached = answers(model, rows(), cache)
    assert [c.text for c in cached] == [c.text for c in plain]
    assert all(c.completion_tokens > 0 for c in cached)
    assert [c.prompt_tokens for c in cached] == [len(r) for r in rows()]  # prefix counted
    assert cache.tokens_computed == len(SHARED)


def test_the_next_tokens_scores_match_a_full_forward(model: Any) -> None:
    """Padding between the cached prefix and the rest changes no real token's position."""
    cache = PrefixCache(min_tokens=8)
    prompts = rows()
    prefix = cache.shared(model, prompts)
    assert prefix is not None
    rest = [r[len(prefix.tokens) :] for r in prompts]
    width = max(len(r) for r in rest)
    ids = torch.tensor([[*prefix.tokens, *[PAD] * (width - len(r)), *r] for r in rest])
    mask = torch.tensor([[1] * len(prefix.tokens) + [0] * (width - len(r)) + [1] * len(r)
                         for r in rest])  # fmt: skip
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.inference_mode():
        out = model(
            input_ids=ids[:, len(prefix.tokens) :],
            attention_mask=mask,
            position_ids=positions[:, len(prefix.tokens) :],
            cache=prefix.cache(model, len(prompts)),
        )
        for i, row in enumerate(prompts):
            alone = model(input_ids=torch.tensor([row])).logits[0, -1]
            torch.testing.assert_close(out.logits[i, -1], alone, rtol=1e-4, atol=1e-5)


def test_kept_tensors_are_never_written_and_the_cache_is_reused(model: Any) -> None:
    cache = PrefixCache(min_tokens=8)
    answers(model, rows(), cache)
    [kept] = cache._kept.values()
    before = [(k.clone(), v.clone()) for k, v in kept.layers]
    again = answers(model, rows(), cache)
    assert cache.tokens_computed == len(SHARED)  # nothing computed the second time
    for (k, v), (k0, v0) in zip(kept.layers, before, strict=True):
        assert torch.equal(k, k0) and torch.equal(v, v0)
    assert [c.text for c in again] == [c.text for c in answers(model, rows(), None)]


def test_a_longer_shared_prefix_extends_the_kept_one(model: Any) -> None:
    cache = PrefixCache(min_tokens=8)
    cache.shared(model, rows())  # the 30 shared tokens
    longer = [[*SHARED, *range(41, 51), 3, 4], [*SHARED, *range(41, 51), 5]]
    extended = cache.shared(model, longer)
    assert extended is not None and len(extended.tokens) == len(SHARED) + 10
    assert cache.tokens_computed == len(SHARED) + 10  # only the extension was run
    fresh = PrefixCache(min_tokens=8).shared(model, longer)
    assert fresh is not None
    for (k, v), (k1, v1) in zip(extended.layers, fresh.layers, strict=True):
        torch.testing.assert_close(k, k1, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(v, v1, rtol=1e-4, atol=1e-5)


def test_one_prompt_uses_only_what_is_kept_and_short_prefixes_are_skipped(model: Any) -> None:
    cache = PrefixCache(min_tokens=8)
    assert cache.shared(model, [[*SHARED, 41]]) is None  # nothing kept yet: nothing computed
    assert cache.shared(model, [[1, 2, 3, 4, 5], [1, 2, 3, 9]]) is None  # 3 tokens: too short
    cache.shared(model, rows())
    single = cache.shared(model, [[*SHARED, 41, 42]])
    assert single is not None and list(single.tokens) == SHARED
    assert cache.tokens_computed == len(SHARED)


def test_at_most_keep_prefixes_are_kept(model: Any) -> None:
    cache = PrefixCache(keep=2, min_tokens=4)
    for first in (3, 4, 5):
        cache.shared(model, [[first, *range(10, 20), 7], [first, *range(10, 20), 8]])
    assert len(cache) == 2
    assert [p[0] for p in cache._kept] == [4, 5]  # the least recently used went first


def test_constrained_answers_stay_in_the_trie_with_the_prefix_cache(model: Any) -> None:
    trie = TokenTrie([[5, 6, END], [5, 7, 8, END], [9, END]])
    settings = GenerationSettings(max_new_tokens=6)
    cache = PrefixCache(min_tokens=8)
    prefix = cache.shared(model, rows())
    out = generate_batch(model, Tokens(), rows(), settings, [END], prefix, trie)
    plain = generate_batch(model, Tokens(), rows(), settings, [END], None, trie)
    assert [c.text for c in out] == [c.text for c in plain]
    assert {c.text for c in out} <= {"5 6", "5 7 8", "9"}


def test_forced_opening_tokens_go_in_with_the_prompt_and_answers_stay_the_same(
    model: Any,
) -> None:
    """Against transformers' own prefix_allowed_tokens_fn, one unpadded prompt at a time."""
    trie = TokenTrie([[5, 6, 7, END], [5, 6, 8, 9, END], [5, 6, 8, 10, END]])
    assert trie.forced() == [5, 6]
    assert TokenTrie([[5, END], [6, END]]).forced() == [] and TokenTrie([[5, END]]).forced() == [5]
    settings = GenerationSettings(max_new_tokens=6)
    cache = PrefixCache(min_tokens=8)
    out = generate_batch(
        model, Tokens(), rows(), settings, [END], cache.shared(model, rows()), trie
    )
    for row, completion in zip(rows(), out, strict=True):

        def allowed(_: int, ids: Any, width: int = len(row)) -> list[int]:
            return trie.next_tokens(ids[width:].tolist()) or [END]

        with torch.inference_mode():
            alone = model.generate(
                torch.tensor([row]),
                max_new_tokens=6,
                do_sample=False,
                prefix_allowed_tokens_fn=allowed,
                pad_token_id=PAD,
                eos_token_id=END,
            )[0, len(row) :].tolist()
        expected = alone[: alone.index(END)] if END in alone else alone
        assert completion.text == Tokens().decode(expected)
        assert completion.completion_tokens == len(expected)  # forced tokens are counted
        assert completion.text.startswith("5 6")
