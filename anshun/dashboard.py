"""KPI tiles that feature apps contribute to the officials' dashboard.

An app declares ``dashboard_tiles = "app.selectors.function"`` on its AppConfig;
the function takes ``(*, actor, region)`` and returns a list of ``Tile``, computed
from records inside both the actor's scope and ``region``. The dashboard page
collects them without knowing the apps, so each app adds its figures on its own.

Figures over history (incidents, mediation cases, cameras, demonstration sites) are read from
the rollup tallies (the ``rollups`` app), which Celery keeps current from the raw records every
minute and a dashboard folds on opening when changes are queued: one small query per app,
whatever the history behind it. Such a tile carries the fold time as ``as_of``, and the page
shows it.

Every app's figures are read from the rollups (incidents, mediation cases, the six projects'
people, visits and subsidies, demonstration sites, cameras) or from bounded inventories
(joint-defence coverage: one row per village), a query or two whatever the history, so no app
keeps its tiles in the cache: a first opening costs what a refresh costs, and every figure is as
current as the last fold. The mechanism stays for an app whose figures are costly aggregates
outside the rollups: one that sets ``dashboard_tiles_cached = True`` has its tiles kept in the
cache for ``settings.DASHBOARD_TILE_CACHE_SECONDS``, per viewer, region and language, the page
says how old they may be, and, while Redis is away, that they were computed live because the
cache is unavailable (anshun.cache).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import get_language

from anshun.cache import shared_cache_available
from anshun.provenance import mark_tiles

# Counts below this are shown as "<5" outside the project that owns them
# (small-count suppression for sensitive personal data).
SMALL_COUNT_THRESHOLD = 5


@dataclass(frozen=True)
class Tile:
    key: str  # stable identifier, e.g. "incidents.closure_rate"
    label: str  # translated label
    value: float | int | None  # None when suppressed or not computable
    unit: str = ""  # "%", "件", "¥"...
    detail: str = ""  # e.g. "n = 972, 95% CI 96.1–98.0"
    url: str = ""  # page with the records behind the figure
    suppressed: bool = False
    group: str = ""  # heading the tile is shown under
    extra: dict = field(default_factory=dict)
    as_of: datetime.datetime | None = None  # set when the figure comes from the cache
    cache_unavailable: bool = False  # a cached figure computed live because the cache is away
    # Where the figure comes from (anshun.provenance): "demo" (computed from synthetic demo
    # records), "seed" (the article's city figure, reproduced from the records; ``source``
    # quotes the article) or "" (no demo records behind it).
    provenance: str = ""
    source: str = ""
    demo_detail: bool = False  # the detail (e.g. a survey's sample size) is demo data

    @property
    def display(self) -> str:
        if self.suppressed:
            return f"<{SMALL_COUNT_THRESHOLD}"
        if self.value is None:
            return "–"
        if isinstance(self.value, float):
            return f"{self.value:.2f}"
        return f"{self.value:,}"


@dataclass(frozen=True)
class Cell:
    """One published figure and how many people it is derived from.

    ``value`` is what would be shown (a count, a rate, a sum of money); ``people`` is the number
    of people behind it (for a count of people, the count itself; for a rate, its denominator;
    for money, the people paid).
    """

    value: Any
    people: int


@dataclass(frozen=True)
class Suppressed:
    """The outcome of ``suppress``: each cell's shown value (``None`` when hidden)."""

    values: list
    hidden: list[bool]
    total_hidden: bool = False


def suppress(
    cells: Sequence[Cell],
    *,
    inside: bool,
    with_total: bool = False,
    total_people: int | None = None,
    threshold: int = SMALL_COUNT_THRESHOLD,
) -> Suppressed:
    """Small-count suppression for every aggregate of sensitive personal data: tiles, chart
    series, the metrics API and exports all call this one function.

    ``inside``: the viewer belongs to the project that owns the figures (its case officers):
    nothing is hidden from them. Outside it:

    - primary suppression: a cell derived from at least one and fewer than ``threshold`` people
      is hidden (zero stays zero: "nobody" identifies no one);
    - complementary suppression, when the cells are published together with their total
      (``with_total``: a monthly chart next to its year's tile, the months of a year in the
      API): a single hidden cell could be recovered as total minus the visible cells, so the
      visible cell with the fewest people is hidden as well; when no other cell can be hidden,
      the total is (``total_hidden``). The total itself is hidden when it is derived from fewer
      than ``threshold`` people (``total_people``, by default the sum of the cells' people).
    """
    values = [cell.value for cell in cells]
    if inside:
        return Suppressed(values=values, hidden=[False] * len(values))
    hidden = [0 < cell.people < threshold for cell in cells]
    total_hidden = False
    if with_total:
        people = sum(cell.people for cell in cells) if total_people is None else total_people
        total_hidden = 0 < people < threshold
        if sum(hidden) == 1 and not total_hidden:
            candidates = [i for i, cell in enumerate(cells) if not hidden[i] and cell.people > 0]
            if candidates:
                hidden[min(candidates, key=lambda i: (cells[i].people, i))] = True
            else:
                total_hidden = True
    shown = [None if hide else value for value, hide in zip(values, hidden, strict=True)]
    return Suppressed(values=shown, hidden=hidden, total_hidden=total_hidden)


def suppress_small(count: int) -> tuple[int | None, bool]:
    """(value, suppressed) for one count of people shown outside its project (``suppress``)."""
    result = suppress([Cell(count, count)], inside=False)
    return result.values[0], result.hidden[0]


def collect_tiles(*, actor, region) -> list[Tile]:
    """Every app's tiles for ``region``; nothing at all for a region outside the actor's scope."""
    from grids.models import Region

    if not Region.objects.visible_to(actor).filter(pk=region.pk).exists():
        return []
    from rollups.selectors import one_page

    with one_page():  # the rollups are folded and their fold time read once for every app
        return _collect_tiles(actor=actor, region=region)


def _collect_tiles(*, actor, region) -> list[Tile]:
    tiles: list[Tile] = []
    for config in apps.get_app_configs():
        provider = getattr(config, "dashboard_tiles", None)
        if not provider:
            continue
        compute = import_string(provider)
        max_age = (
            settings.DASHBOARD_TILE_CACHE_SECONDS if getattr(config, "dashboard_tiles_cached", False) else 0
        )
        if max_age <= 0:
            tiles.extend(compute(actor=actor, region=region))
            continue
        # Keyed by the viewer, not their role: two viewers never share figures, whatever their
        # scope and project, so caching cannot carry a figure across a boundary.
        key = f"dashboard-tiles:{config.label}:{actor.pk}:{region.pk}:{get_language()}"
        cached = cache.get(key)
        if not shared_cache_available():
            # Redis away: figures computed now, and the page says the cache is unavailable.
            live = compute(actor=actor, region=region)
            tiles.extend(replace(tile, cache_unavailable=True) for tile in live)
            continue
        if cached is None:
            now = timezone.now()
            # A figure read from the rollups keeps its fold time: that is how old it is.
            cached = [replace(tile, as_of=tile.as_of or now) for tile in compute(actor=actor, region=region)]
            cache.set(key, cached, max_age)
        tiles.extend(cached)
    return mark_tiles(tiles, region=region)
