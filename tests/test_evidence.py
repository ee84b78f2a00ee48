"""Arm names in a decision: the settings every compared run shares are named once."""

from __future__ import annotations

from typing import Any

from shipwise.evidence import without_shared_settings
from tests.test_decision import arm


def names(evidence: Any) -> list[str]:
    return [e.name for e in evidence]


def test_settings_every_arm_ran_with_leave_their_names() -> None:
    runs = [
        arm("majority limit=10 model=fake", [1.0, 0.0]),
        arm("prompt limit=10 model=fake", [1.0, 1.0]),
        arm("finetune arms.backend.train_size=20 limit=10 model=fake", [0.0, 1.0]),
    ]
    renamed, shared, own = without_shared_settings(runs)
    # each arm is its strategy's only run: named by it, its own settings listed apart
    assert names(renamed) == ["majority", "prompt", "finetune"]
    assert shared == ("limit=10", "model=fake")
    assert own == {"finetune": ("train_size=20",)}
    assert [e.run_id for e in renamed] == [e.run_id for e in runs]  # the same runs


def test_names_stay_whole_when_two_arms_would_become_one() -> None:
    plain = [arm("prompt", [1.0]), arm("rag limit=5", [0.0])]
    renamed, shared, own = without_shared_settings(plain)
    assert names(renamed) == ["prompt", "rag"] and shared == () and own == {"rag": ("limit=5",)}
    # two fine-tunes told apart only by the arm name's first word would merge: kept whole
    twins = [arm("finetune seed=1", [1.0]), arm("finetune seed=1 x=2", [0.0])]
    assert names(without_shared_settings(twins)[0]) == ["finetune", "finetune x=2"]
    assert without_shared_settings(twins)[2] == {}  # two runs of one arm: settings in names
    same = [arm("finetune seed=1", [1.0]), arm("finetune seed=1", [0.0])]
    assert without_shared_settings(same) == (same, (), {})
    spaced = [arm("prompt a='x y'", [1.0]), arm("rag a='x y'", [0.0])]  # not key=value words
    assert without_shared_settings(spaced) == (spaced, (), {})
    one = [arm("prompt limit=10", [1.0])]
    renamed, shared, own = without_shared_settings(one)
    assert names(renamed) == ["prompt"] and shared == () and own == {"prompt": ("limit=10",)}


def test_an_arm_setting_is_named_by_its_key_unless_two_parts_share_the_key() -> None:
    runs = [
        arm("rag arms.demos.k=2 arms.retrieval.k=3 arms.retrieval.top_k=1", [1.0]),
        arm("rag arms.demos.k=2 arms.retrieval.k=3 arms.retrieval.top_k=2", [1.0]),
    ]
    assert names(without_shared_settings(runs)[0]) == ["rag top_k=1", "rag top_k=2"]
    one = [arm("rag arms.demos.k=2 arms.retrieval.k=3 arms.retrieval.top_k=1", [1.0])]
    assert without_shared_settings(one)[2] == {
        "rag": ("arms.demos.k=2", "arms.retrieval.k=3", "top_k=1")
    }
