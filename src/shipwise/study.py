"""The study's last step: decide from the arms' MLflow runs, write the report, log it.

Shared by ``shipwise -m`` (at the end of the sweep) and ``shipwise-decide``; no model runs.
"""

from __future__ import annotations

import dataclasses
import textwrap
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipwise.decision_types import Collapse, Constraints, Decision, DecisionConfig, Effort
from shipwise.errors import ConfigError, ShipwiseError

if TYPE_CHECKING:
    from shipwise.decision_types import ArmEvidence
    from shipwise.tracking import TrackedRun


def decision_config(plain: Mapping[str, Any]) -> DecisionConfig:
    """The ``decision`` config group as a DecisionConfig (unknown keys named, not a TypeError)."""
    values = dict(plain)
    try:
        values["constraints"] = Constraints(**(values.get("constraints") or {}))
        values["collapse"] = Collapse(**(values.get("collapse") or {}))
        values["effort"] = {k: Effort(**v) for k, v in (values.get("effort") or {}).items()}
        values["expected_arms"] = tuple(values.get("expected_arms") or ())
        return DecisionConfig(**values)
    except TypeError as exc:
        raise ConfigError(
            f"the decision config does not fit: {exc}",
            where="decision",
            fix="see conf/decision/default.yaml for its keys",
        ) from None


def run_decision(
    plain: Mapping[str, Any],
    run_ids: Sequence[str] | None = None,
    absent: Mapping[str, str] | None = None,
) -> Path:
    """Decide from MLflow runs, write and log the report; returns the report folder.

    ``absent``: why an arm of the sweep has no run (it was skipped, or failed), by strategy.
    """
    from shipwise.decision import decide
    from shipwise.evaluation.aggregates import task_metric
    from shipwise.evidence import (
        DECISION_TAG,
        evidence_from_run,
        latest_arm_runs,
        planned_arms,
        without_shared_settings,
    )
    from shipwise.report import decision_table, print_table, write_decision_report
    from shipwise.tasks.task import load_task_config
    from shipwise.tracking import TrackingConfig, flatten, tracked_run

    task = load_task_config(plain["task"], plain["paths"]["data"])
    tracking = TrackingConfig(**plain["tracking"])
    runs = latest_arm_runs(tracking, run_ids)
    if not runs:
        raise ShipwiseError(
            f"no finished runs of task {task.name!r} in {tracking.uri}",
            where=f"experiment {tracking.experiment!r}",
            fix=f"run the study first: shipwise -m task={task.name}",
        )
    output = task.spec.output
    metric = task_metric(output, task.spec.metric)
    current = task.fingerprints()
    rules = [rule.name for rule in output.style]
    evidence, shared, own = without_shared_settings(
        [evidence_from_run(tracking, run, metric, current, rules) for run in runs]
    )
    run_names = {r["run_id"]: str(r["name"]) for r in runs}
    config = decision_config(plain["decision"])
    planned = planned_arms(runs)
    if planned is not None:  # an arm is missing only if the sweeps meant to run it
        expected = tuple(a for a in config.expected_arms if a in planned)
        config = dataclasses.replace(config, expected_arms=expected)
    decision = decide(
        evidence,
        config,
        task.name,
        metric,
        free_text=output.kind == "text",
        shared=shared,
        own=own,
        absent=absent,
    )
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S") + f".{int(time.time() * 1000) % 1000:03d}"
    out_dir = Path(plain["paths"]["cache"]).expanduser().resolve() / "decisions" / stamp
    files = write_decision_report(decision, evidence, out_dir)
    tags = {
        DECISION_TAG: "true",
        "task": task.name,
        # the shipped run as MLflow names it (the report may leave shared settings out)
        "ship": next((run_names[e.run_id] for e in evidence if e.name == decision.ship), "none"),
        ARMS_TAG: ",".join(e.run_id for e in evidence),
    }
    with tracked_run(tracking, f"decision {stamp}", tags) as tracked:
        tracked.log_params(flatten({"decision": plain["decision"]}))
        tracked.log_params({"arms": ", ".join(e.run_id for e in evidence)})
        tracked.log_metrics(decision_metrics(decision))
        # the run's description: the verdict, then a link to each run it compared
        experiment = {r["run_id"]: str(r.get("experiment_id", "0")) for r in runs}
        tracked.set_tags({"mlflow.note.content": description(decision, evidence, experiment)})
        tracked.log_artifacts(out_dir)
        _log_test_split(tracked, task.name, evidence)
    print_table(decision_table(decision))
    if decision.caveats:  # what the verdict leaves out (forgetting, too few examples, ...)
        print("Caveats:")
        for caveat in decision.caveats:
            print(textwrap.fill(caveat, 110, initial_indent="- ", subsequent_indent="  "))
    print(f"report: {files['markdown']}")
    return out_dir


ARMS_TAG = "shipwise.arms"  # the run ids the decision compared, comma-separated


def description(
    decision: Decision, evidence: Sequence[ArmEvidence], experiments: Mapping[str, str]
) -> str:
    """The decision run's description (Markdown): the verdict, the report, the arms' runs."""
    lines = [decision.verdict, "", "Report: `decision.md` and `figures/` under Artifacts.", ""]
    lines += ["Arms compared:"]
    for arm in evidence:
        link = f"#/experiments/{experiments.get(arm.run_id, '0')}/runs/{arm.run_id}"
        shipped = " (shipped)" if arm.name == decision.ship else ""
        lines.append(f"- [{arm.name}]({link}){shipped}: run `{arm.run_id}`")
    return "\n".join(lines)


def _log_test_split(tracked: TrackedRun, task: str, evidence: Sequence[ArmEvidence]) -> None:
    """The test split the arms were compared on, as the decision run's input."""
    if not evidence:
        return
    first = evidence[0]
    rows = [
        {"id": i, "input": first.inputs.get(i, ""), "reference": first.references.get(i, "")}
        for i in first.scores
    ]
    tracked.log_dataset(f"{task}/test", "test", first.test_fingerprint, rows, f"{task}/test")


def decision_metrics(decision: Decision) -> dict[str, float]:
    """The decision's numbers as MLflow metrics, one group per arm (as in decision.json)."""
    out: dict[str, float] = {}
    for arm in decision.arms:
        for key in ("mean", "low", "high", "monthly_usd", "compute_monthly_usd",
                    "people_monthly_usd", "usd_per_1k_calls"):  # fmt: skip
            out[f"{arm.name}/{key}"] = float(getattr(arm, key))
        out[f"{arm.name}/shippable"] = float(arm.feasible)
        out[f"{arm.name}/candidate"] = float(arm.candidate)
    out["margin"] = decision.config.margin
    return out
