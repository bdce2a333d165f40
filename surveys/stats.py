"""The arithmetic of a published rate: the counting rule and the 95% Wilson interval.

The rollup computes the same figures in SQL (``services.rollup``); these functions
are the reference the tests hold both to.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Two-sided 95%: the 0.975 quantile of the standard normal distribution.
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int
    rate: float | None  # percent
    ci_low: float | None
    ci_high: float | None


def wilson_interval(successes: int, total: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval as proportions; unlike the normal approximation it stays
    inside [0, 1] and behaves for the near-100% rates these surveys produce."""
    if total <= 0:
        return None
    p = successes / total
    z2 = z * z
    denominator = 1 + z2 / total
    centre = (p + z2 / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def apply_rule(
    counts: Mapping[int, int], *, counted: Iterable[int], cant_say: int | None, cant_say_in_denominator: bool
) -> Rate:
    """Rate (in %) from the count per answer position under one wave's counting rule."""
    total = sum(counts.values())
    numerator = sum(counts.get(c, 0) for c in set(counted))
    denominator = total
    if cant_say is not None and not cant_say_in_denominator:
        denominator -= counts.get(cant_say, 0)
    interval = wilson_interval(numerator, denominator)
    if interval is None:
        return Rate(numerator, denominator, None, None, None)
    return Rate(numerator, denominator, 100 * numerator / denominator, 100 * interval[0], 100 * interval[1])
