"""The sync feed builds its rows from plain values (``incidents.apis.SyncRenderer``), not through
the serializer's fields: the bytes it sends must be exactly those the list's serializer makes of
the same incidents (and the tombstone serializer of deletions and departures), for every kind of
row: no place, no handler or reporter (null), a handling unit, overdue, closed, escalated,
deleted, gone out of sight, and text full of characters that JSON must escape."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from accounts.roles import Role
from grids.models import Region
from incidents import selectors
from incidents.apis import IncidentOutputSerializer, IncidentTombstoneSerializer
from incidents.models import Incident, IncidentOffice, IncidentScopeExit
from incidents.services.editing import delete_incident
from incidents.services.workflow import dispatch_incident, register_incident, take_incident
from tests.factories import department_in, user_for_role
from tests.incidents.conftest import HOME_OFFICE_PREFIX, let_the_feed_see_this_test, point_in

pytestmark = pytest.mark.django_db

SYNC = "/api/incidents/sync/"
AWKWARD = '引号"双"\\反斜杠\n换行\t制表 </script><b>&amp; \u2028\u2029 😀 \x07 \u00e9\u0301 ‮rtl'


@pytest.fixture
def mixture(worker, dispatcher, home_grid, home_office, other_office, make_incident):
    """One incident of each kind the feed sends, all in (or once in) the home office's sight."""
    admin = user_for_role(Role.ADMIN)
    plain = make_incident(description=AWKWARD, address='贵州省安顺市 "西秀区" \\ 1号 <>&\'')
    no_place = make_incident(location=None, grid=home_grid, description="无坐标")
    unit = make_incident(description="派到别的网格")
    register_incident(actor=dispatcher, incident_id=unit.pk)
    dispatch_incident(actor=dispatcher, incident_id=unit.pk, handling_office=other_office)
    Incident.objects.filter(pk=unit.pk).update(due_at=timezone.now() - timedelta(days=2))  # overdue
    taken = make_incident(description="本网格办理")
    register_incident(actor=dispatcher, incident_id=taken.pk)
    dispatch_incident(actor=dispatcher, incident_id=taken.pk, handling_office=home_office)
    take_incident(actor=worker, incident_id=taken.pk)
    closed = make_incident(description="已办结")
    Incident.objects.filter(pk=closed.pk).update(
        status=Incident.Status.CLOSED, closed_at=timezone.now() - timedelta(hours=3), escalation_level=2
    )
    anonymous = make_incident(description="热线")
    Incident.objects.filter(pk=anonymous.pk).update(reporter=None, source=Incident.Source.HOTLINE)
    deleted = make_incident(description="删除")
    delete_incident(actor=admin, incident_id=deleted.pk)
    gone = make_incident(description="离开视线")
    IncidentOffice.objects.filter(incident=gone, gridoffice=home_office).delete()
    return {"plain": plain, "no_place": no_place, "unit": unit, "taken": taken, "closed": closed,
            "anonymous": anonymous, "deleted": deleted, "gone": gone}  # fmt: skip


def serializer_bytes(actor, body: dict) -> bytes:
    """The page as the serializers render it: each result rebuilt from the database."""
    request = SimpleNamespace(user=actor)
    expected = []
    for result in body["results"]:
        if result.get("reason") == "out_of_scope":
            departure = IncidentScopeExit.objects.filter(incident_id=result["id"]).latest("txid", "seq")
            expected.append(IncidentTombstoneSerializer().to_representation(departure))
            continue
        incident = selectors.incidents_visible_to(actor=actor, include_deleted=True).get(pk=result["id"])
        if incident.deleted_at is not None:
            expected.append(IncidentTombstoneSerializer().to_representation(incident))
        else:
            expected.append(IncidentOutputSerializer(incident, context={"request": request}).data)
    return JSONRenderer().render(
        {"results": expected, "next_cursor": body["next_cursor"], "has_more": body["has_more"]}
    )


@pytest.mark.parametrize("who", ["worker", "township", "admin"])
def test_the_feed_sends_the_serializers_bytes_for_every_kind_of_row(mixture, worker, who):
    actor = {
        "worker": worker,
        "township": user_for_role(Role.TOWNSHIP_OFFICIAL, region=Region.objects.get(code=HOME_OFFICE_PREFIX)),
        "admin": user_for_role(Role.ADMIN),
    }[who]
    client = APIClient()
    client.force_authenticate(actor)
    let_the_feed_see_this_test()
    response = client.get(SYNC, {"page_size": 1000}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    body = response.json()
    ids = [r["id"] for r in body["results"]]
    assert len(ids) == len(set(ids))
    expected_ids = {m.pk for m in mixture.values()} - ({mixture["gone"].pk} if who == "admin" else set())
    assert expected_ids <= set(ids)
    assert response.content == serializer_bytes(actor, body)
    by_id = {r["id"]: r for r in body["results"]}
    # The mixture really holds each kind (so the comparison above covered them).
    assert by_id[mixture["plain"].pk]["description"] == AWKWARD
    assert by_id[mixture["no_place"].pk]["longitude"] is None
    assert by_id[mixture["unit"].pk]["is_overdue"] is True
    assert by_id[mixture["unit"].pk]["handling_office"] is not None
    assert by_id[mixture["taken"].pk]["handler"] == worker.username
    assert by_id[mixture["closed"].pk]["closed_at"] and by_id[mixture["closed"].pk]["escalation_level"] == 2
    assert by_id[mixture["anonymous"].pk]["reporter"] is None
    assert by_id[mixture["deleted"].pk]["reason"] == "deleted"
    if who == "worker":
        assert by_id[mixture["gone"].pk] == {
            "id": mixture["gone"].pk,
            "client_uuid": str(mixture["gone"].client_uuid),
            "deleted": True,
            "reason": "out_of_scope",
        }
        assert by_id[mixture["taken"].pk]["actions"]  # the handling unit's next step


def test_a_sync_page_costs_the_same_queries_at_two_sizes(worker, make_incident):
    client = APIClient()
    client.force_authenticate(worker)

    def cost() -> int:
        let_the_feed_see_this_test()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(SYNC, {"page_size": 1000}).status_code == 200
        return len(queries)

    make_incident()
    small = cost()
    for n in range(25):
        make_incident(description=f"第{n}件")
    assert cost() == small


def test_a_page_after_a_cursor_starts_the_position_index_at_the_cursor(worker):
    """``(txid, seq) > (a, b)`` as one row comparison, which the position index serves as its
    start; the two-case OR made every page of a catch-up walk the feed from its beginning."""
    from incidents.selectors import FeedPosition

    with CaptureQueriesContext(connection) as queries:
        selectors.sync_page(actor=worker, after=FeedPosition(5, 6), limit=10)
    sql = [q["sql"] for q in queries.captured_queries]
    (incidents,) = [s for s in sql if '"incidents_incident"."client_uuid"' in s]
    (departures,) = [s for s in sql if 'FROM "incidents_incidentscopeexit"' in s]
    # A grid worker's feed is read in the office's link positions (``incidents_office_sync``).
    links = '"incidents_incident_offices"'
    assert f'({links}."sync_txid", {links}."sync_seq") > (5, 6)' in incidents
    exits = '"incidents_incidentscopeexit"'
    assert f'({exits}."txid", {exits}."seq") > (5, 6)' in departures
    assert " OR " not in incidents


@pytest.mark.parametrize("who", ["worker", "township", "county", "department", "admin", "stranger"])
def test_the_feeds_hand_written_page_holds_exactly_what_visible_to_shows(
    mixture, worker, dispatcher, other_office, far_grid, make_incident, who
):
    """The page is a written statement (``incidents.selectors.SYNC_SQL``), not the scoped
    queryset: for every kind of jurisdiction it must hold the incidents ``visible_to`` shows and
    the departures ``departures_visible_to`` shows, no more and no fewer."""
    county = Region.objects.get(code=HOME_OFFICE_PREFIX[:6])
    police = department_in(Region.objects.get(code=HOME_OFFICE_PREFIX), "police")
    sent = make_incident(description="派给派出所")
    register_incident(actor=dispatcher, incident_id=sent.pk)
    dispatch_incident(actor=dispatcher, incident_id=sent.pk, handling_department=police)
    far = make_incident(actor=user_for_role(Role.ADMIN), location=point_in(far_grid), description="别的区县")
    actor = {
        "worker": worker,
        "township": user_for_role(Role.TOWNSHIP_OFFICIAL, region=Region.objects.get(code=HOME_OFFICE_PREFIX)),
        "county": user_for_role(Role.COUNTY_OFFICIAL, region=county),
        "department": user_for_role(Role.DEPARTMENT_OFFICER, department=police),
        "admin": user_for_role(Role.ADMIN),
        "stranger": user_for_role(Role.GRID_WORKER, office=other_office),
    }[who]
    let_the_feed_see_this_test()
    page = selectors.sync_page(actor=actor, limit=1000)
    assert not page.has_more
    incidents = [row["id"] for _position, kind, row in page.entries if kind == "incident"]
    departures = [row["incident_id"] for _position, kind, row in page.entries if kind == "departure"]
    assert sorted(incidents) == sorted(Incident.objects.visible_to(actor).values_list("pk", flat=True))
    assert sorted(departures) == sorted(
        selectors.departures_visible_to(actor=actor).values_list("incident_id", flat=True)
    )
    assert [position for position, _kind, _row in page.entries] == sorted(p for p, _k, _r in page.entries)
    assert (far.pk in incidents) is (who == "admin")
    if who == "department":
        assert incidents == [sent.pk]
    if who in ("worker", "township"):
        assert mixture["plain"].pk in incidents
