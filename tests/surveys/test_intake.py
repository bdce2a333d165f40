"""Intake: REST bulk upload and CSV/XLSX import, all or nothing, with a per-row report."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from accounts.roles import Role
from surveys.models import Answer, AnswerDelta, Response
from tests.factories import user_for_role
from tests.surveys.conftest import a_grid_in, row, villages_in

pytestmark = pytest.mark.django_db

URL = "/api/survey-responses/bulk/"
VILLAGE = "520402001004"


def test_bulk_upload_writes_responses_answers_and_queues_their_counts(api_client, wave):
    api_client.force_authenticate(user_for_role(Role.CITY_OFFICIAL))
    grid = a_grid_in(VILLAGE)
    rows = [
        row(VILLAGE),
        {**row(VILLAGE, security="不安全", satisfaction="说不清"), "community": "", "grid": grid.code},
    ]
    response = api_client.post(URL, {"wave": wave.code, "responses": rows}, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"created": 2, "already_present": 0}
    stored = Response.objects.get(client_uuid=rows[1]["client_id"])
    assert (stored.village.code, stored.grid_id, stored.grid_office_id) == (VILLAGE, grid.pk, grid.office_id)
    assert sorted(Answer.objects.filter(response=stored).values_list("item__code", "choice")) == [
        ("satisfaction", 4),
        ("security_sense", 4),
    ]
    queued = sorted(
        AnswerDelta.objects.filter(wave=wave, village__code=VILLAGE).values_list(
            "item__code", "choice", "delta"
        )
    )
    assert queued == [
        ("satisfaction", 0, 1),
        ("satisfaction", 4, 1),
        ("security_sense", 0, 1),
        ("security_sense", 4, 1),
    ]
    # A retry of the same upload adds nothing, to the answers or to the rollup's queue.
    again = api_client.post(URL, {"wave": wave.code, "responses": rows}, format="json")
    assert again.json() == {"created": 0, "already_present": 2}
    assert Response.objects.count() == 2
    assert AnswerDelta.objects.count() == len(queued)


def test_every_bad_row_is_reported_and_nothing_is_written(api_client, wave):
    api_client.force_authenticate(user_for_role(Role.CITY_OFFICIAL))
    rows = [
        row(VILLAGE),
        row("999999999999"),
        row(VILLAGE, security="还行"),
        row(VILLAGE, channel="fax", answered_on="2016-01-01"),
    ]
    response = api_client.post(URL, {"wave": wave.code, "responses": rows}, format="json")
    assert response.status_code == 400
    errors = response.json()["rows"]
    assert len(errors) == 4
    # Messages are in the user's language; the row numbers and fields are always there.
    assert [re.search(r"\d+", e).group() for e in errors] == ["2", "3", "4", "4"]
    assert [
        f for e in errors for f in ("community", "security_sense", "channel", "answered_on") if f in e
    ] == [
        "community",
        "security_sense",
        "channel",
        "answered_on",
    ]
    assert Response.objects.count() == 0
    assert Answer.objects.count() == 0
    assert AnswerDelta.objects.count() == 0


def test_only_importers_may_upload(api_client, wave):
    api_client.force_authenticate(user_for_role(Role.COUNTY_OFFICIAL))
    response = api_client.post(URL, {"wave": wave.code, "responses": [row(VILLAGE)]}, format="json")
    assert response.status_code == 403  # county officials read figures but do not import
    assert Response.objects.count() == 0


def test_roles_without_the_import_capability_write_nothing(wave):
    """Only city-level survey staff and admins import; a county official is refused before any
    row is read (the per-row jurisdiction check stays for any narrower role given the capability)."""
    from anshun.commands import NotPermitted
    from surveys.services.intake import import_responses

    xixiu_official = user_for_role(Role.COUNTY_OFFICIAL)  # 西秀区
    with pytest.raises(NotPermitted):
        import_responses(actor=xixiu_official, wave=wave, rows=[row(VILLAGE)])
    assert Response.objects.count() == 0


def test_places_outside_the_importers_jurisdiction_are_rejected(wave, monkeypatch):
    """The per-row check, for an importer whose jurisdiction is narrower than the city."""
    from accounts.roles import ROLE_CAPABILITIES
    from surveys.services.intake import ResponsesRejected, import_responses

    xixiu_official = user_for_role(Role.COUNTY_OFFICIAL)  # 西秀区
    county = ROLE_CAPABILITIES[Role.COUNTY_OFFICIAL]
    monkeypatch.setitem(ROLE_CAPABILITIES, Role.COUNTY_OFFICIAL, county | {"surveys.import"})
    with pytest.raises(ResponsesRejected) as raised:
        import_responses(
            actor=xixiu_official, wave=wave, rows=[row(VILLAGE), row(villages_in("520403", 1)[0])]
        )
    assert [(e.row, e.field) for e in raised.value.errors] == [(2, "community")]
    assert Response.objects.count() == 0


def _xlsx(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for values in rows:
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


HEADER = ["client_id", "community", "grid", "channel", "answered_on", "security_sense", "satisfaction"]


def test_xlsx_import(api_client, wave):
    api_client.force_authenticate(user_for_role(Role.ADMIN))
    content = _xlsx(
        [
            HEADER,
            ["", VILLAGE, "", "电话", "2017-11-20", "安全", "基本满意"],
            ["", VILLAGE, "", "door", "2017-12-01", 2, 1],
        ]
    )
    upload = SimpleUploadedFile("wave.xlsx", content)
    response = api_client.post("/api/survey-responses/import/", {"wave": wave.code, "file": upload})
    assert response.status_code == 201, response.content
    assert response.json()["created"] == 2
    assert sorted(Response.objects.values_list("channel", flat=True)) == ["door", "phone"]
    # The same file again: rows without client_id get a stable key from their content.
    upload = SimpleUploadedFile("wave.xlsx", content)
    again = api_client.post("/api/survey-responses/import/", {"wave": wave.code, "file": upload})
    assert again.json() == {"created": 0, "already_present": 2}


def test_csv_import_reports_rows_and_writes_nothing(api_client, wave):
    api_client.force_authenticate(user_for_role(Role.ADMIN))
    text = ",".join(HEADER) + "\n,520402001004,,phone,2017-11-20,安全,满意\n,,,phone,2017-11-20,安全,满意\n"
    upload = SimpleUploadedFile("wave.csv", text.encode("utf-8-sig"))
    response = api_client.post("/api/survey-responses/import/", {"wave": wave.code, "file": upload})
    assert response.status_code == 400
    (error,) = response.json()["rows"]
    assert re.search(r"\d+", error).group() == "2" and "community" in error
    assert Response.objects.count() == 0
