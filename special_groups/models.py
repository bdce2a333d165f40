from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role, SpecialProject
from anshun.scoping import NOTHING, ScopedQuerySet, ScopeRule


def _own_project_only(actor) -> Q:
    """Case officers see only their own project's facilities; other roles none of them."""
    if getattr(actor, "role", None) == Role.CASE_OFFICER and actor.special_project:
        return Q(project=actor.special_project)
    return NOTHING


class ServiceFacility(models.Model):
    """A facility that serves one of the six projects: a special school (育新), a
    rescue and protection centre or rural kindergarten (雨露), a specialist
    psychiatric clinic (安宁), a community drug-rehabilitation station (阳光)...

    Facilities hold no personal data; people and enrolments arrive with the
    special-populations issue and are encrypted at rest.
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

    objects = ScopedQuerySet.as_manager()
    scope_rule = ScopeRule(region_path="region__path", also_require=_own_project_only)

    class Meta:
        verbose_name = _("service facility")
        verbose_name_plural = _("service facilities")
        ordering = ["project", "region__code", "name"]

    def __str__(self) -> str:
        return self.name
