from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from safety_cells.models import SafetyCell


@admin.register(SafetyCell)
class SafetyCellAdmin(LeafletGeoAdmin):
    list_display = ("name", "cell_type", "region", "is_demonstration_site", "valid_until")
    list_filter = ("cell_type", "is_demonstration_site")
    search_fields = ("name",)
    raw_id_fields = ("region",)
    list_select_related = ("region",)
