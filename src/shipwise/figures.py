"""The decision report's figures (PNG, matplotlib's Agg renderer).

matplotlib is imported inside the functions so that ``import shipwise.report`` stays light.
Figures are built on ``matplotlib.figure.Figure`` with an Agg canvas rather than through pyplot,
so writing a report never switches the backend or leaks figures in the caller's session.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipwise.decision_types import ArmEvidence, ArmVerdict, Decision

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 150
# Title shown in decision.md for each figure, in the order the report presents them.
FIGURE_TITLES: dict[str, str] = {
    "quality_vs_cost": "Quality vs monthly cost",
    "cost_vs_volume": "Monthly cost vs call volume",
    "latency": "Latency per call",
    "learning_curve": "Learning curve",
}
SWEPT_PARAMS: dict[str, str] = {
    "strategy.backend.train_size": "training examples (strategy.backend.train_size)",
    "strategy.demos.k": "k (strategy.demos.k)",
}
# matplotlib's tab10, fixed here so an arm keeps its colour whatever the user's style says.
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
INFEASIBLE_GREY = "#9e9e9e"
SHIPPED_GOLD = "#f2c200"
VOLUME_RANGE = (1e3, 1e8)

FigureBuilder = Callable[[Decision, Mapping[str, ArmEvidence]], "Figure | None"]


def write_figures(
    decision: Decision, evidence: Sequence[ArmEvidence], directory: Path
) -> dict[str, Path]:
    """Write every figure that has data to ``directory``; return {name: path} in report order.

    Figures skipped this time are removed if an earlier report left them behind, so the folder
    never shows a stale learning curve next to a new decision.
    """
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    directory.mkdir(parents=True, exist_ok=True)
    by_name = {e.name: e for e in evidence}
    builders: dict[str, FigureBuilder] = {
        "quality_vs_cost": quality_vs_cost,
        "cost_vs_volume": cost_vs_volume,
        "latency": latency,
        "learning_curve": learning_curve,
    }
    written: dict[str, Path] = {}
    # The default style, not the user's matplotlibrc: the same decision gives the same pixels.
    with matplotlib.style.context("default"):
        for name, build in builders.items():
            path = directory / f"{name}.png"
            figure = build(decision, by_name)
            if figure is None:
                path.unlink(missing_ok=True)
                continue
            FigureCanvasAgg(figure)
            figure.savefig(path, dpi=DPI, bbox_inches="tight")
            written[name] = path
    return written


def quality_vs_cost(decision: Decision, evidence: Mapping[str, ArmEvidence]) -> Figure | None:
    """Primary metric (with its interval) against monthly cost at the configured volume."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    if not decision.arms:
        return None
    figure = Figure(figsize=(8, 5.5))
    ax = figure.add_subplot()
    for index, arm in enumerate(decision.arms):
        shipped = arm.name == decision.ship
        style: dict[str, Any]
        if shipped:
            style = {"marker": "*", "markersize": 18, "color": SHIPPED_GOLD, "mec": "black"}
        elif arm.feasible:
            style = {"marker": "o", "markersize": 9, "color": _colour(index), "mec": "black"}
        else:
            style = {"marker": "o", "markersize": 9, "color": INFEASIBLE_GREY, "mfc": "none"}
        ax.errorbar(
            [arm.monthly_usd],
            [arm.mean],
            yerr=[[max(arm.mean - arm.low, 0.0)], [max(arm.high - arm.mean, 0.0)]],
            ecolor=INFEASIBLE_GREY if not arm.feasible else "black",
            elinewidth=1.2,
            capsize=5,
            linestyle="none",
            zorder=3 if shipped else 2,
            **style,
        )
    minimum = decision.config.constraints.min_quality
    if minimum is not None:
        ax.axhline(minimum, color="firebrick", linestyle=":", linewidth=1.2)
    _money_axis(ax, "x", [arm.monthly_usd for arm in decision.arms])
    ax.margins(x=0.15, y=0.1)
    _label_points(
        ax,
        [(arm.monthly_usd, arm.mean) for arm in decision.arms],
        [(arm.monthly_usd, arm.low, arm.high) for arm in decision.arms],
        [f"{a.name} (shipped)" if a.name == decision.ship else a.name for a in decision.arms],
        [
            {
                "fontweight": "bold" if a.name == decision.ship else "normal",
                "color": "black" if a.feasible else "dimgrey",
            }
            for a in decision.arms
        ],
    )
    calls = decision.config.calls_per_month
    ax.set_xlabel(f"monthly cost (USD) at {calls:,.0f} calls/month")
    ax.set_ylabel(_metric_label(decision))
    ax.set_title(f"{decision.task}: quality vs monthly cost")
    ax.grid(True, alpha=0.3)
    legend = [
        Line2D([], [], marker="*", markersize=14, color=SHIPPED_GOLD, mec="black", ls="none"),
        Line2D([], [], marker="o", markersize=8, color="white", mec="black", ls="none"),
        Line2D([], [], marker="o", markersize=8, color=INFEASIBLE_GREY, mfc="none", ls="none"),
    ]
    labels = ["shipped", "feasible (filled, a colour per arm)", "not feasible (hollow)"]
    if minimum is not None:
        legend.append(Line2D([], [], color="firebrick", linestyle=":"))
        labels.append("minimum quality (constraint)")
    ax.legend(legend, labels, loc="best", fontsize=9)
    return figure


def cost_vs_volume(decision: Decision, evidence: Mapping[str, ArmEvidence]) -> Figure | None:
    """Each arm's monthly cost line over call volume, with the break-even points marked."""
    import numpy as np
    from matplotlib.figure import Figure

    if not decision.arms:
        return None
    refreshes = decision.config.refreshes_per_month
    volume = decision.config.calls_per_month
    costs = {arm.name: _cost_line(arm, evidence.get(arm.name), refreshes) for arm in decision.arms}

    def monthly(name: str, calls: float) -> float:
        per_call, fixed = costs[name]
        return calls * per_call + fixed

    crossings = [
        (b.a, b.b, b.calls_per_month)
        for b in decision.break_evens
        if _positive(b.calls_per_month) and b.a in costs and b.b in costs
    ]
    anchors = [c for _, _, c in crossings if c is not None]
    if _positive(volume):
        anchors.append(volume)
    low = min([VOLUME_RANGE[0], *(a / 2 for a in anchors)])
    high = max([VOLUME_RANGE[1], *(a * 2 for a in anchors)])
    calls = np.logspace(math.log10(low), math.log10(high), 300)

    figure = Figure(figsize=(9, 5.5))
    ax = figure.add_subplot()
    # Arms with the same costs (e.g. fine-tunes at several train sizes) share one line and label;
    # drawn separately, all but the last would be hidden.
    groups: dict[tuple[float, float], list[tuple[int, ArmVerdict]]] = {}
    for index, arm in enumerate(decision.arms):
        groups.setdefault(costs[arm.name], []).append((index, arm))
    plotted: list[float] = []
    for members in groups.values():
        index, first = members[0]
        line = [monthly(first.name, c) for c in calls]
        plotted.extend(line)
        ax.plot(
            calls,
            line,
            color=_colour(index),
            linewidth=3.0 if any(arm.name == decision.ship for _, arm in members) else 1.6,
            linestyle="-" if any(arm.feasible for _, arm in members) else "--",
            label=", ".join(_arm_label(arm, decision.ship) for _, arm in members),
        )
    for number, (a, b, at) in enumerate(crossings):
        assert at is not None  # filtered above; narrows the type
        cost = monthly(a, at)
        ax.plot([at], [cost], marker="o", color="black", markersize=6, zorder=4)
        # Alternate the label above/below so neighbouring break-evens stay readable; right of
        # the middle of the volume axis, the label goes left of its dot (inside the axes).
        right = math.log(at / low) > math.log(high / low) / 2
        ax.annotate(
            f"{a} = {b}\n{_compact(at)} calls",
            (at, cost),
            xytext=(-6 if right else 6, -26 if number % 2 == 0 else 10),
            textcoords="offset points",
            ha="right" if right else "left",
            fontsize=8,
        )
    if _positive(volume):
        ax.axvline(
            volume,
            color="black",
            linestyle=":",
            linewidth=1.2,
            label=f"configured volume ({volume:,.0f} calls/month)",
        )
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    _money_axis(ax, "y", plotted)
    _volume_axis(ax)
    ax.set_xlabel("calls per month (log scale)")
    ax.set_ylabel(f"monthly cost (USD), {refreshes:g} refresh(es)/month, people included")
    ax.set_title(f"{decision.task}: monthly cost vs call volume (dots: break-even volumes)")
    ax.grid(True, which="major", alpha=0.3)
    # below the axes: over them it would hide the lines it names
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=9)
    return figure


def latency(decision: Decision, evidence: Mapping[str, ArmEvidence]) -> Figure | None:
    """Per-call latency distributions (box plots) with each arm's p95 marked."""
    from matplotlib.figure import Figure

    arms = [
        (index, arm, evidence[arm.name])
        for index, arm in enumerate(decision.arms)
        if arm.name in evidence and len(evidence[arm.name].latencies_s) > 0
    ]
    if not arms:
        return None
    figure = Figure(figsize=(max(6.0, 1.4 * len(arms) + 3), 5.5))
    ax = figure.add_subplot()
    positions = list(range(1, len(arms) + 1))
    boxes = ax.boxplot(
        [list(e.latencies_s) for _, _, e in arms],
        positions=positions,
        widths=0.5,
        patch_artist=True,
        flierprops={"markersize": 3, "alpha": 0.5},
        medianprops={"color": "black"},
    )
    for patch, (index, arm, _) in zip(boxes["boxes"], arms, strict=True):
        patch.set_facecolor(_colour(index) if arm.feasible else INFEASIBLE_GREY)
        patch.set_alpha(0.6)
    p95_markers = []
    for position, (_, _, e) in zip(positions, arms, strict=True):
        p95_markers += ax.plot(
            [position], [e.latency_p95_s], marker="D", color="firebrick", markersize=7
        )
        ax.annotate(  # beyond the box's half-width (0.25), clear of its median line
            f"p95 {e.latency_p95_s:.2f} s",
            (position + 0.27, e.latency_p95_s),
            xytext=(2, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"},
        )
    handles: list[Artist] = [p95_markers[0]]
    labels = ["p95 (as used by the decision)"]
    limit = decision.config.constraints.max_p95_latency_s
    if limit is not None:
        handles.append(ax.axhline(limit, color="firebrick", linestyle=":", linewidth=1.2))
        labels.append(f"maximum p95 (constraint, {limit:.2f} s)")
    # one setting a line under the arm's name: long names stack instead of running together
    ticks = [_arm_label(arm, decision.ship).replace(" ", "\n") for _, arm, _ in arms]
    ax.set_xticks(positions, [t.replace("\n(", " (") for t in ticks])
    ax.tick_params(axis="x", labelrotation=20 if len(arms) > 6 else 0)
    ax.set_ylabel("latency per call (s)")
    ax.set_title(f"{decision.task}: latency per test example")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(handles, labels, loc="upper left", fontsize=9)
    return figure


def learning_curve(decision: Decision, evidence: Mapping[str, ArmEvidence]) -> Figure | None:
    """The primary metric against a swept parameter, one line per strategy (or None)."""
    from matplotlib.figure import Figure

    sweeps = {
        param: curves
        for param in SWEPT_PARAMS
        if (curves := _sweep(decision.arms, evidence, param))
    }
    if not sweeps:
        return None
    figure = Figure(figsize=(6.5 * len(sweeps), 5))
    axes = figure.subplots(1, len(sweeps), squeeze=False)[0]
    strategies = sorted({s for curves in sweeps.values() for s in curves})
    for ax, (param, curves) in zip(axes, sweeps.items(), strict=True):
        values: set[float] = set()
        for strategy, points in curves.items():
            xs = [x for x, _ in points]
            values.update(xs)
            # Several arms at one value differ in something else: a line through them would lie.
            repeated = len(set(xs)) < len(xs)
            ax.errorbar(
                xs,
                [arm.mean for _, arm in points],
                yerr=[
                    [max(arm.mean - arm.low, 0.0) for _, arm in points],
                    [max(arm.high - arm.mean, 0.0) for _, arm in points],
                ],
                marker="o",
                capsize=4,
                linestyle="none" if repeated else "-",
                color=PALETTE[strategies.index(strategy) % len(PALETTE)],
                label=f"{strategy} (several arms per value)" if repeated else strategy,
            )
            for x, arm in points:
                if arm.name == decision.ship:
                    ax.plot(
                        [x],
                        [arm.mean],
                        marker="*",
                        markersize=16,
                        color=SHIPPED_GOLD,
                        mec="black",
                        linestyle="none",
                        zorder=4,
                        label="shipped",
                    )
        ticks = sorted(values)
        if ticks[0] > 0 and ticks[-1] / ticks[0] >= 4:
            ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
        ax.minorticks_off()
        ax.set_xlabel(SWEPT_PARAMS[param])
        ax.set_ylabel(_metric_label(decision))
        ax.set_title(f"{decision.task}: {decision.metric} vs {param}")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=9)
    return figure


def _sweep(
    arms: Sequence[ArmVerdict], evidence: Mapping[str, ArmEvidence], param: str
) -> dict[str, list[tuple[float, ArmVerdict]]]:
    """{strategy: [(value, arm)] sorted} for strategies with >= 2 distinct numeric values."""
    points: dict[str, list[tuple[float, ArmVerdict]]] = {}
    for arm in arms:
        found = evidence.get(arm.name)
        value = _as_number(found.params.get(param)) if found is not None else None
        if value is not None:
            points.setdefault(arm.strategy, []).append((value, arm))
    return {
        strategy: sorted(pairs, key=lambda p: (p[0], p[1].name))
        for strategy, pairs in sorted(points.items())
        if len({value for value, _ in pairs}) >= 2
    }


def _as_number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _cost_line(
    arm: ArmVerdict, evidence: ArmEvidence | None, refreshes: float
) -> tuple[float, float]:
    """(USD per call, USD a month at zero calls: refreshed setups and people time)."""
    per_call, setup = arm.usd_per_1k_calls / 1000, arm.setup_usd
    if evidence is not None:
        per_call, setup = evidence.usd_per_call, evidence.setup_usd
    return per_call, setup * refreshes + arm.people_monthly_usd


# Where a point's label may go, in points from the point, tried in this order: right of it
# (above, below, further out), then left of it, for labels that would leave the axes.
LABEL_SPOTS = ((9, 6), (9, -14), (9, 18), (9, -26), (-9, 6), (-9, -14), (-9, 18), (-9, -26))


def _label_points(
    ax: Axes,
    points: Sequence[tuple[float, float]],
    bars: Sequence[tuple[float, float, float]],
    labels: Sequence[str],
    styles: Sequence[Mapping[str, Any]],
) -> None:
    """Label each point beside it: off other labels, markers and error bars, inside the axes,
    and nearer its own point than any other (so it cannot be read as another's).

    Each label takes the first spot in ``LABEL_SPOTS`` that breaks none of these; if none
    does, the spot that breaks them least. ``bars``: each point's (x, low, high) interval.
    Labels are placed from the highest point down.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.transforms import Bbox

    figure = ax.get_figure()
    assert figure is not None
    canvas = FigureCanvasAgg(figure)  # type: ignore[arg-type]
    renderer = canvas.get_renderer()
    ax.get_xlim(), ax.get_ylim()  # settle the autoscaled limits first: transforms depend on them
    frame = ax.get_window_extent(renderer)
    centres = [ax.transData.transform(p) for p in points]
    marks = [Bbox.from_bounds(x - 8, y - 8, 16, 16) for x, y in centres]
    for x, low, high in bars:  # the interval's line and caps
        (left, bottom), (_, top) = ax.transData.transform([(x, low), (x, high)])
        marks.append(Bbox.from_extents(left - 8, bottom - 2, left + 8, top + 2))
    placed: list[Bbox] = []
    for i in sorted(range(len(points)), key=lambda k: -points[k][1]):
        best: tuple[float, Any] | None = None
        for dx, dy in LABEL_SPOTS:
            text = ax.annotate(
                labels[i],
                points[i],
                xytext=(dx, dy),
                textcoords="offset points",
                fontsize=9,
                ha="left" if dx > 0 else "right",
                **styles[i],
            )
            box = text.get_window_extent(renderer)
            overlap = sum(_area(box, other) for other in [*placed, *marks])
            outside = box.width * box.height - _area(box, frame)
            own = _distance(box, centres[i])
            nearer = sum(1 for k, c in enumerate(centres) if k != i and _distance(box, c) < own + 6)
            cost = overlap + 4 * outside + 500 * nearer
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, text)
            else:
                text.remove()
            if cost == 0:
                break
        assert best is not None
        placed.append(best[1].get_window_extent(renderer))


def _distance(box: Any, point: Any) -> float:
    """Display distance from a point to the nearest edge of a box (0 inside it)."""
    dx = max(box.x0 - point[0], 0.0, point[0] - box.x1)
    dy = max(box.y0 - point[1], 0.0, point[1] - box.y1)
    return math.hypot(dx, dy)


def _area(a: Any, b: Any) -> float:
    """Area shared by two boxes (display units)."""
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(width, 0.0) * max(height, 0.0)


def _money_axis(ax: Axes, which: str, values: Sequence[float]) -> None:
    """Log scale when costs span orders of magnitude (symlog if some are zero); $ tick labels."""
    from matplotlib.ticker import FuncFormatter

    finite = [v for v in values if math.isfinite(v)]
    positive = [v for v in finite if v > 0]
    axis = ax.xaxis if which == "x" else ax.yaxis
    set_scale = ax.set_xscale if which == "x" else ax.set_yscale
    if positive and max(positive) / min(positive) > 50:
        if len(positive) == len(finite):
            set_scale("log")
        else:
            set_scale("symlog", linthresh=min(positive))
            # Costs are never negative: don't let symlog mirror its decades below zero, but keep
            # a sliver of room so a $0 arm isn't drawn on top of the axis line.
            floor = -0.3 * min(positive)
            if which == "x":
                ax.set_xlim(left=floor)
            else:
                ax.set_ylim(bottom=floor)
    axis.set_major_formatter(FuncFormatter(lambda value, _: _dollars(value)))


def _volume_axis(ax: Axes) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: _compact(value)))


def _dollars(value: float) -> str:
    text = f"{abs(value):,.6f}".rstrip("0").rstrip(".")
    return f"-${text}" if value < 0 else f"${text}"


def _compact(value: float) -> str:
    """12345 -> '12.3k': short volume labels for ticks and annotations."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def _positive(value: float | None) -> bool:
    return value is not None and math.isfinite(value) and value > 0


def _metric_label(decision: Decision) -> str:
    return f"{decision.metric} (mean, {decision.config.confidence * 100:g}% interval)"


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _arm_label(arm: ArmVerdict, ship: str | None) -> str:
    if arm.name == ship:
        return f"{arm.name} (shipped)"
    if not arm.shippable:
        return f"{arm.name} (floor)"  # as the report calls it
    return arm.name if arm.feasible else f"{arm.name} (not feasible)"
