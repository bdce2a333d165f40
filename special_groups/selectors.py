"""Reads for the six projects. Records go through ``visible_to`` (case officers of the owning
project, inside their jurisdiction); aggregates for officials go through ``metrics``, whose
counts of people are suppressed below the small-count threshold outside the project."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.db.models.functions import ExtractMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role, SpecialProject
from anshun.dashboard import Tile, suppress_small
from grids.models import Region
from special_groups.models import AccessRecord, CaseTask, Enrollment, ServiceFacility, SubsidyPayment

# ---- records ---------------------------------------------------------------------------


def _officers_only(queryset: QuerySet, actor) -> QuerySet:
    """Person records are for case officers alone: not even platform admins browse them
    (the scope rule lets admins through everywhere else)."""
    return queryset if getattr(actor, "role", None) == Role.CASE_OFFICER else queryset.none()


def enrollments_visible_to(*, actor, status: str | None = None) -> QuerySet[Enrollment]:
    enrollments = (
        Enrollment.objects.visible_to(actor)
        .select_related("person", "person__region", "facility", "case_officer", "guardian")
        .defer("person__region__boundary")
        .order_by("-enrolled_on", "-id")
    )
    if status:
        enrollments = enrollments.filter(status=status)
    return _officers_only(enrollments, actor)


def enrollment_record(*, actor) -> QuerySet[Enrollment]:
    """The queryset a person-record page fetches one enrolment from (404 outside scope)."""
    return enrollments_visible_to(actor=actor).prefetch_related("visits", "subsidy_payments", "tasks")


def tasks_visible_to(*, actor, open_only: bool = True) -> QuerySet[CaseTask]:
    tasks = (
        CaseTask.objects.visible_to(actor)
        .select_related("enrollment", "enrollment__person", "enrollment__person__region")
        .defer("enrollment__person__region__boundary")
        .order_by("due_on", "id")
    )
    if open_only:
        tasks = tasks.filter(done_on__isnull=True)
    return _officers_only(tasks, actor)


def access_records_visible_to(*, actor) -> QuerySet[AccessRecord]:
    return (
        AccessRecord.objects.visible_to(actor)
        .select_related("actor", "region", "enrollment")
        .defer("region__boundary")
        .order_by("-at", "-id")
    )


def find_by_id_number(*, actor, id_number: str) -> QuerySet[Enrollment]:
    """Lookup through the keyed hash: the only way an ID number is ever searched."""
    from special_groups.crypto import lookup_hash

    return enrollments_visible_to(actor=actor).filter(person__id_number_hash=lookup_hash(id_number))


# ---- metrics ---------------------------------------------------------------------------


def period(year: int, month: int | None = None) -> tuple[date, date]:
    if month is None:
        return date(year, 1, 1), date(year, 12, 31)
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _rate(numerator: int, denominator: int) -> float | None:
    return round(100 * numerator / denominator, 2) if denominator else None


@dataclass(frozen=True)
class Metrics:
    """Figures for one jurisdiction and period, each computed from the records."""

    pickup_targets: int  # 回归: must-pick-up people released in the period
    picked_up: int
    patients: int  # 安宁: registered patients enrolled at the end of the period
    patients_with_guardian: int
    visits_due: int  # visit tasks due in the period (up to today)
    visits_on_time: int
    subsidy_paid: Decimal  # 以奖代补 paid in the period
    clinics: int
    townships: int
    townships_with_centre: int
    villages: int
    villages_with_centre: int
    rural_kindergartens: int
    special_schools: int
    special_school_students: int  # 育新: students received up to the end of the period

    @property
    def pickup_rate(self) -> float | None:
        return _rate(self.picked_up, self.pickup_targets)

    @property
    def guardian_coverage(self) -> float | None:
        return _rate(self.patients_with_guardian, self.patients)

    @property
    def visit_compliance(self) -> float | None:
        return _rate(self.visits_on_time, self.visits_due)

    @property
    def township_centre_coverage(self) -> float | None:
        return _rate(self.townships_with_centre, self.townships)

    @property
    def village_centre_coverage(self) -> float | None:
        return _rate(self.villages_with_centre, self.villages)

    def as_dict(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in (
            "pickup_rate",
            "guardian_coverage",
            "visit_compliance",
            "township_centre_coverage",
            "village_centre_coverage",
        ):
            data[name] = getattr(self, name)
        return data


def metrics(*, region: Region, start: date, end: date) -> Metrics:
    """Every figure for ``region`` and the period [start, end]. Callers check that the actor
    may see ``region`` (``region_for``); this function only aggregates, it lists nobody."""
    inside = region.path
    today = timezone.localdate()
    enrollments = Enrollment.objects.filter(person__region__path__startswith=inside)
    in_place = Q(enrolled_on__lte=end) & (Q(closed_on__isnull=True) | Q(closed_on__gt=end))
    pickups = enrollments.filter(
        project=SpecialProject.HUIGUI, release_date__gte=start, release_date__lte=min(end, today)
    ).aggregate(targets=Count("pk"), picked=Count("pk", filter=Q(pickup_outcome="picked_up")))
    patients = enrollments.filter(in_place, project=SpecialProject.ANNING).aggregate(
        n=Count("pk"), guarded=Count("guardian")
    )
    visits = CaseTask.objects.filter(
        enrollment__person__region__path__startswith=inside,
        kind=CaseTask.Kind.VISIT,
        due_on__gte=start,
        due_on__lte=min(end, today),
    ).aggregate(due=Count("pk"), on_time=Count("pk", filter=Q(done_on__lte=F("due_on"))))
    paid = SubsidyPayment.objects.filter(
        enrollment__person__region__path__startswith=inside, paid_on__gte=start, paid_on__lte=end
    ).aggregate(total=Sum("amount"))["total"] or Decimal("0")
    facilities = ServiceFacility.objects.filter(region__path__startswith=inside).aggregate(
        clinics=Count("pk", filter=Q(kind=ServiceFacility.Kind.PSYCHIATRIC_CLINIC)),
        kindergartens=Count("pk", filter=Q(kind=ServiceFacility.Kind.RURAL_KINDERGARTEN)),
        schools=Count("pk", filter=Q(kind=ServiceFacility.Kind.SPECIAL_SCHOOL)),
        townships_with=Count(
            "region",
            distinct=True,
            filter=Q(kind=ServiceFacility.Kind.PROTECTION_CENTRE, region__level=Region.Level.TOWNSHIP),
        ),
        villages_with=Count(
            "region",
            distinct=True,
            filter=Q(kind=ServiceFacility.Kind.PROTECTION_CENTRE, region__level=Region.Level.VILLAGE),
        ),
    )
    levels = Region.objects.filter(path__startswith=inside).aggregate(
        townships=Count("pk", filter=Q(level=Region.Level.TOWNSHIP)),
        villages=Count("pk", filter=Q(level=Region.Level.VILLAGE)),
    )
    students = enrollments.filter(
        project=SpecialProject.YUXIN,
        facility__kind=ServiceFacility.Kind.SPECIAL_SCHOOL,
        enrolled_on__lte=end,
    ).count()
    return Metrics(
        pickup_targets=pickups["targets"],
        picked_up=pickups["picked"],
        patients=patients["n"],
        patients_with_guardian=patients["guarded"],
        visits_due=visits["due"],
        visits_on_time=visits["on_time"],
        subsidy_paid=paid,
        clinics=facilities["clinics"],
        townships=levels["townships"],
        townships_with_centre=facilities["townships_with"],
        villages=levels["villages"],
        villages_with_centre=facilities["villages_with"],
        rural_kindergartens=facilities["kindergartens"],
        special_schools=facilities["schools"],
        special_school_students=students,
    )


def monthly_series(*, region: Region, year: int) -> dict[str, list]:
    """Per-month pick-up rate, visit compliance and subsidy paid for the charts (three queries)."""
    inside = region.path
    today = timezone.localdate()
    start, end = period(year)
    end = min(end, today) if start <= today else end
    pickups = (
        Enrollment.objects.filter(
            person__region__path__startswith=inside,
            project=SpecialProject.HUIGUI,
            release_date__gte=start,
            release_date__lte=end,
        )
        .annotate(m=ExtractMonth("release_date"))
        .values("m")
        .annotate(n=Count("pk"), picked=Count("pk", filter=Q(pickup_outcome="picked_up")))
        .order_by()
    )
    visits = (
        CaseTask.objects.filter(
            enrollment__person__region__path__startswith=inside,
            kind=CaseTask.Kind.VISIT,
            due_on__gte=start,
            due_on__lte=end,
        )
        .annotate(m=ExtractMonth("due_on"))
        .values("m")
        .annotate(n=Count("pk"), ok=Count("pk", filter=Q(done_on__lte=F("due_on"))))
        .order_by()
    )
    paid = (
        SubsidyPayment.objects.filter(
            enrollment__person__region__path__startswith=inside, paid_on__gte=start, paid_on__lte=end
        )
        .annotate(m=ExtractMonth("paid_on"))
        .values("m")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    by_month_pickups = {row["m"]: _rate(row["picked"], row["n"]) for row in pickups}
    by_month_visits = {row["m"]: _rate(row["ok"], row["n"]) for row in visits}
    by_month_paid = {row["m"]: float(row["total"]) for row in paid}
    months = list(range(1, 13))
    return {
        "months": [f"{year}-{m:02d}" for m in months],
        "pickup_rate": [by_month_pickups.get(m) for m in months],
        "visit_compliance": [by_month_visits.get(m) for m in months],
        "subsidy_paid": [by_month_paid.get(m, 0.0) for m in months],
    }


def latest_year(*, region: Region) -> int:
    """The year the dashboard opens on: the latest with enrolments in the region, else this one."""
    latest = Enrollment.objects.filter(person__region__path__startswith=region.path).aggregate(
        y=Max("enrolled_on")
    )["y"]
    return (latest or timezone.localdate()).year


def region_for(*, actor, code: str | None = None) -> Region | None:
    """The region a dashboard shows: ``code`` if the actor may see it, else their own."""
    regions = Region.objects.visible_to(actor).defer("boundary")
    if code:
        return regions.filter(code=code).first()
    if actor.region_id:
        return regions.filter(pk=actor.region_id).first()
    return regions.order_by("path").first()


def sees_project_counts(actor, project: str) -> bool:
    """Inside the project (its own case officers) counts are shown as they are."""
    return actor.role == Role.CASE_OFFICER and actor.special_project == project


def _count_tile(key, label, count, *, inside: bool, group: str) -> Tile:
    value, suppressed = (count, False) if inside else suppress_small(count)
    return Tile(key=key, label=label, value=value, suppressed=suppressed, group=group)


def _rate_tile(key, label, numerator, denominator, *, inside: bool, group: str) -> Tile:
    """A rate over fewer than five people could identify them: suppressed outside the project."""
    if not inside and 0 < denominator < 5:
        return Tile(key=key, label=label, value=None, unit="%", suppressed=True, group=group)
    return Tile(
        key=key,
        label=label,
        value=_rate(numerator, denominator),
        unit="%",
        detail=f"n = {denominator}",
        group=group,
    )


def project_tiles(*, actor, region: Region, start: date | None = None, end: date | None = None) -> list[Tile]:
    """KPI tiles for the officials' dashboard (``dashboard_tiles``) and the project dashboards.

    红丝带 (HIV) figures are never shown outside their project.
    """
    start = start or date(1900, 1, 1)
    end = end or timezone.localdate()
    m = metrics(region=region, start=start, end=end)
    huigui = sees_project_counts(actor, SpecialProject.HUIGUI)
    anning = sees_project_counts(actor, SpecialProject.ANNING)
    yuxin = sees_project_counts(actor, SpecialProject.YUXIN)
    g_huigui, g_anning = str(SpecialProject.HUIGUI.label), str(SpecialProject.ANNING.label)
    g_yulu, g_yuxin = str(SpecialProject.YULU.label), str(SpecialProject.YUXIN.label)
    # Overdue flags reach the officer on the task list and their head (the officials of the
    # jurisdiction) here, as a count across projects; the officer sees their own project's.
    overdue = CaseTask.objects.filter(
        enrollment__person__region__path__startswith=region.path,
        done_on__isnull=True,
        overdue_since__isnull=False,
    )
    if actor.role == Role.CASE_OFFICER:
        overdue = overdue.filter(enrollment__project=actor.special_project)
    return [
        _count_tile(
            "special_groups.overdue_tasks",
            _("Overdue tasks"),
            overdue.count(),
            inside=actor.role == Role.CASE_OFFICER,
            group=str(_("Six projects")),
        ),
        _count_tile(
            "special_groups.picked_up", _("People picked up"), m.picked_up, inside=huigui, group=g_huigui
        ),
        _rate_tile(
            "special_groups.pickup_rate",
            _("Pick-up rate"),
            m.picked_up,
            m.pickup_targets,
            inside=huigui,
            group=g_huigui,
        ),
        _count_tile(
            "special_groups.patients", _("Registered patients"), m.patients, inside=anning, group=g_anning
        ),
        _rate_tile(
            "special_groups.guardian_coverage",
            _("Guardian coverage"),
            m.patients_with_guardian,
            m.patients,
            inside=anning,
            group=g_anning,
        ),
        _rate_tile(
            "special_groups.visit_compliance",
            _("Visit compliance"),
            m.visits_on_time,
            m.visits_due,
            inside=anning,
            group=g_anning,
        ),
        Tile(
            "special_groups.subsidy_paid", _("Subsidy paid"), int(m.subsidy_paid), unit="元", group=g_anning
        ),
        Tile("special_groups.clinics", _("Specialist clinics"), m.clinics, group=g_anning),
        Tile(
            "special_groups.township_centres",
            _("Townships with a protection centre"),
            m.townships_with_centre,
            detail=f"/ {m.townships}",
            group=g_yulu,
        ),
        Tile(
            "special_groups.village_centres",
            _("Villages with a protection centre"),
            m.villages_with_centre,
            detail=f"/ {m.villages}",
            group=g_yulu,
        ),
        Tile("special_groups.kindergartens", _("Rural kindergartens"), m.rural_kindergartens, group=g_yulu),
        Tile("special_groups.special_schools", _("Special schools"), m.special_schools, group=g_yuxin),
        _count_tile(
            "special_groups.students",
            _("Special-school students received"),
            m.special_school_students,
            inside=yuxin,
            group=g_yuxin,
        ),
    ]


def dashboard_tiles(*, actor, region) -> list[Tile]:
    """The officials' dashboard contract (``AppConfig.dashboard_tiles``)."""
    if region is None or not Region.objects.visible_to(actor).filter(pk=region.pk).exists():
        return []
    return project_tiles(actor=actor, region=region)
