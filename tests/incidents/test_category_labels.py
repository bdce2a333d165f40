"""Exports and Open311 name a category by its translatable label (``IncidentCategory.label``),
in the reader's language: the page's language (the switch) for XLSX/CSV, inline and as a job, the
``Accept-Language`` header for Open311 clients (Chinese when they send none). A category the
city renamed or added keeps the name it was given, in every language."""

import csv
import io
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from openpyxl import load_workbook

from accounts.roles import Role
from anshun.export_jobs import run_export_job
from anshun.models import ExportJob
from incidents.models import IncidentCategory, Open311Client
from tests.factories import user_for_role
from tests.incidents.conftest import point_in

pytestmark = pytest.mark.django_db

BASE = "/open311/v2/"
NAMES = {"en": "Exposed rubbish", "zh-hans": "暴露垃圾"}


@pytest.fixture
def reported(make_incident, category):
    renamed = IncidentCategory.objects.get(code="illegal-building")
    renamed.name = "违章搭建（本市）"
    renamed.save(update_fields=["name"])
    return [make_incident(), make_incident(category=renamed)]


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def category_column(rows: list) -> list:
    return sorted(str(r[2]) for r in rows[1:])


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_inline_exports_give_the_label_in_the_pages_language(client, reported, language):
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    client.post(reverse("set_language"), {"language": language, "next": "/"})  # the page's switch
    url = reverse("incidents:list")
    as_csv = client.get(url, {"export": "csv"}, HTTP_ACCEPT_LANGUAGE=language)
    assert as_csv.status_code == 200
    assert category_column(csv_rows(as_csv)) == sorted([NAMES[language], "违章搭建（本市）"])
    as_xlsx = client.get(url, {"export": "xlsx"}, HTTP_ACCEPT_LANGUAGE=language)
    sheet = load_workbook(io.BytesIO(b"".join(as_xlsx.streaming_content))).active
    assert category_column(list(sheet.values)) == sorted([NAMES[language], "违章搭建（本市）"])


def test_a_job_writes_the_label_in_the_requesters_language(client, settings, reported):
    settings.EXPORT_INLINE_MAX_ROWS = 1
    official = user_for_role(Role.COUNTY_OFFICIAL)
    client.force_login(official)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = client.get(reverse("incidents:list"), {"export": "xlsx"})
    assert response.status_code == 302
    job = ExportJob.objects.get(requester=official)
    assert run_export_job(job_id=job.pk) == ExportJob.Status.DONE
    (path,) = (Path(django_settings.MEDIA_ROOT) / "exports").glob(f"{job.pk}-*")
    sheet = load_workbook(path).active
    assert category_column(list(sheet.values)) == sorted([NAMES["en"], "违章搭建（本市）"])


@pytest.mark.parametrize(
    "header, language",
    [
        ({}, "zh-hans"),
        ({"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}, "en"),
        ({"HTTP_ACCEPT_LANGUAGE": "zh-CN"}, "zh-hans"),
    ],
)
def test_open311_services_follow_accept_language(client, category, header, language):
    rows = client.get(f"{BASE}services.json", **header).json()
    rubbish = next(r for r in rows if r["service_code"] == "exposed-rubbish")
    assert rubbish["service_name"] == NAMES[language]
    assert rubbish["description"].endswith(NAMES[language])
    xml = client.get(f"{BASE}services.xml", **header).content.decode()
    assert f"<service_name>{NAMES[language]}</service_name>" in xml


@pytest.mark.parametrize("header, language", [({}, "zh-hans"), ({"HTTP_ACCEPT_LANGUAGE": "en"}, "en")])
def test_open311_requests_follow_accept_language(client, category, home_grid, header, language):
    api_key = Open311Client.objects.create(name="12345 热线").api_key
    point = point_in(home_grid)
    body = {"api_key": api_key, "service_code": "exposed-rubbish", "lat": point.y, "long": point.x}
    created = client.post(f"{BASE}requests.json", {**body, "description": "门口垃圾"}, **header)
    assert created.status_code == 201, created.content
    pk = created.json()[0]["service_request_id"]
    [row] = client.get(f"{BASE}requests/{pk}.json", **header).json()
    assert row["service_name"] == NAMES[language] and row["service_code"] == "exposed-rubbish"
    listed = client.get(f"{BASE}requests.json", **header).json()
    assert {r["service_name"] for r in listed if r["service_request_id"] == pk} == {NAMES[language]}
