"""Incident pages: list with filters and export, the dispatcher's queue, detail with panels, the form."""

import csv
import io
import uuid

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from accounts.roles import Role
from incidents.models import Incident
from incidents.services import workflow
from tests.factories import user_for_role
from tests.incidents.conftest import point_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def several(make_incident, dispatcher):
    first = make_incident(description="第一")
    second = make_incident(description="第二", priority="urgent")
    workflow.register_incident(actor=dispatcher, incident_id=second.pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=second.pk)
    third = make_incident(description="第三")
    workflow.register_incident(actor=dispatcher, incident_id=third.pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=third.pk)
    Incident.objects.filter(pk=third.pk).update(due_at="2020-01-01T00:00:00Z")
    return first, second, third


def test_the_list_filters_and_exports_what_it_shows(client, worker, several):
    client.force_login(worker)
    page = client.get("/incidents/", {"status": "dispatched"})
    assert page.status_code == 200
    ids = [i.pk for i in page.context["object_list"]]
    assert sorted(ids) == sorted([several[1].pk, several[2].pk])
    assert len(page.context["points"]) == 2
    urgent = client.get("/incidents/", {"priority": "urgent"}).context["object_list"]
    assert [i.pk for i in urgent] == [several[1].pk]
    xlsx = client.get("/incidents/", {"status": "dispatched", "export": "xlsx"})
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert len(rows) == 3 and {r[0] for r in rows[1:]} == set(ids)
    text = b"".join(client.get("/incidents/", {"priority": "urgent", "export": "csv"}).streaming_content)
    lines = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    assert len(lines) == 2 and lines[1][0] == str(several[1].pk)


def test_the_list_page_queries_do_not_grow(client, worker, make_incident):
    client.force_login(worker)
    make_incident()
    with CaptureQueriesContext(connection) as one:
        client.get("/incidents/")
    for _ in range(6):
        make_incident()
    with CaptureQueriesContext(connection) as seven:
        client.get("/incidents/")
    assert len(one) == len(seven)


def test_the_queue_puts_overdue_then_urgent_then_oldest_first(client, dispatcher, several):
    client.force_login(dispatcher)
    queue = [i.pk for i in client.get("/incidents/queue/").context["object_list"]]
    first, second, third = several  # oldest normal; urgent; overdue
    assert queue == [third.pk, second.pk, first.pk]


def test_the_queue_is_for_dispatchers(client, worker):
    client.force_login(worker)
    assert client.get("/incidents/queue/").status_code == 403


def test_detail_is_scoped_and_shows_panels(client, make_incident, monkeypatch, tmp_path, settings):
    incident = make_incident()
    (tmp_path / "incidents").mkdir()
    (tmp_path / "incidents" / "test_panel.html").write_text(
        '<p id="test-panel">{{ greeting }} #{{ incident.pk }}</p>'
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}]
    monkeypatch.setattr(
        apps.get_app_config("mediation"),
        "incident_panels",
        "tests.incidents.panel_provider.panel",
        raising=False,
    )
    dispatcher = user_for_role(Role.DISPATCHER)
    client.force_login(dispatcher)
    page = client.get(f"/incidents/{incident.pk}/")
    assert page.status_code == 200
    assert f"panel for {dispatcher.username} #{incident.pk}" in page.content.decode()
    assert page.context["actions"] == ["register", "reject"]  # 立案, or 不予立案
    far = user_for_role(
        Role.COUNTY_OFFICIAL,
        region=incident.grid.village.parent.parent.parent.children.exclude(
            pk=incident.grid.village.parent.parent_id
        )
        .order_by("code")
        .first(),
    )
    client.force_login(far)
    assert client.get(f"/incidents/{incident.pk}/").status_code == 404


def test_buttons_move_the_incident_and_refusals_are_messages(client, make_incident, dispatcher, worker):
    incident = make_incident()
    client.force_login(worker)
    client.post(f"/incidents/{incident.pk}/register/")
    assert Incident.objects.get(pk=incident.pk).status == "reported"
    client.force_login(dispatcher)
    client.post(f"/incidents/{incident.pk}/register/", {"version": 1})
    response = client.post(
        f"/incidents/{incident.pk}/dispatch/",
        {"version": 2, "handling_office": incident.grid.office.code},
        follow=True,
    )
    assert Incident.objects.get(pk=incident.pk).status == "dispatched"
    assert response.status_code == 200 and incident.grid.office.name in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).handling_office == incident.grid.office
    stale = client.post(f"/incidents/{incident.pk}/close/", {"version": 1}, follow=True)
    assert 'class="error"' in stale.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == "dispatched"


def test_the_report_form_works_without_javascript(client, worker, home_grid, far_grid, category):
    client.force_login(worker)
    assert client.get("/incidents/report/").status_code == 200
    point = point_in(home_grid)
    key = str(uuid.uuid4())
    body = {
        "client_uuid": key,
        "category": "exposed-rubbish",
        "description": "表单",
        "priority": "normal",
        "longitude": point.x,
        "latitude": point.y,
    }
    response = client.post("/incidents/report/", body)
    assert response.status_code == 302, response.context["errors"]
    incident = Incident.objects.get(client_uuid=key)
    assert response.status_code == 302 and incident.grid == home_grid and incident.source == "grid_worker"
    client.post("/incidents/report/", body)
    assert Incident.objects.filter(client_uuid=key).count() == 1
    far = point_in(far_grid)
    refused = client.post(
        "/incidents/report/",
        {**body, "client_uuid": str(uuid.uuid4()), "longitude": far.x, "latitude": far.y},
    )
    assert refused.status_code == 200 and refused.context["errors"]["location"]
    assert Incident.objects.count() == 1


def test_the_dashboard_tiles_follow_the_contract(dispatcher, several):
    from anshun.dashboard import collect_tiles

    tiles = {t.key: t for t in collect_tiles(actor=dispatcher, region=dispatcher.region)}
    assert tiles["incidents.open"].value == 3 and tiles["incidents.overdue"].value == 1
    assert tiles["incidents.closure_rate"].value == 0.0 and "1" in tiles["incidents.closure_rate"].detail


def test_admin_pages_for_categories_incidents_and_open311_keys(client, make_incident):
    from incidents.models import Open311Client

    incident = make_incident()
    key = Open311Client.objects.create(name="hotline")
    client.force_login(user_for_role(Role.ADMIN))
    for url in (
        "/admin/incidents/incidentcategory/",
        f"/admin/incidents/incident/{incident.pk}/change/",
        f"/admin/incidents/open311client/{key.pk}/change/",
        "/admin/incidents/open311client/add/",
    ):
        assert client.get(url).status_code == 200, url
    assert key.api_key in client.get(f"/admin/incidents/open311client/{key.pk}/change/").content.decode()
