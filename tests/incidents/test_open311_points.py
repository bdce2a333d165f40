"""Open311 GeoReport v2, point by point (issue #13, items 4 and 5), as a client system and an
attacker would use it: every refusal is the spec's error list in the format the path asks for,
and writes nothing."""
# Parsing our own responses in tests; not untrusted input.
# ruff: noqa: S314

import logging
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from incidents.models import Incident, IncidentEvent, Open311Client, Open311Request
from incidents.open311_notify import tell_reporter
from incidents.services import editing, workflow
from incidents.services.open311 import set_public_note
from incidents.tasks import tell_open311_reporter
from tests.factories import user_for_role
from tests.incidents.conftest import point_in

pytestmark = pytest.mark.django_db
BASE = "/open311/v2/"
CONTACT = {
    "email": "wang.fang@example.cn",
    "phone": "13987654321",
    "first_name": "芳",
    "last_name": "王",
}
SENT: list[tuple] = []


class RecordingBackend:
    """A gateway stand-in that keeps what it was asked to send."""

    def send(self, *, contact, message):
        SENT.append((contact, message))


@pytest.fixture
def client_system(category):
    return Open311Client.objects.create(name="12345 热线")


@pytest.fixture
def body(client_system, home_grid):
    point = point_in(home_grid)
    return {
        "api_key": client_system.api_key,
        "service_code": "exposed-rubbish",
        "lat": point.y,
        "long": point.x,
        "description": "小区门口垃圾",
    }


def spec_error(response, fmt: str, code: int) -> str:
    """The spec's error body, in the format asked for; returns the description."""
    assert response.status_code == code, response.content
    if fmt == "json":
        assert response["Content-Type"] == "application/json"
        [err] = response.json()
        assert set(err) == {"code", "description"} and err["code"] == code
        assert isinstance(err["description"], str) and err["description"]
        return err["description"]
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    [err] = root.findall("error")
    assert root.tag == "errors" and {c.tag for c in err} == {"code", "description"}
    assert err.findtext("code") == str(code) and err.findtext("description")
    return err.findtext("description")


# --- item 4: malformed input is the spec's 4xx, never a 500 ----------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("field", ["description", "address_string", "service_code", "email", "lat"])
def test_a_nul_in_any_posted_field_is_a_spec_400_and_writes_nothing(client, body, fmt, field):
    body[field] = f"{body.get(field, '')}\x00垃圾"
    response = client.post(f"{BASE}requests.{fmt}", body)
    spec_error(response, fmt, 400)
    assert not Incident.objects.exists() and not Open311Request.objects.exists()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_nul_without_a_key_is_a_400_not_a_500(client, fmt):
    """No key at all: the bad characters are refused before anything else is looked up."""
    for field in ("description", "address_string", "service_code"):
        response = client.post(f"{BASE}requests.{fmt}", {field: "a\x00b"})
        spec_error(response, fmt, 400)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_odd_digits_in_ids_are_refused_in_the_spec_format(client, fmt):
    spec_error(client.get(f"{BASE}requests.{fmt}", {"service_request_id": "²"}), fmt, 400)
    spec_error(client.get(f"{BASE}requests.{fmt}", {"service_request_id": "1,٣"}), fmt, 400)
    spec_error(client.get(f"{BASE}requests.{fmt}", {"service_request_id": "9" * 30}), fmt, 400)
    spec_error(client.get(f"{BASE}requests/².{fmt}"), fmt, 404)
    spec_error(client.get(f"{BASE}requests/{'9' * 30}.{fmt}"), fmt, 404)
    spec_error(client.get(f"{BASE}services/a\nb/../x.{fmt}"), fmt, 404)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_impossible_dates_are_a_spec_400(client, fmt):
    for value in ("2026-13-45T00:00:00Z", "2026-02-30T25:61:00+08:00", "0000-00-00T00:00:00Z"):
        spec_error(client.get(f"{BASE}requests.{fmt}", {"start_date": value}), fmt, 400)
        spec_error(client.get(f"{BASE}requests.{fmt}", {"end_date": value}), fmt, 400)


def test_stored_control_characters_leave_valid_xml(client, body):
    """Text stored through another door with a control character still makes well-formed XML."""
    pk = client.post(f"{BASE}requests.json", body).json()[0]["service_request_id"]
    Incident.objects.filter(pk=pk).update(address="东关\x01街道\x1f")
    Incident.history.filter(id=pk).update(address="东关\x01街道\x1f")
    root = ET.fromstring(client.get(f"{BASE}requests/{pk}.xml").content)
    assert root.find("request").findtext("address") == "东关街道"


# --- item 5: GeoReport v2 point by point -----------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_service_code_is_404(client, body, fmt):
    body["service_code"] = "no-such-service"
    assert "no-such-service" in spec_error(client.post(f"{BASE}requests.{fmt}", body), fmt, 404)
    assert not Incident.objects.exists()


def test_description_is_optional(client, body):
    del body["description"]
    response = client.post(f"{BASE}requests.json", body)
    assert response.status_code == 201, response.content
    incident = Incident.objects.get(pk=response.json()[0]["service_request_id"])
    assert incident.description == incident.category.name


def test_an_address_only_request_waits_unplaced_in_the_clients_intake_grid(
    client, body, client_system, home_grid, dispatcher
):
    del body["lat"], body["long"]
    body["address_string"] = "西秀区东关街道金钟社区 3 栋"
    # A client without an intake grid: the platform cannot place an address, so it says so.
    spec_error(client.post(f"{BASE}requests.json", body), "json", 400)
    assert not Incident.objects.exists()
    client_system.intake_grid = home_grid
    client_system.save()
    response = client.post(f"{BASE}requests.json", body)
    assert response.status_code == 201, response.content
    pk = int(response.json()[0]["service_request_id"])
    incident = Incident.objects.get(pk=pk)
    assert incident.location is None and incident.grid == home_grid
    [row] = client.get(f"{BASE}requests/{pk}.json").json()
    assert row["lat"] is None and row["long"] is None and row["address"] == body["address_string"]
    # The command centre places it before dispatch; Open311 readers then see the point.
    point = point_in(home_grid)
    editing.update_incident(actor=dispatcher, incident_id=pk, location=point)
    [row] = client.get(f"{BASE}requests/{pk}.json").json()
    assert abs(row["lat"] - point.y) < 1e-9 and abs(row["long"] - point.x) < 1e-9
    # Half a point is not a point.
    spec_error(client.post(f"{BASE}requests.json", {**body, "lat": "26.2"}), "json", 400)


def test_services_say_realtime_and_posts_answer_with_the_id_at_once(client, body):
    assert {s["type"] for s in client.get(f"{BASE}services.json").json()} == {"realtime"}
    [row] = client.post(f"{BASE}requests.json", body).json()
    assert row["service_request_id"].isdigit() and "token" not in row


def test_date_windows_are_bounded_to_90_days(client, body):
    pk = client.post(f"{BASE}requests.json", body).json()[0]["service_request_id"]
    old = client.post(f"{BASE}requests.json", body).json()[0]["service_request_id"]
    Incident.objects.filter(pk=old).update(reported_at=timezone.now() - timedelta(days=100))
    now = timezone.now()

    def ids(**params):
        response = client.get(f"{BASE}requests.json", {k: v.isoformat() for k, v in params.items()})
        assert response.status_code == 200, response.content
        return {r["service_request_id"] for r in response.json()}

    assert ids() == {pk}  # by default the last 90 days
    assert ids(start_date=now - timedelta(days=101)) == {old}  # 90 days from the start
    assert ids(end_date=now - timedelta(days=50)) == {old}  # 90 days up to the end
    assert ids(start_date=now - timedelta(days=89), end_date=now + timedelta(days=1)) == {pk}
    for window in (
        {"start_date": now - timedelta(days=91), "end_date": now},
        {"start_date": now, "end_date": now - timedelta(days=1)},
        {"start_date": now - timedelta(days=3650), "end_date": now},
    ):
        query = {k: v.isoformat() for k, v in window.items()}
        spec_error(client.get(f"{BASE}requests.json", query), "json", 400)
        spec_error(client.get(f"{BASE}requests.xml", query), "xml", 400)


def test_contact_details_are_stored_encrypted_and_never_shown(client, body):
    response = client.post(f"{BASE}requests.json", {**body, **CONTACT})
    assert response.status_code == 201, response.content
    pk = int(response.json()[0]["service_request_id"])
    stored = Open311Request.objects.get(pk=pk)
    assert (stored.email, stored.phone, stored.first_name, stored.last_name) == tuple(CONTACT.values())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT email, phone, first_name, last_name FROM incidents_open311request WHERE incident_id = %s",
            [pk],
        )
        raw = cursor.fetchone()
    for column, plain in zip(raw, CONTACT.values(), strict=True):
        assert column and plain not in column and column.startswith("gAAAA")  # a Fernet token
    since = (timezone.now() - timedelta(days=1)).isoformat()
    for path in (f"requests/{pk}", "requests"):
        for fmt in ("json", "xml"):
            text = client.get(f"{BASE}{path}.{fmt}", {"start_date": since}).content.decode()
            assert str(pk) in text
            for plain in CONTACT.values():
                assert plain not in text, (path, fmt, plain)


@override_settings(OPEN311_REPORTER_BACKENDS=["tests.incidents.test_open311_points.RecordingBackend"])
def test_the_reporter_is_told_of_each_status_once_through_the_configured_backend(
    client, body, dispatcher, django_capture_on_commit_callbacks
):
    SENT.clear()
    pk = int(client.post(f"{BASE}requests.json", {**body, **CONTACT}).json()[0]["service_request_id"])
    with django_capture_on_commit_callbacks() as callbacks:
        workflow.register_incident(actor=dispatcher, incident_id=pk)
    assert len(callbacks) == 1  # the task is queued after the step commits
    assert tell_open311_reporter.apply(args=[pk]).get() is True  # the real task, run in-process
    assert tell_open311_reporter.apply(args=[pk]).get() is False  # a retry sends nothing again
    [(contact, message)] = SENT
    assert contact.email == CONTACT["email"] and contact.phone == CONTACT["phone"]
    assert contact.name == "芳 王" and f"#{pk}" in message and "已立案" in message
    workflow.dispatch_incident(actor=dispatcher, incident_id=pk)
    assert tell_reporter(incident_id=pk) is True and len(SENT) == 2 and "已派遣" in SENT[-1][1]


def test_reporters_without_contact_and_other_incidents_are_not_messaged(
    client, body, dispatcher, make_incident, django_capture_on_commit_callbacks
):
    pk = int(client.post(f"{BASE}requests.json", body).json()[0]["service_request_id"])
    worker_report = make_incident()
    with django_capture_on_commit_callbacks() as callbacks:
        workflow.register_incident(actor=dispatcher, incident_id=worker_report.pk)
    assert callbacks == []
    workflow.register_incident(actor=dispatcher, incident_id=pk)
    assert tell_reporter(incident_id=pk) is False


def test_the_default_backend_logs_with_the_contact_masked(client, body, dispatcher, caplog):
    pk = int(client.post(f"{BASE}requests.json", {**body, **CONTACT}).json()[0]["service_request_id"])
    workflow.register_incident(actor=dispatcher, incident_id=pk)
    with caplog.at_level(logging.INFO, logger="incidents.open311"):
        assert tell_reporter(incident_id=pk) is True
    [record] = [r for r in caplog.records if r.name == "incidents.open311"]
    text = record.getMessage()
    assert f"#{pk}" in text and CONTACT["phone"] not in text and CONTACT["email"] not in text


def test_public_status_notes_are_set_by_staff_apart_from_internal_notes(client, body, dispatcher):
    pk = int(client.post(f"{BASE}requests.json", body).json()[0]["service_request_id"])
    workflow.register_incident(actor=dispatcher, incident_id=pk, note="联系人张三 13812345678")

    def notes():
        [row] = client.get(f"{BASE}requests/{pk}.json").json()
        return row["status_notes"]

    assert notes() == "已立案"  # the status in words, never the timeline note
    staff = client_for(dispatcher)
    response = staff.post(reverse("incidents:public-note", args=[pk]), {"public_note": "已安排环卫明早清运"})
    assert response.status_code == 302
    assert notes() == "已安排环卫明早清运"
    assert IncidentEvent.objects.filter(
        incident_id=pk, actor=dispatcher, changes__public_note="已安排环卫明早清运"
    ).exists()
    page = staff.get(reverse("incidents:detail", args=[pk])).content.decode()
    assert 'data-action="public-note"' in page and "已安排环卫明早清运" in page
    workflow.dispatch_incident(actor=dispatcher, incident_id=pk)
    assert notes() == "已派遣"  # a note for an earlier status is not shown any more
    set_public_note(actor=dispatcher, incident_id=pk, note="")
    assert notes() == "已派遣"


def client_for(user):
    from django.test import Client

    c = Client()
    c.force_login(user)
    return c


def test_public_notes_are_a_command_with_a_rule(client, body, dispatcher, worker, make_incident):
    pk = int(client.post(f"{BASE}requests.json", body).json()[0]["service_request_id"])
    far_dispatcher = user_for_role(Role.DISPATCHER, region=_other_county())
    before = (Open311Request.objects.get(pk=pk).status_notes, Incident.objects.get(pk=pk).version)
    url = reverse("incidents:public-note", args=[pk])
    for actor, status in ((worker, 302), (far_dispatcher, 404)):  # refused with a message; unseen
        assert client_for(actor).post(url, {"public_note": "攻击"}).status_code == status
    with pytest.raises(Exception) as refused:
        set_public_note(actor=worker, incident_id=pk, note="攻击")
    assert refused.value.__class__.__name__ == "NotPermitted"
    for bad in ("长" * 301, "a\x01b"):
        client_for(dispatcher).post(url, {"public_note": bad})
    grid_report = make_incident()
    client_for(dispatcher).post(reverse("incidents:public-note", args=[grid_report.pk]), {"public_note": "x"})
    assert not Open311Request.objects.filter(pk=grid_report.pk).exists()
    assert (Open311Request.objects.get(pk=pk).status_notes, Incident.objects.get(pk=pk).version) == before


def _other_county():
    from grids.models import Region

    return Region.objects.get(code="520425")


@pytest.mark.parametrize(
    ("path", "method", "xml"),
    [
        ("/open311/v2/", "get", False),
        ("/open311/v2/discovery.json", "get", False),
        ("/open311/v2/tokens/abc.xml", "get", True),
        ("/open311/v2/requests/x/y", "post", False),
    ],
)
def test_any_other_open311_path_is_the_specs_404_in_its_format(client, path, method, xml):
    response = getattr(client, method)(path)
    assert response.status_code == 404
    if xml:
        assert response["Content-Type"].startswith("text/xml")
        assert b"<errors><error><code>404</code>" in response.content.replace(b"\n", b"").replace(b" ", b"")
    else:
        assert response.json() == [{"code": 404, "description": "no such resource"}]
