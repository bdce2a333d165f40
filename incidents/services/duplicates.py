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
from datetime import UTC, datetime, timedelta

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.geos import Point
from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import connection
from django.db.models import BigIntegerField, BooleanField, Count, F, FloatField, Func, Q, QuerySet, Value
from django.db.models.functions import Cast
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


class _PointAt(Func):
    """The point asked about, from plain numbers: ``ST_SetSRID(ST_MakePoint(x, y), 4326)``."""

    template = "ST_SetSRID(ST_MakePoint(%(expressions)s), 4326)"
    output_field = GeometryField(srid=4326)


def _checked_against(
    *,
    actor,
    category_id: int,
    x: float,
    y: float,
    since: datetime,
    closed_since: datetime,
    rule: DuplicateRule,
) -> QuerySet:
    here = _Geography(_PointAt(Value(float(x)), Value(float(y))))
    there = _Geography(F("location"))
    return (
        Incident.objects.visible_to(actor)
        .filter(
            Q(deleted_at__isnull=True, location__isnull=False)
            & ~Q(status__in=NOT_CANDIDATES)
            & (Q(closed_at__isnull=True) | Q(closed_at__gte=closed_since)),
            _DWithin(there, here, Value(float(rule.radius_m))),
            # A typed bigint, as the column is: an untyped integer would compare across types,
            # which the GiST index's btree_gist operator class cannot serve.
            category_id=Cast(Value(category_id), BigIntegerField()),
            reported_at__gte=since,
        )
        .annotate(distance_m=_Distance(there, here))
        .order_by("distance_m", "-reported_at", "pk")
        .values_list("pk", "status", "description", "reported_at", "distance_m")[: rule.limit]
    )


def candidates_query(
    *,
    actor,
    category: IncidentCategory,
    location: Point,
    now: datetime | None = None,
    rule: DuplicateRule = RULE,
) -> QuerySet:
    """The intake check as one scoped query of plain values (id, status, description,
    reported_at, distance in metres), nearest first, at most ``rule.limit``.

    Every candidate has the category asked about, so no category is joined; the point goes in
    as two numbers."""
    now = now or timezone.now()
    return _checked_against(
        actor=actor,
        category_id=category.pk,
        x=location.x,
        y=location.y,
        since=now - rule.window,
        closed_since=now - rule.closed_within,
        rule=rule,
    )


# The intake check's statement, compiled once per jurisdiction and rule (``_statement``).
# Building and compiling the query costs the ORM a millisecond or more, several times what the
# index takes to answer it, and the report form asks on every tap; its SQL depends only on the
# asker's jurisdiction (``Incident.scope_rule``) and the rule, so it is compiled with stand-in
# values once and run with the question's values put in their places, as a prepared
# statement would be. Stand-ins no question can hold:
_STAND_INS = {
    "category_id": -5204_0001,
    "x": -5204.25,
    "y": -5204.5,
    "since": datetime(1901, 1, 1, tzinfo=UTC),
    "closed_since": datetime(1902, 1, 1, tzinfo=UTC),
}
_STATEMENTS: dict[tuple, tuple[str, tuple, dict[int, str]]] = {}


def _statement(*, actor, rule: DuplicateRule) -> tuple[str, tuple, dict[int, str]] | None:
    from anshun.scoping import Jurisdiction

    key = (Jurisdiction.of(actor), rule)
    found = _STATEMENTS.get(key)
    if found is None:
        try:
            sql, params = _checked_against(actor=actor, rule=rule, **_STAND_INS).query.sql_with_params()
        except EmptyResultSet:  # a jurisdiction that sees nothing: nothing to ask
            return None
        slots = {
            i: name
            for i, value in enumerate(params)
            for name, stand_in in _STAND_INS.items()
            if type(value) is type(stand_in) and value == stand_in
        }
        if sorted(set(slots.values())) != sorted(_STAND_INS):
            raise ImproperlyConfigured("The duplicate check's statement lost a value's place.")
        if len(_STATEMENTS) > 10_000:  # one per jurisdiction in use; never grows without bound
            _STATEMENTS.clear()
        found = _STATEMENTS[key] = (sql, tuple(params), slots)
    return found


def candidates_at(
    *,
    actor,
    category: IncidentCategory,
    location: Point,
    now: datetime | None = None,
    rule: DuplicateRule = RULE,
) -> list[Candidate]:
    """Likely duplicates of a report about to be made (the intake check): one query, nearest
    first, at most ``rule.limit``, only what ``actor`` may see (``visible_to``, in the
    statement compiled for the actor's jurisdiction)."""
    if location.srid not in (None, 4326):
        location = location.transform(4326, clone=True)
    now = now or timezone.now()
    statement = _statement(actor=actor, rule=rule)
    if statement is None:
        return []
    sql, params, slots = statement
    values = {
        "category_id": category.pk,
        "x": float(location.x),
        "y": float(location.y),
        "since": now - rule.window,
        "closed_since": now - rule.closed_within,
    }
    bound = [values[slots[i]] if i in slots else value for i, value in enumerate(params)]
    with connection.cursor() as cursor:
        cursor.execute(sql, bound)
        rows = cursor.fetchall()
    label = category.label
    return [
        Candidate(
            id=pk,
            status=status,
            category=label,
            description=description[:80],
            reported_at=reported_at,
            distance_m=round(distance, 1),
        )
        for pk, status, description, reported_at, distance in rows
    ]


def candidates_for(
    *, actor, incidents: list[Incident], now: datetime | None = None, rule: DuplicateRule = RULE
) -> dict[int, list[Candidate]]:
    """Likely duplicates of each of ``incidents`` (already read through a scoped selector), for
    the incident page and the dispatcher's queue: one query for a whole page.

    The window is around each incident's own report time (an older incident's duplicates are
    those of its week). Each row's candidates are a correlated subquery over
    ``visible_to(actor)``: the scope is a condition on each candidate found through the
    ``incidents_duplicate_probe`` index, never a list of everything the actor sees (which, for
    a city dispatcher, would be every live incident of the city on every queue page)."""
    from django.contrib.postgres.expressions import ArraySubquery
    from django.db.models import OuterRef
    from django.db.models.functions import JSONObject, Left
    from django.utils.dateparse import parse_datetime

    from incidents.categories import category_label

    now = now or timezone.now()
    ids = [i.pk for i in incidents if i.location is not None and i.status not in NOT_CANDIDATES]
    if not ids:
        return {}
    here, there = _Geography(OuterRef("location")), _Geography(F("location"))
    nearby = (
        Incident.objects.visible_to(actor)
        .filter(
            _still_a_case(now=now, rule=rule),
            _DWithin(there, here, Value(float(rule.radius_m))),
            category_id=OuterRef("category_id"),
            reported_at__gte=OuterRef("reported_at") - rule.window,
            reported_at__lte=OuterRef("reported_at") + rule.window,
        )
        .exclude(pk=OuterRef("pk"))
        .annotate(distance_m=_Distance(there, here))
        .order_by("distance_m", "-reported_at", "pk")
        .values(
            found=JSONObject(
                id="pk",
                status="status",
                description=Left("description", 80),
                reported_at="reported_at",
                distance_m="distance_m",
            )
        )[: rule.limit]
    )
    rows = (
        Incident.objects.filter(pk__in=ids)
        .annotate(candidates=ArraySubquery(nearby))
        .values_list("pk", "category__code", "category__name", "candidates")
    )
    found: dict[int, list[Candidate]] = {}
    try:
        for pk, code, name, candidates in rows:
            label = category_label(code, name)
            found[pk] = [
                Candidate(
                    id=c["id"],
                    status=c["status"],
                    category=label,
                    description=c["description"],
                    reported_at=parse_datetime(c["reported_at"]),
                    distance_m=round(c["distance_m"], 1),
                )
                for c in candidates or []
            ]
    except EmptyResultSet:  # a jurisdiction that sees nothing: no candidates
        return {}
    return {pk: candidates for pk, candidates in found.items() if candidates}


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
