"""Reads of 回访 (callbacks) and the per-case satisfaction rate, scoped to the actor.

The rate uses the surveys' machinery unchanged: the answers are positions on a three-step
scale (0 satisfied, 1 basically satisfied, 2 dissatisfied), ``CALLBACK_RULE`` counts the top two
(the 满意率 convention of the surveys' satisfaction item), and ``surveys.stats.apply_rule``
gives the rate and its 95% Wilson interval. The counts come from the rollup tallies
(``incidents.callback``: each case's latest reached callback), which the rollups' incremental,
idempotent fold keeps current; grid-office staff (whose sight is not a region) are counted raw.
"""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery, Sum

from anshun.dashboard import Tile
from incidents.models import Incident, IncidentCallback, Satisfaction
from surveys.stats import Rate, apply_rule

# Position of each answer on the scale, as survey items number theirs (0 = top).
SCALE = {Satisfaction.SATISFIED: 0, Satisfaction.BASIC: 1, Satisfaction.DISSATISFIED: 2}
# The counting rule: satisfied and basically satisfied count; no "can't say" on this scale
# (a reporter not reached gave no answer and is not in the denominator).
CALLBACK_RULE = {"counted": (0, 1), "cant_say": None, "cant_say_in_denominator": True}


def callbacks_visible_to(*, actor) -> QuerySet[IncidentCallback]:
    return (
        IncidentCallback.objects.visible_to(actor)
        .select_related("incident", "incident__category", "by")
        .order_by("-at", "-id")
    )


def _raw_counts(*, actor, region) -> dict[str, int]:
    """The same figure counted from the records (grid-office staff, and the tests' reference)."""
    incidents = Incident.objects.visible_to(actor).filter(deleted_at__isnull=True, grid__isnull=False)
    if region is not None:
        incidents = incidents.filter(grid__village__path__startswith=region.path)
    latest = IncidentCallback.objects.filter(incident=OuterRef("pk"), reached=True).order_by("-at", "-id")
    answers = incidents.annotate(answer=Subquery(latest.values("satisfaction")[:1])).filter(
        answer__isnull=False
    )
    counts: dict[str, int] = {}
    for answer in answers.values_list("answer", flat=True):
        counts[answer] = counts.get(answer, 0) + 1
    return counts


def satisfaction_counts(*, actor, region, raw: bool = False) -> dict[str, int]:
    """Cases per latest callback answer inside the actor's scope and ``region``."""
    from rollups.selectors import rollup_regions, tallies
    from rollups.services import fold_if_queued

    regions = None if raw else rollup_regions(actor=actor, region=region)
    if regions is None:
        return _raw_counts(actor=actor, region=region)
    fold_if_queued()
    rows = (
        tallies(measure="incidents.callback", regions=regions).values("dim_b").annotate(n=Sum("n")).order_by()
    )
    return {row["dim_b"]: row["n"] for row in rows}


def satisfaction_rate(counts: dict[str, int]) -> Rate:
    by_position = {SCALE[answer]: n for answer, n in counts.items() if answer in SCALE}
    return apply_rule(by_position, **CALLBACK_RULE)


def callback_tiles(*, actor, region) -> list[Tile]:
    """The per-case satisfaction rate (回访满意率), shown beside the survey's 满意率."""
    from django.utils.translation import gettext as _

    from rollups.selectors import folded_at, rollup_regions

    counts = satisfaction_counts(actor=actor, region=region)
    rate = satisfaction_rate(counts)
    if rate.rate is None:
        detail = _("no callbacks yet")
    else:
        detail = _("n = %(n)s, 95%% CI %(low).2f–%(high).2f") % {
            "n": f"{rate.denominator:,}",
            "low": rate.ci_low,
            "high": rate.ci_high,
        }
    tracked = rollup_regions(actor=actor, region=region) is not None
    return [
        Tile(
            key="incidents.callback_satisfaction",
            label=_("Callback satisfaction rate"),
            value=round(rate.rate, 2) if rate.rate is not None else None,
            unit="%",
            detail=detail,
            group=_("Grid incidents"),
            extra={"n": rate.denominator},
            as_of=folded_at() if tracked else None,
        )
    ]


def incident_tiles(*, actor, region) -> list[Tile]:
    """The incidents app's dashboard tiles: its figures, then the callback satisfaction (which
    the dashboard thus shows just before the surveys' rates)."""
    from incidents.selectors import dashboard_tiles

    return [*dashboard_tiles(actor=actor, region=region), *callback_tiles(actor=actor, region=region)]
