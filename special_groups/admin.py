"""The Django admin of the six projects: never a side door around the services.

Persons, enrolments, guardians, visits, tasks, payments and the access trail are not in the
admin at all: every one of their writes is a command of ``special_groups.policy`` (case
officers only), and their personal data is read only through the logged record pages.
Facilities hold no personal data and have no write service; administrators read them here,
and nothing can be added, changed or deleted through the admin.
"""

from django.contrib import admin

from special_groups.models import ServiceFacility


@admin.register(ServiceFacility)
class ServiceFacilityAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "kind", "region", "opened_on", "investment", "floor_area", "is_demo")
    list_filter = ("project", "kind", "is_demo")
    search_fields = ("name",)
    raw_id_fields = ("region",)
    list_select_related = ("region",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
