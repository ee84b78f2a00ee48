"""Strategies: the arms of the study, each turning a Task into a Predictor."""

from shipwise.strategies.base import Predictor, Rendered, Setup, SetupContext, Strategy

__all__ = ["Predictor", "Rendered", "Setup", "SetupContext", "Strategy"]
