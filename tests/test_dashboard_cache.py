"""The platform's apps read their dashboard figures from the rollups and cache none of them: every
figure is fresh at every opening. The cache mechanism stays for an app that declares its figures
costly (``dashboard_tiles_cached``): such figures are reused for a short while, per viewer, region
and language, and no viewer ever gets another viewer's figures (tested here with the special
groups app declaring it)."""

from datetime import date

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.roles import Role, SpecialProject
from anshun.dashboard import collect_tiles
from grids.models import Region
from rollups.selectors import folded_at
from tests.factories import user_for_role
from tests.special_groups.helpers import enroll, person, village

pytestmark = pytest.mark.django_db


@pytest.fixture
def caching(settings):
    settings.DASHBOARD_TILE_CACHE_SECONDS = 120


@pytest.fixture
def declared(caching, monkeypatch):
    """The special groups app declaring its figures costly (the mechanism under test)."""
    monkeypatch.setattr(apps.get_app_config("special_groups"), "dashboard_tiles_cached", True, raising=False)


def _picked_up() -> None:
    enroll(
        SpecialProject.HUIGUI,
        who=person(region=village()),
        release_date=date(2025, 3, 10),
        pickup_outcome="picked_up",
    )


def _tiles(actor, region) -> dict:
    return {tile.key: tile for tile in collect_tiles(actor=actor, region=region)}


def test_costly_figures_are_reused_and_cheap_ones_are_fresh(declared):
    region = Region.objects.get(code="520402")
    official = user_for_role(Role.COUNTY_OFFICIAL, region=region)
    for _ in range(5):
        _picked_up()
    first = _tiles(official, region)
    assert first["special_groups.picked_up"].value == 5
    assert first["special_groups.picked_up"].as_of is not None
    assert first["incidents.open"].as_of is not None  # the time of the rollups' last fold

    _picked_up()
    with CaptureQueriesContext(connection) as queries:
        again = _tiles(official, region)
    assert again["special_groups.picked_up"].value == 5  # reused, with its time shown on the page
    assert again["special_groups.picked_up"].as_of == first["special_groups.picked_up"].as_of
    # (the dashboard folds the queued enrolment into the rollups first: those queries aside)
    assert not [
        q for q in queries.captured_queries if "special_groups_" in q["sql"] and "rollup" not in q["sql"]
    ]
    assert [q for q in queries.captured_queries if "rollups_tally" in q["sql"] and "incidents" in q["sql"]]

    colleague = user_for_role(Role.COUNTY_OFFICIAL, region=region)
    assert _tiles(colleague, region)["special_groups.picked_up"].value == 6  # never another viewer's
    with translation.override("en"):
        english = _tiles(official, region)
        assert str(english["special_groups.picked_up"].label) == "People picked up"
    assert english["special_groups.picked_up"].value == 6


def test_caching_off_computes_every_time(settings):
    settings.DASHBOARD_TILE_CACHE_SECONDS = 0
    region = Region.objects.get(code="520402")
    official = user_for_role(Role.COUNTY_OFFICIAL, region=region)
    for _ in range(5):
        _picked_up()
    assert _tiles(official, region)["special_groups.picked_up"].value == 5
    _picked_up()
    # not a cached figure: its time is the rollups' fold the dashboard has just made
    assert _tiles(official, region)["special_groups.picked_up"].as_of == folded_at()
    assert _tiles(official, region)["special_groups.picked_up"].value == 6


def test_figures_read_from_the_rollups_are_never_cached(caching):
    """No app declares its figures costly: with the cache on, a camera put online and a person
    picked up both show at the next opening, and no viewer's figures are kept in the cache."""
    from django.contrib.gis.geos import Point

    from grids.models import Grid
    from safety_cells.models import Camera

    region = Region.objects.get(code="520402")
    official = user_for_role(Role.COUNTY_OFFICIAL, region=region)
    grid = Grid.objects.filter(village__code__startswith="520402").order_by("code").first()
    spot = grid.geometry.point_on_surface

    def camera(n: int) -> None:
        Camera.objects.create(
            code=f"T{n}", phase=1, owner="公安局", village=grid.village, grid=grid,
            location=Point(spot.x, spot.y, srid=4326), status=Camera.Status.ONLINE,
        )  # fmt: skip

    camera(1)
    for _ in range(5):
        _picked_up()
    first = _tiles(official, region)
    assert first["safety_cells.cameras_online"].value == 1
    assert first["special_groups.picked_up"].value == 5
    camera(2)
    _picked_up()
    again = _tiles(official, region)
    assert again["safety_cells.cameras_online"].value == 2  # fresh from the rollups
    assert again["special_groups.picked_up"].value == 6
    for key in ("safety_cells.cameras_online", "mediation.open_cases", "special_groups.picked_up"):
        assert again[key].as_of == folded_at()
    for label in ("mediation", "safety_cells", "special_groups"):
        assert (
            cache.get(f"dashboard-tiles:{label}:{official.pk}:{region.pk}:{translation.get_language()}")
            is None
        )
