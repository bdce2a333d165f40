"""Tiny benchmark harness: time the platform's code and a same-run baseline,
interleaved, and report the ratio of their medians. Absolute times on a shared
2-core machine mean little; the ratio is the figure we track."""

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

    @property
    def ratio(self) -> float:
        return self.platform_seconds / self.baseline_seconds

    def line(self) -> str:
        verdict = ""
        if self.target is not None:
            verdict = "  ok" if self.ratio <= self.target else f"  ABOVE TARGET {self.target}"
        # Small ratios get a third decimal, so that 0.014 and 0.024 do not both print as 0.01/0.02.
        ratio = f"{self.ratio:6.3f}" if self.ratio < 0.1 else f"{self.ratio:6.2f}"
        return (
            f"{self.name:<58} ratio {ratio}  (platform {self.platform_seconds * 1000:8.1f} ms,"
            f" baseline {self.baseline_seconds * 1000:8.1f} ms){verdict}"
        )


def compare(
    name: str,
    platform: Callable[[], object],
    baseline: Callable[[], object],
    *,
    repeat: int = 7,
    target: float | None = None,
) -> Comparison:
    platform()
    baseline()  # warm caches for both
    platform_times, baseline_times = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        platform()
        platform_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        baseline()
        baseline_times.append(time.perf_counter() - start)
    return Comparison(name, statistics.median(platform_times), statistics.median(baseline_times), target)
