"""The fake fine-tuning endpoints, exercised through the real ``openai`` client."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from shipwise.testing.finetune_server import FakeFineTuning, add_fine_tuning
from shipwise.testing.openai_server import FakeOpenAIServer

KEY = "sk-test-ft-456"


def _rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "messages": [
                {"role": "user", "content": f"Colour of fruit {i}?"},
                {"role": "assistant", "content": "red"},
            ]
        }
        for i in range(n)
    ]


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(lambda body: f"from {body['model']}", api_key=KEY) as srv:
        yield srv


@pytest.fixture
def ft(server: FakeOpenAIServer) -> FakeFineTuning:
    return add_fine_tuning(server, polls_per_state=2)


@pytest.fixture
def client(server: FakeOpenAIServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=5)


def _upload(client: openai.OpenAI, rows: list[dict[str, Any]], name: str = "t.jsonl") -> str:
    return client.files.create(file=(name, _jsonl(rows)), purpose="fine-tune").id


def test_upload_returns_a_file_object_and_keeps_the_content(
    client: openai.OpenAI, ft: FakeFineTuning
) -> None:
    content = _jsonl(_rows(3))
    uploaded = client.files.create(file=("train.jsonl", content), purpose="fine-tune")
    assert (uploaded.object, uploaded.purpose, uploaded.filename) == (
        "file",
        "fine-tune",
        "train.jsonl",
    )
    assert uploaded.bytes == len(content)
    assert client.files.retrieve(uploaded.id).id == uploaded.id
    assert ft.file_content(uploaded.id) == content
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve("file-missing")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"messages": [{"role": "user", "content": "hi"}]}', "line 2: no assistant"),
        ('{"messages": [{"role": "robot", "content": "x"}]}', "line 2: Invalid value"),
        ("not json", "line 2"),
        ('{"prompt": "old format"}', "line 2"),
    ],
)
def test_upload_rejects_lines_that_are_not_chat_rows(
    client: openai.OpenAI, ft: FakeFineTuning, line: str, expected: str
) -> None:
    content = _jsonl(_rows(1)) + line.encode() + b"\n"
    with pytest.raises(openai.BadRequestError, match=expected):
        client.files.create(file=("t.jsonl", content), purpose="fine-tune")
    assert ft.files_uploaded == 0


def test_upload_needs_jsonl_and_the_key(server: FakeOpenAIServer, client: openai.OpenAI) -> None:
    add_fine_tuning(server)
    with pytest.raises(openai.BadRequestError, match=r"Must be \.jsonl"):
        client.files.create(file=("t.csv", _jsonl(_rows(1))), purpose="fine-tune")
    wrong = openai.OpenAI(base_url=server.base_url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        _upload(wrong, _rows(1))


def test_job_walks_the_states_then_answers_chat(client: openai.OpenAI, ft: FakeFineTuning) -> None:
    train, val = _upload(client, _rows(10)), _upload(client, _rows(2), "v.jsonl")
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini-2024-07-18",
        training_file=train,
        validation_file=val,
        suffix="fruit",
        seed=7,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": "auto"}}},
    )
    assert (job.status, job.seed, job.fine_tuned_model) == ("validating_files", 7, None)
    with pytest.raises(openai.NotFoundError):  # no model yet: nothing to chat with
        client.chat.completions.create(
            model=f"ft:gpt-4o-mini-2024-07-18:org-shipwise-fake:fruit:{job.id[6:14]}",
            messages=[{"role": "user", "content": "hi"}],
        )

    seen = [client.fine_tuning.jobs.retrieve(job.id) for _ in range(6)]
    statuses = [j.status for j in seen]
    assert statuses == ["validating_files", "queued", "queued", "running", "running", "succeeded"]
    done = seen[-1]
    # 10 examples x 3 = 30 < 100, so "auto" trains 100 // 10 = 10 epochs; batch 1.
    assert done.hyperparameters.n_epochs == 10
    assert done.hyperparameters.batch_size == 1
    # each row: "Colour of fruit 3 ?" (5 + 3) + "red" (1 + 3) + 3 priming = 15 tokens
    assert done.trained_tokens == 15 * 10 * 10
    assert (
        done.fine_tuned_model == f"ft:gpt-4o-mini-2024-07-18:org-shipwise-fake:fruit:{job.id[6:14]}"
    )
    assert done.finished_at is not None and done.error is None

    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert [c.step_number for c in checkpoints] == [100, 90, 80]  # the last 3 epochs, newest first
    assert all(c.metrics.valid_loss is not None for c in checkpoints)
    losses = [c.metrics.train_loss or 0.0 for c in reversed(checkpoints)]
    assert losses == sorted(losses, reverse=True)  # the curve goes down
    assert math.isclose(losses[-1], 0.1 + 2 * math.exp(-3), abs_tol=1e-4)

    events = client.fine_tuning.jobs.list_events(job.id, limit=200).data
    messages = [e.message for e in reversed(events)]
    assert messages[0] == f"Created fine-tuning job: {job.id}"
    assert "Files validated, moving job to queued state" in messages
    assert sum(e.type == "metrics" for e in events) == 100
    assert messages[-1] == "The job has successfully completed"

    assert done.fine_tuned_model is not None
    reply = client.chat.completions.create(
        model=done.fine_tuned_model, messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.choices[0].message.content == f"from {done.fine_tuned_model}"
    assert done.fine_tuned_model in {m.id for m in client.models.list()}
    assert ft.jobs_created == 1


def test_failing_job_carries_the_error(client: openai.OpenAI, ft: FakeFineTuning) -> None:
    ft.fail_with = "The training file has only 2 examples; at least 10 are required."
    job = client.fine_tuning.jobs.create(model="m", training_file=_upload(client, _rows(2)))
    statuses = [client.fine_tuning.jobs.retrieve(job.id).status for _ in range(4)]
    assert statuses == ["validating_files", "failed", "failed", "failed"]
    failed = client.fine_tuning.jobs.retrieve(job.id)
    assert failed.error is not None
    assert failed.error.message == ft.fail_with
    assert failed.fine_tuned_model is None
    levels = {e.level for e in client.fine_tuning.jobs.list_events(job.id).data}
    assert "error" in levels


def test_cancel_stops_a_job_for_good(client: openai.OpenAI, ft: FakeFineTuning) -> None:
    job = client.fine_tuning.jobs.create(model="m", training_file=_upload(client, _rows(2)))
    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="already completed"):
        client.fine_tuning.jobs.cancel(job.id)
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.jobs.cancel("ftjob-nope")


def test_list_filters_by_metadata_and_pages(client: openai.OpenAI, ft: FakeFineTuning) -> None:
    file_id = _upload(client, _rows(2))
    ids = [
        client.fine_tuning.jobs.create(
            model="m", training_file=file_id, metadata={"run": str(i % 2)}
        ).id
        for i in range(5)
    ]
    page = client.fine_tuning.jobs.list(limit=2)
    assert [j.id for j in page.data] == ids[::-1][:2]  # newest first
    assert page.has_more
    everything = [j.id for j in client.fine_tuning.jobs.list(limit=2)]  # auto-pagination
    assert everything == ids[::-1]
    odd = client.fine_tuning.jobs.list(metadata={"run": "1"}).data
    assert [j.id for j in odd] == [ids[3], ids[1]]


@pytest.mark.parametrize(
    ("changes", "param"),
    [
        ({"training_file": "file-unknown"}, "training_file"),
        ({"method": {"type": "dpo"}}, "method"),
        (
            {"method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 0}}}},
            "n_epochs",
        ),
        ({"suffix": "x" * 65}, "suffix"),
    ],
)
def test_create_rejects_bad_requests(
    client: openai.OpenAI, ft: FakeFineTuning, changes: dict[str, Any], param: str
) -> None:
    request: dict[str, Any] = {"model": "m", "training_file": _upload(client, _rows(2))}
    request.update(changes)
    with pytest.raises(openai.BadRequestError) as info:
        client.fine_tuning.jobs.create(**request)
    assert isinstance(info.value.body, dict) and info.value.body.get("param") == param
    assert ft.jobs_created == 0


def test_injected_faults_on_retrieve_do_not_advance_the_job(
    server: FakeOpenAIServer, ft: FakeFineTuning
) -> None:
    patient = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=2, timeout=5)
    job = patient.fine_tuning.jobs.create(model="m", training_file=_upload(patient, _rows(2)))
    server.inject_faults(r"/v1/fine_tuning/jobs/[^/]+", [429, 500])
    assert patient.fine_tuning.jobs.retrieve(job.id).status == "validating_files"
    retrieves = [r for r in server.requests if r.path == f"/v1/fine_tuning/jobs/{job.id}"]
    assert len(retrieves) == 3  # two faults, then the one that reached the state machine
    assert ft.job(job.id)["status"] == "validating_files"
