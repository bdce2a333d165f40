"""Fixtures for the incidents tests: places inside and outside a grid worker's office."""

import pytest
from django.contrib.gis.geos import Point

from accounts.roles import Role
from grids.models import Grid, GridOffice
from incidents.models import Incident, IncidentCategory
from incidents.services.reporting import report_incident
from tests.factories import user_for_role

HOME_OFFICE_PREFIX = "520402005"  # 东关街道, where user_for_role puts grid staff by default
OTHER_COUNTY = "520425"


def point_in(grid: Grid) -> Point:
    point = grid.geometry.point_on_surface
    return Point(point.x, point.y, srid=4326)


@pytest.fixture
def incident_tree(anshun_tree):
    """For transactional tests: the Anshun tree and the default categories, after the flush."""
    from incidents.categories import seed_categories

    seed_categories()


@pytest.fixture
def home_office(category):
    return GridOffice.objects.filter(seat__code__startswith=HOME_OFFICE_PREFIX).order_by("code").first()


@pytest.fixture
def other_office(home_office):
    """Another office in the same township, for "wrong unit" and cross-office probes."""
    return (
        GridOffice.objects.filter(seat__code__startswith=HOME_OFFICE_PREFIX, grids__isnull=False)
        .exclude(pk=home_office.pk)
        .order_by("code")
        .first()
    )


@pytest.fixture
def home_grid(home_office):
    return home_office.grids.order_by("code").first()


@pytest.fixture
def far_grid(db):
    return Grid.objects.filter(code__startswith=OTHER_COUNTY).order_by("code").first()


@pytest.fixture
def category(db):
    # A reused test database may have been flushed by an earlier transactional test, which
    # takes the migration's categories with it: seed them again (idempotent).
    from incidents.categories import seed_categories

    seed_categories()
    return IncidentCategory.objects.get(code="exposed-rubbish")


@pytest.fixture
def worker(home_office):
    return user_for_role(Role.GRID_WORKER, office=home_office)


@pytest.fixture
def dispatcher(db):
    return user_for_role(Role.DISPATCHER)


@pytest.fixture
def make_incident(worker, home_grid, category):
    def make(**extra) -> Incident:
        values = {
            "actor": worker,
            "category": category,
            "description": "路边垃圾堆放",
            "location": point_in(home_grid),
            **extra,
        }
        return report_incident(**values)[0]

    return make


def let_the_feed_see_this_test():
    """The sync feed serves a change once every transaction before it has ended (see
    ``incidents.selectors.sync_page``). A test runs in one transaction that never commits, so
    its own changes sit at the feed's horizon; ending one later transaction on a second
    connection moves the horizon past them, exactly as any other commit would in production.
    """
    from django.db import connection

    other = connection.get_new_connection(connection.get_connection_params())
    try:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()")
    finally:
        other.close()
