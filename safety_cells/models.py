"""Safe cells (平安细胞) and the "1+4" prevention system (社会治安大防控).

Both halves answer one question for officials — where does grassroots safety
work and where are the gaps — so they live in one app: cells, evaluations and
on-site meetings on one side; prevention units, patrols, Skynet cameras and
small devices on the other. Every row is placed in the jurisdiction tree and
scoped through ``anshun.scoping``.
"""

import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anshun.scoping import ScopedQuerySet, ScopeRule
from anshun.uploads import RandomName
from audit.history import AuditedHistory


class CellType(models.Model):
    """A kind of safe cell. The four from the source article are seeded; the city adds
    more (hospital, scenic area...) in the admin without a code change."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=60)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("safe-cell type")
        verbose_name_plural = _("safe-cell types")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Criterion(models.Model):
    """One line of a type's assessment checklist, scored from 0 to ``max_score``."""

    cell_type = models.ForeignKey(
        CellType, verbose_name=_("type"), on_delete=models.CASCADE, related_name="criteria"
    )
    name = models.CharField(_("criterion"), max_length=150)
    max_score = models.PositiveSmallIntegerField(
        _("maximum score"), default=10, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("criterion")
        verbose_name_plural = _("criteria")
        ordering = ["cell_type", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["cell_type", "name"], name="criterion_unique_name")]

    def __str__(self) -> str:
        return self.name


class SafetyCell(models.Model):
    """A "safe cell" (平安细胞): a family, village/community, campus, housing estate or
    another type, working towards, or designated as, a demonstration site (示范点)."""

    name = models.CharField(_("name"), max_length=150)
    cell_type = models.ForeignKey(
        CellType, verbose_name=_("type"), on_delete=models.PROTECT, related_name="cells"
    )
    region = models.ForeignKey(
        "grids.Region",
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="safety_cells",
    )
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    is_demonstration_site = models.BooleanField(_("demonstration site"), default=False)
    designated_on = models.DateField(_("designated on"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="region__path")

    class Meta:
        verbose_name = _("safe cell")
        verbose_name_plural = _("safe cells")
        ordering = ["region__code", "name"]
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="safetycell_unique_name")]

    def __str__(self) -> str:
        return self.name

    def is_current_demonstration_site(self, on=None) -> bool:
        on = on or timezone.localdate()
        return bool(
            self.is_demonstration_site
            and self.designated_on
            and self.designated_on <= on
            and (self.valid_until is None or on <= self.valid_until)
        )


class Evaluation(models.Model):
    """One assessment of a cell against its type's checklist: who, when, a score per criterion."""

    cell = models.ForeignKey(
        SafetyCell, verbose_name=_("safe cell"), on_delete=models.CASCADE, related_name="evaluations"
    )
    evaluator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("evaluator"), on_delete=models.PROTECT, related_name="+"
    )
    evaluated_on = models.DateField(_("evaluated on"), default=timezone.localdate)
    notes = models.TextField(_("notes"), blank=True)
    total_score = models.PositiveSmallIntegerField(_("total score"), default=0, editable=False)
    max_total = models.PositiveSmallIntegerField(_("maximum total"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="cell__region__path")
    history = AuditedHistory(scope_rule=ScopeRule(region_path="cell__region__path"))

    class Meta:
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        ordering = ["-evaluated_on", "-id"]

    def __str__(self) -> str:
        return f"{self.cell} {self.evaluated_on}"

    @property
    def percentage(self) -> float | None:
        return round(100 * self.total_score / self.max_total, 1) if self.max_total else None


class EvaluationScore(models.Model):
    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(Criterion, verbose_name=_("criterion"), on_delete=models.PROTECT)
    score = models.PositiveSmallIntegerField(_("score"))

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        ordering = ["criterion__position", "criterion_id"]
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "criterion"], name="evaluationscore_once"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {self.score}"


class EvaluationPhoto(models.Model):
    """Evidence photo, kept in the configured Django storage (MEDIA_ROOT or an object store)
    under a random name with the extension of ``content_type``, which the bytes decided
    (anshun.uploads); served only by ``safety_cells:evaluation-photo`` within the evaluation's scope."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("photo"), upload_to=RandomName("safety-evaluations"), max_length=200)
    content_type = models.CharField(_("type"), max_length=80, default="application/octet-stream")
    original_name = models.CharField(
        _("original file name"),
        max_length=150,
        blank=True,
        help_text=_(
            "As the phone or client named it; shown to people, never used to store or serve the file."
        ),
    )
    caption = models.CharField(_("caption"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("evidence photo")
        verbose_name_plural = _("evidence photos")

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("safety_cells:evaluation-photo", args=[self.evaluation_id, self.pk])

    def __str__(self) -> str:
        return self.caption or self.original_name or f"{self._meta.verbose_name} #{self.pk}"


class OnSiteMeeting(models.Model):
    """The twice-yearly on-site meeting (现场会) held at demonstration sites since 2016."""

    title = models.CharField(_("title"), max_length=150)
    held_on = models.DateField(_("held on"))
    host_region = models.ForeignKey(
        "grids.Region", verbose_name=_("hosted by"), on_delete=models.PROTECT, related_name="+"
    )
    sites_visited = models.ManyToManyField(SafetyCell, verbose_name=_("sites visited"), related_name="+")
    conclusions = models.TextField(_("conclusions"))

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="host_region__path")

    class Meta:
        verbose_name = _("on-site meeting")
        verbose_name_plural = _("on-site meetings")
        ordering = ["-held_on"]

    def __str__(self) -> str:
        return self.title


# --- "1+4" prevention -------------------------------------------------------------------------


class PreventionUnit(models.Model):
    """A unit of one of the four working levels of "1+4" prevention.

    At village level a village has a security committee (治保会) and a patrol team
    (巡防队); the joint-defence coverage rate counts villages that have both.
    """

    class Level(models.TextChoices):
        CITY = "city", _("City patrol, blocking and dispatch command")
        COUNTY = "county", _("County armed street patrol")
        TOWNSHIP = "township", _("Township security patrol")
        VILLAGE = "village", _("Village / community joint defence")

    class Kind(models.TextChoices):
        COMMAND = "command", _("Command")
        PATROL_TEAM = "patrol_team", _("Patrol team")
        SECURITY_COMMITTEE = "security_committee", _("Security committee")

    name = models.CharField(_("name"), max_length=120)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.PATROL_TEAM)
    region = models.ForeignKey(
        "grids.Region", verbose_name=_("region"), on_delete=models.PROTECT, related_name="prevention_units"
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="region__path")

    class Meta:
        verbose_name = _("prevention unit")
        verbose_name_plural = _("prevention units")
        ordering = ["region__code", "level", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "kind", "name"], name="preventionunit_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class UnitMember(models.Model):
    unit = models.ForeignKey(PreventionUnit, on_delete=models.CASCADE, related_name="members")
    name = models.CharField(_("name"), max_length=60)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    duty = models.CharField(_("duty"), max_length=60, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["unit", "name"]

    def __str__(self) -> str:
        return self.name


class Shift(models.Model):
    unit = models.ForeignKey(PreventionUnit, on_delete=models.CASCADE, related_name="shifts")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    members = models.ManyToManyField(UnitMember, verbose_name=_("members on duty"), blank=True)

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M}"


class PatrolLog(models.Model):
    """One patrol walked or driven: the route as a line, its start and end, what was seen,
    and the incidents raised from it."""

    client_uuid = models.UUIDField(
        _("client id"), unique=True, default=uuid.uuid4, help_text=_("Idempotency key for retries.")
    )
    unit = models.ForeignKey(
        PreventionUnit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="patrols"
    )
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), db_index=True)
    route = models.LineStringField(_("route"), srid=4326, spatial_index=True)
    observations = models.TextField(_("observations"), blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("logged by"), on_delete=models.PROTECT, related_name="+"
    )
    incidents = models.ManyToManyField(
        "incidents.Incident", verbose_name=_("incidents raised"), blank=True, related_name="patrols"
    )

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="unit__region__path")

    class Meta:
        verbose_name = _("patrol log")
        verbose_name_plural = _("patrol logs")
        ordering = ["-ended_at", "-id"]
        indexes = [models.Index(fields=["unit", "ended_at"], name="patrol_unit_ended")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ended_at__gt=models.F("started_at")), name="patrol_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.started_at:%Y-%m-%d}"


class Camera(models.Model):
    """A Skynet (天网) camera point. The location is a geography, so "within R metres"
    is an indexed ST_DWithin in metres with no projection to choose."""

    class Status(models.TextChoices):
        ONLINE = "online", _("Online")
        OFFLINE = "offline", _("Offline")
        BUILDING = "building", _("Under construction")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120, blank=True)
    phase = models.PositiveSmallIntegerField(
        _("Skynet phase"), validators=[MinValueValidator(1), MaxValueValidator(4)]
    )
    location = models.PointField(_("location"), geography=True, srid=4326, spatial_index=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ONLINE)
    owner = models.CharField(_("owner"), max_length=120)
    village = models.ForeignKey(
        "grids.Region", verbose_name=_("village / community"), on_delete=models.PROTECT, related_name="+"
    )
    grid = models.ForeignKey(
        "grids.Grid",
        verbose_name=_("grid"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cameras",
    )

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="village__path")

    class Meta:
        verbose_name = _("Skynet camera")
        verbose_name_plural = _("Skynet cameras")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class DeviceDistribution(models.Model):
    """A batch of small technical-prevention devices handed out in a community."""

    class Device(models.TextChoices):
        FISHING_ALARM = "fishing_alarm", _("Fishing alarm")
        SUPER_B_LOCK = "super_b_lock", _("Super-B anti-theft lock")

    village = models.ForeignKey(
        "grids.Region", verbose_name=_("village / community"), on_delete=models.PROTECT, related_name="+"
    )
    device = models.CharField(_("device"), max_length=16, choices=Device.choices)
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    distributed_on = models.DateField(_("distributed on"), default=timezone.localdate)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="village__path")

    class Meta:
        verbose_name = _("device distribution")
        verbose_name_plural = _("device distributions")
        ordering = ["-distributed_on", "id"]

    # --- precomputed coverage (refreshed by safety_cells.coverage.refresh_coverage) -----------------

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {self.device} × {self.quantity}"


class CoverageRefresh(models.Model):
    """One refresh of the coverage tables: the coverage page shows the latest as "as of"."""

    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), db_index=True)
    villages = models.PositiveIntegerField(_("villages"), default=0)
    grids = models.PositiveIntegerField(_("grids"), default=0)
    reason = models.CharField(_("reason"), max_length=60, blank=True)
    # What the next run needs to go on incrementally: was this run full, the highest incident id
    # it saw, and a fingerprint of the cameras (a change of cameras means a full run).
    full = models.BooleanField(default=True)
    max_incident_id = models.BigIntegerField(default=0)
    cameras = models.CharField(max_length=80, blank=True)

    class Meta:
        verbose_name = _("coverage refresh")
        verbose_name_plural = _("coverage refreshes")
        ordering = ["-finished_at"]

    def __str__(self) -> str:
        return f"{self.finished_at:%Y-%m-%d %H:%M}"


class VillageCoverage(models.Model):
    """Per village: joint defence (security committee, patrol team), the team's last patrol,
    and the small devices handed out there."""

    village = models.OneToOneField(
        "grids.Region", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    township = models.ForeignKey(
        "grids.Region", on_delete=models.CASCADE, null=True, related_name="+", db_index=False
    )
    has_committee = models.BooleanField(default=False)
    has_patrol_team = models.BooleanField(default=False)
    last_patrol_at = models.DateTimeField(null=True)
    fishing_alarms = models.PositiveIntegerField(default=0)
    super_b_locks = models.PositiveIntegerField(default=0)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="village__path")

    class Meta:
        verbose_name = _("village coverage")
        verbose_name_plural = _("village coverage")
        indexes = [models.Index(fields=["township"], name="village_cov_township")]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {self.village_id}"


class GridCoverage(models.Model):
    """Per grid: Skynet cameras (all, online) and the last patrol whose route crossed it."""

    grid = models.OneToOneField("grids.Grid", on_delete=models.CASCADE, primary_key=True, related_name="+")
    camera_count = models.PositiveIntegerField(default=0)
    cameras_online = models.PositiveIntegerField(default=0)
    last_patrol_at = models.DateTimeField(null=True)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="grid__village__path", grid_office="grid__office_id")

    class Meta:
        verbose_name = _("grid coverage")
        verbose_name_plural = _("grid coverage")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {self.grid_id}"


class GridIncidentDay(models.Model):
    """Incidents reported in a grid on one day (Asia/Shanghai), for the last COVERAGE_DAYS days."""

    grid = models.ForeignKey("grids.Grid", on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    incidents = models.PositiveIntegerField()

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="grid__village__path", grid_office="grid__office_id")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["grid", "day"], name="grid_incident_day_unique")]
        indexes = [models.Index(fields=["day", "grid"], name="grid_incident_day_day")]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {self.grid_id} · {self.day:%Y-%m-%d}"


class UnwatchedIncident(models.Model):
    """An incident of the last COVERAGE_DAYS days with no Skynet camera within 300 m of it."""

    incident = models.OneToOneField(
        "incidents.Incident", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    reported_at = models.DateTimeField(db_index=True)

    objects = ScopedQuerySet.as_manager()
    # Exactly the incident's own rule (incidents.models.Incident): who may see the incident.
    scope_rule = ScopeRule(region_path="incident__grid__village__path", grid_office="incident__offices")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · #{self.incident_id}"
