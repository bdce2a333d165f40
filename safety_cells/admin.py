from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from leaflet.admin import LeafletGeoAdmin

from safety_cells.models import (
    Camera,
    CellType,
    Criterion,
    DeviceDistribution,
    Evaluation,
    EvaluationPhoto,
    EvaluationScore,
    OnSiteMeeting,
    PatrolLog,
    PreventionUnit,
    SafetyCell,
    Shift,
    UnitMember,
)


class CriterionInline(admin.TabularInline):
    model = Criterion
    extra = 1


@admin.register(CellType)
class CellTypeAdmin(admin.ModelAdmin):
    """Types are editable here: the city adds hospitals, scenic areas... with their checklists."""

    list_display = ("code", "name", "is_active")
    inlines = [CriterionInline]


@admin.register(SafetyCell)
class SafetyCellAdmin(LeafletGeoAdmin):
    list_display = ("name", "cell_type", "region", "is_demonstration_site", "valid_until")
    list_filter = ("cell_type", "is_demonstration_site")
    search_fields = ("name",)
    raw_id_fields = ("region",)
    list_select_related = ("region", "cell_type")


class ScoreInline(admin.TabularInline):
    model = EvaluationScore
    extra = 0
    readonly_fields = ("criterion", "score")
    can_delete = False


class PhotoInline(admin.TabularInline):
    """Shown, not uploaded here: photos come in through the service, which checks their bytes."""

    model = EvaluationPhoto
    extra = 0
    fields = ("link", "original_name", "content_type", "caption")
    readonly_fields = ("link", "original_name", "content_type")

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("photo"))
    def link(self, photo):
        # The scoped file view, never a storage URL (nothing serves MEDIA_ROOT).
        return format_html('<a href="{}">{}</a>', photo.get_absolute_url(), photo.pk)


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    """Read-mostly: evaluations are recorded through the service, which checks every score."""

    list_display = ("cell", "evaluated_on", "total_score", "max_total", "evaluator")
    list_select_related = ("cell", "evaluator")
    readonly_fields = ("cell", "evaluator", "total_score", "max_total")
    inlines = [ScoreInline, PhotoInline]


@admin.register(OnSiteMeeting)
class OnSiteMeetingAdmin(admin.ModelAdmin):
    list_display = ("title", "held_on", "host_region")
    raw_id_fields = ("host_region",)
    filter_horizontal = ("sites_visited",)


class MemberInline(admin.TabularInline):
    model = UnitMember
    extra = 0
    raw_id_fields = ("user",)


@admin.register(PreventionUnit)
class PreventionUnitAdmin(admin.ModelAdmin):
    list_display = ("name", "level", "kind", "region", "is_active")
    list_filter = ("level", "kind", "is_active")
    search_fields = ("name", "region__code")
    raw_id_fields = ("region",)
    list_select_related = ("region",)
    inlines = [MemberInline]


@admin.register(Shift)
class ShiftAdmin(admin.ModelAdmin):
    list_display = ("unit", "starts_at", "ends_at")
    raw_id_fields = ("unit",)
    filter_horizontal = ("members",)


@admin.register(PatrolLog)
class PatrolLogAdmin(LeafletGeoAdmin):
    list_display = ("unit", "started_at", "ended_at", "logged_by")
    raw_id_fields = ("unit", "logged_by", "incidents")
    list_select_related = ("unit", "logged_by")


@admin.register(Camera)
class CameraAdmin(LeafletGeoAdmin):
    list_display = ("code", "phase", "status", "owner", "village")
    list_filter = ("phase", "status")
    search_fields = ("code", "name")
    raw_id_fields = ("village", "grid")
    list_select_related = ("village",)


@admin.register(DeviceDistribution)
class DeviceDistributionAdmin(admin.ModelAdmin):
    list_display = ("village", "device", "quantity", "distributed_on")
    list_filter = ("device",)
    raw_id_fields = ("village",)
    list_select_related = ("village",)
