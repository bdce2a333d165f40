"""Survey intake refuses a date typed in full-width (or other non-ASCII) digits, row by row like
every other bad row, at the API bulk upload, the API file import and the upload page: Python's
date parser reads ``２０１７-11-15`` as 15 November 2017, and such a row used to be stored."""

import re

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from accounts.roles import Role
from surveys.models import Answer, Response
from tests.factories import user_for_role
from tests.surveys.conftest import row
from tests.surveys.test_pages_upload import csv_file

pytestmark = pytest.mark.django_db

VILLAGE = "520402001004"
DATES = ["２０１７-11-15", "2017-１１-15", "2017-11-１５", "٢٠١٧-11-15", "2017-11-15\u00a0x"]


def message() -> str:
    with translation.override("zh-hans"):
        return gettext("type the date in half-width digits, as YYYY-MM-DD")


@pytest.mark.parametrize("typed", DATES[:4])
def test_the_bulk_api_lists_each_full_width_date_and_writes_nothing(api_client, wave, typed):
    api_client.force_authenticate(user_for_role(Role.CITY_OFFICIAL))
    rows = [row(VILLAGE), row(VILLAGE, answered_on=typed), row(VILLAGE, channel="fax")]
    response = api_client.post(
        "/api/survey-responses/bulk/", {"wave": wave.code, "responses": rows}, format="json"
    )
    assert response.status_code == 400, response.content
    errors = response.json()["rows"]
    assert [re.search(r"\d+", e).group() for e in errors] == ["2", "3"]
    assert "answered_on" in errors[0] and message() in errors[0]
    assert Response.objects.count() == 0 and Answer.objects.count() == 0


def test_the_file_import_lists_them_too(api_client, wave):
    api_client.force_authenticate(user_for_role(Role.ADMIN))
    upload = csv_file([row(VILLAGE, answered_on=DATES[0]), row(VILLAGE, answered_on=DATES[1])])
    response = api_client.post("/api/survey-responses/import/", {"wave": wave.code, "file": upload})
    assert response.status_code == 400
    assert [re.search(r"\d+", e).group() for e in response.json()["rows"]] == ["1", "2"]
    assert Response.objects.count() == 0


def test_the_upload_page_lists_them_row_by_row(client, wave):
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    rows = [row(VILLAGE), *(row(VILLAGE, answered_on=d) for d in DATES)]
    response = client.post(reverse("surveys:upload"), {"wave": wave.pk, "file": csv_file(rows)})
    assert response.status_code == 400
    listed = [(e.row, e.field) for e in response.context["row_errors"]]
    assert listed == [(n, "answered_on") for n in range(2, 2 + len(DATES))]
    assert message() in response.content.decode()
    assert Response.objects.count() == 0 and Answer.objects.count() == 0


def test_half_width_dates_and_spreadsheet_dates_still_pass(api_client, wave):
    api_client.force_authenticate(user_for_role(Role.CITY_OFFICIAL))
    rows = [row(VILLAGE, answered_on=" 2017-11-15 ")]
    response = api_client.post(
        "/api/survey-responses/bulk/", {"wave": wave.code, "responses": rows}, format="json"
    )
    assert response.status_code == 201, response.content
    assert Response.objects.get().answered_on.isoformat() == "2017-11-15"


def test_an_answer_code_in_full_width_digits_is_a_bad_row_too(api_client, wave):
    api_client.force_authenticate(user_for_role(Role.CITY_OFFICIAL))
    rows = [row(VILLAGE, security="１"), row(VILLAGE, security="1")]
    response = api_client.post(
        "/api/survey-responses/bulk/", {"wave": wave.code, "responses": rows}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["rows"]
    assert len(errors) == 1 and re.search(r"\d+", errors[0]).group() == "1" and "security_sense" in errors[0]
    assert Response.objects.count() == 0
