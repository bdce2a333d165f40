"""The legal deadlines of a dispute, computed from its recorded dates (calendar days).

- Mediation is normally completed within 30 days of intake; a recorded extension adds its days.
- People's Mediation Law art. 33: the parties apply jointly for judicial confirmation within 30 days
  of the agreement taking effect. A later application is allowed but flagged.
- 法释〔2011〕5号: the court decides acceptance within 3 days of the application and rules within
  15 days of accepting, extendable by 10 days.

"Within N days of D" is read as: the last permitted day is D + N. Every deadline carries the day a
warning starts; the beat job warns from then until the due day and marks the deadline missed after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.translation import gettext_lazy as _

MEDIATION_DAYS = 30
CONFIRMATION_APPLY_DAYS = 30
COURT_ACCEPT_DAYS = 3
COURT_RULING_DAYS = 15
COURT_RULING_EXTENSION_DAYS = 10

MEDIATION = "mediation"
CONFIRMATION_APPLY = "confirmation_apply"
COURT_ACCEPT = "court_accept"
COURT_RULING = "court_ruling"

LABELS = {
    MEDIATION: _("Mediation to be completed"),
    CONFIRMATION_APPLY: _("Apply for judicial confirmation"),
    COURT_ACCEPT: _("Court to decide acceptance"),
    COURT_RULING: _("Court to rule"),
}

# How many days before the due day the responsible mediator is warned.
WARN_DAYS_BEFORE = {MEDIATION: 5, CONFIRMATION_APPLY: 5, COURT_ACCEPT: 1, COURT_RULING: 3}


@dataclass(frozen=True)
class Deadline:
    key: str
    due_on: date
    met_on: date | None = None

    @property
    def label(self) -> str:
        return str(LABELS[self.key])

    @property
    def warn_from(self) -> date:
        return self.due_on - timedelta(days=WARN_DAYS_BEFORE[self.key])

    @property
    def is_open(self) -> bool:
        return self.met_on is None

    @property
    def met_late(self) -> bool:
        return self.met_on is not None and self.met_on > self.due_on

    def is_overdue(self, today: date) -> bool:
        return self.is_open and today > self.due_on

    def days_left(self, today: date) -> int:
        return (self.due_on - today).days


def mediation_due(*, intake_date: date, extension_days: int = 0) -> date:
    return intake_date + timedelta(days=MEDIATION_DAYS + extension_days)


def confirmation_apply_due(*, effective_on: date) -> date:
    return effective_on + timedelta(days=CONFIRMATION_APPLY_DAYS)


def is_late_application(*, effective_on: date, applied_on: date) -> bool:
    return applied_on > confirmation_apply_due(effective_on=effective_on)


def court_accept_due(*, applied_on: date) -> date:
    return applied_on + timedelta(days=COURT_ACCEPT_DAYS)


def court_ruling_due(*, accepted_on: date, extended: bool = False) -> date:
    return accepted_on + timedelta(days=COURT_RULING_DAYS + (COURT_RULING_EXTENSION_DAYS if extended else 0))


def case_deadlines(case) -> list[Deadline]:
    """Every deadline the case has reached so far, met or open. Needs the case's agreement and
    confirmation loaded (``select_related("agreement__confirmation")``) to stay query-free."""
    from mediation.models import JudicialConfirmation, MediationCase

    deadlines = [
        Deadline(
            MEDIATION,
            mediation_due(intake_date=case.intake_date, extension_days=case.extension_days),
            case.closed_on if case.status != MediationCase.Status.IN_MEDIATION else None,
        )
    ]
    agreement = getattr(case, "agreement", None) if case.status == MediationCase.Status.AGREEMENT else None
    if agreement is None:
        return deadlines
    confirmation = getattr(agreement, "confirmation", None)
    deadlines.append(
        Deadline(
            CONFIRMATION_APPLY,
            confirmation_apply_due(effective_on=agreement.effective_on),
            confirmation.applied_on if confirmation else None,
        )
    )
    if confirmation is None:
        return deadlines
    deadlines.append(
        Deadline(
            COURT_ACCEPT,
            court_accept_due(applied_on=confirmation.applied_on),
            confirmation.decided_on
            if confirmation.decision != JudicialConfirmation.Decision.PENDING
            else None,
        )
    )
    if confirmation.decision == JudicialConfirmation.Decision.ACCEPTED:
        deadlines.append(
            Deadline(
                COURT_RULING,
                court_ruling_due(accepted_on=confirmation.decided_on, extended=confirmation.ruling_extended),
                confirmation.ruled_on,
            )
        )
    return deadlines


def next_open_deadline(case) -> Deadline | None:
    return next((d for d in case_deadlines(case) if d.is_open), None)


def has_pending_deadline(case) -> bool:
    """The cases the beat job looks at: in mediation, or agreed and not yet through the court
    (needs the agreement and confirmation loaded, as ``case_deadlines`` does)."""
    from mediation.models import JudicialConfirmation, MediationCase

    if case.status == MediationCase.Status.IN_MEDIATION:
        return True
    if case.status != MediationCase.Status.AGREEMENT:
        return False
    agreement = getattr(case, "agreement", None)
    confirmation = getattr(agreement, "confirmation", None) if agreement is not None else None
    if confirmation is None:
        return True
    Decision = JudicialConfirmation.Decision
    return confirmation.decision == Decision.PENDING or (
        confirmation.decision == Decision.ACCEPTED and confirmation.ruled_on is None
    )


def next_check_on(case, *, after: date | None = None) -> date | None:
    """The first day the beat job may owe this case a notice: an open deadline's warning day,
    or the day after its due day (missed). With ``after`` (the day of a pass that has just
    written its notices), only days later than it count; None when nothing is left to warn."""
    if not has_pending_deadline(case):
        return None
    days = []
    for deadline in case_deadlines(case):
        if not deadline.is_open:
            continue
        if after is None or after < deadline.warn_from:
            days.append(deadline.warn_from)
        elif after <= deadline.due_on:
            days.append(deadline.due_on + timedelta(days=1))
    return min(days, default=None)
