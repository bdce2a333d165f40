"""Issue #14 at five-year volume: a grid office's sync feed is read from its link rows' copy of
each incident's feed position (``incidents_office_sync``), and the dispatcher's queue opens on its
overdue part through ``incidents_clocked_reported``. The copies stay exact whichever door writes
the incident or the link, and each index serves its query in a plan."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from accounts.roles import Role
from grids.models import Grid, GridOffice
from incidents import selectors
from incidents.models import Incident, IncidentOffice
from tests.factories import user_for_role
from tests.incidents.conftest import let_the_feed_see_this_test
from tests.incidents.test_index_plans import plan
from tests.test_keyset import add_a_citys_queue, add_incidents

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
    return list(Grid.objects.filter(office=office).order_by("code").values_list("pk", flat=True)[:3])


def positions(model, ids, key: str = "pk") -> dict[int, tuple[int, int]]:
    rows = model.objects.filter(**{f"{key}__in": ids}).values_list(key, "sync_txid", "sync_seq")
    return {pk: (txid, seq) for pk, txid, seq in rows}


def assert_links_follow(ids) -> None:
    truth = positions(Incident, ids)
    for link in IncidentOffice.objects.filter(incident_id__in=ids):
        assert (link.sync_txid, link.sync_seq) == truth[link.incident_id], link


def test_every_write_of_an_incident_moves_its_links_position(admin, office, office_grids):
    ids = add_incidents(n=4, grids=office_grids, reporter=admin)  # raw INSERTs of both rows
    assert_links_follow(ids)
    before = positions(Incident, ids)
    other = GridOffice.objects.exclude(pk=office.pk).order_by("pk").first()
    with connection.cursor() as cursor:
        # A hand-written link, and a hand-written copy: both take the incident's position.
        cursor.execute(
            "INSERT INTO incidents_incident_offices (incident_id, gridoffice_id, reported_at, live, "
            "sync_txid, sync_seq) VALUES (%s, %s, now(), true, 1, 1)",
            [ids[0], other.pk],
        )
        cursor.execute("UPDATE incidents_incident_offices SET sync_seq = 1 WHERE incident_id = %s", [ids[1]])
        cursor.execute("UPDATE incidents_incident SET description = 'psql' WHERE id = %s", [ids[2]])
    Incident.objects.filter(pk=ids[3]).update(version=2)
    assert_links_follow(ids)
    after = positions(Incident, ids)
    assert after[ids[2]] > before[ids[2]] and after[ids[3]] > before[ids[3]]  # the writes moved them
    assert IncidentOffice.objects.filter(incident_id=ids[0]).count() == 2


def test_services_keep_the_links_position(admin, office, office_grids):
    from incidents.services.editing import delete_incident

    ids = add_incidents(n=2, grids=office_grids, reporter=admin)
    before = positions(IncidentOffice, ids, key="incident_id")
    delete_incident(actor=admin, incident_id=ids[0])
    assert_links_follow(ids)
    assert positions(IncidentOffice, [ids[0]], key="incident_id")[ids[0]] > before[ids[0]]


def test_the_offices_feed_is_its_link_positions_in_order(admin, office, office_grids):
    worker = user_for_role(Role.GRID_WORKER, office=office)
    ids = add_incidents(n=30, grids=office_grids, reporter=admin)
    Incident.objects.filter(pk__in=ids[:10]).update(version=5)  # moved to the end of the feed
    let_the_feed_see_this_test()
    seen, after = [], None
    while True:
        page = selectors.sync_page(actor=worker, after=after, limit=7)
        seen += [row["id"] for _position, kind, row in page.entries if kind == "incident"]
        after = page.next
        if not page.has_more:
            break
    expected = [pk for pk, _position in sorted(positions(Incident, ids).items(), key=lambda item: item[1])]
    assert seen[-len(ids) :] == expected and len(set(seen)) == len(seen)


def test_the_offices_feed_walks_incidents_office_sync(admin, office, office_grids):
    worker = user_for_role(Role.GRID_WORKER, office=office)
    add_incidents(n=3, grids=office_grids, reporter=admin)
    incidents = selectors.incidents_visible_to(actor=worker, include_deleted=True).keyset_on(
        sync_txid=F("office_links__sync_txid"), sync_seq=F("office_links__sync_seq")
    )
    queryset = incidents.filter(keyset_sync_txid__lt=2**62).order_by("sync_txid", "sync_seq")[:101]
    assert "incidents_office_sync" in plan(queryset)


def test_the_queues_overdue_part_walks_incidents_clocked_reported(admin, office_grids):
    add_a_citys_queue(grids=office_grids, reporter=admin)
    dispatcher = user_for_role(Role.DISPATCHER, region=Grid.objects.get(pk=office_grids[0]).village.parent)
    overdue = selectors.queue_parts(now=timezone.now() + timedelta(days=1))[0]
    queryset = (
        selectors.dispatcher_queue(actor=dispatcher).filter(overdue).order_by(*selectors.QUEUE_ORDER)[:51]
    )
    assert "incidents_clocked_reported" in plan(queryset)
