"""A stored control character (or a non-character XML cannot hold) reaches every export door as a
user would open it, and none of them fails: the incident list, the dispatch queue, the audit
trail, and the special-population exports, also when an administrator asks for them."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts.roles import Role, SpecialProject
from incidents.services.editing import update_incident
from tests.factories import user_for_role
from tests.special_groups.helpers import enroll, person

pytestmark = pytest.mark.django_db
HOSTILE = "=cmd|'/C calc'!A0\x01\x0b\x1f\x7f\x85\ufffe\uffff垃圾"
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")


def _cells(response, export_format: str) -> list[str]:
    """Every text cell of the export; the file must open."""
    if export_format == "xlsx":
        sheet = load_workbook(io.BytesIO(response.content)).active
        return [str(c) for row in sheet.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    text = b"".join(response.streaming_content).decode("utf-8")
    return [c for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for c in row]


def _exports_cleanly(client, url: str, needle: str) -> None:
    for export_format in ("xlsx", "csv"):
        response = client.get(url, {"export": export_format})
        assert response.status_code == 200, (url, export_format, response.status_code)
        cells = _cells(response, export_format)
        assert not any(FORBIDDEN.search(c) for c in cells), url
        hits = [c for c in cells if needle in c]
        assert hits, (url, export_format)  # the row is there, neutralised, not dropped
        assert all(not c.startswith(("=", "+", "-", "@")) for c in hits)


@pytest.fixture
def stored(make_incident, dispatcher):
    """An incident whose description was corrected to the hostile text through the service
    (so its audit trail holds it too)."""
    incident = make_incident()
    update_incident(actor=dispatcher, incident_id=incident.pk, description=HOSTILE)
    return incident


def test_incident_list_queue_and_audit_trail_export(client, stored, dispatcher):
    client.force_login(dispatcher)
    _exports_cleanly(client, reverse("incidents:list"), "垃圾")
    _exports_cleanly(client, reverse("incidents:queue"), "垃圾")
    for auditor in (user_for_role(Role.AUDITOR), user_for_role(Role.ADMIN)):
        client.force_login(auditor)
        _exports_cleanly(client, reverse("audit:changes"), "垃圾")


def test_special_population_exports_with_stored_control_characters(client):
    enrollment = enroll(SpecialProject.ANNING, who=person(name="张\x01三\uffff"), risk_grade=2)
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING)
    client.force_login(officer)
    # Names are masked in exports; the row is there and the file opens.
    for url in (reverse("special_groups:caseload"), reverse("special_groups:tasks")):
        for export_format in ("xlsx", "csv"):
            response = client.get(url, {"export": export_format})
            assert response.status_code == 200
            assert not any(FORBIDDEN.search(c) for c in _cells(response, export_format))
    assert enrollment.pk
    # The access trail (whose entries name the hostile record) for auditors and administrators.
    for reader in (user_for_role(Role.AUDITOR), user_for_role(Role.ADMIN)):
        client.force_login(reader)
        for export_format in ("xlsx", "csv"):
            response = client.get(reverse("special_groups:access-log"), {"export": export_format})
            assert response.status_code == 200
            _cells(response, export_format)


def test_an_administrator_asking_for_case_officer_exports_gets_a_refusal_not_a_500(client):
    enroll(SpecialProject.ANNING, who=person(name="李四"), risk_grade=1)
    client.force_login(user_for_role(Role.ADMIN))
    for url in (reverse("special_groups:caseload"), reverse("special_groups:tasks")):
        for export_format in ("xlsx", "csv"):
            response = client.get(url, {"export": export_format})
            assert response.status_code in (200, 403), (url, response.status_code)


def test_text_no_file_can_hold_is_dropped():
    from anshun.exports import safe_text

    assert safe_text("a\ud800b\udfffc\ufffe\uffff") == "abc"
