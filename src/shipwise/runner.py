"""One run of the study: a task, a strategy, a model -> scored predictions in MLflow.

Plain typed arguments only; the CLI turns Hydra config into these.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from shipwise import contract
from shipwise.cache import JsonCache, content_key
from shipwise.changes import Changes, InputsRecord, compare, current_inputs, planned_work
from shipwise.errors import GenerationError, ShipwiseError
from shipwise.evaluation.evaluator import Evaluator, ScoringContext, Summary
from shipwise.evaluation.retrieval import retrieval_scores, summarize_retrieval
from shipwise.models.base import Completion, GenerationSettings, Generator
from shipwise.progress import counting
from shipwise.retrieval.embedders import Embedder
from shipwise.strategies.base import (
    ArmInfo,
    PlainPredictor,
    Predictor,
    Rendered,
    SetupContext,
    Strategy,
)
from shipwise.strategies.parts import PASSAGES
from shipwise.tasks.example import Example, split_fingerprint
from shipwise.tasks.task import OutputSpec, Task, split_sources
from shipwise.traces import ExampleTrace
from shipwise.tracking import TrackedRun, TrackingConfig, git_commit, tracked_run

CHUNK = 32  # prompts generated between cache writes: a failure loses at most one chunk
REGRESSION = "regression"  # general questions asked as written: the forgetting check


@dataclass(frozen=True)
class RunSpec:
    task: Task
    strategy: Strategy
    generator: Generator
    embedder_factory: Callable[[], Embedder]
    settings: GenerationSettings
    tracking: TrackingConfig
    root: Path
    run_name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    eval_splits: Sequence[str] = ("test",)
    limit: int | None = None
    seed: int = 0
    output_dir: Path | None = None
    scoring: ScoringContext | None = None  # an embedder and a judge, for free-text metrics


@dataclass(frozen=True)
class SplitResult:
    split: str
    summary: Summary
    fingerprint: str
    retrieval: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RunResult:
    run_id: str
    task: str
    strategy: str
    model: str
    run_name: str
    setup_s: float
    setup_usd: float
    splits: Mapping[str, SplitResult]
    cache_hits: int
    cache_misses: int
    skipped: str | None = None  # why the arm does not apply to the task (no run was made)

    @classmethod
    def skip(cls, spec: RunSpec, reason: str) -> RunResult:
        return cls(
            run_id="",
            task=spec.task.name,
            strategy=spec.strategy.name,
            model=spec.generator.info.name,
            run_name=spec.run_name,
            setup_s=0.0,
            setup_usd=0.0,
            splits={},
            cache_hits=0,
            cache_misses=0,
            skipped=reason,
        )

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for split in data["splits"].values():
            split["summary"]["primary"] = asdict(self.splits[split["split"]].summary.primary)
        return data


def run(spec: RunSpec) -> RunResult:
    task, generator, arm = spec.task, spec.generator, spec.strategy.info
    reason = spec.strategy.not_applicable(task)
    if reason is not None:
        print(f"{spec.run_name}: skipped: {reason}", file=sys.stderr, flush=True)
        return RunResult.skip(spec, reason)
    fingerprints = task.fingerprints()
    tags = {
        contract.TAG_TASK: task.name,
        contract.TAG_STRATEGY: spec.strategy.name,
        contract.TAG_KIND: arm.kind,
        contract.TAG_SIMPLICITY: arm.simplicity,
        contract.TAG_SHIPPABLE: arm.shippable,
        contract.TAG_MODEL: generator.info.name,
        "model_source": generator.info.source,
        "git_commit": git_commit(),
        **{f"{contract.FINGERPRINT}{name}": value for name, value in fingerprints.items()},
        # a task without its own redteam/regression file is scored on stand-ins: say which
        **{f"split_source.{name}": where for name, where in split_sources(task.root).items()},
    }
    cache = JsonCache(spec.root / "cache" / "predictions")
    cache.sweep()
    record = InputsRecord(spec.root, task.name, spec.run_name)
    inputs = current_inputs(task, spec.params, generator.info.fingerprint)
    changes = compare(record.load(), inputs)
    plan = planned_work(arm, changes, spec.eval_splits)
    _announce(spec.run_name, changes, plan)
    with tracked_run(spec.tracking, spec.run_name, tags) as tracked:
        tracked.log_params(spec.params)
        tracked.log_dict({**changes.as_json(), "plan": plan}, "changes.json")
        tracked.log_metrics(changes.metrics())
        context = SetupContext(
            generator,
            spec.embedder_factory,
            spec.root,
            spec.seed,
            spec.settings,
            scoring=spec.scoring,
            log_metrics=tracked.log_metrics,
            log_artifacts=tracked.log_artifacts,
        )
        started = time.perf_counter()
        setup = spec.strategy.setup(task, context)
        setup_s = time.perf_counter() - started
        # Costed at a build from nothing where the setup reused a cache: a refresh pays that.
        build_s = setup_s if setup.build_s is None else max(setup_s, setup.build_s)
        setup_usd = setup.cost_usd + build_s * generator.info.price.usd_per_hour / 3600
        _log_training_inputs(task, arm, tracked)
        tracked.log_params({f"setup.{k}": v for k, v in setup.params.items()})
        tracked.log_metrics(
            {
                contract.SETUP_S: setup_s,
                contract.SETUP_BUILD_S: build_s,
                contract.SETUP_USD: setup_usd,
                **setup.metrics,
            }
        )
        results: dict[str, SplitResult] = {}
        for split in spec.eval_splits:
            if split not in task.splits or (split == REGRESSION and not arm.general):
                continue
            result = _evaluate_split(spec, split, setup.predictor, cache, tracked)
            results[split] = result
            if split == REGRESSION and setup.baseline is not None:
                # The forgetting check: the same questions to the model the arm started from.
                before = _evaluate_split(
                    spec,
                    split,
                    PlainPredictor(setup.baseline),
                    cache,
                    tracked,
                    name="regression_base",
                )
                tracked.log_metrics(
                    {
                        contract.REGRESSION_BASELINE: before.summary.primary.mean,
                        contract.REGRESSION_CHANGE: result.summary.primary.mean
                        - before.summary.primary.mean,
                    }
                )
        tracked.log_metrics({"cache_hits": cache.hits, "cache_misses": cache.misses})
        outcome = RunResult(
            run_id=tracked.run_id,
            task=task.name,
            strategy=spec.strategy.name,
            model=generator.info.name,
            run_name=spec.run_name,
            setup_s=setup_s,
            setup_usd=setup_usd,
            splits=results,
            cache_hits=cache.hits,
            cache_misses=cache.misses,
        )
        tracked.log_dict(outcome.as_json(), "result.json")
        if spec.output_dir is not None:
            (spec.output_dir / "result.json").write_text(json.dumps(outcome.as_json(), indent=1))
        record.save(inputs, tracked.run_id)
    return outcome


def _announce(run_name: str, changes: Changes, plan: Sequence[str]) -> None:
    """The what-changed summary, before any work starts."""
    lines = [f"{run_name}: {line}" for line in changes.lines()]
    lines += [f"{run_name}: will {step}" for step in plan]
    print("\n".join(lines), file=sys.stderr, flush=True)


def _evaluate_split(
    spec: RunSpec,
    split: str,
    predictor: Predictor,
    cache: JsonCache,
    tracked: TrackedRun,
    name: str | None = None,
) -> SplitResult:
    """Generate, score and log one split (under ``name``, default the split's own)."""
    task = spec.task
    name = name or split
    examples = list(task.split(split))[: spec.limit] if spec.limit else list(task.split(split))
    if split == REGRESSION:
        # General-capability check: the questions as written, the arm's model answering.
        predictor = PlainPredictor(predictor.generator)
        evaluator = Evaluator(OutputSpec("text"), task.spec.regression_metric, spec.seed)
    else:
        evaluator = Evaluator(task.spec.output, task.spec.metric, spec.seed, context=spec.scoring)
    rendered = predictor.render(examples)
    settings = spec.settings
    if split == REGRESSION:
        settings = replace(settings, allowed=())  # general questions: free answers
    misses = cache.misses
    completions = generate_cached(predictor.generator, rendered, settings, cache, name)
    generated = cache.misses - misses
    cached = len(rendered) - generated
    tracked.log_metrics({f"{name}/generated": generated, f"{name}/cached": cached})
    price = predictor.generator.info.price
    costs = [price.call_usd(c) for c in completions]
    scores = evaluator.score_batch(
        [c.text for c in completions],
        [e.reference for e in examples],
        inputs=[e.user_text for e in examples],
        alternatives=[e.alternatives for e in examples],
    )
    # In example-id order, as the decision resamples them: the run's interval is the decision's
    order = sorted(range(len(examples)), key=lambda k: examples[k].id)
    summary = evaluator.summarize(
        [scores[k] for k in order],
        [completions[k].latency_s for k in order],
        [completions[k].compute_s for k in order],
        [completions[k].prompt_tokens for k in order],
        [completions[k].completion_tokens for k in order],
        [costs[k] for k in order],
    )
    prefix = f"{name}/"
    tracked.log_metrics(summary.as_metrics(prefix))
    retrieval = _retrieval(examples, rendered)
    tracked.log_metrics({f"{prefix}{k}": v for k, v in retrieval.items()})
    fingerprint = split_fingerprint(examples)
    tracked.set_tags({f"{contract.EVAL_FINGERPRINT}{name}": fingerprint})
    scored = list(zip(examples, rendered, completions, scores, costs, strict=True))
    rows = [
        {
            "id": e.id,
            "input": e.user_text,
            "reference": e.reference,
            "prediction": c.text,
            **{contract.score_column(k): v for k, v in s.items()},
            "latency_s": c.latency_s,
            "prompt_tokens": c.prompt_tokens,
            "completion_tokens": c.completion_tokens,
            "cost_usd": cost,
            "retrieved": ", ".join(r.extras.get("retrieved_docs", [])),
            "extras": json.dumps(
                {k: v for k, v in r.extras.items() if k != PASSAGES}, ensure_ascii=False
            ),
        }
        for e, r, c, s, cost in scored
    ]
    tracked.log_table(rows, contract.predictions_file(name))
    if name == split:  # regression_base asks the same split again
        _log_split(tracked, task, split, split, fingerprint, examples)
    traced = spec.tracking.traced(split)
    if traced != 0:
        started = time.perf_counter()
        model = predictor.generator.info.name
        traces = [ExampleTrace.of(*one) for one in scored[:traced]]
        logged = tracked.log_traces(spec.strategy.name, name, model, traces)
        tracked.log_metrics(
            {
                f"{prefix}trace_log_s": time.perf_counter() - started,
                f"{prefix}traces_reused": logged.reused,
            }
        )
    return SplitResult(split, summary, fingerprint, retrieval)


def _log_split(
    tracked: TrackedRun,
    task: Task,
    split: str,
    context: str,
    fingerprint: str,
    examples: Sequence[Example],
) -> None:
    """A split the run read, as one of its MLflow dataset inputs (``context``: how it was used)."""
    path = task.root / f"{split}.jsonl"
    source = str(path) if path.is_file() else f"{task.name}/{split}"
    rows = [{"id": e.id, "input": e.user_text, "reference": e.reference} for e in examples]
    tracked.log_dataset(f"{task.name}/{split}", context, fingerprint, rows, source)


def _log_training_inputs(task: Task, arm: ArmInfo, tracked: TrackedRun) -> None:
    """The splits an arm's setup reads: train for demonstrations or learning, val to learn."""
    reads = [("train", "training")] if arm.demos or arm.learns else []
    reads += [("val", "validation")] if arm.learns else []
    prints = task.fingerprints()
    for split, context in reads:
        if split in task.splits:
            _log_split(tracked, task, split, context, prints[split], task.split(split))


def _retrieval(examples: Sequence[Example], rendered: Sequence[Rendered]) -> dict[str, float]:
    """Retrieval quality where the arm retrieved and the records name their source document."""
    per_example, seconds = [], []
    for example, item in zip(examples, rendered, strict=True):
        if "retrieved_docs" not in item.extras:
            continue
        seconds.append(float(item.extras.get("retrieval_s", 0.0)))
        source = example.metadata.get("source_doc")
        if source:
            per_example.append(retrieval_scores(str(source), list(item.extras["retrieved_docs"])))
    return summarize_retrieval(per_example, seconds)


def generate_cached(
    generator: Generator,
    rendered: Sequence[Rendered],
    settings: GenerationSettings,
    cache: JsonCache,
    label: str,
) -> list[Completion]:
    """Completions for every prompt, generating only what the cache does not hold.

    Entries are written chunk by chunk, so a failure or a kill keeps what was finished and the
    next run resumes from there.
    """
    keys = [
        content_key(
            generator.info.fingerprint,
            [m.as_dict() for m in r.messages],
            asdict(settings),
        )
        for r in rendered
    ]
    found: dict[int, Completion] = {}
    for index, key in enumerate(keys):
        value = cache.get(key)
        if value is not None:
            found[index] = Completion(**value)
    todo = [i for i in range(len(rendered)) if i not in found]
    if found:
        print(
            f"{label}: {len(found)} of {len(rendered)} answers from the cache,"
            f" {len(todo)} to generate",
            file=sys.stderr,
            flush=True,
        )
    # Similar lengths together: the local generator batches these with little padding.
    todo.sort(key=lambda i: -sum(len(m.content) for m in rendered[i].messages))
    with counting(f"{label}: generating", total=len(todo)) as advance:
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start : start + CHUNK]
            try:
                completions = generator.generate(
                    [rendered[i].messages for i in chunk], settings, advance
                )
            except ShipwiseError as exc:
                done = len(rendered) - len(todo) + start
                raise GenerationError(
                    f"{exc.what} ({done} of {len(rendered)} {label} predictions are saved;"
                    " re-running resumes from them)",
                    where=exc.where,
                    fix=exc.fix,
                ) from None
            for i, completion in zip(chunk, completions, strict=True):
                cache.put(keys[i], asdict(completion))
                found[i] = completion
    return [found[i] for i in range(len(rendered))]
