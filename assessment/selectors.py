"""Reads of the assessment: the ranking and a score's drill-down, always scoped to the viewer.

The ranking reads the ``Score`` rollup rows only (never the records), through ``visible_to``: a
county official's townships, a township official's offices and workers. The drill-down lists the
records behind one score through each record's own selector (``incidents_visible_to``,
``cases_visible_to``, the survey metrics' ``visible_to``), so it shows nothing the viewer could not
open anyway; special-population visits are shown as counts per village, suppressed when small,
never as people.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, F, Max, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from anshun.dashboard import Cell, suppress
from assessment.indicators import INDICATORS
from assessment.models import TOTAL, AssessmentRun, IndicatorTarget, Level, Score
from grids.models import Region

DRILL_LIMIT = 200


def scores_visible_to(*, actor) -> QuerySet[Score]:
    return Score.objects.visible_to(actor).select_related(None)


def default_level(actor) -> str:
    """What the viewer ranks: the city and counties their townships, a township its offices."""
    region = getattr(actor, "region", None)
    if region is not None and region.level in (Region.Level.TOWNSHIP, Region.Level.VILLAGE):
        return Level.GRID_OFFICE
    return Level.TOWNSHIP


def latest_year(*, actor) -> int | None:
    return scores_visible_to(actor=actor).aggregate(y=Max("year"))["y"]


@dataclass
class RankRow:
    unit_key: str
    unit_name: str
    peer_group: str
    total: float | None
    rank: int | None
    scores: dict = field(default_factory=dict)  # indicator -> Score


def ranking(*, actor, year: int, level: str) -> list[RankRow]:
    """Every visible unit of ``level`` with its total, rank and indicator scores: one query."""
    rows: dict[str, RankRow] = {}
    scores = (
        scores_visible_to(actor=actor)
        .filter(year=year, level=level)
        .only(
            "unit_key",
            "unit_name",
            "peer_group",
            "indicator",
            "numerator",
            "denominator",
            "value",
            "score",
            "rank",
        )
        .order_by("peer_group", "unit_key")
    )
    for s in scores:
        row = rows.setdefault(s.unit_key, RankRow(s.unit_key, s.unit_name, s.peer_group, None, None))
        if s.indicator == TOTAL:
            row.total, row.rank = s.score, s.rank
        else:
            row.scores[s.indicator] = s
    return sorted(rows.values(), key=lambda r: (r.peer_group, r.rank is None, r.rank or 0, r.unit_key))


def unit_scores(*, actor, year: int, level: str, unit_key: str) -> list[Score]:
    """One unit's rows (404 when the unit is outside the viewer's sight or unknown)."""
    scores = list(
        scores_visible_to(actor=actor)
        .filter(year=year, level=level, unit_key=unit_key)
        .select_related("region", "grid_office")
        .defer("region__boundary", "grid_office__location")
    )
    if not scores:
        raise Http404
    return scores


def targets(*, year: int) -> dict[str, IndicatorTarget]:
    """The year's weights and targets (city-wide: every unit is scored against the same table)."""
    return {t.indicator: t for t in IndicatorTarget.objects.filter(year=year)}


def last_run(*, year: int) -> AssessmentRun | None:
    return AssessmentRun.objects.filter(year=year).order_by("-finished_at").first()


# ---- drill-down -----------------------------------------------------------------------------


@dataclass
class Drill:
    headers: list
    rows: list
    total: int
    note: str = ""


def _place(score: Score, *, grid_prefix: str) -> Q:
    """The records of a unit: a township's grids, an office's grids, a worker's own reports."""
    if score.level == Level.TOWNSHIP:
        return Q(**{f"{grid_prefix}village__parent_id": score.region_id})
    if score.level == Level.GRID_OFFICE:
        return Q(**{f"{grid_prefix}office_id": score.grid_office_id})
    return Q(reporter_id=int(score.unit_key))


def _local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else None


def drill_down(*, actor, score: Score) -> Drill:
    """The records behind ``score`` (a unit's indicator for a year), scoped to ``actor``."""
    from django.utils.translation import gettext as _
    from django.utils.translation import pgettext

    indicator = INDICATORS[score.indicator]
    year = score.year
    if indicator.drill in ("incidents_reported", "incidents_closed"):
        from incidents.selectors import incidents_visible_to

        incidents = incidents_visible_to(actor=actor).filter(_place(score, grid_prefix="grid__"))
        if indicator.drill == "incidents_reported":
            incidents = incidents.filter(reported_at__year=year, reporter__role="grid_worker")
        else:
            incidents = incidents.filter(
                status="closed", closed_at__year=year, due_at__isnull=False, closed_at__isnull=False
            )
        total = incidents.count()
        rows = [
            [
                i.pk,
                i.category.name,
                i.grid.code,
                _local(i.reported_at),
                _local(i.due_at),
                _local(i.closed_at),
                i.get_status_display(),
            ]
            for i in incidents[:DRILL_LIMIT]
        ]
        headers = [_("No."), _("Category"), _("Grid"), _("Reported"), _("Due"), _("Closed"), _("Status")]
        return Drill(headers, rows, total)
    if indicator.drill == "mediation_cases":
        from mediation.selectors import cases_visible_to

        township = Region.objects.only("code").get(pk=score.region_id)
        cases = cases_visible_to(actor=actor).filter(
            region__code__startswith=township.code,
            closed_on__year=year,
            status__in=("agreement", "no_agreement"),
        )
        total = cases.count()
        rows = [
            [c.pk, c.region.name, c.intake_date, c.closed_on, c.get_status_display()]
            for c in cases[:DRILL_LIMIT]
        ]
        return Drill([_("No."), _("Place"), _("Intake date"), _("Closed"), _("Status")], rows, total)
    if indicator.drill == "survey":
        from surveys.models import RegionMetric

        metrics = RegionMetric.objects.visible_to(actor).filter(
            wave__year=year, month__isnull=True, item__metric=score.indicator, level="village"
        )
        if score.level == Level.TOWNSHIP:
            metrics = metrics.filter(region__parent_id=score.region_id)
        else:
            metrics = metrics.filter(region__grids__office_id=score.grid_office_id).distinct()
        metrics = metrics.select_related("region", "wave").defer("region__boundary").order_by("region__code")
        total = metrics.count()
        rows = [
            [m.region.name, m.wave.name, m.numerator, m.denominator, m.rate] for m in metrics[:DRILL_LIMIT]
        ]
        return Drill(
            [
                _("Place"),
                _("Survey wave"),
                pgettext("assessment", "Counted answers"),
                pgettext("assessment", "Denominator"),
                _("Rate (%)"),
            ],
            rows,
            total,
        )
    if indicator.drill == "registry_houses":
        return _registry_houses(actor=actor, score=score)
    # Special-population visits: counts per village only, small counts suppressed.
    return _visit_counts(actor=actor, score=score)


def _registry_houses(*, actor, score: Score) -> Drill:
    """The houses behind a household-visit coverage score, through the registry's own selector
    (``houses_visible_to``: the viewer's villages only), each with its last visit in the year (by
    the grid worker, for a worker's score). A house shows its address code, grid and use, as the
    registry's house list does; no resident or owner is named here."""
    from datetime import date

    from django.db.models import OuterRef, Subquery
    from django.utils.text import capfirst
    from django.utils.translation import gettext as _
    from django.utils.translation import pgettext

    from registry.models import House, HouseholdVisit
    from registry.selectors import houses_visible_to

    houses = houses_visible_to(actor=actor)
    visits = HouseholdVisit.objects.filter(
        house=OuterRef("pk"), visited_on__gte=date(score.year, 1, 1), visited_on__lte=date(score.year, 12, 31)
    )
    if score.level == Level.TOWNSHIP:
        houses = houses.filter(village__parent_id=score.region_id)
    else:
        houses = houses.filter(grid__office_id=score.grid_office_id)
        if score.level == Level.GRID_WORKER:
            visits = visits.filter(by_id=int(score.unit_key))
    houses = houses.annotate(
        visited=Subquery(visits.order_by("-visited_on").values("visited_on")[:1])
    ).order_by(F("visited").asc(nulls_first=True), "address__code")  # the houses not visited first
    total = houses.count()
    rows = [
        [h.address.code, h.grid.code if h.grid else "–", h.get_use_display(), h.visited or "–"]
        for h in houses[:DRILL_LIMIT]
    ]
    return Drill(
        [
            _("Address code"),
            _("Grid"),
            capfirst(House._meta.get_field("use").verbose_name),
            pgettext("assessment", "Visited in the year"),
        ],
        rows,
        total,
    )


def _visit_counts(*, actor, score: Score) -> Drill:
    from django.utils.translation import gettext as _

    from special_groups.models import CaseTask
    from special_groups.projects import projects_with

    tasks = CaseTask.objects.filter(
        kind="visit", due_on__year=score.year, enrollment__project__in=projects_with(figures_outside=True)
    )
    if score.level == Level.TOWNSHIP:
        tasks = tasks.filter(enrollment__person__region__parent_id=score.region_id)
    else:
        tasks = tasks.filter(enrollment__person__region__grids__office_id=score.grid_office_id)
    # The score itself is a count over the unit: its per-village parts are counts of tasks,
    # shown to officials the way every special-population figure is (suppressed below five).
    from anshun.scoping import deliberately_unscoped

    tasks = deliberately_unscoped(
        tasks,
        actor=actor,
        why="Assessment drill-down: visit tasks counted per village of a unit the viewer may see "
        "(checked by unit_scores), never listed; small counts suppressed.",
    )
    per_village = (
        tasks.values("enrollment__person__region__name")
        .annotate(
            due=Count("pk", distinct=True),
            on_time=Count("pk", distinct=True, filter=Q(done_on__lte=F("due_on"))),
        )
        .order_by("enrollment__person__region__name")
    )
    rows = []
    for row in per_village:
        shown = suppress([Cell(row["on_time"], row["due"])], inside=False)
        rows.append(
            [
                row["enrollment__person__region__name"],
                "<5" if shown.hidden[0] else row["due"],
                "–" if shown.hidden[0] else row["on_time"],
            ]
        )
    return Drill(
        [_("Place"), _("Visits due"), _("Visits on time")],
        rows,
        len(rows),
        note=_("Visits to special-population people are counted per village; nobody is listed."),
    )


def economy(*, actor, year: int) -> list:
    """The economic indicators published for the viewer's jurisdiction in ``year`` (entered as
    data in ``surveys.EconomicIndicator``, never computed): shown beside the safety scores."""
    from surveys.models import EconomicIndicator

    return list(
        EconomicIndicator.objects.visible_to(actor)
        .filter(year=year)
        .select_related("region")
        .defer("region__boundary")
        .order_by("region__code", "kind")
    )
