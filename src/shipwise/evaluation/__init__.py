"""One evaluator for every arm: per-example scores, aggregates, intervals."""

from shipwise.evaluation.evaluator import Evaluator, Summary
from shipwise.evaluation.stats import Interval, bootstrap_mean, paired_bootstrap_diff

__all__ = ["Evaluator", "Interval", "Summary", "bootstrap_mean", "paired_bootstrap_diff"]
