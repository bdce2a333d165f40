"""Likely duplicates (疑似重复): the same thing reported twice at the same spot.

Read-only: the selectors of the duplicate check. The grid worker's report form asks
``candidates_at`` (through ``GET /api/incidents/duplicates/``) as soon as a place and a category
are chosen, and shows a warning that never blocks sending; the dispatcher sees
``candidates_for`` on the incident page and beside every row of the queue, and merges with
``incidents.services.merge``.

Every candidate is read through ``Incident.objects.visible_to(actor)``: an incident out of the
asker's sight is never named, counted or hinted at (the answer for a place with hidden
duplicates is the answer for a place with none).

The rule (``RULE``) is deliberately plain, so that staff can predict it:

* **nearby**: within ``radius_m`` metres on the ground (PostGIS *geography* distance, not
  degrees, so the circle is the same size anywhere in the city). 300 m is about a village
  street or a town block: a phone's position in town is off by tens of metres, and two people
  reporting the same rubbish heap or blocked fire lane stand within that of each other.
* **same category**: a pothole and a dispute at the same door are two matters.
* **recent**: reported within ``window`` of the new report (7 days: what was reported last
  week and is still there is reported again; older reports at the same spot are history).
* **still a case**: not merged (its surviving case is the candidate), not declined (不予立案)
  or voided (作废), and not closed more than ``closed_within`` ago (3 days: a heap cleared
  yesterday that is back today is worth a look; one cleared last month is a new matter).

The check reads the ``incidents_duplicate_probe`` index (migration 0013): a GiST index over
(category, geography point, reported_at) of live, placed incidents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.geos import Point
from django.db import connection
from django.db.models import BooleanField, Count, F, FloatField, Func, Q, QuerySet, Value
from django.utils import timezone

from incidents.models import Incident, IncidentCategory


@dataclass(frozen=True)
class DuplicateRule:
    """What counts as a likely duplicate (module docstring: why these numbers)."""

    radius_m: float = 300.0
    window: timedelta = timedelta(days=7)
    closed_within: timedelta = timedelta(days=3)
    limit: int = 5  # a phone shows a handful; more would be noise, not help


RULE = DuplicateRule()

# No longer a case of its own: merged (its survivor is the candidate), declined, voided.
NOT_CANDIDATES = (Incident.Status.MERGED, Incident.Status.REJECTED, Incident.Status.VOIDED)


class _Geography(Func):
    """``(expr)::geography``: distances in metres, as the ``incidents_duplicate_probe`` index has it."""

    template = "(%(expressions)s)::geography"
    output_field = GeometryField(geography=True)


class _DWithin(Func):
    function = "ST_DWithin"
    output_field = BooleanField()


class _Distance(Func):
    function = "ST_Distance"
    output_field = FloatField()


@dataclass(frozen=True)
class Candidate:
    """One likely duplicate, as the form's warning, the incident page and the queue show it."""

    id: int
    status: str
    category: str
    description: str
    reported_at: datetime
    distance_m: float

    @property
    def status_label(self) -> str:
        return str(dict(Incident.Status.choices).get(self.status, self.status))


def _still_a_case(*, now: datetime, rule: DuplicateRule) -> Q:
    return (
        Q(deleted_at__isnull=True, location__isnull=False)
        & ~Q(status__in=NOT_CANDIDATES)
        & (Q(closed_at__isnull=True) | Q(closed_at__gte=now - rule.closed_within))
    )


def candidates_at(
    *,
    actor,
    category: IncidentCategory,
    location: Point,
    now: datetime | None = None,
    rule: DuplicateRule = RULE,
) -> QuerySet[Incident]:
    """Likely duplicates of a report about to be made (the intake check): one query, nearest
    first, at most ``rule.limit``, only what ``actor`` may see."""
    now = now or timezone.now()
    here = _Geography(Value(location, output_field=GeometryField(srid=4326)))
    there = _Geography(F("location"))
    return (
        Incident.objects.visible_to(actor)
        .filter(
            _still_a_case(now=now, rule=rule),
            _DWithin(there, here, Value(float(rule.radius_m))),
            category_id=category.pk,
            reported_at__gte=now - rule.window,
        )
        .annotate(distance_m=_Distance(there, here))
        .select_related("category")
        .only("pk", "status", "description", "reported_at", "category__code", "category__name")
        .order_by("distance_m", "-reported_at", "pk")[: rule.limit]
    )


def candidates_for(
    *, actor, incidents: list[Incident], now: datetime | None = None, rule: DuplicateRule = RULE
) -> dict[int, list[Candidate]]:
    """Likely duplicates of each of ``incidents`` (already read through a scoped selector), for
    the incident page and the dispatcher's queue: one query for a whole page.

    The window is around each incident's own report time (an older incident's duplicates are
    those of its week), and only incidents ``actor`` may see are candidates: the scoped
    queryset's SQL is the candidates' ``IN`` list inside the per-row lateral join."""
    now = now or timezone.now()
    ids = [i.pk for i in incidents if i.location is not None and i.status not in NOT_CANDIDATES]
    if not ids:
        return {}
    visible = Incident.objects.visible_to(actor).filter(_still_a_case(now=now, rule=rule)).values("pk")
    visible_sql, visible_params = visible.query.sql_with_params()
    sql = f"""
        SELECT a.id, c.id, c.status, c.description, c.reported_at, c.distance, c.code, c.name
        FROM incidents_incident a
        CROSS JOIN LATERAL (
            SELECT b.id, b.status, left(b.description, 80) AS description, b.reported_at,
                   ST_Distance((b.location)::geography, (a.location)::geography) AS distance,
                   k.code, k.name
            FROM incidents_incident b JOIN incidents_incidentcategory k ON k.id = b.category_id
            WHERE b.category_id = a.category_id AND b.id <> a.id
              AND b.deleted_at IS NULL AND b.location IS NOT NULL
              AND b.reported_at BETWEEN a.reported_at - %s AND a.reported_at + %s
              AND ST_DWithin((b.location)::geography, (a.location)::geography, %s)
              AND b.id IN ({visible_sql})
            ORDER BY distance, b.reported_at DESC, b.id
            LIMIT %s
        ) c
        WHERE a.id = ANY(%s)
    """  # noqa: S608 - the scoped queryset's own SQL, its values passed as parameters
    params = [rule.window, rule.window, float(rule.radius_m), *visible_params, rule.limit, ids]
    found: dict[int, list[Candidate]] = {}
    from incidents.categories import category_label

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            incident_id, pk, status, description, reported_at, distance, code, name = row
            found.setdefault(incident_id, []).append(
                Candidate(
                    id=pk,
                    status=status,
                    category=category_label(code, name),
                    description=description,
                    reported_at=reported_at,
                    distance_m=round(distance, 1),
                )
            )
    return found


def merged_reports(*, actor, incident: Incident) -> list[Incident]:
    """The reports merged into ``incident`` (a case ``actor`` sees), with their reporters and
    channels: they are part of the case now, so whoever sees the case sees who reported it,
    also a report made in another grid office's area (the merge linked that office to the case)."""
    from anshun.scoping import deliberately_unscoped

    reports = deliberately_unscoped(
        Incident.objects.filter(merged_into_id=incident.pk),
        actor=actor,
        why="The reports merged into a case (并案) are shown as part of the case to whoever sees it.",
    )
    return list(
        reports.select_related("reporter")
        .annotate(photo_count=Count("attachments"))
        .order_by("reported_at", "pk")[:100]
    )


def as_candidates(queryset: QuerySet[Incident]) -> list[Candidate]:
    """``candidates_at`` rows as ``Candidate`` values (the JSON answer's items)."""
    return [
        Candidate(
            id=i.pk,
            status=i.status,
            category=i.category.label,
            description=i.description[:80],
            reported_at=i.reported_at,
            distance_m=round(i.distance_m, 1),
        )
        for i in queryset
    ]
