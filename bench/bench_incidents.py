"""Incidents at scale: grid assignment, bulk sync and the list endpoint.

Each figure is a ratio against a baseline doing the same work in the same run:
- grid assignment of 100,000 points by ``assign_grids`` vs one plain PostGIS spatial join;
- 10,000 incidents through the bulk endpoint's service path vs ``COPY`` of the same rows
  (incidents, their office links and first timeline entries);
- the list endpoint, the incident list page and the dispatcher's queue over 1,000,000
  incidents; each line names both sides:
  - "its SQL replayed vs same SQL": the statements one request ran, captured and run again
    alone, against hand-written SQL returning the same rows (and the same capped count): the
    database work of the page, like for like (the target lines);
  - "end to end vs same SQL": the whole request (DRF or a rendered page) against that SQL,
    reported without a target: it adds Python's fixed cost of a 50-row page;
  - "p.1009 vs p.1": the deep page against the first through the same door (keyset: no growth);
  - "before vs now": the queue's old SQL (computed-urgency sort and a full count) against the
    statements the queue page runs now.
  The grid worker's incident list is scoped through the office link table, so its cost grows
  with the office's history (about 1,000 rows per office at 300k incidents): an index-friendly
  scope there needs the report time on the link rows (not done here).
Everything written is rolled back.
"""

from __future__ import annotations

import io
import random
import uuid

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.roles import Role
from bench.harness import compare
from grids.models import Grid, Region
from incidents.categories import seed_categories
from incidents.models import Incident, IncidentCategory
from incidents.services.bulk import ItemResult, assign_grids, report_incidents_bulk

POINTS = 100_000
BULK_ITEMS = 10_000
LIST_ROWS = 1_000_000


class Rollback(Exception):
    pass


def _random_points(n: int) -> list[tuple[float, float]]:
    extent = Region.objects.get(code="5204").boundary.extent
    rng = random.Random(5204)
    return [(rng.uniform(extent[0], extent[2]), rng.uniform(extent[1], extent[3])) for _ in range(n)]


def _plain_join(points):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.i, g.id FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(x, y, i) "
            "LEFT JOIN grids_grid g ON ST_Contains(g.geometry, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))",
            [[p[0] for p in points], [p[1] for p in points]],
        )
        return cursor.fetchall()


def _grid_assignment():
    points = _random_points(POINTS)
    assigned = assign_grids(points=points)
    joined = {i: g for i, g in _plain_join(points)}
    assert assigned == [joined.get(i + 1) for i in range(POINTS)]
    return compare(
        f"grid assignment, {POINTS:,} points (assign_grids vs spatial join)",
        lambda: assign_grids(points=points),
        lambda: _plain_join(points),
        repeat=3,
        target=1.5,
    )


def _in_rollback(work):
    def run():
        try:
            with transaction.atomic():
                work()
                raise Rollback
        except Rollback:
            pass

    return run


def _bulk_sync(admin):
    category = IncidentCategory.objects.get(code="exposed-rubbish")
    grids = list(Grid.objects.order_by("code").values_list("pk", "office_id", "geometry")[:2000])
    places = [(pk, office, geometry.point_on_surface) for pk, office, geometry in grids]
    from django.contrib.gis.geos import Point

    def items():
        return [
            {
                "client_uuid": uuid.uuid4(),
                "category": category,
                "description": f"批量 {n}",
                "location": Point(places[n % len(places)][2].x, places[n % len(places)][2].y, srid=4326),
                "source": Incident.Source.SYNC_CLIENT,
            }
            for n in range(BULK_ITEMS)
        ]

    prepared = items()  # the same rows for every run: each run is rolled back

    def platform():
        batch = [dict(item) for item in prepared]
        for start in range(0, BULK_ITEMS, 1000):
            chunk = batch[start : start + 1000]
            results = [ItemResult(index=i) for i in range(len(chunk))]
            report_incidents_bulk(actor=admin, items=chunk, results=results)
            assert all(r.result == "created" for r in results), results[0]

    def baseline():
        now = timezone.now().isoformat()
        rows, links, events = io.StringIO(), io.StringIO(), io.StringIO()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('incidents_incident', 'id')) FROM generate_series(1, "
                "%s)",
                [BULK_ITEMS],
            )
            ids = [row[0] for row in cursor.fetchall()]
        for n, pk in enumerate(ids):
            grid, office, point = places[n % len(places)]
            rows.write(
                f"{pk}\t{uuid.uuid4()}\t{category.pk}\t批量 {n}\tSRID=4326;POINT({point.x} "
                f"{point.y})\t\t{grid}\treported\t"
                f"normal\tsync_client\t{admin.pk}\t{now}\t{now}\t1\t0\t\n"
            )
            links.write(f"{pk}\t{office}\n")
            events.write(f"{pk}\t{admin.pk}\t{now}\t\treported\t\n")
        with connection.cursor() as cursor:
            raw = cursor.cursor
            for buffer, sql in (
                (
                    rows,
                    "COPY incidents_incident (id, client_uuid, category_id, description, location, address, "
                    "grid_id, "
                    "status, priority, source, reporter_id, reported_at, updated_at, version, "
                    "escalation_level, request_digest) FROM STDIN",
                ),
                (links, "COPY incidents_incident_offices (incident_id, gridoffice_id) FROM STDIN"),
                (
                    events,
                    "COPY incidents_incidentevent (incident_id, actor_id, at, from_status, to_status, note) "
                    "FROM STDIN",
                ),
            ):
                buffer.seek(0)
                raw.copy_expert(sql, buffer)

    return compare(
        f"bulk sync, {BULK_ITEMS:,} incidents (bulk service path vs COPY)",
        _in_rollback(platform),
        _in_rollback(baseline),
        repeat=3,
        target=5,
    )


def _fill(admin, n: int):
    """n incidents spread over every grid, written by SQL (this is the data, not the subject)."""
    category = IncidentCategory.objects.get(code="exposed-rubbish")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH g AS (SELECT id, office_id, ST_PointOnSurface(geometry) AS p,
                              row_number() OVER (ORDER BY id) - 1 AS k, count(*) OVER () AS total
                       FROM grids_grid)
            INSERT INTO incidents_incident (client_uuid, category_id, description, location, address,
                grid_id, status, priority, source, reporter_id, reported_at, updated_at, due_at, version,
                escalation_level, request_digest)
            SELECT gen_random_uuid(), %s, 'bench', g.p, '', g.id,
                   (ARRAY['reported','registered','dispatched','handling','handled','closed'])[1 + s %% 6],
                   'normal', 'sync_client', %s, now() - (s || ' seconds')::interval, now(),
                   now() + ((s %% 100 - 50) || ' hours')::interval, 1, 0, ''
            FROM generate_series(0, %s - 1) AS s JOIN g ON g.k = s %% g.total
            """,
            [category.pk, admin.pk, n],
        )
        cursor.execute(
            "INSERT INTO incidents_incident_offices (incident_id, gridoffice_id) "
            "SELECT i.id, g.office_id FROM incidents_incident i JOIN grids_grid g ON g.id = i.grid_id"
        )
        cursor.execute("ANALYZE incidents_incident; ANALYZE incidents_incident_offices")


# What a list row shows (the API's fields, the page's line): the incident, its category, grid and
# village; ``_with_people`` adds the reporter, handler and handling unit to the page's rows.
SHOWN = (
    "i.*, c.code AS c_code, c.name AS c_name, c.duty AS c_duty, g.code AS g_code, g.name AS g_name, "
    "v.code AS v_code"
)
JOINS = (
    "FROM incidents_incident i JOIN incidents_incidentcategory c ON c.id = i.category_id "
    "JOIN grids_grid g ON g.id = i.grid_id JOIN grids_region v ON v.id = g.village_id "
)


def _with_people(page_sql: str, order: str) -> str:
    """A page's rows with their reporter, handler and handling unit, joined to the page only."""
    return (
        "SELECT p.*, r.username AS reporter, h.username AS handler, ho.code AS handling_office "
        f"FROM ({page_sql}) AS p LEFT JOIN accounts_user r ON r.id = p.reporter_id "
        "LEFT JOIN accounts_user h ON h.id = p.handler_id "
        f"LEFT JOIN grids_gridoffice ho ON ho.id = p.handling_office_id ORDER BY {order}"
    )


OPEN = "('reported','registered','dispatched','handling','handled','verified','returned')"
# The queue's three parts, as selectors.queue_parts has them.
OVERDUE = "i.status IN ('dispatched','handling') AND i.due_at IS NOT NULL AND i.due_at < now()"
QUEUE_PARTS = (
    OVERDUE,
    f"i.priority = 'urgent' AND NOT ({OVERDUE})",
    f"i.priority <> 'urgent' AND NOT ({OVERDUE})",
)


def _raw_list_page(path: str, after=None) -> list:
    """The list's page as hand-written SQL: newest first, 50 rows, by keyset when ``after``."""
    keyset = "AND (i.reported_at, i.id) < (%s, %s) " if after else ""
    with connection.cursor() as cursor:
        cursor.execute(
            _with_people(
                f"SELECT {SHOWN} {JOINS}WHERE v.path LIKE %s AND i.deleted_at IS NULL "
                f"{keyset}ORDER BY i.reported_at DESC, i.id DESC LIMIT 50",
                "p.reported_at DESC, p.id DESC",
            ),
            [path + "%", *(after or ())],
        )
        return cursor.fetchall()


def _raw_count(path: str, cap: int, where: str = "") -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM incidents_incident i JOIN grids_grid g ON g.id = i.grid_id "
            "JOIN grids_region v ON v.id = g.village_id "
            f"WHERE v.path LIKE %s AND i.deleted_at IS NULL {where}LIMIT %s) AS capped",
            [path + "%", cap + 1],
        )
        return cursor.fetchone()[0]


def _raw_queue_page(path: str) -> list:
    """The queue's first page in urgency order, the fastest way SQL has: each part read oldest
    first by the open-incidents index (LIMIT 50 each), then the parts in urgency order."""
    parts = " UNION ALL ".join(
        f"(SELECT {n} AS part, {SHOWN} {JOINS}"
        f"WHERE v.path LIKE %s AND i.deleted_at IS NULL AND i.status IN {OPEN} AND {condition} "
        "ORDER BY i.reported_at, i.id LIMIT 50)"
        for n, condition in enumerate(QUEUE_PARTS)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _with_people(
                f"SELECT * FROM ({parts}) AS q ORDER BY part, reported_at, id LIMIT 50",
                "p.part, p.reported_at, p.id",
            ),
            [path + "%"] * 3,
        )
        return cursor.fetchall()


def _raw_old_queue(path: str) -> tuple:
    """The queue as it was read before: every open incident in scope sorted by a computed
    urgency, then a full count for the page numbers."""
    with connection.cursor() as cursor:
        cursor.execute(
            _with_people(
                f"SELECT {SHOWN} {JOINS}WHERE v.path LIKE %s AND i.deleted_at IS NULL "
                f"AND i.status IN {OPEN} ORDER BY CASE WHEN {QUEUE_PARTS[0]} THEN 0 WHEN {QUEUE_PARTS[1]} "
                "THEN 1 ELSE 2 END, i.reported_at, i.id LIMIT 50",
                "1",
            ),
            [path + "%"],
        )
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT count(*) FROM incidents_incident i JOIN grids_grid g ON g.id = i.grid_id "
            "JOIN grids_region v ON v.id = g.village_id "
            f"WHERE v.path LIKE %s AND i.deleted_at IS NULL AND i.status IN {OPEN}",
            [path + "%"],
        )
        return rows, cursor.fetchone()


def replayed(client, url: str, params=None):
    """The SQL a request runs, captured once and then run alone (same statements, same
    parameters): the page's database work without Python, for a like-for-like ratio."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200
    statements = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if sql.startswith("DECLARE "):  # a server-side cursor (a form's choices): its query
            sql = sql.split(" FOR ", 1)[1]
        elif sql.startswith(("SAVEPOINT", "RELEASE", "FETCH", "CLOSE")):
            continue
        statements.append(sql)

    def run():
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                if cursor.description:
                    cursor.fetchall()

    return run


def _deep_cursor(actor, keyset_purpose: str, ordering, segment: int, sql_order: str, where: str, depth: int):
    """The cursor a reader holds after ``depth`` rows (as the "next" link would give it)."""
    from anshun.api.pagination import Keyset
    from incidents.models import Incident

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.reported_at, i.id FROM incidents_incident i JOIN grids_grid g ON g.id = i.grid_id "
            "JOIN grids_region v ON v.id = g.village_id WHERE v.path LIKE %s AND i.deleted_at IS NULL "
            f"{where} ORDER BY {sql_order} OFFSET %s LIMIT 1",
            [actor.region.path + "%", depth],
        )
        values = cursor.fetchone()
    keyset = Keyset(Incident.objects.all(), ordering=ordering, purpose=keyset_purpose)
    return keyset.encode(user=actor, segment=segment, values=values, backwards=False), values


def _list_at_scale(admin):
    from django.test import Client
    from rest_framework.test import APIClient

    from tests.factories import user_for_role

    results = []

    def measure():
        dispatcher = user_for_role(Role.DISPATCHER, region=Region.objects.get(code="520402"))
        api = APIClient()
        api.force_authenticate(dispatcher)
        pages = Client()
        pages.force_login(dispatcher)
        path = dispatcher.region.path
        depth = 50 * 1008  # the 1,009th page of 50

        def get(client, url, params=None):
            def fetch():
                response = client.get(url, params or {})
                assert response.status_code == 200, response.status_code

            return fetch

        api_cursor, api_after = _deep_cursor(
            dispatcher,
            "/api/incidents/",
            ("-reported_at", "-id"),
            0,
            "i.reported_at DESC, i.id DESC",
            "",
            depth,
        )
        page_cursor, _after = _deep_cursor(
            dispatcher,
            "incidents:list",
            ("-reported_at", "-id"),
            0,
            "i.reported_at DESC, i.id DESC",
            "",
            depth,
        )
        # A queue position deep in its last part (the first two are shorter than 1,009 pages here).
        queue_cursor, _after = _deep_cursor(
            dispatcher,
            "incidents:queue",
            ("reported_at", "id"),
            2,
            "i.reported_at, i.id",
            f"AND i.status IN {OPEN} AND {QUEUE_PARTS[2]}",
            depth // 4,
        )
        results.append(
            compare(
                "list API p.1, its SQL replayed vs same SQL (50 + count to 10k)",
                replayed(api, "/api/incidents/", {"page_size": 50}),
                lambda: (_raw_list_page(path), _raw_count(path, 10_000)),
                repeat=5,
                target=1.5,
            )
        )
        results.append(
            compare(
                "list API p.1 end to end (DRF, 50 rows) vs same SQL",
                get(api, "/api/incidents/", {"page_size": 50}),
                lambda: (_raw_list_page(path), _raw_count(path, 10_000)),
                repeat=5,
            )
        )
        results.append(
            compare(
                "list API p.1009 by cursor, its SQL replayed vs same SQL",
                replayed(api, "/api/incidents/", {"page_size": 50, "cursor": api_cursor}),
                lambda: _raw_list_page(path, after=api_after),
                repeat=5,
                target=1.5,
            )
        )
        results.append(
            compare(
                "list API p.1009 by cursor vs p.1, both through the API",
                get(api, "/api/incidents/", {"page_size": 50, "cursor": api_cursor}),
                get(api, "/api/incidents/", {"page_size": 50}),
                repeat=5,
                target=1.5,
            )
        )
        results.append(
            compare(
                "incident list page p.1009 vs p.1, both rendered",
                get(pages, "/incidents/", {"cursor": page_cursor}),
                get(pages, "/incidents/"),
                repeat=5,
                target=1.5,
            )
        )
        queue_sql = lambda: (_raw_queue_page(path), _raw_count(path, 1000, f"AND i.status IN {OPEN} "))  # noqa: E731
        results.append(
            compare(
                "queue page, its SQL replayed vs same-order SQL (+count to 1k)",
                replayed(pages, "/incidents/queue/"),
                queue_sql,
                repeat=5,
                target=1.5,
            )
        )
        results.append(
            compare(
                "queue page end to end (rendered) vs same-order SQL",
                get(pages, "/incidents/queue/"),
                queue_sql,
                repeat=5,
            )
        )
        results.append(
            compare(
                "queue page p.250 of its last part vs p.1, both rendered",
                get(pages, "/incidents/queue/", {"cursor": queue_cursor}),
                get(pages, "/incidents/queue/"),
                repeat=5,
                target=1.5,
            )
        )
        results.append(
            compare(
                "queue SQL before (CASE sort + full count) vs now (replayed)",
                lambda: _raw_old_queue(path),
                replayed(pages, "/incidents/queue/"),
                repeat=3,
            )
        )

        # A grid worker's list: scoped by the incident's offices (its grid's office and any unit it
        # was dispatched to), the link table joined by office.
        from grids.models import GridOffice

        office = GridOffice.objects.filter(grids__village__path__startswith=path).order_by("code").first()
        worker = user_for_role(Role.GRID_WORKER, office=office)
        worker_api = APIClient()
        worker_api.force_authenticate(worker)

        def raw_worker_page():
            with connection.cursor() as cursor:
                cursor.execute(
                    _with_people(
                        f"SELECT {SHOWN} {JOINS}"
                        "JOIN incidents_incident_offices o ON o.incident_id = i.id "
                        "WHERE o.gridoffice_id = %s AND i.deleted_at IS NULL "
                        "ORDER BY i.reported_at DESC, i.id DESC LIMIT 50",
                        "p.reported_at DESC, p.id DESC",
                    ),
                    [office.pk],
                )
                rows = cursor.fetchall()
                cursor.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM incidents_incident i "
                    "JOIN incidents_incident_offices o ON o.incident_id = i.id "
                    "WHERE o.gridoffice_id = %s AND i.deleted_at IS NULL LIMIT 10001) AS capped",
                    [office.pk],
                )
                return rows, cursor.fetchone()

        results.append(
            compare(
                "grid worker's list API p.1, its SQL replayed vs same SQL",
                replayed(worker_api, "/api/incidents/", {"page_size": 50}),
                raw_worker_page,
                repeat=5,
                target=1.5,
            )
        )
        results.append(
            compare(
                "grid worker's list API p.1 end to end vs same SQL",
                get(worker_api, "/api/incidents/", {"page_size": 50}),
                raw_worker_page,
                repeat=5,
            )
        )

    def work():
        _fill(admin, LIST_ROWS)
        measure()

    _in_rollback(work)()
    return results


def run():
    from tests.factories import user_for_role

    seed_categories()
    results = [_grid_assignment()]
    with transaction.atomic():
        admin = user_for_role(Role.ADMIN, username=f"bench-admin-{uuid.uuid4().hex[:8]}")
    try:
        results.append(_bulk_sync(admin))
        results.extend(_list_at_scale(admin))
    finally:
        admin.delete()
    return results
