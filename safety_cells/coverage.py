"""The coverage tables: the gap analyses of the coverage page, computed ahead of the page.

``refresh_coverage`` rebuilds them from the records in one transaction (readers see the old
figures or the new ones, never a mix), under an advisory lock so two refreshes never overlap.
Celery runs it every ten minutes (``safety_cells.tasks.refresh_coverage``), after a grid import,
and the demo loader runs it at the end. The page reads only these tables and shows the time of the
latest refresh ("as of"), so its cost is the size of the viewer's jurisdiction, not of the history.

What is kept:

- ``VillageCoverage``: per village, whether it has an active security committee and patrol team
  (joint defence), the latest patrol of its patrol team, the small devices handed out there;
- ``GridCoverage``: per grid, its Skynet cameras (all, online) and the latest patrol whose route
  crossed it in the last ``COVERAGE_DAYS`` days;
- ``GridIncidentDay``: incidents per grid and local day over the last ``COVERAGE_DAYS`` days, so
  "incidents in the last N days" is a sum over at most N small rows per grid;
- ``UnwatchedIncident``: the incidents of the last ``COVERAGE_DAYS`` days with no camera within
  ``DEFAULT_CAMERA_RADIUS_M`` (any camera: whether footage may exist does not depend on who looks).

Deleted incidents are not counted.

The village and grid tables are rebuilt on every run (their cost is the villages, grids, cameras
and the year's patrols). The two incident tables are brought up to date incrementally: a run
counts only the incidents added since the previous run (by id, so a report synced late from a
phone's outbox, with an earlier ``reported_at``, is counted too) and recounts the days they fall
on. A run is full — both incident tables rebuilt — when asked (``full=True``), when the cameras
changed since the previous run (their fingerprint), and when the last full run is more than
``FULL_EVERY`` old (which also catches edits and deletions of older incidents).
"""

from __future__ import annotations

import datetime
import logging
import time

from django.db import connection, transaction
from django.utils import timezone

from anshun.commands import system_command
from safety_cells.models import CoverageRefresh, PreventionUnit

logger = logging.getLogger(__name__)

COVERAGE_DAYS = 365
CAMERA_RADIUS_M = 300  # safety_cells.selectors.DEFAULT_CAMERA_RADIUS_M
LOCK_KEY = 0x5AFE_C0DE  # pg_advisory_xact_lock key of the refresh
FULL_EVERY = datetime.timedelta(hours=24)

CAMERA_FINGERPRINT = """
    SELECT COUNT(*) || ':' || COALESCE(SUM(hashtextextended(code || ST_AsEWKT(location), 0)), 0)
    FROM safety_cells_camera
"""

VILLAGES = """
    INSERT INTO safety_cells_villagecoverage (village_id, township_id, has_committee,
        has_patrol_team, last_patrol_at, fishing_alarms, super_b_locks)
    SELECT v.id, v.parent_id,
        EXISTS (SELECT 1 FROM safety_cells_preventionunit u
                WHERE u.region_id = v.id AND u.kind = %(committee)s AND u.is_active),
        EXISTS (SELECT 1 FROM safety_cells_preventionunit u
                WHERE u.region_id = v.id AND u.kind = %(patrol_team)s AND u.is_active),
        (SELECT MAX(p.ended_at) FROM safety_cells_patrollog p
                JOIN safety_cells_preventionunit u ON u.id = p.unit_id
                WHERE u.region_id = v.id AND u.kind = %(patrol_team)s),
        COALESCE((SELECT SUM(d.quantity) FROM safety_cells_devicedistribution d
                  WHERE d.village_id = v.id AND d.device = 'fishing_alarm'), 0),
        COALESCE((SELECT SUM(d.quantity) FROM safety_cells_devicedistribution d
                  WHERE d.village_id = v.id AND d.device = 'super_b_lock'), 0)
    FROM grids_region v
    WHERE v.level = 'village'
"""

GRIDS = """
    INSERT INTO safety_cells_gridcoverage (grid_id, camera_count, cameras_online, last_patrol_at)
    SELECT g.id, COALESCE(c.total, 0), COALESCE(c.online, 0),
        (SELECT MAX(p.ended_at) FROM safety_cells_patrollog p
         WHERE p.ended_at >= %(since)s AND ST_Intersects(p.route, g.geometry))
    FROM grids_grid g
    LEFT JOIN (
        SELECT grid_id, COUNT(*) AS total, COUNT(*) FILTER (WHERE status = 'online') AS online
        FROM safety_cells_camera WHERE grid_id IS NOT NULL GROUP BY grid_id
    ) c ON c.grid_id = g.id
"""

INCIDENT_DAYS = """
    INSERT INTO safety_cells_gridincidentday (grid_id, day, incidents)
    SELECT i.grid_id, (i.reported_at AT TIME ZONE %(tz)s)::date, COUNT(*)
    FROM incidents_incident i
    WHERE i.reported_at >= %(since)s AND i.grid_id IS NOT NULL AND i.deleted_at IS NULL
    GROUP BY 1, 2
"""

# The local days on which incidents added since the previous run fall: recounted whole.
NEW_DAYS = """
    SELECT DISTINCT (reported_at AT TIME ZONE %(tz)s)::date FROM incidents_incident
    WHERE id > %(after_id)s AND reported_at >= %(since)s
"""

INCIDENT_DAYS_ON = """
    INSERT INTO safety_cells_gridincidentday (grid_id, day, incidents)
    SELECT i.grid_id, (i.reported_at AT TIME ZONE %(tz)s)::date, COUNT(*)
    FROM incidents_incident i
    WHERE i.reported_at >= %(since)s AND i.grid_id IS NOT NULL AND i.deleted_at IS NULL
      AND (i.reported_at AT TIME ZONE %(tz)s)::date = ANY(%(days)s)
      AND i.reported_at >= %(first)s AND i.reported_at < %(last)s
    GROUP BY 1, 2
"""

UNWATCHED = """
    INSERT INTO safety_cells_unwatchedincident (incident_id, reported_at)
    SELECT i.id, i.reported_at
    FROM incidents_incident i
    WHERE i.reported_at >= %(since)s AND i.location IS NOT NULL AND i.deleted_at IS NULL
      AND i.id > %(after_id)s
      AND NOT EXISTS (
          SELECT 1 FROM safety_cells_camera c
          WHERE ST_DWithin(c.location, i.location::geography, %(radius)s)
      )
"""

TABLES = (
    "safety_cells_villagecoverage",
    "safety_cells_gridcoverage",
    "safety_cells_gridincidentday",
    "safety_cells_unwatchedincident",
)


@system_command("Celery beat every ten minutes, after a grid import, and the demo loader")
def refresh_coverage(*, reason: str = "", full: bool = False) -> CoverageRefresh:
    """Bring the coverage tables up to date from the records, in one transaction (see the module).

    Idempotent: a repeated or concurrent run (it waits for the lock) computes the same rows from
    the same records. Ends with ANALYZE so the planner knows the new rows.
    """
    started = timezone.now()
    clock = time.monotonic()
    params = {
        "committee": PreventionUnit.Kind.SECURITY_COMMITTEE,
        "patrol_team": PreventionUnit.Kind.PATROL_TEAM,
        "since": started - datetime.timedelta(days=COVERAGE_DAYS + 1),
        "tz": str(timezone.get_default_timezone()),
        "radius": CAMERA_RADIUS_M,
        "after_id": 0,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        cursor.execute(f"DELETE FROM {TABLES[0]}")  # noqa: S608 - fixed table names
        cursor.execute(VILLAGES, params)
        villages = cursor.rowcount
        cursor.execute(f"DELETE FROM {TABLES[1]}")  # noqa: S608
        cursor.execute(GRIDS, params)
        grids = cursor.rowcount
        cursor.execute(CAMERA_FINGERPRINT)
        cameras = cursor.fetchone()[0]
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM incidents_incident")
        max_incident_id = cursor.fetchone()[0]
        previous = CoverageRefresh.objects.order_by("-finished_at").first()
        last_full = CoverageRefresh.objects.filter(full=True).order_by("-finished_at").first()
        full = (
            full
            or previous is None
            or previous.cameras != cameras
            or last_full is None
            or started - last_full.started_at > FULL_EVERY
        )
        if full:
            cursor.execute(f"DELETE FROM {TABLES[2]}")  # noqa: S608
            cursor.execute(INCIDENT_DAYS, params)
            cursor.execute(f"DELETE FROM {TABLES[3]}")  # noqa: S608
            cursor.execute(UNWATCHED, params)
        else:
            _add_new_incidents(cursor, {**params, "after_id": previous.max_incident_id})
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")
        CoverageRefresh.objects.filter(finished_at__lt=started - datetime.timedelta(days=7)).delete()
        refresh = CoverageRefresh.objects.create(
            started_at=started,
            finished_at=timezone.now(),
            villages=villages,
            grids=grids,
            reason=reason[:60],
            full=full,
            max_incident_id=max_incident_id,
            cameras=cameras,
        )
    seconds = time.monotonic() - clock
    logger.info("coverage refreshed in %.1f s (%s villages, %s grids)", seconds, villages, grids)
    return refresh


def _add_new_incidents(cursor, params: dict) -> None:
    """The incremental half: drop what left the window, recount the days that incidents added
    since the previous run fall on, and judge those incidents' cameras."""
    first_day = (params["since"].astimezone(timezone.get_default_timezone())).date()
    cursor.execute("DELETE FROM safety_cells_gridincidentday WHERE day < %s", [first_day])
    cursor.execute("DELETE FROM safety_cells_unwatchedincident WHERE reported_at < %s", [params["since"]])
    cursor.execute(NEW_DAYS, params)
    days = [row[0] for row in cursor.fetchall()]
    if days:
        zone = timezone.get_default_timezone()
        bounds = {
            "days": days,
            "first": datetime.datetime.combine(min(days), datetime.time.min, tzinfo=zone),
            "last": datetime.datetime.combine(max(days), datetime.time.min, tzinfo=zone)
            + datetime.timedelta(days=1),
        }
        cursor.execute("DELETE FROM safety_cells_gridincidentday WHERE day = ANY(%s)", [days])
        cursor.execute(INCIDENT_DAYS_ON, {**params, **bounds})
    cursor.execute(UNWATCHED, params)
