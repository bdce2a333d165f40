"""Tiny benchmark harness: time the platform's code and a same-run baseline,
interleaved, and report the ratio of their medians. Absolute times on a shared
2-core machine mean little; the ratio is the figure we track.

A baseline does the same work as the platform under the same settings, and each comparison
says in one line (``sides``) what both sides do. A module's ``run()`` returns comparisons and
may return plain strings among them (plans, notes): ``bench/run.py`` prints those as they are."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Comparison:
    name: str
    platform_seconds: float
    baseline_seconds: float
    target: float | None = None
    sides: str = ""  # one line: what the platform does, what the baseline does

    @property
    def ratio(self) -> float:
        return self.platform_seconds / self.baseline_seconds

    def line(self) -> str:
        verdict = ""
        if self.target is not None:
            verdict = "  ok" if self.ratio <= self.target else f"  ABOVE TARGET {self.target}"
        # Small ratios get a third decimal, so that 0.014 and 0.024 do not both print as 0.01/0.02.
        ratio = f"{self.ratio:6.3f}" if self.ratio < 0.1 else f"{self.ratio:6.2f}"
        line = (
            f"{self.name:<58} ratio {ratio}  (platform {self.platform_seconds * 1000:8.1f} ms,"
            f" baseline {self.baseline_seconds * 1000:8.1f} ms){verdict}"
        )
        return f"{line}\n    sides: {self.sides}" if self.sides else line


def compare(
    name: str,
    platform: Callable[[], object],
    baseline: Callable[[], object],
    *,
    repeat: int = 7,
    target: float | None = None,
    sides: str = "",
    setup: Callable[[], object] | None = None,
    warm: bool = True,
) -> Comparison:
    """``setup`` runs (untimed) before every timed call of either side: new work to do, a cache
    emptied; ``warm`` makes one untimed call of each side first (database pages, imports)."""
    prepare = setup or (lambda: None)
    if warm:
        prepare()
        platform()
        prepare()
        baseline()
    platform_times, baseline_times = [], []
    for _ in range(repeat):
        prepare()
        platform_times.append(timed(platform))
        prepare()
        baseline_times.append(timed(baseline))
    return Comparison(
        name, statistics.median(platform_times), statistics.median(baseline_times), target, sides
    )


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def page_queries(request: Callable[[], object]) -> list[str]:
    """The SELECT statements one call of ``request`` sends to the database, as executed (parameters
    bound): the baseline of a page is these statements replayed raw (``replay``), with neither ORM
    nor template nor cache around them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        request()
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))
    ]


def replay(statements: list[str]) -> int:
    """Run each statement and fetch all its rows; returns the number of rows read."""
    from django.db import connection

    rows = 0
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            if cursor.description is not None:  # a WITH ... INSERT without RETURNING reads nothing back
                rows += len(cursor.fetchall())
    return rows
