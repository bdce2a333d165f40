from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from anshun.scoping import ScopedQuerySet, ScopeRule


class SafetyCell(models.Model):
    """A "safe cell" (平安细胞): a family, village/community, campus or housing
    estate working towards, or designated as, a demonstration site (示范点)."""

    class CellType(models.TextChoices):
        FAMILY = "family", _("Safe family")
        VILLAGE = "village", _("Safe village / community")
        CAMPUS = "campus", _("Safe campus")
        ESTATE = "estate", _("Safe housing estate")

    name = models.CharField(_("name"), max_length=150)
    cell_type = models.CharField(_("type"), max_length=16, choices=CellType.choices)
    region = models.ForeignKey(
        "grids.Region",
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="safety_cells",
    )
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    is_demonstration_site = models.BooleanField(_("demonstration site"), default=False)
    designated_on = models.DateField(_("designated on"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="region__path")

    class Meta:
        verbose_name = _("safe cell")
        verbose_name_plural = _("safe cells")
        ordering = ["region__code", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.designated_on and self.valid_until and self.valid_until < self.designated_on:
            raise ValidationError({"valid_until": _("A designation cannot end before it starts.")})
