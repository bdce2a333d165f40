"""Moving what is placed in a grid when real grids replace the grids of some villages.

Every row that points at a grid of a village named in an import file (the demo grids being
replaced, and real grids whose outline the file redraws) is placed again, in the import's own
transaction, by one rule for every kind of row:

1. **By its point.** A row with a point (an incident's location, a camera's position) goes to
   the real grid that covers the point (PostGIS ``ST_Covers`` through the grids' spatial index;
   a point on a shared edge goes to the grid with the lowest code). That grid may lie in a
   neighbouring village: the point, not the old outline, says where the thing is.
2. **By its village.** A row without a point (a survey response, an incident reported by
   choosing a grid) or whose point no real grid covers (a gap in the new outlines) keeps its
   grid when the file keeps that grid's code, and otherwise goes to the real grid *of the old
   grid's village* that covers most of the old grid's area (ties: the lowest code). Every
   village of the file has at least one real grid, so this always finds one; and the row stays
   in its village, which is what a respondent's community or a chosen grid meant.

What follows a move, so every derived key stays true:

- incidents: the version and ``updated_at`` rise (sync clients fetch the row again and an
  old ETag no longer matches), the new grid's office joins the offices that see the incident
  (the old one keeps it: it may have worked on it), and one history row records the move;
  history rows that pointed at a removed grid get the grid the same rule gives their own
  point, so the change stays visible to the auditors of the place where it happened;
- cameras: the village follows the grid (a grid lies in exactly one village);
- registry addresses, houses, units and visits: placed by their address's point among their own
  village's real grids (an address's code is its village's), else by the village rule;
- survey responses: the grid office follows the grid, and so do the copies in the answers.
  The triggers on ``surveys_answer`` queue the change as deltas (−1 under the old office,
  +1 under the new), so the next scheduled incremental rollup moves the counts; no full
  rollup is needed.

``PLACED`` lists every foreign key to ``Grid``; ``unplaced_relations`` finds any that a
new model adds without a line here, and the import refuses to run rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import connection, models

from grids.models import Grid


@dataclass(frozen=True)
class Placed:
    """One kind of row placed in a grid."""

    model: str
    field: str = "grid"
    # SQL for the row's point as geometry(Point, 4326), over the row aliased ``t``; None: no point.
    point: str | None = None
    # Only rows in removed grids move (history: where a change happened is not rewritten
    # unless the grid it names is gone).
    only_removed: bool = False
    # The point's grid is looked for among the old grid's village only: the registry's rows
    # belong to their village (an address's code is the village's code and a local number).
    within_village: bool = False

    @property
    def label(self) -> str:
        return f"{self.model}.{self.field}"


# A registry row's point: the location of the address it stands at.
_ADDRESS_POINT = "(SELECT a.location FROM registry_address a WHERE a.id = {address})"
# A visit's point: the address of the house, else of the unit, visited.
_VISITED_POINT = """COALESCE(
    (SELECT a.location FROM registry_house h JOIN registry_address a ON a.id = h.address_id
     WHERE h.id = t.house_id),
    (SELECT a.location FROM registry_unit u JOIN registry_address a ON a.id = u.address_id
     WHERE u.id = t.unit_id))"""

PLACED: tuple[Placed, ...] = (
    Placed("incidents.Incident", point="t.location"),
    Placed("incidents.HistoricalIncident", point="t.location", only_removed=True),
    Placed("safety_cells.Camera", point="t.location::geometry"),
    Placed("surveys.Response"),
    # An Open311 client's intake grid for address-only requests: no point, so the village rule.
    Placed("incidents.Open311Client", field="intake_grid"),
    # The basic registry: an address by its point, a house or unit by its address's point, a
    # visit by the point of the house or unit visited; each within its own village.
    Placed("registry.Address", point="t.location", within_village=True),
    Placed("registry.House", point=_ADDRESS_POINT.format(address="t.address_id"), within_village=True),
    Placed("registry.Unit", point=_ADDRESS_POINT.format(address="t.address_id"), within_village=True),
    Placed("registry.HouseholdVisit", point=_VISITED_POINT, within_village=True),
)


# Tables computed from the others (the safety app's coverage per grid): never moved, because a
# moved figure would keep a count that belongs to the old outline. Their rows of a removed grid go
# with it (CASCADE), and the full coverage refresh queued after every successful import computes
# them again for the new grids (grids.tasks, and the import_grids command).
DERIVED: tuple[str, ...] = (
    "safety_cells.GridCoverage.grid",
    "safety_cells.GridIncidentDay.grid",
)


def grid_relations() -> list[tuple[type[models.Model], models.Field]]:
    """Every concrete foreign key to ``Grid`` in the project, with its model."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.ForeignKey) and field.related_model is Grid:
                found.append((model, field))
    return found


def unplaced_relations() -> list[str]:
    """Foreign keys to ``Grid`` that ``PLACED`` does not move and ``DERIVED`` does not name
    (should be none)."""
    known = {p.label for p in PLACED} | set(DERIVED)
    return sorted(
        f"{model._meta.label}.{field.name}"
        for model, field in grid_relations()
        if f"{model._meta.label}.{field.name}" not in known
    )


def snapshot_old_grids(cursor, *, village_ids: list[int]) -> None:
    """Keep the grids of the file's villages as they are before the import writes, locked:
    a report or a survey upload naming one of them waits for the import and then sees its result."""
    cursor.execute("SELECT id FROM grids_grid WHERE village_id = ANY(%s) FOR UPDATE", [village_ids])
    cursor.execute("DROP TABLE IF EXISTS grid_import_old")
    cursor.execute(
        "CREATE TEMP TABLE grid_import_old ON COMMIT DROP AS "
        "SELECT id, code, village_id, office_id, geometry FROM grids_grid WHERE village_id = ANY(%s)",
        [village_ids],
    )
    cursor.execute("ALTER TABLE grid_import_old ADD PRIMARY KEY (id)")


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


@dataclass
class Placement:
    """What ``place_rows`` did: counts per model, and the moved rows whose history is kept."""

    summary: dict[str, dict[str, int]]
    moved_with_history: dict[type[models.Model], list[int]]


def place_rows(cursor, *, kept_codes: list[str]) -> Placement:
    """Place again every row in a grid of ``grid_import_old`` (see the module docstring), after the
    new grids are written and before the removed ones are deleted."""
    cursor.execute("DROP TABLE IF EXISTS grid_import_fallback")
    cursor.execute(
        """
        CREATE TEMP TABLE grid_import_fallback ON COMMIT DROP AS
        SELECT o.id AS old_id,
               COALESCE(
                   (SELECT g.id FROM grids_grid g WHERE g.code = o.code AND g.code = ANY(%s)),
                   (SELECT g.id FROM grids_grid g
                    WHERE g.village_id = o.village_id AND NOT g.is_demo
                    ORDER BY ST_Area(ST_Intersection(g.geometry, o.geometry)) DESC, g.code
                    LIMIT 1)
               ) AS new_id,
               o.code = ANY(%s) AS kept,
               o.village_id
        FROM grid_import_old o
        """,
        [kept_codes, kept_codes],
    )
    cursor.execute("DROP TABLE IF EXISTS grid_import_moves")
    cursor.execute(
        "CREATE TEMP TABLE grid_import_moves (row_id bigint PRIMARY KEY, old_grid bigint, "
        "new_grid bigint NOT NULL, by_point boolean NOT NULL) ON COMMIT DROP"
    )
    summary: dict[str, dict[str, int]] = {}
    moved_with_history: dict[type[models.Model], list[int]] = {}
    for placed in PLACED:
        model = apps.get_model(placed.model)
        table = _quote(model._meta.db_table)
        column = _quote(model._meta.get_field(placed.field).column)
        pk = _quote(model._meta.pk.column)
        point = placed.point or "NULL::geometry"
        only_removed = "AND NOT f.kept" if placed.only_removed else ""
        same_village = "AND g.village_id = f.village_id" if placed.within_village else ""
        cursor.execute("TRUNCATE grid_import_moves")
        # The point's grid through the spatial index; else the village rule's grid.
        cursor.execute(
            f"""
            INSERT INTO grid_import_moves (row_id, old_grid, new_grid, by_point)
            SELECT t.{pk}, t.{column}, COALESCE(p.id, f.new_id), p.id IS NOT NULL
            FROM {table} t
            JOIN grid_import_fallback f ON f.old_id = t.{column} {only_removed}
            LEFT JOIN LATERAL (
                SELECT g.id FROM grids_grid g
                WHERE NOT g.is_demo AND ST_Covers(g.geometry, {point}) {same_village}
                ORDER BY g.code LIMIT 1
            ) p ON {point} IS NOT NULL
            """  # noqa: S608 - model tables and columns only
        )
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE by_point), "
            "count(*) FILTER (WHERE new_grid IS DISTINCT FROM old_grid) FROM grid_import_moves"
        )
        total, by_point, changed = cursor.fetchone()
        cursor.execute(
            f"UPDATE {table} t SET {column} = m.new_grid FROM grid_import_moves m "  # noqa: S608
            f"WHERE t.{pk} = m.row_id AND m.new_grid IS DISTINCT FROM m.old_grid"
        )
        if placed.model in _FOLLOW_UPS:
            _FOLLOW_UPS[placed.model](cursor)
        if hasattr(model, "history"):
            cursor.execute("SELECT row_id FROM grid_import_moves WHERE new_grid <> old_grid ORDER BY 1")
            moved_with_history[model] = [row[0] for row in cursor.fetchall()]
        summary[placed.model] = {
            "placed": total,
            "by_point": by_point,
            "by_village": total - by_point,
            "moved": changed,
        }
    return Placement(summary, moved_with_history)


def _incident_follow_up(cursor) -> None:
    cursor.execute(
        """
        UPDATE incidents_incident i SET version = i.version + 1, updated_at = now()
        FROM grid_import_moves m WHERE i.id = m.row_id AND m.new_grid <> m.old_grid
        """
    )
    cursor.execute(
        """
        INSERT INTO incidents_incident_offices (incident_id, gridoffice_id)
        SELECT m.row_id, g.office_id FROM grid_import_moves m JOIN grids_grid g ON g.id = m.new_grid
        WHERE m.new_grid <> m.old_grid
        ON CONFLICT (incident_id, gridoffice_id) DO NOTHING
        """
    )


def _camera_follow_up(cursor) -> None:
    cursor.execute(
        """
        UPDATE safety_cells_camera c SET village_id = g.village_id
        FROM grid_import_moves m JOIN grids_grid g ON g.id = m.new_grid
        WHERE c.id = m.row_id AND c.village_id <> g.village_id
        """
    )


def _response_follow_up(cursor) -> None:
    cursor.execute(
        """
        UPDATE surveys_response r SET grid_office_id = g.office_id
        FROM grid_import_moves m JOIN grids_grid g ON g.id = m.new_grid
        WHERE r.id = m.row_id AND r.grid_office_id IS DISTINCT FROM g.office_id
        """
    )
    # One statement: the answer triggers queue one delta row per key for the whole move.
    cursor.execute(
        """
        UPDATE surveys_answer a SET grid_office_id = r.grid_office_id
        FROM grid_import_moves m JOIN surveys_response r ON r.id = m.row_id
        WHERE a.response_id = r.id AND a.grid_office_id IS DISTINCT FROM r.grid_office_id
        """
    )


_FOLLOW_UPS = {
    "incidents.Incident": _incident_follow_up,
    "safety_cells.Camera": _camera_follow_up,
    "surveys.Response": _response_follow_up,
}


def left_in_removed_grids(cursor, *, removed_ids: list[int]) -> list[str]:
    """Rows of any model that still point at a grid about to be deleted (should be none;
    derived tables are not counted: their rows go with the grid and are computed again)."""
    left = []
    for model, field in grid_relations():
        if f"{model._meta.label}.{field.name}" in DERIVED:
            continue
        cursor.execute(
            f"SELECT count(*) FROM {_quote(model._meta.db_table)} "  # noqa: S608
            f"WHERE {_quote(field.column)} = ANY(%s)",
            [removed_ids],
        )
        count = cursor.fetchone()[0]
        if count:
            left.append(f"{model._meta.label}.{field.name}: {count}")
    return left
