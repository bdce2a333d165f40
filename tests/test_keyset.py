"""Keyset pagination of the large API lists (``anshun.api.pagination.KeysetPagination``).

Walking ``next`` returns every row exactly once, also while rows are added during the walk and
when many rows share a timestamp; ``previous`` walks back; a page costs a fixed number of
queries at any depth and any data size; and a cursor is the caller's own: garbage, NUL bytes,
another user's or another list's cursor are a 400, and no cursor ever shows a row out of scope.
"""

from __future__ import annotations

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from anshun.api import pagination
from grids.models import Grid, Region
from incidents import selectors
from incidents.models import Incident, IncidentCategory
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db

HOME = "520402005"  # 东关街道: the default dispatcher's township
OTHER = "520425"  # 紫云县


def add_incidents(
    *, n: int, grids: list[int], reporter, statuses=("reported",), per_minute: int = 1, minutes_ago: int = 0
) -> list[int]:
    """``n`` incidents over ``grids`` by SQL (fast; the subject is reading them), ``per_minute``
    of them sharing each reported_at, the newest ``minutes_ago`` minutes ago."""
    category = IncidentCategory.objects.get(code="exposed-rubbish")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH g AS (SELECT id, office_id, ST_PointOnSurface(geometry) AS p,
                              row_number() OVER (ORDER BY id) - 1 AS k, count(*) OVER () AS total
                       FROM grids_grid WHERE id = ANY(%s))
            INSERT INTO incidents_incident (client_uuid, category_id, description, location, address,
                grid_id, status, priority, source, reporter_id, reported_at, updated_at, due_at, version,
                escalation_level, request_digest)
            SELECT gen_random_uuid(), %s, 'keyset', g.p, '', g.id,
                   (%s::text[])[1 + s %% array_length(%s::text[], 1)], 'normal', 'sync_client', %s,
                   date_trunc('minute', now()) - ((%s + s / %s) || ' minutes')::interval, now(),
                   now() + ((s %% 5 - 2) || ' hours')::interval, 1, 0, ''
            FROM generate_series(0, %s - 1) AS s JOIN g ON g.k = s %% g.total
            RETURNING id
            """,
            [grids, category.pk, list(statuses), list(statuses), reporter.pk, minutes_ago, per_minute, n],
        )
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "INSERT INTO incidents_incident_offices (incident_id, gridoffice_id) "
            "SELECT i.id, g.office_id FROM incidents_incident i JOIN grids_grid g ON g.id = i.grid_id "
            "WHERE i.id = ANY(%s)",
            [ids],
        )
    return ids


# Every open status and the closed one, in turn.
QUEUE_STATUSES = (*selectors.OPEN_STATUSES, Incident.Status.CLOSED)


def add_a_citys_queue(*, grids: list[int], reporter) -> list[int]:
    """Incidents in a city's proportions, analysed: most closed; of the open ones most waiting to
    be registered or dispatched, a few on a unit's clock (some overdue), one in ten urgent.

    The open ids are returned. A test that asserts a plan runs on these, because on a handful of
    unanalysed rows every index that fits costs the same and the planner's pick is a coin toss."""
    add_incidents(n=6000, grids=grids, reporter=reporter, statuses=("closed",), minutes_ago=3000)
    waiting = add_incidents(n=1500, grids=grids, reporter=reporter, statuses=("reported", "registered"))
    mixed = add_incidents(n=60, grids=grids, reporter=reporter, statuses=QUEUE_STATUSES)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE incidents_incident SET priority = 'urgent' WHERE id = ANY(%s)", [(waiting + mixed)[::10]]
        )
        cursor.execute("SELECT id FROM incidents_incident WHERE id = ANY(%s) AND status <> 'closed'", [mixed])
        still_open = [row[0] for row in cursor.fetchall()]
        cursor.execute("ANALYZE incidents_incident")
    return waiting + still_open


def grids_in(code: str, count: int = 6) -> list[int]:
    return list(
        Grid.objects.filter(code__startswith=code).order_by("code").values_list("pk", flat=True)[:count]
    )


@pytest.fixture
def admin(db):
    from incidents.categories import seed_categories

    seed_categories()
    return user_for_role(Role.ADMIN)


@pytest.fixture
def dispatcher(admin):
    return user_for_role(Role.DISPATCHER)


@pytest.fixture
def stocked(admin):
    """40 incidents at home (3 sharing each minute, so the key ties on time) and 30 elsewhere."""
    home = add_incidents(n=40, grids=grids_in(HOME), reporter=admin, per_minute=3)
    away = add_incidents(n=30, grids=grids_in(OTHER), reporter=admin)
    return home, away


def walk(client, url, params) -> tuple[list[int], list[dict]]:
    """Follow ``next`` to the end; the ids in order and every answer."""
    seen, answers = [], []
    response = client.get(url, params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        answers.append(body)
        seen += [row["id"] for row in body["results"]]
        if not body["next"]:
            return seen, answers
        response = client.get(body["next"])


def test_walking_next_returns_every_row_once_in_order_and_previous_walks_back(
    api_client, dispatcher, stocked
):
    home, away = stocked
    api_client.force_authenticate(dispatcher)
    seen, answers = walk(api_client, "/api/incidents/", {"page_size": 7})
    expected = list(selectors.incidents_visible_to(actor=dispatcher).values_list("pk", flat=True))
    assert seen == expected and sorted(seen) == sorted(home)
    assert len(answers) == 6 and [len(a["results"]) for a in answers] == [7, 7, 7, 7, 7, 5]
    # The first page is numbered and counted; cursor pages never count.
    assert answers[0]["count"] == 40 and answers[0]["count_exact"] is True and answers[0]["previous"] is None
    assert all(a["count"] is None for a in answers[1:])
    # Back from the last page, page by page, to the first.
    back, body = [], answers[-1]
    while body["previous"]:
        body = api_client.get(body["previous"]).json()
        back.append([row["id"] for row in body["results"]])
    assert back == [[row["id"] for row in a["results"]] for a in reversed(answers[:-1])]


def test_a_walk_sees_every_row_once_while_rows_are_added_during_it(api_client, dispatcher, admin):
    home = add_incidents(n=30, grids=grids_in(HOME), reporter=admin, per_minute=2, minutes_ago=10)
    api_client.force_authenticate(dispatcher)
    seen, added_behind = [], []
    body = api_client.get("/api/incidents/", {"page_size": 4}).json()
    while True:
        seen += [row["id"] for row in body["results"]]
        # Newer rows land before the cursor (the walk has passed their place), older ones after it,
        # and some share the cursor row's very minute.
        add_incidents(n=2, grids=grids_in(HOME), reporter=admin, minutes_ago=0)
        added_behind += add_incidents(n=1, grids=grids_in(HOME), reporter=admin, minutes_ago=500 + len(seen))
        if not body["next"]:
            break
        body = api_client.get(body["next"]).json()
    assert len(seen) == len(set(seen)), "a row came twice"
    assert set(home) <= set(seen), "a row that was there all along was skipped"
    # Rows added ahead of the cursor (each older than the last) are reached; the last one was added
    # after the final page.
    assert set(added_behind[:-1]) <= set(seen) and added_behind[-1] not in seen


def test_numbered_pages_stay_for_shallow_pages_and_deep_numbers_point_to_the_cursor(
    api_client, dispatcher, stocked, monkeypatch
):
    api_client.force_authenticate(dispatcher)
    expected = list(selectors.incidents_visible_to(actor=dispatcher).values_list("pk", flat=True))
    second = api_client.get("/api/incidents/", {"page_size": 10, "page": 2}).json()
    assert [row["id"] for row in second["results"]] == expected[10:20]
    assert "page=" not in second["previous"] and "cursor=" not in second["previous"]  # page 1
    after = api_client.get(second["next"]).json()
    assert [row["id"] for row in after["results"]] == expected[20:30]
    monkeypatch.setattr(pagination, "MAX_NUMBERED_ROWS", 20)
    monkeypatch.setattr(pagination, "COUNT_CAP", 25)
    deep = api_client.get("/api/incidents/", {"page_size": 10, "page": 3})
    assert deep.status_code == 400 and "next" in deep.json()["page"][0]
    first = api_client.get("/api/incidents/", {"page_size": 10}).json()
    assert (first["count"], first["count_exact"]) == (25, False)


def test_patrol_logs_survey_responses_cases_and_audit_entries_page_by_cursor(api_client, admin):
    """Every large list takes the keyset paginator; its ordering is a valid keyset."""
    from audit.apis import ChangeViewSet
    from mediation.apis import CaseViewSet
    from safety_cells.apis import PatrolLogViewSet
    from surveys.apis import SurveyResponseViewSet

    for viewset, url in (
        (PatrolLogViewSet, "/api/patrol-logs/"),
        (SurveyResponseViewSet, "/api/survey-responses/"),
        (CaseViewSet, "/api/mediation/cases/"),
        (ChangeViewSet, "/api/audit/incidents/"),
    ):
        assert issubclass(viewset.pagination_class, pagination.KeysetPagination), viewset
        api_client.force_authenticate(admin)
        body = api_client.get(url, {"page_size": 2}).json()
        assert {"count", "count_exact", "next", "previous"} <= set(body), url
        assert api_client.get(url, {"cursor": "nonsense"}).status_code == 400


def test_audit_entries_walk_by_cursor(api_client, admin, dispatcher):
    """The audit trail's rows come from real changes: each report writes one."""
    from django.contrib.gis.geos import Point

    from incidents.services.reporting import report_incident

    grid = Grid.objects.get(pk=grids_in(HOME, 1)[0])
    point = grid.geometry.point_on_surface
    category = IncidentCategory.objects.get(code="exposed-rubbish")
    for n in range(7):
        report_incident(
            actor=dispatcher,
            category=category,
            description=f"审计 {n}",
            location=Point(point.x, point.y, srid=4326),
            source="hotline",  # the dispatcher logs calls (a grid worker's report is the grid's own)
        )
    auditor = user_for_role(Role.CITY_OFFICIAL)
    api_client.force_authenticate(admin if not auditor.can("audit.view") else auditor)
    seen = []
    body = api_client.get("/api/audit/incidents/", {"page_size": 3}).json()
    while True:
        seen += [row["history_id"] for row in body["results"]]
        if not body["next"]:
            break
        body = api_client.get(body["next"]).json()
    assert len(seen) == len(set(seen)) >= 7


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "",
        "a\x00b",
        "%00",
        "x" * 5000,
        # Named: a signed value holds the second it was made, and every xdist worker must
        # collect the same test ids.
        pytest.param(
            signing.dumps([0, 0, ["2026-01-01T00:00:00+00:00", 1]], salt="wrong salt", compress=False),
            id="signed-with-a-wrong-salt",
        ),
        pytest.param(
            signing.dumps([0, 0, ["not a date", 1]], salt="anshun.keyset:0:x", compress=False),
            id="signed-not-a-date",
        ),
        "WzAsMCxbIjIwMjYiLDFdXQ:1abc:forged",
    ],
)
def test_forged_and_garbage_cursors_are_a_400_never_a_500(api_client, dispatcher, stocked, cursor):
    api_client.force_authenticate(dispatcher)
    response = api_client.get("/api/incidents/", {"cursor": cursor})
    if cursor == "":
        assert response.status_code == 200  # an empty parameter is no cursor: the first page
        return
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"


def test_a_cursor_is_for_its_user_and_its_list(api_client, dispatcher, stocked):
    api_client.force_authenticate(dispatcher)
    following = api_client.get("/api/incidents/", {"page_size": 5}).json()["next"]
    colleague = user_for_role(Role.DISPATCHER)  # same scope, another person
    api_client.force_authenticate(colleague)
    assert api_client.get(following).status_code == 400
    api_client.force_authenticate(dispatcher)
    cursor = following.split("cursor=")[1].split("&")[0]
    assert api_client.get("/api/mediation/cases/", {"cursor": cursor}).status_code == 400
    assert api_client.get("/api/incidents/", {"cursor": cursor, "page": 2}).status_code == 400
    assert api_client.get("/api/incidents/", {"cursor": [cursor, cursor]}).status_code == 400


def test_no_cursor_shows_a_row_out_of_scope(api_client, dispatcher, stocked):
    """Even a cursor the server signed for this user, pointing into another county's rows, only
    narrows the user's own scoped list."""
    home, away = stocked
    api_client.force_authenticate(dispatcher)
    keyset = pagination.Keyset(selectors.incidents_visible_to(actor=dispatcher), purpose="/api/incidents/")
    from incidents.models import Incident

    for target in away[:5]:
        row = Incident.objects.get(pk=target)
        for backwards in (False, True):
            cursor = keyset.encode(
                user=dispatcher, segment=0, values=keyset.values_of(row), backwards=backwards
            )
            body = api_client.get("/api/incidents/", {"cursor": cursor, "page_size": 100}).json()
            assert not {r["id"] for r in body["results"]} & set(away)
    county = Region.objects.get(code=OTHER)
    seen, _answers = walk(api_client, "/api/incidents/", {"page_size": 9})
    assert not set(seen) & set(away)
    assert county.code not in {row["village"][:6] for a in _answers for row in a["results"]}


def _queries(api_client, url, params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = api_client.get(url, params)
    assert response.status_code == 200, response.content
    return len(captured)


def test_list_queries_are_the_same_at_any_depth_and_data_size(api_client, dispatcher, admin):
    api_client.force_authenticate(dispatcher)
    add_incidents(n=30, grids=grids_in(HOME), reporter=admin)
    small_first = _queries(api_client, "/api/incidents/", {"page_size": 10})
    small_next = _queries(api_client, api_client.get("/api/incidents/", {"page_size": 10}).json()["next"], {})
    add_incidents(n=600, grids=grids_in(HOME, 30), reporter=admin, statuses=("reported", "dispatched"))
    large_first = _queries(api_client, "/api/incidents/", {"page_size": 10})
    body = api_client.get("/api/incidents/", {"page_size": 10}).json()
    for _ in range(20):  # deep into the list
        body = api_client.get(body["next"]).json()
    large_deep = _queries(api_client, body["next"], {})
    assert small_first == large_first
    assert small_next == large_deep


def test_the_schema_documents_the_cursor_and_the_capped_count(api_client):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    listing = schema["paths"]["/api/incidents/"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"cursor", "page", "page_size"} <= names
    page = schema["components"]["schemas"]["PaginatedIncidentOutputList"]
    assert {"count", "count_exact", "next", "previous", "results"} <= set(page["properties"])
    assert page["properties"]["count"]["nullable"] is True
    sync = schema["paths"]["/api/incidents/sync/"]["get"]
    assert "page" not in {p["name"] for p in sync["parameters"]}


def test_a_cursor_page_starts_its_index_scan_at_the_cursor(dispatcher, stocked):
    """No OFFSET: the deep page's query begins the (reported_at, id) index scan at the cursor."""
    from django.db import transaction

    queryset = selectors.incidents_visible_to(actor=dispatcher)
    keyset = pagination.Keyset(queryset)
    row = queryset[20]
    deep = queryset.filter(keyset.beyond(keyset.values_of(row), backwards=False))[:51]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        plan = deep.explain()
    assert "incidents_live_reported" in plan and "Index Cond: (reported_at <=" in plan, plan
    assert "OFFSET" not in str(deep.query)
    assert list(deep.values_list("pk", flat=True)) == list(queryset.values_list("pk", flat=True)[21:72])
