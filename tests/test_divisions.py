"""The loaded jurisdiction tree matches Anshun's real divisions and the article's 388 grid offices."""

import csv
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from grids.models import Grid, GridOffice, Region

pytestmark = pytest.mark.django_db
DATA = Path(__file__).resolve().parent.parent / "grids" / "data"


def _rows(name):
    with (DATA / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_levels_match_the_source_files():
    assert Region.objects.filter(level="city").count() == len(_rows("cities.csv")) == 1
    statutory = Region.objects.filter(level="county", kind="statutory")
    assert statutory.count() == len(_rows("counties.csv")) == 6
    zones = Region.objects.filter(level="county", kind="management_zone")
    assert sorted(zones.values_list("name", flat=True)) == sorted(["安顺经济技术开发区", "黄果树旅游区"])
    assert Region.objects.filter(level="township").count() == len(_rows("townships.csv")) == 92
    assert Region.objects.filter(level="village").count() == len(_rows("villages.csv")) == 1231


def test_every_code_and_parent_comes_from_the_nbs_files():
    townships = {r["code"]: r["areaCode"] for r in _rows("townships.csv")}
    villages = {r["code"]: r["streetCode"] for r in _rows("villages.csv")}
    loaded = dict(
        Region.objects.filter(level__in=["township", "village"]).values_list("code", "parent__code")
    )
    assert loaded == {**townships, **villages}


def test_paths_are_the_chain_of_codes():
    village = Region.objects.get(code="520402001004")  # 塔山社区
    assert village.path == "5204/520402/520402001/520402001004/"
    assert village.name == "塔山社区居民委员会"
    assert village.is_community


def test_388_grid_offices_each_seated_in_a_village_it_serves():
    assert GridOffice.objects.count() == 388
    assert not GridOffice.objects.exclude(seat__level="village").exists()
    assert not GridOffice.objects.filter(grids__isnull=True).exists()
    # Each office is seated in a village whose grids it looks after.
    seated_elsewhere = GridOffice.objects.exclude(grids__village=models_f("seat")).count()
    assert seated_elsewhere == 0


def models_f(name):
    from django.db.models import F

    return F(name)


def test_every_village_has_grids_with_codes_built_on_its_code():
    assert not Region.objects.filter(level="village", grids__isnull=True).exists()
    for code, village_code in Grid.objects.values_list("code", "village__code"):
        assert len(code) == 15 and code.startswith(village_code) and code[12:].isdigit()


def test_every_grid_lies_inside_its_county():
    """PostGIS decides: no grid has area outside its county (1e-12 deg² ≈ 0.01 m² of float noise)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FILTER (WHERE ST_Area(ST_Difference(g.geometry, c.boundary)) > 1e-12),
                   count(*) FILTER (WHERE NOT ST_IsValid(g.geometry)),
                   count(*)
            FROM grids_grid g
            JOIN grids_region v ON v.id = g.village_id
            JOIN grids_region t ON t.id = v.parent_id
            JOIN grids_region c ON c.id = t.parent_id
            """
        )
        outside, invalid, total = cursor.fetchone()
    assert total == Grid.objects.count() > 0
    assert (outside, invalid) == (0, 0)


def test_demo_grids_do_not_overlap_each_other():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM grids_grid a JOIN grids_grid b
              ON a.id < b.id AND a.geometry && b.geometry
             AND ST_Area(ST_Intersection(a.geometry, b.geometry)) > 1e-10
            """
        )
        assert cursor.fetchone()[0] == 0


def test_demo_geometry_is_flagged():
    assert not Grid.objects.filter(is_demo=False).exists()
    assert not Region.objects.filter(level__in=["township", "village"], boundary_is_demo=False).exists()
    assert not Region.objects.filter(level="county", kind="statutory", boundary_is_demo=True).exists()


def _snapshot():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT md5(string_agg(code || name || path || coalesce(ST_AsEWKB(boundary)::text, ''), ',' "
            "ORDER BY code)) FROM grids_region"
        )
        regions = cursor.fetchone()[0]
        cursor.execute(
            "SELECT md5(string_agg(code || office_id || ST_AsEWKB(geometry)::text, ',' ORDER BY code)) "
            "FROM grids_grid"
        )
        grids = cursor.fetchone()[0]
    return regions, grids, GridOffice.objects.count(), Region.objects.count()


def test_loading_again_changes_nothing():
    before = _snapshot()
    call_command("load_anshun", verbosity=0)
    assert _snapshot() == before
