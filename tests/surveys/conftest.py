"""Fixtures for the survey tests: the 2017 wave with its items and counting rules, and a
helper that makes response rows for the intake service."""

import itertools
import uuid

import pytest

from accounts.roles import Role
from grids.models import Grid, Region
from surveys.demo import ensure_survey_setup
from tests.factories import user_for_role

_counter = itertools.count()


@pytest.fixture
def wave(db):
    return ensure_survey_setup()


@pytest.fixture
def survey_admin(db):
    return user_for_role(Role.ADMIN)


def row(community: str, security: str = "很安全", satisfaction: str = "满意", **extra) -> dict:
    """One valid response row in ``community`` (a 12-digit village code)."""
    return {
        "client_id": str(uuid.uuid4()),
        "community": community,
        "channel": "phone",
        "answered_on": "2017-11-15",
        "security_sense": security,
        "satisfaction": satisfaction,
        **extra,
    }


def villages_in(code: str, count: int) -> list[str]:
    return list(
        Region.objects.filter(level=Region.Level.VILLAGE, path__contains=f"/{code}/")
        .order_by("code")
        .values_list("code", flat=True)[:count]
    )


def a_grid_in(village_code: str) -> Grid:
    return Grid.objects.filter(village__code=village_code).select_related("office").order_by("code").first()
