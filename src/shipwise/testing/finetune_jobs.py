"""The state machine of a fake fine-tuning job (no HTTP here, and nothing is trained).

A job moves one tick per retrieve: ``polls_per_state`` retrieves in each of
``validating_files``, ``queued`` and ``running``, then ``succeeded``. A job created with
``fail_with`` fails instead as it leaves ``validating_files`` (the usual point for a bad
training file, and one that bills nothing), its ``error.message`` being ``fail_with``.
Cancelling ends any unfinished job.

While running, the job emits one ``metrics`` event per training step and a checkpoint at the
end of each epoch, keeping the last three as OpenAI does. Made-up numbers, documented so
tests can rely on them: ``"auto"`` epochs follow OpenAI's published rule
(:func:`shipwise.finetune.hosted_cost.auto_epochs`), ``"auto"`` batch size is 1 and
learning-rate multiplier 2.0; ``trained_tokens`` is epochs x the training file's tokens; the
training loss is ``0.1 + 2 * exp(-3 * step / total_steps)`` and validation loss 10% above it.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from shipwise.finetune.hosted_cost import auto_epochs

AUTO_BATCH_SIZE = 1
AUTO_LEARNING_RATE_MULTIPLIER = 2.0
KEPT_CHECKPOINTS = 3
PHASES = ("validating_files", "queued", "running")
TERMINAL = ("succeeded", "failed", "cancelled")


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def _loss(step: int, total: int) -> float:
    return round(0.1 + 2.0 * math.exp(-3.0 * step / total), 4)


@dataclass
class FakeJob:
    """One job: its wire object plus what the fake needs to move it along."""

    wire: dict[str, Any]  # the fine_tuning.job object exactly as the API returns it
    examples: int
    tokens_per_epoch: int
    organization: str
    fail_with: str | None = None
    polls: int = 0
    steps_done: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    checkpoints: list[dict[str, Any]] = field(default_factory=list)  # oldest first

    @property
    def status(self) -> str:
        return str(self.wire["status"])

    @property
    def has_validation(self) -> bool:
        return self.wire["validation_file"] is not None

    def model_name(self) -> str:
        """``ft:<base>:<organization>:<suffix>:<short id>``, OpenAI's naming."""
        short = self.wire["id"].removeprefix("ftjob-")[:8]
        suffix = self.wire["user_provided_suffix"] or ""
        return f"ft:{self.wire['model']}:{self.organization}:{suffix}:{short}"

    def advance(self, polls_per_state: int) -> None:
        """One tick, as caused by one retrieve."""
        if self.status in TERMINAL:
            return
        self.polls += 1
        phase = self.polls // polls_per_state
        if phase == 1 and self.fail_with is not None:
            self._fail(self.fail_with)
        elif phase < len(PHASES):
            if PHASES[phase] != self.status:
                self._enter(PHASES[phase])
            if PHASES[phase] == "running":  # training spreads over the running ticks
                self._train((self.polls % polls_per_state + 1) / polls_per_state)
        else:
            self._train(1.0)
            self._succeed()

    def cancel(self) -> None:
        self._set_status("cancelled")
        self.event("Fine-tuning job cancelled")

    def models(self) -> list[str]:
        """Model names that answer chat once the job has succeeded."""
        if self.status != "succeeded":
            return []
        return [self.model_name(), *(c["fine_tuned_model_checkpoint"] for c in self.checkpoints)]

    def event(
        self,
        message: str,
        *,
        level: str = "info",
        kind: str = "message",
        data: dict[str, Any] | None = None,
    ) -> None:
        self.events.append(
            {
                "id": new_id("ftevent-"),
                "object": "fine_tuning.job.event",
                "created_at": int(time.time()),
                "level": level,
                "message": message,
                "data": data or {},
                "type": kind,
            }
        )

    def _set_status(self, status: str) -> None:
        self.wire["status"] = status
        if status in TERMINAL:
            self.wire["finished_at"] = int(time.time())

    def _enter(self, status: str) -> None:
        self._set_status(status)
        if status == "queued":
            hyper = self.wire["hyperparameters"]  # resolved once the files are validated
            if hyper["n_epochs"] == "auto":
                hyper["n_epochs"] = auto_epochs(self.examples)
            if hyper["batch_size"] == "auto":
                hyper["batch_size"] = AUTO_BATCH_SIZE
            if hyper["learning_rate_multiplier"] == "auto":
                hyper["learning_rate_multiplier"] = AUTO_LEARNING_RATE_MULTIPLIER
            self.event("Files validated, moving job to queued state")
        else:
            self.event("Fine-tuning job started")

    def _train(self, fraction: float) -> None:
        """Run steps up to ``fraction`` of the total, with metric events and checkpoints."""
        hyper = self.wire["hyperparameters"]
        steps_per_epoch = math.ceil(self.examples / hyper["batch_size"])
        total = steps_per_epoch * hyper["n_epochs"]
        while self.steps_done < round(fraction * total):
            self.steps_done += 1
            step = self.steps_done
            loss = _loss(step, total)
            metrics: dict[str, Any] = {
                "step": step,
                "train_loss": loss,
                "train_mean_token_accuracy": round(1 - loss / 3, 4),
            }
            if self.has_validation:
                metrics["valid_loss"] = round(loss * 1.1, 4)
                metrics["valid_mean_token_accuracy"] = round(1 - loss * 1.1 / 3, 4)
            self.event(
                f"Step {step}/{total}: training loss={loss:.4f}",
                kind="metrics",
                data={**metrics, "total_steps": total},
            )
            if step % steps_per_epoch == 0:
                self._checkpoint(step, metrics)

    def _checkpoint(self, step: int, metrics: dict[str, Any]) -> None:
        if self.has_validation:  # full_* are measured on the whole validation set per epoch
            metrics = {
                **metrics,
                "full_valid_loss": metrics["valid_loss"],
                "full_valid_mean_token_accuracy": metrics["valid_mean_token_accuracy"],
            }
        self.checkpoints.append(
            {
                "id": new_id("ftckpt_"),
                "object": "fine_tuning.job.checkpoint",
                "created_at": int(time.time()),
                "fine_tuned_model_checkpoint": f"{self.model_name()}:ckpt-step-{step}",
                "fine_tuning_job_id": self.wire["id"],
                "metrics": metrics,
                "step_number": step,
            }
        )
        self.checkpoints = self.checkpoints[-KEPT_CHECKPOINTS:]
        self.event(f"Checkpoint created at step {step}")

    def _succeed(self) -> None:
        self._set_status("succeeded")
        self.wire["fine_tuned_model"] = self.model_name()
        self.wire["trained_tokens"] = (
            self.tokens_per_epoch * self.wire["hyperparameters"]["n_epochs"]
        )
        self.event(f"New fine-tuned model created: {self.model_name()}")
        self.event("The job has successfully completed")

    def _fail(self, message: str) -> None:
        self._set_status("failed")
        self.wire["error"] = {"code": "invalid_training_file", "message": message, "param": None}
        self.event(message, level="error")
        self.event("The job failed", level="error")
