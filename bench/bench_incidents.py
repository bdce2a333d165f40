"""Incidents at scale: grid assignment, bulk sync and the list endpoint.

Each figure is a ratio against a baseline doing the same work in the same run:
- grid assignment of 100,000 points by ``assign_grids`` vs one plain PostGIS spatial join;
- 10,000 incidents through the bulk endpoint's service path vs ``COPY`` of the same rows
  (incidents, their office links and first timeline entries);
- the list endpoint and the dispatcher's queue over 1,000,000 incidents vs the raw SQL
  for the same page.
Everything written is rolled back.
"""

from __future__ import annotations

import io
import random
import uuid

from django.db import connection, transaction
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


def _list_at_scale(admin):
    from rest_framework.test import APIClient

    from tests.factories import user_for_role

    results = []

    def measure():
        dispatcher = user_for_role(Role.DISPATCHER, region=Region.objects.get(code="520402"))
        client = APIClient()
        client.force_authenticate(dispatcher)
        path = dispatcher.region.path

        def api_list():
            response = client.get("/api/incidents/", {"page_size": 50})
            assert response.status_code == 200

        def raw_list():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT i.*, c.code, g.code, v.code FROM incidents_incident i "
                    "JOIN incidents_incidentcategory c ON c.id = i.category_id JOIN grids_grid g ON g.id = "
                    "i.grid_id "
                    "JOIN grids_region v ON v.id = g.village_id "
                    "WHERE v.path LIKE %s AND i.deleted_at IS NULL ORDER BY i.reported_at DESC, i.id DESC "
                    "LIMIT 50",
                    [path + "%"],
                )
                rows = cursor.fetchall()
                cursor.execute(
                    "SELECT count(*) FROM incidents_incident i JOIN grids_grid g ON g.id = i.grid_id "
                    "JOIN grids_region v ON v.id = g.village_id WHERE v.path LIKE %s AND i.deleted_at IS "
                    "NULL",
                    [path + "%"],
                )
                return rows, cursor.fetchone()

        def queue_page():
            from django.test import Client

            page = Client()
            page.force_login(dispatcher)
            assert page.get("/incidents/queue/").status_code == 200

        results.append(
            compare(
                f"incident list API, page of 50 over {LIST_ROWS:,} incidents (county dispatcher)",
                api_list,
                raw_list,
                repeat=3,
            )
        )
        results.append(
            compare(
                f"dispatcher queue page over {LIST_ROWS:,} incidents (vs raw list SQL)",
                queue_page,
                raw_list,
                repeat=3,
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
