"""A finished study's MLflow UI in headless Chromium: do the arms, their rows and a trace render?

Usage:
    .venv/bin/python benchmarks/ui_check.py [--root .] [--task support_triage] [--out ui-shots]

Starts ``mlflow ui`` on the study's store (``sqlite:///<root>/mlflow.db``) on a free loopback
port, then loads five pages in Chromium (Debian's ``chromium``): the experiment's runs, its
traces, the evaluation view of two arms side by side, one example's trace, and the newest
decision run. Every arm's newest run must have traces (checked through the API first). For
each page it keeps the rendered text (``--dump-dom``) and a screenshot (``--screenshot``) under
``--out``, and checks what it must show: every arm's run name in the runs; an example's id in
the traces; two arms compared row by row, an example's question among the rows; a trace's
spans; the decision's verdict as its run's description. It prints one line per page and exits 1
when a page lacks something. Exits 2 when no Chromium is installed.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipwise.testing.mlflow_server import mlflow_server

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
BUDGET_MS = 20000  # virtual time a page gets to fetch and render


@dataclass(frozen=True)
class Page:
    name: str
    route: str  # after the UI's "#"
    expect: tuple[str, ...]  # texts the rendered page must contain


@dataclass(frozen=True)
class Seen:
    page: Page
    missing: tuple[str, ...]
    text_chars: int
    screenshot: Path


def browser() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def render(chromium: str, url: str, screenshot: Path) -> str:
    """The page's text after its scripts ran, and a screenshot of it."""
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--hide-scrollbars", "--window-size=1600,1000", f"--virtual-time-budget={BUDGET_MS}",
    ]  # fmt: skip
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=180
    ).stdout
    subprocess.run(
        [chromium, *flags, f"--screenshot={screenshot}", url], capture_output=True, timeout=180
    )
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def study_pages(store: str, task: str) -> list[Page]:
    """The pages to load for the task's experiment, and what each must show."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(store)
    experiment = mlflow.get_experiment_by_name(task)
    if experiment is None:
        raise SystemExit(f"no experiment {task!r} in {store}: run the study first")
    eid = experiment.experiment_id
    runs = MlflowClient().search_runs([eid], order_by=["attributes.start_time DESC"])
    arms = [r for r in runs if r.data.tags.get("shipwise.decision") != "true"]
    decisions = [r for r in runs if r.data.tags.get("shipwise.decision") == "true"]
    newest: dict[str, str] = {}
    for run in arms:
        newest.setdefault(run.info.run_name, run.info.run_id)
    names = tuple(newest)
    untraced = [name for name, run in newest.items() if not _traces(eid, run, "", 1)]
    if untraced:
        raise SystemExit(
            f"no traces for {', '.join(untraced)}: re-run the study with this shipwise"
        )
    first, second = [*newest.values(), ""][:2]
    # the newest trace heads the traces list and the rows; a test example's trace has every span
    [top] = _traces(eid, first, "", 1) or [None]
    [trace] = _traces(eid, first, "tag.`shipwise.split` = 'test'", 1) or [None]
    if top is None or trace is None:
        raise SystemExit(f"run {first} has no test traces: re-run the study with this shipwise")
    example = top.info.client_request_id or ""
    root = next(s for s in top.data.spans if not s.parent_id)
    question = str((root.inputs or {}).get("question", ""))[:40]  # a row's text, both arms
    spans = tuple(sorted(s.name for s in trace.data.spans if s.parent_id))  # under the root
    compare = f"selectedRunUuid={first}" + (f"&compareToRunUuid={second}" if second else "")
    return [
        Page("runs", f"/experiments/{eid}/runs", names),
        Page("traces", f"/experiments/{eid}/traces", (example,)),
        Page(
            "evaluation",
            f"/experiments/{eid}/evaluation-runs?{compare}",
            ("Comparing" if second else "", question),
        ),
        Page(
            "trace",
            f"/experiments/{eid}/traces?selectedEvaluationId={trace.info.trace_id}",
            spans,
        ),
        *_decision_page(eid, decisions[:1]),
    ]


def _decision_page(experiment: str, newest: list[Any]) -> list[Page]:
    """The newest decision run's page: its description (the verdict) and its report artifact."""
    if not newest:
        return []
    [run] = newest
    verdict = run.data.tags.get("mlflow.note.content", "")
    opening = verdict.replace("**", "").lstrip("#> ").split("\n")[0].strip()[:40]
    return [Page("decision", f"/experiments/{experiment}/runs/{run.info.run_id}", (opening,))]


def _traces(experiment: str, run: str, where: str, most: int) -> list[Any]:
    import mlflow

    found = mlflow.search_traces(
        locations=[experiment], run_id=run, filter_string=where or None, max_results=most,
        order_by=["timestamp_ms DESC"], return_type="list",
    )  # fmt: skip
    return list(found)


def check(root: Path, task: str, out: Path) -> list[Seen]:
    chromium = browser()
    if chromium is None:
        raise FileNotFoundError(f"no browser: install one of {', '.join(BROWSERS)}")
    store = f"sqlite:///{root.resolve()}/mlflow.db"
    pages = study_pages(store, task)
    out.mkdir(parents=True, exist_ok=True)
    seen = []
    args = ["--backend-store-uri", store, "--workers", "1"]
    with mlflow_server(args, out / "mlflow-ui.log", command="ui") as url:
        for page in pages:
            shot = out / f"{page.name}.png"
            text = render(chromium, f"{url}/#{page.route}", shot)
            (out / f"{page.name}.txt").write_text(text)
            missing = tuple(e for e in page.expect if e not in text)
            seen.append(Seen(page, missing, len(text.split()), shot))
    return seen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="where mlflow.db is")
    parser.add_argument("--task", default="support_triage", help="the experiment")
    parser.add_argument("--out", type=Path, default=Path("ui-shots"), help="pages go here")
    args = parser.parse_args(argv)
    try:
        seen = check(args.root, args.task, args.out)
    except FileNotFoundError as exc:
        print(f"ui_check: {exc}", file=sys.stderr)
        return 2
    for s in seen:
        status = "ok" if not s.missing else f"MISSING {', '.join(s.missing)}"
        print(f"{s.page.name:<11} {status:<30} {s.text_chars:>6} words  {s.screenshot}")
    return 0 if all(not s.missing for s in seen) else 1


if __name__ == "__main__":
    raise SystemExit(main())
