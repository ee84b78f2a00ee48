"""Re-running the study: cold, unchanged, and after editing one training example and one document.

Usage:
    .venv/bin/python benchmarks/rerun.py [--limit N] [--arms majority,prompt] [--keep DIR]

Copies the default task (data/support_triage) into a fresh folder and runs the default study
(``shipwise -m``: every arm of ``study.arms`` unless ``--arms`` names some) on it three times,
each in a new process with the same ``paths.root``:
  1. cold: nothing cached (the model's dequantized copy, the index, the adapter, the answers);
  2. unchanged: the same data again;
  3. edited: one training example and one document changed.
It prints each wall time as a ratio to the cold run, what each arm redid (documents
re-embedded, whether it trained, answers generated), and how long logging the per-example traces
took (``<split>/trace_log_s`` queueing them, ``trace_flush_s`` waiting at a run's end for the
writes MLflow makes in the background) and how many unchanged examples' earlier traces were
linked rather than logged again (``<split>/traces_reused``), all read back from the runs in MLflow.
Targets: unchanged <= 5% of cold; after the edits the RAG arm re-embeds one document, the
fine-tune arm retrains, the prompt arm regenerates only answers whose demonstrations changed.
``--limit`` caps the examples scored per split (a quick look; the target is for the full study).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TASK = "support_triage"
UNCHANGED_TARGET = 0.05
TRACE_TARGET = 0.10  # what logging every scored example as a trace may add to a phase
TRACE_S = "/trace_log_s"  # per split, as the runner logs it: building and queueing the traces
FLUSH_S = "trace_flush_s"  # per run: waiting at its end for the queued writes
REUSED = "/traces_reused"  # per split: unchanged examples whose earlier trace was linked


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="examples per split (all)")
    parser.add_argument("--arms", default=None, help="comma-separated (the study's arms)")
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep it")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="shipwise-rerun-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(REPO / "data" / TASK, data / TASK)
    shutil.rmtree(work / ".shipwise", ignore_errors=True)
    (work / "mlflow.db").unlink(missing_ok=True)

    command = [
        str(Path(sys.executable).with_name("shipwise")), "-m",
        f"paths.root={work}", f"paths.data={data}",
    ]  # fmt: skip
    if args.arms:
        command.append(f"strategy={args.arms}")
    if args.limit:
        command.append(f"limit={args.limit}")
    phases: list[tuple[str, float, list[dict[str, Any]]]] = []
    seen: set[str] = set()
    for phase in ("cold", "unchanged", "edited"):
        if phase == "edited":
            print(f"edited: {edit_train_example(data / TASK)}; {edit_document(data / TASK)}")
        seconds = run_phase(phase, command, work)
        runs = new_arm_runs(work, seen)
        phases.append((phase, seconds, runs))
    report(phases)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def run_phase(phase: str, command: list[str], work: Path) -> float:
    print(f"{phase}: {' '.join(command[1:])}", flush=True)
    log = work / f"{phase}.log"
    started = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(command, cwd=work, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{phase} failed (exit {done.returncode}); see {log}")
    print(f"{phase}: {seconds:.1f} s", flush=True)
    return seconds


def edit_train_example(task: Path) -> str:
    """Reword the first training example's message (its label stays)."""
    path = task / "train.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[0])
    user = next(m for m in record["messages"] if m["role"] == "user")
    user["content"] += " Thanks in advance."
    lines[0] = json.dumps(record, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f"train example {record.get('id', 'line 1')}"


def edit_document(task: Path) -> str:
    path = sorted((task / "docs").glob("*.md"))[0]
    path.write_text(
        path.read_text(encoding="utf-8") + "\nReviewed by the support team this quarter.\n",
        encoding="utf-8",
    )
    return f"document {path.name}"


def new_arm_runs(work: Path, seen: set[str]) -> list[dict[str, Any]]:
    from shipwise.evidence import DECISION_TAG
    from shipwise.tracking import TrackingConfig, find_runs

    tracking = TrackingConfig(f"sqlite:///{work}/mlflow.db", TASK)
    fresh = [
        r
        for r in find_runs(tracking)
        if r["run_id"] not in seen and r["tags"].get(DECISION_TAG) != "true"
    ]
    seen.update(r["run_id"] for r in find_runs(tracking))
    return sorted(fresh, key=lambda r: r["tags"].get("strategy", ""))


def redone(run: dict[str, Any]) -> str:
    metrics, params = run["metrics"], run["params"]
    generated = sum(v for k, v in metrics.items() if k.endswith("/generated"))
    cached = sum(v for k, v in metrics.items() if k.endswith("/cached"))
    parts = [f"generated {generated:.0f} of {generated + cached:.0f} answers"]
    if "index.docs_changed" in metrics:
        embedded = metrics["index.docs_added"] + metrics["index.docs_changed"]
        parts.append(
            f"re-embedded {embedded:.0f} documents ({metrics['index.chunks_embedded']:.0f} chunks)"
        )
    if "setup.adapter_cached" in params:
        parts.append("used the cached adapter" if params["setup.adapter_cached"] == "True" else
                     f"trained ({metrics.get('train/wall_s', 0):.0f} s)")  # fmt: skip
    return ", ".join(parts)


def report(phases: Sequence[tuple[str, float, list[dict[str, Any]]]]) -> None:
    cold = phases[0][1]
    print()
    print(f"{'phase':<10} {'wall s':>8} {'vs cold':>8}  what each arm redid")
    for phase, seconds, runs in phases:
        arms = "; ".join(f"{r['tags'].get('strategy')}: {redone(r)}" for r in runs)
        print(f"{phase:<10} {seconds:>8.1f} {seconds / cold:>7.3f}x  {arms}")
    for phase, seconds, runs in phases:
        traced = sum(
            v for r in runs for k, v in r["metrics"].items() if k.endswith(TRACE_S) or k == FLUSH_S
        )
        reused = sum(v for r in runs for k, v in r["metrics"].items() if k.endswith(REUSED))
        target = f" (target <= {TRACE_TARGET:.0%})" if phase == "cold" else ""
        print(
            f"{phase}: logging the per-example traces took {traced:.1f} s,"
            f" {traced / seconds:.1%} of the phase{target}; {reused:.0f} earlier traces linked"
        )
    unchanged = phases[1][1] / cold
    verdict = "met" if unchanged <= UNCHANGED_TARGET else "missed"
    print(
        f"unchanged re-run: {unchanged:.1%} of cold (target <= {UNCHANGED_TARGET:.0%}: {verdict})"
    )
    print(f"machine: {os.cpu_count()} cores; one run of each phase, measured back to back")


if __name__ == "__main__":
    raise SystemExit(main())
