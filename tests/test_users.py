"""A user's jurisdiction must fit their role; bad combinations are field errors."""

import pytest
from django.core.exceptions import ValidationError

from accounts.roles import Role, SpecialProject
from accounts.services import user_create
from grids.models import GridOffice, Region

pytestmark = pytest.mark.django_db


def _errors(**kwargs):
    with pytest.raises(ValidationError) as caught:
        user_create(username="someone", password="a-long-password-1", **kwargs)
    return caught.value.message_dict


def test_grid_worker_needs_a_grid_office():
    assert "grid_office" in _errors(role=Role.GRID_WORKER)


def test_official_needs_a_region_of_their_level():
    county = Region.objects.get(code="520402")
    assert "region" in _errors(role=Role.TOWNSHIP_OFFICIAL, region=county)
    assert "region" in _errors(role=Role.CITY_OFFICIAL)


def test_case_officer_needs_one_project_and_others_none():
    township = Region.objects.get(code="520402005")
    assert "special_project" in _errors(role=Role.CASE_OFFICER, region=township)
    assert "special_project" in _errors(
        role=Role.TOWNSHIP_OFFICIAL, region=township, special_project=SpecialProject.ANNING
    )


def test_nothing_is_written_on_error():
    from accounts.models import User

    before = User.objects.count()
    _errors(role=Role.GRID_WORKER, region=Region.objects.get(code="520402"))
    assert User.objects.count() == before


def test_valid_users_are_created():
    office = GridOffice.objects.first()
    worker = user_create(
        username="w1", password="a-long-password-1", role=Role.GRID_WORKER, grid_office=office
    )
    assert worker.check_password("a-long-password-1")
    assert worker.can("incident.report") and not worker.can("grids.import")
