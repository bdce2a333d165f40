"""Rows the registry tests need, built through the commands (never the demo)."""

import pytest
from django.contrib.gis.geos import Point

from accounts.roles import Role
from grids.models import Grid, GridOffice
from registry.models import Address
from registry.services import records
from special_groups.crypto import id_check_character
from tests.factories import user_for_role

HOME_OFFICE_PREFIX = "520402005"  # where user_for_role puts grid staff by default
OTHER_COUNTY = "520425"


def id_number(serial: int, county: str = "520402") -> str:
    first17 = f"{county}19800101{serial:03d}"
    return first17 + id_check_character(first17)


def point_in(grid: Grid) -> Point:
    point = grid.geometry.point_on_surface
    return Point(point.x, point.y, srid=4326)


@pytest.fixture
def home_office(db):
    return GridOffice.objects.filter(seat__code__startswith=HOME_OFFICE_PREFIX).order_by("code").first()


@pytest.fixture
def worker(home_office):
    return user_for_role(Role.GRID_WORKER, office=home_office)


@pytest.fixture
def home_grid(home_office):
    return home_office.grids.select_related("village").order_by("code").first()


@pytest.fixture
def other_grid(db):
    return (
        Grid.objects.filter(code__startswith=OTHER_COUNTY).select_related("village").order_by("code").first()
    )


def make_house(actor, grid: Grid, *, people: int = 2, serial: int = 0, name: str = "一组"):
    """A road, a building with a point in ``grid``, its house and ``people`` residents."""
    road = records.address_create(actor=actor, village=grid.village, level=Address.Level.ROAD, name=name)
    building = records.address_create(
        actor=actor, village=grid.village, level=Address.Level.BUILDING, name=f"{serial + 1}号", parent=road,
        location=point_in(grid),
    )  # fmt: skip
    house = records.house_register(actor=actor, address=building)
    residents = [
        records.resident_register(
            actor=actor,
            address=building,
            name=f"张三{i}",
            id_number=id_number(serial * 10 + i),
            phone=f"1390000{i:04d}",
        )
        for i in range(people)
    ]
    return house, residents


@pytest.fixture
def admin(db):
    return user_for_role(Role.ADMIN)
