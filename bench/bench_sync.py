"""Sync catch-up: a grid worker's phone that was offline while 10,000 incidents of its office
changed walks the commit-ordered feed (``/api/incidents/sync/``) from its cursor to the end, 100
at a time as the phone asks, over the five-year incident volume.

Baseline: the same walk, request by request, by the same phone (the same authenticated DRF request
through the same middleware) to a bare view mounted for the bench only (``RawSyncPage``) that runs,
per page, the feed's horizon, the office's incidents after the cursor in (transaction, sequence)
order with every column the phone receives (category, grid, village, handling office, reporter,
handler joined) and the office's departures after the cursor, in hand-written SQL, and answers each
row as a JSON object of those columns. Both read the same 10,000 rows in the same order, both
through the office's link positions (``incidents_office_sync``) and both with the page planned in
its written join order.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

from django.db import connection
from django.http import HttpResponse
from django.test import override_settings
from django.urls import include, path
from django.utils import timezone
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from accounts.roles import Role
from bench.harness import Comparison, compare
from bench.volume import ensure_incidents, volume_scale

CHANGES = 10_000
PAGE = 100


def _worker(office):
    from accounts.models import User
    from accounts.services import user_create

    username = f"bench-phone-{office.code}"
    return User.objects.filter(username=username).first() or user_create(
        username=username, password=uuid.uuid4().hex, role=Role.GRID_WORKER, grid_office=office
    )


def _change_office_incidents(office_id: int, n: int) -> None:
    """n changes in the office's scope: its incidents edited, newest first, and new reports in its
    grids for the rest (each a row of the feed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE incidents_incident i
            SET description = i.description || '（已核实）', version = i.version + 1, updated_at = now()
            WHERE i.id IN (SELECT o.incident_id FROM incidents_incident_offices o
                           JOIN incidents_incident x ON x.id = o.incident_id
                           WHERE o.gridoffice_id = %(office)s ORDER BY x.reported_at DESC LIMIT %(n)s)
            """,
            {"office": office_id, "n": n},
        )
        left = n - cursor.rowcount
        cursor.execute(
            """
            WITH g AS (SELECT row_number() OVER (ORDER BY id)::int AS k, id,
                              ST_PointOnSurface(geometry) AS p
                       FROM grids_grid WHERE office_id = %(office)s),
                 c AS (SELECT id FROM incidents_incidentcategory WHERE is_active ORDER BY code LIMIT 1),
                 made AS (
                     INSERT INTO incidents_incident (client_uuid, category_id, description, location, address,
                         grid_id, status, priority, source, reported_at, updated_at, version,
                         escalation_level, request_digest, sync_txid, sync_seq)
                     SELECT gen_random_uuid(), c.id, '离线期间上报（基准）', g.p, '', g.id, 'reported',
                            'normal',
                            'grid_worker', now(), now(), 1, 0, '', 0, 0
                     FROM generate_series(0, %(left)s - 1) AS s CROSS JOIN c
                     JOIN g ON g.k = 1 + s %% (SELECT count(*) FROM g)
                     RETURNING id)
            INSERT INTO incidents_incident_offices (incident_id, gridoffice_id)
            SELECT id, %(office)s FROM made
            """,
            {"office": office_id, "left": max(left, 0)},
        )
        cursor.execute("ANALYZE incidents_incident")


HORIZON = """
SELECT COALESCE((SELECT min(x::text::bigint) FROM pg_snapshot_xip(pg_current_snapshot()) AS x),
                pg_snapshot_xmax(pg_current_snapshot())::text::bigint)
"""

PAGE_SQL = """
SELECT i.id, i.client_uuid::text, i.version, i.deleted_at IS NOT NULL, i.status, c.code, c.name, c.duty,
       i.description, i.priority, i.source, ST_X(i.location), ST_Y(i.location), i.address, g.code, g.name,
       v.code, ho.code, r.username, h.username, i.reported_at, i.updated_at, i.due_at, i.closed_at,
       i.escalation_level,
       i.status IN ('dispatched', 'handling', 'returned') AND i.due_at < now() AS is_overdue,
       i.sync_txid, i.sync_seq
FROM incidents_incident_offices o
JOIN incidents_incident i ON i.id = o.incident_id
JOIN incidents_incidentcategory c ON c.id = i.category_id
JOIN grids_grid g ON g.id = i.grid_id
JOIN grids_region v ON v.id = g.village_id
LEFT JOIN grids_gridoffice ho ON ho.id = i.handling_office_id
LEFT JOIN accounts_user r ON r.id = i.reporter_id
LEFT JOIN accounts_user h ON h.id = i.handler_id
WHERE o.gridoffice_id = %(office)s
  AND o.sync_txid < %(horizon)s AND (o.sync_txid, o.sync_seq) > (%(txid)s, %(seq)s)
ORDER BY o.sync_txid, o.sync_seq
LIMIT %(limit)s
"""

DEPARTURES_SQL = """
SELECT incident_id, client_uuid::text, txid, seq FROM incidents_incidentscopeexit
WHERE office_id = %(office)s AND txid < %(horizon)s AND (txid, seq) > (%(txid)s, %(seq)s)
ORDER BY txid, seq LIMIT %(limit)s
"""


COLUMNS = (
    "id",
    "client_uuid",
    "version",
    "deleted",
    "status",
    "category",
    "category_name",
    "duty",
    "description",
    "priority",
    "source",
    "longitude",
    "latitude",
    "address",
    "grid",
    "grid_name",
    "village",
    "handling_office",
    "reporter",
    "handler",
    "reported_at",
    "updated_at",
    "due_at",
    "closed_at",
    "escalation_level",
    "is_overdue",
    "txid",
    "seq",
)
DEPARTURE_COLUMNS = ("id", "client_uuid", "txid", "seq")


class RawSyncPage(APIView):
    """The baseline's page: the signed-in grid worker's office, the cursor as two numbers, the
    page by hand-written SQL, each row a JSON object of its columns."""

    permission_classes = [IsAuthenticated]

    def get(self, request):
        txid, seq = int(request.query_params["txid"]), int(request.query_params["seq"])
        with connection.cursor() as cursor:
            cursor.execute(HORIZON)
            horizon = cursor.fetchone()[0]
            params = {
                "office": request.user.grid_office_id,
                "horizon": horizon,
                "txid": txid,
                "seq": seq,
                "limit": PAGE + 1,
            }
            # Planned in the written join order, as the platform plans its page (the search over
            # every order of these joins costs more than running the page).
            cursor.execute("SET join_collapse_limit = 1")
            cursor.execute(PAGE_SQL, params)
            rows = [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
            cursor.execute("RESET join_collapse_limit")
            cursor.execute(DEPARTURES_SQL, params)
            rows += [dict(zip(DEPARTURE_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
        rows.sort(key=lambda row: (row["txid"], row["seq"]))
        page = rows[:PAGE]
        body = {"results": page, "next": [page[-1]["txid"], page[-1]["seq"]] if page else None}
        body["has_more"] = len(rows) > PAGE
        return HttpResponse(
            json.dumps(body, default=str, ensure_ascii=False), content_type="application/json"
        )


# The bench's URLs: the site's, and the baseline's bare feed (``ROOT_URLCONF`` during the run).
urlpatterns = [path("bench/sync/", RawSyncPage.as_view()), path("", include("anshun.urls"))]


def _raw_walk(phone, start: tuple[int, int]) -> int:
    txid, seq = start
    read = 0
    while True:
        response = phone.get("/bench/sync/", {"txid": txid, "seq": seq})
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        read += len(body["results"])
        if not body["has_more"]:
            return read
        txid, seq = body["next"]


def run() -> Iterator[Comparison | str]:
    from rest_framework.test import APIClient

    from grids.models import GridOffice
    from incidents.apis import decode_cursor

    _scale, (small, _large) = volume_scale()
    ensure_incidents(small)
    office = GridOffice.objects.filter(grids__isnull=False).order_by("code").first()
    phone = APIClient()
    phone.force_authenticate(_worker(office))

    def walk(cursor: str | None, **first) -> tuple[str, int]:
        read = 0
        while True:
            params = {"page_size": PAGE, **({"cursor": cursor} if cursor else first)}
            response = phone.get("/api/incidents/sync/", params)
            assert response.status_code == 200, response.content[:300]
            body = response.json()
            read += len(body["results"])
            cursor = body["next_cursor"]
            if not body["has_more"]:
                return cursor, read

    # The phone's cursor before it went offline: a first sync without history ends at "now".
    start, _ = walk(None, updated_after=timezone.now().isoformat())
    _change_office_incidents(office.pk, CHANGES)
    position = decode_cursor(start)

    def platform():
        _end, seen = walk(start)
        assert seen == CHANGES, seen

    def baseline():
        assert _raw_walk(phone, (position.txid, position.seq)) == CHANGES

    # One walk a side (each is 100 requests).
    with override_settings(ROOT_URLCONF=__name__):
        comparison = compare(
            f"sync catch-up, {CHANGES:,} changes of one grid office, pages of {PAGE}",
            platform,
            baseline,
            repeat=3,
            warm=False,
            target=1.5,
            sides=(
                f"platform: a grid worker's phone walks GET /api/incidents/sync/ from its cursor to the "
                f"end ({CHANGES // PAGE} pages, JSON); baseline: the same phone walks a bare DRF view "
                f"that per page runs the horizon, the office's rows after the cursor (its link positions, "
                f"written join order) with every field joined (not the per-row list of actions the "
                f"user may take) and its departures in hand-written SQL, and answers each row as a "
                f"JSON object"
            ),
        )
    yield comparison
