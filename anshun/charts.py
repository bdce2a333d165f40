"""Chart.js configurations built on the server.

Pages may run no inline script (the Content-Security-Policy forbids it), so a page
puts each chart's configuration in a ``json_script`` element and ``static/js/charts.js``
draws every ``<canvas data-chart="…">`` from it. Labels are translated here, in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

PALETTE = ("#b71c1c", "#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#c2185b")


def dataset(label: str, values: Sequence, *, color: str | None = None, index: int = 0) -> dict:
    colour = color or PALETTE[index % len(PALETTE)]
    return {"label": str(label), "data": list(values), "backgroundColor": colour, "borderColor": colour}


def bar_chart(
    labels: Sequence, datasets: Sequence[dict], *, horizontal: bool = False, y_max: float | None = None
) -> dict:
    options: dict = {"responsive": True, "maintainAspectRatio": False}
    if horizontal:
        options["indexAxis"] = "y"
    if y_max is not None:
        options["scales"] = {("x" if horizontal else "y"): {"min": 0, "max": y_max}}
    return {
        "type": "bar",
        "data": {"labels": [str(label) for label in labels], "datasets": list(datasets)},
        "options": options,
    }


def line_chart(labels: Sequence, datasets: Sequence[dict], *, y_max: float | None = None) -> dict:
    chart = bar_chart(labels, datasets, y_max=y_max)
    chart["type"] = "line"
    for series in chart["data"]["datasets"]:
        series["fill"] = False
    return chart
