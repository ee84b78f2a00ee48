"""Where the default configs live, and the resolvers they use.

A source checkout reads ``conf/`` at the repository root (the config users edit); a wheel
carries the same files as ``shipwise/_conf``.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path

from shipwise.errors import ConfigError


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


def register_resolvers() -> None:
    from omegaconf import OmegaConf

    for name, function in (("shipwise.pkg", package_dir), ("shipwise.abspath", abspath)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, function)
