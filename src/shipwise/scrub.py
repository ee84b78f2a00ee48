"""The one secret scrubber: what looks like a key never reaches disk, MLflow or a terminal.

A value is secret when it has the shape of a known credential (``sk-...``, ``hf_...``,
``ghp_...``, ``AKIA...``, ``Bearer ...``) or equals the value of an environment variable that
holds one: a variable whose name says so (``*KEY*``, ``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``)
or one a config names as its key's variable (``model.api_key_env``). Run names, tags, params,
error messages, logged tables and files, and the Hydra run folder all pass through
:func:`scrub` (text) or :func:`redact` (a flat mapping of settings).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

REDACTED = "<redacted>"
# Keys whose value is a credential itself (``api_key``, ``password``), not a variable's name.
SECRET_KEY = re.compile(
    r"(api[_-]?key|secret|password|passwd|credentials?|access[_-]?token|auth[_-]?token|bearer)$",
    re.IGNORECASE,
)
# Shapes of credentials issued by the services this project talks to, or that a user might
# paste by mistake; long enough that ordinary words and ids never match.
SECRET_SHAPE = re.compile(
    r"(?<![A-Za-z0-9])("
    r"sk-[A-Za-z0-9_-]{16,}"  # OpenAI (sk-..., sk-proj-...), Anthropic (sk-ant-...)
    r"|hf_[A-Za-z0-9]{20,}"  # Hugging Face
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"  # GitHub
    r"|AKIA[0-9A-Z]{16}"  # AWS access key id
    r"|AIza[0-9A-Za-z_-]{30,}"  # Google
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r")|Bearer\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"  # user:password in a URL
)
_SECRET_ENV = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
MIN_SECRET_CHARS = 8  # shorter environment values ("1", "true") are settings, not secrets
_named: set[str] = set()  # variables a config names as holding a key (api_key_env)


def name_secret_variable(name: str | None) -> None:
    """Treat the value of ``$name`` as a secret from now on (it holds a configured key)."""
    if name:
        _named.add(name)


def _secret_environment() -> dict[str, str]:
    """Secret variables' values -> their names."""
    return {
        value: key
        for key, value in os.environ.items()
        if (key in _named or _SECRET_ENV.search(key)) and len(value) >= MIN_SECRET_CHARS
    }


def env_secrets() -> list[str]:
    """The values of the environment's secret variables, longest first (so they scrub whole)."""
    return sorted(_secret_environment(), key=len, reverse=True)


def find_secret(text: str) -> str | None:
    """What makes ``text`` secret ("a key's shape", "the value of $NAME"), or None."""
    if SECRET_SHAPE.search(text):
        return "a key's shape"
    for value, name in _secret_environment().items():
        if value in text:
            return f"the value of ${name}"
    return None


def looks_secret(text: str) -> bool:
    """Whether ``text`` holds a credential's shape or an environment secret's value."""
    return find_secret(text) is not None


def scrub(text: str, secrets: Sequence[str] | None = None) -> str:
    """``text`` with every secret in it replaced by ``<redacted>`` (``secrets``: the
    environment's, when the caller already has them)."""
    for secret in env_secrets() if secrets is None else secrets:
        text = text.replace(secret, REDACTED)
    return SECRET_SHAPE.sub(REDACTED, text)


def redact(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Settings with a secret-named key's value, or any value holding a secret, redacted whole."""
    secrets = env_secrets()
    clean: dict[str, Any] = {}
    for key, value in flat.items():
        if SECRET_KEY.search(key.rsplit(".", 1)[-1]) and value is not None:
            clean[key] = REDACTED
            continue
        text = str(value)
        if SECRET_SHAPE.search(text) or any(s in text for s in secrets):
            clean[key] = REDACTED
            continue
        clean[key] = value
    return clean


def scrub_value(value: Any, secrets: Sequence[str] | None = None) -> Any:
    """A JSON-like value with every string in it scrubbed (keys too); other values as they are."""
    found = env_secrets() if secrets is None else secrets
    if isinstance(value, str):
        return scrub(value, found)
    if isinstance(value, Mapping):
        return {scrub_value(k, found): scrub_value(v, found) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v, found) for v in value]
    return value


def secret_variables(tree: Any, suffix: str = "_env") -> Iterable[str]:
    """Names held under ``*key_env`` keys of a config tree: the variables that hold keys."""
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            if str(key).endswith(f"key{suffix}") and isinstance(value, str):
                yield value
            else:
                yield from secret_variables(value, suffix)
    elif isinstance(tree, list | tuple):
        for value in tree:
            yield from secret_variables(value, suffix)


def scrub_files(paths: Iterable[Path]) -> int:
    """Rewrite each UTF-8 text file that holds a secret, scrubbed; returns how many were."""
    rewritten = 0
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        clean = scrub(text)
        if clean != text:
            path.write_text(clean, encoding="utf-8")
            rewritten += 1
    return rewritten


TEXT_SUFFIXES = (".json", ".jsonl", ".md", ".txt", ".yaml", ".yml", ".csv", ".log", ".html")


@contextlib.contextmanager
def scrubbed_copy(path: Path) -> Iterator[Path]:
    """``path`` itself when no text file in it holds a secret, else a scrubbed copy of it."""
    import shutil
    import tempfile

    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    dirty = [f for f in files if f.suffix in TEXT_SUFFIXES and _holds_secret(f)]
    if not dirty:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="shipwise-scrubbed-") as tmp:
        copy = Path(tmp) / path.name
        if path.is_file():
            shutil.copy2(path, copy)
        else:
            shutil.copytree(path, copy)
        for file in dirty:
            target = copy if path.is_file() else copy / file.relative_to(path)
            target.write_text(scrub(file.read_text(encoding="utf-8", errors="replace")))
        yield copy


def _holds_secret(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return scrub(text) != text
