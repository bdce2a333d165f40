"""Generates deterministic demo geometry: township, village and grid polygons
that tile each county, and the 388 grid offices that look after the grids.

No public source publishes township, village or grid boundaries, so the demo
subdivides each county's real outline by nested Voronoi cells: seed points
from a Halton sequence (the same every run), cells clipped to the parent. The
result is contiguous and nested (a grid lies in its village, its village in
its township, its township in its county) and is flagged as demo geometry
everywhere it is shown. A city replaces it with ``manage.py import_grids``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import shapely
import shapely.prepared
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point
from django.db import transaction
from shapely.geometry import MultiPoint
from shapely.geometry.base import BaseGeometry

from anshun.db import analyze
from grids.models import Grid, GridOffice, Region

# Anshun has 388 grid offices (source article, 2018).
DEMO_GRID_OFFICE_COUNT = 388


@dataclass(frozen=True)
class DemoGridSummary:
    grid_offices: int
    grids: int
    skipped: bool


def _halton(index: int, base: int) -> float:
    result, fraction = 0.0, 1.0
    while index > 0:
        fraction /= base
        result += fraction * (index % base)
        index //= base
    return result


def _seed_points(area: BaseGeometry, count: int) -> list[shapely.Point]:
    """``count`` well-spread points inside ``area``, identical on every run."""
    minx, miny, maxx, maxy = area.bounds
    prepared = shapely.prepared.prep(area)
    points: list[shapely.Point] = []
    index = 1
    while len(points) < count and index < 200_000:
        candidate = shapely.Point(
            minx + (maxx - minx) * _halton(index, 2), miny + (maxy - miny) * _halton(index, 3)
        )
        if prepared.contains(candidate):
            points.append(candidate)
        index += 1
    while len(points) < count:  # a sliver too thin for the sequence: fall back to its interior
        points.append(area.representative_point())
    return points


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type in ("Polygon", "MultiPolygon")]
    flattened = []
    for part in parts:
        flattened.extend(shapely.get_parts(part))
    return shapely.MultiPolygon(flattened)


def subdivide(area: BaseGeometry, count: int) -> list[BaseGeometry]:
    """Split ``area`` into ``count`` contiguous cells that exactly tile it."""
    if count == 1:
        return [_polygonal(area)]
    seeds = _seed_points(area, count)
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=area.envelope.buffer(0.1), ordered=True)
    result = []
    for cell in shapely.get_parts(cells):
        result.append(_polygonal(shapely.intersection(cell, area)))
    return result


def _to_geos(geometry: BaseGeometry) -> MultiPolygon:
    geos = GEOSGeometry(memoryview(shapely.to_wkb(geometry)), srid=4326)
    if geos.geom_type == "Polygon":
        geos = MultiPolygon(geos, srid=4326)
    return geos


def _grids_in_village(village: Region) -> int:
    """Communities are denser than rural villages, so they get more grids."""
    spread = int(village.code) % 2
    return (3 if village.is_community else 2) + spread


def _offices_per_township(
    townships: list[Region], villages_by_township: dict[int, list[Region]], total: int
) -> dict[int, int]:
    """Share ``total`` offices among townships by village count (largest remainder, at least one)."""
    village_total = sum(len(villages_by_township[t.pk]) for t in townships)
    quotas = {t.pk: total * len(villages_by_township[t.pk]) / village_total for t in townships}
    shares = {pk: max(1, int(q)) for pk, q in quotas.items()}
    for pk in shares:
        shares[pk] = min(shares[pk], len(villages_by_township[pk]))
    by_remainder = sorted(quotas, key=lambda pk: (-(quotas[pk] - int(quotas[pk])), pk))
    if not len(townships) <= total <= village_total:
        raise ValueError(
            f"Cannot seat {total} offices in {len(townships)} townships with {village_total} villages."
        )
    while sum(shares.values()) < total:
        for pk in by_remainder:
            if sum(shares.values()) >= total:
                break
            if shares[pk] < len(villages_by_township[pk]):
                shares[pk] += 1
    while sum(shares.values()) > total:
        for pk in reversed(by_remainder):
            if sum(shares.values()) <= total:
                break
            if shares[pk] > 1:
                shares[pk] -= 1
    return shares


@transaction.atomic
def generate_demo_grids(*, office_count: int = DEMO_GRID_OFFICE_COUNT) -> DemoGridSummary:
    """Create demo boundaries, grid offices and grids, once.

    Runs only while the city has no grid office at all, so that it never
    overwrites offices or grids a city has loaded for real.
    """
    if GridOffice.objects.exists():
        return DemoGridSummary(GridOffice.objects.count(), Grid.objects.count(), skipped=True)

    counties = list(Region.objects.filter(level=Region.Level.COUNTY, boundary__isnull=False))
    townships = list(Region.objects.filter(level=Region.Level.TOWNSHIP).order_by("code"))
    villages = list(Region.objects.filter(level=Region.Level.VILLAGE).order_by("code"))
    townships_by_county: dict[int, list[Region]] = defaultdict(list)
    for township in townships:
        townships_by_county[township.parent_id].append(township)
    villages_by_township: dict[int, list[Region]] = defaultdict(list)
    for village in villages:
        villages_by_township[village.parent_id].append(village)

    served = [t for c in counties for t in townships_by_county[c.pk]]
    shares = _offices_per_township(served, villages_by_township, office_count)

    regions_to_update: list[Region] = []
    grids: list[Grid] = []
    offices: list[GridOffice] = []
    for county in counties:
        county_shape = shapely.from_wkb(bytes(county.boundary.wkb))
        county_townships = townships_by_county[county.pk]
        for township, township_shape in zip(
            county_townships, subdivide(county_shape, len(county_townships)), strict=True
        ):
            township.boundary, township.boundary_is_demo = _to_geos(township_shape), True
            regions_to_update.append(township)
            township_villages = villages_by_township[township.pk]
            village_shapes = subdivide(township_shape, len(township_villages))
            around_centre = _sorted_around(
                township_shape, list(zip(township_villages, village_shapes, strict=True))
            )
            for chunk in _chunks(around_centre, shares[township.pk]):
                seat, seat_shape = next(((v, s) for v, s in chunk if v.is_community), chunk[0])
                office = GridOffice(
                    code=f"{seat.code}01",
                    name=f"{seat.short_name}网格室",
                    seat=seat,
                    location=Point(*seat_shape.representative_point().coords[0], srid=4326),
                )
                offices.append(office)
                for village, village_shape in chunk:
                    village.boundary, village.boundary_is_demo = _to_geos(village_shape), True
                    regions_to_update.append(village)
                    for sequence, grid_shape in enumerate(
                        subdivide(village_shape, _grids_in_village(village)), start=1
                    ):
                        grids.append(
                            Grid(
                                code=f"{village.code}{sequence:03d}",
                                name=f"{village.short_name}第{sequence}网格",
                                village=village,
                                office=office,
                                geometry=_to_geos(grid_shape),
                                is_demo=True,
                            )
                        )

    Region.objects.bulk_update(regions_to_update, ["boundary", "boundary_is_demo"], batch_size=500)
    GridOffice.objects.bulk_create(offices, batch_size=500)
    for grid in grids:
        grid.office_id = grid.office.pk
    Grid.objects.bulk_create(grids, batch_size=500)
    analyze(Region, GridOffice, Grid)
    return DemoGridSummary(len(offices), len(grids), skipped=False)


def _sorted_around(area: BaseGeometry, pairs: list[tuple[Region, BaseGeometry]]) -> list:
    """Order villages by bearing from the township's centre, so that an office's
    run of villages forms one contiguous wedge instead of scattered cells."""
    centre = area.centroid

    def bearing(pair: tuple[Region, BaseGeometry]) -> tuple[float, str]:
        point = pair[1].representative_point()
        return math.atan2(point.y - centre.y, point.x - centre.x), pair[0].code

    return sorted(pairs, key=bearing)


def _chunks(items: list, parts: int) -> list[list]:
    """Split ``items`` into ``parts`` contiguous runs of near-equal length."""
    size, extra = divmod(len(items), parts)
    runs, start = [], 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        runs.append(items[start:end])
        start = end
    return runs
