"""Costly dashboard figures are reused for a short while, per viewer, region and language; cheap,
fast-moving ones (incidents) never are, and no viewer ever gets another viewer's figures."""

from datetime import date

import pytest
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


def _picked_up() -> None:
    enroll(
        SpecialProject.HUIGUI,
        who=person(region=village()),
        release_date=date(2025, 3, 10),
        pickup_outcome="picked_up",
    )


def _tiles(actor, region) -> dict:
    return {tile.key: tile for tile in collect_tiles(actor=actor, region=region)}


def test_costly_figures_are_reused_and_cheap_ones_are_fresh(caching):
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
