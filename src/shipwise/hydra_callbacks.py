"""Hydra callbacks: the study's summary at the end of ``shipwise -m``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class StudyTable(Callback):
    """Collects each arm's result and prints one table when the sweep ends.

    A failed arm does not stop the others; the sweep exits non-zero after the table.
    """

    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []
        self.failures: list[tuple[str, str]] = []
        self.skipped: list[tuple[str, str]] = []  # arms that do not apply to the task

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        name = job_return.hydra_cfg.hydra.job.override_dirname if job_return.hydra_cfg else "?"
        if job_return.status == JobStatus.COMPLETED and isinstance(job_return.return_value, dict):
            self._add(job_return.return_value, name or "?")

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from shipwise.report import print_table, results_table

        if not self.results and not self.failures and not self.skipped:
            # A parallel launcher (joblib) runs on_job_end in its workers: read what they wrote.
            self._collect(Path(str(config.hydra.sweep.dir)))
        decision = config.get("decision", {})
        print_table(
            results_table(
                self.results,
                self.failures,
                self.skipped,
                calls_per_month=float(decision.get("calls_per_month", 0) or 0),
                refreshes_per_month=float(decision.get("refreshes_per_month", 0) or 0),
            )
        )
        decided = self._decide(config)
        if self.failures:
            raise SystemExit(f"{len(self.failures)} of the study's runs failed (see above)")
        if not decided:
            raise SystemExit(
                "the runs finished and are kept, but no decision was made (see above);"
                " fix that, then: shipwise-decide task=" + str(config.task.name)
            )

    def _collect(self, sweep_dir: Path) -> None:
        for path in sorted(sweep_dir.glob("*/result.json"), key=lambda p: p.parent.name):
            try:
                value = json.loads(path.read_text())
            except (OSError, ValueError):
                self.failures.append((path.parent.name, "no readable result.json"))
                continue
            self._add(value, path.parent.name)

    def _add(self, value: dict[str, Any], fallback: str) -> None:
        if "error" in value:
            self.failures.append((value.get("run_name", fallback), value["error"]))
        elif value.get("skipped"):
            self.skipped.append((value.get("run_name", fallback), value["skipped"]))
        else:
            self.results.append(value)

    def _decide(self, config: DictConfig) -> bool:
        """The ship decision over this sweep's runs of the configured task; False if it failed.

        A sweep with no test runs of the task (a tuning sweep on val) has nothing to decide.
        """
        from omegaconf import OmegaConf

        from shipwise.errors import ShipwiseError
        from shipwise.study import run_decision

        task = str(config.task.name)
        # Only runs scored on the test split can be compared (tuning sweeps score val).
        run_ids = [r["run_id"] for r in self.results if r["task"] == task and "test" in r["splits"]]
        others = sorted({r["task"] for r in self.results} - {task})
        for other in others:
            print(f"decide on {other} with: shipwise-decide task={other}")
        if not run_ids:
            return True
        tree = OmegaConf.to_container(config, resolve=False)
        assert isinstance(tree, dict)
        tree.pop("hydra", None)
        plain = OmegaConf.to_container(OmegaConf.create(tree), resolve=True)
        # an arm of the sweep with no run to compare: the report says why
        absent = {name.split(" ")[0]: f"skipped: {why}" for name, why in self.skipped}
        absent.update({name.split(" ")[0]: "it failed (see above)" for name, _ in self.failures})
        try:
            run_decision(plain, run_ids, absent)  # type: ignore[arg-type]
        except ShipwiseError as exc:
            print(f"shipwise: no decision: {exc.render()}", file=sys.stderr)
            return False
        return True
