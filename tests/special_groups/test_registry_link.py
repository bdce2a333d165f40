"""Linking an enrolment to the basic registry's resident (``person_enroll``'s ``registry_person``):
through the service, the page and the API; the resident must be in the officer's jurisdiction and
carry the ID number entered, found by that exact number only; a refused attempt writes nothing; the
grid worker visiting the house sees the neutral mark, never the project."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role, SpecialProject
from grids.models import Grid, GridOffice
from special_groups.models import AccessRecord, Enrollment, Person
from special_groups.services import person_enroll
from tests.factories import user_for_role
from tests.registry.conftest import id_number, make_house
from tests.special_groups.test_pages_enrol import zh

pytestmark = pytest.mark.django_db

API = "/api/special-enrollments/"
NOT_FOUND = "Not found in your jurisdiction."


def written() -> tuple[int, int, int]:
    return Person.objects.count(), Enrollment.objects.count(), AccessRecord.objects.count()


@pytest.fixture
def residents():
    """A resident of a house in 西秀区 (the officer's county) and one in 紫云."""
    admin = user_for_role(Role.ADMIN)
    office = GridOffice.objects.filter(seat__code__startswith="520402005").order_by("code").first()
    home_grid = office.grids.select_related("village").order_by("code").first()
    far_grid = (
        Grid.objects.filter(code__startswith="520425").select_related("village").order_by("code").first()
    )
    house, (near,) = make_house(admin, home_grid, people=1, serial=1, name="登记组")
    _far_house, (far,) = make_house(admin, far_grid, people=1, serial=2, name="远处组")
    return {"house": house, "near": near, "far": far, "office": office, "village": home_grid.village}


def payload(residents, number: str, **more) -> dict:
    return {
        "name": "专干录入",
        "id_number": number,
        "region": residents["village"].code,
        "release_date": (timezone.localdate() + timedelta(days=10)).isoformat(),
        **more,
    }


def officer():
    return user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI)


def test_the_service_links_a_resident_in_sight_with_the_same_number_only(residents):
    near, far, user = residents["near"], residents["far"], officer()
    base = {"name": "专干录入", "region": residents["village"], "release_date": timezone.localdate()}
    before = written()
    with pytest.raises(ValidationError) as hidden:  # 紫云's resident: out of the officer's sight
        person_enroll(actor=user, id_number=id_number(2), registry_person=far, **base)
    assert hidden.value.message_dict == {"registry_person": [zh(NOT_FOUND)]}
    with pytest.raises(ValidationError) as other:  # somebody else's number
        person_enroll(actor=user, id_number=id_number(77), registry_person=near, **base)
    assert list(other.value.message_dict) == ["registry_person"]
    assert written() == before
    enrollment = person_enroll(actor=user, id_number=id_number(10), registry_person=near, **base)
    assert enrollment.person.registry_person_id == near.pk


def test_the_page_finds_the_resident_by_the_number_and_the_visitor_sees_the_mark_only(client, residents):
    client.force_login(officer())
    before = written()
    enrol = reverse("special_groups:enrol")
    refused = client.post(enrol, payload(residents, id_number(20), link_registry="on"))
    assert refused.status_code == 400 and zh(NOT_FOUND) in refused.content.decode()
    assert written() == before
    made = client.post(enrol, payload(residents, id_number(10), link_registry="on"))
    assert made.status_code == 302
    assert Person.objects.get(registry_person=residents["near"]).project == SpecialProject.HUIGUI
    # The grid worker visiting the house: the neutral mark, nothing of the project.
    client.force_login(user_for_role(Role.GRID_WORKER, office=residents["office"]))
    page = client.get(reverse("registry:house", args=[residents["house"].pk]))
    body = page.content.decode()
    assert page.status_code == 200 and 'data-testid="needs-attention"' in body
    for secret in (str(SpecialProject.HUIGUI.label), "专干录入", "刑释"):
        assert secret not in body


def test_the_api_links_in_sight_refuses_out_of_sight_and_roles_that_may_not_enrol(api_client, residents):
    before = written()
    api_client.force_authenticate(user_for_role(Role.GRID_WORKER))
    assert api_client.post(API, payload(residents, id_number(10), link_registry=True)).status_code == 403
    api_client.force_authenticate(officer())
    far = api_client.post(API, payload(residents, id_number(20), link_registry=True))
    assert far.status_code == 400 and "link_registry" in far.json()
    assert written() == before
    made = api_client.post(API, payload(residents, id_number(10), link_registry=True))
    assert made.status_code == 201, made.content
    assert "registry_person" not in made.json()
    assert Person.objects.get(registry_person=residents["near"]).id_number == id_number(10)
