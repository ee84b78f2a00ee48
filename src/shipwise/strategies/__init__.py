"""Strategies: each turns a Task into a Predictor (prompt, rag, finetune)."""

from shipwise.strategies.base import Predictor, Rendered, Setup, SetupContext, Strategy

__all__ = ["Predictor", "Rendered", "Setup", "SetupContext", "Strategy"]
