"""Resumable LoRA training: the whole training state, saved at the end of every epoch.

One file, ``<checkpoint_dir>/state.pt``, replaced atomically (written beside it, fsynced,
renamed over it), so a kill at any moment leaves the last finished epoch's state or the one
before, never half of one. It holds what the next epoch depends on: the adapter weights, the
optimizer's moments, the scheduler's position, the random states (batch order, dropout),
the best epoch so far with its weights, the epoch results and the counters. A resumed run
therefore takes exactly the steps the uninterrupted run would have taken.

The state is tied to its training by an identity (settings and the encoded examples): a
checkpoint of other training is ignored, never resumed into the wrong run.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipwise.locks import staging_prefix, sweep_orphans

if TYPE_CHECKING:
    from shipwise.finetune.lora import Encoded, LoraSettings

STATE_FILE = "state.pt"


def identity(settings: LoraSettings, train: Sequence[Encoded], val: Sequence[Encoded]) -> str:
    """What a checkpoint must have been trained on to be resumed: settings and examples."""
    h = hashlib.sha256(json.dumps(asdict(settings), sort_keys=True, default=str).encode())
    for split in (train, val):
        h.update(b"|")
        for example in split:
            h.update(json.dumps([example.id, example.prompt, example.answer]).encode())
    return h.hexdigest()


def save(folder: Path, state: Mapping[str, Any]) -> None:
    """Write ``state`` as the folder's checkpoint, replacing the previous one atomically."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    sweep_orphans(folder)  # a half-written state a killed run left
    partial = folder / f"{staging_prefix()}{STATE_FILE}"
    try:
        with partial.open("wb") as handle:
            torch.save(dict(state), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, folder / STATE_FILE)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def load(folder: Path, expected: str) -> dict[str, Any] | None:
    """The folder's checkpoint when it belongs to this training, else None (start afresh)."""
    import torch

    path = folder / STATE_FILE
    if not path.is_file():
        return None
    try:
        state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a file from another torch version, or damaged on disk
        print(f"fine-tuning: ignoring unreadable checkpoint {path}: {exc}", file=sys.stderr)
        return None
    if state.get("identity") != expected:
        print(f"fine-tuning: {path} is from other training; starting afresh", file=sys.stderr)
        return None
    return state


def random_states(rng: random.Random) -> dict[str, Any]:
    """Every random stream training draws from: batch order, dropout masks (CPU and GPU)."""
    import torch

    states: dict[str, Any] = {"python": rng.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_random(rng: random.Random, states: Mapping[str, Any]) -> None:
    import torch

    version, internal, gauss = states["python"]
    rng.setstate((version, tuple(internal), gauss))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
