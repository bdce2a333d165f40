"""The registry in the admin is shown only: no add, change or delete by any path, and no
resident's, owner's, contact's or visit note's data in full (that is a purpose-logged reveal)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from registry.models import House, HouseholdVisit, Resident, RevealRecord
from registry.services import records
from registry.services.visits import VisitInput, house_visit
from tests.registry.conftest import make_house

pytestmark = pytest.mark.django_db

MODELS = (
    "address",
    "house",
    "resident",
    "tenancy",
    "unit",
    "householdvisit",
    "revealrecord",
    "registryimport",
)


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_admin_shows_masked_and_writes_nothing(client, admin, worker, home_grid):
    house, (resident, _other) = make_house(worker, home_grid)
    house_visit(
        actor=worker, house=house, data=VisitInput(visited_on=timezone.localdate(), note="门口有积水")
    )
    records.resident_reveal(actor=worker, resident=resident, purpose="核实租户身份")
    client.force_login(admin)
    for model in MODELS:
        assert client.get(reverse(f"admin:registry_{model}_changelist")).status_code == 200, model
        assert client.get(reverse(f"admin:registry_{model}_add")).status_code == 403, model
    shown = (
        "".join(
            client.get(reverse(f"admin:registry_{name}_change", args=[pk])).content.decode()
            for name, pk in (
                ("resident", resident.pk),
                ("house", house.pk),
                ("householdvisit", HouseholdVisit.objects.get().pk),
                ("revealrecord", RevealRecord.objects.get().pk),
            )
        )
        + client.get(reverse("admin:registry_resident_changelist")).content.decode()
    )
    for secret in (resident.name, resident.id_number, resident.phone, "门口有积水"):
        assert secret not in shown, secret
    before = (Resident.objects.count(), House.objects.count(), resident.name)
    change = client.post(reverse("admin:registry_resident_change", args=[resident.pk]), {"kind": "floating"})
    delete = client.post(reverse("admin:registry_resident_delete", args=[resident.pk]), {"post": "yes"})
    assert change.status_code == 403 and delete.status_code == 403
    resident.refresh_from_db()
    assert (Resident.objects.count(), House.objects.count(), resident.name) == before
    changelist = reverse("admin:registry_resident_changelist")
    queries = _count(client, changelist)
    make_house(worker, home_grid, people=3, serial=5, name="二组")
    assert _count(client, changelist) == queries
