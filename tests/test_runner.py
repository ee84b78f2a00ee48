"""The runner end to end with a scripted generator and a real MLflow store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from shipwise import runner
from shipwise.errors import GenerationError
from shipwise.models.base import Completion, GenerationSettings, ProgressCallback
from shipwise.models.fake import FakeGenerator
from shipwise.retrieval.embedders import HashingEmbedder
from shipwise.runner import RunSpec, run
from shipwise.strategies.arm import Arm, ArmPredictor
from shipwise.strategies.base import ArmInfo, Setup
from shipwise.strategies.parts import Demos, Renderer
from shipwise.tasks.example import Messages
from shipwise.tasks.task import OutputSpec, TaskSpec, load_task
from shipwise.tracking import TrackingConfig, find_runs, load_table
from tests.conftest import qa, write_jsonl

COLOURS = {"banana": "yellow", "cherry": "red", "lime": "green", "plum": "purple",
           "lemon": "yellow", "strawberry": "red", "kiwi": "green", "grape": "purple",
           "apple": "red", "pear": "green", "blueberry": "purple", "mango": "yellow"}  # fmt: skip


def knows_some_fruit(prompt: Messages) -> str:
    question = prompt[-1].content
    fruit = question.removeprefix("What colour is a ").removesuffix("?")
    return COLOURS[fruit] if fruit in ("apple", "pear", "blueberry") else "blue"


def make_spec(root: Path, task_root: Path, generator: FakeGenerator, **kw: object) -> RunSpec:
    spec = TaskSpec("fruit", str(task_root), "Name the colour.", "exact_match", OutputSpec("text"))
    defaults: dict[str, object] = dict(
        task=load_task(spec),
        strategy=Arm("prompt", "prompt", 2, instruction=True, demos=Demos(k=2)),
        generator=generator,
        embedder_factory=HashingEmbedder,
        settings=GenerationSettings(max_new_tokens=4),
        tracking=TrackingConfig(f"sqlite:///{root}/mlflow.db", "fruit", str(root / "art")),
        root=root / ".shipwise",
        run_name="prompt k=2",
        params={"strategy.k": 2, "model.api_key": "sk-should-not-appear-anywhere-1234"},
    )
    defaults.update(kw)
    return RunSpec(**defaults)  # type: ignore[arg-type]


def test_a_run_scores_logs_and_caches(tmp_path: Path, make_task: Callable[..., Path]) -> None:
    task_root = make_task(train=6, val=2, test=4)  # test: apple, pear, blueberry, mango
    generator = FakeGenerator(responder=knows_some_fruit)
    result = run(make_spec(tmp_path, task_root, generator))
    test = result.splits["test"].summary
    assert test.means["exact_match"] == 0.75
    assert test.primary.n == 4 and test.primary.low <= 0.75 <= test.primary.high

    [logged] = find_runs(TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "fruit"))
    assert logged["status"] == "FINISHED"
    assert logged["metrics"]["test/primary"] == 0.75
    assert logged["params"]["model.api_key"] == "<redacted>"
    assert logged["tags"]["strategy"] == "prompt" and logged["tags"]["model"] == "fake"
    assert logged["tags"]["fingerprint.test"] == result.splits["test"].fingerprint
    rows = load_table(
        TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "fruit"),
        result.run_id,
        "predictions/test.json",
    )
    assert [r["prediction"] for r in rows] == ["red", "green", "purple", "blue"]
    assert all(r["score.exact_match"] in (0.0, 1.0) for r in rows)

    again = FakeGenerator(responder=knows_some_fruit)
    rerun = run(make_spec(tmp_path, task_root, again))
    assert again.calls == []  # every prediction came from the cache
    assert rerun.cache_hits == 4 and rerun.splits["test"].summary.means == test.means


class FailsAfter:
    """Answers ``ok`` calls, then fails like an API that went down."""

    def __init__(self, ok: int) -> None:
        self.inner = FakeGenerator(responder=knows_some_fruit)
        self.ok = ok

    constrains = False

    @property
    def info(self):  # type: ignore[no-untyped-def]
        return self.inner.info

    def token_counting(self) -> None:
        return None

    def generate(
        self,
        prompts: Sequence[Messages],
        settings: GenerationSettings,
        on_progress: ProgressCallback | None = None,
    ) -> list[Completion]:
        if self.ok <= 0:
            raise GenerationError("the API failed: 503", where="fake endpoint", fix="re-run")
        self.ok -= 1
        return self.inner.generate(prompts, settings, on_progress)


def test_a_failing_generator_keeps_what_was_finished(
    tmp_path: Path, make_task: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "CHUNK", 2)
    task_root = make_task(train=6, val=2, test=4)
    with pytest.raises(GenerationError, match="2 of 4 test predictions are saved"):
        run(make_spec(tmp_path, task_root, FailsAfter(ok=1)))  # type: ignore[arg-type]
    [failed] = find_runs(TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "fruit"))
    assert failed["status"] == "FAILED" and "503" in failed["tags"]["error"]

    resumed = FakeGenerator(responder=knows_some_fruit)
    result = run(make_spec(tmp_path, task_root, resumed))
    assert len(resumed.calls) == 2  # only the unfinished half is generated again
    assert result.splits["test"].summary.means["exact_match"] == 0.75


class TunedStrategy:
    """Stands in for a tuned arm: a tuned model, and the base model it came from."""

    name = "tuned"
    info = ArmInfo(kind="tuned", simplicity=4, learns="the adapter")

    def __init__(self, tuned: FakeGenerator, base: FakeGenerator) -> None:
        self.tuned, self.base = tuned, base

    def not_applicable(self, task: object) -> None:
        return None

    def setup(self, task: object, context: object) -> Setup:
        predictor = ArmPredictor(self.tuned, Renderer("", empty_system=True))
        return Setup(predictor, baseline=self.base)


def test_the_regression_split_is_asked_of_the_base_model_too(
    tmp_path: Path, make_task: Callable[..., Path]
) -> None:
    task_root = make_task(train=6, val=2, test=4)
    write_jsonl(task_root / "regression.jsonl", [qa("r-1", "Capital of France?", "Paris"),
                                                 qa("r-2", "Two plus two?", "four")])  # fmt: skip
    tuned = FakeGenerator(default="Paris", name="tuned")  # forgot arithmetic
    base = FakeGenerator(replies={"France": "Paris", "plus": "four"}, name="base")
    spec = make_spec(
        tmp_path, task_root, tuned, strategy=TunedStrategy(tuned, base),
        eval_splits=("test", "regression"), run_name="finetune",
    )  # fmt: skip
    run(spec)
    [logged] = find_runs(TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "fruit"))
    metrics = logged["metrics"]
    assert metrics["regression/baseline_primary"] == 1.0 and metrics["regression/primary"] == 0.5
    assert metrics["regression/change"] == -0.5
    assert len(base.calls) == 2  # the base model answered only the regression questions
    assert "fingerprint.eval.regression_base" in logged["tags"]


class Floor:
    """An arm that cannot attempt the task, and one that is no language model at all."""

    name = "floor"

    def __init__(self, applies: bool) -> None:
        self.applies = applies
        self.info = ArmInfo(kind="floor", simplicity=0, shippable=False, general=False)

    def not_applicable(self, task: object) -> str | None:
        return None if self.applies else "free text has no closed set of answers"

    def setup(self, task: object, context: object) -> Setup:
        generator = FakeGenerator(default="red", name="constant")
        return Setup(ArmPredictor(generator, Renderer("", empty_system=False)))


def test_an_arm_that_does_not_apply_is_skipped_not_failed(
    tmp_path: Path, make_task: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    task_root = make_task(train=6, val=2, test=4)
    result = run(make_spec(tmp_path, task_root, FakeGenerator(), strategy=Floor(False)))
    assert result.skipped == "free text has no closed set of answers" and not result.splits
    assert "skipped: free text" in capsys.readouterr().err
    assert find_runs(TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "fruit")) == []


def test_an_arm_that_is_no_language_model_skips_the_regression_split(
    tmp_path: Path, make_task: Callable[..., Path]
) -> None:
    task_root = make_task(train=6, val=2, test=4)
    write_jsonl(task_root / "regression.jsonl", [qa("r-1", "Capital of France?", "Paris")])
    spec = make_spec(
        tmp_path, task_root, FakeGenerator(), strategy=Floor(True),
        eval_splits=("test", "regression"), run_name="floor",
    )  # fmt: skip
    result = run(spec)
    assert sorted(result.splits) == ["test"]
    [logged] = find_runs(TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "fruit"))
    tags = logged["tags"]
    assert (tags["strategy.kind"], tags["strategy.simplicity"], tags["strategy.shippable"]) == (
        "floor",
        "0",
        "False",
    )


def test_a_run_s_interval_is_the_one_the_decision_computes(
    tmp_path: Path, make_task: Callable[..., Path]
) -> None:
    from shipwise.decision import decide
    from shipwise.decision_types import DecisionConfig
    from shipwise.evaluation.aggregates import Mean
    from shipwise.evidence import evidence_from_run

    # test ids f-4 ... f-11 in file order; the decision takes them sorted (f-10, f-11, f-4, ...)
    task_root = make_task(train=2, val=2, test=8)

    def wordy(prompt: Messages) -> str:  # right colour, padded: token F1 of 1, 0.67, 0.5, 0.4
        fruit = prompt[-1].content.removeprefix("What colour is a ").removesuffix("?")
        return " ".join([COLOURS[fruit], *["indeed"] * (len(fruit) % 4)])

    spec = make_spec(
        tmp_path,
        task_root,
        FakeGenerator(responder=wordy),
        task=load_task(TaskSpec("fruit", str(task_root), "", "token_f1", OutputSpec("text"))),
        params={"task.metric": "token_f1"},
    )
    result = run(spec)
    tracking = TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "fruit")
    [logged] = find_runs(tracking)
    metric = Mean("token_f1")
    evidence = evidence_from_run(tracking, logged, metric)
    [verdict] = decide([evidence], DecisionConfig(), "fruit", metric).arms
    primary = result.splits["test"].summary.primary
    # the same resamples of the same scores in the same order (scores come back from MLflow's
    # table with 10 significant digits)
    assert primary.low == pytest.approx(verdict.low, abs=1e-8)
    assert primary.high == pytest.approx(verdict.high, abs=1e-8)
