"""A grid office's incident list is read from its link rows (``IncidentOffice``), which carry the
incident's reported_at and whether it is live: the newest page comes from the
``incidents_office_listed`` index, whatever the office's history, and the copies stay exact
whichever door writes the incident or the link (services, bulk sync, QuerySet.update, raw SQL).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.roles import Role
from anshun.api.pagination import Keyset
from grids.models import Grid, GridOffice
from incidents import selectors
from incidents.models import Incident, IncidentOffice
from tests.factories import user_for_role
from tests.test_keyset import add_incidents

pytestmark = pytest.mark.django_db

HOME = "520402005"


@pytest.fixture
def admin(db):
    from incidents.categories import seed_categories

    seed_categories()
    return user_for_role(Role.ADMIN)


@pytest.fixture
def office() -> GridOffice:
    return GridOffice.objects.filter(seat__code__startswith=HOME).order_by("code").first()


@pytest.fixture
def office_grids(office) -> list[int]:
    return list(Grid.objects.filter(office=office).order_by("code").values_list("pk", flat=True)[:4])


@pytest.fixture
def worker(office):
    return user_for_role(Role.GRID_WORKER, office=office)


def links_of(incident_ids) -> dict[int, tuple]:
    return {
        row[0]: row[1:]
        for row in IncidentOffice.objects.filter(incident_id__in=incident_ids).values_list(
            "incident_id", "reported_at", "live"
        )
    }


def truth_of(incident_ids) -> dict[int, tuple]:
    return {
        pk: (reported_at, deleted_at is None)
        for pk, reported_at, deleted_at in Incident.objects.filter(pk__in=incident_ids).values_list(
            "pk", "reported_at", "deleted_at"
        )
    }


def oracle(office_id: int) -> list[int]:
    """The list as plain SQL over the incidents' own columns (what the copies must reproduce)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.id FROM incidents_incident i WHERE i.deleted_at IS NULL AND i.id IN "
            "(SELECT incident_id FROM incidents_incident_offices WHERE gridoffice_id = %s) "
            "ORDER BY i.reported_at DESC, i.id DESC",
            [office_id],
        )
        return [row[0] for row in cursor.fetchall()]


def explain(queryset, *, analyze: bool = False) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " if analyze else "EXPLAIN ") + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def first_page(worker, *, cursor: str | None = None, size: int = 50):
    queryset = selectors.incidents_visible_to(actor=worker)
    keyset = Keyset(queryset, ordering=("-reported_at", "-id"), purpose="incidents:list")
    return keyset, keyset.page(queryset, user=worker, size=size, cursor=cursor)


# --- the copies follow every door ------------------------------------------------------------


def test_a_raw_link_insert_takes_the_incidents_values_whatever_it_sends(admin, office, office_grids):
    ids = add_incidents(n=3, grids=office_grids, reporter=admin)  # links inserted with no copies
    assert links_of(ids) == truth_of(ids)
    other = GridOffice.objects.exclude(pk=office.pk).order_by("pk").first()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO incidents_incident_offices (incident_id, gridoffice_id, reported_at, live) "
            "VALUES (%s, %s, '1999-01-01', false)",
            [ids[0], other.pk],
        )
        # A hand-written copy is put back to the incident's values too.
        cursor.execute(
            "UPDATE incidents_incident_offices SET reported_at = '1999-01-01', live = false "
            "WHERE incident_id = %s",
            [ids[1]],
        )
    link = IncidentOffice.objects.get(incident_id=ids[0], gridoffice=other)
    assert (link.reported_at, link.live) == truth_of([ids[0]])[ids[0]]
    assert links_of([ids[1]]) == truth_of([ids[1]])


def test_a_change_of_reported_at_or_deletion_by_any_writer_reaches_the_links(admin, office, office_grids):
    ids = add_incidents(n=4, grids=office_grids, reporter=admin)
    Incident.objects.filter(pk=ids[0]).update(reported_at=timezone.now() - timedelta(days=900))
    Incident.objects.filter(pk=ids[1]).update(deleted_at=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE incidents_incident SET reported_at = reported_at - interval '3 years', "
            "deleted_at = now() WHERE id = %s",
            [ids[2]],
        )
    assert links_of(ids) == truth_of(ids)
    # Undeleting (e.g. by hand in psql) brings the link back to the list.
    Incident.objects.filter(pk=ids[1]).update(deleted_at=None)
    assert links_of(ids) == truth_of(ids) and links_of([ids[1]])[ids[1]][1] is True


def test_services_bulk_sync_and_delete_keep_the_links_exact(api_client, office, office_grids, admin):
    """The report service, dispatch (a second office), bulk sync's raw INSERT and the soft
    delete: the links always match their incidents."""
    from django.contrib.gis.geos import Point

    from incidents.models import IncidentCategory
    from incidents.services import workflow
    from incidents.services.editing import delete_incident
    from incidents.services.reporting import report_incident

    dispatcher = user_for_role(Role.DISPATCHER)
    grid = Grid.objects.get(pk=office_grids[0])
    point = grid.geometry.point_on_surface
    category = IncidentCategory.objects.get(code="exposed-rubbish")
    incident, _created = report_incident(
        actor=dispatcher,
        category=category,
        description="链接",
        location=Point(point.x, point.y, srid=4326),
        source=Incident.Source.HOTLINE,  # a call the centre logs (units: channels as they came)
    )
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    unit = GridOffice.objects.filter(seat__parent=grid.village.parent).exclude(pk=office.pk).first()
    workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk, handling_office=unit)
    assert IncidentOffice.objects.filter(incident=incident).count() == 2
    assert set(links_of([incident.pk]).values()) == {truth_of([incident.pk])[incident.pk]}

    api_client.force_authenticate(user_for_role(Role.GRID_WORKER, office=office))
    key = "6f1c2a7e-4d0b-4e8e-9b9a-0c7d1e2f3a4b"
    item = {
        "client_uuid": key,
        "category": "exposed-rubbish",
        "description": "批量",
        "longitude": point.x,
        "latitude": point.y,
        "reported_at": (timezone.now() - timedelta(hours=5)).isoformat(),
    }
    sent = api_client.post("/api/incidents/bulk/", {"items": [item]}, format="json")
    assert sent.status_code == 200 and sent.json()["results"][0]["result"] == "created", sent.content
    bulk = Incident.objects.get(client_uuid=key)
    assert links_of([bulk.pk]) == truth_of([bulk.pk]) and links_of([bulk.pk])[bulk.pk][1] is True

    delete_incident(actor=admin, incident_id=bulk.pk)
    assert links_of([bulk.pk]) == truth_of([bulk.pk]) and links_of([bulk.pk])[bulk.pk][1] is False


# --- the list reads the index ----------------------------------------------------------------


def test_the_grid_workers_list_is_the_offices_incidents_newest_first(admin, worker, office, office_grids):
    ids = add_incidents(n=60, grids=office_grids, reporter=admin, per_minute=3)
    Incident.objects.filter(pk__in=ids[::7]).update(deleted_at=timezone.now())
    Incident.objects.filter(pk__in=ids[1::9]).update(reported_at=timezone.now() - timedelta(days=400))
    listed = list(selectors.incidents_visible_to(actor=worker).values_list("pk", flat=True))
    assert listed == oracle(office.pk) and len(listed) > 40
    # Walking the pages by cursor gives the same list, each row once.
    seen, cursor = [], None
    while True:
        _keyset, page = first_page(worker, cursor=cursor, size=7)
        seen += [row.pk for row in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == listed
    # The scope is one join to the link table: the order and the scope are the same rows.
    sql = str(selectors.incidents_visible_to(actor=worker).query)
    assert sql.count('JOIN "incidents_incident_offices"') == 1
    assert 'ORDER BY "incidents_incident_offices"."reported_at" DESC' in sql


def test_the_newest_page_walks_the_office_index_without_sorting_the_history(
    admin, worker, office, office_grids
):
    """Years of the office's incidents (3,000 here): the plan reads the index in order and stops
    after one page, also for a page deep in the list; no Sort node."""
    add_incidents(n=3000, grids=office_grids, reporter=admin, per_minute=1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE incidents_incident; ANALYZE incidents_incident_offices")
    keyset, page = first_page(worker)
    queryset = selectors.incidents_visible_to(actor=worker)
    for query in (
        queryset[:51],
        queryset.filter(keyset.beyond(keyset.values_of(page.rows[-1]), backwards=False)).order_by(
            *keyset.order(backwards=False)
        )[:51],
    ):
        text = explain(query, analyze=True)
        assert "incidents_office_listed" in text, text
        assert not re.search(r"\bSort\b", text), text
        scanned = re.search(r"Index (?:Only )?Scan using incidents_office_listed .*?actual rows=(\d+)", text)
        assert scanned and int(scanned.group(1)) <= 51, text


def test_a_page_costs_the_same_queries_at_two_sizes_of_history(
    api_client, client, admin, worker, office_grids
):
    add_incidents(n=30, grids=office_grids, reporter=admin)

    def costs() -> tuple[int, int]:
        api_client.force_authenticate(worker)
        with CaptureQueriesContext(connection) as api:
            assert api_client.get("/api/incidents/", {"page_size": 20}).status_code == 200
        client.force_login(worker)
        with CaptureQueriesContext(connection) as page:
            assert client.get("/incidents/").status_code == 200
        return len(api), len(page)

    small = costs()
    add_incidents(n=600, grids=office_grids, reporter=admin, minutes_ago=5000)
    assert costs() == small
