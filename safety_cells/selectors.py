"""Reads for safe cells and prevention, always scoped to the actor, plus the gap analyses
officials use: joint-defence coverage, patrol gaps, cameras near a place, camera coverage."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from anshun.dashboard import Tile
from anshun.scoping import Jurisdiction, assert_scoped
from grids.models import Grid, Region
from incidents.models import Incident
from safety_cells.models import (
    Camera,
    CoverageRefresh,
    DeviceDistribution,
    Evaluation,
    EvaluationScore,
    GridCoverage,
    GridIncidentDay,
    OnSiteMeeting,
    PatrolLog,
    PreventionUnit,
    SafetyCell,
    UnwatchedIncident,
    VillageCoverage,
)

DEFAULT_CAMERA_RADIUS_M = 300


def _within(queryset: QuerySet, path_lookup: str, region: Region | None) -> QuerySet:
    if region is None:
        return queryset
    return queryset.filter(**{f"{path_lookup}__startswith": region.path})


def region_by_code(code: str | None) -> Region | None:
    """The region a ``within`` filter names. A code that names no region is a region with no
    rows in it, so it answers exactly as a region outside the viewer's jurisdiction does (no
    rows), never with the unfiltered list."""
    if not code:
        return None
    return Region.objects.defer("boundary").filter(code=code).first() or Region(code=code, path="-/")


def safety_cells_visible_to(
    *,
    actor,
    region: Region | None = None,
    cell_type: str | None = None,
    demonstration_only: bool = False,
) -> QuerySet[SafetyCell]:
    latest = Evaluation.objects.filter(cell=OuterRef("pk")).order_by("-evaluated_on", "-id")
    cells = (
        SafetyCell.objects.visible_to(actor)
        .select_related("cell_type", "region", "region__parent")
        .defer("region__boundary", "region__parent__boundary")
        .annotate(
            evaluation_count=Count("evaluations", distinct=True),
            latest_score=Subquery(latest.values("total_score")[:1]),
            latest_max=Subquery(latest.values("max_total")[:1]),
        )
    )
    cells = _within(cells, "region__path", region)
    if cell_type:
        cells = cells.filter(cell_type__code=cell_type)
    if demonstration_only:
        cells = current_demonstration_sites(cells)
    return cells.order_by("region__code", "name")


def current_demonstration_sites(cells: QuerySet[SafetyCell], on: datetime.date | None = None):
    on = on or timezone.localdate()
    return cells.filter(is_demonstration_site=True, designated_on__lte=on).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=on)
    )


def evaluations_visible_to(*, actor, cell_id: int | None = None) -> QuerySet[Evaluation]:
    evaluations = (
        Evaluation.objects.visible_to(actor)
        .select_related("cell", "evaluator")
        .prefetch_related(
            Prefetch("scores", queryset=EvaluationScore.objects.select_related("criterion")), "photos"
        )
    )
    if cell_id is not None:
        evaluations = evaluations.filter(cell_id=cell_id)
    return evaluations.order_by("-evaluated_on", "-id")


def meetings_visible_to(*, actor) -> QuerySet[OnSiteMeeting]:
    return (
        OnSiteMeeting.objects.visible_to(actor)
        .select_related("host_region")
        .defer("host_region__boundary")
        .prefetch_related(Prefetch("sites_visited", queryset=SafetyCell.objects.only("id", "name")))
        .order_by("-held_on")
    )


def prevention_units_visible_to(
    *, actor, level: str | None = None, kind: str | None = None
) -> QuerySet[PreventionUnit]:
    units = (
        PreventionUnit.objects.visible_to(actor)
        .select_related("region")
        .defer("region__boundary")
        .annotate(member_count=Count("members", distinct=True))
    )
    if level:
        units = units.filter(level=level)
    if kind:
        units = units.filter(kind=kind)
    return units.order_by("region__code", "level", "name")


def unit_counts_by_level(*, actor) -> list[dict]:
    """How many active units of each kind work at each of the four levels, in the actor's sight."""
    counts = {
        (row["level"], row["kind"]): row["n"]
        for row in PreventionUnit.objects.visible_to(actor)
        .filter(is_active=True)
        .order_by()
        .values("level", "kind")
        .annotate(n=Count("id"))
    }
    return [
        {
            "level": level,
            "label": label,
            "kinds": [
                (kind_label, counts.get((level, kind), 0)) for kind, kind_label in PreventionUnit.Kind.choices
            ],
            "total": sum(n for (lv, _kind), n in counts.items() if lv == level),
        }
        for level, label in PreventionUnit.Level.choices
    ]


def patrol_units_for(*, actor) -> QuerySet[PreventionUnit]:
    """Units the actor may log a patrol for: active patrol teams and commands in scope."""
    return (
        PreventionUnit.objects.visible_to(actor)
        .filter(is_active=True)
        .exclude(kind=PreventionUnit.Kind.SECURITY_COMMITTEE)
        .select_related("region")
        .defer("region__boundary")
        .order_by("region__code", "name")
    )


def patrol_logs_visible_to(
    *, actor, region: Region | None = None, unit_id: int | None = None
) -> QuerySet[PatrolLog]:
    logs = (
        PatrolLog.objects.visible_to(actor)
        .select_related("unit", "unit__region", "logged_by")
        .defer("unit__region__boundary")
        # Counted per row shown (a correlated count on the m2m), not by grouping every log in scope.
        .annotate(
            incident_count=Coalesce(
                Subquery(
                    PatrolLog.incidents.through.objects.filter(patrollog_id=OuterRef("pk"))
                    .order_by()
                    .values("patrollog_id")
                    .annotate(n=Count("pk"))
                    .values("n"),
                    output_field=IntegerField(),
                ),
                0,
            )
        )
    )
    if unit_id is not None:
        logs = logs.filter(unit_id=unit_id)
    return _within(logs, "unit__region__path", region).order_by("-ended_at", "-id")


def cameras_visible_to(
    *,
    actor,
    region: Region | None = None,
    status: str | None = None,
    near: Point | None = None,
    metres: float = 300,
) -> QuerySet[Camera]:
    cameras = Camera.objects.visible_to(actor).select_related("village").defer("village__boundary")
    if status:
        cameras = cameras.filter(status=status)
    if near is not None:
        cameras = cameras.filter(location__dwithin=(near, D(m=metres)))
    # Ends with the primary key: the list pages by keyset (``KeysetGeoPagination``).
    return _within(cameras, "village__path", region).order_by("code", "id")


def cameras_near(*, actor, point: Point, metres: float = DEFAULT_CAMERA_RADIUS_M) -> QuerySet[Camera]:
    """Cameras within ``metres`` of ``point``: ST_DWithin on the geography column, served by
    its GiST index (see bench/bench_cameras.py for the plan)."""
    return (
        Camera.objects.visible_to(actor)
        .filter(location__dwithin=(point, D(m=metres)))
        .only("id", "code", "name", "phase", "status", "owner", "location")
        .order_by("code")
    )


def incidents_with_nearby_cameras(
    *,
    actor,
    metres: float = DEFAULT_CAMERA_RADIUS_M,
    region: Region | None = None,
    days: int | None = None,
) -> QuerySet[Incident]:
    """Incidents in scope, each with the number of Skynet cameras (in scope) within ``metres``:
    where footage may exist, and which incidents no camera watches. One query; each incident
    probes the cameras' GiST index."""
    nearby = (
        Camera.objects.visible_to(actor)
        .filter(location__dwithin=(OuterRef("location"), D(m=metres)))
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT"))
        .values("n")
    )
    incidents = Incident.objects.visible_to(actor).filter(location__isnull=False)
    incidents = _within(incidents, "grid__village__path", region)
    if days is not None:
        incidents = incidents.filter(reported_at__gte=timezone.now() - datetime.timedelta(days=days))
    return incidents.annotate(cameras_nearby=Subquery(nearby, output_field=IntegerField())).order_by(
        "-reported_at", "-id"
    )


# --- coverage ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    villages: int
    covered: int

    @property
    def rate(self) -> float | None:
        return round(100 * self.covered / self.villages, 2) if self.villages else None


def _unit_exists(kind: str) -> Exists:
    return Exists(PreventionUnit.objects.filter(region=OuterRef("pk"), kind=kind, is_active=True))


def villages_with_joint_defence(*, actor, region: Region | None = None) -> QuerySet[Region]:
    """Villages in scope, each marked with whether it has a security committee and a patrol team."""
    villages = Region.objects.visible_to(actor).filter(level=Region.Level.VILLAGE)
    villages = _within(villages, "path", region).defer("boundary")
    return villages.annotate(
        has_committee=_unit_exists(PreventionUnit.Kind.SECURITY_COMMITTEE),
        has_patrol_team=_unit_exists(PreventionUnit.Kind.PATROL_TEAM),
    ).order_by("code")


def joint_defence_coverage(*, actor, region: Region | None = None) -> Coverage:
    """Share of villages with both a security committee (治保会) and a patrol team (巡防队)."""
    totals = villages_with_joint_defence(actor=actor, region=region).aggregate(
        villages=Count("pk"), covered=Count("pk", filter=Q(has_committee=True, has_patrol_team=True))
    )
    return Coverage(villages=totals["villages"], covered=totals["covered"])


def joint_defence_by_township(*, actor, region: Region | None = None) -> list[dict]:
    """Coverage per township (one query), for the coverage table and export."""
    rows = (
        villages_with_joint_defence(actor=actor, region=region)
        .values("parent__code", "parent__name")
        .annotate(
            villages=Count("pk"),
            covered=Count("pk", filter=Q(has_committee=True, has_patrol_team=True)),
        )
        .order_by("parent__code")
    )
    return [
        {**row, "rate": round(100 * row["covered"] / row["villages"], 2) if row["villages"] else None}
        for row in rows
    ]


def township_coverage_map(*, actor, region: Region | None = None) -> list[dict]:
    """Townships in scope as simplified GeoJSON outlines with their joint-defence coverage rate."""
    rates = {row["parent__code"]: row for row in joint_defence_by_township(actor=actor, region=region)}
    townships = _within(Region.objects.visible_to(actor).filter(level=Region.Level.TOWNSHIP), "path", region)
    outlines = townships.filter(code__in=rates, boundary__isnull=False).annotate(
        outline=AsGeoJSON(
            Func(
                "boundary", Value(0.002), function="ST_SimplifyPreserveTopology", output_field=GeometryField()
            ),
            precision=5,
        )
    )
    return [
        {"code": t.code, "name": t.name, "rate": rates[t.code]["rate"], "geometry": json.loads(t.outline)}
        for t in outlines.only("code", "name").order_by("code")
    ]


def villages_with_idle_patrol_team(*, actor, days: int, region: Region | None = None) -> QuerySet[Region]:
    """Villages that have a patrol team which logged no patrol in the last ``days`` days."""
    since = timezone.now() - datetime.timedelta(days=days)
    last_patrol = (
        PatrolLog.objects.filter(unit__region=OuterRef("pk"), unit__kind=PreventionUnit.Kind.PATROL_TEAM)
        .order_by("-ended_at")
        .values("ended_at")[:1]
    )
    return (
        villages_with_joint_defence(actor=actor, region=region)
        .filter(has_patrol_team=True)
        .annotate(last_patrol_at=Subquery(last_patrol))
        .filter(Q(last_patrol_at__isnull=True) | Q(last_patrol_at__lt=since))
        .select_related("parent")
        .defer("parent__boundary")
    )


def grid_patrol_gaps(
    *, actor, days: int, min_incidents: int = 1, region: Region | None = None
) -> QuerySet[Grid]:
    """Grids where incidents cluster (at least ``min_incidents`` reported in ``days`` days) and
    no patrol route passed through in that time — where patrols should go next."""
    since = timezone.now() - datetime.timedelta(days=days)
    recent_patrol = PatrolLog.objects.filter(route__intersects=OuterRef("geometry"), ended_at__gte=since)
    grids = Grid.objects.visible_to(actor).select_related("village").defer("village__boundary")
    grids = _within(grids, "village__path", region)
    return (
        grids.annotate(
            recent_incidents=Coalesce(
                Subquery(
                    Incident.objects.filter(grid=OuterRef("pk"), reported_at__gte=since)
                    .order_by()
                    .values("grid")
                    .annotate(n=Count("pk"))
                    .values("n"),
                    output_field=IntegerField(),
                ),
                0,
            ),
            patrolled=Exists(recent_patrol),
        )
        .filter(recent_incidents__gte=min_incidents, patrolled=False)
        .order_by("-recent_incidents", "code")
    )


def camera_coverage_by_grid(*, actor, region: Region | None = None) -> QuerySet[Grid]:
    """Each grid in scope with its Skynet cameras, total and online."""
    grids = Grid.objects.visible_to(actor).select_related("village").defer("village__boundary")
    grids = _within(grids, "village__path", region)
    return grids.annotate(
        camera_count=Count("cameras"),
        cameras_online=Count("cameras", filter=Q(cameras__status=Camera.Status.ONLINE)),
    ).order_by("code")


def camera_grid_coverage(*, actor, region: Region | None = None) -> Coverage:
    """Share of grids with at least one online camera (reusing ``Coverage``: villages = grids)."""
    totals = camera_coverage_by_grid(actor=actor, region=region).aggregate(
        grids=Count("pk", distinct=True),
        covered=Count("pk", distinct=True, filter=Q(cameras__status=Camera.Status.ONLINE)),
    )
    return Coverage(villages=totals["grids"], covered=totals["covered"])


def devices_by_village(*, actor, region: Region | None = None) -> list[dict]:
    """Small technical-prevention devices per community, one row per village."""
    rows = DeviceDistribution.objects.visible_to(actor)
    rows = _within(rows, "village__path", region)
    return list(
        rows.values("village__code", "village__name")
        .annotate(
            fishing_alarms=Coalesce(
                Sum("quantity", filter=Q(device=DeviceDistribution.Device.FISHING_ALARM)), 0
            ),
            super_b_locks=Coalesce(
                Sum("quantity", filter=Q(device=DeviceDistribution.Device.SUPER_B_LOCK)), 0
            ),
        )
        .order_by("village__code")
    )


# --- hooks for other apps ------------------------------------------------------------------------


def _rolled_up_safety_figures(*, actor, region: Region | None) -> dict | None:
    """Demonstration sites current today and cameras (online, total) from the dashboard rollups:
    two queries over the tally rows of one region; None for grid-office staff."""
    from rollups.selectors import day_start, rollup_regions, tallies
    from rollups.services import fold_if_queued

    regions = rollup_regions(actor=actor, region=region)
    if regions is None:
        return None
    fold_if_queued()
    sites = tallies(measure="safety.demonstration", regions=regions).filter(
        bucket__lte=day_start(timezone.localdate())
    )
    cameras = tallies(measure="safety.camera", regions=regions).aggregate(
        total=Coalesce(Sum("n"), 0), online=Coalesce(Sum("n", filter=Q(dim_b=Camera.Status.ONLINE)), 0)
    )
    return {"sites": sites.aggregate(n=Coalesce(Sum("n"), 0))["n"], "cameras": cameras}


def dashboard_figures(*, actor, region: Region | None, raw: bool = False) -> dict:
    """The dashboard's figures: from the rollups, or (``raw``, grid-office staff) the records."""
    figures = None if raw else _rolled_up_safety_figures(actor=actor, region=region)
    if figures is None:
        sites = current_demonstration_sites(
            _within(SafetyCell.objects.visible_to(actor), "region__path", region)
        )
        cameras = _within(Camera.objects.visible_to(actor), "village__path", region).aggregate(
            total=Count("pk"), online=Count("pk", filter=Q(status=Camera.Status.ONLINE))
        )
        figures = {"sites": sites.count(), "cameras": cameras}
    # Villages and their prevention units are an inventory (at most one row per village and
    # kind), not a history: counted from the records, bounded by the number of villages.
    figures["coverage"] = joint_defence_coverage(actor=actor, region=region)
    return figures


def dashboard_tiles(*, actor, region) -> list[Tile]:
    """Demonstration sites, joint-defence coverage and cameras online, inside the actor's scope."""
    from rollups.selectors import folded_at, rollup_regions

    figures = dashboard_figures(actor=actor, region=region)
    as_of = folded_at() if rollup_regions(actor=actor, region=region) is not None else None
    coverage, cameras = figures["coverage"], figures["cameras"]
    group = _("Safe cells and prevention")
    return [
        Tile(
            key="safety_cells.demonstration_sites",
            label=_("Demonstration sites"),
            value=figures["sites"],
            url="/safety/",
            group=group,
            as_of=as_of,
        ),
        Tile(
            key="safety_cells.joint_defence_coverage",
            label=_("Villages with security committee and patrol team"),
            value=coverage.rate,
            unit="%",
            detail=f"{coverage.covered}/{coverage.villages}",
            url="/safety/coverage/",
            group=group,
        ),
        Tile(
            key="safety_cells.cameras_online",
            label=_("Skynet cameras online"),
            value=cameras["online"],
            detail=f"{cameras['online']}/{cameras['total']}",
            url="/safety/coverage/",
            group=group,
            as_of=as_of,
        ),
    ]


def incident_camera_panel(*, actor, incident) -> dict | None:
    """The incident page's panel: Skynet cameras within 300 m that may have seen it, as rows."""
    if incident.location is None:
        return None
    labels = dict(Camera.Status.choices)
    cameras = [
        {"code": code, "status": labels.get(status, status), "phase": phase, "owner": owner, "metres": m}
        for code, status, phase, owner, m in incident_camera_rows(
            actor=actor, point=incident.location, metres=DEFAULT_CAMERA_RADIUS_M
        )
    ]
    return {
        "template": "safety_cells/incident_cameras_panel.html",
        "context": {"cameras": cameras, "radius": DEFAULT_CAMERA_RADIUS_M},
    }


# --- precomputed coverage (safety_cells.coverage), for the coverage page and its map ------------


def coverage_as_of() -> datetime.datetime | None:
    """When the coverage tables were last refreshed (None: never). A time, not jurisdiction data."""
    return CoverageRefresh.objects.order_by("-finished_at").values_list("finished_at", flat=True).first()


def village_coverage_visible_to(*, actor, region: Region | None = None) -> QuerySet[VillageCoverage]:
    return _within(VillageCoverage.objects.visible_to(actor), "village__path", region)


def _rate(covered: int, total: int) -> float | None:
    return round(100 * covered / total, 2) if total else None


def coverage_joint_defence(*, actor, region: Region | None = None) -> Coverage:
    """``joint_defence_coverage`` read from the coverage table (one query)."""
    totals = village_coverage_visible_to(actor=actor, region=region).aggregate(
        villages=Count("pk"), covered=Count("pk", filter=Q(has_committee=True, has_patrol_team=True))
    )
    return Coverage(villages=totals["villages"], covered=totals["covered"])


def coverage_by_township(*, actor, region: Region | None = None) -> list[dict]:
    """``joint_defence_by_township`` read from the coverage table: the same rows and keys."""
    rows = (
        village_coverage_visible_to(actor=actor, region=region)
        .values(parent__code=F("township__code"), parent__name=F("township__name"))
        .annotate(
            villages=Count("pk"), covered=Count("pk", filter=Q(has_committee=True, has_patrol_team=True))
        )
        .order_by("parent__code")
    )
    return [{**row, "rate": _rate(row["covered"], row["villages"])} for row in rows]


def coverage_idle_patrol_villages(
    *, actor, days: int, region: Region | None = None
) -> QuerySet[VillageCoverage]:
    """Villages whose patrol team logged no patrol in the last ``days`` days (as of the refresh)."""
    since = timezone.now() - datetime.timedelta(days=days)
    return (
        village_coverage_visible_to(actor=actor, region=region)
        .filter(has_patrol_team=True)
        .filter(Q(last_patrol_at__isnull=True) | Q(last_patrol_at__lt=since))
        .select_related("village", "township")
        .only("last_patrol_at", "village__code", "village__name", "township__name")
        .order_by("village__code")
    )


def _first_day(days: int) -> datetime.date:
    """The first local day counted by "the last ``days`` days": the whole of the day ``days`` ago."""
    return timezone.localdate() - datetime.timedelta(days=days)


def coverage_patrol_gaps(
    *, actor, days: int = 7, min_incidents: int = 1, region: Region | None = None, bbox=None
) -> QuerySet[GridCoverage]:
    """``grid_patrol_gaps`` from the coverage tables: grids with at least ``min_incidents``
    incidents since the start of the day ``days`` ago and no patrol route through them since then."""
    since = timezone.now() - datetime.timedelta(days=days)
    incidents = (
        GridIncidentDay.objects.filter(grid=OuterRef("grid"), day__gte=_first_day(days))
        .order_by()
        .values("grid")
        .annotate(n=Sum("incidents"))
        .values("n")
    )
    gaps = _within(GridCoverage.objects.visible_to(actor), "grid__village__path", region)
    if bbox is not None:
        gaps = gaps.filter(grid__geometry__bboverlaps=bbox)
    return (
        gaps.filter(Q(last_patrol_at__isnull=True) | Q(last_patrol_at__lt=since))
        .annotate(recent_incidents=Coalesce(Subquery(incidents, output_field=IntegerField()), 0))
        .filter(recent_incidents__gte=min_incidents)
        .order_by("-recent_incidents", "grid__code")
    )


def coverage_cameras_by_grid(*, actor, region: Region | None = None) -> QuerySet[GridCoverage]:
    """Each grid in scope with its Skynet cameras, total and online (as of the refresh)."""
    rows = _within(GridCoverage.objects.visible_to(actor), "grid__village__path", region)
    return rows.order_by("grid__code")


def coverage_camera_grids(*, actor, region: Region | None = None) -> Coverage:
    """Share of grids with at least one online camera (``Coverage``: villages = grids)."""
    totals = coverage_cameras_by_grid(actor=actor, region=region).aggregate(
        grids=Count("pk"), covered=Count("pk", filter=Q(cameras_online__gt=0))
    )
    return Coverage(villages=totals["grids"], covered=totals["covered"])


def coverage_devices_by_village(*, actor, region: Region | None = None) -> QuerySet:
    """``devices_by_village`` from the coverage table: villages that received any device."""
    return (
        village_coverage_visible_to(actor=actor, region=region)
        .filter(Q(fishing_alarms__gt=0) | Q(super_b_locks__gt=0))
        .values("fishing_alarms", "super_b_locks", village__code=F("village__code"))
        .annotate(village__name=F("village__name"))
        .order_by("village__code")
    )


def coverage_unwatched_incidents(*, actor, days: int) -> QuerySet[UnwatchedIncident]:
    """Incidents of the last ``days`` days that no Skynet camera watched (as of the refresh), newest
    first. Scoped exactly as the incidents themselves."""
    since = timezone.now() - datetime.timedelta(days=days)
    return (
        UnwatchedIncident.objects.visible_to(actor)
        .filter(reported_at__gte=since, incident__deleted_at__isnull=True)
        .select_related("incident__category", "incident__grid")
        .only(
            "reported_at",
            "incident__id",
            "incident__reported_at",
            "incident__category__name",
            "incident__grid__name",
        )
        .order_by("-reported_at", "-incident_id")
    )


# --- map layers (bounded by the view; see grids.map_layers) --------------------------------------


def township_coverage_in_view(*, actor, bbox=None) -> QuerySet[Region]:
    """Townships in scope meeting ``bbox``, each with its villages in scope and those covered."""
    villages = VillageCoverage.objects.visible_to(actor).filter(township=OuterRef("pk")).order_by()
    count = Func(F("pk"), function="COUNT")
    townships = Region.objects.visible_to(actor).filter(level=Region.Level.TOWNSHIP)
    if bbox is not None:
        townships = townships.filter(boundary__bboverlaps=bbox)
    return townships.annotate(
        villages=Subquery(villages.annotate(n=count).values("n"), output_field=IntegerField()),
        covered=Subquery(
            villages.filter(has_committee=True, has_patrol_team=True).annotate(n=count).values("n"),
            output_field=IntegerField(),
        ),
    ).filter(villages__gt=0)


def cameras_in_view(*, actor, bbox=None) -> QuerySet[Camera]:
    """Cameras in scope inside ``bbox`` (&& on the geography: its GiST index alone answers)."""
    cameras = Camera.objects.visible_to(actor)
    return cameras if bbox is None else cameras.filter(location__bboverlaps=bbox)


def camera_grids_in_view(*, actor, bbox=None) -> QuerySet[GridCoverage]:
    """Grids in scope meeting ``bbox`` that have cameras (as of the coverage refresh): what the
    camera layer clusters when zoomed out."""
    grids = GridCoverage.objects.visible_to(actor).filter(camera_count__gt=0)
    return grids if bbox is None else grids.filter(grid__geometry__bboverlaps=bbox)


def patrol_routes_in_view(*, actor, bbox=None, days: int = 7) -> QuerySet[PatrolLog]:
    """Patrol logs in scope that ended in the last ``days`` days with a route meeting ``bbox``."""
    since = timezone.now() - datetime.timedelta(days=days)
    logs = PatrolLog.objects.visible_to(actor).filter(ended_at__gte=since)
    return logs if bbox is None else logs.filter(route__bboverlaps=bbox)


# The panel's statement, compiled once per jurisdiction and radius (the ORM builds it through
# ``visible_to``; only the incident's point changes between page views, and it is a parameter).
_PANEL_STATEMENTS: dict[tuple, tuple[str, list]] = {}
_PANEL_POINT = "SRID=4326;POINT(0 0)"


def _panel_statement(actor, metres: float) -> tuple[str, list] | None:
    key = (Jurisdiction.of(actor), float(metres))
    statement = _PANEL_STATEMENTS.get(key)
    if statement is None:
        point = Func(
            Value(_PANEL_POINT), function="ST_GeogFromText", output_field=GeometryField(geography=True)
        )
        cameras = (
            Camera.objects.visible_to(actor)
            .filter(
                Func(
                    F("location"),
                    point,
                    Value(float(metres)),
                    function="ST_DWithin",
                    output_field=BooleanField(),
                )
            )
            .annotate(
                distance_m=Func(F("location"), point, function="ST_Distance", output_field=FloatField())
            )
            .order_by("distance_m", "code")
            .values_list("code", "status", "phase", "owner", "distance_m")
        )
        assert_scoped(cameras, actor)
        try:
            sql, params = cameras.query.sql_with_params()
        except EmptyResultSet:
            return None
        statement = (sql, list(params))
        if len(_PANEL_STATEMENTS) > 512:
            _PANEL_STATEMENTS.clear()
        _PANEL_STATEMENTS[key] = statement
    return statement


def incident_camera_rows(*, actor, point: Point, metres: float = DEFAULT_CAMERA_RADIUS_M) -> list[tuple]:
    """What the incident page's camera panel shows, as plain rows: code, status, phase, owner and
    distance in metres, nearest first (ST_DWithin on the cameras' GiST index). The scoped statement
    is compiled once per jurisdiction and radius, so a page view pays for the query, not for
    building it again (bench/bench_cameras.py)."""
    statement = _panel_statement(actor, metres)
    if statement is None:
        return []  # the actor's jurisdiction holds no cameras at all (a department's staff)
    sql, params = statement
    ewkt = (point if point.srid == 4326 else point.transform(4326, clone=True)).ewkt
    bound = [ewkt if value == _PANEL_POINT else value for value in params]
    with connection.cursor() as cursor:
        cursor.execute(sql, bound)
        return cursor.fetchall()
