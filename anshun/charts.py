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


def _axes(options: dict, *, horizontal: bool, y_max, x_title, y_title, y_min) -> None:
    """Axis titles (translated by the caller) and the value axis's range."""
    value_axis, category_axis = ("x", "y") if horizontal else ("y", "x")
    scales: dict = {}
    if y_max is not None or y_min is not None:
        scales[value_axis] = {"min": 0 if y_min is None else y_min}
        if y_max is not None:
            scales[value_axis]["max"] = y_max
    for axis, title in ((category_axis, x_title), (value_axis, y_title)):
        if title:
            scales.setdefault(axis, {})["title"] = {"display": True, "text": str(title)}
    if scales:
        options["scales"] = scales


def bar_chart(
    labels: Sequence,
    datasets: Sequence[dict],
    *,
    horizontal: bool = False,
    y_max: float | None = None,
    y_min: float | None = None,
    x_title: str = "",
    y_title: str = "",
) -> dict:
    """``x_title``/``y_title``: the category and value axes' titles (already translated)."""
    options: dict = {"responsive": True, "maintainAspectRatio": False}
    if horizontal:
        options["indexAxis"] = "y"
    _axes(options, horizontal=horizontal, y_max=y_max, x_title=x_title, y_title=y_title, y_min=y_min)
    return {
        "type": "bar",
        "data": {"labels": [str(label) for label in labels], "datasets": list(datasets)},
        "options": options,
    }


def line_chart(
    labels: Sequence,
    datasets: Sequence[dict],
    *,
    y_max: float | None = None,
    y_min: float | None = None,
    x_title: str = "",
    y_title: str = "",
) -> dict:
    chart = bar_chart(labels, datasets, y_max=y_max, y_min=y_min, x_title=x_title, y_title=y_title)
    chart["type"] = "line"
    for series in chart["data"]["datasets"]:
        series["fill"] = False
        series["spanGaps"] = True
    return chart
