"""Reads of the mediation and legal-services app; every one scoped to the actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection
from django.db.models import Avg, Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anshun.scoping import Jurisdiction, deliberately_unscoped
from incidents.models import IncidentEvent
from mediation import deadlines
from mediation.models import (
    CaseEvent,
    CommitteeMembership,
    Consultation,
    DutyShift,
    JudicialConfirmation,
    LegalAidApplication,
    LegalServiceCentre,
    LitigationRepresentation,
    MediationAgreement,
    MediationCase,
    MediationCommittee,
    MediationSession,
    ReceptionDay,
)

OPEN_STATUSES = [MediationCase.Status.IN_MEDIATION]


def committees_visible_to(*, actor) -> QuerySet[MediationCommittee]:
    """Committees in the actor's jurisdiction, plus the city-wide professional committees, which
    serve everyone in the city."""
    committees = MediationCommittee.objects.visible_to(actor)
    if Jurisdiction.of(actor) != Jurisdiction():
        committees = deliberately_unscoped(
            committees | MediationCommittee.objects.filter(kind=MediationCommittee.Kind.PROFESSIONAL),
            actor=actor,
            why="Professional committees serve the whole city: anyone may choose one for a dispute.",
        )
    return (
        committees.select_related("region")
        .defer("region__boundary")
        .annotate(
            open_cases=Count(
                "cases", filter=Q(cases__status=MediationCase.Status.IN_MEDIATION), distinct=True
            ),
            mediator_count=Count("memberships", filter=Q(memberships__is_active=True), distinct=True),
        )
        .order_by("kind", "region__code", "name")
    )


def committees_open_to(*, actor) -> QuerySet[MediationCommittee]:
    """The active committees the actor may file a new case with: a mediator's own seats (so the
    case they open is one they can see), for anyone else the committees they see."""
    from accounts.roles import Role

    if getattr(actor, "role", None) == Role.MEDIATOR:
        seats = MediationCommittee.objects.filter(
            memberships__user=actor, memberships__is_active=True, is_active=True
        )
        return deliberately_unscoped(
            seats.select_related("region").defer("region__boundary").order_by("kind", "region__code", "name"),
            actor=actor,
            why="A mediator files cases with the committees they sit on, wherever those are placed.",
        )
    return committees_visible_to(actor=actor).filter(is_active=True).order_by("kind", "region__code", "name")


def _ancestor_paths(path: str) -> list[str]:
    parts = [part for part in path.split("/") if part]
    return ["/".join(parts[: index + 1]) + "/" for index in range(len(parts))]


def committees_for_incident(*, actor, incident) -> QuerySet[MediationCommittee]:
    """The committees an incident may be referred to: every active one whose region contains the
    incident's village (its village and township committees, its county's, the city's
    professional ones); never another county's. See ``services.committee_serves``."""
    committees = MediationCommittee.objects.filter(
        is_active=True, region__path__in=_ancestor_paths(incident.grid.village.path)
    )
    return deliberately_unscoped(
        committees.select_related("region").defer("region__boundary").order_by("-kind", "name"),
        actor=actor,
        why="An incident in sight may go to any committee serving its place, county and city ones too.",
    )


def referral_of(*, actor, incident):
    """The case an incident (already in the actor's sight) was referred to, for its page: that it
    was referred, where and how it stands belong to the incident; the case page itself opens only
    to those who see the case."""
    cases = MediationCase.objects.filter(source_incident=incident).select_related("committee")
    return deliberately_unscoped(
        cases, actor=actor, why="The incident page shows where an incident in sight was referred."
    ).first()


def cases_visible_to(
    *, actor, committee_id: int | None = None, status: str | None = None, mine: bool = False
) -> QuerySet[MediationCase]:
    cases = (
        MediationCase.objects.visible_to(actor)
        .select_related("committee", "region", "mediator", "agreement__confirmation", "source_incident")
        .defer("region__boundary", "committee__location", "source_incident__location")
    )
    if committee_id:
        cases = cases.filter(committee_id=committee_id)
    if status:
        cases = cases.filter(status=status)
    if mine:
        cases = cases.filter(mediator=actor)
    if getattr(actor, "role", None) == "mediator":
        cases = cases.distinct()
    return cases.order_by("-intake_date", "-id")


def sessions_visible_to(*, actor) -> QuerySet[MediationSession]:
    return (
        MediationSession.objects.visible_to(actor)
        .select_related("case")
        .distinct()
        .order_by("-held_at", "-id")
    )


def agreements_visible_to(*, actor) -> QuerySet[MediationAgreement]:
    return (
        MediationAgreement.objects.visible_to(actor)
        .select_related("case")
        .distinct()
        .order_by("-signed_on", "-id")
    )


def confirmations_visible_to(*, actor) -> QuerySet[JudicialConfirmation]:
    return (
        JudicialConfirmation.objects.visible_to(actor)
        .select_related("agreement__case")
        .distinct()
        .order_by("-applied_on", "-id")
    )


def centres_visible_to(*, actor) -> QuerySet[LegalServiceCentre]:
    return LegalServiceCentre.objects.visible_to(actor).select_related("region").defer("region__boundary")


def consultations_visible_to(*, actor) -> QuerySet[Consultation]:
    return (
        Consultation.objects.visible_to(actor).select_related("centre", "lawyer").order_by("-asked_at", "-id")
    )


def legal_aid_visible_to(*, actor) -> QuerySet[LegalAidApplication]:
    return (
        LegalAidApplication.objects.visible_to(actor)
        .select_related("centre", "assigned_lawyer")
        .order_by("-applied_on", "-id")
    )


def representations_visible_to(*, actor) -> QuerySet[LitigationRepresentation]:
    """Lawsuits the centres' lawyers represent (代理诉讼), for legal-service staff in scope."""
    return (
        LitigationRepresentation.objects.visible_to(actor)
        .select_related("centre", "lawyer")
        .order_by("-accepted_on", "-id")
    )


def legal_service_counts(*, actor) -> dict[str, int]:
    """The "legal supermarket" in figures: consultations, legal-aid applications and lawsuits
    represented, each counted from its records inside the actor's scope."""
    return {
        "consultations": consultations_visible_to(actor=actor).count(),
        "legal_aid": legal_aid_visible_to(actor=actor).count(),
        "representations": representations_visible_to(actor=actor).count(),
    }


def duty_shifts_visible_to(
    *, actor, start: date | None = None, end: date | None = None
) -> QuerySet[DutyShift]:
    shifts = DutyShift.objects.visible_to(actor).select_related("centre", "lawyer")
    if start:
        shifts = shifts.filter(date__gte=start)
    if end:
        shifts = shifts.filter(date__lte=end)
    return shifts.order_by("date", "centre__region__code", "lawyer__username")


def reception_days_visible_to(*, actor, start: date | None = None, end: date | None = None) -> QuerySet:
    days = ReceptionDay.objects.visible_to(actor).select_related("centre")
    if start:
        days = days.filter(date__gte=start)
    if end:
        days = days.filter(date__lte=end)
    return days.order_by("date", "centre__region__code")


@dataclass(frozen=True)
class RosterClash:
    kind: str  # "double_booked" or "uncovered"
    day: date
    detail: str


def roster_clashes(*, actor, start: date, end: date) -> list[RosterClash]:
    """One lawyer on duty in two places on a day; a reception day with no lawyer on duty."""
    shifts = list(duty_shifts_visible_to(actor=actor, start=start, end=end))
    clashes: list[RosterClash] = []
    by_lawyer: dict[tuple[int, date], list[DutyShift]] = {}
    for shift in shifts:
        by_lawyer.setdefault((shift.lawyer_id, shift.date), []).append(shift)
    for (_lawyer, day), rows in sorted(by_lawyer.items(), key=lambda item: item[0][1]):
        if len({row.centre_id for row in rows}) > 1:
            places = " / ".join(sorted(str(row.centre) for row in rows))
            clashes.append(RosterClash("double_booked", day, f"{rows[0].lawyer}: {places}"))
    covered = {(shift.centre_id, shift.date) for shift in shifts}
    for reception in reception_days_visible_to(actor=actor, start=start, end=end):
        if (reception.centre_id, reception.date) not in covered:
            clashes.append(RosterClash("uncovered", reception.date, str(reception.centre)))
    return sorted(clashes, key=lambda clash: (clash.day, clash.kind))


def committee_mediators(committee: MediationCommittee) -> QuerySet:
    """The active mediators sitting on a committee (of a case already in the actor's sight)."""
    from accounts.models import User

    return User.objects.filter(
        is_active=True,
        mediation_memberships__committee=committee,
        mediation_memberships__is_active=True,
    ).distinct()


@dataclass(frozen=True)
class MediatorSuggestion:
    membership: CommitteeMembership
    speciality_match: bool
    open_cases: int


def suggest_mediators(*, committee: MediationCommittee, dispute_type: str = "") -> list[MediatorSuggestion]:
    """Mediators of the committee, those whose speciality matches the dispute first, then the least
    loaded (open cases across all their committees)."""
    memberships = (
        CommitteeMembership.objects.filter(committee=committee, is_active=True, user__is_active=True)
        .select_related("user")
        .annotate(
            open_cases=Count(
                "user__mediation_cases",
                filter=Q(user__mediation_cases__status=MediationCase.Status.IN_MEDIATION),
            )
        )
    )
    wanted = dispute_type.strip().lower()
    suggestions = [
        MediatorSuggestion(
            m,
            bool(
                wanted and m.speciality and (m.speciality.lower() in wanted or wanted in m.speciality.lower())
            ),
            m.open_cases,
        )
        for m in memberships
    ]
    return sorted(
        suggestions, key=lambda s: (not s.speciality_match, s.open_cases, s.membership.user.username)
    )


EVENT_LABELS = {
    "reported": _("Incident reported"),
    "opened": _("Case opened"),
    "assigned": _("Mediator assigned"),
    "unassigned": _("Mediator un-assigned"),
    "party_added": _("Party added"),
    "extended": _("Mediation extended"),
    "session": _("Mediation session"),
    "agreement": _("Agreement signed"),
    "closed": _("Case closed"),
    "performance": _("Performance checked"),
    "confirmation_applied": _("Judicial confirmation applied for"),
    "confirmation_decided": _("Court decided on acceptance"),
    "confirmation_extended": _("Court extended the ruling period"),
    "ruling": _("Court ruling"),
}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    source: str  # "incident" or "mediation"
    kind: str
    note: str
    actor: str
    text: str = ""  # the label, where the kind is not one of EVENT_LABELS

    @property
    def label(self) -> str:
        return self.text or str(EVENT_LABELS.get(self.kind, self.kind))


def case_timeline(*, case: MediationCase) -> list[TimelineEntry]:
    """One timeline per dispute: the grid incident's events joined with the case's own."""
    entries = [
        TimelineEntry(e.at, "mediation", e.kind, e.note, str(e.actor or ""))
        for e in CaseEvent.objects.filter(case=case).select_related("actor")
    ]
    if case.source_incident_id:
        entries += [
            TimelineEntry(
                e.at, "incident", e.to_status, e.note, str(e.actor or ""), e.get_to_status_display()
            )
            for e in IncidentEvent.objects.filter(incident_id=case.source_incident_id).select_related("actor")
        ]
        incident = case.source_incident
        entries.append(
            TimelineEntry(incident.reported_at, "incident", "reported", incident.description[:120], "")
        )
    return sorted(entries, key=lambda entry: entry.at)


def with_deadlines(cases, *, today: date | None = None) -> list:
    """Attach the next open deadline and an overdue mark to each case (no queries: the selector
    already joined the agreement and confirmation)."""
    today = today or timezone.localdate()
    rows = list(cases)
    for case in rows:
        case.next_deadline = deadlines.next_open_deadline(case)
        case.overdue = bool(case.next_deadline and case.next_deadline.is_overdue(today))
        case.days_left = case.next_deadline.days_left(today) if case.next_deadline else None
    return rows


def rate(part: int, whole: int, digits: int = 1) -> float | None:
    """A percentage, or None when there is nothing to divide by."""
    return round(100 * part / whole, digits) if whole else None


@dataclass(frozen=True)
class CommitteeStats:
    committee: MediationCommittee
    total: int
    open: int
    agreements: int
    closed: int
    success_rate: float | None
    average_days: float | None
    confirmations: int
    confirmation_rate: float | None


def rollup_committees(*, actor) -> list[int] | None:
    """The committees whose cases a mediator sees (the scope rule's ``mediator_committees``),
    for reads of the rollups; None for everyone else (every committee in their region)."""
    if getattr(actor, "role", None) != "mediator":
        return None
    return list(
        CommitteeMembership.objects.filter(user=actor, is_active=True).values_list("committee_id", flat=True)
    )


def _committee_figures_raw(*, actor) -> tuple[list[dict], dict[int, float | None]]:
    closed_statuses = [s for s in MediationCase.Status.values if s != MediationCase.Status.IN_MEDIATION]
    cases = cases_visible_to(actor=actor)
    figures = list(
        MediationCase.objects.filter(pk__in=cases.values("pk"))
        .values("committee_id")
        .annotate(
            total=Count("id"),
            open=Count("id", filter=Q(status=MediationCase.Status.IN_MEDIATION)),
            agreements=Count("id", filter=Q(status=MediationCase.Status.AGREEMENT)),
            closed=Count("id", filter=Q(status__in=closed_statuses)),
            average_days=Avg(
                F("agreement__signed_on") - F("intake_date"), filter=Q(status=MediationCase.Status.AGREEMENT)
            ),
            confirmations=Count(
                "id", filter=Q(agreement__confirmation__outcome=JudicialConfirmation.Outcome.CONFIRMED)
            ),
        )
    )
    averages = {
        f["committee_id"]: round(f["average_days"].days + f["average_days"].seconds / 86400, 1)
        if f["average_days"] is not None
        else None
        for f in figures
    }
    return figures, averages


def _committee_figures_rolled_up(*, actor) -> tuple[list[dict], dict[int, float | None]] | None:
    """The same figures from the dashboard rollups: two queries over the tally rows of the
    viewer's region, whatever the number of cases."""
    from rollups.models import Tally
    from rollups.selectors import rollup_regions
    from rollups.services import fold_if_queued

    regions = rollup_regions(actor=actor, region=None)
    if regions is None:
        return None
    if not actor.can("mediation.view"):
        return [], {}
    fold_if_queued()
    committees = rollup_committees(actor=actor)
    # Written as SQL over the tallies' key index: fixed statements whose filtered sums cost more
    # to build through the ORM than to run.
    params = {
        "regions": regions,
        "committees": committees or [],
        "all": committees is None,
        "open": MediationCase.Status.IN_MEDIATION,
        "agreement": MediationCase.Status.AGREEMENT,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            COMMITTEE_CASES_SQL.format(table=connection.ops.quote_name(Tally._meta.db_table)), params
        )
        figures = [
            {
                "committee_id": committee,
                "total": int(total),
                "open": int(open_),
                "agreements": int(agreements),
                "closed": int(closed),
                "confirmations": int(confirmations),
            }
            for committee, total, open_, agreements, closed, confirmations in cursor.fetchall()
        ]
        cursor.execute(
            COMMITTEE_DAYS_SQL.format(table=connection.ops.quote_name(Tally._meta.db_table)), params
        )
        averages = {
            committee: round(float(days) / count, 1) if count else None
            for committee, days, count in cursor.fetchall()
        }
    return figures, averages


# ``_committee_figures_rolled_up``: the committees' cases by status, and days to agreement.
_COMMITTEE_ROWS = """
FROM {table}
WHERE measure = %(measure)s AND region_id = ANY(%(regions)s) AND (%(all)s OR dim_a = ANY(%(committees)s))
GROUP BY dim_a
"""
COMMITTEE_CASES_SQL = """
SELECT dim_a, COALESCE(SUM(n), 0), COALESCE(SUM(n) FILTER (WHERE dim_b = %(open)s), 0),
       COALESCE(SUM(n) FILTER (WHERE dim_b = %(agreement)s), 0),
       COALESCE(SUM(n) FILTER (WHERE dim_b <> %(open)s), 0),
       COALESCE(SUM(n) FILTER (WHERE dim_c = 'confirmed'), 0)
""" + _COMMITTEE_ROWS.replace("%(measure)s", "'mediation.case'")
COMMITTEE_DAYS_SQL = "SELECT dim_a, SUM(amount), SUM(n)::bigint" + _COMMITTEE_ROWS.replace(
    "%(measure)s", "'mediation.agreement_days'"
)


def committee_stats(*, actor, raw: bool = False) -> list[CommitteeStats]:
    """Per committee: caseload, success rate (agreements / closed), average days from intake to
    agreement, and confirmation rate (confirmed agreements / agreements). Read from the dashboard
    rollups; ``raw`` (and grid-office staff) recounts the case rows."""
    answer = None if raw else _committee_figures_rolled_up(actor=actor)
    figures, averages = answer if answer is not None else _committee_figures_raw(actor=actor)
    committees = {
        c.pk: c for c in MediationCommittee.objects.filter(pk__in=[f["committee_id"] for f in figures])
    }
    rows = []
    for f in figures:
        rows.append(
            CommitteeStats(
                committee=committees[f["committee_id"]],
                total=f["total"],
                open=f["open"],
                agreements=f["agreements"],
                closed=f["closed"],
                success_rate=rate(f["agreements"], f["closed"]),
                average_days=averages.get(f["committee_id"]),
                confirmations=f["confirmations"],
                confirmation_rate=rate(f["confirmations"], f["agreements"]),
            )
        )
    return sorted(rows, key=lambda row: (-row.total, row.committee.name))


def notices_for(*, actor) -> QuerySet:
    from mediation.models import DeadlineNotice

    return DeadlineNotice.objects.filter(recipient=actor, read_at__isnull=True).select_related("case")


def case_details_visible_to(*, actor) -> QuerySet[MediationCase]:
    return cases_visible_to(actor=actor).prefetch_related("parties", "sessions__recorded_by")


def referable_incidents(*, actor) -> QuerySet:
    from incidents.models import Duty, Incident

    return Incident.objects.visible_to(actor).filter(category__duty=Duty.CONFLICTS_DISPUTES)


def dispute_places(*, actor) -> QuerySet:
    """Townships and villages in the actor's jurisdiction, where a dispute can be placed."""
    from grids.models import Region

    return (
        Region.objects.visible_to(actor)
        .filter(level__in=[Region.Level.TOWNSHIP, Region.Level.VILLAGE])
        .only("pk", "name", "code")
        .order_by("code")
    )


def lawyers_near(*, actor) -> QuerySet:
    """Lawyers whose jurisdiction lies inside the actor's (everyone's, for an admin)."""
    from accounts.models import User
    from accounts.roles import Role

    lawyers = User.objects.filter(role=Role.LAWYER, is_active=True).order_by("username")
    jurisdiction = Jurisdiction.of(actor)
    if jurisdiction.unrestricted:
        return lawyers
    if jurisdiction.region_path is None:
        return lawyers.none()
    return lawyers.filter(region__path__startswith=jurisdiction.region_path)
