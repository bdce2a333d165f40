"""The registry's pages and endpoints: query counts constant in the data, scope, imports with
every bad row reported and nothing written, the visit API's idempotency, and the coverage export."""

import io
import json
import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from accounts.roles import Role
from registry.models import Address, House, HouseholdVisit, RegistryImport, Resident
from registry.services import imports, records
from registry.services.visits import VisitInput, house_visit
from tests.factories import user_for_role
from tests.registry.conftest import id_number, make_house

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    return len(captured)


def test_every_list_page_and_endpoint_costs_the_same_for_more_rows(worker, home_grid, client):
    house, residents = make_house(worker, home_grid)
    house_visit(actor=worker, house=house, data=VisitInput(visited_on=timezone.localdate()))
    unit = records.unit_register(
        actor=worker,
        address=house.address,
        kind="school",
        name="一小",
        contact_name="校长",
        campus_note="网吧",
    )
    head = user_for_role(Role.GRID_OFFICE_HEAD, office=worker.grid_office)
    job = RegistryImport.objects.create(
        kind="houses", requester=head, region=home_grid.village, scope="x", file_name="a.csv"
    )
    urls = [
        "/registry/",
        f"/registry/?id_number={id_number(0)}",
        f"/registry/houses/{house.pk}/",
        f"/registry/houses/{house.pk}/visit/",
        "/registry/plan/",
        "/registry/units/",
        f"/registry/units/{unit.pk}/visit/",
        f"/registry/plan/?grid={home_grid.code}",
        "/registry/coverage/",
        "/registry/coverage/?level=office",
        "/registry/coverage/?level=grid",
        "/registry/coverage/?format=json",
        "/registry/coverage/?level=grid&export=csv",
        "/registry/import/",
        f"/registry/import/{job.pk}/",
        f"/registry/import/{job.pk}/?format=json",
        "/api/registry/visits/",
    ]
    client.force_login(head)
    client.get("/registry/")  # warm the session and caches
    before = {url: _queries(client, url) for url in urls}
    for serial in range(1, 5):
        more, _people = make_house(worker, home_grid, people=3, serial=serial, name=f"{serial}组")
        house_visit(actor=worker, house=more, data=VisitInput(visited_on=timezone.localdate()))
        house_visit(
            actor=worker, house=house, data=VisitInput(visited_on=timezone.localdate(), note=f"{serial}")
        )
        Resident.objects.filter(pk=_people[0].pk).update(house=house)  # more residents in the first house
        records.unit_register(actor=worker, address=more.address, kind="firm", name=f"公司{serial}")
        RegistryImport.objects.create(
            kind="houses", requester=head, region=home_grid.village, scope="x", file_name=f"{serial}.csv"
        )
    after = {url: _queries(client, url) for url in urls}
    assert after == before
    assert max(after.values()) <= 14


def test_pages_refuse_roles_without_the_capability_and_hide_other_villages(
    worker, home_grid, other_grid, admin, client
):
    far, _ = make_house(admin, other_grid, serial=7)
    client.force_login(worker)
    assert client.get(f"/registry/houses/{far.pk}/").status_code == 404
    assert client.get(f"/registry/houses/{far.pk}/visit/").status_code == 404
    assert client.post(f"/registry/houses/{far.pk}/visit/", {"visited_on": "2020-01-01"}).status_code == 404
    assert client.get("/registry/import/").status_code == 403  # grid workers do not import
    client.force_login(user_for_role(Role.LAWYER))
    assert client.get("/registry/").status_code == 403
    assert client.get("/registry/coverage/").status_code == 403
    county = user_for_role(Role.COUNTY_OFFICIAL, region=other_grid.village.parent.parent)
    client.force_login(county)
    assert client.get(f"/registry/houses/{far.pk}/visit/").status_code == 403  # reads, never records
    assert not HouseholdVisit.objects.exists()


def test_a_unit_is_visited_through_its_page_and_the_masked_list_shows_its_campus_note(
    worker, home_grid, client
):
    house, _ = make_house(worker, home_grid)
    unit = records.unit_register(
        actor=worker,
        address=house.address,
        kind="school",
        name="一小",
        contact_name="王校长",
        campus_note="网吧一处",
    )
    client.force_login(worker)
    listed = client.get("/registry/units/").content.decode()
    assert "网吧一处" in listed and "王**" in listed and "王校长" not in listed
    answer = client.post(
        f"/registry/units/{unit.pk}/visit/", {"visited_on": timezone.localdate().isoformat()}
    )
    assert answer.status_code == 302
    unit.refresh_from_db()
    assert unit.last_visited_on == timezone.localdate() and HouseholdVisit.objects.get().unit == unit
    today = timezone.localdate().isoformat()
    refused = client.post(f"/registry/units/{unit.pk}/visit/", {"visited_on": today, "moved_out": "1"})
    assert refused.status_code == 400 and HouseholdVisit.objects.count() == 1


def test_the_visit_api_records_once_however_often_the_phone_retries(worker, home_grid):
    house, (stays, leaves) = make_house(worker, home_grid)
    api = APIClient()
    api.force_authenticate(worker)
    body = {
        "house": house.pk,
        "client_uuid": str(uuid.uuid4()),
        "visited_on": timezone.localdate().isoformat(),
        "moved_out": [leaves.pk],
        "phones": {str(stays.pk): "13811112222"},
        "new_residents": [{"name": "赵七", "id_number": id_number(55), "kind": "floating", "phone": ""}],
    }
    first = api.post("/api/registry/visits/", body, format="json")
    again = api.post("/api/registry/visits/", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
    assert HouseholdVisit.objects.count() == 1 and Resident.objects.filter(house=house).count() == 3
    changed = api.post("/api/registry/visits/", {**body, "note": "另一次"}, format="json")
    assert changed.status_code == 409
    for bad in (
        {**body, "client_uuid": "not-a-uuid"},
        {**body, "client_uuid": str(uuid.uuid4()), "visited_on": "２０２６-01-01"},
        {**body, "client_uuid": str(uuid.uuid4()), "moved_out": ["x"]},
        {**body, "client_uuid": str(uuid.uuid4()), "phones": {"abc": "1"}},
        {**body, "client_uuid": str(uuid.uuid4()), "new_residents": "x"},
        {**body, "client_uuid": str(uuid.uuid4()), "incident_category": "no-such"},
        {**body, "client_uuid": str(uuid.uuid4()), "house": None},
        {
            **body,
            "client_uuid": str(uuid.uuid4()),
            "incident_description": "a\x00b",
            "incident_category": "x",
        },
        {**body, "client_uuid": str(uuid.uuid4()), "new_residents": [{"name": "\x00", "id_number": "1"}]},
    ):
        assert api.post("/api/registry/visits/", bad, format="json").status_code == 400, bad
    assert HouseholdVisit.objects.count() == 1


def _csv(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("rows.csv", text.encode("utf-8"), content_type="text/csv")


def test_an_import_with_a_bad_row_writes_nothing_and_reports_every_bad_row(home_grid, worker):
    head = user_for_role(Role.GRID_OFFICE_HEAD, office=worker.grid_office)
    village = home_grid.village
    rows = (
        "ref,village,parent,level,name\n"
        f"r1,{village.code},,road,一组\n"
        f"r2,{village.code},r1,building,1号\n"
        f"r3,520425100200,,road,外村\n"  # another county: out of sight
        f"r4,{village.code},r2,road,倒挂\n"  # a road under a building
        f"r2,{village.code},r1,building,2号\n"  # a repeated ref
    )
    job = imports.import_start(actor=head, kind="addresses", upload=_csv(rows))
    assert imports.run_import(import_id=job.pk) == RegistryImport.Status.REJECTED
    job.refresh_from_db()
    assert [re.search(r"\d+", e).group() for e in job.errors] == ["3", "4", "5"]
    assert not Address.objects.exists()
    good = imports.import_start(
        actor=head, kind="addresses", upload=_csv("\n".join(rows.splitlines()[:3]) + "\n")
    )
    assert imports.run_import(import_id=good.pk) == RegistryImport.Status.DONE
    assert imports.run_import(import_id=good.pk) == RegistryImport.Status.DONE  # a redelivery adds nothing
    building = Address.objects.get(level="building")
    assert building.parent.code == f"{village.code}000001" and building.code == f"{village.code}000002"
    houses = imports.import_start(
        actor=head, kind="houses", upload=_csv(f"address,use\n{building.code},租\n")
    )
    assert imports.run_import(import_id=houses.pk) == RegistryImport.Status.REJECTED
    # Chinese headers and the Chinese label of a use are read too.
    houses = imports.import_start(
        actor=head, kind="houses", upload=_csv(f"地址,用途\n{building.code},出租（出租屋）\n")
    )
    assert imports.run_import(import_id=houses.pk) == RegistryImport.Status.DONE
    people = (
        "address,kind,name,id_number,phone\n"
        f"{building.code},floating,李四,{id_number(1)},13800001111\n"
        f"{building.code},floating,王五,{id_number(1)},\n"  # the same number twice in one file
        f"{building.code},registered,赵六,123,\n"
    )
    job = imports.import_start(actor=head, kind="residents", upload=_csv(people))
    assert imports.run_import(import_id=job.pk) == RegistryImport.Status.REJECTED
    job.refresh_from_db()
    assert len(job.errors) == 2 and not Resident.objects.exists()
    assert House.objects.get().use == "rented"


def test_an_address_tree_is_written_a_level_at_a_time_with_its_parents_and_codes(home_grid, worker):
    """Four levels under an address that exists already, rows of every level interleaved: each
    row gets its parent and a code in file order, in as many INSERTs as the tree is deep."""
    head = user_for_role(Role.GRID_OFFICE_HEAD, office=worker.grid_office)
    village = home_grid.village
    road = records.address_create(actor=head, village=village, level=Address.Level.ROAD, name="一组")
    rows = ["ref,village,parent,level,name"]
    for b in range(3):
        rows.append(f"b{b},{village.code},{road.code},building,{b + 1}号")
        for u in range(2):
            rows.append(f"b{b}u{u},{village.code},b{b},unit,{u + 1}单元")
            rows.append(f"b{b}u{u}r,{village.code},b{b}u{u},room,{u + 1}01室")
    job = imports.import_start(actor=head, kind="addresses", upload=_csv("\n".join(rows) + "\n"))
    with CaptureQueriesContext(connection) as queries:
        assert imports.run_import(import_id=job.pk) == RegistryImport.Status.DONE
    insert = 'INSERT INTO "registry_address"'
    assert len([q for q in queries.captured_queries if q["sql"].startswith(insert)]) == 3  # by level
    rooms = Address.objects.filter(level="room").select_related("parent__parent__parent")
    assert rooms.count() == 6 and all(r.parent.parent.parent == road for r in rooms)
    codes = list(Address.objects.filter(village=village).order_by("code").values_list("code", flat=True))
    assert codes == [f"{village.code}{n:06d}" for n in range(1, 17)]
    # Codes follow the file's order: the first building is the first code after the road's.
    first = Address.objects.get(level="building", name="1号")
    assert first.code == f"{village.code}000002" and first.parent == road


def test_residents_imported_before_their_house_move_into_it_when_the_house_is_imported(home_grid, worker):
    head = user_for_role(Role.GRID_OFFICE_HEAD, office=worker.grid_office)
    village = home_grid.village
    addresses = (
        f"ref,village,parent,level,name\nr1,{village.code},,road,三组\nr2,{village.code},r1,building,5号\n"
    )
    job = imports.import_start(actor=head, kind="addresses", upload=_csv(addresses))
    assert imports.run_import(import_id=job.pk) == RegistryImport.Status.DONE
    building = Address.objects.get(level="building")
    people = (
        "address,kind,name,id_number,phone\n"
        f"{building.code},floating,李四,{id_number(1)},13800001111\n"
        f"{building.code},floating,王五,{id_number(2)},\n"
    )
    job = imports.import_start(actor=head, kind="residents", upload=_csv(people))
    assert imports.run_import(import_id=job.pk) == RegistryImport.Status.DONE
    assert Resident.objects.filter(house__isnull=True).count() == 2
    job = imports.import_start(actor=head, kind="houses", upload=_csv(f"address,use\n{building.code},自住\n"))
    assert imports.run_import(import_id=job.pk) == RegistryImport.Status.DONE
    house = House.objects.get()
    assert list(Resident.objects.values_list("house_id", flat=True)) == [house.pk, house.pk]


def test_the_import_page_starts_a_job_and_refuses_a_bad_file(home_grid, worker, client):
    head = user_for_role(Role.GRID_OFFICE_HEAD, office=worker.grid_office)
    client.force_login(head)
    bad = client.post(
        "/registry/import/", {"kind": "units", "file": SimpleUploadedFile("x.xlsx", b"not a zip")}
    )
    assert bad.status_code == 400 and not RegistryImport.objects.exists()
    nul = client.post(
        "/registry/import/", {"kind": "units", "file": _csv("address,kind,name\nA,school,一\x00小\n")}
    )
    assert nul.status_code == 400 and not RegistryImport.objects.exists()
    answer = client.post(
        "/registry/import/", {"kind": "units", "file": _csv("address,kind,name\nnope,school,一小\n")}
    )
    job = RegistryImport.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/registry/import/{job.pk}/"
    assert job.requester == head and job.rows_total == 1
    progress = json.loads(client.get(f"/registry/import/{job.pk}/?format=json").content)
    assert progress["state"] == "pending" and progress["percent"] == 0
    client.force_login(user_for_role(Role.GRID_OFFICE_HEAD, office=worker.grid_office))
    assert client.get(f"/registry/import/{job.pk}/").status_code == 404  # only its requester


def test_coverage_export_is_a_spreadsheet_of_the_table(worker, home_grid, client):
    house, _ = make_house(worker, home_grid)
    make_house(worker, home_grid, serial=2, name="二组")
    house_visit(actor=worker, house=house, data=VisitInput(visited_on=timezone.localdate()))
    client.force_login(user_for_role(Role.TOWNSHIP_OFFICIAL))
    response = client.get("/registry/coverage/?level=grid&export=xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == home_grid.code and rows[1][2:] == (2, 1, 50.0)
    page = client.get("/registry/coverage/").content.decode()
    assert "1 / 2 (50.0%)" in page
