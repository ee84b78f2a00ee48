"""The report's figures, read as a person reads them: labels beside their own points."""

from __future__ import annotations

import dataclasses
import math

from shipwise.figures import quality_vs_cost
from tests.test_report import _study


def test_crowded_points_keep_their_labels_beside_them_and_apart() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    decision, evidence = _study()
    # every arm within 25% in cost and 0.04 in quality: the labels must still be told apart
    arms = [
        dataclasses.replace(a, monthly_usd=40.0 + 5 * i, mean=0.80 + 0.01 * i, low=0.7, high=0.9)
        for i, a in enumerate(decision.arms)
    ]
    decision = dataclasses.replace(decision, arms=arms)
    figure = quality_vs_cost(decision, {e.name: e for e in evidence})
    assert figure is not None
    renderer = FigureCanvasAgg(figure).get_renderer()
    ax = figure.axes[0]
    labels = {t.get_text().removesuffix(" (shipped)"): t for t in ax.texts}
    assert sorted(labels) == sorted(a.name for a in arms)
    centres = {a.name: ax.transData.transform((a.monthly_usd, a.mean)) for a in arms}
    boxes = {name: text.get_window_extent(renderer) for name, text in labels.items()}

    def distance(box: object, point: object) -> float:
        x, y = point  # type: ignore[misc]
        dx = max(box.x0 - x, 0.0, x - box.x1)  # type: ignore[attr-defined]
        dy = max(box.y0 - y, 0.0, y - box.y1)  # type: ignore[attr-defined]
        return math.hypot(dx, dy)

    for name, box in boxes.items():
        own = distance(box, centres[name])
        assert all(own < distance(box, c) for other, c in centres.items() if other != name), name
        assert not any(box.overlaps(b) for other, b in boxes.items() if other != name), name
