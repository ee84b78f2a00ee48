"""An arm's scored examples as MLflow traces, and the splits it ran on as MLflow datasets.

The MLflow UI reads a study through these: the run's evaluation view lists one trace per scored
example (its question, the answer, the scores as feedback and the reference as an expectation),
two arms' runs are put side by side row by row (their traces share the question as input), and a
trace opens on what was retrieved and what the model was asked. Like ``shipwise.tracking`` (whose
runs these attach to) this module imports mlflow, and everything it hands MLflow passes through
the one scrubber first.

The spans carry the measured durations (retrieval, then generation), placed back to back from
the moment the trace is logged: generation is batched and cached, so the wall clock of the
original call is not kept, only its length. A batched call's latency is the whole batch's.

A re-run logs only what changed. Each trace is tagged with its scope (arm, split, model) and
the digest of what it shows (question, prompt, answer, scores, reference, what was retrieved;
not the timings). Before logging a split, the experiment is searched once for that scope: an
example whose digest is already there is linked to the new run as it stands, and only the rest
are logged. The store decides what exists: a deleted trace is logged again.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipwise.scrub import env_secrets, scrub, scrub_value

if TYPE_CHECKING:
    from shipwise.models.base import Completion
    from shipwise.strategies.base import Rendered
    from shipwise.tasks.example import Example

LINK_BATCH = 100  # MLflow links at most 100 traces to a run per call
EVALUATOR = "shipwise.evaluator"
EXPECTED = "expected_response"
TAG_SPLIT, TAG_EXAMPLE = "shipwise.split", "shipwise.example_id"
TAG_SCOPE, TAG_DIGEST = "shipwise.trace_scope", "shipwise.trace_digest"
SEARCH_PAGE = 500


@dataclass(frozen=True)
class ExampleTrace:
    """One scored example as its trace shows it; ``retrieval`` = the retriever's extras."""

    example_id: str
    question: str
    reference: str
    messages: Sequence[Mapping[str, str]]
    answer: str
    scores: Mapping[str, float]
    latency_s: float
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float = 0.0
    retrieval: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        example: Example,
        rendered: Rendered,
        completion: Completion,
        scores: Mapping[str, float],
        cost_usd: float,
    ) -> ExampleTrace:
        """An example as the runner scored it: the prompt it rendered, the completion, scores."""
        return cls(
            example_id=example.id,
            question=example.user_text,
            reference=example.reference,
            messages=[m.as_dict() for m in rendered.messages],
            answer=completion.text,
            scores=scores,
            latency_s=completion.latency_s,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            cost_usd=cost_usd,
            retrieval=rendered.extras,
        )

    def digest(self) -> str:
        """What the trace shows, hashed: equal digests, equal traces (timings aside)."""
        shown = {
            "example_id": self.example_id,
            "question": self.question,
            "reference": self.reference,
            "messages": [dict(m) for m in self.messages],
            "answer": self.answer,
            "scores": {k: _finite_or_none(v) for k, v in sorted(self.scores.items())},
            "tokens": [self.prompt_tokens, self.completion_tokens],
            "cost_usd": self.cost_usd,
            "retrieval": {k: v for k, v in self.retrieval.items() if not k.endswith("_s")},
        }
        text = json.dumps(shown, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class LoggedTraces:
    """A split's trace ids: ``reused`` of them were already in the store, linked as they are."""

    ids: list[str]
    reused: int


def log_traces(
    run_id: str,
    experiment_id: str | None,
    name: str,
    split: str,
    model: str,
    examples: Sequence[ExampleTrace],
) -> LoggedTraces:
    """One trace per example, its scores attached; an unchanged example's earlier trace reused.

    Each new trace is written once, with its assessments, when its root span ends: MLflow queues
    the write and a background thread makes it, while the study goes on. :func:`link_traces`
    waits for the writes and links every trace (new and reused) to the run.
    """
    if not examples:
        return LoggedTraces([], 0)
    secrets = env_secrets()
    scope = trace_scope(name, split, model)
    earlier = earlier_traces(experiment_id, scope) if experiment_id else {}
    ids: list[str] = []
    reused = 0
    for example in examples:
        digest = example.digest()
        if digest in earlier:
            ids.append(earlier.pop(digest))
            reused += 1
        elif logged := _log_one(run_id, name, split, model, example, secrets, scope, digest):
            ids.append(logged)
    return LoggedTraces(ids, reused)


def trace_scope(name: str, split: str, model: str) -> str:
    """Which arm, split and model a trace belongs to, as a tag value safe in a filter."""
    text = json.dumps([name, split, model], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def earlier_traces(experiment_id: str, scope: str) -> dict[str, str]:
    """The experiment's finished traces of one scope: digest -> trace id (the newest wins).

    A store that cannot search trace tags (or fails to answer) yields none: everything is
    logged afresh, as before.
    """
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient()
    found: dict[str, str] = {}
    token: str | None = None
    try:
        while True:
            page = client.search_traces(
                locations=[experiment_id],
                filter_string=f"tag.`{TAG_SCOPE}` = '{scope}' AND trace.status = 'OK'",
                max_results=SEARCH_PAGE,
                order_by=["timestamp_ms ASC"],
                page_token=token,
                include_spans=False,
            )
            for trace in page:
                digest = trace.info.tags.get(TAG_DIGEST)
                if digest:
                    found[digest] = trace.info.trace_id
            token = page.token
            if not token:
                return found
    except mlflow.exceptions.MlflowException as exc:
        reason = scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        print(f"earlier traces not searched, logging them again: {reason}", file=sys.stderr)
        return {}


def _finite_or_none(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def link_traces(run_id: str, ids: Sequence[str]) -> None:
    """Wait for the queued trace writes, then link the traces to the run (100 per call)."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.flush_trace_async_logging()
    client = MlflowClient()
    try:
        for start in range(0, len(ids), LINK_BATCH):
            client.link_traces_to_run(list(ids[start : start + LINK_BATCH]), run_id=run_id)
    except mlflow.exceptions.MlflowException as exc:
        # a store without links (a file store) still finds them by their source run
        reason = scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        print(f"traces not linked to run {run_id}: {reason}", file=sys.stderr)


def _log_one(
    run_id: str,
    name: str,
    split: str,
    model: str,
    example: ExampleTrace,
    secrets: list[str],
    scope: str,
    digest: str,
) -> str:
    import mlflow
    from mlflow.entities import SpanType
    from mlflow.tracing.constant import SpanAttributeKey
    from mlflow.tracing.provider import safe_set_span_in_context

    def clean(value: Any) -> Any:
        return scrub_value(value, secrets)

    question = {"question": clean(example.question)}
    answer = clean(example.answer)
    start = time.time_ns()
    retrieval_ns = int(float(example.retrieval.get("retrieval_s", 0.0)) * 1e9)
    generation_ns = int(example.latency_s * 1e9)
    root = mlflow.start_span_no_context(
        name=scrub(name, secrets),
        span_type=SpanType.CHAIN,
        inputs=question,
        attributes={"split": split, "example_id": clean(example.example_id)},
        tags={
            TAG_SPLIT: split,
            TAG_EXAMPLE: clean(example.example_id),
            TAG_SCOPE: scope,
            TAG_DIGEST: digest,
        },
        start_time_ns=start,
    )
    if "retrieved_chunks" in example.retrieval:
        retrieve = mlflow.start_span_no_context(
            "retrieve",
            span_type=SpanType.RETRIEVER,
            parent_span=root,
            inputs={"query": question["question"]},
            start_time_ns=start,
        )
        retrieve.end(outputs=clean(_documents(example.retrieval)), end_time_ns=start + retrieval_ns)
    generate_start = start + retrieval_ns
    generate = mlflow.start_span_no_context(
        "generate",
        span_type=SpanType.CHAT_MODEL,
        parent_span=root,
        inputs={"messages": clean([dict(m) for m in example.messages])},
        start_time_ns=generate_start,
    )
    generate.set_attributes(
        {
            SpanAttributeKey.MODEL: model,
            SpanAttributeKey.CHAT_USAGE: {
                "input_tokens": example.prompt_tokens,
                "output_tokens": example.completion_tokens,
                "total_tokens": example.prompt_tokens + example.completion_tokens,
            },
            "cost_usd": example.cost_usd,
        }
    )
    generate.end(
        outputs={"choices": [{"message": {"role": "assistant", "content": answer}}]},
        end_time_ns=generate_start + generation_ns,
    )
    with safe_set_span_in_context(root):
        _assess(root.trace_id, root.span_id, run_id, split, example, clean)
    root.end(outputs=answer, end_time_ns=generate_start + generation_ns)
    return str(root.trace_id)


def _assess(
    trace_id: str,
    span_id: str,
    run_id: str,
    split: str,
    example: ExampleTrace,
    clean: Callable[[Any], Any],
) -> None:
    """The example's scores as feedback and its reference as the expectation.

    Called while the trace's root is the active span, so the assessments join the trace in
    memory and are written with it (one write per example, not one per score).
    """
    import mlflow
    from mlflow.entities import AssessmentSource
    from mlflow.tracing.constant import AssessmentMetadataKey

    meta = {AssessmentMetadataKey.SOURCE_RUN_ID: run_id}
    scorer = AssessmentSource(source_type="CODE", source_id=EVALUATOR)
    mlflow.update_current_trace(client_request_id=clean(example.example_id)[:250])
    for metric, value in example.scores.items():
        if value is not None and math.isfinite(float(value)):
            mlflow.log_feedback(
                trace_id=trace_id,
                name=metric,
                value=float(value),
                source=scorer,
                metadata=meta,
                span_id=span_id,
            )
    mlflow.log_expectation(
        trace_id=trace_id,
        name=EXPECTED,
        value=clean(example.reference),
        source=AssessmentSource(source_type="HUMAN", source_id=f"{split} split"),
        metadata=meta,
        span_id=span_id,
    )


def _documents(extras: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The chunks put in the prompt, in MLflow's retriever document shape."""
    chunks = list(extras.get("retrieved_chunks", []))
    passages = list(extras.get("passages", []))
    scores = list(extras.get("retrieval_scores", []))
    return [
        {
            "id": chunk,
            "page_content": passage.get("text", ""),
            "metadata": {"doc_uri": passage.get("doc_id", ""), "chunk_id": chunk, "score": score},
        }
        for chunk, passage, score in zip(chunks, passages, scores, strict=False)
    ]


def log_dataset(
    name: str, context: str, fingerprint: str, rows: Sequence[Mapping[str, Any]], source: str
) -> None:
    """One split as an input of the active run; its digest is the split's content fingerprint.

    MLflow keeps the dataset's schema and profile (row count), not its rows.
    """
    import mlflow
    import pandas as pd
    from mlflow.data.pandas_dataset import from_pandas

    secrets = env_secrets()
    frame = pd.DataFrame([{k: scrub_value(v, secrets) for k, v in r.items()} for r in rows])
    with warnings.catch_warnings():
        # a local path matches MLflow's two local artifact sources alike; either is right
        warnings.filterwarnings("ignore", "The specified dataset source", UserWarning)
        dataset = from_pandas(
            frame,
            source=scrub(source, secrets),
            name=scrub(name, secrets),
            digest=fingerprint,
            targets="reference" if "reference" in frame.columns else None,
        )
    mlflow.log_input(dataset, context=context)
