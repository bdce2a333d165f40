"""Mediation KPI tiles for the officials' dashboard (see anshun/dashboard.py)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from anshun.dashboard import Tile
from mediation import selectors
from mediation.models import JudicialConfirmation, MediationCase


def mediation_tiles(*, actor, region) -> list[Tile]:
    if not actor.can("mediation.view"):
        return []
    cases = selectors.cases_visible_to(actor=actor)
    if region is not None:
        cases = cases.filter(region__path__startswith=region.path)
    rows = selectors.with_deadlines(
        cases.filter(status__in=[MediationCase.Status.IN_MEDIATION, MediationCase.Status.AGREEMENT])
    )
    closed = cases.exclude(status=MediationCase.Status.IN_MEDIATION)
    closed_count = closed.count()
    agreements = closed.filter(status=MediationCase.Status.AGREEMENT).count()
    confirmed = closed.filter(agreement__confirmation__outcome=JudicialConfirmation.Outcome.CONFIRMED).count()
    today = timezone.localdate()
    overdue = sum(1 for c in rows if c.next_deadline and c.next_deadline.is_overdue(today))
    in_mediation = sum(1 for c in rows if c.status == MediationCase.Status.IN_MEDIATION)
    url, group = reverse("mediation:caseload"), str(_("Mediation"))

    def tile(key: str, label, value, unit: str, detail: str = "") -> Tile:
        return Tile(f"mediation.{key}", label, value, unit, detail=detail, url=url, group=group)

    return [
        tile("open_cases", _("Disputes in mediation"), in_mediation, "件"),
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
        tile("overdue", _("Legal deadlines overdue"), overdue, "件"),
    ]
