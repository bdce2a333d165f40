"""CPU per request: the incident list's query, its export and the idle-session clock, made cheaper
without changing what anyone sees or how long an idle session lives."""

import io
import time

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.roles import Role
from grids.models import GridOffice, Region
from incidents import selectors
from incidents.services import workflow
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


def test_the_list_query_joins_no_optional_relation(worker, make_incident):
    """Seven joins cost PostgreSQL 20-50 ms of planning per list; the optional ones are prefetched."""
    make_incident()
    sql = str(selectors.incidents_visible_to(actor=worker).query)
    assert "LEFT OUTER JOIN" not in sql


def test_a_page_of_incidents_costs_the_same_queries_whoever_handles_them(
    client, worker, dispatcher, make_incident, home_office
):
    for _ in range(3):
        incident = make_incident()
        workflow.SERVICES["register"](actor=dispatcher, incident_id=incident.pk, note="")
        workflow.SERVICES["dispatch"](actor=dispatcher, incident_id=incident.pk, note="")
        workflow.SERVICES["take"](actor=worker, incident_id=incident.pk, note="")
    make_incident()
    client.force_login(worker)
    client.get("/api/incidents/")
    with CaptureQueriesContext(connection) as few:
        body = client.get("/api/incidents/", {"page_size": 1, "status": "reported"}).json()
    with CaptureQueriesContext(connection) as many:
        full = client.get("/api/incidents/", {"page_size": 50}).json()
    assert len(many) <= len(few) + 3  # one small query per optional relation, never one per row
    handled = [row for row in full["results"] if row["status"] == "handling"]
    assert len(handled) == 3
    assert {row["handler"] for row in handled} == {worker.username}
    assert {row["handling_office"] for row in handled} == {home_office.code}
    assert body["results"][0]["reporter"] == worker.username


def test_the_export_carries_the_same_values_as_the_incident(client, worker, dispatcher, make_incident):
    incident = make_incident(description="路灯损坏")
    workflow.SERVICES["register"](actor=dispatcher, incident_id=incident.pk, note="")
    workflow.SERVICES["dispatch"](actor=dispatcher, incident_id=incident.pk, note="")
    incident.refresh_from_db()
    client.force_login(dispatcher)
    response = client.get("/incidents/", {"export": "xlsx"})
    rows = list(load_workbook(io.BytesIO(response.content)).active.values)
    row = next(r for r in rows[1:] if r[0] == incident.pk)
    office = GridOffice.objects.get(pk=incident.handling_office_id)
    assert row[1] == str(incident.get_status_display())
    assert row[2] == incident.category.name
    assert row[3] == str(incident.get_priority_display())
    assert row[4] == "路灯损坏"
    assert row[5] == incident.grid.code
    assert row[6] == office.name
    local = timezone.localtime(incident.reported_at).replace(tzinfo=None)
    assert abs((row[7] - local).total_seconds()) < 0.001  # XLSX keeps milliseconds
    assert row[10] == pytest.approx(incident.location.x) and row[11] == pytest.approx(incident.location.y)


def test_the_session_is_not_written_on_every_request(client):
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    client.get(reverse("home"))
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("home"))
    assert not [q for q in queries if "django_session" in q["sql"] and q["sql"].startswith("UPDATE")]


def test_an_idle_session_still_ends_no_later_than_its_timeout(client, settings):
    settings.SESSION_IDLE_TIMEOUT_PRIVILEGED = 600
    settings.SESSION_IDLE_REFRESH_SECONDS = 60
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    client.get(reverse("home"))
    key = client.session.session_key
    first = Session.objects.get(session_key=key).expire_date
    assert first <= timezone.now() + timezone.timedelta(seconds=600)
    # Within the refresh interval nothing is written; the clock runs from the last write.
    client.get(reverse("home"))
    assert Session.objects.get(session_key=key).expire_date == first
    # After it, a request restarts the clock.
    session = client.session
    session["_idle_refreshed"] = int(time.time()) - 61
    session.save()
    client.get(reverse("home"))
    assert Session.objects.get(session_key=key).expire_date > first
    # Past the expiry the session is gone, whatever the cookie says.
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timezone.timedelta(seconds=1))
    response = client.get(reverse("incidents:list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_forged_refresh_time_cannot_stretch_the_session(client, settings):
    """The refresh time lives in the server-side session; a value from the future is not trusted."""
    settings.SESSION_IDLE_TIMEOUT_PRIVILEGED = 600
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    client.get(reverse("home"))
    session = client.session
    session["_idle_refreshed"] = int(time.time()) + 10_000
    session.save()
    client.get(reverse("home"))
    assert client.session["_idle_refreshed"] <= int(time.time())


def test_a_new_role_gets_its_timeout_at_once(client, settings):
    settings.SESSION_IDLE_TIMEOUT_FIELD = 12 * 3600
    settings.SESSION_IDLE_TIMEOUT_PRIVILEGED = 1800
    user = user_for_role(Role.GRID_WORKER)
    client.force_login(user)
    client.get(reverse("home"))
    assert client.session.get_expiry_age() == 12 * 3600
    user.role, user.grid_office, user.region = Role.CITY_OFFICIAL, None, Region.objects.get(code="5204")
    user.save()
    client.get(reverse("home"))
    assert client.session.get_expiry_age() == 1800
