from django.contrib.gis.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anshun.scoping import ScopedQuerySet, ScopeRule


class Region(models.Model):
    """A node of the jurisdiction tree: city, county/district or management zone,
    township/sub-district, village/community.

    Codes are the NBS statistical codes (4, 6, 9, 12 digits); the two management
    zones, which have no statistical code, use 5204 + 7x (see docs/architecture.md).
    """

    class Level(models.TextChoices):
        CITY = "city", _("City")
        COUNTY = "county", _("County / district")
        TOWNSHIP = "township", _("Township / sub-district")
        VILLAGE = "village", _("Village / community")

    class Kind(models.TextChoices):
        STATUTORY = "statutory", _("Statutory division")
        MANAGEMENT_ZONE = "management_zone", _("Management zone")

    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.STATUTORY)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    # Unique CharFields get a varchar_pattern_ops index from Django, which serves
    # the prefix matches that scoping runs on every request.
    path = models.CharField(_("path"), max_length=80, unique=True, editable=False)
    is_community = models.BooleanField(
        _("urban community"),
        default=False,
        help_text=_("A residential community (社区) rather than a rural village (村)."),
    )
    boundary = models.MultiPolygonField(_("boundary"), srid=4326, null=True, blank=True)
    boundary_is_demo = models.BooleanField(
        _("demo boundary"),
        default=False,
        help_text=_("Generated for demonstration; no public source has this boundary."),
    )

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="path")

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]
        indexes = [
            models.Index(fields=["level", "code"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def short_name(self) -> str:
        for suffix in ("居民委员会", "村民委员会"):
            if self.name.endswith(suffix):
                return self.name[: -len(suffix)]
        return self.name


class GridOffice(models.Model):
    """A grid office (网格室), seated in one village or community and responsible
    for one or more grids, possibly across several neighbouring villages."""

    code = models.CharField(_("code"), max_length=14, unique=True)
    name = models.CharField(_("name"), max_length=100)
    seat = models.ForeignKey(
        Region,
        verbose_name=_("seated in"),
        on_delete=models.PROTECT,
        related_name="grid_offices",
        limit_choices_to={"level": Region.Level.VILLAGE},
    )
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="seat__path", grid_office="pk")

    class Meta:
        verbose_name = _("grid office")
        verbose_name_plural = _("grid offices")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Grid(models.Model):
    """The smallest management cell: a polygon inside exactly one village or community.

    The grid code is the 12-digit village/community code plus a 3-digit sequence.
    """

    code = models.CharField(_("grid code"), max_length=15, unique=True)
    name = models.CharField(_("name"), max_length=100)
    village = models.ForeignKey(
        Region,
        verbose_name=_("village / community"),
        on_delete=models.PROTECT,
        related_name="grids",
        limit_choices_to={"level": Region.Level.VILLAGE},
    )
    office = models.ForeignKey(
        GridOffice, verbose_name=_("grid office"), on_delete=models.PROTECT, related_name="grids"
    )
    geometry = models.MultiPolygonField(_("geometry"), srid=4326, spatial_index=True)
    is_demo = models.BooleanField(
        _("demo geometry"),
        default=False,
        help_text=_("Generated for demonstration; replace it with `import_grids`."),
    )

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="village__path", grid_office="office_id")

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class GridImport(models.Model):
    """One upload of real grid boundaries, validated and applied by a Celery task.

    The row records progress so the page can show it, and the full error report
    so a city's GIS staff can fix every bad feature in one pass.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Imported")
        FAILED = "failed", _("Rejected")

    source = models.FileField(_("GeoJSON file"), upload_to="grid-imports/%Y/%m/")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    feature_count = models.PositiveIntegerField(_("features"), default=0)
    imported_count = models.PositiveIntegerField(_("imported"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    moved = models.JSONField(
        _("rows moved"),
        default=dict,
        blank=True,
        help_text=_(
            "Per kind of row placed in a grid: how many were placed by their point or by their village."
        ),
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("grid import")
        verbose_name_plural = _("grid imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.source.name} ({self.get_status_display()})"
