"""Generators: chat messages in, completions with token counts and latency out."""

from shipwise.models.base import Completion, GenerationSettings, Generator, Price

__all__ = ["Completion", "GenerationSettings", "Generator", "Price"]
