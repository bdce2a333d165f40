"""The basic registry in the admin: shown, never written here (every write is a command in
``registry.services``, with its policy rule and, for residents, its purpose-logged reveal).

Personal fields (encrypted at rest) are left out of every admin page or shown masked, as the
registry's own pages show them: a full name, ID number or phone is shown only through
``resident_reveal``, which logs who asked and why; the admin would be a reveal without a trail.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from anshun.admin_access import ReadOnlyAdminMixin
from registry.models import (
    Address,
    House,
    HouseholdVisit,
    RegistryImport,
    Resident,
    RevealRecord,
    Tenancy,
    Unit,
)
from special_groups.crypto import mask_id_number, mask_name, mask_phone


class _ShownOnly(ReadOnlyAdminMixin, admin.ModelAdmin):
    """No add, change or delete here: the rows are written by the registry's commands only."""


@admin.register(Address)
class AddressAdmin(_ShownOnly):
    list_display = ("code", "full_name", "level", "village", "grid")
    list_select_related = ("village", "grid")
    search_fields = ("code",)
    exclude = ("location",)


@admin.register(House)
class HouseAdmin(_ShownOnly):
    list_display = ("address", "use", "village", "grid", "last_visited_on")
    list_select_related = ("address", "village", "grid")
    list_filter = ("use",)
    exclude = ("owner_name", "owner")


@admin.register(Resident)
class ResidentAdmin(_ShownOnly):
    list_display = ("pk", "masked_name", "masked_id_number", "kind", "village", "moved_out_on")
    list_select_related = ("village",)
    list_filter = ("kind",)
    fields = ("masked_name", "masked_id_number", "masked_phone", "kind", "address", "house", "village",
              "moved_in_on", "moved_out_on", "is_demo", "created_at")  # fmt: skip
    readonly_fields = fields

    @admin.display(description=_("name (masked)"))
    def masked_name(self, obj):
        return mask_name(obj.name)

    @admin.display(description=_("ID number (masked)"))
    def masked_id_number(self, obj):
        return mask_id_number(obj.id_number)

    @admin.display(description=_("phone (masked)"))
    def masked_phone(self, obj):
        return mask_phone(obj.phone)


@admin.register(Tenancy)
class TenancyAdmin(_ShownOnly):
    list_display = ("house", "tenant_id", "starts_on", "ends_on")
    list_select_related = ("house__address",)
    exclude = ("tenant",)


@admin.register(Unit)
class UnitAdmin(_ShownOnly):
    list_display = ("name", "kind", "village", "grid", "last_visited_on")
    list_select_related = ("village", "grid")
    list_filter = ("kind",)
    exclude = ("contact_name", "contact_phone")


@admin.register(HouseholdVisit)
class HouseholdVisitAdmin(_ShownOnly):
    list_display = ("pk", "visited_on", "house", "unit", "village", "by")
    list_select_related = ("house__address", "unit", "village", "by")
    exclude = ("note", "request_digest")


@admin.register(RevealRecord)
class RevealRecordAdmin(_ShownOnly):
    list_display = ("at", "actor", "resident_id", "village", "purpose")
    list_select_related = ("actor", "village")
    exclude = ("resident",)


@admin.register(RegistryImport)
class RegistryImportAdmin(_ShownOnly):
    list_display = ("pk", "kind", "status", "requester", "region", "rows_total", "created", "created_at")
    list_select_related = ("requester", "region")
    exclude = ("rows", "errors")  # the uploaded rows hold residents' data as typed
