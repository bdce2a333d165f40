"""The auditors' registry access log: every reveal of a resident's data, in the auditor's
jurisdiction only, refused to other roles, at a query count that does not grow with the trail."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from grids.models import Region
from registry.services import records
from tests.factories import user_for_role
from tests.registry.conftest import make_house

pytestmark = pytest.mark.django_db


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_auditors_see_the_reveals_of_their_jurisdiction_only(client, worker, home_grid, other_grid):
    _house, (resident, *_rest) = make_house(worker, home_grid, people=1)
    admin = user_for_role(Role.ADMIN)
    _far, (far_resident,) = make_house(admin, other_grid, people=1, serial=3, name="远处组")
    records.resident_reveal(actor=worker, resident=resident, purpose="核实租户身份")
    records.resident_reveal(actor=admin, resident=far_resident, purpose="紫云核查")
    url = reverse("registry:reveals")
    client.force_login(worker)
    assert client.get(url).status_code == 403
    client.force_login(user_for_role(Role.AUDITOR))
    page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200 and "核实租户身份" in body and f"#{resident.pk}" in body
    assert "紫云核查" not in body and "张三" not in body  # nobody is named, only the record number
    client.force_login(user_for_role(Role.AUDITOR, region=Region.objects.get(code="520425")))
    assert "核实租户身份" not in client.get(url).content.decode()
    client.force_login(user_for_role(Role.AUDITOR))
    before = _queries(client, url)
    for _ in range(4):
        records.resident_reveal(actor=worker, resident=resident, purpose="再次核实")
    assert _queries(client, url) == before
