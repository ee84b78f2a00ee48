"""The fine-tuning API calls of a hosted job, each recorded in the state file as it happens.

Job creation is the one call that costs money, so it is not left to the client's blind
retries: a create that times out or hits a 5xx may still have made a job. Every job is
tagged with ``metadata`` (the request fingerprint and attempt number); before retrying, and
when a run died mid-create, the jobs list is searched for that tag and such a job adopted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from shipwise.errors import GenerationError
from shipwise.finetune.hosted_state import TERMINAL, JobState
from shipwise.models.openai_compat import api_key_from_env, explain_api_error

if TYPE_CHECKING:
    from openai import OpenAI
    from openai.types import FileObject
    from openai.types.fine_tuning import FineTuningJob

    from shipwise.finetune.hosted import HostedSettings

T = TypeVar("T")
EVENTS_PER_POLL = 100


class JobClient:
    """Uploads, creates, polls and reads checkpoints of one fine-tuning job."""

    def __init__(
        self, settings: HostedSettings, state: JobState, on_event: Callable[[str], None]
    ) -> None:
        from openai import OpenAI

        self.settings = settings
        self.state = state
        self.say = on_event
        self.client: OpenAI = OpenAI(
            base_url=settings.base_url,
            api_key=api_key_from_env(settings.api_key_env, "strategy.backend.api_key_env"),
            max_retries=settings.max_retries,
            timeout=settings.request_timeout_s,
        )

    def retrieve(self, job_id: str) -> FineTuningJob:
        return self._call(
            "retrieving the job", lambda: self.client.fine_tuning.jobs.retrieve(job_id)
        )

    def upload(self, train: bytes, val: bytes | None) -> tuple[str, str | None]:
        """File ids of the training (and validation) JSONL, uploading only what is missing."""
        ids: dict[str, str | None] = {"training_file": None, "validation_file": None}
        for name, content in (("training_file", train), ("validation_file", val)):
            if content is None:
                continue
            known = self.state.get(name)
            if known and self._file_exists(known):
                ids[name] = known
                continue
            filename = f"shipwise-{name.split('_')[0]}-{self.state.key[:12]}.jsonl"
            uploaded = self._call(f"uploading {filename}", partial(self._upload, filename, content))
            ids[name] = uploaded.id
            self.state.save(**{name: uploaded.id})
            self.say(f"uploaded {filename} as {uploaded.id}")
        assert ids["training_file"] is not None
        return ids["training_file"], ids["validation_file"]

    def _upload(self, filename: str, content: bytes) -> FileObject:
        return self.client.files.create(
            file=(filename, content, "application/jsonl"), purpose="fine-tune"
        )

    def _file_exists(self, file_id: str) -> bool:
        import openai

        try:
            self.client.files.retrieve(file_id)
        except openai.NotFoundError:
            return False
        except openai.APIError as exc:
            raise self._error(exc, "checking an uploaded file") from None
        return True

    def create(self, files: tuple[str, str | None], key: str) -> str:
        """Create the job (or adopt the one an interrupted create made); returns its id."""
        import openai

        if self.state.get("phase") == "creating":  # a run died while creating attempt N
            orphan = self._find(key, int(self.state.get("attempt")))
            if orphan:
                return self._created(orphan, adopted=True)
        attempt = self.state.start_attempt()
        s = self.settings
        request: dict[str, Any] = {
            "model": s.base_model,
            "training_file": files[0],
            "method": {
                "type": "supervised",
                "supervised": {"hyperparameters": s.hyperparameters()},
            },
            "suffix": s.suffix,
            "seed": s.seed,
            "metadata": {"shipwise_key": key[:64], "shipwise_attempt": str(attempt)},
        }
        if files[1] is not None:
            request["validation_file"] = files[1]
        once = self.client.with_options(max_retries=0)
        delay = s.poll_interval_s
        for tries in range(s.max_retries + 1):
            try:
                return self._created(once.fine_tuning.jobs.create(**request), adopted=False)
            except openai.RateLimitError as exc:  # refused before any work: safe to retry
                last: openai.APIError = exc
            except (openai.APIConnectionError, openai.InternalServerError) as exc:
                last = exc  # the job may exist anyway
                orphan = self._find(key, attempt)
                if orphan:
                    return self._created(orphan, adopted=True)
            except openai.APIError as exc:
                raise self._error(exc, "creating the job") from None
            if tries < s.max_retries:
                time.sleep(delay)
                delay = min(delay * 2, s.max_poll_interval_s)
        raise self._error(last, "creating the job")

    def _created(self, job: FineTuningJob, *, adopted: bool) -> str:
        self.state.save(phase="created", job_id=job.id, status=job.status)
        self.say(
            f"{'adopted the job an interrupted run created' if adopted else 'created'} "
            f"{job.id}; state: {self.state.path}"
        )
        return job.id

    def _find(self, key: str, attempt: int) -> FineTuningJob | None:
        """The job created for this fingerprint and attempt, if the provider has one."""
        tag = {"shipwise_key": key[:64], "shipwise_attempt": str(attempt)}
        page = self._call(
            "looking for a job an interrupted create may have made",
            lambda: self.client.fine_tuning.jobs.list(metadata=tag, limit=100),
        )
        for job in page.data:  # re-checked here: a service may ignore the metadata filter
            if job.metadata and all(job.metadata.get(k) == v for k, v in tag.items()):
                return job
        return None

    def poll(self, job_id: str) -> FineTuningJob:
        """Wait for a terminal status, backing off exponentially; prints changes and events."""
        s = self.settings
        deadline = time.monotonic() + s.timeout_s
        interval = s.poll_interval_s
        status: str | None = self.state.get("status")
        seen: set[str] = set()
        while True:
            job = self.retrieve(job_id)
            if job.status != status:
                self.say(f"{job_id}: {status or 'new'} -> {job.status}")
                status = job.status
                self.state.save(status=status)
            self._print_events(job_id, seen)
            if job.status in TERMINAL:
                return job
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GenerationError(
                    f"fine-tuning job {job_id} is still {job.status} after {s.timeout_s:g}s",
                    where=self._where(),
                    fix="re-run with the same inputs to resume polling this job (it keeps "
                    f"running; state: {self.state.path}), or raise strategy.backend.timeout_s",
                )
            time.sleep(min(interval, remaining))
            interval = min(interval * 2, s.max_poll_interval_s)

    def _print_events(self, job_id: str, seen: set[str]) -> None:
        page = self._call(
            "listing job events",
            lambda: self.client.fine_tuning.jobs.list_events(job_id, limit=EVENTS_PER_POLL),
        )
        new = [e for e in reversed(page.data) if e.id not in seen]  # the API lists newest first
        seen.update(e.id for e in new)
        # One metrics event per training step would flood the log; the newest one is progress.
        steps = [e for e in new if e.type == "metrics"]
        for event in new:
            if event.type != "metrics" or event is steps[-1]:
                self.say(f"  [{event.level}] {event.message}")

    def checkpoint_metrics(self, job_id: str) -> list[tuple[Mapping[str, float], int]]:
        """``(metrics, step)`` of every checkpoint, oldest first."""
        page = self._call(
            "listing checkpoints",
            lambda: self.client.fine_tuning.jobs.checkpoints.list(job_id, limit=100),
        )
        out: list[tuple[Mapping[str, float], int]] = []
        for checkpoint in sorted(page.data, key=lambda c: c.step_number):
            values = checkpoint.metrics.model_dump(exclude_none=True)
            metrics = {k: float(v) for k, v in values.items() if k != "step"}
            out.append((metrics, checkpoint.step_number))
        return out

    def _where(self) -> str:
        s = self.settings
        return f"{s.base_url or 'api.openai.com'} (base model {s.base_model!r})"

    def _call(self, doing: str, fn: Callable[[], T]) -> T:
        import openai

        try:
            return fn()
        except openai.APIError as exc:
            raise self._error(exc, doing) from None

    def _error(self, exc: Exception, doing: str) -> GenerationError:
        """``explain_api_error``'s diagnosis, with fixes naming the hosted config keys."""
        import openai

        s = self.settings
        base = explain_api_error(exc, s.base_url, s.base_model, s.api_key_env)
        resume = f"; a re-run resumes, never duplicates, the job (state: {self.state.path})"
        fixes: list[tuple[type[Exception] | tuple[type[Exception], ...], str]] = [
            (openai.AuthenticationError, base.fix or ""),
            (openai.NotFoundError, "check strategy.backend.base_model and base_url"),
            (openai.RateLimitError, "wait, or raise strategy.backend.max_retries" + resume),
            (openai.APIConnectionError, "check strategy.backend.base_url and the network" + resume),
            (
                openai.BadRequestError,
                "check the strategy.backend settings against the provider's fine-tuning docs",
            ),
        ]
        fix = next((f for kind, f in fixes if isinstance(exc, kind)), "re-run" + resume)
        return GenerationError(f"{doing}: {base.what}", where=self._where(), fix=fix)
