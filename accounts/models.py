from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.roles import ROLE_JURISDICTION, JurisdictionKind, Role, SpecialProject, role_can


class User(AbstractUser):
    """A platform user: one role, one jurisdiction (a region or a grid office)."""

    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.GRID_WORKER)
    region = models.ForeignKey(
        "grids.Region",
        verbose_name=_("jurisdiction region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    grid_office = models.ForeignKey(
        "grids.GridOffice",
        verbose_name=_("grid office"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
    )
    special_project = models.CharField(
        _("special-population project"),
        max_length=16,
        choices=SpecialProject.choices,
        blank=True,
        help_text=_("Required for case officers: the one project whose caseload they serve."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def is_platform_admin(self) -> bool:
        return self.is_superuser or self.role == Role.ADMIN

    def can(self, capability: str) -> bool:
        return self.is_active and (self.is_superuser or role_can(self.role, capability))

    def clean(self) -> None:
        super().clean()
        if self.is_superuser:
            return
        kind, levels = ROLE_JURISDICTION[Role(self.role)]
        errors: dict[str, str] = {}
        if kind == JurisdictionKind.GRID_OFFICE:
            if self.grid_office_id is None:
                errors["grid_office"] = _("This role works in a grid office; choose one.")
            if self.region_id is not None:
                errors["region"] = _("This role is scoped by its grid office, not a region.")
        elif kind == JurisdictionKind.REGION:
            if self.region_id is None:
                errors["region"] = _("This role needs a jurisdiction region.")
            elif self.region.level not in levels:
                errors["region"] = _("This role works at the %(levels)s level.") % {
                    "levels": ", ".join(levels)
                }
            if self.grid_office_id is not None:
                errors["grid_office"] = _("Only grid-office staff have a grid office.")
        if self.role == Role.CASE_OFFICER and not self.special_project:
            errors["special_project"] = _("A case officer serves one of the six projects.")
        if self.role != Role.CASE_OFFICER and self.special_project:
            errors["special_project"] = _("Only case officers serve a special-population project.")
        if errors:
            raise ValidationError(errors)
