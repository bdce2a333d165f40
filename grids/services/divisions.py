"""Loads Anshun's administrative divisions into the Region tree.

The data files are copies of the NBS statistical division codes kept in
``grids/data`` (see its SOURCES.md). Loading is an upsert keyed on the code,
level by level so that parents exist before children; a second run rewrites
the same values and creates nothing.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import transaction

from anshun.db import analyze
from grids.models import Region

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

# Management zones have no statistical code. The platform numbers them 5204 + 7x,
# the pattern NBS uses for functional zones elsewhere, so they sort after the
# counties and can never collide with a statutory county code (5204 + 0x/2x).
MANAGEMENT_ZONES = (
    ("520471", "安顺经济技术开发区"),
    ("520472", "黄果树旅游区"),
)


@dataclass(frozen=True)
class DivisionLoadSummary:
    cities: int
    counties: int
    management_zones: int
    townships: int
    villages: int
    created: int


def _read_csv(name: str, data_dir: Path) -> list[dict[str, str]]:
    with (data_dir / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _read_boundaries(data_dir: Path) -> dict[str, MultiPolygon]:
    """Boundaries keyed by 6-digit GB/T 2260 code (the city is 520400)."""
    payload = json.loads((data_dir / "boundaries_city_counties.geojson").read_text(encoding="utf-8"))
    boundaries: dict[str, MultiPolygon] = {}
    for feature in payload["features"]:
        code = feature["properties"]["gb"].removeprefix("156")
        geometry = GEOSGeometry(json.dumps(feature["geometry"]), srid=4326)
        if geometry.geom_type == "Polygon":
            geometry = MultiPolygon(geometry, srid=4326)
        boundaries[code] = geometry
    return boundaries


def _upsert(rows: list[Region]) -> int:
    existing = set(Region.objects.filter(code__in=[r.code for r in rows]).values_list("code", flat=True))
    Region.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=[
            "name",
            "level",
            "kind",
            "parent",
            "path",
            "is_community",
            "boundary",
            "boundary_is_demo",
        ],
    )
    return len(rows) - len(existing)


def _codes_to_ids(codes: list[str]) -> dict[str, tuple[int, str]]:
    return {
        code: (pk, path)
        for code, pk, path in Region.objects.filter(code__in=codes).values_list("code", "pk", "path")
    }


@transaction.atomic
def load_divisions(*, data_dir: Path = DATA_DIR) -> DivisionLoadSummary:
    """Create or refresh the city, counties, management zones, townships and villages."""
    boundaries = _read_boundaries(data_dir)
    city_row = _read_csv("cities.csv", data_dir)[0]
    counties = _read_csv("counties.csv", data_dir)
    townships = _read_csv("townships.csv", data_dir)
    villages = _read_csv("villages.csv", data_dir)
    created = 0

    city_code = city_row["code"]
    created += _upsert(
        [
            Region(
                code=city_code,
                name=city_row["name"],
                level=Region.Level.CITY,
                parent=None,
                path=f"{city_code}/",
                boundary=boundaries.get(f"{city_code}00"),
            )
        ]
    )
    city_id, city_path = _codes_to_ids([city_code])[city_code]

    county_rows = [
        Region(
            code=row["code"],
            name=row["name"],
            level=Region.Level.COUNTY,
            parent_id=city_id,
            path=f"{city_path}{row['code']}/",
            boundary=boundaries.get(row["code"]),
        )
        for row in counties
    ]
    zone_rows = [
        Region(
            code=code,
            name=name,
            level=Region.Level.COUNTY,
            kind=Region.Kind.MANAGEMENT_ZONE,
            parent_id=city_id,
            path=f"{city_path}{code}/",
        )
        for code, name in MANAGEMENT_ZONES
    ]
    created += _upsert(county_rows + zone_rows)
    county_ids = _codes_to_ids([r["code"] for r in counties])

    created += _upsert(
        _keep_demo_boundaries(_child_rows(townships, "areaCode", county_ids, Region.Level.TOWNSHIP))
    )
    township_ids = _codes_to_ids([r["code"] for r in townships])
    created += _upsert(
        _keep_demo_boundaries(_child_rows(villages, "streetCode", township_ids, Region.Level.VILLAGE))
    )
    if created:
        analyze(Region)

    return DivisionLoadSummary(
        cities=1,
        counties=len(counties),
        management_zones=len(MANAGEMENT_ZONES),
        townships=len(townships),
        villages=len(villages),
        created=created,
    )


def _child_rows(
    rows: list[dict[str, str]], parent_column: str, parents: dict[str, tuple[int, str]], level: str
) -> list[Region]:
    """Regions for CSV rows whose parent is already loaded (``parents``: code -> (id, path))."""
    regions = []
    for row in rows:
        parent_id, parent_path = parents[row[parent_column]]
        regions.append(
            Region(
                code=row["code"],
                name=row["name"],
                level=level,
                parent_id=parent_id,
                path=f"{parent_path}{row['code']}/",
                is_community=level == Region.Level.VILLAGE and "社区" in row["name"],
            )
        )
    return regions


def _keep_demo_boundaries(rows: list[Region]) -> list[Region]:
    """Townships and villages have no published boundary; keep what was generated or imported."""
    known = {
        code: (boundary, is_demo)
        for code, boundary, is_demo in Region.objects.filter(code__in=[r.code for r in rows]).values_list(
            "code", "boundary", "boundary_is_demo"
        )
    }
    for row in rows:
        row.boundary, row.boundary_is_demo = known.get(row.code, (None, False))
    return rows
