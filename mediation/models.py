from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from anshun.scoping import ScopedQuerySet, ScopeRule


class MediationCommittee(models.Model):
    """A people's mediation committee (人民调解委员会).

    Professional committees (行业性、专业性) serve one kind of dispute across a
    jurisdiction; township and village committees serve everyone in their place.
    """

    class Kind(models.TextChoices):
        PROFESSIONAL = "professional", _("Professional committee")
        TOWNSHIP = "township", _("Township committee")
        VILLAGE = "village", _("Village / community committee")

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    dispute_type = models.CharField(
        _("dispute type served"),
        max_length=60,
        blank=True,
        help_text=_("For professional committees: the one kind of dispute they serve."),
    )
    region = models.ForeignKey(
        "grids.Region",
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="mediation_committees",
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="region__path")

    class Meta:
        verbose_name = _("mediation committee")
        verbose_name_plural = _("mediation committees")
        ordering = ["region__code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="committee_unique_name_in_region")
        ]

    def __str__(self) -> str:
        return self.name
