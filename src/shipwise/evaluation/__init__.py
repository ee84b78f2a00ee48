"""One evaluator for every arm: per-example scores, metrics over a split, intervals.

``evaluator`` (the Evaluator), ``metrics`` and ``text_metrics`` (per-example scores),
``aggregates`` (metrics over a split), ``stats`` (intervals and paired tests), ``style`` and
``judge`` (free-text checks). Import from those modules: this package imports nothing, so a
module that needs one small piece (a task checking its style rules) pulls in no more.
"""
