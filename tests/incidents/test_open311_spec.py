"""Every Open311 answer checked against the GeoReport v2 specification's field names and types,
in JSON and in XML: services, a service definition, the request list, one request, a POST, and
the error bodies. The tables below are the spec's, not read from our code."""
# Parsing our own responses in tests; not untrusted input.
# ruff: noqa: S314

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from incidents.models import Open311Client
from incidents.services import workflow
from tests.incidents.conftest import point_in

pytestmark = pytest.mark.django_db
BASE = "/open311/v2/"


def w3c(value) -> bool:
    moment = parse_datetime(value) if isinstance(value, str) else None
    return moment is not None and timezone.is_aware(moment)


def string(value) -> bool:
    return isinstance(value, str)


def number_or_null(value) -> bool:
    return value is None or (isinstance(value, float) and not isinstance(value, bool))


def optional(check):
    return lambda value: value is None or check(value)


# name: (type check on the JSON value, type check on the XML text or None for an empty element)
SERVICE = {
    "service_code": string,
    "service_name": string,
    "description": string,
    "metadata": lambda v: isinstance(v, bool),
    "type": lambda v: v in ("realtime", "batch", "blackbox"),
    "keywords": string,
    "group": string,
}
SERVICE_XML = {**{k: string for k in SERVICE}, "metadata": lambda v: v in ("true", "false")}
REQUEST = {
    "service_request_id": lambda v: isinstance(v, str) and v.isascii() and v.isdigit(),
    "status": lambda v: v in ("open", "closed"),
    "status_notes": string,
    "service_name": string,
    "service_code": string,
    "description": string,
    "agency_responsible": string,
    "service_notice": string,
    "requested_datetime": w3c,
    "updated_datetime": optional(w3c),
    "expected_datetime": optional(w3c),
    "address": string,
    "address_id": string,
    "zipcode": string,
    "lat": number_or_null,
    "long": number_or_null,
    "media_url": string,
}


def _float_text(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


REQUEST_XML = {
    **{k: optional(string) for k in REQUEST},
    "service_request_id": REQUEST["service_request_id"],
    "status": REQUEST["status"],
    "requested_datetime": w3c,
    "updated_datetime": optional(w3c),
    "expected_datetime": optional(w3c),
    "lat": optional(_float_text),
    "long": optional(_float_text),
}
POSTED = {"service_request_id": REQUEST["service_request_id"], "service_notice": string, "account_id": string}
POSTED_XML = {k: optional(string) for k in POSTED} | {"service_request_id": REQUEST["service_request_id"]}
ERROR = {"code": lambda v: isinstance(v, int) and not isinstance(v, bool), "description": string}
ERROR_XML = {"code": lambda v: v is not None and v.isdigit(), "description": string}


def check_json(rows, fields: dict) -> None:
    assert isinstance(rows, list) and rows
    for row in rows:
        assert set(row) == set(fields), set(row) ^ set(fields)
        for name, check in fields.items():
            assert check(row[name]), (name, row[name])


def check_xml(content: bytes, root_tag: str, item_tag: str, fields: dict) -> None:
    root = ET.fromstring(content)
    assert root.tag == root_tag
    items = list(root)
    assert items and all(item.tag == item_tag for item in items)
    for item in items:
        assert [c.tag for c in item] == list(fields) or {c.tag for c in item} == set(fields)
        for child in item:
            assert len(child) == 0, child.tag  # every field is a leaf
            assert fields[child.tag](child.text), (child.tag, child.text)


@pytest.fixture
def requests_made(client, category, home_grid, dispatcher):
    """One placed request moved to closed, and one address-only request still unplaced."""
    system = Open311Client.objects.create(name="12345 热线", intake_grid=home_grid)
    point = point_in(home_grid)
    common = {"api_key": system.api_key, "service_code": "exposed-rubbish", "account_id": "u-42"}
    placed = client.post(f"{BASE}requests.json", {**common, "lat": point.y, "long": point.x})
    unplaced = client.post(f"{BASE}requests.xml", {**common, "address_string": "东关街道 8 号"})
    assert placed.status_code == 201 and unplaced.status_code == 201
    check_json(placed.json(), POSTED)
    check_xml(unplaced.content, "service_requests", "request", POSTED_XML)
    assert placed.json()[0]["account_id"] == "u-42"
    pk = int(placed.json()[0]["service_request_id"])
    workflow.register_incident(actor=dispatcher, incident_id=pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=pk)
    return pk


def test_services_match_the_spec(client, category):
    check_json(client.get(f"{BASE}services.json").json(), SERVICE)
    check_xml(client.get(f"{BASE}services.xml").content, "services", "service", SERVICE_XML)


def test_a_service_definition_matches_the_spec(client, category):
    body = client.get(f"{BASE}services/exposed-rubbish.json").json()
    assert body == {"service_code": "exposed-rubbish", "attributes": []}
    root = ET.fromstring(client.get(f"{BASE}services/exposed-rubbish.xml").content)
    assert root.tag == "service_definition"
    assert [c.tag for c in root] == ["service_code", "attributes"] and len(root.find("attributes")) == 0


def test_requests_list_and_one_request_match_the_spec(client, requests_made):
    window = {"start_date": (timezone.now() - timedelta(days=1)).isoformat()}
    rows = client.get(f"{BASE}requests.json", window).json()
    assert len(rows) == 2
    check_json(rows, REQUEST)
    assert {r["lat"] is None for r in rows} == {True, False}  # the unplaced one has no point
    assert any(r["expected_datetime"] for r in rows)
    check_xml(client.get(f"{BASE}requests.xml", window).content, "service_requests", "request", REQUEST_XML)
    for fmt in ("json", "xml"):
        one = client.get(f"{BASE}requests/{requests_made}.{fmt}")
        assert one.status_code == 200
        if fmt == "json":
            check_json(one.json(), REQUEST)
        else:
            check_xml(one.content, "service_requests", "request", REQUEST_XML)
        listed = client.get(f"{BASE}requests.{fmt}", {"service_request_id": str(requests_made)})
        assert listed.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "data", "code"),
    [
        ("get", "services/nope", {}, 404),
        ("get", "requests/0", {}, 404),
        ("get", "requests", {"status": "pending"}, 400),
        ("get", "requests", {"start_date": "tomorrow"}, 400),
        ("post", "requests", {}, 403),
        ("post", "requests", {"api_key": "wrong", "service_code": "exposed-rubbish"}, 403),
    ],
)
def test_every_error_body_matches_the_spec(client, category, method, path, data, code):
    for fmt in ("json", "xml"):
        response = getattr(client, method)(f"{BASE}{path}.{fmt}", data)
        assert response.status_code == code
        if fmt == "json":
            check_json(response.json(), ERROR)
            assert response.json()[0]["code"] == code
        else:
            check_xml(response.content, "errors", "error", ERROR_XML)
            assert ET.fromstring(response.content).find("error").findtext("code") == str(code)
