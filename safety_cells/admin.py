"""The admin for safe cells and prevention: it writes only through the app's commands.

Safe cells, on-site meetings, cameras, prevention units and their members are added (and a cell
designated) by running the same command as the pages and the API, from the form, so a refusal or
a field error is shown on the form and nothing else is written. Records that no command writes
here (evaluations, patrol logs, shifts, device distributions) are read-only. Cell types and their
checklists are city-wide configuration with no jurisdiction and stay editable.
"""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from anshun.admin_access import ReadOnlyAdminMixin
from anshun.admin_maps import MapAdmin
from anshun.commands import CommandRefused
from safety_cells import services
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


class CommandAdminMixin:
    """Adds (and changes, where a command exists) run a command of ``safety_cells.policy``.

    The command runs once the form and the model's own checks have passed, as the last step of
    validation: its field errors land on the form and its refusals answer 403/404 as anywhere
    else. ``save_model`` then only takes over what the command wrote. Nothing is deleted here.
    """

    # True where the command answers uniqueness itself (in words that reveal no row out of the
    # actor's sight), so the model form's own "X with this code already exists" is not asked.
    command_checks_unique = False

    def add_command(self, *, actor, data):
        raise NotImplementedError

    def change_command(self, *, actor, obj, data):
        return None

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        model_admin = self

        class CommandForm(form_class):
            def validate_unique(self):
                if not model_admin.command_checks_unique:
                    super().validate_unique()

            def _post_clean(self):
                super()._post_clean()
                if self.errors:
                    return
                try:
                    if obj is None:
                        self.command_result = model_admin.add_command(
                            actor=request.user, data=self.cleaned_data
                        )
                    else:
                        self.command_result = model_admin.change_command(
                            actor=request.user, obj=obj, data=self.cleaned_data
                        )
                except ValidationError as exc:
                    for field, messages in exc.message_dict.items():
                        self.add_error(field if field in self.fields else None, messages)
                except CommandRefused as exc:
                    # The policy's refusal (the role may not, the unit is out of sight...): an
                    # error above the form, with nothing written, as the page would say it.
                    self.add_error(None, exc.message)

        return form_class if obj is not None and not self.has_change_permission(request, obj) else CommandForm

    def save_model(self, request, obj, form, change):
        result = getattr(form, "command_result", None)
        if result is not None:
            obj.__dict__.update(result.__dict__)

    def save_related(self, request, form, formsets, change):
        """The command wrote the relations too."""


class CriterionInline(admin.TabularInline):
    model = Criterion
    extra = 1


@admin.register(CellType)
class CellTypeAdmin(admin.ModelAdmin):
    """Types are editable here: the city adds hospitals, scenic areas... with their checklists."""

    list_display = ("code", "name", "is_active")
    inlines = [CriterionInline]


DESIGNATION = ("designated_on", "valid_until")


@admin.register(SafetyCell)
class SafetyCellAdmin(CommandAdminMixin, MapAdmin):
    """Added with ``safety_cell_create``; afterwards only the designation period changes
    (``demonstration_site_designate``)."""

    list_display = ("name", "cell_type", "region", "is_demonstration_site", "valid_until")
    list_filter = ("cell_type", "is_demonstration_site")
    search_fields = ("name",)
    raw_id_fields = ("region",)
    list_select_related = ("region", "cell_type")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return tuple(f.name for f in SafetyCell._meta.concrete_fields if f.name not in DESIGNATION)

    def add_command(self, *, actor, data):
        return services.safety_cell_create(
            actor=actor,
            name=data["name"],
            cell_type=data["cell_type"],
            region=data["region"],
            location=data.get("location"),
            address=data.get("address", ""),
            is_demonstration_site=data.get("is_demonstration_site", False),
            designated_on=data.get("designated_on"),
            valid_until=data.get("valid_until"),
        )

    def change_command(self, *, actor, obj, data):
        return services.demonstration_site_designate(
            actor=actor, cell=obj, designated_on=data["designated_on"], valid_until=data.get("valid_until")
        )


class ScoreInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = EvaluationScore
    extra = 0
    readonly_fields = ("criterion", "score")
    can_delete = False


class PhotoInline(ReadOnlyAdminMixin, admin.TabularInline):
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
class EvaluationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: evaluations are recorded through the service, which checks every score."""

    list_display = ("cell", "evaluated_on", "total_score", "max_total", "evaluator")
    list_select_related = ("cell", "evaluator")
    inlines = [ScoreInline, PhotoInline]


@admin.register(OnSiteMeeting)
class OnSiteMeetingAdmin(CommandAdminMixin, admin.ModelAdmin):
    """Added with ``on_site_meeting_record`` (every site inside the host region); then read-only."""

    list_display = ("title", "held_on", "host_region")
    raw_id_fields = ("host_region",)
    filter_horizontal = ("sites_visited",)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def add_command(self, *, actor, data):
        return services.on_site_meeting_record(
            actor=actor,
            title=data["title"],
            held_on=data["held_on"],
            host_region=data["host_region"],
            sites=list(data.get("sites_visited") or []),
            conclusions=data.get("conclusions", ""),
        )


class MemberInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = UnitMember
    extra = 0


@admin.register(PreventionUnit)
class PreventionUnitAdmin(CommandAdminMixin, admin.ModelAdmin):
    """Set up with ``prevention_unit_create`` (its level must be its region's); then read-only.
    Members are added on their own admin page, through ``unit_member_add``."""

    list_display = ("name", "level", "kind", "region", "is_active")
    list_filter = ("level", "kind", "is_active")
    search_fields = ("name", "region__code")
    list_select_related = ("region",)
    fields = ("name", "level", "kind", "region", "is_active")
    raw_id_fields = ("region",)
    inlines = [MemberInline]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []  # members come once the unit exists

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def add_command(self, *, actor, data):
        return services.prevention_unit_create(
            actor=actor,
            name=data["name"],
            level=data["level"],
            kind=data["kind"],
            region=data["region"],
            is_active=data.get("is_active", True),
        )


@admin.register(UnitMember)
class UnitMemberAdmin(CommandAdminMixin, admin.ModelAdmin):
    """Added to a unit with ``unit_member_add`` (the unit must be in the official's sight); then
    read-only, as on the unit's page."""

    list_display = ("name", "unit", "duty", "phone")
    list_select_related = ("unit",)
    search_fields = ("name", "unit__name")
    fields = ("unit", "name", "phone", "duty")
    raw_id_fields = ("unit",)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def add_command(self, *, actor, data):
        return services.unit_member_add(
            actor=actor,
            unit=data["unit"],
            name=data["name"],
            phone=data.get("phone", ""),
            duty=data.get("duty", ""),
        )


@admin.register(Shift)
class ShiftAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("unit", "starts_at", "ends_at")


@admin.register(PatrolLog)
class PatrolLogAdmin(ReadOnlyAdminMixin, MapAdmin):
    list_display = ("unit", "started_at", "ended_at", "logged_by")
    list_select_related = ("unit", "logged_by")


@admin.register(Camera)
class CameraAdmin(CommandAdminMixin, MapAdmin):
    """Added with ``camera_register`` (its village and grid come from where it stands); then read-only."""

    list_display = ("code", "phase", "status", "owner", "village")
    list_filter = ("phase", "status")
    search_fields = ("code", "name")
    list_select_related = ("village",)
    exclude = ("village", "grid")
    command_checks_unique = True

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def add_command(self, *, actor, data):
        return services.camera_register(
            actor=actor,
            code=data["code"],
            name=data.get("name", ""),
            phase=data["phase"],
            location=data["location"],
            owner=data["owner"],
            status=data.get("status") or Camera.Status.ONLINE,
        )


@admin.register(DeviceDistribution)
class DeviceDistributionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("village", "device", "quantity", "distributed_on")
    list_filter = ("device",)
    list_select_related = ("village",)
