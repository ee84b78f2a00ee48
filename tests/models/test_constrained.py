import json

import pytest

from shipwise.errors import ConfigError
from shipwise.models.constrained import TokenTrie, allowed_outputs, prefix_constraint
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


def test_trie_offers_only_continuations_of_allowed_sequences() -> None:
    trie = TokenTrie([[1, 2, 9], [1, 3, 9], [4, 9]])
    assert sorted(trie.next_tokens([])) == [1, 4]
    assert sorted(trie.next_tokens([1])) == [2, 3]
    assert trie.next_tokens([1, 2]) == [9]
    assert trie.next_tokens([1, 2, 9]) == []
    assert trie.next_tokens([7]) == []


def test_prefix_constraint_reads_the_answer_after_the_padded_prompt() -> None:
    import torch

    allowed = prefix_constraint(TokenTrie([[5, 6, 2], [5, 7, 2]]), prompt_length=3, end_token=2)
    assert allowed(0, torch.tensor([0, 11, 12])) == [5]
    assert sorted(allowed(0, torch.tensor([0, 11, 12, 5]))) == [6, 7]
    # a finished (or derailed) row may only end
    assert allowed(0, torch.tensor([0, 11, 12, 5, 6, 2])) == [2]
