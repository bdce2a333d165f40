"""Reads of the rollup tallies, scoped exactly to the viewer's jurisdiction.

A jurisdiction held over a region is a subtree of the region tree, and every tally row sums
the records of one region's subtree: the rows of one region (the deeper of the page's region and
the viewer's own, when one lies inside the other) are exactly what the viewer may see there.
A grid office's sight is not a subtree (incidents dispatched to it, villages it serves), so for
grid-office staff ``rollup_regions`` answers None and callers count their (small) records raw.
"""

from __future__ import annotations

import datetime
from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models import QuerySet

from anshun.scoping import Jurisdiction
from grids.models import Region
from rollups.models import FoldState, Tally


def rollup_regions(*, actor, region: Region | None) -> list[int] | None:
    """Ids of the regions whose tally rows make up what ``actor`` sees inside ``region``
    (None: the whole jurisdiction); [] when nothing; None when tallies cannot answer exactly."""
    jurisdiction = Jurisdiction.of(actor)
    if jurisdiction.grid_office_id is not None:
        return None
    if jurisdiction.unrestricted:
        if region is not None:
            return [region.pk]
        return list(Region.objects.filter(parent__isnull=True).values_list("pk", flat=True))
    if jurisdiction.region_path is None:
        return []
    if region is None or jurisdiction.region_path.startswith(region.path):
        return [actor.region_id]
    if region.path.startswith(jurisdiction.region_path):
        return [region.pk]
    return []  # two separate subtrees


def tallies(*, measure: str, regions: list[int]) -> QuerySet[Tally]:
    """The tally rows of ``measure`` for those regions (from ``rollup_regions``)."""
    return Tally.objects.filter(measure=measure, region_id__in=regions)


# What one page has learnt of the rollups (``one_page``): whether it folded, and the fold time.
_page: ContextVar[dict | None] = ContextVar("rollups_page", default=None)


@contextmanager
def one_page():
    """Inside: the figures of one page. The apps' tile providers each fold the queued changes and
    read the fold time; on one page the queue is checked (and folded) once and the time read once,
    instead of once per app (``rollups.services.fold_if_queued``, ``folded_at``)."""
    if _page.get() is not None:  # already inside the page's
        yield
        return
    token = _page.set({})
    try:
        yield
    finally:
        _page.reset(token)


def folded_at() -> datetime.datetime | None:
    """When the figures last took in every queued change (shown as the tiles' "as of")."""
    page = _page.get()
    if page is not None and "folded_at" in page:
        return page["folded_at"]
    at = FoldState.objects.filter(pk=1).values_list("folded_at", flat=True).first()
    if page is not None:
        page["folded_at"] = at
    return at


def day_start(day: datetime.date) -> datetime.datetime:
    """A day as the projections store it (rollups.sources: midnight UTC)."""
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)
