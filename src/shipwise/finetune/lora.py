"""Local LoRA fine-tuning with peft, written for a CPU first and a GPU automatically.

Where the compute goes, and why this loop is not a plain ``Trainer``:
- Loss is on the answer tokens only. The prompt is tokenized exactly as at inference (the chat
  template with its generation prompt) and the answer follows it, ending in the end-of-turn
  token, so what the model learns is what greedy decoding will be asked to produce.
- Batches hold examples of similar length (sorted, then batch order shuffled per epoch), so
  little compute goes to padding.
- The output layer runs only where there is a loss: hidden states of the answer positions go
  through ``lm_head``, not every position's (the vocabulary projection is a fifth of a small
  model's forward pass).
- With ``top_layers``, backpropagation stops at the first adapted layer, and the frozen layers
  below it run once per example rather than at every step (``FrozenBelow``).
- Each epoch ends with the val loss and the task's primary metric on a capped val sample; the
  best epoch's adapter is kept and training stops when ``patience`` epochs bring no gain.
"""

from __future__ import annotations

import math
import random
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipwise.errors import ConfigError, DataError
from shipwise.progress import counting, status

if TYPE_CHECKING:
    import torch
    from peft import PeftModel
    from transformers import PreTrainedModel

SCHEDULES = ("linear", "cosine", "constant", "constant_with_warmup")
MetricsCallback = Callable[[Mapping[str, float], int], None]


@dataclass(frozen=True)
class LoraSettings:
    """The recipe: adapter shape, optimisation, and the stopping rule."""

    rank: int = 16
    alpha: int = 32
    # 0 trains 1.5x faster on a CPU, but 0.05 scored higher on support_triage (README)
    dropout: float = 0.05
    target_modules: str | tuple[str, ...] = "all-linear"
    # adapt only the top N transformer layers (None = all): backpropagation then stops below
    # them, which saves up to half the backward pass on a CPU
    top_layers: int | None = None
    epochs: int = 2
    learning_rate: float = 2e-3
    schedule: str = "linear"  # linear, cosine, constant, constant_with_warmup
    warmup_ratio: float = 0.05
    batch_size: int = 8
    max_length: int = 512
    weight_decay: float = 0.0
    patience: int = 1  # epochs without a better val score before stopping
    seed: int = 0

    def __post_init__(self) -> None:
        whole = ("rank", "epochs", "batch_size", "max_length", "patience", "seed", "top_layers")
        for key in ("alpha", "dropout", "learning_rate", "warmup_ratio", "weight_decay", *whole):
            value = getattr(self, key)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if key == "top_layers" and value is None:
                continue
            if not number or (key in whole and not isinstance(value, int)):
                kind = "a whole number" if key in whole else "a number"
                raise ConfigError(
                    f"{key} must be {kind}, got {value!r}",
                    where=f"strategy.backend.{key}",
                    fix=_default_fix(key),
                )
        checks = [
            ("rank", self.rank >= 1, "at least 1"),
            ("alpha", self.alpha > 0, "positive"),
            ("dropout", 0 <= self.dropout < 1, "in [0, 1)"),
            ("epochs", self.epochs >= 1, "at least 1"),
            ("learning_rate", self.learning_rate > 0, "positive"),
            ("warmup_ratio", 0 <= self.warmup_ratio < 1, "in [0, 1)"),
            ("batch_size", self.batch_size >= 1, "at least 1"),
            ("max_length", self.max_length >= 8, "at least 8"),
            ("patience", self.patience >= 1, "at least 1"),
            ("top_layers", self.top_layers is None or self.top_layers >= 1, "at least 1 or null"),
        ]
        for key, ok, wanted in checks:
            if not ok:
                raise ConfigError(
                    f"{key} must be {wanted}, got {getattr(self, key)!r}",
                    where=f"strategy.backend.{key}",
                    fix=_default_fix(key),
                )
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                f"unknown learning-rate schedule {self.schedule!r}",
                where="strategy.backend.schedule",
                fix=f"use one of {', '.join(SCHEDULES)}",
            )
        if isinstance(self.target_modules, list):
            object.__setattr__(self, "target_modules", tuple(self.target_modules))


def _default_fix(key: str) -> str:
    default = getattr(LoraSettings, key)
    return f"e.g. strategy.backend.{key}={'null' if default is None else default} (the default)"


@dataclass(frozen=True)
class Encoded:
    """One training example as token ids: the rendered prompt, then the answer."""

    id: str
    prompt: tuple[int, ...]
    answer: tuple[int, ...]  # ends with the end-of-turn token

    @property
    def length(self) -> int:
        return len(self.prompt) + len(self.answer)


def encode(
    tokenizer: Any,
    items: Sequence[tuple[str, str, str]],
    end_token: int,
    max_length: int,
) -> list[Encoded]:
    """(id, rendered prompt, answer) triples as token ids; long prompts lose their start."""
    prompts = tokenizer([p for _, p, _ in items], add_special_tokens=False)["input_ids"]
    answers = tokenizer([a for _, _, a in items], add_special_tokens=False)["input_ids"]
    encoded = []
    for (example_id, _, _), prompt, answer in zip(items, prompts, answers, strict=True):
        answer = [*answer, end_token]
        room = max_length - len(answer)
        if room < 1:
            raise DataError(
                f"example {example_id}: the answer alone has {len(answer)} tokens",
                where="strategy.backend.max_length",
                fix=f"raise strategy.backend.max_length above {len(answer)}",
            )
        encoded.append(Encoded(example_id, tuple(prompt[-room:]), tuple(answer)))
    return encoded


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices in batches of similar length, shortest first: for passes that do not train."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def length_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Indices in batches of similar length; ties broken and batch order shuffled by ``rng``."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random()))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


@dataclass
class Batch:
    input_ids: torch.Tensor  # (batch, longest), right-padded
    attention_mask: torch.Tensor  # (batch, longest)
    predicts: torch.Tensor  # (batch, longest) bool: this position predicts an answer token
    targets: torch.Tensor  # (answer tokens,) the tokens those positions must predict
    tokens: int  # real (unpadded) tokens
    padded: int  # positions computed, padding included
    rows: tuple[int, ...] = ()  # the examples' indices in their split, when known


def collate(
    examples: Sequence[Encoded], pad_id: int, device: str, rows: Sequence[int] = ()
) -> Batch:
    import torch

    longest = max(e.length for e in examples)
    input_ids = torch.full((len(examples), longest), pad_id, dtype=torch.long)
    attention = torch.zeros((len(examples), longest), dtype=torch.long)
    predicts = torch.zeros((len(examples), longest), dtype=torch.bool)
    for row, e in enumerate(examples):
        ids = e.prompt + e.answer
        input_ids[row, : len(ids)] = torch.tensor(ids)
        attention[row, : len(ids)] = 1
        # position t predicts token t+1: the last prompt position predicts the first answer token
        predicts[row, len(e.prompt) - 1 : len(ids) - 1] = True
    targets = input_ids[:, 1:][predicts[:, :-1]]
    return Batch(
        input_ids.to(device),
        attention.to(device),
        predicts.to(device),
        targets.to(device),
        tokens=int(attention.sum()),
        padded=attention.numel(),
        rows=tuple(rows),
    )


def answer_loss(
    model: PeftModel, batch: Batch, below: FrozenBelow | None = None
) -> tuple[torch.Tensor, int]:
    """Summed cross-entropy over the answer tokens, and how many there were.

    With ``below``, the frozen layers' output comes from its cache and only the layers from the
    first adapted one up run; ``batch.rows`` says which cached examples the batch holds.
    """
    import torch.nn.functional as F

    causal_lm: Any = model.get_base_model()
    if below is not None:
        hidden = below.top(batch)
    else:
        hidden = causal_lm.get_decoder()(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask
        ).last_hidden_state  # (batch, longest, hidden)
    logits = causal_lm.get_output_embeddings()(hidden[batch.predicts])  # (answer tokens, vocab)
    loss = F.cross_entropy(logits.float(), batch.targets, reduction="sum")
    return loss, int(batch.targets.numel())


MAX_FROZEN_CACHE_BYTES = 2 * 1024**3  # above this, the frozen layers run at every step


class FrozenBelow:
    """The output of the layers below the adapted ones, computed once per example.

    With ``top_layers``, nothing below the first adapted layer changes while training, so what
    those layers make of an example is the same at every epoch. It is computed once, without
    gradients, and kept per example (a 135M model's hidden states for 35,000 tokens are 80 MB);
    each step then runs only the adapted layers. This needs a decoder built as embeddings, a
    stack of layers with rotary positions, and a final norm (Llama, Mistral, Qwen2, SmolLM):
    ``build`` checks the split path against the model's own forward on real examples and
    returns None, leaving the plain path, when they differ or the model is built otherwise.
    """

    def __init__(self, decoder: Any, first: int, hidden: list[torch.Tensor]) -> None:
        self.decoder, self.first, self.hidden = decoder, first, hidden

    @classmethod
    def build(
        cls,
        causal_lm: Any,
        first: int,
        examples: Sequence[Encoded],
        batch_size: int,
        pad_id: int,
        device: str,
    ) -> FrozenBelow | None:
        import torch

        decoder = causal_lm.get_decoder()
        parts = ("embed_tokens", "layers", "rotary_emb", "norm")
        if first < 1 or not examples or not all(hasattr(decoder, p) for p in parts):
            return None
        width = int(causal_lm.config.hidden_size) * next(decoder.parameters()).element_size()
        if sum(e.length for e in examples) * width > MAX_FROZEN_CACHE_BYTES:
            return None
        hidden: list[torch.Tensor] = [torch.empty(0)] * len(examples)
        below = cls(decoder, first, hidden)
        batches = sorted_batches([e.length for e in examples], batch_size)
        try:
            with torch.no_grad():  # not inference_mode: the cached tensors feed training steps
                for number, rows in enumerate(batches):
                    batch = collate([examples[i] for i in rows], pad_id, device, rows)
                    embedded = decoder.embed_tokens(batch.input_ids)
                    out = _run_layers(
                        decoder, embedded, batch.attention_mask, decoder.layers[:first]
                    )
                    for row, i in enumerate(rows):
                        hidden[i] = out[row, : examples[i].length].clone()
                    if number == 0 and not below.matches(batch):
                        return None
        except (TypeError, ValueError, AttributeError, RuntimeError):
            return None  # a decoder this split path does not fit: train the plain way
        return below

    def matches(self, batch: Batch) -> bool:
        """The split path gives the model's own hidden states on ``batch``'s real positions."""
        import torch

        full = self.decoder(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask
        ).last_hidden_state
        real = batch.attention_mask.bool()
        return bool(torch.allclose(self.top(batch)[real], full[real], rtol=1e-3, atol=1e-4))

    def top(self, batch: Batch) -> torch.Tensor:
        """The adapted layers and the final norm over the cached inputs of ``batch.rows``."""
        rows = [self.hidden[i] for i in batch.rows]
        inputs = rows[0].new_zeros((len(rows), batch.input_ids.shape[1], rows[0].shape[-1]))
        for row, cached in enumerate(rows):
            inputs[row, : cached.shape[0]] = cached
        layers = self.decoder.layers[self.first :]
        return self.decoder.norm(_run_layers(self.decoder, inputs, batch.attention_mask, layers))


def _run_layers(
    decoder: Any, hidden: torch.Tensor, attention_mask: torch.Tensor, layers: Sequence[Any]
) -> torch.Tensor:
    """``layers`` of a rotary decoder over right-padded ``hidden``, as its own forward runs them."""
    import torch
    from transformers.masking_utils import create_causal_mask

    positions = torch.arange(hidden.shape[1], device=hidden.device).unsqueeze(0)
    mask = create_causal_mask(
        config=decoder.config,
        inputs_embeds=hidden,
        attention_mask=attention_mask,
        past_key_values=None,
        position_ids=positions,
    )
    rope = decoder.rotary_emb(hidden, position_ids=positions)
    for layer in layers:
        hidden = layer(
            hidden, attention_mask=mask, position_embeddings=rope, position_ids=positions
        )
    return hidden


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    train_loss: float
    val_loss: float | None
    val_metric: float | None


@dataclass
class TrainReport:
    """What training did; ``model`` is the PeftModel holding the best epoch's adapter."""

    model: PeftModel
    best_epoch: int
    epochs: list[EpochResult] = field(default_factory=list)
    steps: int = 0
    frozen_layers_cached: int = 0  # layers below the adapter run once per example, not per step
    train_tokens: int = 0
    padded_tokens: int = 0
    train_s: float = 0.0  # optimisation steps, and the frozen layers' one pass
    wall_s: float = 0.0  # including val checks
    stopped_by_budget: bool = False  # max_train_minutes ran out before the last epoch ended

    @property
    def tokens_per_s(self) -> float:
        return self.train_tokens / self.train_s if self.train_s else 0.0

    def summary(self) -> dict[str, float]:
        best = self.epochs[self.best_epoch - 1] if self.epochs else None
        values = {
            "train/best_epoch": float(self.best_epoch),
            "train/epochs_run": float(len(self.epochs)),
            "train/steps": float(self.steps),
            "train/frozen_layers_cached": float(self.frozen_layers_cached),
            "train/tokens": float(self.train_tokens),
            "train/padding_fraction": 1 - self.train_tokens / max(self.padded_tokens, 1),
            "train/tokens_per_s": self.tokens_per_s,
            "train/seconds": self.train_s,
            "train/wall_s": self.wall_s,
            "train/stopped_by_budget": float(self.stopped_by_budget),
        }
        if best and best.val_loss is not None:
            values["train/best_val_loss"] = best.val_loss
        if best and best.val_metric is not None:
            values["train/best_val_primary"] = best.val_metric
        return values


def train_lora(
    model: PreTrainedModel,
    train: Sequence[Encoded],
    val: Sequence[Encoded],
    settings: LoraSettings,
    pad_id: int,
    evaluate: Callable[[PeftModel], float] | None = None,
    on_metrics: MetricsCallback | None = None,
    cache_frozen: bool = True,
    checkpoint_dir: Path | None = None,
    max_minutes: float | None = None,
) -> TrainReport:
    """Train a LoRA adapter on ``model`` (modified in place: pass a fresh copy).

    ``cache_frozen=False`` runs the layers below ``top_layers`` at every step (see FrozenBelow),
    which only a benchmark measuring what the cache saves wants. With ``checkpoint_dir``, the
    training state is saved there at the end of every epoch, and a run that finds one of the
    same training resumes after its last epoch (see ``shipwise.finetune.checkpoint``); the
    folder is left in place for the caller to remove once the adapter is saved.
    ``max_minutes`` stops training once that much wall time is spent (resumed time included):
    the interrupted epoch is checked on val and the best epoch so far is kept.
    """
    import torch
    from peft import LoraConfig, get_peft_model, get_peft_model_state_dict
    from peft import set_peft_model_state_dict as restore
    from transformers import get_scheduler

    from shipwise.finetune import checkpoint

    if not train:
        raise DataError("nothing to train on: the training set is empty", where="strategy")
    torch.manual_seed(settings.seed)
    adapted = _top_layers(model, settings.top_layers)
    config = LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=_targets(model, settings),
        task_type="CAUSAL_LM",
        layers_to_transform=adapted,
    )
    with warnings.catch_warnings():  # peft asks transformers a question it has deprecated
        warnings.filterwarnings("ignore", ".*is_gradient_checkpointing", FutureWarning)
        peft_model: PeftModel = get_peft_model(model, config)
    params = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        params, lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    per_epoch = math.ceil(len(train) / settings.batch_size)
    total = per_epoch * settings.epochs
    scheduler = get_scheduler(
        settings.schedule,
        optimizer,
        num_warmup_steps=int(settings.warmup_ratio * total),
        num_training_steps=total,
    )
    device = str(next(peft_model.parameters()).device)
    rng = random.Random(settings.seed)
    report = TrainReport(peft_model, best_epoch=0)
    best_key: tuple[float, float] | None = None
    best_state: dict[str, torch.Tensor] = {}
    log = on_metrics or (lambda metrics, step: None)
    started = time.perf_counter()
    below, below_val = (
        _frozen_below(peft_model, adapted, train, val, settings.batch_size, pad_id, device)
        if cache_frozen and adapted
        else (None, None)
    )
    if below is not None:
        report.frozen_layers_cached = below.first
        report.train_s += time.perf_counter() - started
    identity = checkpoint.identity(settings, train, val) if checkpoint_dir else ""
    saved = checkpoint.load(checkpoint_dir, identity) if checkpoint_dir else None
    first_epoch, wall_before = 1, 0.0
    if saved is not None:
        restore(peft_model, saved["adapter"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        checkpoint.restore_random(rng, saved["random"])
        report.epochs = [EpochResult(**e) for e in saved["epochs"]]
        report.best_epoch, best_state = saved["best_epoch"], saved["best_state"]
        best_key = tuple(saved["best_key"])
        report.steps, report.train_tokens = saved["steps"], saved["train_tokens"]
        report.padded_tokens, report.train_s = saved["padded_tokens"], saved["train_s"]
        wall_before = saved["wall_s"]
        first_epoch = settings.epochs + 1 if saved["done"] else saved["epoch"] + 1
        print(
            f"fine-tuning: resuming after epoch {saved['epoch']} from {checkpoint_dir}",
            file=sys.stderr,
            flush=True,
        )
    per_token_s = (
        _time_one_batch(peft_model, train, below, pad_id, device, params, settings.batch_size)
        if first_epoch <= settings.epochs
        else None
    )
    _announce_training(train, settings, total, max_minutes, per_token_s, first_epoch)
    estimate = Estimate(report.steps, total, max_minutes)

    def out_of_time() -> bool:
        spent = wall_before + time.perf_counter() - started
        return max_minutes is not None and spent > max_minutes * 60

    with counting("fine-tuning (LoRA)", total=total) as advance:
        if report.steps:
            advance(report.steps)
        for epoch in range(first_epoch, settings.epochs + 1):
            peft_model.train()
            loss_sum, loss_tokens = 0.0, 0
            for indices in length_batches([e.length for e in train], settings.batch_size, rng):
                if loss_tokens and out_of_time():  # every epoch begun takes one step at least
                    report.stopped_by_budget = True
                    break
                batch = collate([train[i] for i in indices], pad_id, device, indices)
                step_started = time.perf_counter()
                loss, n = answer_loss(peft_model, batch, below)
                (loss / n).backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                report.train_s += time.perf_counter() - step_started
                report.steps += 1
                report.train_tokens += batch.tokens
                report.padded_tokens += batch.padded
                value = float(loss.detach())
                loss_sum, loss_tokens = loss_sum + value, loss_tokens + n
                log(
                    {
                        "train/loss": value / n,
                        "train/learning_rate": scheduler.get_last_lr()[0],
                        "train/tokens_per_s": report.tokens_per_s,
                    },
                    report.steps,
                )
                advance(
                    1,
                    f"epoch {epoch} · loss {value / n:.3f} · {report.tokens_per_s:.0f} tok/s",
                )
                estimate.after_step(report.steps, wall_before + time.perf_counter() - started)
            result = _end_of_epoch(
                peft_model,
                epoch,
                loss_sum / loss_tokens,
                val,
                below_val,
                settings,
                pad_id,
                device,
                evaluate,
            )
            report.epochs.append(result)
            log(_epoch_metrics(result), report.steps)
            # higher metric first, then lower val loss; without val, the last epoch
            key = (
                result.val_metric if result.val_metric is not None else 0.0,
                -(result.val_loss if result.val_loss is not None else -epoch),
            )
            stop = False
            if best_key is None or key > best_key:
                best_key, report.best_epoch = key, epoch
                best_state = {
                    k: v.detach().clone() for k, v in get_peft_model_state_dict(peft_model).items()
                }
            else:
                stop = epoch - report.best_epoch >= settings.patience
            if report.stopped_by_budget or (out_of_time() and epoch < settings.epochs):
                report.stopped_by_budget = stop = True
                print(
                    f"fine-tuning: the {max_minutes:g}-minute budget (max_train_minutes) ran out"
                    f" in epoch {epoch} of {settings.epochs}; keeping the best epoch so far"
                    f" (epoch {report.best_epoch})",
                    file=sys.stderr,
                    flush=True,
                )
            if checkpoint_dir is not None:
                checkpoint.save(
                    checkpoint_dir,
                    {
                        "identity": identity,
                        "epoch": epoch,
                        "done": stop or epoch == settings.epochs,
                        "adapter": get_peft_model_state_dict(peft_model),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "random": checkpoint.random_states(rng),
                        "epochs": [asdict(e) for e in report.epochs],
                        "best_epoch": report.best_epoch,
                        "best_key": best_key,
                        "best_state": best_state,
                        "steps": report.steps,
                        "train_tokens": report.train_tokens,
                        "padded_tokens": report.padded_tokens,
                        "train_s": report.train_s,
                        "wall_s": wall_before + time.perf_counter() - started,
                    },
                )
            if stop:
                break
    if report.best_epoch != len(report.epochs):
        restore(peft_model, best_state)
    peft_model.eval()
    report.wall_s = wall_before + time.perf_counter() - started
    return report


ESTIMATE_AFTER = 3  # steps timed before the remaining time is estimated again


def _time_one_batch(
    model: PeftModel,
    train: Sequence[Encoded],
    below: FrozenBelow | None,
    pad_id: int,
    device: str,
    params: Sequence[torch.Tensor],
    batch_size: int,
) -> float | None:
    """Seconds per token of one training pass (forward and backward) over a median batch.

    Timed before the first epoch so the time training will take is known before it starts.
    The batch is ``batch_size`` examples of about the median length, as training batches them:
    one short example alone costs several times more a token than a full batch does (DSTC8
    turns of 43 tokens: 10.7 ms a token alone, 3.8 ms in training). Nothing is learned from
    it: the gradients are dropped, no optimizer step is taken, and the random state (dropout)
    is put back, so training runs exactly as it would without it.
    """
    import torch

    by_length = sorted(range(len(train)), key=lambda i: train[i].length)
    first = max(0, min(len(train) // 2 - batch_size // 2, len(train) - batch_size))
    middle = by_length[first : first + batch_size]
    batch = collate([train[i] for i in middle], pad_id, device, middle)
    state = torch.random.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    started = time.perf_counter()
    try:
        loss, n = answer_loss(model, batch, below)
        (loss / n).backward()
    finally:
        for param in params:
            param.grad = None
        torch.random.set_rng_state(state)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)
    spent = time.perf_counter() - started
    return spent / batch.tokens if batch.tokens else None


def _announce_training(
    train: Sequence[Encoded],
    settings: LoraSettings,
    steps: int,
    max_minutes: float | None,
    per_token_s: float | None = None,
    first_epoch: int = 1,
) -> None:
    """What training will do, before the first epoch: examples, tokens, steps, time, budget.

    The time is the timed batch's seconds per token over the epochs left: a first figure,
    without the val checks, that the measured steps replace after a few (``reply_style`` on a
    2-core CPU: 4.7 minutes up front, 4.9 after three steps).
    """
    tokens = sum(e.length for e in train)
    budget = f"; budget {max_minutes:g} min" if max_minutes is not None else ""
    print(
        f"fine-tuning: {len(train):,} examples, {tokens:,} tokens an epoch x {settings.epochs}"
        f" epochs = {tokens * settings.epochs:,} tokens in {steps:,} steps{budget}",
        file=sys.stderr,
        flush=True,
    )
    if per_token_s is None:
        return
    epochs_left = settings.epochs - first_epoch + 1
    minutes = per_token_s * tokens * epochs_left / 60
    over = ""
    if max_minutes is not None and minutes > max_minutes:
        over = f"; the {max_minutes:g}-minute budget will stop it before the end"
    print(
        f"fine-tuning: about {minutes:.1f} min for {epochs_left} epoch(s)"
        f" ({per_token_s * 1000:.1f} ms a token, timed on one batch; val checks not"
        f" included; estimated again after {ESTIMATE_AFTER} steps){over}",
        file=sys.stderr,
        flush=True,
    )


@dataclass
class Estimate:
    """The remaining training time, from the measured seconds per step, printed once."""

    first_step: int
    total: int
    max_minutes: float | None
    done: bool = False

    def after_step(self, step: int, spent_s: float) -> None:
        taken = step - self.first_step
        if self.done or taken < ESTIMATE_AFTER:
            return
        self.done = True
        per_step = spent_s / step if step else 0.0
        left = per_step * (self.total - step) / 60
        note = ""
        if self.max_minutes is not None and per_step * self.total / 60 > self.max_minutes:
            reach = int(self.max_minutes * 60 / per_step) if per_step else self.total
            note = f"; the {self.max_minutes:g}-minute budget stops it after about {reach:,} steps"
        print(
            f"fine-tuning: about {left:.1f} min to go ({per_step:.2f} s a step, val checks"
            f" not included){note}",
            file=sys.stderr,
            flush=True,
        )


def _targets(model: PreTrainedModel, settings: LoraSettings) -> str | list[str]:
    """peft's target modules; ``all-linear`` is spelled out when only some layers are adapted.

    peft accepts ``layers_to_transform`` only with named modules, so "all linear layers" becomes
    the names of the linear modules inside the transformer layers (the output layer is not one).
    """
    import torch

    targets = settings.target_modules
    if not isinstance(targets, str):
        return list(targets)
    if settings.top_layers is None:
        return targets
    if targets != "all-linear":
        raise ConfigError(
            f"top_layers needs target_modules as a list of names or all-linear, not {targets!r}",
            where="strategy.backend.target_modules",
            fix="list the module names, e.g. [q_proj, v_proj], or set top_layers=null",
        )
    decoder: Any = model.get_decoder()
    return sorted(
        {
            name.rsplit(".", 1)[-1]
            for name, module in decoder.layers.named_modules()
            if isinstance(module, torch.nn.Linear)
        }
    )


def _frozen_below(
    model: PeftModel,
    adapted: Sequence[int],
    train: Sequence[Encoded],
    val: Sequence[Encoded],
    size: int,
    pad_id: int,
    device: str,
) -> tuple[FrozenBelow | None, FrozenBelow | None]:
    """The frozen layers' outputs for train and val, when only the ``adapted`` layers train."""
    causal_lm: Any = model.get_base_model()
    first = adapted[0]  # FrozenBelow.build declines 0: nothing is frozen then
    with status(f"fine-tuning: the {first} frozen layers, once per example"):
        below = FrozenBelow.build(causal_lm, first, train, size, pad_id, device)
        if below is None:
            return None, None
        return below, FrozenBelow.build(causal_lm, first, val, size, pad_id, device)


def _top_layers(model: PreTrainedModel, top: int | None) -> list[int] | None:
    if top is None:
        return None
    count = int(getattr(model.config, "num_hidden_layers", 0))
    if top > count:
        raise ConfigError(
            f"top_layers is {top} but the model has {count} layers",
            where="strategy.backend.top_layers",
            fix=f"use at most {count}, or null for all",
        )
    return list(range(count - top, count))


def _end_of_epoch(
    model: PeftModel,
    epoch: int,
    train_loss: float,
    val: Sequence[Encoded],
    below: FrozenBelow | None,
    settings: LoraSettings,
    pad_id: int,
    device: str,
    evaluate: Callable[[PeftModel], float] | None,
) -> EpochResult:
    import torch

    model.eval()
    val_loss = None
    if val:
        total, count = 0.0, 0
        with torch.inference_mode():
            for rows in sorted_batches([e.length for e in val], settings.batch_size):
                batch = collate([val[i] for i in rows], pad_id, device, rows)
                loss, n = answer_loss(model, batch, below)
                total, count = total + float(loss), count + n
        val_loss = total / count
    metric = evaluate(model) if evaluate else None
    return EpochResult(epoch, train_loss, val_loss, metric)


def _epoch_metrics(result: EpochResult) -> dict[str, float]:
    metrics = {"epoch": float(result.epoch), "train/epoch_loss": result.train_loss}
    if result.val_loss is not None:
        metrics["val/loss"] = result.val_loss
    if result.val_metric is not None:
        metrics["val/primary"] = result.val_metric
    return metrics
