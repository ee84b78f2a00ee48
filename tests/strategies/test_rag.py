"""The RAG arm through the runner: real Chroma, real MLflow, a scripted generator."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipwise.models.base import GenerationSettings
from shipwise.models.fake import FakeGenerator
from shipwise.retrieval.embedders import HashingEmbedder
from shipwise.runner import RunSpec, run
from shipwise.strategies.arm import Arm
from shipwise.strategies.parts import Demos, Retrieval
from shipwise.tasks.example import Messages
from shipwise.tasks.task import TaskSpec, load_task
from shipwise.tracking import TrackingConfig, find_runs, load_table
from tests.conftest import qa, write_jsonl

DOCS = {
    "tents.md": "# Tents\n\nTent rentals cost 40 dollars per weekend.",
    "kayaks.md": "# Kayaks\n\nKayak rentals need a deposit of 120 pounds.",
    "bikes.md": "# Bikes\n\nBike rentals must be returned by 6 pm.",
}
QUESTIONS = [
    ("What do tent rentals cost per weekend?", "40 dollars", "tents"),
    ("How big is the kayak rental deposit?", "120 pounds", "kayaks"),
    ("By what time must rental bikes come back?", "6 pm", "bikes"),
]


@pytest.fixture
def rental_task(tmp_path: Path) -> Path:
    root = tmp_path / "rentals"
    rows = [qa(f"r-{i}", q, a, source_doc=d) for i, (q, a, d) in enumerate(QUESTIONS)]
    write_jsonl(root / "train.jsonl", [qa("t-0", "Do you rent tents?", "Yes")])
    write_jsonl(root / "val.jsonl", [qa("v-0", "Do you rent kayaks?", "Yes")])
    write_jsonl(root / "test.jsonl", rows)
    (root / "docs").mkdir()
    for name, text in DOCS.items():
        (root / "docs" / name).write_text(text)
    return root


def reads_the_passages(prompt: Messages) -> str:
    """Answers from the top retrieved passage only, as a grounded model would."""
    passages = prompt[-1].content.split("Passages from our documents:\n", 1)[-1]
    for _, answer, doc in QUESTIONS:
        if passages.startswith(f"[{doc}]"):
            return answer
    return "I don't know"


def rag(**retrieval: Any) -> Arm:
    """The RAG arm as conf/strategy/rag.yaml builds it, with one demonstration."""
    part = Retrieval(**{"top_k": 2, "chunk_size": 200, **retrieval})
    return Arm("rag", "rag", 3, instruction=True, demos=Demos(k=1), retrieval=part)


def spec_for(tmp_path: Path, task_root: Path, strategy: Arm) -> RunSpec:
    task = load_task(TaskSpec("rentals", str(task_root), "Answer briefly.", "token_f1"))
    return RunSpec(
        task=task,
        strategy=strategy,
        generator=FakeGenerator(responder=reads_the_passages),
        embedder_factory=lambda: HashingEmbedder(dim=128),
        settings=GenerationSettings(max_new_tokens=8),
        tracking=TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "rentals"),
        root=tmp_path / ".shipwise",
        run_name="rag",
    )


def test_rag_answers_from_retrieved_passages_and_scores_retrieval(
    tmp_path: Path, rental_task: Path
) -> None:
    result = run(spec_for(tmp_path, rental_task, rag()))
    test = result.splits["test"]
    assert test.summary.means["exact_match"] == 1.0
    assert test.retrieval["retrieval.recall_at_1"] == 1.0
    assert test.retrieval["retrieval.mrr"] == 1.0
    assert test.retrieval["retrieval.p95_s"] > 0
    [logged] = find_runs(TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "rentals"))
    assert logged["metrics"]["test/retrieval.recall_at_5"] == 1.0
    assert logged["metrics"]["index.docs_added"] == 3
    assert logged["params"]["setup.collection"].startswith("rentals-hashing-")
    rows = load_table(
        TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "rentals"),
        logged["run_id"],
        "predictions/test.json",
    )
    assert [r["retrieved"].split(", ")[0] for r in rows] == ["tents", "kayaks", "bikes"]


def test_editing_one_document_re_embeds_only_it(tmp_path: Path, rental_task: Path) -> None:
    strategy = rag()
    run(spec_for(tmp_path, rental_task, strategy))
    kayak = rental_task / "docs" / "kayaks.md"
    kayak.write_text(kayak.read_text().replace("120 pounds", "150 pounds"))
    (rental_task / "docs" / "bikes.md").unlink()
    run(spec_for(tmp_path, rental_task, strategy))
    runs = find_runs(TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "rentals"))
    latest = max(runs, key=lambda r: r["metrics"].get("index.docs_changed", -1))
    metrics = latest["metrics"]
    assert metrics["index.docs_changed"] == 1 and metrics["index.docs_removed"] == 1
    assert metrics["index.docs_untouched"] == 1
    assert metrics["index.chunks_embedded"] == 1  # kayaks.md is one chunk
    assert metrics["index.chunks_deleted"] == 2  # the old kayak chunk and the bike chunk


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    """A real Chroma server (the `chroma run` CLI shipped with chromadb) on loopback."""
    import shutil
    import sys

    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    process = subprocess.Popen(
        [
            chroma,
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("the chroma server did not start within 30 s")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_arm_runs_against_a_chroma_server(
    tmp_path: Path, rental_task: Path, chroma_server: int
) -> None:
    strategy = rag(chroma={"host": "127.0.0.1", "port": chroma_server})
    result = run(spec_for(tmp_path, rental_task, strategy))
    assert result.splits["test"].summary.means["exact_match"] == 1.0
    assert not (tmp_path / ".shipwise" / "chroma").exists()  # nothing went to the embedded store

    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=chroma_server)
    [collection] = client.list_collections()
    assert collection.name.startswith("rentals-hashing-") and collection.count() == 3
