"""shipwise-decide: decide which arm to ship from the runs already in MLflow.

Usage:
    shipwise-decide task=policy_qa
    shipwise-decide task=policy_qa decision.calls_per_month=1000000
    shipwise-decide task=support_triage decision.constraints.max_p95_latency_s=5
    shipwise-decide task=policy_qa --runs RUN_ID,RUN_ID

No model runs: the evidence is each arm's latest finished run (or the given runs), read back
from MLflow. The report (decision.json, decision.md, figures) goes to
``<paths.cache>/decisions/<time>/`` and into an MLflow run tagged ``shipwise.decision``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipwise.errors import ShipwiseError


def decision_config(plain: Mapping[str, Any], seed: int) -> Any:
    from shipwise.decision_types import Constraints, DecisionConfig

    values = dict(plain)
    constraints = Constraints(**(values.pop("constraints", None) or {}))
    values["simplicity"] = tuple(values.get("simplicity", ()))
    return DecisionConfig(**values, constraints=constraints, seed=seed)


def run_decision(plain: Mapping[str, Any], run_ids: Sequence[str] | None = None) -> Path:
    """Decide from MLflow runs, write and log the report; returns the report folder."""
    from shipwise.decision import decide
    from shipwise.evidence import DECISION_TAG, evidence_from_run, latest_arm_runs
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
    current = task.fingerprints()
    evidence = [evidence_from_run(tracking, run, current) for run in runs]
    decision = decide(evidence, decision_config(plain["decision"], plain["seed"]), task.name)
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S") + f".{int(time.time() * 1000) % 1000:03d}"
    out_dir = Path(plain["paths"]["cache"]).expanduser().resolve() / "decisions" / stamp
    files = write_decision_report(decision, evidence, out_dir)
    tags = {DECISION_TAG: "true", "task": task.name, "ship": decision.ship or "none"}
    with tracked_run(tracking, f"decision {stamp}", tags) as tracked:
        tracked.log_params(flatten({"decision": plain["decision"]}))
        tracked.log_params({"arms": ", ".join(e.run_id for e in evidence)})
        tracked.log_metrics({f"monthly_usd.{a.name}": a.monthly_usd for a in decision.arms})
        tracked.log_artifacts(out_dir)
    print_table(decision_table(decision))
    print(f"report: {files['markdown']}")
    return out_dir


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(__doc__)
        return 0
    run_ids: list[str] | None = None
    if "--runs" in args:
        at = args.index("--runs")
        if at + 1 >= len(args):
            print("shipwise-decide: error: --runs needs a comma-separated list", file=sys.stderr)
            return 2
        run_ids = [r for r in args[at + 1].split(",") if r]
        del args[at : at + 2]
    try:
        plain = compose(args)
        run_decision(plain, run_ids)
    except ShipwiseError as exc:
        print(f"shipwise-decide: error: {exc.render()}", file=sys.stderr)
        return 2
    return 0


def compose(overrides: Sequence[str]) -> dict[str, Any]:
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from shipwise.config import config_dir, register_resolvers
    from shipwise.errors import ConfigError

    register_resolvers()
    try:
        with initialize_config_dir(str(config_dir()), version_base="1.3"):
            cfg = compose("config", overrides=list(overrides))
        plain: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(str(exc), where="overrides", fix="check the key names") from None
    return plain


if __name__ == "__main__":
    raise SystemExit(main())
