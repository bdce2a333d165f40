from django.contrib import admin

from incidents.models import Incident, IncidentCategory, IncidentEvent


@admin.register(IncidentCategory)
class IncidentCategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "duty", "handling_limit_hours", "is_active")
    list_filter = ("duty", "is_active")
    search_fields = ("code", "name")


class IncidentEventInline(admin.TabularInline):
    model = IncidentEvent
    extra = 0
    readonly_fields = ("actor", "at", "from_status", "to_status", "note")
    can_delete = False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("pk", "category", "status", "priority", "grid", "reported_at", "due_at")
    list_filter = ("status", "priority", "source", "category__duty")
    raw_id_fields = ("grid", "reporter", "category")
    list_select_related = ("category", "grid")
    inlines = [IncidentEventInline]
