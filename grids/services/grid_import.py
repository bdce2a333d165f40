"""Imports a city's real grid boundaries from GeoJSON, all or nothing.

Every feature is checked before anything is written, and every problem is
reported with the feature's position and code, so that the GIS staff can fix
the whole file in one pass. Demo grids never block an import: they are
replaced village by village, and only real grids count for overlaps.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import shapely
import shapely.prepared
from django.apps import apps
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from shapely.geometry.base import BaseGeometry

from anshun.commands import system_command
from anshun.uploads import TEXT, max_import_bytes, upload_problem
from audit.history import record_rows
from grids.models import Grid, GridImport, GridOffice, Region
from grids.policy import POLICY
from grids.services import regrid

logger = logging.getLogger(__name__)

GRID_CODE = re.compile(r"^\d{15}$")
# Shared edges are fine; overlaps larger than about one square metre are not.
OVERLAP_TOLERANCE_SQ_DEGREES = 1e-10
# Boundaries are simplified outlines: allow about 50 m of slack at county edges.
COUNTY_EDGE_TOLERANCE_DEGREES = 0.0005

ProgressCallback = Callable[[int], None]


@dataclass
class FeatureError:
    index: int
    code: str
    reason: str

    def as_dict(self) -> dict:
        return {"feature": self.index, "code": self.code, "reason": self.reason}

    def __str__(self) -> str:
        return f"feature #{self.index} ({self.code or '-'}): {self.reason}"


class GridImportRejected(Exception):
    """Raised with every bad feature when a file cannot be imported."""

    def __init__(self, errors: list[FeatureError]):
        self.errors = errors
        super().__init__(f"{len(errors)} bad feature(s)")


@dataclass
class _CheckedFeature:
    index: int
    code: str
    name: str
    village: Region
    office: GridOffice | None
    shape: BaseGeometry


@dataclass(frozen=True)
class GridImportResult:
    created: int
    updated: int
    removed: int
    villages: int
    codes: list[str] = field(default_factory=list)
    moved: dict[str, dict[str, int]] = field(default_factory=dict)


def parse_feature_collection(raw: bytes | str) -> list[dict]:
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise GridImportRejected([FeatureError(0, "", _("Not valid JSON: %s") % exc)]) from exc
    if not isinstance(payload, dict) or payload.get("type") != "FeatureCollection":
        raise GridImportRejected([FeatureError(0, "", _("The file is not a GeoJSON FeatureCollection."))])
    features = payload.get("features")
    if not isinstance(features, list) or not features:
        raise GridImportRejected([FeatureError(0, "", _("The FeatureCollection has no features."))])
    return features


def _check_features(
    features: list[dict], progress: ProgressCallback | None
) -> tuple[list[_CheckedFeature], list[FeatureError]]:
    villages = {
        r.code: r for r in Region.objects.filter(level=Region.Level.VILLAGE).select_related("parent__parent")
    }
    counties = {r.pk: r for r in Region.objects.filter(level=Region.Level.COUNTY)}
    county_shapes = {
        pk: shapely.prepared.prep(
            shapely.from_wkb(bytes(c.boundary.wkb)).buffer(COUNTY_EDGE_TOLERANCE_DEGREES)
        )
        for pk, c in counties.items()
        if c.boundary is not None
    }
    offices = {o.code: o for o in GridOffice.objects.all()}
    serving_office = dict(Grid.objects.values_list("village__code", "office__code").distinct())

    checked: list[_CheckedFeature] = []
    errors: list[FeatureError] = []
    seen_codes: dict[str, int] = {}
    for index, feature in enumerate(features, start=1):
        if progress and index % 50 == 0:
            progress(int(60 * index / len(features)))
        properties = (feature or {}).get("properties") or {}
        code = str(properties.get("code") or "").strip()
        problems: list[str] = []
        if not GRID_CODE.match(code):
            problems.append(_("The grid code must be 15 digits (village code + 3-digit sequence)."))
        elif code in seen_codes:
            problems.append(_("The code repeats feature #%d.") % seen_codes[code])
        village = villages.get(code[:12]) if GRID_CODE.match(code) else None
        if GRID_CODE.match(code) and village is None:
            problems.append(_("No village or community has the code %s.") % code[:12])
        seen_codes.setdefault(code, index)

        shape = None
        geometry = (feature or {}).get("geometry")
        if not geometry:
            problems.append(_("The feature has no geometry."))
        else:
            try:
                shape = shapely.from_geojson(json.dumps(geometry))
            except (shapely.errors.GEOSException, ValueError, TypeError):
                problems.append(_("The geometry cannot be read."))
            if shape is not None:
                if shape.geom_type not in ("Polygon", "MultiPolygon"):
                    problems.append(_("A grid must be a Polygon or MultiPolygon, not %s.") % shape.geom_type)
                    shape = None
                elif shape.is_empty:
                    problems.append(_("The geometry is empty."))
                    shape = None
                elif not shape.is_valid:
                    problems.append(_("Invalid geometry: %s.") % shapely.is_valid_reason(shape))
                    shape = None
        if shape is not None and village is not None:
            county_id = village.parent.parent_id
            county_shape = county_shapes.get(county_id)
            if county_shape is None:
                problems.append(_("The county of this village has no boundary to check against."))
            elif not county_shape.covers(shape):
                problems.append(_("The grid lies outside its county, %s.") % counties[county_id].name)

        office = None
        office_code = str(properties.get("office") or "").strip()
        if office_code:
            office = offices.get(office_code)
            if office is None:
                problems.append(_("No grid office has the code %s.") % office_code)
        elif village is not None:
            office = offices.get(serving_office.get(village.code, ""))
            if office is None:
                problems.append(_("Name the grid office (property 'office'): none serves this village yet."))

        if problems:
            errors.extend(FeatureError(index, code, p) for p in problems)
            continue
        name = str(properties.get("name") or f"{village.short_name}第{int(code[12:])}网格")[:100]
        checked.append(_CheckedFeature(index, code, name, village, office, shape))
    return checked, errors


def _check_overlaps(checked: list[_CheckedFeature]) -> list[FeatureError]:
    errors: list[FeatureError] = []
    shapes = [c.shape for c in checked]
    tree = shapely.STRtree(shapes)
    left, right = tree.query(shapes, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        overlap = shapely.intersection(shapes[i], shapes[j]).area
        if overlap > OVERLAP_TOLERANCE_SQ_DEGREES:
            errors.append(
                FeatureError(
                    checked[j].index,
                    checked[j].code,
                    _("It overlaps feature #%(other)d (%(code)s).")
                    % {"other": checked[i].index, "code": checked[i].code},
                )
            )

    villages_in_file = {c.village.pk for c in checked}
    real_elsewhere = list(
        Grid.objects.filter(is_demo=False)
        .exclude(village_id__in=villages_in_file)
        .values_list("code", "geometry")
    )
    if real_elsewhere:
        existing = [shapely.from_wkb(bytes(g.wkb)) for _code, g in real_elsewhere]
        existing_tree = shapely.STRtree(existing)
        new_idx, old_idx = existing_tree.query(shapes, predicate="intersects")
        for i, j in zip(new_idx.tolist(), old_idx.tolist(), strict=True):
            if shapely.intersection(shapes[i], existing[j]).area > OVERLAP_TOLERANCE_SQ_DEGREES:
                errors.append(
                    FeatureError(
                        checked[i].index,
                        checked[i].code,
                        _("It overlaps the existing grid %s.") % real_elsewhere[j][0],
                    )
                )
    return errors


def import_grids(
    *, raw: bytes | str, progress: ProgressCallback | None = None, actor=None
) -> GridImportResult:
    """Validate every feature of a GeoJSON file, then replace the grids of the
    villages it covers, moving everything placed in them (``grids.services.regrid``),
    in one transaction; raise ``GridImportRejected`` with all problems and write
    nothing when any feature is bad. ``actor`` is named on the history of moved rows."""
    features = parse_feature_collection(raw)
    checked, errors = _check_features(features, progress)
    if checked:
        errors.extend(_check_overlaps(checked))
    if errors:
        raise GridImportRejected(sorted(errors, key=lambda e: e.index))
    unplaced = regrid.unplaced_relations()
    if unplaced:
        raise GridImportFailed(_("The import does not know how to move: %s.") % ", ".join(unplaced))
    if progress:
        progress(70)
    result = _apply(checked, actor=actor)
    _analyze(result.moved)
    return result


class GridImportFailed(Exception):
    """The file was good but applying it failed; nothing was written."""


@transaction.atomic
def _apply(checked: list[_CheckedFeature], *, actor=None) -> GridImportResult:
    """Write the grids and move everything placed in the grids they replace, in one transaction."""
    villages = sorted({c.village.pk for c in checked})
    codes = [c.code for c in checked]
    with connection.cursor() as cursor:
        regrid.snapshot_old_grids(cursor, village_ids=villages)
    existing = set(Grid.objects.filter(code__in=codes).values_list("code", flat=True))
    stale_ids = list(
        Grid.objects.filter(village_id__in=villages).exclude(code__in=codes).values_list("pk", flat=True)
    )
    rows = []
    for c in checked:
        geometry = GEOSGeometry(memoryview(shapely.to_wkb(c.shape)), srid=4326)
        if geometry.geom_type == "Polygon":
            geometry = MultiPolygon(geometry, srid=4326)
        rows.append(
            Grid(
                code=c.code,
                name=c.name,
                village=c.village,
                office=c.office,
                geometry=geometry,
                is_demo=False,
            )
        )
    Grid.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=["name", "village", "office", "geometry", "is_demo"],
    )
    with connection.cursor() as cursor:
        placement = regrid.place_rows(cursor, kept_codes=codes)
        left = regrid.left_in_removed_grids(cursor, removed_ids=stale_ids)
    if left:
        raise GridImportFailed(_("Rows are still placed in the grids to be removed: %s.") % "; ".join(left))
    for model, pks in placement.moved_with_history.items():
        record_rows(model=model, pks=pks, actor=actor, history_type="~")
    Grid.objects.filter(pk__in=stale_ids).delete()
    return GridImportResult(
        created=len(codes) - len(existing),
        updated=len(existing),
        removed=len(stale_ids),
        villages=len(villages),
        codes=codes,
        moved=placement.summary,
    )


def _analyze(moved: dict) -> None:
    """Fresh statistics for what the import rewrote, so the planner does not plan the next
    requests (grid by point, incidents by grid) on the old row counts."""
    tables = ["grids_grid"] + [apps.get_model(label)._meta.db_table for label in moved]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))
    except DatabaseError:
        logger.warning("ANALYZE after the grid import failed", exc_info=True)


def source_problem(source) -> str | None:
    """Why an uploaded grid file is refused before it is stored: not GeoJSON text, or too large."""
    return upload_problem(source, allowed={TEXT}, max_bytes=max_import_bytes(), by_name=True)


@POLICY.command("grid_import_start")
def start_grid_import(*, actor, source) -> GridImport:
    """Record an uploaded file and queue its import once the row is committed."""
    from grids.tasks import process_grid_import

    problem = source_problem(source)
    if problem:
        raise ValidationError({"source": [problem]})
    grid_import = GridImport(source=source, created_by=actor if actor.pk else None)
    grid_import.full_clean()
    grid_import.save()
    transaction.on_commit(lambda: process_grid_import.delay(grid_import.pk))
    return grid_import


# A run that the worker never finished (killed, machine restarted) is tried again this many
# times in all; then the import is marked failed instead of being queued for ever.
MAX_ATTEMPTS = 3


def _failure(reason: str) -> list[dict]:
    return [{"feature": 0, "code": "", "reason": reason}]


@system_command("the grid-import task, after an administrator started the import")
def run_grid_import(*, grid_import_id: int) -> GridImport | None:
    """Carry out a queued import. A finished import is left alone, so a task
    delivered twice (a worker killed after the work but before the ack) does
    nothing the second time; a half-run one starts again from the file.

    Whatever goes wrong ends the import at once: a bad file as "rejected" with every
    bad feature, any other error (a row that cannot move, an unreadable file, a time
    limit) as "rejected" with its reason, nothing written. Only a worker that dies
    leaves it running, and ``requeue_stalled_grid_imports`` gives that a bounded number
    of further attempts.
    """
    with transaction.atomic():
        grid_import = GridImport.objects.select_for_update().filter(pk=grid_import_id).first()
        if grid_import is None or grid_import.status in (
            GridImport.Status.SUCCEEDED,
            GridImport.Status.FAILED,
        ):
            return grid_import
        if grid_import.attempts >= MAX_ATTEMPTS:
            _finish_failed(grid_import, _gave_up())
            return grid_import
        grid_import.status = GridImport.Status.RUNNING
        grid_import.progress = 0
        grid_import.attempts += 1
        grid_import.started_at = timezone.now()
        grid_import.save(update_fields=["status", "progress", "attempts", "started_at"])

    def report(percent: int) -> None:
        GridImport.objects.filter(pk=grid_import_id).update(progress=percent)

    try:
        with grid_import.source.open("rb") as handle:
            raw = handle.read()
        features = parse_feature_collection(raw)
        grid_import.feature_count = len(features)
        result = import_grids(raw=raw, progress=report, actor=grid_import.created_by)
    except GridImportRejected as rejected:
        _finish_failed(grid_import, [e.as_dict() for e in rejected.errors])
    except GridImportFailed as failed:
        _finish_failed(grid_import, _failure(_("The import was not applied: %s") % failed))
    except Exception as exc:  # noqa: BLE001 - any failure must end the import with its reason
        logger.exception("grid import %s failed", grid_import_id)
        reason = _("The import was not applied, nothing was changed: %(error)s") % {
            "error": f"{type(exc).__name__}: {exc}"[:500]
        }
        _finish_failed(grid_import, _failure(reason))
    else:
        grid_import.status = GridImport.Status.SUCCEEDED
        grid_import.imported_count = result.created + result.updated
        grid_import.moved = result.moved
        grid_import.errors = []
        grid_import.progress = 100
        grid_import.finished_at = timezone.now()
        grid_import.save(update_fields=[*_FINISHED_FIELDS, "moved"])
    return grid_import


_FINISHED_FIELDS = ["status", "progress", "feature_count", "imported_count", "errors", "finished_at"]


def _gave_up() -> list[dict]:
    return _failure(
        _("The worker stopped during each of %d attempts; the import was not applied.") % MAX_ATTEMPTS
    )


def _finish_failed(grid_import: GridImport, errors: list[dict]) -> None:
    grid_import.status = GridImport.Status.FAILED
    grid_import.errors = errors
    grid_import.imported_count = 0
    grid_import.progress = 100
    grid_import.finished_at = timezone.now()
    grid_import.save(update_fields=_FINISHED_FIELDS)


# Longer than the task time limit, so a import still running is never picked up twice.
STALLED_AFTER = timedelta(minutes=35)


@system_command("beat: imports whose worker vanished")
def requeue_stalled_grid_imports(*, now: datetime | None = None) -> list[int]:
    """Queue again the imports whose worker vanished (killed, machine restarted).

    An import is stalled when it has waited, or claimed to run, for longer than
    any task may take; running it again is safe because applying is one
    transaction and a finished import is never redone. One that has used up its
    attempts is marked failed here instead, so nothing is queued for ever.
    """
    from grids.tasks import process_grid_import

    cutoff = (now or timezone.now()) - STALLED_AFTER
    stalled_filter = Q(status=GridImport.Status.PENDING, created_at__lt=cutoff) | Q(
        status=GridImport.Status.RUNNING, started_at__lt=cutoff
    )
    with transaction.atomic():
        for grid_import in GridImport.objects.select_for_update(skip_locked=True).filter(
            stalled_filter, attempts__gte=MAX_ATTEMPTS
        ):
            _finish_failed(grid_import, _gave_up())
    stalled = list(
        GridImport.objects.filter(stalled_filter, attempts__lt=MAX_ATTEMPTS).values_list("pk", flat=True)
    )
    for pk in stalled:
        process_grid_import.delay(pk)
    return stalled
