"""Every write of the mediation and legal-services app: its command boundary.

Pages, the API, the admin and tasks call these functions and nothing else. Each command is
authorised by its rule in ``mediation.policy`` before its body runs (capability, then the target's
visibility, then referred objects); the body keeps the domain checks (states, dates, fits that are
not plain visibility). Each validates (``full_clean``) and runs in one transaction, so bad input
writes nothing. Steps that two people may take on the same case at once lock the case row first.
Case steps take the case as an instance or its id.

Refusals never tell anything about what is out of the actor's sight: no user's name or role is
named for an id the actor gave, and a missing object gets the same answer as a hidden one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anshun.commands import system_command
from audit.history import attribute
from incidents.models import Duty, Incident
from mediation import deadlines, selectors
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
    LitigationRepresentation,
    MediationAgreement,
    MediationCase,
    MediationCommittee,
    MediationSession,
    Party,
    ReceptionDay,
)
from mediation.policy import POLICY


def _not_found() -> str:
    return _("Not found in your jurisdiction.")


def mediator_unfit_message() -> str:
    # The same words for an id that does not exist, a user out of sight and one who is not a
    # mediator here: the answer must not tell a user's name or role.
    return _("Choose a mediator who sits on this committee.")


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
    _refresh_deadline(instance)
    return instance


def _refresh_deadline(instance) -> None:
    """Put the case back on the deadline job's queue at its first open warning day: a case, its
    agreement and its confirmation carry the dates the deadlines follow, so every change to one
    of them resets it (the job then moves it on as notices are written)."""
    if isinstance(instance, MediationCase):
        case_id = instance.pk
    elif isinstance(instance, MediationAgreement):
        case_id = instance.case_id
    elif isinstance(instance, JudicialConfirmation):
        case_id = instance.agreement.case_id
    else:
        return
    case = MediationCase.objects.select_related("agreement__confirmation").get(pk=case_id)
    MediationCase.objects.filter(pk=case_id).update(next_deadline_at=deadlines.next_check_on(case))


def _change(instance, *, by=None, **fields):
    """Set ``fields``, validate the whole row, and write only those columns (``by``: the actor,
    for the audit trail of audited models)."""
    attribute(instance, by)
    for name, value in fields.items():
        setattr(instance, name, value)
    instance.full_clean()
    instance.save(update_fields=list(fields))
    _refresh_deadline(instance)
    return instance


def _pk(value) -> int:
    return getattr(value, "pk", value)


def _locked(case) -> MediationCase:
    """The case row, locked (the policy has already found it in the actor's sight)."""
    return MediationCase.objects.select_for_update().get(pk=_pk(case))


def _check_mediator(*, committee: MediationCommittee, mediator) -> None:
    if mediator is None:
        return
    sits = CommitteeMembership.objects.filter(
        committee=committee, user=mediator, is_active=True, user__is_active=True
    ).exists()
    if not sits:
        raise ValidationError({"mediator": mediator_unfit_message()})


@POLICY.command("membership_add")
@transaction.atomic
def membership_add(
    *, actor, committee: MediationCommittee, user, speciality: str = "", is_active: bool = True
) -> CommitteeMembership:
    """Seat a mediator on a committee (or update or end the seat with ``is_active``): seats decide
    which cases a mediator sees, so only an administrator changes them (see the policy)."""
    from accounts.roles import Role

    if user.role != Role.MEDIATOR:
        raise ValidationError({"user": _("Only users with the mediator role sit on committees.")})
    membership, _created = CommitteeMembership.objects.update_or_create(
        committee=committee, user=user, defaults={"speciality": speciality, "is_active": is_active}
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


@POLICY.command("case_open")
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
    """Take a dispute in. Every party must be named; the case goes to a committee the actor may
    file with (a mediator: one they sit on, so that they can see the case they opened), and the
    mediator must sit on it."""
    errors: dict[str, list] = {}
    if not selectors.committees_open_to(actor=actor).filter(pk=committee.pk).exists():
        errors["committee"] = [_not_found()]
    return _open(
        actor=actor,
        committee=committee,
        region=region,
        dispute_type=dispute_type,
        summary=summary,
        intake_date=intake_date,
        parties=parties,
        source=source,
        amount_in_dispute=amount_in_dispute,
        mediator=mediator,
        source_incident=source_incident,
        errors=errors,
    )


def _open(
    *,
    actor,
    committee: MediationCommittee,
    region,
    dispute_type: str,
    summary: str,
    intake_date: date,
    parties: list[PartyInput],
    source: str,
    amount_in_dispute: Decimal | None,
    mediator,
    source_incident: Incident | None,
    errors: dict[str, list],
) -> MediationCase:
    """The intake itself, shared by ``case_open`` and ``incident_refer`` (each authorised first).

    A case taken in at the desk names its parties; a referred incident may start with none (the
    mediator names them, see ``agreement_record``)."""
    if not parties and source_incident is None:
        errors["parties"] = [_("A dispute has at least one party.")]
    for index, party in enumerate(parties):
        if not (party.name or "").strip():
            errors.setdefault("parties", []).append(_("Party %(n)d has no name.") % {"n": index + 1})
    try:
        _check_mediator(committee=committee, mediator=mediator)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
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
    _refresh_deadline(case)
    rows = [Party(case=case, **party.__dict__) for party in parties]
    for row in rows:
        row.full_clean()
    Party.objects.bulk_create(rows)
    opened = _on(intake_date, opening=True)
    _log(case=case, actor=actor, kind="opened", note=f"{case.get_source_display()} · {committee}", at=opened)
    if mediator is not None:
        _log(case=case, actor=actor, kind="assigned", note=str(mediator), at=opened)
    return case


def committee_serves(*, committee: MediationCommittee, place) -> bool:
    """Whether a committee may take a dispute at ``place`` (a village): its own village or
    township committee, a county committee of its county, or a city-wide professional one -- every
    active committee whose region contains the place."""
    return committee.is_active and place.path.startswith(committee.region.path)


def committee_unfit_message() -> str:
    """Said alike for a committee id that does not exist and one that does not serve the place."""
    return _("Choose a committee that serves the place of the incident.")


@POLICY.command("incident_refer")
@transaction.atomic
def incident_refer(
    *, actor, incident: Incident, committee: MediationCommittee, mediator=None, note: str = ""
) -> MediationCase:
    """Send a conflicts-and-disputes incident to a committee: a new case plus the referral record.
    The committee must serve the incident's place (never another county's committee).

    Referring the same incident again returns its case (a retried click never makes two)."""
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
    committee = MediationCommittee.objects.select_related("region").get(pk=committee.pk)
    if not committee_serves(committee=committee, place=incident.grid.village):
        raise ValidationError({"committee": committee_unfit_message()})
    case = _open(
        actor=actor,
        committee=committee,
        region=incident.grid.village,
        dispute_type=incident.category.name,
        summary=incident.description,
        intake_date=timezone.localdate(),
        # Who is in dispute is learnt by the mediator, not from the report: no stand-in party
        # (a made-up name would reach the agreement and its signature lines).
        parties=[],
        source=MediationCase.Source.GRID_INCIDENT,
        amount_in_dispute=None,
        mediator=mediator,
        source_incident=incident,
        errors={},
    )
    CaseReferral.objects.create(incident=incident, case=case, referred_by=actor, note=note)
    return case


@POLICY.command("party_add")
@transaction.atomic
def party_add(*, actor, case: MediationCase, party: PartyInput) -> Party:
    case = _locked(case)
    row = Party(case=case, **party.__dict__)
    _create(row)
    _log(case=case, actor=actor, kind="party_added", note=row.name)
    return row


@POLICY.command("mediator_assign")
@transaction.atomic
def mediator_assign(*, actor, case: MediationCase, mediator) -> MediationCase:
    """Put a mediator of the case's committee in charge; ``mediator=None`` is the explicit choice
    to un-assign the case."""
    case = _locked(case)
    _check_mediator(committee=case.committee, mediator=mediator)
    _change(case, by=actor, mediator=mediator)
    if mediator is None:
        _log(case=case, actor=actor, kind="unassigned")
    else:
        _log(case=case, actor=actor, kind="assigned", note=str(mediator))
    return case


@POLICY.command("mediation_extend")
@transaction.atomic
def mediation_extend(*, actor, case: MediationCase, days: int, reason: str) -> MediationCase:
    """Record an extension of the 30-day mediation period, with its reason."""
    case = _locked(case)
    if case.status != MediationCase.Status.IN_MEDIATION:
        raise ValidationError({"days": _("Only a case still in mediation can be extended.")})
    if days <= 0:
        raise ValidationError({"days": _("An extension is a positive number of days.")})
    _change(case, by=actor, extension_days=case.extension_days + days, extension_reason=reason)
    _log(case=case, actor=actor, kind="extended", note=f"+{days} · {reason}")
    return case


@POLICY.command("session_record")
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


@POLICY.command("agreement_record")
@transaction.atomic
def agreement_record(
    *, actor, case: MediationCase, terms: str, signed_on: date, effective_on: date | None = None
) -> MediationAgreement:
    """The parties signed: the case closes with an agreement, whose effective date starts the
    30 days for judicial confirmation.

    An agreement binds named parties who sign it (人民调解法 art. 29): the case must name at
    least one applicant and one respondent first."""
    case = _locked(case)
    if case.status != MediationCase.Status.IN_MEDIATION:
        raise ValidationError({"signed_on": _("The case is no longer in mediation.")})
    sides = set(case.parties.values_list("side", flat=True))
    if not {Party.Side.APPLICANT, Party.Side.RESPONDENT} <= sides:
        raise ValidationError(
            {
                "parties": _(
                    "Name the parties first: an agreement needs at least one applicant and one respondent."
                )
            }
        )
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


@POLICY.command("case_close")
@transaction.atomic
def case_close(*, actor, case: MediationCase, status: str, closed_on: date, note: str = "") -> MediationCase:
    """End without an agreement: no agreement, withdrawn, or referred on."""
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


@POLICY.command("performance_record")
@transaction.atomic
def performance_record(
    *, actor, case: MediationCase, performance: str, checked_on: date
) -> MediationAgreement:
    case = _locked(case)
    agreement = MediationAgreement.objects.select_for_update().filter(case=case).first()
    if agreement is None:
        raise ValidationError({"performance": _("Only an agreement can be checked for performance.")})
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


@POLICY.command("confirmation_apply")
@transaction.atomic
def confirmation_apply(*, actor, case: MediationCase, court: str, applied_on: date) -> JudicialConfirmation:
    """File for judicial confirmation. After the 30-day limit it is still filed, but flagged."""
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


def _locked_confirmation(case) -> JudicialConfirmation:
    try:
        return (
            JudicialConfirmation.objects.select_for_update()
            .select_related("agreement__case")
            .get(agreement__case=_pk(case))
        )
    except JudicialConfirmation.DoesNotExist:
        raise ValidationError({"court": _("No application for confirmation has been filed.")}) from None


@POLICY.command("confirmation_decide")
@transaction.atomic
def confirmation_decide(
    *, actor, case: MediationCase, accepted: bool, decided_on: date
) -> JudicialConfirmation:
    confirmation = _locked_confirmation(case)
    case = confirmation.agreement.case
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


@POLICY.command("confirmation_extend")
@transaction.atomic
def confirmation_extend(*, actor, case: MediationCase, reason: str) -> JudicialConfirmation:
    """The court extends its 15-day ruling period by 10 days (once)."""
    confirmation = _locked_confirmation(case)
    case = confirmation.agreement.case
    if confirmation.decision != JudicialConfirmation.Decision.ACCEPTED or confirmation.ruled_on:
        raise ValidationError({"extension_reason": _("Only an accepted application awaiting a ruling.")})
    if confirmation.ruling_extended:
        raise ValidationError({"extension_reason": _("The ruling period can be extended once.")})
    _change(confirmation, ruling_extended=True, extension_reason=reason)
    _log(case=case, actor=actor, kind="confirmation_extended", note=reason)
    return confirmation


@POLICY.command("ruling_record")
@transaction.atomic
def ruling_record(
    *, actor, case: MediationCase, ruled_on: date, ruling_number: str, confirmed: bool
) -> JudicialConfirmation:
    confirmation = _locked_confirmation(case)
    case = confirmation.agreement.case
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


DEADLINE_BATCH = 500
# pg_try_advisory_lock key of the pass ("DEAD" in ASCII).
DEADLINE_LOCK = 0x44454144


@system_command("the beat job mediation.tasks.check_deadlines: writes notices for every case, no person")
def deadlines_check(*, today: date | None = None) -> DeadlineRun:
    """Warn the responsible mediator of each deadline coming up and mark the missed ones.

    Run by the beat job; safe to run any number of times: a notice is unique per case, deadline,
    due date and stage, and existing ones are skipped. A pass reads only the cases whose
    ``next_deadline_at`` has come (a partial index), in batches of short transactions, and moves
    each on to its next warning or missed day; a second pass while one runs returns at once."""
    from incidents.services.escalation import single_run

    today = today or timezone.localdate()
    warned = missed = 0
    with single_run(DEADLINE_LOCK) as acquired:
        if not acquired:
            return DeadlineRun(warned=0, missed=0)
        due = list(
            MediationCase.objects.filter(next_deadline_at__lte=today)
            .order_by("next_deadline_at", "pk")
            .values_list("pk", flat=True)
        )
        for start in range(0, len(due), DEADLINE_BATCH):
            run = _deadlines_batch(case_ids=due[start : start + DEADLINE_BATCH], today=today)
            warned, missed = warned + run.warned, missed + run.missed
    return DeadlineRun(warned=warned, missed=missed)


@system_command("bulk loaders (demo data) that insert cases without the services, and migration 0004")
def deadline_queue_rebuild(*, cases=None) -> int:
    """Put every case (or those of ``cases``) on the deadline job's queue at its first open
    warning day, for rows written in bulk; returns how many cases have a day."""
    queued = 0
    rows = (cases if cases is not None else MediationCase.objects.all()).select_related(
        "agreement__confirmation"
    )
    for case in rows.order_by("pk").iterator(chunk_size=DEADLINE_BATCH):
        day = deadlines.next_check_on(case)
        queued += day is not None
        MediationCase.objects.filter(pk=case.pk).update(next_deadline_at=day)
    return queued


@transaction.atomic
def _deadlines_batch(*, case_ids: list[int], today: date) -> DeadlineRun:
    cases = (
        MediationCase.objects.filter(pk__in=case_ids)
        .select_for_update(of=("self",))
        .select_related("agreement__confirmation")
        .order_by("pk")
    )
    wanted: list[DeadlineNotice] = []
    moves: dict[date | None, list[int]] = {}
    for case in cases:
        if deadlines.has_pending_deadline(case):
            for deadline in deadlines.case_deadlines(case):
                if not deadline.is_open or today < deadline.warn_from:
                    continue
                missed = today > deadline.due_on
                stage = DeadlineNotice.Stage.MISSED if missed else DeadlineNotice.Stage.WARNING
                wanted.append(
                    DeadlineNotice(
                        case_id=case.pk,
                        deadline=deadline.key,
                        due_on=deadline.due_on,
                        stage=stage,
                        recipient_id=case.mediator_id,
                    )
                )
        moves.setdefault(deadlines.next_check_on(case, after=today), []).append(case.pk)
    existing = set(
        DeadlineNotice.objects.filter(case_id__in={n.case_id for n in wanted}).values_list(
            "case_id", "deadline", "due_on", "stage"
        )
    )
    new = [n for n in wanted if (n.case_id, n.deadline, n.due_on, n.stage) not in existing]
    # A concurrent run may have added the same notice meanwhile: the unique constraint keeps one.
    DeadlineNotice.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
    for day, ids in moves.items():
        MediationCase.objects.filter(pk__in=ids).update(next_deadline_at=day)
    return DeadlineRun(
        warned=sum(n.stage == DeadlineNotice.Stage.WARNING for n in new),
        missed=sum(n.stage == DeadlineNotice.Stage.MISSED for n in new),
    )


# --- Public legal services -------------------------------------------------------------------


def lawyer_serves(*, lawyer, centre: LegalServiceCentre) -> bool:
    """A lawyer serves a centre when the centre lies in the lawyer's jurisdiction (a county lawyer
    at the county's township centres) or the lawyer works inside the centre's area (a township
    lawyer at their county's centre); never a centre of another county."""
    if lawyer.region_id is None:
        return False
    lawyer_path, centre_path = lawyer.region.path, centre.region.path
    return centre_path.startswith(lawyer_path) or lawyer_path.startswith(centre_path)


def _check_lawyer(*, actor, lawyer, centre: LegalServiceCentre, field: str) -> None:
    """The lawyer must be an active lawyer in the actor's jurisdiction (else the same answer as an
    id that does not exist: nothing about users out of sight), and serve the centre's area."""
    if not selectors.lawyers_near(actor=actor).filter(pk=lawyer.pk).exists():
        raise ValidationError({field: _not_found()})
    if not lawyer_serves(lawyer=lawyer, centre=centre):
        raise ValidationError({field: _("This lawyer does not serve this centre's area.")})


@POLICY.command("consultation_record")
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
    """A consultation answered at a centre in the actor's jurisdiction; the actor is the lawyer."""
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


@POLICY.command("legal_aid_apply")
@transaction.atomic
def legal_aid_apply(
    *, actor, centre: LegalServiceCentre, applicant_name: str, matter: str, applied_on: date, phone: str = ""
) -> LegalAidApplication:
    """A legal-aid application taken in at a centre in the actor's jurisdiction."""
    application = LegalAidApplication(
        centre=centre,
        applicant_name=applicant_name,
        applicant_phone=phone,
        matter=matter,
        applied_on=applied_on,
    )
    _create(application)
    return application


@POLICY.command("legal_aid_decide")
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
    """Decide eligibility, always with a reason; an eligible application gets a lawyer who serves
    the centre's area."""
    application = (
        LegalAidApplication.objects.select_for_update()
        .select_related("centre__region")
        .get(pk=application.pk)
    )
    if application.eligibility != LegalAidApplication.Eligibility.PENDING:
        raise ValidationError({"eligibility": _("This application has already been decided.")})
    if eligible and lawyer is None:
        raise ValidationError({"assigned_lawyer": _("An eligible application needs a lawyer.")})
    if eligible:
        _check_lawyer(actor=actor, lawyer=lawyer, centre=application.centre, field="assigned_lawyer")
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


@POLICY.command("representation_open")
@transaction.atomic
def representation_open(
    *,
    actor,
    centre: LegalServiceCentre,
    client_name: str,
    cause: str,
    court: str,
    accepted_on: date,
    legal_aid: LegalAidApplication | None = None,
) -> LitigationRepresentation:
    """代理诉讼 taken on at a centre in the actor's jurisdiction; the actor is the lawyer. When it
    is given as legal aid, the application must be an eligible one of the same centre."""
    if legal_aid is not None:
        if legal_aid.centre_id != centre.pk:
            raise ValidationError({"legal_aid": _("The legal-aid application belongs to another centre.")})
        if legal_aid.eligibility != LegalAidApplication.Eligibility.ELIGIBLE:
            raise ValidationError(
                {"legal_aid": _("Only an eligible legal-aid application can be represented.")}
            )
    representation = LitigationRepresentation(
        centre=centre,
        client_name=client_name.strip(),
        cause=cause.strip(),
        court=court.strip(),
        accepted_on=accepted_on,
        legal_aid=legal_aid,
        lawyer=actor,
    )
    _create(representation)
    return representation


@POLICY.command("representation_conclude")
@transaction.atomic
def representation_conclude(
    *, actor, representation: LitigationRepresentation, concluded_on: date
) -> LitigationRepresentation:
    """The lawsuit is over (judgment, withdrawal or settlement): the representation is concluded
    on that day, never before it was accepted, and only once."""
    representation = LitigationRepresentation.objects.select_for_update().get(pk=representation.pk)
    if representation.status != LitigationRepresentation.Status.ONGOING:
        raise ValidationError({"representation": _("This representation has already been concluded.")})
    if concluded_on < representation.accepted_on:
        raise ValidationError({"concluded_on": _("A representation ends after it was accepted.")})
    _change(representation, status=LitigationRepresentation.Status.CONCLUDED, concluded_on=concluded_on)
    return representation


@POLICY.command("reception_day_add")
@transaction.atomic
def reception_day_add(*, actor, centre: LegalServiceCentre, day: date, leader: str = "") -> ReceptionDay:
    """A petition-reception day at a centre in the actor's jurisdiction."""
    reception = ReceptionDay(centre=centre, date=day, leader=leader)
    _create(reception)
    return reception


@POLICY.command("duty_assign")
@transaction.atomic
def duty_assign(*, actor, centre: LegalServiceCentre, day: date, lawyer) -> DutyShift:
    """Put a lawyer on duty at a centre: both in the actor's jurisdiction, the lawyer serving the
    centre's area; refused when the lawyer is already on duty elsewhere that day."""
    from accounts.models import User

    centre = LegalServiceCentre.objects.select_related("region").get(pk=centre.pk)
    _check_lawyer(actor=actor, lawyer=lawyer, centre=centre, field="lawyer")
    # Lock the lawyer's row so two schedulers cannot book the same lawyer twice at once.
    User.objects.select_for_update().filter(pk=lawyer.pk).first()
    if DutyShift.objects.filter(lawyer=lawyer, date=day).exclude(centre=centre).exists():
        # Where the lawyer is booked may be out of the actor's sight: the answer does not say.
        raise ValidationError({"lawyer": _("This lawyer is already on duty at another centre that day.")})
    try:
        with transaction.atomic():
            shift = DutyShift.objects.create(centre=centre, date=day, lawyer=lawyer)
    except IntegrityError:
        raise ValidationError({"lawyer": _("This lawyer is already on duty here that day.")}) from None
    return shift


@POLICY.command("notice_mark_read")
def notice_mark_read(*, actor, notice_id: int) -> int:
    """The recipient has seen the notice (only the recipient's notices are in sight; an
    administrator's sight is wider, so the recipient is checked here too)."""
    return DeadlineNotice.objects.filter(pk=notice_id, recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )
