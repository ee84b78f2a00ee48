"""A fine-tune that learned to say one thing is refused, however cheap it is.

Real LoRA on the embedded SmolLM2: a yes/no task whose train split holds only "yes". The
tuned model answers "yes" to everything, which is exactly the majority floor; the decision must
mark it not shippable and say so in plain words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shipwise.decision import decide
from shipwise.decision_types import DecisionConfig
from shipwise.evaluation.aggregates import metric_for
from shipwise.evidence import evidence_from_run, latest_arm_runs
from shipwise.finetune.adapter import LoraBackend
from shipwise.models.base import GenerationSettings
from shipwise.retrieval.embedders import HashingEmbedder
from shipwise.runner import RunSpec, run
from shipwise.strategies.arm import Arm
from shipwise.strategies.baselines import MajorityArm
from shipwise.tasks.task import OutputSpec, TaskSpec, load_task
from shipwise.tracking import TrackingConfig
from tests.conftest import qa, write_jsonl

pytestmark = pytest.mark.slow
QUESTIONS = ["Is the sky blue on a clear day?", "Is ice cold?", "Do fish live in water?",
             "Is fire hot?", "Can birds fly?", "Is the sea salty?", "Do dogs bark?",
             "Is snow white?"]  # fmt: skip
TEST = [("Is the sun a star?", "yes"), ("Is a cat a bird?", "no"), ("Is water dry?", "no"),
        ("Do cows eat grass?", "yes"), ("Is lead lighter than air?", "no"),
        ("Is a square round?", "no"), ("Is milk white?", "yes"), ("Can a rock sing?", "no"),
        ("Do bees make honey?", "yes"), ("Is night brighter than day?", "no"),
        ("Is rain wet?", "yes"), ("Do trees have roots?", "yes")]  # fmt: skip


def test_a_fine_tune_trained_on_one_label_is_refused_with_the_reason(
    tmp_path: Path, smollm2: Any
) -> None:
    root = tmp_path / "yesno"
    write_jsonl(root / "train.jsonl", [qa(f"t{i}", q, "yes") for i, q in enumerate(QUESTIONS)])
    write_jsonl(
        root / "val.jsonl",
        [qa("v0", "Is grass green?", "yes"), qa("v1", "Is a stone alive?", "no")],
    )
    write_jsonl(root / "test.jsonl", [qa(f"s{i}", q, a) for i, (q, a) in enumerate(TEST)])
    output = OutputSpec("label", labels=["yes", "no"])
    task = load_task(TaskSpec("yesno", str(root), "Answer yes or no.", "macro_f1", output,
                              max_new_tokens=2))  # fmt: skip
    tracking = TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "yesno")
    tuned = Arm("finetune", "finetune", 4, False,
                backend=LoraBackend(epochs=1, batch_size=4, rank=4, val_sample=0))  # fmt: skip
    for strategy in (MajorityArm("majority", "majority", 0), tuned):
        run(RunSpec(task=task, strategy=strategy, generator=smollm2,  # type: ignore[arg-type]
                    embedder_factory=HashingEmbedder, tracking=tracking,
                    settings=GenerationSettings(max_new_tokens=2, allowed=("yes", "no")),
                    root=tmp_path / ".shipwise", run_name=strategy.name,
                    params={"task.metric": "macro_f1"}))  # fmt: skip
    metric = metric_for("macro_f1", "label", output.labels, None)
    evidence = [evidence_from_run(tracking, r, metric) for r in latest_arm_runs(tracking)]
    decision = decide(evidence, DecisionConfig(resamples=500), "yesno", metric)

    assert decision.ship is None  # nothing beats answering "yes" every time
    verdict = next(v for v in decision.arms if v.strategy == "finetune")
    assert not verdict.feasible and verdict.collapsed
    assert "its answers collapsed: it answers 'yes' to 12 of 12" in verdict.failures
    assert any(f.startswith("it does no better than majority") for f in verdict.failures)
    assert "finetune cannot be shipped" not in decision.verdict  # nothing ships: listed instead
    assert "finetune: its answers collapsed: it answers 'yes' to 12 of 12" in decision.verdict
    assert any("finetune answers 'yes' 100%" in c for c in decision.caveats)
