"""The survey-response upload page: the intake command the API calls, all or nothing, every bad
row listed; refused to roles without ``surveys.import``; bad files and input as field errors."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext

from accounts.roles import ROLE_CAPABILITIES, Role
from surveys.models import Answer, Response
from tests.factories import user_for_role
from tests.surveys.conftest import row, villages_in

pytestmark = pytest.mark.django_db

URL = reverse("surveys:upload")
VILLAGE = "520402001004"
HEADER = ["client_id", "community", "grid", "channel", "answered_on", "security_sense", "satisfaction"]


def csv_file(rows: list[dict], name: str = "responses.csv") -> SimpleUploadedFile:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER)
    writer.writeheader()
    for r in rows:
        writer.writerow({k: r.get(k, "") for k in HEADER})
    return SimpleUploadedFile(name, out.getvalue().encode("utf-8"), content_type="text/csv")


def test_an_importer_uploads_a_file_and_a_repeat_adds_nothing(client, wave):
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    page = client.get(URL)
    assert page.status_code == 200 and "security_sense" in page.content.decode()
    rows = [row(VILLAGE), row(VILLAGE, security="不安全")]
    response = client.post(URL, {"wave": wave.pk, "file": csv_file(rows)}, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert Response.objects.count() == 2 and Answer.objects.count() == 4
    assert "2" in str(list(response.context["messages"])[0])
    again = client.post(URL, {"wave": wave.pk, "file": csv_file(rows)}, follow=True)
    assert Response.objects.count() == 2
    with translation.override("zh-hans"):
        expected = gettext("Upload accepted: %(created)s new responses, %(present)s already present.")
    assert expected % {"created": 0, "present": 2} in again.content.decode()


def test_the_menu_links_to_the_upload_page_for_importers_only(client, wave):
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    assert f'href="{URL}"' in client.get(reverse("home")).content.decode()
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    assert f'href="{URL}"' not in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize("role", [Role.COUNTY_OFFICIAL, Role.AUDITOR, Role.GRID_WORKER, Role.CASE_OFFICER])
def test_roles_without_the_import_capability_get_403(client, wave, role):
    client.force_login(user_for_role(role))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"wave": wave.pk, "file": csv_file([row(VILLAGE)])}).status_code == 403
    assert Response.objects.count() == 0


def test_every_bad_row_is_listed_and_nothing_is_written(client, wave):
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    rows = [
        row(VILLAGE),
        row("999999999999"),
        row(VILLAGE, security="还行"),
        row(VILLAGE, channel="fax", answered_on="2017-02-30"),
    ]
    response = client.post(URL, {"wave": wave.pk, "file": csv_file(rows)})
    assert response.status_code == 400
    listed = [(e.row, e.field) for e in response.context["row_errors"]]
    assert listed == [
        (2, "community"),
        (3, "security_sense"),
        (4, "channel"),
        (4, "answered_on"),
    ]
    body = response.content.decode()
    with translation.override("zh-hans"):
        expected = ngettext(
            "Nothing was saved: %(counter)s row has problems.",
            "Nothing was saved: %(counter)s rows have problems.",
            3,
        )
    assert expected % {"counter": 3} in body
    assert Response.objects.count() == 0 and Answer.objects.count() == 0
    # The wave stays chosen for the next try.
    assert f'<option value="{wave.pk}" selected>' in body


def test_an_importer_of_a_narrower_jurisdiction_gets_rows_outside_it_refused(client, wave, monkeypatch):
    """The same per-row check as the API, for a role given the capability inside one county."""
    county = ROLE_CAPABILITIES[Role.COUNTY_OFFICIAL]
    monkeypatch.setitem(ROLE_CAPABILITIES, Role.COUNTY_OFFICIAL, county | {"surveys.import"})
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))  # 西秀区
    elsewhere = villages_in("520403", 1)[0]
    response = client.post(URL, {"wave": wave.pk, "file": csv_file([row(VILLAGE), row(elsewhere)])})
    assert response.status_code == 400
    assert [(e.row, e.field) for e in response.context["row_errors"]] == [(2, "community")]
    unknown = client.post(URL, {"wave": wave.pk, "file": csv_file([row("529999999999")])})
    assert [e.reason for e in unknown.context["row_errors"]] == [
        e.reason for e in response.context["row_errors"]
    ]  # out of sight reads exactly as unknown
    assert Response.objects.count() == 0


@pytest.mark.parametrize(
    "upload, field",
    [
        (lambda: SimpleUploadedFile("r.csv", "a,b\n1,2\n".encode("gbk") + b"\xff\xfe", "text/csv"), "file"),
        (
            lambda: SimpleUploadedFile("r.xlsx", b"PK\x03\x04 not really a workbook", "application/zip"),
            "file",
        ),
        (lambda: SimpleUploadedFile("r.csv", b"", "text/csv"), "file"),
        (lambda: SimpleUploadedFile("r.csv", b"client_id\x00,community\n", "text/csv"), "file"),
        (lambda: SimpleUploadedFile("r.exe", b"MZ\x90\x00", "application/octet-stream"), "file"),
    ],
)
def test_unreadable_files_are_field_errors(client, wave, upload, field):
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    response = client.post(URL, {"wave": wave.pk, "file": upload()})
    assert response.status_code == 400
    assert response.context["form"].errors[field] or response.context["row_errors"]
    assert Response.objects.count() == 0


@pytest.mark.parametrize("value", ["", "１", "999999", "abc\x00"])
def test_an_unknown_wave_is_a_field_error(client, wave, value):
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    response = client.post(URL, {"wave": value, "file": csv_file([row(VILLAGE)])})
    assert response.status_code == 400 and response.context["form"].errors["wave"]
    assert Response.objects.count() == 0
