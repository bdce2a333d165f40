"""Open311 GeoReport v2, checked field by field against the specification."""
# Parsing our own responses in tests; not untrusted input.
# ruff: noqa: S314

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from incidents.models import Incident, IncidentCategory, Open311Client
from incidents.services import workflow
from tests.incidents.conftest import point_in

pytestmark = pytest.mark.django_db
BASE = "/open311/v2/"
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}


def request_body(api_key, grid, **extra):
    point = point_in(grid)
    return {
        "api_key": api_key,
        "service_code": "exposed-rubbish",
        "lat": point.y,
        "long": point.x,
        "description": "x",
        **extra,
    }


@pytest.fixture
def api_key(category):
    return Open311Client.objects.create(name="12345 热线").api_key


@pytest.fixture
def posted(client, api_key, home_grid):
    body = request_body(api_key, home_grid, description="小区门口垃圾", address_string="东关街道")
    response = client.post(f"{BASE}requests.json", body)
    assert response.status_code == 201, response.content
    return response.json()


def is_w3c_with_zone(value):
    moment = parse_datetime(value)
    return moment is not None and timezone.is_aware(moment)


def test_services_json_and_xml(client, category):
    rows = client.get(f"{BASE}services.json").json()
    assert len(rows) == IncidentCategory.objects.filter(is_active=True).count()
    rubbish = next(r for r in rows if r["service_code"] == "exposed-rubbish")
    assert set(rubbish) == SERVICE_FIELDS
    assert rubbish["metadata"] is False and rubbish["type"] == "realtime"
    assert rubbish["service_name"] == "暴露垃圾"
    assert all(isinstance(r[k], str) for r in rows for k in SERVICE_FIELDS - {"metadata"})
    xml = client.get(f"{BASE}services.xml")
    assert xml["Content-Type"].startswith("text/xml")
    root = ET.fromstring(xml.content)
    assert root.tag == "services" and len(root.findall("service")) == len(rows)
    first = root.find("service")
    assert {child.tag for child in first} == SERVICE_FIELDS and first.findtext("metadata") == "false"


def test_service_definition_and_unknown_code(client, category):
    assert client.get(f"{BASE}services/exposed-rubbish.json").json() == {
        "service_code": "exposed-rubbish",
        "attributes": [],
    }
    root = ET.fromstring(client.get(f"{BASE}services/exposed-rubbish.xml").content)
    assert root.tag == "service_definition" and root.findtext("service_code") == "exposed-rubbish"
    missing = client.get(f"{BASE}services/nope.json")
    assert missing.status_code == 404
    [body] = missing.json()
    assert body["code"] == 404 and isinstance(body["description"], str)
    xml = ET.fromstring(client.get(f"{BASE}services/nope.xml").content)
    assert xml.tag == "errors" and xml.find("error").findtext("code") == "404"


def test_post_creates_a_request_and_answers_the_spec_fields(posted, home_grid):
    assert set(posted[0]) == {"service_request_id", "service_notice", "account_id"}
    assert isinstance(posted[0]["service_request_id"], str)
    incident = Incident.objects.get(pk=int(posted[0]["service_request_id"]))
    assert incident.source == "open311" and incident.grid == home_grid and incident.reporter is None
    assert incident.open311_client.name == "12345 热线"


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"api_key": "wrong"}, 403),
        ({"api_key": ""}, 403),
        ({"service_code": "nope"}, 404),
        ({"service_code": ""}, 400),
        ({"lat": "north"}, 400),
        ({"long": None}, 400),
        ({"lat": 39.9, "long": 116.39}, 400),  # Beijing: outside Anshun
        ({"lat": None, "long": None}, 400),  # no point and no address
        ({"lat": None, "long": None, "address_string": "东关街道"}, 400),  # no intake grid
        ({"lat": "nan"}, 400),
        ({"email": "not-an-address"}, 400),
        ({"description": "长" * 4001}, 400),
    ],
)
def test_post_errors_use_the_spec_body_and_write_nothing(client, api_key, home_grid, change, status):
    body = {k: v for k, v in {**request_body(api_key, home_grid), **change}.items() if v is not None}
    response = client.post(f"{BASE}requests.json", body)
    assert response.status_code == status
    [err] = response.json()
    assert set(err) == {"code", "description"} and err["code"] == status and err["description"]
    assert not Incident.objects.exists()


def test_a_revoked_key_is_refused(client, api_key, home_grid):
    Open311Client.objects.update(is_active=False)
    assert client.post(f"{BASE}requests.xml", request_body(api_key, home_grid)).status_code == 403


def test_request_by_id_field_by_field(client, posted, home_grid):
    pk = posted[0]["service_request_id"]
    [row] = client.get(f"{BASE}requests/{pk}.json").json()
    assert set(row) == REQUEST_FIELDS
    point = point_in(home_grid)
    assert row["service_request_id"] == pk and row["status"] == "open"
    assert row["service_code"] == "exposed-rubbish" and row["service_name"] == "暴露垃圾"
    assert row["description"] == "小区门口垃圾" and row["address"] == "东关街道"
    assert isinstance(row["lat"], float) and isinstance(row["long"], float)
    assert abs(row["lat"] - point.y) < 1e-9 and abs(row["long"] - point.x) < 1e-9
    assert is_w3c_with_zone(row["requested_datetime"]) and is_w3c_with_zone(row["updated_datetime"])
    assert row["expected_datetime"] is None and row["status_notes"]
    root = ET.fromstring(client.get(f"{BASE}requests/{pk}.xml").content)
    request = root.find("request")
    assert root.tag == "service_requests" and {c.tag for c in request} == REQUEST_FIELDS
    assert request.findtext("service_request_id") == pk and request.findtext("status") == "open"
    missing = client.get(f"{BASE}requests/999999.json")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404


def test_status_follows_the_workflow_with_public_notes_only(client, posted, dispatcher, worker, home_office):
    from accounts.roles import Role
    from tests.factories import user_for_role

    pk = int(posted[0]["service_request_id"])
    workflow.register_incident(actor=dispatcher, incident_id=pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=pk)
    workflow.take_incident(actor=worker, incident_id=pk)
    workflow.report_handled(actor=worker, incident_id=pk, note="已清运")
    head = user_for_role(Role.GRID_OFFICE_HEAD, office=home_office)
    workflow.verify_incident(actor=head, incident_id=pk)
    [row] = client.get(f"{BASE}requests/{pk}.json").json()
    assert row["status"] == "open" and row["status_notes"] == "已核查"  # the status, not the handler's note
    assert row["agency_responsible"] == home_office.name and is_w3c_with_zone(row["expected_datetime"])
    workflow.close_incident(actor=dispatcher, incident_id=pk, note="结案：已清理完毕")
    [row] = client.get(f"{BASE}requests/{pk}.json").json()
    assert row["status"] == "closed" and row["status_notes"] == "已结案"


PHONE = "13812345678"
INTERNAL_NOTE = f"联系人张三 {PHONE}，其子有吸毒史，勿对外"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def _public_texts(client, path_json: str) -> list[str]:
    """The JSON and the XML answers of one Open311 read, as text."""
    json_body = client.get(path_json)
    xml_body = client.get(path_json.replace(".json", ".xml"))
    assert json_body.status_code == 200 and xml_body.status_code == 200
    return [json_body.content.decode(), xml_body.content.decode()]


def test_anonymous_readers_never_see_internal_notes_photos_or_edits(
    client, posted, dispatcher, worker, home_office
):
    """A dispatcher's note with a name and phone number, a handler's photo and a later internal edit
    of the description: none of them reaches an anonymous Open311 reader, in JSON or in XML."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from incidents.models import IncidentAttachment
    from incidents.services import editing

    pk = int(posted[0]["service_request_id"])
    workflow.register_incident(actor=dispatcher, incident_id=pk, note=INTERNAL_NOTE)
    workflow.dispatch_incident(actor=dispatcher, incident_id=pk, note=f"请联系 {PHONE}")
    workflow.take_incident(actor=worker, incident_id=pk)
    photo = SimpleUploadedFile("张三家门口.jpg", JPEG, content_type="image/jpeg")
    workflow.report_handled(actor=worker, incident_id=pk, note=INTERNAL_NOTE, attachments=[photo])
    attachment = IncidentAttachment.objects.get(incident_id=pk)
    incident = Incident.objects.get(pk=pk)
    editing.update_incident(actor=dispatcher, incident_id=pk, description=f"内部补充：{PHONE}")
    assert Incident.objects.get(pk=pk).description == f"内部补充：{PHONE}"

    start = "start_date=" + (timezone.now() - timedelta(days=1)).isoformat().replace("+", "%2B")
    for path in (
        f"{BASE}requests/{pk}.json",
        f"{BASE}requests.json?{start}",
        f"{BASE}requests.json?service_request_id={pk}",
        f"{BASE}requests.json?status=open&{start}",
    ):
        for text in _public_texts(client, path):
            assert PHONE not in text and "张三" not in text and "勿对外" not in text, (path, text)
            assert attachment.file.name not in text and "/media/" not in text and ".jpg" not in text
            assert f"/{attachment.pk}/" not in text
    [row] = client.get(f"{BASE}requests/{pk}.json").json()
    assert set(row) == REQUEST_FIELDS and row["media_url"] == ""
    assert row["description"] == "小区门口垃圾"  # as the citizen reported it
    assert row["status_notes"] == "已处置" and incident.status == Incident.Status.HANDLED
    root = ET.fromstring(client.get(f"{BASE}requests/{pk}.xml").content)
    request = root.find("request")
    assert {c.tag for c in request} == REQUEST_FIELDS
    assert request.findtext("media_url") in ("", None) and request.findtext("status_notes") == "已处置"


def test_request_filters(client, api_key, home_grid, posted, make_incident):
    make_incident()  # a grid worker's report is never shown to Open311 readers
    point = point_in(home_grid)
    second = client.post(
        f"{BASE}requests.json",
        {
            "api_key": api_key,
            "service_code": "fire-hazard",
            "lat": point.y,
            "long": point.x,
            "description": "电线",
        },
    ).json()[0]["service_request_id"]
    first = posted[0]["service_request_id"]

    def ids(**params):
        response = client.get(f"{BASE}requests.json", params)
        assert response.status_code == 200, response.content
        return sorted(r["service_request_id"] for r in response.json())

    assert ids() == sorted([first, second])
    assert ids(service_request_id=f"{first},{second}") == sorted([first, second])
    assert ids(service_code="fire-hazard") == [second]
    assert ids(service_code="fire-hazard,exposed-rubbish") == sorted([first, second])
    assert ids(status="closed") == [] and ids(status="open,closed") == sorted([first, second])
    assert ids(start_date="2000-01-01T00:00:00+08:00", end_date="2000-03-31T00:00:00+08:00") == []
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(start_date=yesterday) == sorted([first, second])
    assert ids(end_date=timezone.now().isoformat()) == sorted([first, second])
    for bad in ({"start_date": "yesterday"}, {"start_date": "2026-01-01T00:00:00"}, {"status": "pending"}):
        response = client.get(f"{BASE}requests.json", bad)
        assert response.status_code == 400 and response.json()[0]["code"] == 400
    root = ET.fromstring(client.get(f"{BASE}requests.xml", {"status": "pending"}).content)
    assert root.tag == "errors" and root.find("error").findtext("code") == "400"
