"""Fuzzing Open311 (JSON and XML). Open311 is not in the OpenAPI schema, so schemathesis cannot
reach it: a table of hostile values goes into every parameter of every endpoint, then hypothesis
mixes them with generated text. Whatever comes in, the answer is never a 5xx, always in the
format the path asks for, and every refusal is the spec's error list.

Values reach the server as raw bytes (lone surrogates are sent as the invalid UTF-8 a broken
client would send), through the query string, a form body, a multipart body or a JSON body.
"""
# Parsing our own responses in tests; not untrusted input.
# ruff: noqa: S314

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grids.models import GridOffice
from incidents.models import Incident, Open311Client
from tests.incidents.conftest import HOME_OFFICE_PREFIX

pytestmark = pytest.mark.django_db
BASE = "/open311/v2/"
HOSTILE = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "²",
    "١٢٣",
    "１２",
    "-1",
    "0",
    "9" * 40,
    "1e309",
    "nan",
    "-inf",
    "2026-13-45T00:00:00Z",
    "2026-02-30T25:61:00+08:00",
    "0000-00-00T00:00:00Z",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-12:00",
    "'; DROP TABLE incidents_incident; --",
    "<x>&amp;</x>]]>",
    "\ufffe\uffff",
    "\x1b[31m",
    "暴露垃圾" * 2000,
    "a" * 100_000,
    ",,,,",
    " ",
    "open,closed,,pending",
    "../../etc/passwd",
    "%00",
]
QUERY_PARAMS = [
    "service_request_id",
    "service_code",
    "start_date",
    "end_date",
    "status",
    "jurisdiction_id",
    "api_key",
]
POST_PARAMS = [
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
    "attribute[x]",
]
DEEP_JSON = "[" * 100_000 + "]" * 100_000
STATS = {"requests": 0}


def _bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def _query(params: dict[str, str]) -> str:
    return "&".join(f"{quote(_bytes(k))}={quote(_bytes(v))}" for k, v in params.items())


def _assert_answer(response, fmt: str) -> None:
    STATS["requests"] += 1
    status = response.status_code
    assert status < 500, (status, response.content[:300])
    if status == 405:
        return  # method not allowed: Django's empty answer with an Allow header
    if fmt == "json":
        assert response["Content-Type"] == "application/json", response["Content-Type"]
        body = json.loads(response.content)
    else:
        assert response["Content-Type"].startswith("text/xml"), response["Content-Type"]
        body = ET.fromstring(response.content)
    if status >= 400:
        if fmt == "json":
            [err] = body
            assert set(err) == {"code", "description"} and err["code"] == status
        else:
            assert body.tag == "errors" and body.find("error").findtext("code") == str(status)


@pytest.fixture
def home_grid(db):
    """A grid of 东关街道 and the default categories (a flushed test database loses them)."""
    from incidents.categories import seed_categories

    seed_categories()
    office = GridOffice.objects.filter(seat__code__startswith=HOME_OFFICE_PREFIX).order_by("code").first()
    return office.grids.order_by("code").first()


@pytest.fixture
def live_key(home_grid):
    return Open311Client.objects.create(name="fuzz", intake_grid=home_grid).api_key


def _get(client, path: str, params: dict, fmt: str):
    _assert_answer(client.get(f"{BASE}{path}.{fmt}?{_query(params)}"), fmt)


def _post(client, params: dict, fmt: str, how: str = "form"):
    path = f"{BASE}requests.{fmt}"
    if how == "form":
        response = client.post(path, _query(params), content_type="application/x-www-form-urlencoded")
    elif how == "json":
        body = json.dumps(params, ensure_ascii=True)  # JSON escapes carry lone surrogates intact
        response = client.post(path, body, content_type="application/json")
    else:
        response = client.post(path, params)  # multipart (surrogates cannot be sent here)
    _assert_answer(response, fmt)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_every_hostile_value_in_every_parameter(client, live_key, home_grid, fmt):
    point = home_grid.geometry.point_on_surface
    valid = {
        "api_key": live_key,
        "service_code": "exposed-rubbish",
        "lat": str(point.y),
        "long": str(point.x),
        "description": "垃圾",
    }
    before = Incident.objects.count()
    STATS["requests"] = 0
    for value in HOSTILE:
        for name in QUERY_PARAMS:
            _get(client, "requests", {name: value}, fmt)
            _get(client, "services", {name: value}, fmt)
        _get(client, f"requests/{quote(_bytes(value), safe='')}", {}, fmt)
        _get(client, f"services/{quote(_bytes(value), safe='')}", {}, fmt)
        for name in POST_PARAMS:
            _post(client, {**valid, name: value}, fmt)
            _post(client, {name: value}, fmt)  # without a key
        _post(client, {**valid, "description": value}, fmt, how="json")
    client.post(f"{BASE}requests.{fmt}", DEEP_JSON, content_type="application/json")
    _assert_answer(client.post(f"{BASE}requests.{fmt}", DEEP_JSON, content_type="application/json"), fmt)
    _assert_answer(
        client.post(f"{BASE}requests.{fmt}", b"--x\r\n\x00", content_type="multipart/form-data"), fmt
    )
    _assert_answer(client.put(f"{BASE}requests.{fmt}", "x"), fmt)
    # Whatever got in was stored as text the answers can carry, and every answer was checked.
    assert Incident.objects.count() > before
    _get(client, "requests", {}, fmt)
    assert STATS["requests"] >= len(HOSTILE) * (2 * len(QUERY_PARAMS) + 2 + 2 * len(POST_PARAMS) + 1)


text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=60), st.from_regex(r"[0-9²³١-٩,.+:TZ-]{0,30}"))


@settings(
    derandomize=True,
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    fmt=st.sampled_from(["json", "xml"]),
    query=st.dictionaries(st.sampled_from(QUERY_PARAMS), text, max_size=5),
    form=st.dictionaries(st.sampled_from(POST_PARAMS), text, max_size=8),
    keyed=st.booleans(),
    how=st.sampled_from(["form", "json", "multipart"]),
    segment=text,
)
def test_generated_requests_never_get_a_5xx(live_key, fmt, query, form, keyed, how, segment):
    client = Client()
    _get(client, "requests", query, fmt)
    _get(client, "services", query, fmt)
    _get(client, f"requests/{quote(_bytes(segment), safe='')}", query, fmt)
    _get(client, f"services/{quote(_bytes(segment), safe='')}", query, fmt)
    if keyed:
        form = {"api_key": live_key, "service_code": "exposed-rubbish", **form}
    if how == "multipart":
        form = {
            k: v
            for k, v in form.items()
            if "\x00" not in v and not any(0xD800 <= ord(c) <= 0xDFFF for c in v)
        }
    _post(client, form, fmt, how=how)
