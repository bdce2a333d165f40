"""Writes for the six projects. Every change to a person, enrolment, visit or task goes here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import Role, SpecialProject
from audit.history import attribute
from grids.models import Region
from special_groups.crypto import is_valid_id_number, lookup_hash
from special_groups.models import (
    AccessRecord,
    CaseTask,
    Enrollment,
    Guardian,
    Person,
    SubsidyPayment,
    Visit,
)

# Days before a release date that the pick-up task appears on the officer's list.
PICKUP_LEAD_DAYS = 7

# Follow-up interval in days by risk grade (安宁): stable patients quarterly, grades 1-2
# monthly, grades 3-5 every two weeks.
VISIT_INTERVAL_DAYS = {0: 90, 1: 30, 2: 30, 3: 14, 4: 14, 5: 14}


def visit_interval(risk_grade: int | None) -> int:
    return VISIT_INTERVAL_DAYS.get(risk_grade if risk_grade is not None else 0, 90)


def _require_officer_of(actor, project: str) -> None:
    if actor.is_platform_admin:
        return
    if actor.role != Role.CASE_OFFICER or actor.special_project != project:
        raise ValidationError({"project": _("Only case officers of this project may do this.")})


def _validate_id_number(id_number: str, field: str = "id_number") -> str:
    normalised = id_number.strip().upper()
    if not is_valid_id_number(normalised):
        raise ValidationError(
            {field: _("Not a valid 18-character ID number (the check character is wrong).")}
        )
    return normalised


@transaction.atomic
def person_enroll(
    *,
    actor,
    name: str,
    id_number: str,
    region: Region,
    project: str,
    enrolled_on: date | None = None,
    phone: str = "",
    address: str = "",
    release_date: date | None = None,
    risk_grade: int | None = None,
    placement: str = "",
    facility=None,
) -> Enrollment:
    """Enrol someone in the actor's project, finding the person by ID number if already known
    to another project (their data is not shown to this officer, only linked)."""
    _require_officer_of(actor, project)
    id_number = _validate_id_number(id_number)
    today = timezone.localdate()
    if project == SpecialProject.HUIGUI:
        if release_date is None:
            raise ValidationError({"release_date": _("A must-pick-up target needs a release date.")})
        if release_date < today:
            raise ValidationError(
                {"release_date": _("The release date of a new target cannot be in the past.")}
            )
    if not actor.is_platform_admin and not region.path.startswith(actor.region.path):
        raise ValidationError({"region": _("The place of residence is outside your jurisdiction.")})
    digest = lookup_hash(id_number)
    person = Person.objects.select_for_update().filter(id_number_hash=digest).first()
    if person is None:
        person = Person(
            name=name.strip(),
            id_number=id_number,
            id_number_hash=digest,
            phone=phone,
            address=address,
            region=region,
        )
        person.full_clean()
        attribute(person, actor)
        person.save()
    if Enrollment.objects.filter(person=person, project=project).exists():
        raise ValidationError({"id_number": _("This person is already enrolled in this project.")})
    enrollment = Enrollment(
        person=person,
        project=project,
        case_officer=actor if actor.role == Role.CASE_OFFICER else None,
        enrolled_on=enrolled_on or today,
        release_date=release_date,
        risk_grade=risk_grade,
        placement=placement,
        facility=facility,
    )
    enrollment.full_clean()
    attribute(enrollment, actor)
    enrollment.save()
    return enrollment


@transaction.atomic
def guardian_assign(
    *, actor, enrollment: Enrollment, name: str, id_number: str, relation: str, phone: str = ""
) -> Guardian:
    _require_officer_of(actor, enrollment.project)
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
    _require_officer_of(actor, enrollment.project)
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


@transaction.atomic
def pickup_record(*, actor, enrollment: Enrollment, outcome: str, on: date | None = None) -> Enrollment:
    """Record whether a must-pick-up person was met at release (回归)."""
    _require_officer_of(actor, enrollment.project)
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


@transaction.atomic
def subsidy_pay(*, actor, enrollment: Enrollment, amount: Decimal, paid_on: date) -> SubsidyPayment:
    _require_officer_of(actor, enrollment.project)
    enrollment = _locked_active(enrollment.pk)
    if (
        enrollment.project != SpecialProject.ANNING
        or not Guardian.objects.filter(enrollment=enrollment).exists()
    ):
        raise ValidationError(
            {"enrollment": _("Subsidies are paid to the guardian of a registered patient.")}
        )
    payment = SubsidyPayment(enrollment=enrollment, amount=amount, paid_on=paid_on)
    payment.full_clean()
    payment.save()
    return payment


@transaction.atomic
def enrollment_close(*, actor, enrollment: Enrollment, on: date | None = None) -> Enrollment:
    _require_officer_of(actor, enrollment.project)
    enrollment = _locked_active(enrollment.pk)
    enrollment.status, enrollment.closed_on = Enrollment.Status.CLOSED, on or timezone.localdate()
    attribute(enrollment, actor)
    enrollment.save(update_fields=["status", "closed_on"])
    return enrollment


# ---- the access trail -------------------------------------------------------------------


def access_log(
    *,
    actor,
    action: str,
    region: Region,
    enrollment: Enrollment | None = None,
    purpose: str = "",
    rows: int = 0,
) -> AccessRecord:
    """Append to the access trail. Called in the same request that shows or exports the data."""
    record = AccessRecord(
        actor=actor,
        action=action,
        enrollment=enrollment,
        project=enrollment.project if enrollment else getattr(actor, "special_project", ""),
        region=region,
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


# ---- planning (Celery beat) -------------------------------------------------------------


@dataclass(frozen=True)
class PlanResult:
    pickup_tasks: int
    visit_tasks: int
    flagged_overdue: int


@transaction.atomic
def plan_tasks(*, today: date | None = None) -> PlanResult:
    """Create the pick-up and visit tasks that are due, and flag overdue ones. Idempotent:
    the unique (enrolment, kind, due date) constraint keeps a rerun from duplicating."""
    today = today or timezone.localdate()
    targets = Enrollment.objects.filter(
        project=SpecialProject.HUIGUI,
        status=Enrollment.Status.ACTIVE,
        pickup_outcome="",
        release_date__gte=today,
        release_date__lte=today + timedelta(days=PICKUP_LEAD_DAYS),
    ).values_list("pk", "release_date")
    pickups = [
        CaseTask(enrollment_id=pk, kind=CaseTask.Kind.PICKUP, due_on=release) for pk, release in targets
    ]
    before = CaseTask.objects.count()
    CaseTask.objects.bulk_create(pickups, ignore_conflicts=True)
    after_pickups = CaseTask.objects.count()

    open_visit = CaseTask.objects.filter(kind=CaseTask.Kind.VISIT, done_on__isnull=True).values(
        "enrollment_id"
    )
    patients = (
        Enrollment.objects.filter(project=SpecialProject.ANNING, status=Enrollment.Status.ACTIVE)
        .exclude(pk__in=open_visit)
        .values_list("pk", "risk_grade", "last_visit_on", "enrolled_on")
    )
    visits = [
        CaseTask(
            enrollment_id=pk,
            kind=CaseTask.Kind.VISIT,
            due_on=(last or enrolled) + timedelta(days=visit_interval(grade)),
        )
        for pk, grade, last, enrolled in patients
    ]
    CaseTask.objects.bulk_create(visits, ignore_conflicts=True)
    after_visits = CaseTask.objects.count()
    flagged = CaseTask.objects.filter(
        done_on__isnull=True, due_on__lt=today, overdue_since__isnull=True
    ).update(overdue_since=today)
    return PlanResult(after_pickups - before, after_visits - after_pickups, flagged)
