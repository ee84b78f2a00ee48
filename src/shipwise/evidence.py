"""The decision's evidence, read back from MLflow runs: no model runs again.

For each arm: the latest finished run per run name (one arm configuration) unless run ids are
given; its per-example test scores (and style rule scores) from the predictions table, its
costs, latency, red-team and regression results, and whether its inputs changed since it ran
(stale).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from shipwise import contract
from shipwise.decision_types import ArmEvidence
from shipwise.errors import DataError
from shipwise.evaluation.aggregates import Metric
from shipwise.evaluation.style import rule_metric
from shipwise.tracking import TrackingConfig, find_runs, load_table

DECISION_TAG = "shipwise.decision"
FINGERPRINTED = ("train", "val", "test", "docs")


def latest_arm_runs(
    config: TrackingConfig, run_ids: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Finished arm runs: the given ids, else the newest run of each run name."""
    runs = [r for r in find_runs(config) if r["tags"].get(DECISION_TAG) != "true"]
    if run_ids:
        by_id = {r["run_id"]: r for r in runs}
        missing = [i for i in run_ids if i not in by_id]
        if missing:
            raise DataError(
                f"runs not found in experiment {config.experiment!r}: {', '.join(missing)}",
                where=config.uri,
                fix="pass run ids from this task's experiment (see the MLflow UI)",
            )
        chosen = [by_id[i] for i in run_ids]
    else:
        newest: dict[str, dict[str, Any]] = {}
        for run in runs:  # find_runs lists newest first
            scored = contract.split_metric("test", contract.PRIMARY) in run["metrics"]
            if run["status"] == "FINISHED" and scored:
                newest.setdefault(run["name"], run)
        chosen = list(newest.values())
    unfinished = [r["name"] for r in chosen if r["status"] != "FINISHED"]
    if unfinished:
        raise DataError(
            f"runs that did not finish cannot be compared: {', '.join(unfinished)}",
            where=config.experiment,
            fix="re-run those arms, or leave them out of --runs",
        )
    return chosen


def evidence_from_run(
    config: TrackingConfig,
    run: Mapping[str, Any],
    metric: Metric,
    current: Mapping[str, str] | None = None,
    rules: Sequence[str] = (),
) -> ArmEvidence:
    """One run as ArmEvidence; ``current`` = the task's fingerprints now (for staleness),
    ``rules`` = the names of the task's style rules (their scores are read when logged).

    What the decision needs and the run lacks (its costs, its score, what the arm is) is an
    error naming the run; only the optional splits (red team, regression) and the style rule
    scores (the report only shows them) may be absent.
    """
    metrics, tags = run["metrics"], run["tags"]
    test = contract.split_metric

    def need(key: str) -> float:
        return float(contract.required(metrics, key, run, "metric"))

    name = str(contract.required(run["params"], contract.PARAM_METRIC, run, "param"))
    if name != metric.name:
        raise DataError(
            f"run {run['name']!r} was scored with {name!r}, the task now with {metric.name!r}",
            where=run["run_id"],
            fix="re-run the arm, or decide with the metric it was scored with",
        )
    rows = load_table(config, run["run_id"], contract.predictions_file("test"))
    columns = [contract.score_column(c) for c in metric.columns]
    missing = [c for c in columns if not rows or c not in rows[0]]
    if missing:
        raise DataError(
            f"run {run['name']!r} has no per-example {', '.join(missing)}",
            where=run["run_id"],
            fix="re-run the arm with this version of shipwise",
        )
    changed = [
        name
        for name in FINGERPRINTED
        if current
        and name in current
        and tags.get(f"{contract.FINGERPRINT}{name}") != current[name]
    ]
    simplicity = str(contract.required(tags, contract.TAG_SIMPLICITY, run, "tag"))
    # a run from before the rules were declared has no scores for them: it leaves the style table
    logged = {contract.score_column(rule_metric(r)): r for r in rules}
    if not set(logged) <= set(rows[0]):
        logged = {}
    style = {str(r["id"]): {rule: float(r[c]) for c, rule in logged.items()} for r in rows}
    return ArmEvidence(
        name=run["name"],
        strategy=str(contract.required(tags, contract.TAG_STRATEGY, run, "tag")),
        kind=str(contract.required(tags, contract.TAG_KIND, run, "tag")),
        simplicity=int(simplicity),
        shippable=str(contract.required(tags, contract.TAG_SHIPPABLE, run, "tag")) == "True",
        run_id=run["run_id"],
        metric=metric.name,
        scores={str(r["id"]): tuple(float(r[c]) for c in columns) for r in rows},
        answers={str(r["id"]): str(r["prediction"]) for r in rows},
        references={str(r["id"]): str(r["reference"]) for r in rows},
        inputs={str(r["id"]): str(r.get("input", "")) for r in rows},
        style=style if logged else {},
        test_fingerprint=str(
            contract.required(tags, f"{contract.EVAL_FINGERPRINT}test", run, "tag")
        ),
        usd_per_call=need(test("test", contract.USD_PER_1K)) / 1000,
        setup_usd=need(contract.SETUP_USD),
        latency_p95_s=need(test("test", contract.LATENCY_P95)),
        latencies_s=[float(r["latency_s"]) for r in rows],
        redteam_pass_rate=metrics.get(test("redteam", contract.PRIMARY)),
        regression_score=metrics.get(test("regression", contract.PRIMARY)),
        regression_baseline=metrics.get(contract.REGRESSION_BASELINE),
        params={k: v for k, v in run["params"].items() if k.startswith("strategy.")},
        retrieval={
            k.removeprefix(RETRIEVAL): float(v)
            for k, v in metrics.items()
            if k.startswith(RETRIEVAL) and v is not None
        },
        stale=bool(changed),
        warnings=[f"its {', '.join(changed)} changed since it ran"] if changed else [],
    )


RETRIEVAL = "test/retrieval."  # a retrieving arm's logged recall@k and MRR on the test split


def without_shared_settings(
    evidence: Sequence[ArmEvidence],
) -> tuple[list[ArmEvidence], tuple[str, ...], dict[str, tuple[str, ...]]]:
    """The arms named as :func:`shorter_names` names them, the settings every one ran with,
    and each arm's own settings where its name no longer carries them."""
    names, shared, own = shorter_names([e.name for e in evidence])
    renamed = [replace(e, name=n) for e, n in zip(evidence, names, strict=True)]
    return renamed, shared, own


def shorter_names(
    names: Sequence[str],
) -> tuple[list[str], tuple[str, ...], dict[str, tuple[str, ...]]]:
    """Run names a reader can follow: (names, settings all share, each arm's own settings).

    A run is named by its arm and the overrides that reached it (``prompt limit=10``,
    ``finetune arms.backend.train_size=400 limit=10``). A setting every compared run has tells
    them apart from nothing, so it is named once. An arm that is the only run of its strategy
    is then named by the strategy alone (``finetune``), its other settings listed apart
    (``train_size=400``: an ``arms.<part>.`` setting by its key). Two runs of one strategy
    keep their settings in their names (``finetune train_size=400``), and names stay whole
    when that would make two arms one or a name is not of that form.
    """
    parts = [name.split(" ") for name in names]
    if not parts or any("=" not in p for name in parts for p in name[1:]):
        return list(names), (), {}
    shared = set.intersection(*(set(name[1:]) for name in parts)) if len(parts) > 1 else set()
    rest = [_short([p for p in name[1:] if p not in shared]) for name in parts]
    strategies = [name[0] for name in parts]
    alone = {s for s in strategies if strategies.count(s) == 1}
    short = [s if s in alone else " ".join([s, *r]) for s, r in zip(strategies, rest, strict=True)]
    if len(set(short)) < len(short):
        return list(names), (), {}
    own = {s: tuple(r) for s, r in zip(strategies, rest, strict=True) if s in alone and r}
    return short, tuple(sorted(shared)), own


def _short(settings: Sequence[str]) -> list[str]:
    """``arms.backend.train_size=100`` as ``train_size=100``, where no other setting of the
    arm ends in the same key (the arm's name says which part it set)."""
    leaf = [s.split("=", 1)[0].rsplit(".", 1)[-1] for s in settings]
    return [
        f"{k}={s.split('=', 1)[1]}"
        if s.lstrip("+~").startswith("arms.") and leaf.count(k) == 1
        else s
        for s, k in zip(settings, leaf, strict=True)
    ]


def planned_arms(runs: Sequence[Mapping[str, Any]]) -> set[str] | None:
    """The arms the sweeps behind ``runs`` set out to run (their logged ``study.arms``).

    ``shipwise-decide`` composes the default ``study.arms``; a sweep that left an arm out on
    purpose should not be told that arm never ran. None when no run says.
    """
    import ast

    planned: set[str] = set()
    for run in runs:
        try:
            value = ast.literal_eval(str(run["params"].get("study.arms")))
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, list | tuple):
            planned.update(str(arm) for arm in value)
    return planned or None
