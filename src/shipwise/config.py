"""Where the default configs live, the nodes built from code, and the resolvers they use.

A source checkout reads ``conf/`` at the repository root (the config users edit); a wheel
carries the same files as ``shipwise/_conf``.

The parts arms are composed of (``strategy/demos``, ``strategy/retrieval``,
``strategy/neighbours``, and the fine-tune backends ``strategy/backend``: lora, hosted) and the
decision's settings (``decision/base``) are Hydra config nodes built from their dataclasses,
so a default value lives in exactly one place: the dataclass field. A YAML picks a node in its
defaults list (``- backend: lora``) and sets only what differs.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import importlib.util
import inspect
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shipwise.errors import ConfigError, ShipwiseError


def config_dir() -> Path:
    packaged = Path(str(importlib.resources.files("shipwise"))) / "_conf"
    checkout = Path(__file__).resolve().parents[2] / "conf"
    for candidate in (checkout, packaged):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise ConfigError(
        "shipwise's default configs are missing",
        where=f"{checkout} or {packaged}",
        fix="reinstall shipwise (pip install -e . from a checkout)",
    )


def package_dir(module: str) -> str:
    """The folder of an installed package, found without importing it.

    The SmolLM2 wheel's ``__init__`` imports llama.cpp bindings we do not install, so it
    must not be imported; ``find_spec`` only locates it.
    """
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"package {module!r} is not installed",
            where="model.path / embedder.path",
            fix=f"pip install the package that provides {module} (see README), or set the"
            " path to a model folder",
        )
    return str(next(iter(spec.submodule_search_locations)))


def abspath(path: str) -> str:
    return str(Path(path).expanduser().resolve())


def join(values: Any) -> str:
    """A list as Hydra's comma-separated sweep: ``[prompt, rag]`` -> ``prompt,rag``."""
    return ",".join(str(v) for v in values)


def register_resolvers() -> None:
    """Resolvers and code-built config nodes: call before composing any config."""
    from omegaconf import OmegaConf

    functions = (
        ("shipwise.pkg", package_dir),
        ("shipwise.abspath", abspath),
        ("shipwise.join", join),
    )
    for name, function in functions:
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, function)
    _register_parts()


def config_node(cls: type[Any], **wiring: Any) -> dict[str, Any]:
    """``cls``'s fields and their defaults as a config node, with ``_target_`` set to ``cls``.

    ``wiring`` replaces a default by an interpolation (``seed="${seed}"``), never by a value.
    """
    node: dict[str, Any] = {"_target_": f"{cls.__module__}.{cls.__qualname__}"}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            raise TypeError(f"{cls.__name__}.{f.name} has no default to put in its config node")
        node[f.name] = _plain(value)
    node.update(wiring)
    return node


def _plain(value: Any) -> Any:
    """A default as config: dataclasses as mappings, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _register_parts() -> None:
    from hydra.core.config_store import ConfigStore

    from shipwise.arm_settings import ARMS, arms_node
    from shipwise.decision_types import DecisionConfig
    from shipwise.finetune.adapter import LoraBackend
    from shipwise.finetune.hosted_backend import HostedBackend
    from shipwise.strategies.baselines import Neighbours
    from shipwise.strategies.parts import Demos, Retrieval

    store = ConfigStore.instance()
    store.store(group=ARMS, name="unset", node=arms_node())
    store.store(group="strategy/demos", name="default", node=config_node(Demos))
    store.store(group="strategy/retrieval", name="default", node=config_node(Retrieval))
    store.store(group="strategy/neighbours", name="default", node=config_node(Neighbours))
    decision = config_node(DecisionConfig, seed="${seed}")
    del decision["_target_"]  # read by study.decision_config, not instantiated
    store.store(group="decision", name="base", node=decision)
    store.store(
        group="strategy/backend", name="lora", node=config_node(LoraBackend, seed="${seed}")
    )
    store.store(
        group="strategy/backend", name="hosted", node=config_node(HostedBackend, seed="${seed}")
    )


def instantiate_node(node: Any, group: str) -> Any:
    """Instantiate a config node's ``_target_``, surfacing our own errors unwrapped."""
    from hydra.errors import InstantiationException
    from hydra.utils import get_object, instantiate

    try:
        return instantiate(node, _convert_="all")
    except InstantiationException as exc:
        cause = exc.__cause__
        if isinstance(cause, ShipwiseError):
            raise cause from None
        unknown = re.search(r"unexpected keyword argument '(\w+)'", str(cause))
        if unknown:
            target = str(node.get("_target_", ""))
            accepted = [p for p in inspect.signature(get_object(target)).parameters if p != "self"]
            raise ConfigError(
                f"unknown key {unknown.group(1)!r} in the {group} config",
                where=f"{group}.{unknown.group(1)}",
                fix=f"remove it, or use one of: {', '.join(accepted)}",
            ) from None
        raise ConfigError(str(exc), where=group, fix=f"check the {group} config") from None


def compose(overrides: Sequence[str], config_dirs: Sequence[Path] = ()) -> dict[str, Any]:
    """The composed config as plain values (resolved), as a run would see it.

    ``config_dirs``: more config folders searched before the package's (a user's ``conf/``).
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    register_resolvers()
    searchpath = [f"hydra.searchpath=[{','.join(f'file://{d}' for d in config_dirs)}]"]
    try:
        with initialize_config_dir(str(config_dir()), version_base="1.3"):
            cfg = hydra_compose(
                "config", overrides=[*searchpath, *overrides] if config_dirs else list(overrides)
            )
        plain: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(str(exc), where="overrides", fix="check the key names") from None
    from shipwise.arm_settings import apply_arm_settings

    apply_arm_settings(plain)
    return plain
