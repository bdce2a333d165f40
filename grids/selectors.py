"""Reads of the jurisdiction tree. Every selector takes the actor and scopes to them."""

from __future__ import annotations

from django.contrib.gis.db.models import Extent
from django.db.models import Count, QuerySet

from grids.models import Grid, GridImport, GridOffice, Region


def _within(queryset: QuerySet, path_lookup: str, code: str | None) -> QuerySet:
    """Restrict to rows inside the region ``code`` (itself included); unknown codes match nothing."""
    if not code:
        return queryset
    path = Region.objects.filter(code=code).values_list("path", flat=True).first()
    if path is None:
        return queryset.none()
    return queryset.filter(**{f"{path_lookup}__startswith": path})


def regions_visible_to(
    *,
    actor,
    level: str | None = None,
    parent_code: str | None = None,
    within_code: str | None = None,
) -> QuerySet[Region]:
    regions = Region.objects.visible_to(actor).select_related("parent")
    if level:
        regions = regions.filter(level=level)
    if parent_code:
        regions = regions.filter(parent__code=parent_code)
    regions = _within(regions, "path", within_code)
    return regions.defer("boundary").order_by("code")


def region_children_with_boundaries(*, actor, parent: Region) -> QuerySet[Region]:
    return Region.objects.visible_to(actor).filter(parent=parent).select_related("parent").order_by("code")


def grid_offices_visible_to(*, actor, within_code: str | None = None) -> QuerySet[GridOffice]:
    offices = (
        GridOffice.objects.visible_to(actor)
        .select_related("seat", "seat__parent", "seat__parent__parent")
        .annotate(grid_count=Count("grids"))
        .defer("seat__boundary", "seat__parent__boundary", "seat__parent__parent__boundary")
    )
    offices = _within(offices, "seat__path", within_code)
    return offices.order_by("code")


def grids_visible_to(
    *, actor, within_code: str | None = None, office_code: str | None = None
) -> QuerySet[Grid]:
    grids = Grid.objects.visible_to(actor).select_related("village", "office").defer("village__boundary")
    grids = _within(grids, "village__path", within_code)
    if office_code:
        grids = grids.filter(office__code=office_code)
    return grids.order_by("code")


def jurisdiction_summary(*, actor) -> dict[str, int]:
    """Counts for the home page: what the actor's jurisdiction holds."""
    # Townships and villages are the statutory ones (92 and 1231 city-wide); areas that a
    # management zone administers under platform codes are counted with their zone.
    regions = Region.objects.visible_to(actor).exclude(
        kind=Region.Kind.MANAGEMENT_ZONE, level__in=[Region.Level.TOWNSHIP, Region.Level.VILLAGE]
    )
    by_level = dict(regions.values_list("level").annotate(n=Count("pk")).order_by())
    return {
        "counties": by_level.get(Region.Level.COUNTY, 0),
        "townships": by_level.get(Region.Level.TOWNSHIP, 0),
        "villages": by_level.get(Region.Level.VILLAGE, 0),
        "grid_offices": GridOffice.objects.visible_to(actor).count(),
        "grids": Grid.objects.visible_to(actor).count(),
    }


def grid_imports_for(*, actor) -> QuerySet[GridImport]:
    if not actor.can("grids.import"):
        return GridImport.objects.none()
    return GridImport.objects.select_related("created_by").order_by("-created_at")


def grids_in_view(
    *, actor, bbox=None, within_code: str | None = None, office_code: str | None = None
) -> QuerySet[Grid]:
    """Grids in scope whose outline meets ``bbox`` (a polygon; the GiST index answers ``&&``)."""
    grids = grids_visible_to(actor=actor, within_code=within_code, office_code=office_code)
    return grids if bbox is None else grids.filter(geometry__bboverlaps=bbox)


def jurisdiction_extent(*, actor) -> list[float] | None:
    """[west, south, east, north] of what the actor may see (their grids' outlines), for a map to
    start on; None when they see no grid. One aggregate query on the grids in scope."""
    box = Grid.objects.visible_to(actor).aggregate(extent=Extent("geometry"))["extent"]
    return [round(value, 5) for value in box] if box else None
