"""The dispatcher's queue and the incident list as pages: keyset "next"/"previous" links walk
every row once in the order the selector defines (urgency for the queue), a deep page costs the
queries the first does at any data size, the count is capped and says so, the queue's parts are
read through the open-incidents index, and bad cursors are a 400."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.roles import Role
from incidents import selectors, views
from incidents.models import Incident
from tests.factories import user_for_role
from tests.test_keyset import HOME, OTHER, add_a_citys_queue, add_incidents, grids_in

pytestmark = pytest.mark.django_db

MIXED = ("reported", "registered", "dispatched", "handling", "handled", "verified", "returned", "closed")


@pytest.fixture
def admin(db):
    from incidents.categories import seed_categories

    seed_categories()
    return user_for_role(Role.ADMIN)


@pytest.fixture
def dispatcher(admin):
    return user_for_role(Role.DISPATCHER)


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(views.IncidentListView, "page_size", 4)


def walk(client, path: str) -> tuple[list[int], list]:
    """Follow the page's "next" link to the end: the ids in order and each response."""
    seen, responses, url = [], [], path
    while url:
        response = client.get(url)
        assert response.status_code == 200
        responses.append(response)
        seen += [i.pk for i in response.context["object_list"]]
        found = re.search(r'rel="next" href="([^"]+)"', response.content.decode())
        url = path + found.group(1).replace("&amp;", "&") if found else None
    return seen, responses


def previous_link(path: str, response) -> str | None:
    found = re.search(r'rel="prev" href="([^"]+)"', response.content.decode())
    return path + found.group(1).replace("&amp;", "&") if found else None


@pytest.mark.parametrize("path", ["/incidents/queue/", "/incidents/"])
def test_next_walks_every_row_once_in_the_selectors_order_and_previous_walks_back(
    client, dispatcher, admin, small_pages, path
):
    add_incidents(n=45, grids=grids_in(HOME), reporter=admin, statuses=MIXED, per_minute=3)
    add_incidents(n=10, grids=grids_in(OTHER), reporter=admin, statuses=MIXED)
    client.force_login(dispatcher)
    seen, responses = walk(client, path)
    selector = selectors.dispatcher_queue if "queue" in path else selectors.incidents_visible_to
    assert seen == list(selector(actor=dispatcher).values_list("pk", flat=True))
    assert len(seen) == len(set(seen)) > 30
    back, response = [], responses[-1]
    while url := previous_link(path, response):
        response = client.get(url)
        back.append([i.pk for i in response.context["object_list"]])
    assert back == [[i.pk for i in r.context["object_list"]] for r in reversed(responses[:-1])]


def test_the_queue_order_is_overdue_then_urgent_then_the_rest_each_oldest_first(client, dispatcher, admin):
    ids = add_incidents(n=40, grids=grids_in(HOME), reporter=admin, statuses=MIXED)
    Incident.objects.filter(pk__in=ids[::3]).update(priority="urgent")
    client.force_login(dispatcher)
    shown = client.get("/incidents/queue/").context["object_list"]
    now = timezone.now()

    def part(incident):
        if incident.status in ("dispatched", "handling") and incident.due_at < now:
            return 0
        if incident.priority == "urgent":
            return 1
        return 2

    rows = Incident.objects.filter(pk__in=ids).exclude(status="closed")
    expected = sorted(rows, key=lambda i: (part(i), i.reported_at, i.pk))
    assert [i.pk for i in shown] == [i.pk for i in expected]
    assert {part(i) for i in shown} == {0, 1, 2}


def test_an_incident_that_falls_overdue_moves_up_the_queue(client, dispatcher, admin):
    (late,) = add_incidents(n=1, grids=grids_in(HOME), reporter=admin, statuses=("handling",), minutes_ago=1)
    add_incidents(n=3, grids=grids_in(HOME), reporter=admin, statuses=("handled",), minutes_ago=60)
    Incident.objects.filter(pk=late).update(due_at=timezone.now() + timedelta(hours=1))
    client.force_login(dispatcher)
    assert [i.pk for i in client.get("/incidents/queue/").context["object_list"]][-1] == late
    Incident.objects.filter(pk=late).update(due_at=timezone.now() - timedelta(minutes=1))
    assert [i.pk for i in client.get("/incidents/queue/").context["object_list"]][0] == late


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("path", ["/incidents/queue/", "/incidents/"])
def test_a_deep_page_costs_the_queries_of_the_first_at_any_data_size(
    client, dispatcher, admin, small_pages, path
):
    client.force_login(dispatcher)
    # Enough rows that the first page fills from the queue's first part (overdue) alone.
    add_incidents(n=60, grids=grids_in(HOME), reporter=admin, statuses=MIXED)
    small = _queries(client, path)
    add_incidents(n=400, grids=grids_in(HOME, 30), reporter=admin, statuses=MIXED)
    large = _queries(client, path)
    _seen, responses = walk(client, path)
    deep = previous_link(path, responses[-1])  # a page near the end, by its cursor
    assert small == large == _queries(client, deep)


def test_the_count_is_capped_and_says_so(client, dispatcher, admin, monkeypatch):
    add_incidents(n=12, grids=grids_in(HOME), reporter=admin)
    client.force_login(dispatcher)
    page = client.get("/incidents/")
    assert (page.context["count"], page.context["count_exact"]) == (12, True)
    monkeypatch.setattr(views, "PAGE_COUNT_CAP", 10)
    page = client.get("/incidents/")
    assert (page.context["count"], page.context["count_exact"]) == (10, False)
    assert "超过 10 件" in page.content.decode() or "more than 10 incidents" in page.content.decode()


@pytest.mark.parametrize("cursor", ["junk", "a\x00b", "x" * 3000, "W10:1abc:def"])
@pytest.mark.parametrize("path", ["/incidents/queue/", "/incidents/"])
def test_bad_cursors_are_a_400(client, dispatcher, admin, path, cursor):
    client.force_login(dispatcher)
    assert client.get(path, {"cursor": cursor}).status_code == 400


def test_a_cursor_belongs_to_its_page_and_its_user(client, dispatcher, admin, small_pages):
    add_incidents(n=12, grids=grids_in(HOME), reporter=admin, statuses=MIXED)
    client.force_login(dispatcher)
    _seen, responses = walk(client, "/incidents/")
    following = re.search(r'rel="next" href="\?([^"]+)"', responses[0].content.decode()).group(1)
    following = following.replace("&amp;", "&")
    assert client.get(f"/incidents/queue/?{following}").status_code == 400
    client.force_login(user_for_role(Role.DISPATCHER))
    assert client.get(f"/incidents/?{following}").status_code == 400


def test_each_queue_part_is_read_through_the_open_incidents_index(dispatcher, admin):
    add_a_citys_queue(grids=grids_in(HOME), reporter=admin)
    queue = selectors.dispatcher_queue(actor=dispatcher)
    # The overdue part has its own, narrower index (the clocked rows, migration 0013).
    indexes = ["incidents_clocked_reported", "incidents_open_reported", "incidents_open_reported"]
    for part, index in zip(selectors.queue_parts(), indexes, strict=True):
        query = queue.filter(part).order_by(*selectors.QUEUE_ORDER).values_list("pk")[:51]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            plan = query.explain()
        assert index in plan, plan
