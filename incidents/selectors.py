"""Reads of incidents, always scoped to the actor."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from anshun.scoping import Jurisdiction
from incidents.models import (
    Department,
    Incident,
    IncidentAssignment,
    IncidentCategory,
    IncidentScopeExit,
    Notification,
    RoutingRule,
)

OPEN_STATUSES = (
    Incident.Status.REPORTED,
    Incident.Status.REGISTERED,
    Incident.Status.DISPATCHED,
    Incident.Status.HANDLING,
    Incident.Status.HANDLED,
    Incident.Status.VERIFIED,
    Incident.Status.RETURNED,
)
# Statuses in which the handling unit's clock runs.
RUNNING_STATUSES = (Incident.Status.DISPATCHED, Incident.Status.HANDLING, Incident.Status.RETURNED)


def _with_relations(queryset: QuerySet[Incident]) -> QuerySet[Incident]:
    """The rows every list, page and export shows, without a query per row.

    The always-present relations are joined; the three that are often empty (handling office,
    reporter, handler) come in one small query each. Joining all seven made PostgreSQL spend
    20-50 ms *planning* every list query (the join order search grows steeply past the
    first few outer joins) for under 1 ms of execution; this way planning is ~1-3 ms."""
    return (
        queryset.select_related("category", "grid", "grid__village", "grid__office")
        .defer("grid__geometry", "grid__village__boundary")
        .prefetch_related("handling_office", "handling_department", "reporter", "handler")
    )


def incidents_visible_to(*, actor, include_deleted: bool = False) -> QuerySet[Incident]:
    """The actor's incidents, newest first.

    Grid-office staff see the incidents linked to their office; their scope is a join to the
    link rows, which carry the incident's reported_at and whether it is live (``IncidentOffice``).
    The list is ordered and paged on those copies, so the newest page is read from the
    ``incidents_office_listed`` index (office, reported_at DESC, incident DESC, live rows) and
    stops after a page, however many years of incidents the office holds."""
    incidents = Incident.objects.visible_to(actor)
    if Jurisdiction.of(actor).grid_office_id is not None:
        incidents = incidents.keyset_on(
            reported_at=F("office_links__reported_at"), id=F("office_links__incident_id")
        )
        if not include_deleted:
            incidents = incidents.alias(listed_live=F("office_links__live")).filter(listed_live=True)
    if not include_deleted:
        incidents = incidents.filter(deleted_at__isnull=True)
    return _with_relations(incidents).order_by("-reported_at", "-id")


def incident_detail(*, actor) -> QuerySet[Incident]:
    """For one incident's page or API detail: its timeline and attachments come along."""
    return incidents_visible_to(actor=actor).prefetch_related(
        "events__actor", "attachments", "assignments__office", "assignments__department"
    )


# The queue's parts, most urgent first; inside each, oldest first (``QUEUE_ORDER``).
UNTAKEN_STATUSES = (Incident.Status.REPORTED, Incident.Status.REGISTERED, Incident.Status.RETURNED)
CLOCKED_STATUSES = (Incident.Status.DISPATCHED, Incident.Status.HANDLING)
QUEUE_ORDER = ("reported_at", "id")


def queue_parts(*, now=None) -> list[Q]:
    """Every queue's triage order as three parts: overdue at a unit, then urgent, then the
    rest, each oldest first.

    Each part is read in ``QUEUE_ORDER`` by the ``incidents_open_reported`` index (open rows by
    age), so the triage order never sorts the whole queue: a page is found by walking the parts
    in turn (``anshun.api.pagination.Keyset``). "Overdue" is judged at ``now``, so an incident
    whose deadline passes while someone pages moves up at their next visit."""
    now = now or timezone.now()
    overdue = Q(status__in=CLOCKED_STATUSES, due_at__lt=now)
    urgent = Q(priority=Incident.Priority.URGENT)
    return [overdue, urgent & ~overdue, ~urgent & ~overdue]


def _triage(queryset: QuerySet[Incident]) -> QuerySet[Incident]:
    """``queue_parts`` as one ORDER BY (exports and tests use it; the pages walk the parts)."""
    now = timezone.now()
    return queryset.annotate(
        urgency=Case(
            When(Q(status__in=CLOCKED_STATUSES, due_at__lt=now), then=Value(0)),
            When(priority=Incident.Priority.URGENT, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    ).order_by("urgency", *QUEUE_ORDER)


def dispatcher_queue(*, actor) -> QuerySet[Incident]:
    """Open incidents in triage order: overdue, then urgent, then oldest (``queue_parts``)."""
    return _triage(incidents_visible_to(actor=actor).filter(status__in=OPEN_STATUSES))


def unit_inbox(*, actor) -> QuerySet[Incident]:
    """The open incidents the actor's own unit holds an open share of (主办 or 协办): a
    department's staff or a grid office's, in triage order. Region users hold no unit: empty.

    The shares are an ``IN`` subquery over a partial index of open shares per unit, so the
    inbox is read in the queue's order without a DISTINCT."""
    jurisdiction = Jurisdiction.of(actor)
    shares = IncidentAssignment.objects.filter(state=IncidentAssignment.State.OPEN)
    if jurisdiction.department_id is not None:
        shares = shares.filter(department_id=jurisdiction.department_id)
    elif jurisdiction.grid_office_id is not None:
        shares = shares.filter(office_id=jurisdiction.grid_office_id)
    else:
        shares = shares.none()
    incidents = incidents_visible_to(actor=actor).filter(
        status__in=OPEN_STATUSES, pk__in=shares.values("incident_id")
    )
    return _triage(incidents)


def departments_visible_to(*, actor) -> QuerySet[Department]:
    return Department.objects.visible_to(actor).filter(is_active=True).select_related("region")


def dispatch_units(*, actor, incident: Incident) -> tuple[QuerySet, QuerySet]:
    """The units the dispatch form offers for ``incident``: grid offices of its township and the
    departments in the actor's sight whose jurisdiction covers its place (its township's, its
    county's, the city's), each at the actor's level or below."""
    from grids.models import GridOffice

    village = incident.grid.village
    offices = GridOffice.objects.visible_to(actor).filter(seat__parent_id=village.parent_id).order_by("code")
    prefixes = _prefixes(village.path)
    departments = departments_visible_to(actor=actor).filter(region__path__in=prefixes)
    return offices, departments.order_by("region__path", "kind", "code")


def _prefixes(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def routed_unit(*, actor, incident: Incident):
    """The routing table's default unit for the incident's category and place: the rule of the
    most specific region that contains the place (one query), or None."""
    route = (
        routes_visible_to(actor=actor)
        .filter(category_id=incident.category_id, region__path__in=_prefixes(incident.grid.village.path))
        .order_by("-region__path")
        .first()
    )
    return route.unit if route is not None else None


def routes_visible_to(*, actor) -> QuerySet[RoutingRule]:
    return RoutingRule.objects.visible_to(actor).select_related(
        "category", "region", "office", "department", "department__region"
    )


# The feed's horizon: the lowest id of another transaction that may still commit. Every other
# transaction below it has ended, so the changes stamped below it (incidents.models,
# ``sync_txid``) are all there is and ever will be: new writers get higher ids.
# ``pg_current_snapshot()`` is the statement's own snapshot; its ``xip`` lists the other
# transactions still running, and with none running, ``xmax`` is the first id not yet ended.
# The reader's own transaction, if it has written anything, is returned beside it: its changes
# are visible to itself but not final, so a resumed walk must not pass them (a request of the
# feed writes nothing; a test that writes and reads in one transaction does).
HORIZON_SQL = """
SELECT COALESCE(
    (SELECT min(x::text::bigint) FROM pg_snapshot_xip(pg_current_snapshot()) AS x),
    pg_snapshot_xmax(pg_current_snapshot())::text::bigint
), pg_current_xact_id_if_assigned()::text::bigint
"""


@dataclass(frozen=True, order=True)
class FeedPosition:
    """A place in the sync feed: the writing transaction's id, then the change's number in it."""

    txid: int
    seq: int


@dataclass
class SyncPage:
    """One page of the feed. ``entries`` are incidents (live or deleted: ``SYNC_COLUMNS``) and
    departures (``DEPARTURE_COLUMNS`` of ``IncidentScopeExit``), as plain rows in feed order, each
    with its kind (``"incident"`` or ``"departure"``); ``next`` is where the next page starts, also
    when this one is the last for now (``has_more`` false): keep it and ask again later."""

    entries: list[tuple[FeedPosition, str, dict]]
    next: FeedPosition
    has_more: bool


# What the feed sends of an incident, read as plain values with its relations joined (one query
# per page, no model instance): ``incidents.apis.sync_entry`` renders a row exactly as the list's
# serializer renders the incident.
SYNC_COLUMNS = (
    "id",
    "client_uuid",
    "version",
    "deleted_at",
    "status",
    "category__code",
    "category__name",
    "category__duty",
    "description",
    "priority",
    "source",
    "sync_longitude",
    "sync_latitude",
    "address",
    "grid__code",
    "grid__name",
    "grid__village__code",
    "handling_office_id",
    "handling_office__code",
    "handling_department_id",
    "handling_department__code",
    "reporter__username",
    "handler_id",
    "handler__username",
    "reported_at",
    "updated_at",
    "due_at",
    "register_due_at",
    "dispatch_due_at",
    "take_due_at",
    "closed_at",
    "escalation_level",
    "sync_txid",
    "sync_seq",
    "merged_into_id",
)
DEPARTURE_COLUMNS = ("incident_id", "client_uuid", "txid", "seq")


def feed_horizon() -> tuple[int, int | None]:
    """The horizon, and the reader's own transaction id when it has one (see HORIZON_SQL)."""
    with connection.cursor() as cursor:
        cursor.execute(HORIZON_SQL)
        horizon, own = cursor.fetchone()
        return horizon, own


def departures_visible_to(*, actor) -> QuerySet[IncidentScopeExit]:
    """The tombstones of incidents that left the actor's sight (grid moved elsewhere, office
    removed). None for platform admins, who see every incident wherever it goes."""
    departures = IncidentScopeExit.objects.visible_to(actor)
    if Jurisdiction.of(actor).unrestricted:
        return departures.none()
    return departures


def _like_prefix(path: str) -> str:
    """``path`` as a LIKE pattern for "starts with" (what ``__startswith`` sends)."""
    return path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# The page of incidents, written out: the scope's source and filter (``_sync_scope``, exactly what
# ``Incident.scope_rule`` makes of the actor's jurisdiction), the feed's position columns, every
# field the phone receives joined, in the order written (see ``_in_written_order``). A grid
# office's rows are read in their link positions (``incidents_office_sync``), kept equal to the
# incident's by triggers (migration 0014), so the office's feed is a walk of that index.
# ``client_uuid`` comes as text, as the feed sends it (a UUID object made per row and turned back
# into text cost a third of a page's Python time).
SYNC_SQL = """
SELECT "incidents_incident"."id", "incidents_incident"."client_uuid"::text, "incidents_incident"."version",
       "incidents_incident"."deleted_at", "incidents_incident"."status",
       "incidents_incidentcategory"."code", "incidents_incidentcategory"."name",
       "incidents_incidentcategory"."duty", "incidents_incident"."description",
       "incidents_incident"."priority", "incidents_incident"."source",
       ST_X("incidents_incident"."location"), ST_Y("incidents_incident"."location"),
       "incidents_incident"."address", "grids_grid"."code", "grids_grid"."name", "grids_region"."code",
       "incidents_incident"."handling_office_id", "grids_gridoffice"."code",
       "incidents_incident"."handling_department_id", "incidents_department"."code",
       "reporter"."username", "incidents_incident"."handler_id", "handler"."username",
       "incidents_incident"."reported_at", "incidents_incident"."updated_at",
       "incidents_incident"."due_at", "incidents_incident"."register_due_at",
       "incidents_incident"."dispatch_due_at", "incidents_incident"."take_due_at",
       "incidents_incident"."closed_at",
       "incidents_incident"."escalation_level", "incidents_incident"."sync_txid",
       "incidents_incident"."sync_seq", "incidents_incident"."merged_into_id"
FROM {source}
INNER JOIN "incidents_incidentcategory"
    ON "incidents_incidentcategory"."id" = "incidents_incident"."category_id"
INNER JOIN "grids_grid" ON "grids_grid"."id" = "incidents_incident"."grid_id"
INNER JOIN "grids_region" ON "grids_region"."id" = "grids_grid"."village_id"
LEFT OUTER JOIN "grids_gridoffice" ON "grids_gridoffice"."id" = "incidents_incident"."handling_office_id"
LEFT OUTER JOIN "incidents_department"
    ON "incidents_department"."id" = "incidents_incident"."handling_department_id"
LEFT OUTER JOIN "accounts_user" "reporter" ON "reporter"."id" = "incidents_incident"."reporter_id"
LEFT OUTER JOIN "accounts_user" "handler" ON "handler"."id" = "incidents_incident"."handler_id"
WHERE {where}
ORDER BY {txid}, {seq}
LIMIT %(limit)s
"""
_INCIDENTS = '"incidents_incident"'
_BY_OFFICE = (
    '"incidents_incident_offices" INNER JOIN "incidents_incident" '
    'ON "incidents_incident"."id" = "incidents_incident_offices"."incident_id"'
)
_BY_DEPARTMENT = (
    '"incidents_incident_departments" INNER JOIN "incidents_incident" '
    'ON "incidents_incident"."id" = "incidents_incident_departments"."incident_id"'
)
DEPARTURES_SQL = """
SELECT "incident_id", "client_uuid"::text, "txid", "seq" FROM "incidents_incidentscopeexit"
WHERE {where}
ORDER BY "txid", "seq"
LIMIT %(limit)s
"""
_EXITS = '"incidents_incidentscopeexit"'


def _sync_scope(jurisdiction: Jurisdiction) -> tuple[str, list[str], str, str, list[str]] | None:
    """The statement parts of the actor's feed: the incidents' source, their scope conditions,
    their position columns, and the departures' scope conditions (``["FALSE"]``: none). The same
    rows as ``Incident.objects.visible_to`` and ``departures_visible_to``; None when they are
    nothing (no jurisdiction: ``NOTHING``)."""
    if jurisdiction.unrestricted:
        # Platform admins see every incident wherever it goes: no departures.
        return _INCIDENTS, [], f'{_INCIDENTS}."sync_txid"', f'{_INCIDENTS}."sync_seq"', ["FALSE"]
    if jurisdiction.grid_office_id is not None:
        links = '"incidents_incident_offices"'
        return (
            _BY_OFFICE,
            [f'{links}."gridoffice_id" = %(scope)s'],
            f'{links}."sync_txid"',
            f'{links}."sync_seq"',
            [f'{_EXITS}."office_id" = %(scope)s'],
        )
    if jurisdiction.department_id is not None:
        # ``IncidentScopeExit`` has no department lookup: a department sees none of them.
        return (
            _BY_DEPARTMENT,
            ['"incidents_incident_departments"."department_id" = %(scope)s'],
            f'{_INCIDENTS}."sync_txid"',
            f'{_INCIDENTS}."sync_seq"',
            ["FALSE"],
        )
    if jurisdiction.region_path is not None:
        return (
            _INCIDENTS,
            ['"grids_region"."path"::text LIKE %(scope)s'],
            f'{_INCIDENTS}."sync_txid"',
            f'{_INCIDENTS}."sync_seq"',
            # Left the region (not a move inside it): ``_exit_scope``.
            [
                f'{_EXITS}."from_path"::text LIKE %(scope)s',
                f'NOT ({_EXITS}."to_path"::text LIKE %(scope)s AND {_EXITS}."to_path" IS NOT NULL)',
            ],
        )
    return None


def sync_page(*, actor, after: FeedPosition | None = None, updated_after=None, limit: int = 100) -> SyncPage:
    """One page of changes in commit-safe order: live rows, deletions and departures.

    Each incident sits at the position of its latest change; a departure at the position of
    the move. Only positions below the horizon are served, so a slow transaction holds the
    feed back until it ends instead of committing behind a cursor a client has already passed:
    a client that walks the feed from the position it was given never misses a change, and
    sees each incident once per change (the latest state; earlier states it never sees).
    A long-running write transaction anywhere in the database delays the feed (never loses a
    change); keep transactions short.

    Three queries whatever the page size: the horizon, the incidents (with their relations
    joined, as plain values), the departures. Both pages are fixed statements with parameters
    (``SYNC_SQL``, ``DEPARTURES_SQL``) scoped as ``visible_to`` scopes (``_sync_scope``): a phone
    catching up walks a hundred pages, and building each page through the ORM cost more than
    running it.
    """
    horizon, own = feed_horizon()
    scope = _sync_scope(Jurisdiction.of(actor))
    entries: list[tuple[FeedPosition, str, dict]] = []
    if scope is not None:
        source, where, txid, seq, exits = scope
        jurisdiction = Jurisdiction.of(actor)
        params = {
            "scope": (
                _like_prefix(jurisdiction.region_path)
                if jurisdiction.region_path is not None
                else jurisdiction.grid_office_id or jurisdiction.department_id
            ),
            "horizon": horizon,
            "limit": limit + 1,
        }
        where = [*where, f"{txid} < %(horizon)s"]
        exits = [*exits, f'{_EXITS}."txid" < %(horizon)s']
        if after is not None:
            # A row comparison, ``(txid, seq) > (a, b)``: the position index's scan starts at the
            # cursor (an OR of the two cases would make every page walk the feed from its start).
            params.update(after_txid=after.txid, after_seq=after.seq)
            where.append(f"({txid}, {seq}) > (%(after_txid)s, %(after_seq)s)")
            exits.append(f'({_EXITS}."txid", {_EXITS}."seq") > (%(after_txid)s, %(after_seq)s)')
        if updated_after is not None:
            params["updated_after"] = updated_after
            where.append(f'{_INCIDENTS}."updated_at" > %(updated_after)s')
            exits.append(f'{_EXITS}."at" > %(updated_after)s')
        statement = SYNC_SQL.format(source=source, where=" AND ".join(where), txid=txid, seq=seq)
        for row in _in_written_order(statement, params):
            values = dict(zip(SYNC_COLUMNS, row, strict=True))
            entries.append((FeedPosition(values["sync_txid"], values["sync_seq"]), "incident", values))
        if "FALSE" not in exits:
            with connection.cursor() as cursor:
                cursor.execute(DEPARTURES_SQL.format(where=" AND ".join(exits)), params)
                for row in cursor.fetchall():
                    values = dict(zip(DEPARTURE_COLUMNS, row, strict=True))
                    entries.append((FeedPosition(values["txid"], values["seq"]), "departure", values))
        entries.sort(key=lambda entry: entry[0])
    has_more = len(entries) > limit
    entries = entries[:limit]
    if has_more:
        following = entries[-1][0]
    else:
        # Nothing more below the horizon: the next walk may start there, past everyone else's
        # positions that the actor cannot see (but never past the reader's own open changes).
        settled = FeedPosition(min(horizon, own) if own is not None else horizon, 0)
        following = max([settled, *(e[0] for e in entries[-1:]), *([after] if after else [])])
    return SyncPage(entries=entries, next=following, has_more=has_more)


def _in_written_order(statement: str, params: dict) -> list[tuple]:
    """``statement``'s rows read with the joins in the order it writes them (the incident and its
    scope first, then its relations, each one row per incident) instead of PostgreSQL searching
    every order: with nine relations the search took 50-90 ms of planning per feed page for a
    page that runs in about 1 ms, and the written order is the plan it found. Set for the one
    statement and reset after it; when it fails inside a transaction, rolling that back undoes
    the setting."""
    with connection.cursor() as cursor:
        cursor.execute("SET join_collapse_limit = 1")
        try:
            cursor.execute(statement, params)
            read = cursor.fetchall()
        except Exception:
            if not connection.in_atomic_block:
                cursor.execute("RESET join_collapse_limit")
            raise
        cursor.execute("RESET join_collapse_limit")
        return read


def categories_for(*, actor=None) -> QuerySet[IncidentCategory]:
    return IncidentCategory.objects.filter(is_active=True).order_by("duty", "code")


def notifications_for(*, actor) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(recipient=actor).select_related("incident").order_by("-created_at", "-id")
    )


def incident_metrics(*, actor, region=None, now=None) -> dict:
    """Open, overdue, closure rate and on-time rate inside the actor's scope (and ``region``).

    After DOMAIN.md: closure rate = closed / due, on-time rate = closed on time / due. An
    incident is *due* once its deadline has passed, or earlier if it was already closed (so
    that an early closure counts in both numerator and denominator); it is *closed on time*
    when it was closed no later than its deadline.
    """
    now = now or timezone.now()
    incidents = Incident.objects.visible_to(actor).filter(deleted_at__isnull=True)
    if region is not None:
        incidents = incidents.filter(grid__village__path__startswith=region.path)
    closed = Q(status=Incident.Status.CLOSED)
    # Cases declined or voided (不予立案/作废) are neither open nor due.
    due = Q(due_at__lte=now, status__in=OPEN_STATUSES) | Q(closed, due_at__isnull=False)
    figures = incidents.aggregate(
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        overdue=Count("pk", filter=Q(status__in=RUNNING_STATUSES, due_at__lt=now)),
        due=Count("pk", filter=due),
        closed=Count("pk", filter=due & closed),
        closed_on_time=Count("pk", filter=due & closed & Q(closed_at__lte=F("due_at"))),
    )
    figures["closure_rate"] = _percent(figures["closed"], figures["due"])
    figures["on_time_rate"] = _percent(figures["closed_on_time"], figures["due"])
    return figures


def incident_metrics_rolled_up(*, actor, region=None, now=None) -> dict | None:
    """``incident_metrics`` read from the dashboard rollups (one query over the region's tally
    rows, whatever the history behind them); None when the tallies cannot answer for this
    actor exactly (grid-office staff, whose incidents are those dispatched to their office)."""
    from django.db.models import Sum
    from django.db.models.functions import Coalesce

    from rollups.selectors import rollup_regions, tallies
    from rollups.services import fold_if_queued

    regions = rollup_regions(actor=actor, region=region)
    if regions is None:
        return None
    fold_if_queued()
    now = now or timezone.now()
    closed_due = Q(dim_b__in=("closed_on_time", "closed_late"))

    def total(condition: Q):
        return Coalesce(Sum("n", filter=condition), 0)

    live = Q(dim_b__in=OPEN_STATUSES)  # not closed, declined or voided
    figures = tallies(measure="incidents", regions=regions).aggregate(
        open=total(live),
        overdue=total(Q(dim_b__in=RUNNING_STATUSES, bucket__lt=now)),
        due=total((live & Q(bucket__lte=now)) | closed_due),
        closed=total(closed_due),
        closed_on_time=total(Q(dim_b="closed_on_time")),
    )
    figures["closure_rate"] = _percent(figures["closed"], figures["due"])
    figures["on_time_rate"] = _percent(figures["closed_on_time"], figures["due"])
    return figures


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def dashboard_tiles(*, actor, region) -> list:
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from anshun.dashboard import Tile
    from rollups.selectors import folded_at

    m = incident_metrics_rolled_up(actor=actor, region=region)
    as_of = folded_at() if m is not None else None
    if m is None:
        m = incident_metrics(actor=actor, region=region)  # one grid office's incidents
    url = reverse("incidents:list")
    group = _("Grid incidents")
    due_detail = _("closed %(closed)d / due %(due)d")
    return [
        Tile(
            key="incidents.open",
            label=_("Open incidents"),
            value=m["open"],
            unit="件",
            url=url,
            group=group,
            as_of=as_of,
        ),
        Tile(
            key="incidents.overdue",
            label=_("Overdue incidents"),
            value=m["overdue"],
            unit="件",
            url=f"{url}?overdue=true",
            group=group,
            as_of=as_of,
        ),
        *(
            Tile(
                key=f"incidents.{key}",
                label=label,
                value=m[key],
                unit="%",
                detail=due_detail % {"closed": m[closed], "due": m["due"]},
                url=url,
                group=group,
                as_of=as_of,
            )
            for key, label, closed in (
                ("closure_rate", _("Closure rate"), "closed"),
                ("on_time_rate", _("On-time rate"), "closed_on_time"),
            )
        ),
    ]


def monthly_incidents(*, actor, region, year: int, raw: bool = False) -> list[dict]:
    """Per month of ``year`` inside the actor's scope and ``region``: incidents reported, closed
    and closed on time (by the month of each, in local time), for the dashboard's monthly chart.

    Read from the rollups (``incidents.reported`` and ``incidents.closed``: the region's tally
    rows of that year, twelve months at most per measure); counted from the records for
    grid-office staff and with ``raw`` (the rollups' reference)."""
    from django.db.models.functions import TruncMonth

    from rollups.selectors import rollup_regions, tallies
    from rollups.services import fold_if_queued

    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    reported = dict.fromkeys(months, 0)
    closed = dict.fromkeys(months, 0)
    on_time = dict.fromkeys(months, 0)
    regions = None if raw else rollup_regions(actor=actor, region=region)
    if regions is not None:
        fold_if_queued()
        rows = tallies(measure="incidents.reported", regions=regions).filter(dim_c__startswith=f"{year}-")
        for month, n in rows.values_list("dim_c", "n"):
            reported[month] += n
        rows = tallies(measure="incidents.closed", regions=regions).filter(dim_c__startswith=f"{year}-")
        for month, kind, n in rows.values_list("dim_c", "dim_b", "n"):
            closed[month] += n
            on_time[month] += n if kind == "on_time" else 0
    else:
        incidents = Incident.objects.visible_to(actor).filter(deleted_at__isnull=True, grid__isnull=False)
        if region is not None:
            incidents = incidents.filter(grid__village__path__startswith=region.path)
        for row in (
            incidents.filter(reported_at__year=year)
            .annotate(m=TruncMonth("reported_at"))
            .values("m")
            .annotate(n=Count("pk"))
            .order_by()
        ):
            reported[f"{row['m']:%Y-%m}"] += row["n"]
        for row in (
            incidents.filter(status=Incident.Status.CLOSED, closed_at__year=year)
            .annotate(m=TruncMonth("closed_at"))
            .values("m")
            .annotate(n=Count("pk"), ok=Count("pk", filter=Q(closed_at__lte=F("due_at"))))
            .order_by()
        ):
            closed[f"{row['m']:%Y-%m}"] += row["n"]
            on_time[f"{row['m']:%Y-%m}"] += row["ok"]
    return [
        {"month": m, "reported": reported[m], "closed": closed[m], "closed_on_time": on_time[m]}
        for m in months
    ]


def incident_years(*, actor, region) -> list[int]:
    """Years with incidents reported inside the actor's scope and ``region`` (from the rollups)."""
    from rollups.selectors import rollup_regions, tallies
    from rollups.services import fold_if_queued

    regions = rollup_regions(actor=actor, region=region)
    if regions is None:
        incidents = Incident.objects.visible_to(actor).filter(deleted_at__isnull=True)
        if region is not None:
            incidents = incidents.filter(grid__village__path__startswith=region.path)
        return sorted({d.year for d in incidents.datetimes("reported_at", "year")})
    fold_if_queued()  # changes committed before the page opened are counted
    months = tallies(measure="incidents.reported", regions=regions).values_list("dim_c", flat=True)
    return sorted({int(m[:4]) for m in months.distinct() if m})
