"""Assessment (统计考评): yearly weights and targets per indicator, and the scores the Celery run
computes from the records into a rollup table the pages read.

- ``IndicatorTarget``: for a year and an indicator of ``assessment.indicators.INDICATORS``, its
  weight in the total and the target at which it scores full marks (admin-editable through the
  ``target_set`` command).
- ``Score``: one unit (a township, a grid office or a grid worker), one year, one indicator (or
  ``total``): the numerator and denominator counted from the records, the value, its score out
  of 100 and, on the total, the rank among the unit's peers (townships of one county, offices
  and workers of one township). Placed at a region for scoping, so a county official reads its
  townships' rows, a township official its offices' and workers' rows, nobody anything outside.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from anshun.scoping import ScopedQuerySet, ScopeRule


class Level(models.TextChoices):
    TOWNSHIP = "township", _("Township / sub-district")
    GRID_OFFICE = "grid_office", _("Grid office")
    GRID_WORKER = "grid_worker", _("Grid worker")


class IndicatorTarget(models.Model):
    year = models.PositiveSmallIntegerField(_("year"))
    indicator = models.CharField(pgettext_lazy("assessment", "indicator"), max_length=32)
    weight = models.DecimalField(pgettext_lazy("assessment", "weight"), max_digits=5, decimal_places=2)
    target = models.DecimalField(
        pgettext_lazy("assessment", "target"),
        max_digits=8,
        decimal_places=2,
        help_text=_("The value that scores full marks."),
    )

    class Meta:
        verbose_name = _("indicator target")
        verbose_name_plural = _("indicator targets")
        ordering = ["-year", "indicator"]
        constraints = [models.UniqueConstraint(fields=["year", "indicator"], name="assessment_target_once")]

    def __str__(self) -> str:
        return f"{self.year} {self.indicator}"


TOTAL = "total"


class Score(models.Model):
    year = models.PositiveSmallIntegerField(_("year"))
    level = models.CharField(pgettext_lazy("assessment", "level"), max_length=12, choices=Level.choices)
    unit_key = models.CharField(pgettext_lazy("assessment", "unit"), max_length=20)
    unit_name = models.CharField(_("name"), max_length=120)
    indicator = models.CharField(pgettext_lazy("assessment", "indicator"), max_length=32)
    # Where the unit sits: a township's own region, an office's or worker's seat village.
    region = models.ForeignKey("grids.Region", on_delete=models.CASCADE, related_name="+")
    grid_office = models.ForeignKey(
        "grids.GridOffice", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # The unit's peers are ranked together: the county of a township, the township of an office.
    peer_group = models.CharField(pgettext_lazy("assessment", "ranked among"), max_length=20)
    numerator = models.BigIntegerField(pgettext_lazy("assessment", "numerator"), default=0)
    denominator = models.BigIntegerField(pgettext_lazy("assessment", "denominator"), default=0)
    value = models.FloatField(pgettext_lazy("assessment", "value"), null=True)
    score = models.FloatField(pgettext_lazy("assessment", "score"), null=True)
    rank = models.PositiveIntegerField(pgettext_lazy("assessment", "rank"), null=True)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="region__path", grid_office="grid_office_id")

    class Meta:
        verbose_name = _("assessment score")
        verbose_name_plural = _("assessment scores")
        constraints = [
            models.UniqueConstraint(
                fields=["year", "level", "unit_key", "indicator"], name="assessment_score_once"
            )
        ]
        indexes = [models.Index(fields=["year", "level", "indicator", "peer_group"])]

    def __str__(self) -> str:
        return f"{self.year} {self.level} {self.unit_key} {self.indicator}: {self.score}"


class AssessmentRun(models.Model):
    """One computation of a year's scores (the page says when the figures were computed)."""

    year = models.PositiveSmallIntegerField(_("year"))
    finished_at = models.DateTimeField(_("finished at"), default=timezone.now)
    rows_written = models.PositiveIntegerField(pgettext_lazy("assessment", "rows written"), default=0)
    # What the inputs looked like (``assessment.services.inputs_fingerprint``): a run that finds
    # the same fingerprint as the year's last run has nothing to recount and reads no record.
    fingerprint = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("assessment run")
        verbose_name_plural = _("assessment runs")
        ordering = ["-finished_at"]

    def __str__(self) -> str:
        return f"{self.year} {self.finished_at:%Y-%m-%d %H:%M}"
