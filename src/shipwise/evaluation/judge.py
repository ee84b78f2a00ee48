"""An LLM judge over any OpenAI-compatible endpoint: a rubric, a 1-5 grade, a pairwise mode.

The rubric comes from the task YAML (``output.rubric``); the endpoint, model and key variable
from the ``judge`` config group. Pointwise mode grades each reply 1-5 and scores
``(grade - 1) / 4``; pairwise mode asks which of the reply and the reference follows the rubric
better, with the order drawn per example (seeded, the same for every arm) so the judge's
position bias cancels over a split, and scores a win 1, a tie 0.5, a loss 0.

Every call is cached on disk by its content (a re-run pays nothing) and costed apart from the
arms' own calls. A judge answer that cannot be parsed is a recorded failure (the example's
score is NaN and ``judge_failed`` is 1), never a crash. The key is read from the environment
variable named in config, so neither config, cache nor MLflow ever holds it.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from shipwise.cache import JsonCache, content_key
from shipwise.errors import ConfigError, ShipwiseError
from shipwise.evaluation.metrics import parse_json_object
from shipwise.models.base import Completion, GenerationSettings, Price
from shipwise.models.openai_compat import OpenAIGenerator
from shipwise.tasks.example import Message, Messages

MODES = ("pointwise", "pairwise")
CHUNK = 16  # judge calls between cache writes

POINTWISE_SYSTEM = (
    "You grade one reply to a customer message against a rubric. Grade 1 (ignores the rubric)"
    " to 5 (follows every point of it). Answer with one JSON object and nothing else:"
    ' {"score": <1-5>, "reason": "<one sentence>"}'
)
PAIRWISE_SYSTEM = (
    "You compare two replies, A and B, to the same customer message against a rubric. Answer"
    ' with one JSON object and nothing else: {"winner": "A" | "B" | "tie", "reason": "<one'
    ' sentence>"}'
)
_SCORE = re.compile(r"\bscore\b\W{0,4}([1-5])(?!\d|\.\d)", re.IGNORECASE)
_WINNER = re.compile(r"\bwinner\b\W{0,4}(A|B|tie)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    """One judgement: ``score`` in [0, 1] (NaN when the answer could not be parsed)."""

    score: float
    raw: str
    error: str = ""

    @property
    def failed(self) -> bool:
        return math.isnan(self.score)


@dataclass
class JudgeUsage:
    """What the judge did in this process: calls made and served from the cache, and cost."""

    calls: int = 0
    cached: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: float = 0.0  # spent now
    usd_uncached: float = 0.0  # what every judgement would cost with an empty cache

    def as_metrics(self, prefix: str = "judge.") -> dict[str, float]:
        return {f"{prefix}{k}": float(v) for k, v in asdict(self).items()}


def parse_grade(text: str) -> tuple[int | None, str]:
    """A 1-5 grade from a judge's answer: JSON ``score``, ``score: N`` in prose, or a bare digit."""
    found = parse_json_object(text)
    if found is not None and "score" in found:
        value = found["score"]
        try:
            grade = float(value)
        except (TypeError, ValueError):
            return None, f"score {value!r} is not a number"
        if grade != int(grade) or not 1 <= grade <= 5:
            return None, f"score {value!r} is not a whole number from 1 to 5"
        return int(grade), ""
    if (match := _SCORE.search(text)) or (match := re.fullmatch(r"\s*([1-5])\s*", text)):
        return int(match.group(1)), ""
    return None, "no 1-5 score in the judge's answer"


def parse_winner(text: str) -> tuple[str | None, str]:
    """``A``, ``B`` or ``tie`` from a pairwise answer (JSON ``winner``, prose, or bare)."""
    found = parse_json_object(text)
    value = found.get("winner") if found is not None else None
    if value is None:
        match = _WINNER.search(text) or re.fullmatch(r"\s*(A|B|tie)\s*\.?\s*", text, re.I)
        value = match.group(1) if match else None
    if isinstance(value, str) and value.strip().lower() in ("a", "b", "tie"):
        winner = value.strip().lower()
        return (winner.upper() if winner != "tie" else "tie"), ""
    return None, "no winner (A, B or tie) in the judge's answer"


def prediction_first(seed: int, message: str, reference: str) -> bool:
    """Pairwise order for one example: seeded, and the same whichever arm is judged."""
    digest = hashlib.sha256(f"{seed}\0{message}\0{reference}".encode()).digest()
    return digest[0] % 2 == 0


class Judge:
    """Grades replies with a chat model behind an OpenAI-compatible endpoint."""

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        mode: str = "pointwise",
        show_reference: bool = True,
        max_tokens: int = 200,
        concurrency: int = 4,
        max_retries: int = 3,
        timeout_s: float = 60.0,
        price: Price | Mapping[str, float] | None = None,
        seed: int = 0,
        cache_dir: str | None = None,
        name: str | None = None,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(
                f"unknown judge mode {mode!r}", where="judge.mode", fix=f"use one of {MODES}"
            )
        self.mode, self.show_reference, self.seed = mode, show_reference, seed
        self.settings = GenerationSettings(max_new_tokens=max_tokens, temperature=0.0, seed=seed)
        self.transport = OpenAIGenerator(
            model,
            base_url=base_url,
            api_key_env=api_key_env,
            name=name,
            concurrency=concurrency,
            max_retries=max_retries,
            timeout_s=timeout_s,
            price=price,
        )
        self.cache = JsonCache(Path(cache_dir)) if cache_dir else None
        self.usage = JudgeUsage()

    @property
    def metric(self) -> str:
        """The per-example score this judge produces: ``judge`` or ``judge_pairwise``."""
        return "judge" if self.mode == "pointwise" else "judge_pairwise"

    @property
    def name(self) -> str:
        return self.transport.info.name

    def prompt(self, rubric: str, message: str, reply: str, reference: str) -> Messages:
        """The chat messages of one judgement (pairwise: the reply is A or B by the seed)."""
        parts = [f"Rubric:\n{rubric.strip()}", f"Customer message:\n<<<\n{message}\n>>>"]
        if self.mode == "pointwise":
            if self.show_reference:
                parts.append(f"A good reply, for comparison:\n<<<\n{reference}\n>>>")
            parts.append(f"Reply to grade:\n<<<\n{reply}\n>>>")
            return (Message("system", POINTWISE_SYSTEM), Message("user", "\n\n".join(parts)))
        first, second = (reply, reference)
        if not prediction_first(self.seed, message, reference):
            first, second = second, first
        parts += [f"Reply A:\n<<<\n{first}\n>>>", f"Reply B:\n<<<\n{second}\n>>>"]
        return (Message("system", PAIRWISE_SYSTEM), Message("user", "\n\n".join(parts)))

    def judge(
        self,
        rubric: str,
        messages: Sequence[str],
        replies: Sequence[str],
        references: Sequence[str],
    ) -> list[Verdict]:
        """One verdict per reply, in order; calls only for what the cache does not hold."""
        if not (len(messages) == len(replies) == len(references)):
            raise ValueError("judge needs one message and one reference per reply")
        prompts = [
            self.prompt(rubric, m, r, ref)
            for m, r, ref in zip(messages, replies, references, strict=True)
        ]
        answers = self._answers(prompts)
        verdicts = []
        for message, reference, answer in zip(messages, references, answers, strict=True):
            verdict = self._verdict(answer, prediction_first(self.seed, message, reference))
            self.usage.failures += verdict.failed
            verdicts.append(verdict)
        return verdicts

    def _verdict(self, answer: str, reply_is_a: bool) -> Verdict:
        if self.mode == "pointwise":
            grade, error = parse_grade(answer)
            return Verdict((grade - 1) / 4 if grade else math.nan, answer, error)
        winner, error = parse_winner(answer)
        if winner is None:
            return Verdict(math.nan, answer, error)
        if winner == "tie":
            return Verdict(0.5, answer)
        return Verdict(float((winner == "A") == reply_is_a), answer)

    def _answers(self, prompts: Sequence[Messages]) -> list[str]:
        info = self.transport.info
        keys = [
            content_key("judge", info.fingerprint, [m.as_dict() for m in p], asdict(self.settings))
            for p in prompts
        ]
        answers: dict[int, str] = {}
        for i, key in enumerate(keys):
            hit = self.cache.get(key) if self.cache else None
            if hit is not None and isinstance(hit.get("text"), str):
                answers[i] = hit["text"]
                self.usage.cached += 1
                self.usage.usd_uncached += float(hit.get("usd", 0.0))
        todo = [i for i in range(len(prompts)) if i not in answers]
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start : start + CHUNK]
            for i, completion in zip(chunk, self._call([prompts[i] for i in chunk]), strict=True):
                usd = info.price.call_usd(completion)
                self.usage.calls += 1
                self.usage.prompt_tokens += completion.prompt_tokens
                self.usage.completion_tokens += completion.completion_tokens
                self.usage.usd += usd
                self.usage.usd_uncached += usd
                if self.cache is not None:
                    self.cache.put(keys[i], {"text": completion.text, "usd": usd})
                answers[i] = completion.text
        return [answers[i] for i in range(len(prompts))]

    def _call(self, prompts: Sequence[Messages]) -> list[Completion]:
        try:
            return self.transport.generate(prompts, self.settings)
        except ShipwiseError as exc:
            # The transport names model.* keys; these are the judge's.
            where = (exc.where or "").replace("model.", "judge.")
            fix = (exc.fix or "").replace("model.", "judge.")
            cached = " (judgements made so far are cached; re-running resumes from them)"
            error = type(exc)(f"the judge failed: {exc.what}{cached}", where=where, fix=fix)
            raise error from None
