"""The decision's evidence, read back from MLflow runs: no model runs again.

For each arm: the latest finished run per run name (one arm configuration) unless run ids are
given; its per-example test scores from the predictions table, its costs, latency, red-team
and regression results, and whether its inputs changed since it ran (stale).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shipwise.decision_types import ArmEvidence
from shipwise.errors import DataError
from shipwise.tracking import TrackingConfig, find_runs, load_table

DECISION_TAG = "shipwise.decision"
FINGERPRINTED = ("train", "val", "test", "docs")


def latest_arm_runs(
    config: TrackingConfig, run_ids: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Finished arm runs: the given ids, else the newest run of each run name."""
    runs = [r for r in find_runs(config) if r["tags"].get(DECISION_TAG) != "true"]
    if run_ids:
        by_id = {r["run_id"]: r for r in runs}
        missing = [i for i in run_ids if i not in by_id]
        if missing:
            raise DataError(
                f"runs not found in experiment {config.experiment!r}: {', '.join(missing)}",
                where=config.uri,
                fix="pass run ids from this task's experiment (see the MLflow UI)",
            )
        chosen = [by_id[i] for i in run_ids]
    else:
        newest: dict[str, dict[str, Any]] = {}
        for run in runs:  # find_runs lists newest first
            if run["status"] == "FINISHED" and "test/primary" in run["metrics"]:
                newest.setdefault(run["name"], run)
        chosen = list(newest.values())
    unfinished = [r["name"] for r in chosen if r["status"] != "FINISHED"]
    if unfinished:
        raise DataError(
            f"runs that did not finish cannot be compared: {', '.join(unfinished)}",
            where=config.experiment,
            fix="re-run those arms, or leave them out of --runs",
        )
    return chosen


def evidence_from_run(
    config: TrackingConfig, run: Mapping[str, Any], current: Mapping[str, str] | None = None
) -> ArmEvidence:
    """One run as ArmEvidence; ``current`` = the task's fingerprints now (for staleness)."""
    metrics, tags = run["metrics"], run["tags"]
    rows = load_table(config, run["run_id"], "predictions/test.json")
    metric = run["params"].get("task.metric", "primary")
    column = f"score.{metric}"
    if rows and column not in rows[0]:
        raise DataError(
            f"run {run['name']!r} has no per-example {metric!r} scores",
            where=run["run_id"],
            fix="re-run the arm with this version of shipwise",
        )
    changed = [
        name
        for name in FINGERPRINTED
        if current and name in current and tags.get(f"fingerprint.{name}") != current[name]
    ]
    return ArmEvidence(
        name=run["name"],
        strategy=tags.get("strategy", "?"),
        run_id=run["run_id"],
        metric=metric,
        scores={str(r["id"]): float(r[column]) for r in rows},
        test_fingerprint=tags.get("fingerprint.eval.test", tags.get("fingerprint.test", "")),
        usd_per_call=metrics.get("test/usd_per_1k_calls", 0.0) / 1000,
        setup_usd=metrics.get("setup_usd", 0.0),
        latency_p95_s=metrics.get("test/latency_p95_s", 0.0),
        latencies_s=[float(r["latency_s"]) for r in rows],
        redteam_pass_rate=metrics.get("redteam/primary"),
        regression_score=metrics.get("regression/primary"),
        regression_baseline=metrics.get("regression/baseline_primary"),
        params={k: v for k, v in run["params"].items() if k.startswith("strategy.")},
        stale=bool(changed),
        warnings=[f"its {', '.join(changed)} changed since it ran"] if changed else [],
    )
