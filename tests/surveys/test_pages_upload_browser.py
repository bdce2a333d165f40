"""Browser flow on a phone: a survey file with bad rows is refused row by row, the fixed file is
accepted."""

import csv
import io

import pytest

from accounts.roles import Role
from surveys.demo import ensure_survey_setup
from surveys.models import Response
from tests.factories import user_for_role
from tests.surveys.conftest import row
from tests.test_browser import _login, live_server_artifact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VILLAGE = "520402001004"
HEADER = ["client_id", "community", "grid", "channel", "answered_on", "security_sense", "satisfaction"]


def csv_bytes(rows) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def test_an_importer_uploads_responses_on_a_phone(anshun_tree, live_server, phone_page):
    wave = ensure_survey_setup()
    page = phone_page
    _login(page, live_server, user_for_role(Role.CITY_OFFICIAL))
    page.goto(f"{live_server.url}/")
    page.click("nav >> text=上传调查答卷")  # from the menu
    page.select_option("#id_wave", str(wave.pk))
    good = [row(VILLAGE) for _ in range(3)]
    bad = [*good, row("999999999999"), row(VILLAGE, channel="fax")]
    page.set_input_files("#id_file", {"name": "wave.csv", "mimeType": "text/csv", "buffer": csv_bytes(bad)})
    page.click("#upload-form button.primary")
    page.wait_for_selector("[data-testid=row-errors]")
    cells = page.locator("[data-testid=row-errors] tbody tr").all_inner_texts()
    assert [c.split()[0] for c in cells] == ["4", "5"]
    assert Response.objects.count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(live_server_artifact("survey-upload-errors-phone.png")), full_page=True)
    assert page.input_value("#id_wave") == str(wave.pk)  # the wave stays chosen
    page.set_input_files("#id_file", {"name": "wave.csv", "mimeType": "text/csv", "buffer": csv_bytes(good)})
    page.click("#upload-form button.primary")
    page.wait_for_selector(".messages .success")
    assert "3" in page.inner_text(".messages .success")
    page.screenshot(path=str(live_server_artifact("survey-upload-phone.png")), full_page=True)
    assert Response.objects.count() == 3
