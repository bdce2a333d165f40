"""Batches from sync clients: up to 1000 reports in a handful of queries, one result per item.

The same rules as ``report_incident``, applied to the whole batch at once. Who may report and
where is not restated here: the policy's ``report`` rule is asked once for the batch
(``POLICY.authorize``: capability), and its referred-object test runs for every item's grid
(``refers_problems``: one query for the batch, the same answer as for one report). Then one
query finds the known client UUIDs, one spatial join assigns every point to its grid, and the
new incidents, their office links and their first timeline entries are bulk inserted.
A bad item is reported and skipped; it never costs the others their place.

Idempotency is the single report's (``incidents.services.reporting``): a known client id with
the same report is a ``duplicate``; with another report, or out of the reporter's sight, an
error on ``client_uuid`` (the same words for both); a report since deleted is ``gone``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anshun.commands import CommandRefused, Conflict
from audit.history import record_rows
from grids.models import Grid
from incidents.models import Incident
from incidents.policy import POLICY, refers_problems
from incidents.services.reporting import (
    CITY_CODE,
    AlreadyDeleted,
    check_reported_at,
    check_source,
    report_incident,
    request_digest,
)

# The fields of an item that make up its report (``reporting.request_digest``).
DIGESTED = ("category", "description", "location", "grid", "priority", "source", "address", "reported_at")


@dataclass
class ItemResult:
    index: int
    client_uuid: uuid.UUID | None = None
    result: str = "error"  # created / duplicate / gone / error
    incident_id: int | None = None
    errors: dict = field(default_factory=dict)


def assign_grids(*, points: Sequence[tuple[float, float]]) -> list[int | None]:
    """The grid containing each (longitude, latitude), in order; None where no grid does.

    One query for the whole list: the points are unnested server-side and each is matched
    through the grids' spatial index, rather than one round trip per point.
    """
    if not points:
        return []
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.i, (SELECT g.id FROM grids_grid g
                         WHERE ST_Contains(g.geometry, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))
                         ORDER BY g.code LIMIT 1)
            FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(x, y, i)
            """,
            [xs, ys],
        )
        found = dict(cursor.fetchall())
    return [found.get(i + 1) for i in range(len(points))]


def _inside_city(points: list[tuple[float, float]]) -> list[bool]:
    if not points:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.i, ST_Contains(r.boundary, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))
            FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(x, y, i)
            CROSS JOIN grids_region r WHERE r.code = %s
            """,
            [[p[0] for p in points], [p[1] for p in points], CITY_CODE],
        )
        inside = dict(cursor.fetchall())
    return [bool(inside.get(i + 1)) for i in range(len(points))]


def report_incidents_bulk(*, actor, items: list[dict], results: list[ItemResult]) -> list[ItemResult]:
    """``items[i]`` are the validated fields of ``results[i]`` (None where the input was already bad).

    A role that may not report is refused for the whole batch (``NotPermitted``) before any
    item is looked at, exactly as one report would be."""
    POLICY.authorize("report", actor=actor, arguments={})
    try:
        with transaction.atomic():
            return _bulk(actor=actor, items=items, results=results)
    except IntegrityError:
        # Another request created one of these client UUIDs meanwhile: fall back to the
        # item-by-item path, which answers those as duplicates.
        return _one_by_one(actor=actor, items=items, results=results)


def _one_by_one(*, actor, items, results):
    for values, result in zip(items, results, strict=True):
        if values is None:
            continue
        result.errors = {}
        try:
            with transaction.atomic():
                arguments = {k: v for k, v in values.items() if not k.startswith("_")}
                incident, created = report_incident(actor=actor, **arguments)
        except AlreadyDeleted as exc:
            result.result, result.incident_id = "gone", exc.incident_id
            continue
        except (ValidationError, CommandRefused) as exc:
            result.result = "error"
            result.errors = _item_errors(exc)
            continue
        result.result, result.incident_id = ("created" if created else "duplicate"), incident.pk
        result.client_uuid = incident.client_uuid
    return results


def _item_errors(exc: Exception) -> dict:
    if isinstance(exc, Conflict):
        return {exc.field_name: [exc.message]}
    if isinstance(exc, ValidationError):
        return exc.message_dict if hasattr(exc, "message_dict") else {"non_field_errors": exc.messages}
    return {"non_field_errors": [getattr(exc, "message", str(exc))]}


def _insert(head: str, template: str, rows: list[tuple], returning: str = "") -> list[tuple]:
    """Multi-row INSERTs, 1000 rows a statement, rendered by the driver (through Django's cursor,
    so they are counted and logged like every other query)."""
    fetched: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            values = b",".join(cursor.cursor.mogrify(template, row) for row in chunk).decode()
            # No parameters: the driver runs the text as it is (a "%" stays a "%").
            cursor.execute(head + values + returning)
            if returning:
                fetched.extend(cursor.fetchall())
    return fetched


def _clean_row(values: dict, *, now, actor=None) -> dict:
    """The model's own field checks (length, choices, blank) for the fields a client sends."""
    row = {
        "description": values["description"],
        "address": values.get("address", ""),
        "priority": values.get("priority", Incident.Priority.NORMAL),
        "source": values.get("source", Incident.Source.SYNC_CLIENT),
        "reported_at": values.get("reported_at") or now,
    }
    errors = {}
    for name, value in row.items():
        try:
            row[name] = Incident._meta.get_field(name).clean(value, None)
        except ValidationError as exc:
            errors[name] = exc.messages
    try:
        check_reported_at(values.get("reported_at"), now=now)
        check_source(actor=actor, source=row["source"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return row


def _insert_incidents(rows: list[dict], *, reporter_id: int, now) -> dict[uuid.UUID, int]:
    values = [
        (
            str(r["client_uuid"]),
            r["category_id"],
            r["description"],
            r["location"].ewkt if r["location"] else None,
            r["address"],
            r["grid_id"],
            Incident.Status.REPORTED,
            r["priority"],
            r["source"],
            reporter_id,
            r["reported_at"],
            now,
            r["request_digest"],
        )
        for r in rows
    ]
    returned = _insert(
        "INSERT INTO incidents_incident (client_uuid, category_id, description, location, address, grid_id,"
        " status, priority, source, reporter_id, reported_at, updated_at, request_digest, version,"
        " escalation_level, sync_txid, sync_seq) VALUES ",
        "(%s, %s, %s, ST_GeomFromEWKT(%s), %s, %s, %s, %s, %s, %s, %s, %s, %s, 1, 0, 0, 0)",
        values,
        returning=" RETURNING client_uuid, id",
    )
    return {uuid.UUID(str(key)): pk for key, pk in returned}


def _bulk(*, actor, items, results):
    live = [(values, result) for values, result in zip(items, results, strict=True) if values is not None]
    for values, result in live:
        values.setdefault("client_uuid", None)
        values["client_uuid"] = values["client_uuid"] or uuid.uuid4()
        result.client_uuid = values["client_uuid"]
        values["_digest"] = request_digest(
            **{k: v for k, v in values.items() if k in DIGESTED and v is not None},
        )
    stored = {
        key: (pk, digest, deleted_at)
        for key, pk, digest, deleted_at in Incident.objects.filter(
            client_uuid__in=[v["client_uuid"] for v, _r in live]
        ).values_list("client_uuid", "pk", "request_digest", "deleted_at")
    }
    known = {key: row[0] for key, row in stored.items()}
    visible_known = set(
        Incident.objects.visible_to(actor).filter(pk__in=known.values()).values_list("pk", flat=True)
    )

    located = [(v, r) for v, r in live if v.get("location") is not None and v["client_uuid"] not in known]
    grid_ids = assign_grids(points=[(v["location"].x, v["location"].y) for v, _r in located])
    for (values, _result), grid_id in zip(located, grid_ids, strict=True):
        values["_grid_id"] = grid_id
    unplaced = [(v, r) for v, r in located if v["_grid_id"] is None]
    for (_values, result), inside in zip(
        unplaced, _inside_city([(v["location"].x, v["location"].y) for v, _r in unplaced]), strict=True
    ):
        message = _("No grid covers this point yet.") if inside else _("This point is outside Anshun.")
        result.errors = {"location": [message]}
    for values, _result in live:
        if values.get("location") is None and values.get("grid") is not None:
            values["_grid_id"] = values["grid"].pk
    # The policy's referred-object test for every item's place, chosen or found from its point.
    placed = [(v, r) for v, r in live if v.get("_grid_id") and not r.errors and v["client_uuid"] not in known]
    problems = refers_problems(
        "report", actor=actor, items=[{"grid": Grid(pk=v["_grid_id"])} for v, _r in placed]
    )
    for (values, result), problem in zip(placed, problems, strict=True):
        if problem and values.get("location") is not None:
            result.errors = {"location": [_("This place is outside your jurisdiction.")]}
        elif problem:
            result.errors = problem
    office_of = dict(
        Grid.objects.filter(pk__in={v["_grid_id"] for v, r in placed if not r.errors}).values_list(
            "pk", "office_id"
        )
    )

    now = timezone.now()
    new: list[tuple[dict, ItemResult]] = []
    first_of: dict[uuid.UUID, ItemResult] = {}
    for values, result in live:
        key = values["client_uuid"]
        if result.errors:
            continue
        if key in known:
            pk, digest, deleted_at = stored[key]
            if pk not in visible_known or (digest and digest != values["_digest"]):
                result.errors = {"client_uuid": [_("This client id is already used by another incident.")]}
            elif deleted_at is not None:
                result.result, result.incident_id = "gone", pk
            else:
                result.result, result.incident_id = "duplicate", pk
            continue
        if key in first_of:
            if first_of[key][1] != values["_digest"]:
                result.errors = {"client_uuid": [_("This client id is already used by another incident.")]}
            else:
                result.result = "duplicate"
            continue
        if not values["category"].is_active:
            result.errors = {"category": [_("This category is no longer in use.")]}
            continue
        grid_id = values.get("_grid_id")
        if grid_id is None:
            result.errors = {"location": [_("Give a location or choose a grid.")]}
            continue
        try:
            # Foreign keys, places and uniqueness were checked above for the whole batch.
            row = _clean_row(values, now=now, actor=actor)
        except ValidationError as exc:
            result.errors = exc.message_dict
            continue
        row.update(
            client_uuid=key,
            category_id=values["category"].pk,
            grid_id=grid_id,
            location=values.get("location"),
            request_digest=values["_digest"],
        )
        first_of[key] = (result, values["_digest"])
        new.append((row, result))

    ids = _insert_incidents([row for row, _r in new], reporter_id=actor.pk, now=now)
    # The raw insert bypasses save(), so the audit trail gets the same rows in one INSERT … SELECT.
    record_rows(model=Incident, pks=ids.values(), actor=actor, history_type="+", at=now)
    _insert(
        # reported_at and live are the incident's (the link trigger copies them whatever is sent).
        "INSERT INTO incidents_incident_offices (incident_id, gridoffice_id, reported_at, live) VALUES ",
        "(%s, %s, %s, true)",
        [(ids[row["client_uuid"]], office_of[row["grid_id"]], row["reported_at"]) for row, _r in new],
    )
    _insert(
        "INSERT INTO incidents_incidentevent (incident_id, actor_id, at, from_status, to_status, note)"
        " VALUES ",
        "(%s, %s, %s, '', %s, '')",
        [
            (ids[row["client_uuid"]], actor.pk, row["reported_at"], Incident.Status.REPORTED)
            for row, _r in new
        ],
    )
    for row, result in new:
        result.result, result.incident_id = "created", ids[row["client_uuid"]]
    for values, result in live:
        if result.result == "duplicate" and result.incident_id is None:
            result.incident_id = first_of[values["client_uuid"]][0].incident_id
    return results
