from django.contrib import admin

from mediation.models import MediationCommittee


@admin.register(MediationCommittee)
class MediationCommitteeAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "dispute_type", "region", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "dispute_type")
    raw_id_fields = ("region",)
    list_select_related = ("region",)
