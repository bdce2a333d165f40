"""Public-opinion surveys (安全感 / 满意度) and the rollups officials are judged on.

Raw responses are the only source of a rate: ``Cell`` and ``RegionMetric`` are derived
from their answers by the rollup (``surveys.services.rollup``), rebuilt by a full run
and moved by the pending ``AnswerDelta`` rows in an incremental one, so every published
figure can be traced back to the answers behind it.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from anshun.scoping import ScopedQuerySet, ScopeRule
from audit.history import AuditedHistory


class Metric(models.TextChoices):
    SECURITY_SENSE = "security_sense", _("Security-sense rate")
    SATISFACTION = "satisfaction", _("Satisfaction rate")


class Wave(models.Model):
    """One round of fieldwork, e.g. the 2017 annual public survey."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    year = models.PositiveSmallIntegerField(_("year"))
    starts_on = models.DateField(_("fieldwork starts"))
    ends_on = models.DateField(_("fieldwork ends"))

    class Meta:
        verbose_name = _("survey wave")
        verbose_name_plural = _("survey waves")
        ordering = ["starts_on", "code"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("Fieldwork cannot end before it starts.")})


class Item(models.Model):
    """A questionnaire item with its answer scale (answers are stored as positions in ``scale``)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices, unique=True)
    question = models.CharField(_("question"), max_length=200)
    scale = ArrayField(models.CharField(max_length=20), verbose_name=_("answer scale"))
    cant_say = models.PositiveSmallIntegerField(
        _("'can't say' answer"),
        null=True,
        blank=True,
        help_text=_("Position of the 'can't say' answer in the scale, if the scale has one."),
    )

    class Meta:
        verbose_name = _("questionnaire item")
        verbose_name_plural = _("questionnaire items")
        ordering = ["metric"]

    def __str__(self) -> str:
        return self.question

    def clean(self):
        if self.cant_say is not None and self.cant_say >= len(self.scale or []):
            raise ValidationError({"cant_say": _("Not a position in the scale.")})


class CountingRule(models.Model):
    """Which answers count toward a wave's rate for one item, and whether "can't say"
    stays in the denominator. Practice differs between surveys, so it is set per wave."""

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="rules")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="rules")
    counted = ArrayField(
        models.PositiveSmallIntegerField(),
        verbose_name=_("answers that count"),
        help_text=_("Positions in the item's scale, e.g. 0,1,2 for the top three levels."),
    )
    cant_say_in_denominator = models.BooleanField(_("'can't say' stays in the denominator"), default=True)

    # City-wide settings: their changes are placed at the root of the tree.
    history = AuditedHistory(scope_rule=ScopeRule(region_path="scope_path"), city_wide=True)

    class Meta:
        verbose_name = _("counting rule")
        verbose_name_plural = _("counting rules")
        constraints = [models.UniqueConstraint(fields=["wave", "item"], name="surveys_rule_once_per_item")]

    def __str__(self) -> str:
        return f"{self.wave} · {self.item.code}"

    def clean(self):
        if self.item_id is None or not self.counted:
            return
        if any(c >= len(self.item.scale) for c in self.counted):
            raise ValidationError({"counted": _("Every counted answer must be a position in the scale.")})
        if self.item.cant_say is not None and self.item.cant_say in self.counted:
            raise ValidationError({"counted": _("'Can't say' cannot count toward the rate.")})


class Response(models.Model):
    """One respondent's questionnaire: where they live (community, and grid when known)."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone (CATI)")
        DOOR = "door", _("Door-to-door")
        ONLINE = "online", pgettext_lazy("survey channel", "Online")

    client_uuid = models.UUIDField(_("client id"), unique=True, default=uuid.uuid4)
    wave = models.ForeignKey(Wave, on_delete=models.PROTECT, related_name="responses")
    village = models.ForeignKey(
        "grids.Region", verbose_name=_("community / village"), on_delete=models.PROTECT, related_name="+"
    )
    grid = models.ForeignKey(
        "grids.Grid",
        verbose_name=_("grid"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    grid_office = models.ForeignKey(
        "grids.GridOffice",
        verbose_name=_("grid office"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    answered_on = models.DateField(_("answered on"))
    created_at = models.DateTimeField(_("received at"), default=timezone.now)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="village__path", grid_office="grid_office_id")

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        ordering = ["-answered_on", "-id"]

    def __str__(self) -> str:
        return f"{self.wave} #{self.pk}"


class Answer(models.Model):
    """One answer of a response. The response's wave, place and month are copied here
    (responses never move), so the rollup groups one table without joins."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+", db_index=False)
    choice = models.PositiveSmallIntegerField(_("answer"))
    wave = models.ForeignKey(Wave, on_delete=models.PROTECT, related_name="+", db_index=False)
    village = models.ForeignKey("grids.Region", on_delete=models.PROTECT, related_name="+", db_index=False)
    grid_office = models.ForeignKey(
        "grids.GridOffice", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    month = models.DateField(_("month"))

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["response", "item"], name="surveys_one_answer_per_item")
        ]
        # Covers the incremental rollup's recount of a community (an index-only scan).
        indexes = [
            models.Index(
                fields=["wave", "village"],
                include=["item", "grid_office", "month", "choice"],
                name="surveys_answer_rollup",
            )
        ]

    def __str__(self) -> str:
        return f"{self.response_id}/{self.item_id}: {self.choice}"


def derived_key(to, *, related_name: str = "+", null: bool = False, db_index: bool = False):
    """A key of a derived row (``Cell``, ``RegionMetric``, ``AnswerDelta``): derived from
    ``Answer``, whose keys are constrained; no database constraint, and an index only where asked."""
    return models.ForeignKey(
        to,
        on_delete=models.CASCADE,
        null=null,
        blank=null,
        related_name=related_name,
        db_constraint=False,
        db_index=db_index,
    )


class CountKey(models.Model):
    """What an answer count is kept per: wave, item, village, grid office, month and answer."""

    wave = derived_key(Wave)
    item = derived_key(Item)
    village = derived_key("grids.Region")
    grid_office = derived_key("grids.GridOffice", null=True)
    month = models.DateField()
    choice = models.PositiveSmallIntegerField()

    class Meta:
        abstract = True


class Cell(CountKey):
    """Answer counts per wave, item, village, grid office, month and answer: the rollup's base.

    Derived rows: a full run rebuilds them from ``Answer`` (whose keys are constrained), an
    incremental run adds the pending ``AnswerDelta`` rows to them. The foreign keys carry no
    database constraint of their own, so a full rollup writes them at the speed of a plain
    GROUP BY; the one unique index is the key an incremental run adds its deltas on.
    """

    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["wave", "village", "item", "grid_office", "month", "choice"],
                name="surveys_cell_unique",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.wave_id}/{self.village_id}/{self.month}: {self.choice}×{self.count}"


class AnswerDelta(CountKey):
    """A change to the answer counts that no rollup has applied yet: ``+k`` for answers added
    under a key, ``-k`` for answers removed from it (a corrected answer is one of each).

    Written by statement-level triggers on ``Answer`` (migration 0002), one row per key and
    statement, so every way answers change (intake, the admin, a cascading delete, SQL) is
    counted. An incremental rollup deletes the rows it applies in the transaction that
    publishes the result: applied exactly once, or (if the run dies) left for the next run.
    """

    delta = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.wave_id}/{self.village_id}/{self.month}: {self.choice}{self.delta:+d}"


class Level(models.TextChoices):
    CITY = "city", _("City")
    COUNTY = "county", _("County / district")
    TOWNSHIP = "township", _("Township / sub-district")
    VILLAGE = "village", _("Village / community")
    GRID_OFFICE = "grid_office", _("Grid office")


class RegionMetric(models.Model):
    """A rolled-up rate for one place, wave and item, over the whole wave (``month`` empty)
    or one month. Grid-office rows are placed at the office's seat for scoping.

    Derived like ``Cell``: no database constraints on the keys; the unique constraint and
    the (region, wave) index serve every read and the run's deletes.
    """

    wave = derived_key(Wave, related_name="metrics")
    item = derived_key(Item)
    level = models.CharField(_("level"), max_length=12, choices=Level.choices)
    region = derived_key("grids.Region")
    grid_office = derived_key("grids.GridOffice", null=True, db_index=True)
    month = models.DateField(_("month"), null=True, blank=True)
    n = models.PositiveIntegerField(_("responses"))
    counts = models.JSONField(_("count per answer"), default=dict)
    numerator = models.PositiveIntegerField(_("counted answers"))
    denominator = models.PositiveIntegerField(_("denominator"))
    rate = models.FloatField(_("rate (%)"), null=True)
    ci_low = models.FloatField(_("95% CI low (%)"), null=True)
    ci_high = models.FloatField(_("95% CI high (%)"), null=True)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="region__path", grid_office="grid_office_id")

    class Meta:
        verbose_name = _("survey metric")
        verbose_name_plural = _("survey metrics")
        ordering = ["wave", "item", "level", "region", "month"]
        constraints = [
            models.UniqueConstraint(
                fields=["wave", "item", "level", "region", "grid_office", "month"],
                name="surveys_metric_unique",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["region", "wave"])]

    def __str__(self) -> str:
        return f"{self.wave_id} {self.level} {self.region_id} {self.month or ''}: {self.rate}"


class RollupRun(models.Model):
    """One rollup run, for the admin's progress view. The figures themselves are only
    ever swapped in by the run's single transaction."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        ABANDONED = "abandoned", _("Abandoned (worker lost; redone by the next run)")

    full = models.BooleanField(_("full recompute"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    villages = models.PositiveIntegerField(_("villages recomputed"), default=0)
    rows = models.PositiveIntegerField(_("metric rows written"), default=0)
    requested_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rollup run")
        verbose_name_plural = _("rollup runs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_status_display()}"


class EconomicIndicator(models.Model):
    """A published economic indicator (growth over the previous year, in %), entered as data.

    Shown beside the safety figures ("same planning, same assessment"); never computed here.
    """

    class Kind(models.TextChoices):
        GDP = "gdp", _("GDP growth")
        FIXED_ASSET_INVESTMENT = "fai", _("Fixed-asset investment growth")
        INDUSTRIAL_VALUE_ADDED = "iva", _("Industrial value added growth")
        RETAIL_SALES = "retail", _("Retail sales growth")

    region = models.ForeignKey(
        "grids.Region",
        verbose_name=_("city or county"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level__in": ["city", "county"]},
    )
    year = models.PositiveSmallIntegerField(_("year"))
    kind = models.CharField(_("indicator"), max_length=8, choices=Kind.choices)
    growth_pct = models.DecimalField(_("growth (%)"), max_digits=6, decimal_places=2)
    source = models.CharField(_("source"), max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="region__path")

    class Meta:
        verbose_name = _("economic indicator")
        verbose_name_plural = _("economic indicators")
        ordering = ["region__code", "year", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["region", "year", "kind"], name="surveys_indicator_once")
        ]

    def __str__(self) -> str:
        return f"{self.region} {self.year} {self.get_kind_display()}"
