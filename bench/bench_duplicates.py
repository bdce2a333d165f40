"""The duplicate check at intake (疑似重复, ``incidents.services.duplicates.candidates_at``).

What the report form asks while a grid worker reports (and the centre's staff when they log a
call): incidents of this category within 300 m on the ground, reported in the last 7 days, still
a case, that the asker may see; nearest first, at most 5. Each line runs the same 40 questions
(the grid points of the busiest office and township, four categories each) both ways:

- platform: ``candidates_at`` through the ORM, rows made into the answer's ``Candidate`` values;
- baseline: one hand-written SQL statement per question with the same scope join, conditions,
  order and limit, rows fetched.

Both are served by ``incidents_duplicate_probe`` (GiST over category, geography point and report
time, from migration 0013); the EXPLAIN of one platform question is printed to show it.

Volume: ``BENCH_DUPLICATES_INCIDENTS`` (default: the first size of ``BENCH_SCALE``, so that the
benches that run after this one still start at their own first size). The figure the issue asks
for, at 1,000,000 incidents, is measured alone:
``BENCH_DUPLICATES_INCIDENTS=1000000 scripts/bench.sh duplicates``.
"""

from __future__ import annotations

import os

from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import timezone

from accounts.roles import Role
from bench.harness import compare
from bench.volume import ensure_incidents, volume_scale
from grids.models import Grid, GridOffice, Region
from incidents.models import IncidentCategory
from incidents.services.duplicates import NOT_CANDIDATES, RULE, candidates_at, candidates_query

CATEGORIES_PER_POINT = 4
POINTS = 10


def _actor(role, *, office=None, region=None):
    from accounts.models import User

    user = User(username=f"bench-duplicates-{role}", role=role, grid_office=office, region=region)
    user.pk = 0
    return user


def _questions(office: GridOffice) -> list[tuple[IncidentCategory, Point]]:
    categories = list(IncidentCategory.objects.filter(is_active=True).order_by("pk"))
    grids = list(Grid.objects.filter(office=office).order_by("code")[:POINTS])
    questions = []
    for n, grid in enumerate(grids):
        surface = grid.geometry.point_on_surface
        for k in range(CATEGORIES_PER_POINT):
            category = categories[(n * CATEGORIES_PER_POINT + k) % len(categories)]
            # a few metres off the grid's point, where the bench's incidents of that grid are
            questions.append((category, Point(surface.x + 0.0003 * k, surface.y, srid=4326)))
    return questions


BASELINE_SCOPE = {
    "office": (
        "JOIN incidents_incident_offices l ON l.incident_id = i.id",
        "l.gridoffice_id = %(scope)s",
    ),
    "region": (
        "JOIN grids_grid g ON g.id = i.grid_id JOIN grids_region v ON v.id = g.village_id",
        "v.path LIKE %(scope)s",
    ),
}


def _baseline(kind: str, scope, questions, now):
    join, where = BASELINE_SCOPE[kind]
    sql = f"""
        SELECT i.id, i.status, i.description, i.reported_at,
               ST_Distance(i.location::geography,
                           ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326)::geography) AS d
        FROM incidents_incident i {join}
        WHERE {where}
          AND i.category_id = %(category)s::bigint
          AND i.deleted_at IS NULL AND i.location IS NOT NULL
          AND i.status <> ALL (%(excluded)s)
          AND (i.closed_at IS NULL OR i.closed_at >= %(closed_since)s)
          AND i.reported_at >= %(since)s
          AND ST_DWithin(i.location::geography,
                         ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326)::geography, %(radius)s)
        ORDER BY d, i.reported_at DESC, i.id
        LIMIT %(limit)s
    """  # noqa: S608 - module constants only; values are parameters

    def run():
        rows = 0
        with connection.cursor() as cursor:
            for category, point in questions:
                cursor.execute(
                    sql,
                    {
                        "scope": scope,
                        "category": category.pk,
                        "excluded": list(NOT_CANDIDATES),
                        "closed_since": now - RULE.closed_within,
                        "since": now - RULE.window,
                        "x": point.x,
                        "y": point.y,
                        "radius": RULE.radius_m,
                        "limit": RULE.limit,
                    },
                )
                rows += len(cursor.fetchall())
        return rows

    return run


def _platform(actor, questions, now):
    def run():
        return sum(
            len(candidates_at(actor=actor, category=category, location=point, now=now))
            for category, point in questions
        )

    return run


def _busiest_office() -> GridOffice:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT gridoffice_id FROM incidents_incident_offices GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        return GridOffice.objects.select_related("seat__parent").get(pk=cursor.fetchone()[0])


def run():
    _name, sizes = volume_scale()
    wanted = int(os.environ.get("BENCH_DUPLICATES_INCIDENTS") or sizes[0])
    ensure_incidents(wanted)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE incidents_incident")
        cursor.execute("SELECT count(*) FROM incidents_incident")
        total = cursor.fetchone()[0]
    office = _busiest_office()
    township = office.seat if office.seat.level == Region.Level.TOWNSHIP else office.seat.parent
    questions = _questions(office)
    now = timezone.now()
    results = [f"   {total:,} incidents; {len(questions)} questions at the grids of office {office.code}"]
    for label, actor, kind, scope in (
        ("grid worker", _actor(Role.GRID_WORKER, office=office), "office", office.pk),
        ("township dispatcher", _actor(Role.DISPATCHER, region=township), "region", township.path + "%"),
    ):
        platform, baseline = _platform(actor, questions, now), _baseline(kind, scope, questions, now)
        found = platform()
        assert found == baseline(), "both sides must find the same candidates"
        category, point = questions[0]
        plan = candidates_query(actor=actor, category=category, location=point, now=now).explain(analyze=True)
        results.append(f"   EXPLAIN ANALYZE, {label}, one question:\n" + _indent(plan))
        assert "incidents_duplicate_probe" in plan, "the intake check must be served by its index"
        results.append(
            compare(
                f"duplicate check at intake, {label}, {total:,} incidents ({found} found)",
                platform,
                baseline,
                repeat=9,
                target=1.5,
                sides=(
                    f"candidates_at (ORM, scoped selector) x{len(questions)} vs the same hand-written "
                    "SQL x{n}, same scope, conditions, order and limit".replace("{n}", str(len(questions)))
                ),
            )
        )
    return results


def _indent(plan: str) -> str:
    return "\n".join("      " + line for line in plan.splitlines())
