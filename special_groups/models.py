from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.roles import Role, SpecialProject
from anshun.scoping import NOTHING, ScopedQuerySet, ScopeRule
from audit.history import AuditedHistory
from special_groups.crypto import EncryptedTextField
from special_groups.projects import project as project_entry


def _officer_of(actor) -> str | None:
    """The project ``actor`` is an officer of: its entry (special_groups.projects) names the role
    its officers hold; anyone else is an officer of no project."""
    code = getattr(actor, "special_project", "") or ""
    entry = project_entry(code) if code else None
    if entry is not None and getattr(actor, "role", None) == entry.officer_role:
        return code
    return None


def _own_project_only(actor) -> Q:
    """Case officers see only their own project's facilities; other roles none of them."""
    code = _officer_of(actor)
    return Q(project=code) if code else NOTHING


def _project_rule(prefix: str):
    """Case officers of the project that owns a row; nobody else (admins aside, as everywhere)."""

    def rule(actor) -> Q:
        code = _officer_of(actor)
        return Q(**{f"{prefix}project": code}) if code else NOTHING

    return rule


def _auditors_only(actor) -> Q:
    return Q() if getattr(actor, "role", None) == Role.AUDITOR else NOTHING


class ServiceFacility(models.Model):
    """A facility that serves one of the six projects: a special school (育新), a
    rescue and protection centre or rural kindergarten (雨露), a specialist
    psychiatric clinic (安宁), a community drug-rehabilitation station (阳光)...

    Facilities hold no personal data; people and enrolments are encrypted at rest.
    """

    class Kind(models.TextChoices):
        SPECIAL_SCHOOL = "special_school", _("Special school")
        PROTECTION_CENTRE = "protection_centre", _("Rescue and protection centre")
        RURAL_KINDERGARTEN = "rural_kindergarten", _("Rural kindergarten")
        BOARDING_SCHOOL = "boarding_school", _("Boarding school")
        PSYCHIATRIC_CLINIC = "psychiatric_clinic", _("Specialist psychiatric clinic")
        REHAB_STATION = "rehab_station", _("Community rehabilitation station")
        RESETTLEMENT_BASE = "resettlement_base", _("Resettlement base")

    project = models.CharField(_("project"), max_length=16, choices=SpecialProject.choices)
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=120)
    region = models.ForeignKey(
        "grids.Region",
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="service_facilities",
    )
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    opened_on = models.DateField(_("opened on"), null=True, blank=True)
    # What was spent on the facility and what it built: the projects' investment and floor-area
    # figures (育新 ¥18M+, 雨露 ¥800M+ and 1M m² of dormitories and canteens) are sums of these.
    investment = models.DecimalField(
        _("investment (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    floor_area = models.DecimalField(
        _("floor area built (m²)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("For boarding schools: the student dormitories and canteens built."),
    )
    is_demo = models.BooleanField(_("demo record"), default=False)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="region__path", also_require=_own_project_only)

    class Meta:
        verbose_name = _("service facility")
        verbose_name_plural = _("service facilities")
        ordering = ["project", "region__code", "name"]

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    """Someone as one project knows them: the personal data its case officer supplied.

    A person belongs to exactly one project (and has one enrolment there). Someone served by
    two projects has two records, each written from its own officer's data: no project ever
    links to, or reads, what another project holds, and nothing tells an officer that an ID
    number is known elsewhere.

    Name, ID number, phone and address are sensitive personal information: they are
    stored only as Fernet tokens; the ID number is found through its keyed hash.
    """

    project = models.CharField(_("project"), max_length=16, choices=SpecialProject.choices)
    name = EncryptedTextField(pgettext_lazy("person", "name"))
    id_number = EncryptedTextField(_("ID number"))
    id_number_hash = models.CharField(
        _("ID number lookup hash"), max_length=64, db_index=True, editable=False
    )
    phone = EncryptedTextField(_("phone"), blank=True)
    address = EncryptedTextField(pgettext_lazy("person", "address"), blank=True)
    region = models.ForeignKey(
        "grids.Region",
        verbose_name=_("place of residence"),
        on_delete=models.PROTECT,
        related_name="special_persons",
    )
    is_demo = models.BooleanField(_("synthetic demo person"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # The resident of the basic registry this person is (registry.Resident): a grid worker visiting
    # the house sees only a neutral "needs attention" mark, never the project or this record.
    registry_person = models.ForeignKey(
        "registry.Resident",
        verbose_name=_("registry person"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="special_persons",
    )

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="region__path", also_require=_project_rule(""))
    # Auditors see that personal data changed, never what it is: the encrypted fields (and the
    # lookup hash) are masked in every audit view; history stores the Fernet tokens only. The
    # project is masked too: the audit trail never says which project a person is in (the
    # enrolment's history, which does name its project, masks the person instead).
    history = AuditedHistory(
        scope_rule=ScopeRule(region_path="region__path"),
        sensitive=("id_number_hash", "project", "registry_person"),
    )

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        indexes = [models.Index(fields=["project", "id_number_hash"], name="person_project_id_hash")]

    def __str__(self) -> str:
        return f"#{self.pk}"


class Enrollment(models.Model):
    """One person in one project: its case officer, status and the project's own facts.

    A person in two projects has two enrolments; each officer sees only their own.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CLOSED = "closed", _("Closed")

    class Placement(models.TextChoices):
        CENTRALISED = "centralised", _("Centralised")
        COMMUNITY = "community", pgettext_lazy("placement", "Community")

    class PickupOutcome(models.TextChoices):
        PICKED_UP = "picked_up", _("Picked up")
        NOT_PICKED_UP = "not_picked_up", _("Not picked up")

    class ReleaseKind(models.TextChoices):
        """刑释解戒: the two kinds of must-pick-up people of 回归."""

        PRISON = "xingshi", _("Released from prison (刑释)")
        REHABILITATION = "jiejie", _("Released from compulsory drug rehabilitation (解戒)")

    class CorrectionKind(models.TextChoices):
        """社区矫正: the four kinds of community correction (矫正类型)."""

        SURVEILLANCE = "guanzhi", _("Public surveillance (管制)")
        PROBATION = "huanxing", _("Probation (缓刑)")
        PAROLE = "jiashi", _("Parole (假释)")
        MEDICAL_PAROLE = "jianwai", _("Temporary service outside prison (暂予监外执行)")

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="enrollments")
    project = models.CharField(_("project"), max_length=16, choices=SpecialProject.choices)
    case_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("case officer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="special_enrollments",
    )
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.ACTIVE)
    enrolled_on = models.DateField(_("enrolled on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    facility = models.ForeignKey(
        ServiceFacility,
        verbose_name=_("facility"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="enrollments",
    )
    # 安宁: risk grade 0-5 under the national work rules for severe mental disorders.
    risk_grade = models.PositiveSmallIntegerField(_("risk grade"), null=True, blank=True)
    # 阳光
    placement = models.CharField(_("placement"), max_length=12, choices=Placement.choices, blank=True)
    relapse_flag = models.BooleanField(_("relapse suspected"), default=False)
    # 回归
    release_date = models.DateField(_("release date"), null=True, blank=True, db_index=True)
    pickup_outcome = models.CharField(
        _("pick-up outcome"), max_length=16, choices=PickupOutcome.choices, blank=True
    )
    picked_up_on = models.DateField(_("picked up on"), null=True, blank=True)
    resettled = models.BooleanField(_("resettled"), default=False)
    # db_default: the bulk loaders and benches that insert enrolments in SQL need not name them.
    release_kind = models.CharField(
        _("released from"), max_length=8, choices=ReleaseKind.choices, blank=True, db_default=""
    )
    # 社区矫正
    correction_kind = models.CharField(
        _("correction type"), max_length=8, choices=CorrectionKind.choices, blank=True, db_default=""
    )
    term_start = models.DateField(_("correction term starts"), null=True, blank=True)
    term_end = models.DateField(_("correction term ends"), null=True, blank=True)
    last_visit_on = models.DateField(_("last visit"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="person__region__path", also_require=_project_rule(""))
    # Auditors read what happened to an enrolment (its project, status, dates), never whose it
    # is: the person it belongs to is masked, so the trail cannot tie a person to a project.
    history = AuditedHistory(scope_rule=ScopeRule(region_path="person__region__path"), sensitive=("person",))

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        ordering = ["-enrolled_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["person", "project"], name="one_enrollment_per_project"),
            models.CheckConstraint(
                condition=Q(risk_grade__isnull=True) | Q(risk_grade__lte=5), name="risk_grade_0_to_5"
            ),
        ]
        indexes = [models.Index(fields=["project", "status"])]

    def __str__(self) -> str:
        return f"{self.get_project_display()} #{self.pk}"


class EnrollmentPart(models.Model):
    """A row that belongs to one enrolment: seen by exactly those who see the enrolment."""

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(
        region_path="enrollment__person__region__path", also_require=_project_rule("enrollment__")
    )

    class Meta:
        abstract = True


class Guardian(models.Model):
    """The named guardian of a patient (安宁) or carer of a left-behind child (雨露)."""

    enrollment = models.OneToOneField(Enrollment, on_delete=models.CASCADE, related_name="guardian")
    name = EncryptedTextField(pgettext_lazy("person", "name"))
    id_number_hash = models.CharField(_("ID number lookup hash"), max_length=64, editable=False)
    phone = EncryptedTextField(_("phone"), blank=True)
    relation = models.CharField(_("relation"), max_length=20)

    class Meta:
        verbose_name = _("guardian")
        verbose_name_plural = _("guardians")

    def __str__(self) -> str:
        # Never the name or phone (encrypted personal data): the relation only.
        return f"{self._meta.verbose_name} #{self.pk} · {self.relation}"


class Visit(EnrollmentPart):
    """A follow-up visit, check-in or contact; the visit log of one enrolment."""

    class Kind(models.TextChoices):
        VISIT = "visit", _("Home visit")
        CHECK_IN = "check_in", _("Check-in")
        FOLLOW_UP = "follow_up", _("Follow-up")

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="visits")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.VISIT)
    visited_on = models.DateField(_("visited on"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    adherent = models.BooleanField(_("treatment adherent"), null=True, blank=True)
    note = EncryptedTextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-visited_on", "-id"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {self.get_kind_display()} · {self.visited_on:%Y-%m-%d}"


class CaseTask(EnrollmentPart):
    """Work the beat schedule plans for a case officer: a pick-up before a release, a visit due."""

    class Kind(models.TextChoices):
        PICKUP = "pickup", _("Pick-up at release")
        VISIT = "visit", _("Visit due")
        CHECK_IN = "check_in", _("Check-in due")

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    due_on = models.DateField(_("due on"), db_index=True)
    done_on = models.DateField(_("done on"), null=True, blank=True)
    overdue_since = models.DateField(_("overdue since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_on", "id"]
        constraints = [
            # Planning runs again and again; a task for the same due date is never duplicated.
            models.UniqueConstraint(fields=["enrollment", "kind", "due_on"], name="one_task_per_due_date"),
        ]
        indexes = [
            # The hourly plan reads only what is still open, so its pass stays as long as the
            # caseload whatever years of done tasks lie behind it.
            models.Index(
                fields=["enrollment"],
                name="casetask_open_visit",
                condition=models.Q(kind="visit", done_on__isnull=True),
            ),
            models.Index(
                fields=["due_on"],
                name="casetask_open_unflagged",
                condition=models.Q(done_on__isnull=True, overdue_since__isnull=True),
            ),
        ]

    @property
    def is_overdue(self) -> bool:
        return self.done_on is None and self.due_on < timezone.localdate()

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {self.get_kind_display()} · {self.due_on:%Y-%m-%d}"


class CheckIn(EnrollmentPart):
    """A 社区矫正 report (报到): when, how and with what outcome; the plan of expected check-ins is
    the ``check_in`` tasks the hourly planning creates (``special_groups.planning``)."""

    class Way(models.TextChoices):
        IN_PERSON = "in_person", _("In person")
        PHONE = "phone", _("By phone")
        ELECTRONIC = "electronic", _("Electronic (app or location check)")

    class Outcome(models.TextChoices):
        REPORTED = "reported", _("Reported as required")
        LATE = "late", _("Reported late")
        MISSED = "missed", _("Did not report")

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="check_ins")
    checked_in_on = models.DateField(_("check-in date"))
    way = models.CharField(pgettext_lazy("check-in", "way"), max_length=10, choices=Way.choices)
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = EncryptedTextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["-checked_in_on", "-id"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {self.get_outcome_display()} · {self.checked_in_on:%Y-%m-%d}"


class SubsidyPayment(EnrollmentPart):
    """A reward-in-lieu-of-subsidy payment (以奖代补) to a patient's guardian (安宁)."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT, related_name="subsidy_payments")
    paid_on = models.DateField(_("paid on"))
    amount = models.DecimalField(_("amount (¥)"), max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = _("subsidy payment")
        verbose_name_plural = _("subsidy payments")
        ordering = ["-paid_on", "-id"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {self.paid_on:%Y-%m-%d} · {self.amount}"


class AccessRecord(models.Model):
    """Who read which person's record, when and why; and who exported what.

    Append-only; auditors review it inside their jurisdiction.
    """

    class Action(models.TextChoices):
        ENROL = "enrol", _("Enrolled (officer's own data)")
        VIEW = "view", _("Viewed record (masked)")
        REVEAL = "reveal", _("Viewed full personal data")
        EXPORT = "export", _("Exported")

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    project = models.CharField(_("project"), max_length=16, choices=SpecialProject.choices, blank=True)
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.PROTECT, null=True, blank=True, related_name="access_records"
    )
    region = models.ForeignKey("grids.Region", on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(_("stated purpose"), max_length=200, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), default=0)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="region__path", also_require=_auditors_only)

    class Meta:
        verbose_name = _("access record")
        verbose_name_plural = _("access records")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {timezone.localtime(self.at):%Y-%m-%d %H:%M} · {self.action}"
