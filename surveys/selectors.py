"""Reads of survey figures, always scoped to the actor (see anshun.scoping)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from anshun.dashboard import Tile
from grids.models import Region
from grids.selectors import regions_visible_to
from surveys.models import EconomicIndicator, Level, Metric, RegionMetric, Response, Wave

CHILD_LEVEL = {
    Region.Level.CITY: Level.COUNTY,
    Region.Level.COUNTY: Level.TOWNSHIP,
    Region.Level.TOWNSHIP: Level.VILLAGE,
    Region.Level.VILLAGE: Level.GRID_OFFICE,
}


def metrics_visible_to(
    *,
    actor,
    wave_code: str | None = None,
    level: str | None = None,
    region_code: str | None = None,
    within_code: str | None = None,
    month: str | None = None,
    metric: str | None = None,
) -> QuerySet[RegionMetric]:
    """``month``: "YYYY-MM" for one month, "wave" for whole-wave rows, None for both."""
    metrics = RegionMetric.objects.visible_to(actor)
    if not actor.can("surveys.view"):
        return metrics.none()
    metrics = metrics.select_related("wave", "item", "region", "grid_office").defer(
        "region__boundary", "grid_office__location"
    )
    if wave_code:
        metrics = metrics.filter(wave__code=wave_code)
    if level:
        metrics = metrics.filter(level=level)
    if region_code:
        metrics = metrics.filter(region__code=region_code)
    if within_code:
        path = Region.objects.filter(code=within_code).values_list("path", flat=True).first()
        metrics = metrics.filter(region__path__startswith=path) if path else metrics.none()
    if metric:
        metrics = metrics.filter(item__metric=metric)
    if month == "wave":
        metrics = metrics.filter(month__isnull=True)
    elif month:
        try:
            year, number = (int(part) for part in month.split("-"))
            metrics = metrics.filter(month=date(year, number, 1))
        except ValueError:
            metrics = metrics.none()
    return metrics.order_by(
        "wave__starts_on", "item__metric", "level", "region__code", "grid_office__code", "month"
    )


def responses_visible_to(*, actor, wave_code: str | None = None) -> QuerySet[Response]:
    responses = Response.objects.visible_to(actor)
    if not actor.can("surveys.import"):
        return responses.none()
    responses = responses.select_related("wave", "village", "grid", "grid_office").defer(
        "village__boundary", "grid__geometry", "grid_office__location"
    )
    if wave_code:
        responses = responses.filter(wave__code=wave_code)
    return responses.order_by("-id")


def waves_with_figures() -> list[Wave]:
    """Waves the rollup has produced figures for. An EXISTS probe per wave (served by the metrics'
    unique index, which leads with the wave) instead of a DISTINCT over every metric row."""
    return list(
        Wave.objects.filter(Exists(RegionMetric.objects.filter(wave=OuterRef("pk")))).order_by("starts_on")
    )


def dashboard_region(*, actor, code: str | None) -> Region:
    """The region to show: ``code`` if the actor may see it, else their own top region; 404 otherwise."""
    regions = regions_visible_to(actor=actor)
    region = regions.filter(code=code).first() if code else regions.order_by("path").first()
    if region is None:
        raise Http404
    return region


def breadcrumb(*, actor, region: Region) -> list[Region]:
    codes = [c for c in region.path.split("/") if c]
    return list(regions_visible_to(actor=actor).filter(code__in=codes))


@dataclass
class PlaceFigures:
    code: str
    name: str
    level: str
    drill: bool  # whether the dashboard can open this place
    rates: dict  # metric → RegionMetric


def _place(metric: RegionMetric) -> tuple[str, str]:
    if metric.level == Level.GRID_OFFICE:
        return metric.grid_office.code, metric.grid_office.name
    return metric.region.code, metric.region.name


def child_figures(*, actor, region: Region, wave: Wave | None) -> list[PlaceFigures]:
    """Whole-wave rates of the places one level below ``region`` (grid offices below a community)."""
    if wave is None:
        return []
    child_level = CHILD_LEVEL[region.level]
    metrics = metrics_visible_to(actor=actor, wave_code=wave.code, level=child_level, month="wave")
    if child_level == Level.GRID_OFFICE:
        metrics = metrics.filter(region=region)
    else:
        metrics = metrics.filter(region__parent=region)
    places: dict[str, PlaceFigures] = {}
    for metric in metrics:
        code, name = _place(metric)
        place = places.setdefault(
            code, PlaceFigures(code, name, child_level, child_level != Level.GRID_OFFICE, {})
        )
        place.rates[metric.item.metric] = metric
    return sorted(places.values(), key=lambda p: p.code)


def region_figures(*, actor, region: Region, wave: Wave | None) -> dict[str, RegionMetric]:
    if wave is None:
        return {}
    metrics = metrics_visible_to(
        actor=actor, wave_code=wave.code, level=region.level, region_code=region.code, month="wave"
    )
    return {m.item.metric: m for m in metrics}


def trend(*, actor, region: Region) -> list[dict]:
    """Whole-wave rates of ``region``, one point per wave, oldest first, for the survey-wave chart
    and table (a wave's monthly rows are fieldwork months of one survey, not a trend)."""
    metrics = metrics_visible_to(actor=actor, level=region.level, region_code=region.code, month="wave")
    points: dict[tuple, dict] = defaultdict(dict)
    for m in metrics:
        points[(m.wave.starts_on, m.wave.code, m.wave.name, m.wave.year)][m.item.metric] = m
    return [
        {"label": key[2], "year": key[3], "whole_wave": True, "rates": rates}
        for key, rates in sorted(points.items())
    ]


def ci_text(metric: RegionMetric | None) -> str:
    if metric is None or metric.rate is None:
        return ""
    return _("n = %(n)s, 95%% CI %(low).2f–%(high).2f") % {
        "n": f"{metric.denominator:,}",
        "low": metric.ci_low,
        "high": metric.ci_high,
    }


def survey_tiles(*, actor, region) -> list[Tile]:
    """Security-sense and satisfaction rates of ``region`` in the latest wave with figures."""
    metrics = metrics_visible_to(actor=actor, level=region.level, region_code=region.code, month="wave")
    latest = {}
    for metric in metrics:
        latest[metric.item.metric] = metric  # ordered by wave start: the last one wins
    tiles = []
    for key, label in Metric.choices:
        metric = latest.get(key)
        tiles.append(
            Tile(
                key=f"surveys.{key}",
                label=str(label),
                value=round(metric.rate, 2) if metric and metric.rate is not None else None,
                unit="%",
                detail=f"{metric.wave.name} · {ci_text(metric)}" if metric else _("no survey figures yet"),
                group=str(_("Public surveys")),
                extra={"n": metric.denominator if metric else 0},
            )
        )
    return tiles


def assessment_rows(*, actor, year: int) -> list[dict]:
    """Each county's (and the city's) safety figures for ``year`` beside its economic indicators."""
    regions = list(regions_visible_to(actor=actor).filter(level__in=[Region.Level.CITY, Region.Level.COUNTY]))
    metrics = metrics_visible_to(actor=actor, month="wave").filter(
        wave__year=year, level__in=[Level.CITY, Level.COUNTY]
    )
    rates: dict[int, dict] = defaultdict(dict)
    for m in metrics:
        rates[m.region_id][m.item.metric] = m
    indicators: dict[int, dict] = defaultdict(dict)
    for indicator in EconomicIndicator.objects.visible_to(actor).filter(year=year):
        indicators[indicator.region_id][indicator.kind] = indicator.growth_pct
    return [
        {"region": r, "rates": rates.get(r.id, {}), "indicators": indicators.get(r.id, {})} for r in regions
    ]


def indicator_years() -> list[int]:
    years = set(EconomicIndicator.objects.values_list("year", flat=True))
    years |= set(Wave.objects.values_list("year", flat=True))
    return sorted(years)
