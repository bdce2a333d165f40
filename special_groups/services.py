"""Writes for the six projects. Every change to a person, enrolment, visit or task goes here.

Each write is a command of ``special_groups.policy.POLICY``: the wrapper checks the capability,
the enrolment's visibility and "a case officer of this project" before the body runs, so the
bodies below only check the domain (dates, statuses, ID numbers). Reading, revealing and
exporting are commands too, because each appends to the access trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from accounts.roles import SpecialProject
from anshun.commands import system_command
from audit.history import attribute
from grids.models import Region
from special_groups.crypto import is_valid_id_number, lookup_hash, normalise_id_number
from special_groups.models import (
    AccessRecord,
    CaseTask,
    CheckIn,
    Enrollment,
    Guardian,
    Person,
    SubsidyPayment,
    Visit,
)
from special_groups.policy import POLICY
from special_groups.projects import PROJECTS
from special_groups.projects import project as project_entry


def _validate_id_number(id_number: str, field: str = "id_number") -> str:
    """The normalised number (see ``crypto.normalise_id_number``): every door (API, page, admin,
    imports) reaches the commands, so the number is checked, hashed and encrypted in one spelling."""
    normalised = normalise_id_number(id_number)
    if not is_valid_id_number(normalised):
        raise ValidationError(
            {field: _("Not a valid 18-character ID number (the check character is wrong).")}
        )
    return normalised


def _lock_id_number(project: str, digest: str) -> None:
    """Serialise enrolments of one ID number in one project (until the transaction ends), so two
    officers with overlapping jurisdictions cannot both enrol it; locks nothing else."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 12))", [f"{project}:{digest}"])


@POLICY.command("person_enroll")
@transaction.atomic
def person_enroll(
    *,
    actor,
    name: str,
    id_number: str,
    region: Region,
    enrolled_on: date | None = None,
    phone: str = "",
    address: str = "",
    release_date: date | None = None,
    risk_grade: int | None = None,
    placement: str = "",
    release_kind: str = "",
    correction_kind: str = "",
    term_start: date | None = None,
    term_end: date | None = None,
    facility=None,
    registry_person=None,
) -> Enrollment:
    """Enrol someone into the officer's own project from the data the officer supplies.

    ``registry_person`` (a ``registry.Resident``, optional) links the person to the basic
    registry, so the grid worker visiting their house sees the neutral "needs attention" mark
    (never the project). The rule checks the resident is in the officer's jurisdiction; here
    its ID number must be the one entered, so a link cannot name somebody else.

    The new record is built from that data alone: whatever another project, or another
    jurisdiction of this project, holds under the same ID number is neither linked nor looked
    at, so the answer (201, or the same field errors) never depends on what exists out of the
    officer's sight. "Already enrolled" is said only when the officer's own caseload already
    holds the number. The enrolment is written to the access trail (``enrol``).
    """
    project = actor.special_project
    id_number = _validate_id_number(id_number)
    today = timezone.localdate()
    entry = project_entry(project)
    given = {
        "release_date": release_date,
        "risk_grade": risk_grade,
        "placement": placement,
        "release_kind": release_kind,
        "correction_kind": correction_kind,
        "term_start": term_start,
        "term_end": term_end,
    }
    # Each project records its own facts (special_groups.projects); another project's are refused.
    errors = {
        name: _("This project does not record it.")
        for name, value in given.items()
        if value not in (None, "") and name not in entry.fact_names
    }
    errors = errors or entry.check({k: v for k, v in given.items() if k in entry.fact_names}, today)
    if errors:
        raise ValidationError(errors)
    for fact in entry.facts:
        if given.get(fact.name) in (None, "") and fact.default is not None:
            given[fact.name] = fact.default
    digest = lookup_hash(id_number)
    if registry_person is not None and registry_person.id_number_hash != digest:
        raise ValidationError({"registry_person": _("This resident's ID number is not the one entered.")})
    _lock_id_number(project, digest)
    if Enrollment.objects.visible_to(actor).filter(project=project, person__id_number_hash=digest).exists():
        raise ValidationError({"id_number": _("This person is already in your caseload.")})
    person = Person(
        project=project,
        name=name.strip(),
        id_number=id_number,
        id_number_hash=digest,
        phone=phone,
        address=address,
        region=region,
        registry_person=registry_person,
    )
    person.full_clean()
    attribute(person, actor)
    person.save()
    enrollment = Enrollment(
        person=person,
        project=project,
        case_officer=actor,
        enrolled_on=enrolled_on or today,
        facility=facility,
        **{name: value for name, value in given.items() if value is not None},
    )
    enrollment.full_clean()
    attribute(enrollment, actor)
    enrollment.save()
    _append_access(actor=actor, action=AccessRecord.Action.ENROL, enrollment=enrollment)
    return enrollment


@POLICY.command("guardian_assign")
@transaction.atomic
def guardian_assign(
    *, actor, enrollment: Enrollment, name: str, id_number: str, relation: str, phone: str = ""
) -> Guardian:
    """Name (or rename) the guardian of a patient or the carer of a child; never the person."""
    id_number = _validate_id_number(id_number)
    digest = lookup_hash(id_number)
    if digest == enrollment.person.id_number_hash:
        raise ValidationError({"id_number": _("The guardian cannot be the patient.")})
    guardian = Guardian.objects.filter(enrollment=enrollment).first() or Guardian(enrollment=enrollment)
    guardian.name, guardian.id_number_hash, guardian.relation, guardian.phone = (
        name.strip(),
        digest,
        relation,
        phone,
    )
    guardian.full_clean()
    guardian.save()
    return guardian


def _locked_active(enrollment_id: int) -> Enrollment:
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment_id)
    if enrollment.status != Enrollment.Status.ACTIVE:
        raise ValidationError({"enrollment": _("This enrolment is closed; nothing can be recorded on it.")})
    return enrollment


@POLICY.command("visit_record")
@transaction.atomic
def visit_record(
    *,
    actor,
    enrollment: Enrollment,
    visited_on: date,
    kind: str = Visit.Kind.VISIT,
    adherent: bool | None = None,
    note: str = "",
) -> Visit:
    """Log a visit and close the open visit task it satisfies."""
    enrollment = _locked_active(enrollment.pk)
    if visited_on > timezone.localdate():
        raise ValidationError({"visited_on": _("A visit cannot be recorded in the future.")})
    visit = Visit(
        enrollment=enrollment, kind=kind, visited_on=visited_on, by=actor, adherent=adherent, note=note
    )
    visit.full_clean()
    visit.save()
    if enrollment.last_visit_on is None or visited_on > enrollment.last_visit_on:
        enrollment.last_visit_on = visited_on
        attribute(enrollment, actor)
        enrollment.save(update_fields=["last_visit_on"])
    CaseTask.objects.filter(enrollment=enrollment, kind=CaseTask.Kind.VISIT, done_on__isnull=True).update(
        done_on=visited_on
    )
    return visit


@POLICY.command("checkin_record")
@transaction.atomic
def checkin_record(
    *, actor, enrollment: Enrollment, checked_in_on: date, way: str, outcome: str, note: str = ""
) -> CheckIn:
    """Record a 社区矫正 check-in (报到). A check-in made (on time or late) closes the open expected
    check-in; a missed one is recorded and leaves it open, so it turns overdue for the officer."""
    enrollment = _locked_active(enrollment.pk)
    errors = {}
    if not project_entry(enrollment.project).check_ins:
        errors["enrollment"] = _("Check-ins belong to community correction.")
    elif checked_in_on > timezone.localdate():
        errors["checked_in_on"] = _("A check-in cannot be recorded in the future.")
    elif enrollment.term_start and checked_in_on < enrollment.term_start:
        errors["checked_in_on"] = _("A check-in cannot be before the correction term starts.")
    if errors:
        raise ValidationError(errors)
    check_in = CheckIn(
        enrollment=enrollment, checked_in_on=checked_in_on, way=way, outcome=outcome, by=actor, note=note
    )
    check_in.full_clean()
    check_in.save()
    if outcome != CheckIn.Outcome.MISSED:
        CaseTask.objects.filter(
            enrollment=enrollment,
            kind=CaseTask.Kind.CHECK_IN,
            done_on__isnull=True,
            due_on__lte=checked_in_on + _CHECK_IN_EARLY,
        ).update(done_on=checked_in_on)
    return check_in


# A check-in up to a week before the expected day counts for it.
_CHECK_IN_EARLY = timedelta(days=7)


@POLICY.command("pickup_record")
@transaction.atomic
def pickup_record(*, actor, enrollment: Enrollment, outcome: str, on: date | None = None) -> Enrollment:
    """Record whether a must-pick-up person was met at release (回归)."""
    enrollment = _locked_active(enrollment.pk)
    on = on or timezone.localdate()
    errors = {}
    if enrollment.project != SpecialProject.HUIGUI:
        errors["project"] = _("Pick-ups belong to the Return project.")
    elif outcome not in Enrollment.PickupOutcome.values:
        errors["outcome"] = _("Choose picked up or not picked up.")
    elif enrollment.release_date and on < enrollment.release_date:
        errors["on"] = _("A pick-up cannot be before the release date.")
    elif on > timezone.localdate():
        errors["on"] = _("A pick-up cannot be recorded in the future.")
    if errors:
        raise ValidationError(errors)
    enrollment.pickup_outcome = outcome
    enrollment.picked_up_on = on if outcome == Enrollment.PickupOutcome.PICKED_UP else None
    attribute(enrollment, actor)
    enrollment.save(update_fields=["pickup_outcome", "picked_up_on"])
    CaseTask.objects.filter(enrollment=enrollment, kind=CaseTask.Kind.PICKUP, done_on__isnull=True).update(
        done_on=on
    )
    return enrollment


@POLICY.command("subsidy_pay")
@transaction.atomic
def subsidy_pay(*, actor, enrollment: Enrollment, amount: Decimal, paid_on: date) -> SubsidyPayment:
    """Record a reward-in-lieu-of-subsidy payment to the guardian of a registered patient.

    The payment date is a fact already past: not later than today, not before the enrolment."""
    enrollment = _locked_active(enrollment.pk)
    if (
        enrollment.project != SpecialProject.ANNING
        or not Guardian.objects.filter(enrollment=enrollment).exists()
    ):
        raise ValidationError(
            {"enrollment": _("Subsidies are paid to the guardian of a registered patient.")}
        )
    if paid_on > timezone.localdate():
        raise ValidationError({"paid_on": _("A payment cannot be recorded in the future.")})
    if paid_on < enrollment.enrolled_on:
        raise ValidationError({"paid_on": _("A payment cannot be dated before the enrolment.")})
    payment = SubsidyPayment(enrollment=enrollment, amount=amount, paid_on=paid_on)
    payment.full_clean()
    payment.save()
    return payment


@POLICY.command("enrollment_close")
@transaction.atomic
def enrollment_close(*, actor, enrollment: Enrollment, on: date | None = None) -> Enrollment:
    """Close a case (it stays readable to its officer; nothing more is recorded on it).

    The closing date lies between the enrolment and today: closing ahead of time would hide a
    live case from the task lists, and a date before enrolment is a typing error."""
    enrollment = _locked_active(enrollment.pk)
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise ValidationError({"on": _("A case cannot be closed in the future.")})
    if on < enrollment.enrolled_on:
        raise ValidationError({"on": _("A case cannot be closed before it was enrolled.")})
    enrollment.status, enrollment.closed_on = Enrollment.Status.CLOSED, on
    attribute(enrollment, actor)
    enrollment.save(update_fields=["status", "closed_on"])
    return enrollment


# ---- the access trail -------------------------------------------------------------------


def _append_access(
    *,
    actor,
    action: str,
    enrollment: Enrollment | None = None,
    region: Region | None = None,
    purpose: str = "",
    rows: int = 0,
) -> AccessRecord:
    """Append to the access trail; only commands call this, after their rule has passed.
    A record about one enrolment is placed where its person lives, an export where the
    exporting user works."""
    record = AccessRecord(
        actor=actor,
        action=action,
        enrollment=enrollment,
        project=enrollment.project if enrollment else (getattr(actor, "special_project", "") or ""),
        region=enrollment.person.region if enrollment else region,
        purpose=purpose.strip()[:200],
        row_count=rows,
    )
    record.full_clean()
    record.save()
    return record


def require_purpose(purpose: str) -> str:
    purpose = (purpose or "").strip()
    if len(purpose) < 4:
        raise ValidationError(
            {"purpose": _("State why you need the full personal data (at least 4 characters).")}
        )
    return purpose


@POLICY.command("enrollment_view")
def enrollment_view(*, actor, enrollment: Enrollment) -> AccessRecord:
    """Log that the officer opened a record (masked), in the request that shows it."""
    return _append_access(actor=actor, action=AccessRecord.Action.VIEW, enrollment=enrollment)


@POLICY.command("enrollment_reveal")
def enrollment_reveal(*, actor, enrollment: Enrollment, purpose: str) -> Enrollment:
    """Log a stated purpose before full personal data is shown; the caller shows it only after
    this returns. What is shown is the enrolment's own person: the data its officer supplied."""
    purpose = require_purpose(purpose)
    _append_access(actor=actor, action=AccessRecord.Action.REVEAL, enrollment=enrollment, purpose=purpose)
    return enrollment


def _log_export(*, actor, rows: int) -> AccessRecord:
    """An export is placed where its author works; an account with no region of its own (an
    administrator) at the root of the tree, where city-level auditors review it."""
    region = actor.region if actor.region_id else Region.objects.filter(parent__isnull=True).first()
    return _append_access(actor=actor, action=AccessRecord.Action.EXPORT, region=region, rows=rows)


@POLICY.command("caseload_export")
def caseload_export(*, actor, rows: int) -> AccessRecord:
    """Log a caseload export (masked rows) before it is sent."""
    return _log_export(actor=actor, rows=rows)


@POLICY.command("tasks_export")
def tasks_export(*, actor, rows: int) -> AccessRecord:
    """Log a task-list export (masked names) before it is sent."""
    return _log_export(actor=actor, rows=rows)


@POLICY.command("access_log_export")
def access_log_export(*, actor, rows: int) -> AccessRecord:
    """Log an auditor's export of the access trail before it is sent."""
    return _log_export(actor=actor, rows=rows)


# ---- planning (Celery beat) -------------------------------------------------------------


@dataclass(frozen=True)
class PlanResult:
    pickup_tasks: int
    visit_tasks: int
    flagged_overdue: int
    check_in_tasks: int = 0


@system_command("Celery beat (hourly): plans every project's declared tasks; no person starts it.")
@transaction.atomic
def plan_tasks(*, today: date | None = None) -> PlanResult:
    """Create the tasks each project declares (``special_groups.projects``: pick-ups before a
    release, visits at the project's cadence, check-ins) that are due, and flag overdue ones.
    Idempotent: the unique (enrolment, kind, due date) constraint keeps a rerun from duplicating."""
    today = today or timezone.localdate()
    new: dict[str, int] = {}
    for entry in PROJECTS:
        for plan in entry.tasks:
            made = import_string(plan.planner)(project=entry, plan=plan, today=today)
            new[plan.kind] = new.get(plan.kind, 0) + made
    # Served by the partial index of open tasks not yet flagged: done and flagged tasks are never read.
    flagged = CaseTask.objects.filter(
        done_on__isnull=True, due_on__lt=today, overdue_since__isnull=True
    ).update(overdue_since=today)
    return PlanResult(
        pickup_tasks=new.get(CaseTask.Kind.PICKUP, 0),
        visit_tasks=new.get(CaseTask.Kind.VISIT, 0),
        flagged_overdue=flagged,
        check_in_tasks=new.get("check_in", 0),
    )
