"""Errors a user can act on: what is wrong, where, and what to do about it."""

from __future__ import annotations


class ShipwiseError(Exception):
    """A problem with the user's input or setup, reported without a traceback by the CLI.

    ``where`` names the file:line or config key; ``fix`` says what to do.
    """

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None) -> None:
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"{self.where}: {self.what}" if self.where else self.what]
        if self.fix:
            lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)


class ConfigError(ShipwiseError):
    """A config value that cannot work (a missing file, an unknown choice, a bad range)."""


class DataError(ShipwiseError):
    """A task's data that cannot be read as specified."""


class GenerationError(ShipwiseError):
    """A model backend that failed (an API error after retries, a model that will not load)."""
