import json
from dataclasses import replace

import pytest

from shipwise.errors import ConfigError
from shipwise.models.constrained import DEAD, TokenTrie, TrieConstraint, allowed_outputs
from shipwise.tasks.task import OutputSpec


def test_label_outputs_are_the_labels() -> None:
    assert allowed_outputs(OutputSpec("label", labels=["a", "b"])) == ("a", "b")


def test_json_outputs_are_every_combination_written_as_references_are() -> None:
    spec = OutputSpec("json", fields={"category": ["x", "y"], "priority": ["hi", "lo", "mid"]})
    outputs = allowed_outputs(spec)
    assert len(outputs) == 6
    assert outputs[0] == json.dumps({"category": "x", "priority": "hi"})
    assert {json.loads(o)["priority"] for o in outputs} == {"hi", "lo", "mid"}


def test_free_json_fields_and_text_tasks_cannot_be_constrained() -> None:
    with pytest.raises(ConfigError, match="priority"):
        allowed_outputs(OutputSpec("json", fields={"category": ["x"], "priority": None}))
    with pytest.raises(ConfigError, match="text task"):
        allowed_outputs(OutputSpec("text"))


def test_a_list_field_allows_each_set_of_its_values_in_listed_order() -> None:
    spec = OutputSpec("json", fields={"tags": ["a", "b", "c"], "tone": ["x"]}, lists=["tags"])
    outputs = allowed_outputs(spec)
    assert [json.loads(o)["tags"] for o in outputs] == [
        ["a"], ["b"], ["c"], ["a", "b"], ["a", "c"], ["b", "c"], ["a", "b", "c"]
    ]  # fmt: skip
    assert outputs[3] == json.dumps({"tags": ["a", "b"], "tone": "x"})  # as references are
    nullable = allowed_outputs(replace(spec, nullable=True))
    assert len(nullable) == 8 * 2 and json.dumps({"tags": None, "tone": None}) in nullable
    wide = OutputSpec("json", fields={"tags": [f"t{i}" for i in range(15)]}, lists=["tags"])
    with pytest.raises(ConfigError, match="allows 15 items, so 32,767 sets"):
        allowed_outputs(wide)


def test_trie_offers_only_continuations_of_allowed_sequences() -> None:
    trie = TokenTrie([[1, 2, 9], [1, 3, 9], [4, 9]])
    assert sorted(trie.next_tokens([])) == [1, 4]
    assert sorted(trie.next_tokens([1])) == [2, 3]
    assert trie.next_tokens([1, 2]) == [9]
    assert trie.next_tokens([1, 2, 9]) == []
    assert trie.next_tokens([7]) == []


def test_the_constraint_masks_every_score_off_the_trie_and_follows_each_row() -> None:
    import torch

    trie = TokenTrie([[5, 6, 2], [5, 7, 2]])
    constraint = TrieConstraint(trie, prompt_length=3, end_token=2)
    scores = torch.arange(20, dtype=torch.float32).repeat(2, 1)  # (rows, vocab)
    prompts = torch.tensor([[0, 11, 12], [11, 12, 13]])

    first = constraint(prompts, scores)
    assert first[0, 5] == 5.0 and torch.isinf(first[0]).sum() == 19  # only 5 may start
    second = constraint(torch.cat([prompts, torch.tensor([[5], [5]])], dim=1), scores)
    assert torch.isfinite(second[0]).nonzero().flatten().tolist() == [6, 7]
    # one row finished (or derailed, which greedy decoding cannot do): it may only end
    third = constraint(torch.tensor([[0, 11, 12, 5, 6], [11, 12, 13, 5, 9]]), scores)
    assert torch.isfinite(third).nonzero().tolist() == [[0, 2], [1, 2]]
    assert third[0, 2] == 2.0  # allowed scores are kept as they were


def test_the_constraint_walks_from_the_root_when_called_out_of_order() -> None:
    import torch

    trie = TokenTrie([[5, 6, 2], [5, 7, 2]])
    constraint = TrieConstraint(trie, prompt_length=1, end_token=2)
    scores = torch.zeros(1, 10)
    out = constraint(torch.tensor([[0, 5, 7]]), scores)  # no earlier call saw this row
    assert torch.isfinite(out).nonzero()[:, 1].tolist() == [2]
    assert trie.walk([5, 9]) == DEAD and trie.walk([5]) != DEAD
