"""Checks that run before anything is written or computed, so bad input fails in a second.

Two moments: :func:`check_argv` runs on the raw command line before Hydra composes the config
or writes its run folder (``.hydra/*.yaml`` would otherwise keep a pasted key, and a task
file's package directive would already have taken effect); :func:`check_config` runs on the
composed config before any data is read or any model is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipwise.errors import ConfigError
from shipwise.scrub import SECRET_KEY, find_secret
from shipwise.services import service_answers

# A variable's name, as a shell would take it: what ``*_env`` keys hold.
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SEARCHPATH = re.compile(r"^(?:hydra\.searchpath)=\[?(.*?)\]?$")
_CONFIG_FLAGS = ("--config-dir", "-cd", "--config-path", "-cp")
MAX_SEED = 2**32 - 1  # numpy and torch take seeds below 2**32


def check_argv(argv: Sequence[str], config_dir: Path) -> None:
    """Refuse secrets on the command line, overrides Hydra cannot read, and task files that
    are not plain data."""
    refuse_secrets(argv)
    parse_overrides(argv)
    from shipwise.tasks.schema import check_task_file

    for folder in search_dirs(argv, config_dir):
        for path in sorted((folder / "task").glob("*.yaml")):
            check_task_file(path)


def refuse_secrets(argv: Sequence[str]) -> None:
    """A key given on the command line is refused, without repeating it.

    Covers a key pasted where a variable's name goes (``model.api_key_env=sk-...``), a key
    under a secret-named key (``+model.api_key=...``), and any value that has a key's shape
    or equals a secret in the environment.
    """
    for index, arg in enumerate(argv):
        key, sep, value = arg.partition("=")
        key = key.lstrip("+~")
        name = key.rsplit(".", 1)[-1]
        if not sep:
            if found := find_secret(arg):
                _refuse(f"argument {index + 1}", f"it has {found}")
            continue
        if name.endswith("_env") and value not in ("", "null") and not _ENV_NAME.fullmatch(value):
            _refuse(
                key,
                "the value is not an environment variable's name (a key pasted in its place?)",
                f"export the key as a variable, e.g. export OPENAI_API_KEY=..., then {key}="
                "OPENAI_API_KEY",
            )
        if SECRET_KEY.search(name) and value not in ("", "null"):
            _refuse(key, "a key given as a value: keys are read from the environment only")
        if found := find_secret(value):
            _refuse(key, f"the value has {found}")


def parse_overrides(argv: Sequence[str]) -> list[Any]:
    """Hydra's reading of the command line's overrides; a ConfigError names one it cannot read.

    Flags and their values are passed over: an override is an argument with ``=`` (or a
    deletion, ``~key``) that is not a flag.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    parsed = []
    for arg in argv:
        if arg.startswith("-") or not ("=" in arg or arg.startswith("~")):
            continue
        try:
            parsed += parser.parse_overrides([arg])
        except HydraException as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"cannot read this override: {reason}",
                where=arg,
                fix="write key=value; quote a value holding spaces, brackets, commas or quotes"
                " (key='a value'), and close every bracket and quote",
            ) from None
    return parsed


def _refuse(where: str, what: str, fix: str | None = None) -> None:
    raise ConfigError(
        f"{what}; refused before anything was written",
        where=where,
        fix=fix
        or "keep keys in environment variables and name the variable (model.api_key_env=NAME);"
        " if the key was real, revoke it: it may be in your shell history",
    )


def search_dirs(argv: Sequence[str], config_dir: Path) -> list[Path]:
    """The config folders Hydra will search: ours, the project's ``conf/`` (see
    :mod:`shipwise.project`), ``--config-dir`` (or ``--config-path``) and ``hydra.searchpath``
    entries that are folders. ``pkg://`` entries are installed packages, code already, and are
    not read."""
    folders: list[Path] = []
    for index, arg in enumerate(argv):
        given = None
        if arg in _CONFIG_FLAGS and index + 1 < len(argv):
            given = argv[index + 1]
        elif arg.startswith(tuple(f"{flag}=" for flag in _CONFIG_FLAGS)):
            given = arg.partition("=")[2]
        if given:
            folders.append(Path(given).expanduser())
        found = _SEARCHPATH.match(arg)
        if found:
            for entry in filter(None, (e.strip(" '\"") for e in found.group(1).split(","))):
                if entry.startswith("file://"):
                    folders.append(Path(entry.removeprefix("file://")).expanduser())
                elif "://" not in entry:
                    folders.append(Path(entry).expanduser())
    from shipwise.project import project_conf

    # Hydra's order: ours, the project's conf/ (the folder a command runs in), then the rest.
    folders = [config_dir, *filter(None, [project_conf()]), *folders]
    return [f for f in folders if f.is_dir()]


def check_config(plain: Mapping[str, Any]) -> None:
    """The composed config's own values: types and ranges a run would trip over late."""
    seed = plain.get("seed")
    if type(seed) is not int or not 0 <= seed <= MAX_SEED:
        raise ConfigError(
            f"seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}",
            where="seed",
            fix="e.g. seed=0",
        )
    limit = plain.get("limit")
    if limit is not None and (type(limit) is not int or limit < 1):
        raise ConfigError(
            f"limit must be a positive whole number or null, got {limit!r}",
            where="limit",
            fix="e.g. limit=20 for a smoke run, or limit=null for every example",
        )
    splits = plain.get("eval_splits")
    if not isinstance(splits, list) or not splits or not all(isinstance(s, str) for s in splits):
        raise ConfigError(
            f"eval_splits must be a list of split names, got {splits!r}",
            where="eval_splits",
            fix="e.g. eval_splits=[test,redteam,regression]",
        )
    generation = plain.get("generation") or {}
    for key, low, high in (("temperature", 0.0, 10.0), ("top_p", 0.0, 1.0)):
        value: Any = generation.get(key)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not low <= value <= high:
            raise ConfigError(
                f"generation.{key} must be a number from {low:g} to {high:g}, got {value!r}",
                where=f"generation.{key}",
                fix=f"e.g. generation.{key}={'0.0' if key == 'temperature' else '1.0'}",
            )
    stop = generation.get("stop")
    if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop):
        raise ConfigError(
            f"generation.stop must be a list of non-empty strings, got {stop!r}",
            where="generation.stop",
            fix="e.g. 'generation.stop=[\"\\n\"]', or generation.stop=[] for none",
        )


def check_splits(requested: Sequence[str], available: Sequence[str], known: Sequence[str]) -> None:
    """Every requested split is one a task can have, and at least one is present."""
    unknown = [s for s in requested if s not in known]
    if unknown:
        raise ConfigError(
            f"eval_splits names {unknown[0]!r}, which is not a split",
            where="eval_splits",
            fix=f"use the task's splits: {', '.join(available)}",
        )
    if not set(requested) & set(available):
        raise ConfigError(
            f"none of eval_splits ({', '.join(requested)}) is in this task: nothing to score",
            where="eval_splits",
            fix=f"use the task's splits: {', '.join(available)}",
        )


def check_composed(plain: Mapping[str, Any]) -> None:
    """The composed config's values, the task's schema and splits, and the services the run
    talks to, checked before any data is read or model loaded: each fails in seconds."""
    from shipwise.paths import check_name
    from shipwise.retrieval.index import CHROMA_FIX
    from shipwise.scrub import name_secret_variable, secret_variables
    from shipwise.tasks.task import OPTIONAL_SPLITS, REQUIRED_SPLITS, resolve_data_dir, task_spec
    from shipwise.tracking import TrackingConfig, check_store

    for variable in secret_variables(plain):
        name_secret_variable(variable)
    check_config(plain)
    task = task_spec(plain["task"])
    check_name(task.name, "task.name")
    resolve_data_dir(task.data_dir, plain["paths"]["data"])
    known = (*REQUIRED_SPLITS, *OPTIONAL_SPLITS)  # a task without its own gets stand-ins
    check_splits(plain["eval_splits"], known, known)
    check_store(TrackingConfig(**plain["tracking"]))
    retrieval = (plain.get("strategy") or {}).get("retrieval") or {}
    chroma = retrieval.get("chroma") or {} if isinstance(retrieval, Mapping) else {}
    if chroma.get("host"):
        service_answers(
            str(chroma["host"]),
            int(chroma.get("port") or 8000),
            "Chroma server",
            "strategy.retrieval.chroma.host",
            CHROMA_FIX,
        )
