"""Every write of the mediation and legal-services app.

Pages, the API, tasks and the demo loader call these functions; each validates (``full_clean``)
and runs in one transaction, so bad input writes nothing. Steps that two people may take on the same
case at once lock the case row first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.history import attribute
from incidents.models import Duty, Incident
from mediation import deadlines
from mediation.models import (
    CaseEvent,
    CaseReferral,
    CommitteeMembership,
    Consultation,
    DeadlineNotice,
    DutyShift,
    JudicialConfirmation,
    LegalAidApplication,
    LegalServiceCentre,
    MediationAgreement,
    MediationCase,
    MediationCommittee,
    MediationSession,
    Party,
    ReceptionDay,
)


def _require(actor, capability: str) -> None:
    if actor is not None and not actor.can(capability):
        raise PermissionDenied(capability)


def _log(*, case: MediationCase, actor, kind: str, note: str = "", at: datetime | None = None) -> CaseEvent:
    return CaseEvent.objects.create(case=case, actor=actor, kind=kind, note=note, at=at or timezone.now())


def _on(day: date, *, opening: bool = False) -> datetime:
    """When a dated step goes on the timeline: today's steps now; earlier ones at the start of the
    day for an intake and at the end of the working day (18:00 local) for anything else, so that a
    day's sessions, which carry their own times, come between."""
    if day == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(datetime.combine(day, time.min if opening else time(18)))


def _create(instance):
    """Validate, then insert: every new row goes through the model's own checks first."""
    instance.full_clean()
    instance.save()
    return instance


def _change(instance, *, by=None, **fields):
    """Set ``fields``, validate the whole row, and write only those columns (``by``: the actor,
    for the audit trail of audited models)."""
    attribute(instance, by)
    for name, value in fields.items():
        setattr(instance, name, value)
    instance.full_clean()
    instance.save(update_fields=list(fields))
    return instance


def _locked(case: MediationCase) -> MediationCase:
    return MediationCase.objects.select_for_update().get(pk=case.pk)


def _check_mediator(*, committee: MediationCommittee, mediator) -> None:
    if mediator is None:
        return
    if not CommitteeMembership.objects.filter(committee=committee, user=mediator, is_active=True).exists():
        raise ValidationError(
            {
                "mediator": _("%(user)s is not a mediator of %(committee)s.")
                % {"user": mediator, "committee": committee}
            }
        )


@transaction.atomic
def membership_add(*, committee: MediationCommittee, user, speciality: str = "") -> CommitteeMembership:
    from accounts.roles import Role

    if user.role != Role.MEDIATOR:
        raise ValidationError({"user": _("Only users with the mediator role sit on committees.")})
    membership, _created = CommitteeMembership.objects.update_or_create(
        committee=committee, user=user, defaults={"speciality": speciality, "is_active": True}
    )
    return membership


@dataclass(frozen=True)
class PartyInput:
    name: str
    side: str = Party.Side.APPLICANT
    kind: str = Party.Kind.PERSON
    phone: str = ""
    address: str = ""
    representative: str = ""


@transaction.atomic
def case_open(
    *,
    actor,
    committee: MediationCommittee,
    region,
    dispute_type: str,
    summary: str,
    intake_date: date,
    parties: list[PartyInput],
    source: str = MediationCase.Source.WALK_IN,
    amount_in_dispute: Decimal | None = None,
    mediator=None,
    source_incident: Incident | None = None,
) -> MediationCase:
    """Take a dispute in. Every party must be named and the mediator must sit on the committee."""
    errors: dict[str, list] = {}
    if not parties:
        errors["parties"] = [_("A dispute has at least one party.")]
    for index, party in enumerate(parties):
        if not (party.name or "").strip():
            errors.setdefault("parties", []).append(_("Party %(n)d has no name.") % {"n": index + 1})
    try:
        _check_mediator(committee=committee, mediator=mediator)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    case = MediationCase(
        committee=committee,
        region=region,
        source=source,
        source_incident=source_incident,
        dispute_type=dispute_type,
        summary=summary,
        amount_in_dispute=amount_in_dispute,
        mediator=mediator,
        intake_date=intake_date,
    )
    try:
        case.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    attribute(case, actor)
    case.save()
    rows = [Party(case=case, **party.__dict__) for party in parties]
    for row in rows:
        row.full_clean()
    Party.objects.bulk_create(rows)
    opened = _on(intake_date, opening=True)
    _log(case=case, actor=actor, kind="opened", note=f"{case.get_source_display()} · {committee}", at=opened)
    if mediator is not None:
        _log(case=case, actor=actor, kind="assigned", note=str(mediator), at=opened)
    return case


@transaction.atomic
def incident_refer(
    *, actor, incident: Incident, committee: MediationCommittee, mediator=None, note: str = ""
) -> MediationCase:
    """Send a conflicts-and-disputes incident to a committee: a new case plus the referral record.

    Referring the same incident again returns its case (a retried click never makes two)."""
    _require(actor, "mediation.refer")
    incident = (
        Incident.objects.select_for_update().select_related("category", "grid__village").get(pk=incident.pk)
    )
    existing = CaseReferral.objects.filter(incident=incident).select_related("case").first()
    if existing is not None:
        return existing.case
    if incident.category.duty != Duty.CONFLICTS_DISPUTES:
        raise ValidationError({"incident": _("Only conflicts-and-disputes incidents go to mediation.")})
    if incident.status == Incident.Status.CLOSED:
        raise ValidationError({"incident": _("A closed incident cannot be referred.")})
    case = case_open(
        actor=actor,
        committee=committee,
        region=incident.grid.village,
        dispute_type=incident.category.name,
        summary=incident.description,
        intake_date=timezone.localdate(),
        parties=[PartyInput(name=_("Reporting party of incident #%(id)d") % {"id": incident.pk})],
        source=MediationCase.Source.GRID_INCIDENT,
        mediator=mediator,
        source_incident=incident,
    )
    CaseReferral.objects.create(incident=incident, case=case, referred_by=actor, note=note)
    return case


@transaction.atomic
def party_add(*, actor, case: MediationCase, party: PartyInput) -> Party:
    _require(actor, "mediation.handle")
    row = Party(case=case, **party.__dict__)
    _create(row)
    _log(case=case, actor=actor, kind="party_added", note=row.name)
    return row


@transaction.atomic
def mediator_assign(*, actor, case: MediationCase, mediator) -> MediationCase:
    _require(actor, "mediation.handle")
    case = _locked(case)
    _check_mediator(committee=case.committee, mediator=mediator)
    _change(case, by=actor, mediator=mediator)
    _log(case=case, actor=actor, kind="assigned", note=str(mediator))
    return case


@transaction.atomic
def mediation_extend(*, actor, case: MediationCase, days: int, reason: str) -> MediationCase:
    """Record an extension of the 30-day mediation period, with its reason."""
    _require(actor, "mediation.handle")
    case = _locked(case)
    if case.status != MediationCase.Status.IN_MEDIATION:
        raise ValidationError({"days": _("Only a case still in mediation can be extended.")})
    if days <= 0:
        raise ValidationError({"days": _("An extension is a positive number of days.")})
    _change(case, by=actor, extension_days=case.extension_days + days, extension_reason=reason)
    _log(case=case, actor=actor, kind="extended", note=f"+{days} · {reason}")
    return case


@transaction.atomic
def session_record(
    *,
    actor,
    case: MediationCase,
    held_at: datetime,
    place: str,
    attendees: str,
    notes: str = "",
    next_step: str = "",
) -> MediationSession:
    _require(actor, "mediation.handle")
    case = _locked(case)
    if case.status != MediationCase.Status.IN_MEDIATION:
        raise ValidationError({"held_at": _("The case is no longer in mediation.")})
    if timezone.localdate(held_at) < case.intake_date:
        raise ValidationError({"held_at": _("A session cannot come before the intake date.")})
    session = MediationSession(
        case=case,
        held_at=held_at,
        place=place,
        attendees=attendees,
        notes=notes,
        next_step=next_step,
        recorded_by=actor,
    )
    _create(session)
    _log(case=case, actor=actor, kind="session", note=f"{place} · {attendees}", at=held_at)
    return session


@transaction.atomic
def agreement_record(
    *, actor, case: MediationCase, terms: str, signed_on: date, effective_on: date | None = None
) -> MediationAgreement:
    """The parties signed: the case closes with an agreement, whose effective date starts the
    30 days for judicial confirmation."""
    _require(actor, "mediation.handle")
    case = _locked(case)
    if case.status != MediationCase.Status.IN_MEDIATION:
        raise ValidationError({"signed_on": _("The case is no longer in mediation.")})
    agreement = MediationAgreement(
        case=case, terms=terms, signed_on=signed_on, effective_on=effective_on or signed_on
    )
    _create(agreement)
    _change(case, by=actor, status=MediationCase.Status.AGREEMENT, closed_on=signed_on)
    _log(
        case=case,
        actor=actor,
        kind="agreement",
        note=_("Signed on %(d)s") % {"d": signed_on},
        at=_on(signed_on),
    )
    return agreement


@transaction.atomic
def case_close(*, actor, case: MediationCase, status: str, closed_on: date, note: str = "") -> MediationCase:
    """End without an agreement: no agreement, withdrawn, or referred on."""
    _require(actor, "mediation.handle")
    case = _locked(case)
    allowed = {
        MediationCase.Status.NO_AGREEMENT,
        MediationCase.Status.WITHDRAWN,
        MediationCase.Status.REFERRED_ON,
    }
    if status not in allowed:
        raise ValidationError({"status": _("Choose no agreement, withdrawn or referred on.")})
    if case.status != MediationCase.Status.IN_MEDIATION:
        raise ValidationError({"status": _("The case is no longer in mediation.")})
    _change(case, by=actor, status=status, closed_on=closed_on, outcome_note=note)
    _log(
        case=case,
        actor=actor,
        kind="closed",
        note=f"{case.get_status_display()} {note}".strip(),
        at=_on(closed_on),
    )
    return case


@transaction.atomic
def performance_record(
    *, actor, case: MediationCase, performance: str, checked_on: date
) -> MediationAgreement:
    _require(actor, "mediation.handle")
    agreement = MediationAgreement.objects.select_for_update().get(case=case)
    if checked_on < agreement.signed_on:
        raise ValidationError({"checked_on": _("Performance cannot be checked before signing.")})
    _change(agreement, performance=performance, performance_checked_on=checked_on)
    _log(
        case=case,
        actor=actor,
        kind="performance",
        note=agreement.get_performance_display(),
        at=_on(checked_on),
    )
    return agreement


@transaction.atomic
def confirmation_apply(*, actor, case: MediationCase, court: str, applied_on: date) -> JudicialConfirmation:
    """File for judicial confirmation. After the 30-day limit it is still filed, but flagged."""
    _require(actor, "mediation.handle")
    case = _locked(case)
    agreement = MediationAgreement.objects.filter(case=case).first()
    if agreement is None:
        raise ValidationError({"court": _("Only an agreement can be confirmed.")})
    if JudicialConfirmation.objects.filter(agreement=agreement).exists():
        raise ValidationError({"court": _("Confirmation has already been applied for.")})
    confirmation = JudicialConfirmation(
        agreement=agreement,
        court=court,
        applied_on=applied_on,
        applied_late=deadlines.is_late_application(
            effective_on=agreement.effective_on, applied_on=applied_on
        ),
    )
    _create(confirmation)
    note = court + (" · " + _("applied after the 30-day limit") if confirmation.applied_late else "")
    _log(case=case, actor=actor, kind="confirmation_applied", note=note, at=_on(applied_on))
    return confirmation


def _locked_confirmation(case: MediationCase) -> JudicialConfirmation:
    try:
        return (
            JudicialConfirmation.objects.select_for_update()
            .select_related("agreement__case")
            .get(agreement__case=case)
        )
    except JudicialConfirmation.DoesNotExist:
        raise ValidationError({"court": _("No application for confirmation has been filed.")}) from None


@transaction.atomic
def confirmation_decide(
    *, actor, case: MediationCase, accepted: bool, decided_on: date
) -> JudicialConfirmation:
    _require(actor, "mediation.handle")
    confirmation = _locked_confirmation(case)
    if confirmation.decision != JudicialConfirmation.Decision.PENDING:
        raise ValidationError({"decision": _("The court has already decided on acceptance.")})
    decision = JudicialConfirmation.Decision.ACCEPTED if accepted else JudicialConfirmation.Decision.REJECTED
    _change(confirmation, decision=decision, decided_on=decided_on)
    _log(
        case=case,
        actor=actor,
        kind="confirmation_decided",
        note=confirmation.get_decision_display(),
        at=_on(decided_on),
    )
    return confirmation


@transaction.atomic
def confirmation_extend(*, actor, case: MediationCase, reason: str) -> JudicialConfirmation:
    """The court extends its 15-day ruling period by 10 days (once)."""
    _require(actor, "mediation.handle")
    confirmation = _locked_confirmation(case)
    if confirmation.decision != JudicialConfirmation.Decision.ACCEPTED or confirmation.ruled_on:
        raise ValidationError({"extension_reason": _("Only an accepted application awaiting a ruling.")})
    if confirmation.ruling_extended:
        raise ValidationError({"extension_reason": _("The ruling period can be extended once.")})
    _change(confirmation, ruling_extended=True, extension_reason=reason)
    _log(case=case, actor=actor, kind="confirmation_extended", note=reason)
    return confirmation


@transaction.atomic
def ruling_record(
    *, actor, case: MediationCase, ruled_on: date, ruling_number: str, confirmed: bool
) -> JudicialConfirmation:
    _require(actor, "mediation.handle")
    confirmation = _locked_confirmation(case)
    if confirmation.ruled_on:
        raise ValidationError({"ruled_on": _("The ruling has already been recorded.")})
    outcome = (
        JudicialConfirmation.Outcome.CONFIRMED if confirmed else JudicialConfirmation.Outcome.NOT_CONFIRMED
    )
    _change(confirmation, ruled_on=ruled_on, ruling_number=ruling_number, outcome=outcome)
    note = f"{ruling_number} · {confirmation.get_outcome_display()}"
    _log(case=case, actor=actor, kind="ruling", note=note, at=_on(ruled_on))
    return confirmation


@dataclass(frozen=True)
class DeadlineRun:
    warned: int
    missed: int


def deadlines_check(*, today: date | None = None) -> DeadlineRun:
    """Warn the responsible mediator of each deadline coming up and mark the missed ones.

    Run by the beat job; safe to run any number of times: a notice is unique per case, deadline,
    due date and stage, and existing ones are skipped."""
    today = today or timezone.localdate()
    # Only cases with a deadline still open: in mediation, or agreed and not yet through the court.
    pending = Q(status=MediationCase.Status.AGREEMENT) & (
        Q(agreement__confirmation__isnull=True)
        | Q(agreement__confirmation__decision=JudicialConfirmation.Decision.PENDING)
        | Q(
            agreement__confirmation__decision=JudicialConfirmation.Decision.ACCEPTED,
            agreement__confirmation__ruled_on__isnull=True,
        )
    )
    cases = (
        MediationCase.objects.filter(Q(status=MediationCase.Status.IN_MEDIATION) | pending)
        .select_related("agreement__confirmation")
        .order_by("pk")
    )
    wanted: list[DeadlineNotice] = []
    for case in cases.iterator(chunk_size=500):
        for deadline in deadlines.case_deadlines(case):
            if not deadline.is_open or today < deadline.warn_from:
                continue
            stage = DeadlineNotice.Stage.MISSED if today > deadline.due_on else DeadlineNotice.Stage.WARNING
            wanted.append(
                DeadlineNotice(
                    case_id=case.pk,
                    deadline=deadline.key,
                    due_on=deadline.due_on,
                    stage=stage,
                    recipient_id=case.mediator_id,
                )
            )
    existing = set(
        DeadlineNotice.objects.filter(case_id__in={n.case_id for n in wanted}).values_list(
            "case_id", "deadline", "due_on", "stage"
        )
    )
    new = [n for n in wanted if (n.case_id, n.deadline, n.due_on, n.stage) not in existing]
    # A concurrent run may have added the same notice meanwhile: the unique constraint keeps one.
    DeadlineNotice.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
    return DeadlineRun(
        warned=sum(n.stage == DeadlineNotice.Stage.WARNING for n in new),
        missed=sum(n.stage == DeadlineNotice.Stage.MISSED for n in new),
    )


# --- Public legal services -------------------------------------------------------------------


@transaction.atomic
def consultation_record(
    *,
    actor,
    centre: LegalServiceCentre,
    topic: str,
    question: str = "",
    answer: str = "",
    referral: str = "",
    person_name: str = "",
) -> Consultation:
    _require(actor, "legal.serve")
    consultation = Consultation(
        centre=centre,
        topic=topic,
        question=question,
        answer=answer,
        referral=referral,
        person_name=person_name,
        lawyer=actor,
    )
    _create(consultation)
    return consultation


@transaction.atomic
def legal_aid_apply(
    *, actor, centre: LegalServiceCentre, applicant_name: str, matter: str, applied_on: date, phone: str = ""
) -> LegalAidApplication:
    _require(actor, "legal.serve")
    application = LegalAidApplication(
        centre=centre,
        applicant_name=applicant_name,
        applicant_phone=phone,
        matter=matter,
        applied_on=applied_on,
    )
    _create(application)
    return application


@transaction.atomic
def legal_aid_decide(
    *,
    actor,
    application: LegalAidApplication,
    eligible: bool,
    reason: str,
    decided_on: date,
    lawyer=None,
) -> LegalAidApplication:
    """Decide eligibility, always with a reason; an eligible application gets a lawyer."""
    _require(actor, "legal.serve")
    application = LegalAidApplication.objects.select_for_update().get(pk=application.pk)
    if application.eligibility != LegalAidApplication.Eligibility.PENDING:
        raise ValidationError({"eligibility": _("This application has already been decided.")})
    if eligible and lawyer is None:
        raise ValidationError({"assigned_lawyer": _("An eligible application needs a lawyer.")})
    _change(
        application,
        eligibility=(
            LegalAidApplication.Eligibility.ELIGIBLE
            if eligible
            else LegalAidApplication.Eligibility.INELIGIBLE
        ),
        decision_reason=reason,
        decided_on=decided_on,
        assigned_lawyer=lawyer if eligible else None,
    )
    return application


@transaction.atomic
def reception_day_add(*, actor, centre: LegalServiceCentre, day: date, leader: str = "") -> ReceptionDay:
    _require(actor, "legal.roster")
    reception = ReceptionDay(centre=centre, date=day, leader=leader)
    _create(reception)
    return reception


@transaction.atomic
def duty_assign(*, actor, centre: LegalServiceCentre, day: date, lawyer) -> DutyShift:
    """Put a lawyer on duty; refused when the lawyer is already on duty elsewhere that day."""
    from accounts.models import User
    from accounts.roles import Role

    _require(actor, "legal.roster")
    # Lock the lawyer's row so two schedulers cannot book the same lawyer twice at once.
    User.objects.select_for_update().filter(pk=lawyer.pk).first()
    if lawyer.role != Role.LAWYER:
        raise ValidationError({"lawyer": _("Only lawyers go on the duty roster.")})
    elsewhere = (
        DutyShift.objects.filter(lawyer=lawyer, date=day).exclude(centre=centre).select_related("centre")
    )
    clash = elsewhere.first()
    if clash is not None:
        raise ValidationError(
            {
                "lawyer": _("%(lawyer)s is already on duty at %(centre)s on %(day)s.")
                % {"lawyer": lawyer, "centre": clash.centre, "day": day}
            }
        )
    try:
        with transaction.atomic():
            shift = DutyShift.objects.create(centre=centre, date=day, lawyer=lawyer)
    except IntegrityError:
        raise ValidationError({"lawyer": _("This lawyer is already on duty here that day.")}) from None
    return shift


def notice_mark_read(*, actor, notice_id: int) -> int:
    """The recipient has seen the notice; someone else's notice is left alone (0 rows)."""
    return DeadlineNotice.objects.filter(pk=notice_id, recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )
