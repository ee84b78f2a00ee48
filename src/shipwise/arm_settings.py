"""Settings for the arms that have them, given once for a whole sweep.

``shipwise -m arms.backend.train_size=300 arms.retrieval.top_k=4`` caps the training set of
every tuned arm and sets the retrieval depth of every retrieving arm, and leaves the arms
without those parts as they are. ``arms`` is a config node shaped like the parts arms are
composed of (``demos``, ``retrieval``, ``neighbours``, ``backend``), with every field unset
(null): Hydra checks each key given against it, as it checks any key, and each run merges the
values set into its own arm's parts before anything is built. A value given as
``strategy.<part>.<key>`` still applies to one arm only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import MutableMapping, Sequence
from typing import Any

ARMS = "arms"


def parts() -> dict[str, list[type[Any]]]:
    """Each part an arm may have, and the classes that may fill it."""
    from shipwise.finetune.adapter import LoraBackend
    from shipwise.finetune.hosted_backend import HostedBackend
    from shipwise.strategies.baselines import Neighbours
    from shipwise.strategies.parts import Demos, Retrieval

    return {
        "demos": [Demos],
        "retrieval": [Retrieval],
        "neighbours": [Neighbours],
        "backend": [LoraBackend, HostedBackend],
    }


def arms_node() -> dict[str, dict[str, None]]:
    """The ``arms`` config node: every field of every part, unset."""
    node: dict[str, dict[str, None]] = {}
    for part, classes in parts().items():
        node[part] = {f.name: None for cls in classes for f in dataclasses.fields(cls)}
    return node


def apply_arm_settings(config: MutableMapping[str, Any]) -> list[str]:
    """Merge the values set under ``arms`` into the arm's parts; remove ``arms``.

    Works on a plain dict or an OmegaConf DictConfig (opened for writing). A value applies
    where the arm has that part and the part that field (a LoRA setting does not reach a
    hosted backend). Returns the keys applied, as ``arms.<part>.<field>``.
    """
    given = config.get(ARMS) or {}
    strategy = config.get("strategy") or {}
    applied = []
    for part, values in given.items():
        target = strategy.get(part)
        if not isinstance(target, MutableMapping):
            continue
        for key, value in (values or {}).items():
            if value is not None and key in target:
                target[key] = value
                applied.append(f"{ARMS}.{part}.{key}")
    if ARMS in config:
        del config[ARMS]
    return applied


def applies(override: str, applied: Sequence[str]) -> bool:
    """Whether a command-line override belongs in this arm's run name."""
    key = override.partition("=")[0].lstrip("+~")
    return not key.startswith(f"{ARMS}.") or key in applied
