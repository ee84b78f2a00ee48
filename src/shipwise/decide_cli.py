"""shipwise-decide: decide which arm to ship from the runs already in MLflow.

Usage:
    shipwise-decide task=policy_qa
    shipwise-decide task=policy_qa decision.calls_per_month=1000000
    shipwise-decide task=support_triage decision.constraints.max_p95_latency_s=5
    shipwise-decide task=policy_qa --runs RUN_ID,RUN_ID
    shipwise-decide task=my_task                       # a task an import wrote here (./conf)
    shipwise-decide --config-dir DIR task=my_task      # configs in another folder, as shipwise

No model runs: the evidence is each arm's latest finished run (or the given runs), read back
from MLflow. The report (decision.json, decision.md, figures) goes to
``<paths.cache>/decisions/<time>/`` and into an MLflow run tagged ``shipwise.decision``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from shipwise.errors import ShipwiseError


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # as shipwise does
    if any(a in ("-h", "--help") for a in args):
        print(__doc__)
        return 0
    try:
        runs = _option(args, "--runs")
        config_dir = _option(args, "--config-dir", "-cd")
        from shipwise.config import compose
        from shipwise.config import config_dir as ours
        from shipwise.preflight import check_argv, search_dirs
        from shipwise.project import check_tasks_found
        from shipwise.study import run_decision

        run_ids = [r for r in runs.split(",") if r] if runs is not None else None
        dirs = [Path(config_dir).expanduser().resolve()] if config_dir else []
        flags = ["--config-dir", str(dirs[0])] if dirs else []
        check_argv([*flags, *args], ours())
        check_tasks_found(args, search_dirs([*flags, *args], ours()))
        run_decision(compose(args, dirs), run_ids)
    except ShipwiseError as exc:
        print(f"shipwise-decide: error: {exc.render()}", file=sys.stderr)
        return 2
    return 0


def _option(args: list[str], *names: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` (removed from ``args``), or None."""
    from shipwise.errors import ConfigError

    for at, arg in enumerate(args):
        for name in names:
            if arg.startswith(f"{name}="):
                del args[at]
                return arg.split("=", 1)[1]
            if arg == name:
                if at + 1 >= len(args) or args[at + 1].startswith("-"):
                    raise ConfigError(f"{name} needs a value", where=name)
                value = args[at + 1]
                del args[at : at + 2]
                return value
    return None


if __name__ == "__main__":
    raise SystemExit(main())
