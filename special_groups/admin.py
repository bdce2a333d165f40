from django.contrib import admin

from special_groups.models import ServiceFacility


@admin.register(ServiceFacility)
class ServiceFacilityAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "kind", "region", "opened_on")
    list_filter = ("project", "kind")
    search_fields = ("name",)
    raw_id_fields = ("region",)
    list_select_related = ("region",)
