"""The sync feed under concurrency, on real commits: a slow transaction never lands behind a
cursor a client has already passed, and nothing is served twice.

Before the feed was commit-ordered, a row's place was its ``updated_at``, set when it was
saved, not when its transaction committed: a change held in a slow transaction (a lock wait,
a large upload) committed behind later, faster changes that a client had already paged past,
and was skipped for good."""

import random
import threading
import time

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from accounts.roles import Role
from grids.models import GridOffice
from incidents.models import Incident, IncidentCategory
from incidents.services.editing import update_incident
from incidents.services.reporting import report_incident
from tests.factories import user_for_role
from tests.incidents.conftest import HOME_OFFICE_PREFIX, point_in

pytestmark = pytest.mark.django_db(transaction=True)

SYNC = "/api/incidents/sync/"


@pytest.fixture
def place(incident_tree):
    office = GridOffice.objects.filter(seat__code__startswith=HOME_OFFICE_PREFIX).order_by("code").first()
    worker = user_for_role(Role.GRID_WORKER, office=office)
    grid = office.grids.order_by("code").first()
    category = IncidentCategory.objects.get(code="exposed-rubbish")

    def report(description="并发") -> Incident:
        return report_incident(
            actor=worker, category=category, description=description, location=point_in(grid)
        )[0]

    client = APIClient()
    client.force_authenticate(worker)
    return worker, report, client


def walk(client, cursor=None, *, page_size=2):
    seen = []
    while True:
        query = {"page_size": page_size}
        if cursor:
            query["cursor"] = cursor
        response = client.get(SYNC, query)
        assert response.status_code == 200, response.content
        page = response.json()
        seen += [(r["id"], r["version"]) for r in page["results"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return seen, cursor


def test_a_change_held_in_an_open_transaction_is_served_when_it_commits(place):
    worker, report, client = place
    a = report("甲")
    seen, cursor = walk(client)
    assert seen == [(a.pk, 1)]

    holding, release, failures = threading.Event(), threading.Event(), []

    def slow_change():
        try:
            with transaction.atomic():
                update_incident(actor=worker, incident_id=a.pk, description="甲，慢慢提交")
                holding.set()
                assert release.wait(30)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
            holding.set()
        finally:
            connection.close()

    thread = threading.Thread(target=slow_change)
    thread.start()
    try:
        assert holding.wait(30)
        b, c = report("乙"), report("丙")  # commit at once, after A's change was made
        # While A's transaction is open, the feed holds back what came after it instead of
        # moving the cursor past A.
        early, cursor = walk(client, cursor)
    finally:
        release.set()
        thread.join(30)
    assert not failures, failures

    late, cursor = walk(client, cursor)
    everything = early + late
    assert sorted(everything) == sorted([(a.pk, 2), (b.pk, 1), (c.pk, 1)]), everything
    assert len(everything) == len(set(everything)) == 3  # nothing repeated
    assert early == []  # B and C waited for A, which began before them
    assert walk(client, cursor)[0] == []


def test_many_writers_and_one_reader_nothing_skipped_nothing_repeated(place):
    """Writers hold their transactions open for random moments while a client keeps paging;
    at the end the client has every incident's final version, and each version of an incident
    at most once, in increasing order."""
    worker, report, client = place
    incidents = [report(f"第{i}件") for i in range(6)]
    rng = random.Random(20261130)
    plans = [[(rng.choice(incidents).pk, rng.random() / 20) for _ in range(6)] for _ in range(4)]
    failures = []

    def writer(plan):
        try:
            for pk, pause in plan:
                with transaction.atomic():
                    update_incident(actor=worker, incident_id=pk, description=f"改于{time.monotonic()}")
                    time.sleep(pause)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(plan,)) for plan in plans]
    for thread in threads:
        thread.start()
    seen, cursor = [], None
    while any(t.is_alive() for t in threads):
        page, cursor = walk(client, cursor, page_size=3)
        seen += page
        time.sleep(0.01)
    for thread in threads:
        thread.join(30)
    page, cursor = walk(client, cursor, page_size=3)
    seen += page
    assert not failures, failures

    final = dict(Incident.objects.values_list("pk", "version"))
    assert len(seen) == len(set(seen)), "a version was served twice"
    for pk, version in final.items():
        versions = [v for p, v in seen if p == pk]
        assert versions == sorted(versions) and versions[-1] == version, (pk, versions, version)
    assert sum(len(plan) for plan in plans) == sum(v - 1 for v in final.values())
