"""Mediation KPI tiles for the officials' dashboard (see anshun/dashboard.py), read from the
dashboard rollups (rollups.sources: ``mediation.case``): one query over the tally rows of the
viewer's region, whatever the number of cases behind them."""

from __future__ import annotations

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from anshun.dashboard import Tile
from mediation import selectors
from mediation.models import JudicialConfirmation, MediationCase

OPEN_STATUSES = (MediationCase.Status.IN_MEDIATION, MediationCase.Status.AGREEMENT)


def _raw_figures(*, actor, region, today) -> dict:
    """The recount from the case records (grid-office staff, and the tests' reference)."""
    cases = selectors.cases_visible_to(actor=actor)
    if region is not None:
        cases = cases.filter(region__path__startswith=region.path)
    rows = selectors.with_deadlines(cases.filter(status__in=OPEN_STATUSES), today=today)
    closed = cases.exclude(status=MediationCase.Status.IN_MEDIATION)
    return {
        "in_mediation": sum(1 for c in rows if c.status == MediationCase.Status.IN_MEDIATION),
        "overdue": sum(1 for c in rows if c.next_deadline and c.next_deadline.is_overdue(today)),
        "closed": closed.count(),
        "agreements": closed.filter(status=MediationCase.Status.AGREEMENT).count(),
        "confirmed": closed.filter(
            agreement__confirmation__outcome=JudicialConfirmation.Outcome.CONFIRMED
        ).count(),
    }


def _rolled_up_figures(*, actor, region, today) -> dict | None:
    from rollups.selectors import day_start, rollup_regions, tallies
    from rollups.services import fold_if_queued

    regions = rollup_regions(actor=actor, region=region)
    if regions is None:
        return None
    fold_if_queued()
    rows = tallies(measure="mediation.case", regions=regions)
    committees = selectors.rollup_committees(actor=actor)
    if committees is not None:
        rows = rows.filter(dim_a__in=committees)
    in_mediation = Q(dim_b=MediationCase.Status.IN_MEDIATION)

    def total(condition: Q):
        return Coalesce(Sum("n", filter=condition), 0)

    return rows.aggregate(
        in_mediation=total(in_mediation),
        overdue=total(Q(dim_b__in=OPEN_STATUSES, bucket__lt=day_start(today))),
        closed=total(~in_mediation),
        agreements=total(Q(dim_b=MediationCase.Status.AGREEMENT)),
        confirmed=total(~in_mediation & Q(dim_c="confirmed")),
    )


def mediation_figures(*, actor, region, today=None, raw: bool = False) -> dict:
    today = today or timezone.localdate()
    if not actor.can("mediation.view"):
        return {}
    figures = None if raw else _rolled_up_figures(actor=actor, region=region, today=today)
    return figures if figures is not None else _raw_figures(actor=actor, region=region, today=today)


def mediation_tiles(*, actor, region) -> list[Tile]:
    from rollups.selectors import folded_at, rollup_regions

    if not actor.can("mediation.view"):
        return []
    f = mediation_figures(actor=actor, region=region)
    as_of = folded_at() if rollup_regions(actor=actor, region=region) is not None else None
    agreements, closed_count, confirmed = f["agreements"], f["closed"], f["confirmed"]
    url, group = reverse("mediation:caseload"), str(_("Mediation"))

    def tile(key: str, label, value, unit: str, detail: str = "") -> Tile:
        return Tile(f"mediation.{key}", label, value, unit, detail=detail, url=url, group=group, as_of=as_of)

    return [
        tile("open_cases", _("Disputes in mediation"), f["in_mediation"], "件"),
        tile(
            "success_rate",
            _("Mediation success rate"),
            selectors.rate(agreements, closed_count, 2),
            "%",
            f"{agreements}/{closed_count}",
        ),
        tile(
            "confirmation_rate",
            _("Agreements judicially confirmed"),
            selectors.rate(confirmed, agreements, 2),
            "%",
            f"{confirmed}/{agreements}",
        ),
        tile("overdue", _("Legal deadlines overdue"), f["overdue"], "件"),
    ]
