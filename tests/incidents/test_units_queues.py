"""The unit's inbox and the queues at size: a fixed number of queries whatever the data, keyset
pages in the triage order (overdue, urgent, oldest), each part read through an index; and the
demo departments, staff and routes computed from the region tree."""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.roles import Role
from grids.models import Region
from incidents import selectors, views
from incidents.models import Department, Incident, IncidentAssignment, RoutingRule
from tests.factories import department_in, user_for_role
from tests.test_keyset import HOME, add_a_citys_queue, add_incidents, grids_in

pytestmark = pytest.mark.django_db

MIXED = ("reported", "registered", "dispatched", "handling", "handled", "verified", "returned", "closed")


@pytest.fixture
def admin(db):
    from incidents.categories import seed_categories

    seed_categories()
    return user_for_role(Role.ADMIN)


@pytest.fixture
def housing(admin):
    return department_in(Region.objects.get(code="520402"), "housing")


@pytest.fixture
def officer(housing):
    return user_for_role(Role.DEPARTMENT_OFFICER, department=housing)


def share_out(ids: list[int], department: Department, *, part: str = "lead") -> None:
    """Dispatch rows to ``department`` as the service leaves them (shares and sight), by SQL."""
    IncidentAssignment.objects.bulk_create(
        [IncidentAssignment(incident_id=pk, part=part, department=department) for pk in ids]
    )
    Incident.departments.through.objects.bulk_create(
        [Incident.departments.through(incident_id=pk, department_id=department.pk) for pk in ids]
    )


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_inbox_costs_the_same_queries_at_any_size_and_walks_every_share_once(
    client, admin, housing, officer, monkeypatch
):
    monkeypatch.setattr(views.IncidentListView, "page_size", 4)
    first = add_incidents(n=60, grids=grids_in(HOME), reporter=admin, statuses=MIXED)
    share_out(first, housing)
    client.force_login(officer)
    small = _queries(client, "/incidents/inbox/")
    more = add_incidents(n=400, grids=grids_in(HOME, 30), reporter=admin, statuses=MIXED)
    share_out(more, housing)
    other = add_incidents(n=40, grids=grids_in(HOME), reporter=admin, statuses=MIXED)
    share_out(other, department_in(Region.objects.get(code="520402"), "police"))
    large = _queries(client, "/incidents/inbox/")
    assert small == large
    seen, url = [], "/incidents/inbox/"
    while url:
        page = client.get(url)
        seen += [i.pk for i in page.context["object_list"]]
        found = re.search(r'rel="next" href="([^"]+)"', page.content.decode())
        url = "/incidents/inbox/" + found.group(1).replace("&amp;", "&") if found else None
    assert seen == list(selectors.unit_inbox(actor=officer).values_list("pk", flat=True))
    assert len(seen) == len(set(seen)) and not set(seen) & set(other)
    assert all(Incident.objects.get(pk=pk).status != "closed" for pk in seen[:20])


# Overdue, urgent, the rest. The overdue part has its own narrower index (the clocked rows), which
# the dispatcher's queue is held to (test_queue_pages); here either is an index walk by age over
# open rows, since joined to a unit's shares the two can cost the same.
QUEUE_PART_INDEXES = (
    ("incidents_clocked_reported", "incidents_open_reported"),
    ("incidents_open_reported",),
    ("incidents_open_reported",),
)


def test_each_inbox_part_is_read_through_indexes(admin, housing, officer):
    open_ids = add_a_citys_queue(grids=grids_in(HOME), reporter=admin)
    housings = open_ids[::4]  # a unit holds a share of the township's open work
    share_out(housings, housing)
    share_out(sorted(set(open_ids) - set(housings)), department_in(housing.region, "police"))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE incidents_incidentassignment; ANALYZE incidents_incident_departments")
    inbox = selectors.unit_inbox(actor=officer)
    for part, index in zip(selectors.queue_parts(), QUEUE_PART_INDEXES, strict=True):
        query = inbox.filter(part).order_by(*selectors.QUEUE_ORDER).values_list("pk")[:51]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            plan = query.explain()
        # The incidents walked by age through the open-incidents index (the overdue part through
        # its narrower clocked one), so no part sorts the inbox; the unit's shares found by an
        # index (on the department, or on the incident when the walk probes each one).
        assert any(name in plan for name in index), plan
        assert re.search(r"Index (Only )?Scan using incidents_(assign|incidentassignment)\w* on", plan), plan
        assert "Seq Scan" not in plan, plan


def test_the_queue_parts_are_overdue_then_urgent_then_the_rest_and_each_uses_the_open_index(admin):
    dispatcher = user_for_role(Role.DISPATCHER)
    add_a_citys_queue(grids=grids_in(HOME), reporter=admin)
    queue = selectors.dispatcher_queue(actor=dispatcher)
    parts = [list(queue.filter(p).values_list("pk", flat=True)) for p in selectors.queue_parts()]
    assert sum(map(len, parts)) == queue.count() and all(parts)
    assert all(Incident.objects.get(pk=pk).priority == "urgent" for pk in parts[1])
    for part, index in zip(selectors.queue_parts(), QUEUE_PART_INDEXES, strict=True):
        query = queue.filter(part).order_by(*selectors.QUEUE_ORDER).values_list("pk")[:51]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            plan = query.explain()
        assert any(name in plan for name in index), plan


def test_a_bad_inbox_cursor_is_a_400_and_the_inbox_is_for_handling_units(client, officer):
    client.force_login(officer)
    for cursor in ("junk", "a\x00b", "x" * 3000):
        assert client.get("/incidents/inbox/", {"cursor": cursor}).status_code == 400
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    assert client.get("/incidents/inbox/").status_code == 403


def test_demo_departments_are_computed_from_the_tree_with_logins_and_routes(admin):
    from incidents.demo_units import TITLES, load_demo_departments

    output = load_demo_departments()
    counties = Region.objects.filter(level="county").count()
    townships = Region.objects.filter(level="township").exclude(kind=Region.Kind.MANAGEMENT_ZONE).count()
    expected = len(TITLES["city"]) + counties * len(TITLES["county"]) + townships * len(TITLES["township"])
    assert Department.objects.count() == expected
    assert Department.objects.filter(region__code="520402005", kind="police").get().name.endswith("派出所")
    staff = User.objects.filter(role=Role.DEPARTMENT_OFFICER)
    assert staff.count() == len(TITLES["county"]) + len(TITLES["township"])
    assert all(user.username in output for user in staff)
    assert (
        RoutingRule.objects.filter(region__code="520402005", category__code="security-hazard")
        .get()
        .department.kind
        == "police"
    )
    assert load_demo_departments().startswith(f"{expected} departments (0 new), 0 new routes")
    assert User.objects.filter(role=Role.DEPARTMENT_OFFICER).count() == staff.count()
