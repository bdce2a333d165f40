"""The registry's commands, as an attacker would try them: codes, placement, scope, ID numbers,
encryption at rest, visits with corrections and retries, and the neutral "needs attention" mark."""

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from accounts.roles import Role, SpecialProject
from anshun.commands import Conflict, NotFound, NotPermitted
from incidents.models import Incident, IncidentCategory
from registry import selectors
from registry.models import Address, House, HouseholdVisit, Resident, RevealRecord
from registry.services import records
from registry.services.visits import VisitInput, house_visit
from special_groups.models import Person
from tests.factories import user_for_role
from tests.registry.conftest import id_number, make_house, point_in

pytestmark = pytest.mark.django_db


def test_address_codes_are_the_village_code_and_a_number_that_never_changes(worker, home_grid):
    village = home_grid.village
    road = records.address_create(actor=worker, village=village, level=Address.Level.ROAD, name="一组")
    other = records.address_create(actor=worker, village=village, level=Address.Level.ROAD, name="二组")
    assert road.code == f"{village.code}000001" and other.code == f"{village.code}000002"
    records.address_update(actor=worker, address=road, name="三组", location=point_in(home_grid))
    road.refresh_from_db()
    assert road.code == f"{village.code}000001" and road.full_name.endswith("三组") and road.grid == home_grid
    other.delete()
    third = records.address_create(actor=worker, village=village, level=Address.Level.ROAD, name="四组")
    assert third.code == f"{village.code}000003"  # a deleted number is never given again


def test_an_address_is_placed_in_its_grid_by_its_point_and_only_in_its_own_village(
    worker, home_grid, other_grid
):
    village = home_grid.village
    road = records.address_create(actor=worker, village=village, level=Address.Level.ROAD, name="一组")
    building = records.address_create(
        actor=worker,
        village=village,
        level=Address.Level.BUILDING,
        name="1号",
        parent=road,
        location=point_in(home_grid),
    )
    assert building.grid == home_grid
    with pytest.raises(ValidationError) as refused:
        records.address_create(
            actor=worker,
            village=village,
            level=Address.Level.BUILDING,
            name="2号",
            location=point_in(other_grid),
        )
    assert "location" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        records.address_create(
            actor=worker, village=village, level=Address.Level.ROAD, name="x", parent=building
        )
    assert "level" in refused.value.message_dict
    assert Address.objects.count() == 2


def test_out_of_scope_and_unpermitted_actors_are_refused_and_nothing_is_written(
    worker, home_grid, other_grid, admin
):
    house, residents = make_house(worker, home_grid)
    far_house, _ = make_house(admin, other_grid, serial=5)
    data = VisitInput(visited_on=timezone.localdate(), phones={residents[0].pk: "13812345678"})
    with pytest.raises(NotFound):
        house_visit(actor=worker, house=far_house, data=data)
    with pytest.raises(NotPermitted):
        house_visit(actor=user_for_role(Role.TOWNSHIP_OFFICIAL), house=house, data=data)
    with pytest.raises(NotPermitted):
        records.resident_reveal(
            actor=user_for_role(Role.CASE_OFFICER), resident=residents[0], purpose="核实身份信息"
        )
    with pytest.raises(ValidationError) as refused:  # a place out of sight is a field error
        records.address_create(
            actor=worker, village=other_grid.village, level=Address.Level.ROAD, name="一组"
        )
    assert "village" in refused.value.message_dict
    assert not HouseholdVisit.objects.exists() and not RevealRecord.objects.exists()
    residents[0].refresh_from_db()
    assert residents[0].phone == "13900000000"


def test_id_numbers_are_encrypted_and_found_by_the_keyed_hash_in_any_spelling(worker, home_grid):
    house, residents = make_house(worker, home_grid, people=1)
    number = id_number(0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, id_number, phone FROM registry_resident WHERE id = %s", [residents[0].pk]
        )
        raw = cursor.fetchone()
    assert all(value.startswith("gAAAA") for value in raw) and number not in "".join(raw)
    full_width = " ".join(number[i : i + 6] for i in range(0, 18, 6)).translate(
        str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    )
    assert list(selectors.resident_by_id_number(actor=worker, id_number=full_width)) == residents
    with pytest.raises(ValidationError) as refused:  # the same person twice, typed another way
        records.resident_register(
            actor=worker, address=house.address, name="张三", id_number=full_width.lower()
        )
    assert "id_number" in refused.value.message_dict
    outsider = user_for_role(Role.GRID_WORKER, office=home_grid.office.__class__.objects.exclude(
        pk=home_grid.office_id).filter(seat__code__startswith="520425").first())  # fmt: skip
    assert list(selectors.resident_by_id_number(actor=outsider, id_number=number)) == []


def test_a_visit_applies_its_corrections_once_and_a_retry_is_the_same_visit(worker, home_grid):
    house, (stays, leaves) = make_house(worker, home_grid)
    client = uuid.uuid4()
    category = IncidentCategory.objects.filter(is_active=True).order_by("code").first()
    data = VisitInput(
        visited_on=timezone.localdate(),
        moved_out=[leaves.pk],
        phones={stays.pk: "１３８１２３４５６７８"},
        new_residents=[{"name": "李四", "id_number": id_number(77), "kind": "floating", "phone": ""}],
        incident={"category": category, "description": "楼道堆放杂物"},
    )
    visit, created = house_visit(actor=worker, house=house, data=data, client_uuid=client)
    again, created_again = house_visit(actor=worker, house=house, data=data, client_uuid=client)
    assert created and not created_again and again.pk == visit.pk
    assert HouseholdVisit.objects.count() == 1 and Incident.objects.count() == 1
    assert visit.changes == {"confirmed": 1, "moved_out": 1, "phones": 1, "new": 1}
    stays.refresh_from_db()
    leaves.refresh_from_db()
    assert stays.phone == "13812345678" and leaves.moved_out_on == timezone.localdate()
    assert Resident.objects.filter(house=house, moved_out_on__isnull=True).count() == 2
    house.refresh_from_db()
    assert house.last_visited_on == timezone.localdate()
    assert visit.incident.grid == home_grid and visit.incident.reporter == worker
    with pytest.raises(Conflict):  # the same identity with another visit
        house_visit(
            actor=worker, house=house, data=VisitInput(visited_on=timezone.localdate()), client_uuid=client
        )


def test_a_visit_naming_someone_elses_resident_changes_nothing(worker, home_grid):
    house, residents = make_house(worker, home_grid)
    _other, (elsewhere, *_rest) = make_house(worker, home_grid, serial=3, name="二组")
    bad = VisitInput(visited_on=timezone.localdate(), moved_out=[residents[0].pk, elsewhere.pk])
    with pytest.raises(ValidationError):
        house_visit(actor=worker, house=house, data=bad)
    future = VisitInput(visited_on=timezone.localdate() + timedelta(days=2))
    with pytest.raises(ValidationError):
        house_visit(actor=worker, house=house, data=future)
    assert not HouseholdVisit.objects.exists()
    assert not Resident.objects.filter(moved_out_on__isnull=False).exists()


def test_a_visitor_sees_a_neutral_mark_never_the_project(worker, home_grid, client):
    house, (marked, plain) = make_house(worker, home_grid)
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING)
    from special_groups.services import person_enroll

    enrollment = person_enroll(
        actor=officer, name="王五", id_number=id_number(99), region=home_grid.village, risk_grade=2
    )
    Person.objects.filter(pk=enrollment.person_id).update(registry_person=marked)
    rows = {r.id: r for r in selectors.residents_of(actor=worker, house=house)}
    assert rows[marked.pk].needs_attention and not rows[plain.pk].needs_attention
    client.force_login(worker)
    page = client.get(f"/registry/houses/{house.pk}/").content.decode()
    assert page.count('data-testid="needs-attention"') == 1
    for secret in ("anning", "安宁", "Peace", "special-groups/", "王五", "risk"):
        assert secret not in page
    assert "张*" in page and "张三0" not in page  # masked


def test_revealing_full_data_needs_a_purpose_and_is_logged(worker, home_grid, client):
    house, (resident, _) = make_house(worker, home_grid)
    client.force_login(worker)
    refused = client.post(f"/registry/houses/{house.pk}/", {"resident": resident.pk, "purpose": "x"})
    assert refused.status_code == 400 and not RevealRecord.objects.exists()
    shown = client.post(f"/registry/houses/{house.pk}/", {"resident": resident.pk, "purpose": "核实联系电话"})
    assert shown.status_code == 200 and id_number(0) in shown.content.decode()
    record = RevealRecord.objects.get()
    assert record.actor == worker and record.resident == resident and record.purpose == "核实联系电话"


def test_house_list_scope(worker, home_grid, other_grid, admin):
    make_house(worker, home_grid)
    make_house(admin, other_grid, serial=5)
    assert set(House.objects.visible_to(worker).values_list("village_id", flat=True)) == {
        home_grid.village_id
    }
    county = user_for_role(Role.COUNTY_OFFICIAL)  # 西秀区
    assert House.objects.visible_to(county).count() == 1
