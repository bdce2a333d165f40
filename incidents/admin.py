"""The admin shows incidents and never writes them: writes go through the services (``incidents.policy``).

Incidents, their timeline, attachments and notifications are read-only here: an incident moves
through the workflow pages and the API, which keep the timeline and the rules; deleting one
is the API's soft delete (a tombstone for sync clients), never a row removed here. Categories, their
time limits and Open311 clients are city-wide configuration with no jurisdiction, kept here.
"""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from anshun.admin_access import ReadOnlyAdminMixin
from incidents.models import (
    BacklogEntry,
    CalendarDay,
    CategoryTimeLimit,
    Department,
    ExtensionRequest,
    Incident,
    IncidentAssignment,
    IncidentAttachment,
    IncidentCallback,
    IncidentCategory,
    IncidentEvent,
    Notification,
    NotificationDelivery,
    Open311Client,
    RoutingRule,
)
from incidents.services.calendar import calendar_day_delete, calendar_day_set


class CategoryTimeLimitInline(admin.TabularInline):
    model = CategoryTimeLimit
    extra = 0


@admin.register(IncidentCategory)
class IncidentCategoryAdmin(admin.ModelAdmin):
    inlines = [CategoryTimeLimitInline]
    list_editable = ("handling_limit_hours", "is_active")
    list_display = ("code", "name", "duty", "handling_limit_hours", "is_active")
    list_filter = ("duty", "is_active")
    search_fields = ("code", "name")


class IncidentEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = IncidentEvent
    extra = 0
    readonly_fields = ("actor", "at", "from_status", "to_status", "note")
    can_delete = False


class IncidentAttachmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = IncidentAttachment
    extra = 0
    fields = ("link", "original_name", "content_type", "size", "uploaded_by", "uploaded_at", "event")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # files come in through the services, which check their bytes

    @admin.display(description=_("file"))
    def link(self, attachment):
        # The scoped file view, never a storage URL (nothing serves MEDIA_ROOT).
        return format_html('<a href="{}">{}</a>', attachment.get_absolute_url(), attachment.pk)


class IncidentAssignmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = IncidentAssignment
    extra = 0
    fields = ("part", "office", "department", "state", "assigned_at", "assigned_by", "result", "done_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    """Departments are written through ``department_create`` / ``department_update`` (their
    staff are users with ``department`` set, in the user admin); never deleted here, deactivated."""

    list_display = ("code", "name", "kind", "region", "is_active")
    list_filter = ("kind", "region__level", "is_active")
    search_fields = ("code", "name")
    list_select_related = ("region",)
    raw_id_fields = ("region",)

    def get_queryset(self, request):
        return Department.objects.visible_to(request.user)

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # shares and routes refer to it; deactivate it instead

    def save_model(self, request, obj, form, change):
        from incidents.services.units import department_create, department_update

        if change:
            department_update(
                actor=request.user,
                department=obj,
                name=obj.name,
                kind=obj.kind,
                region=obj.region,
                is_active=obj.is_active,
            )
        else:
            saved = department_create(
                actor=request.user, code=obj.code, name=obj.name, kind=obj.kind, region=obj.region
            )
            obj.pk = saved.pk


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    """The routing table; every save and delete goes through ``route_set`` / ``route_delete``, so
    the admin obeys the same rule as the routing page (places and units in the actor's sight)."""

    list_display = ("category", "region", "office", "department", "updated_at", "updated_by")
    list_filter = ("category__duty",)
    raw_id_fields = ("region", "office", "department")
    list_select_related = ("category", "region", "office", "department")
    readonly_fields = ("updated_at", "updated_by")

    def get_queryset(self, request):
        return RoutingRule.objects.visible_to(request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class RouteForm(form):
            def clean(self):
                # The command's own checks, so a refusal is shown on the form (nothing written).
                from incidents.policy import POLICY
                from incidents.services.units import route_problems

                data = super().clean()
                arguments = {k: data.get(k) for k in ("category", "region", "office", "department")}
                if arguments["region"] is None or arguments["category"] is None:
                    return data
                try:
                    POLICY.authorize("route_set", actor=request.user, arguments=arguments)
                except ValidationError as exc:
                    raise ValidationError(exc.messages) from None
                problems = route_problems(
                    region=arguments["region"], office=arguments["office"], department=arguments["department"]
                )
                if problems:
                    raise ValidationError(list(problems.values()))
                return data

        return RouteForm

    def save_model(self, request, obj, form, change):
        from incidents.services.units import route_delete, route_set

        if change and ("category" in form.changed_data or "region" in form.changed_data):
            route_delete(actor=request.user, route=obj.pk)
        saved = route_set(
            actor=request.user,
            category=obj.category,
            region=obj.region,
            office=obj.office,
            department=obj.department,
        )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        from incidents.services.units import route_delete

        route_delete(actor=request.user, route=obj.pk)

    def delete_queryset(self, request, queryset):
        from incidents.services.units import route_delete

        for route in queryset:
            route_delete(actor=request.user, route=route.pk)


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("pk", "category", "status", "priority", "grid", "reported_at", "due_at")
    list_filter = ("status", "priority", "source", "category__duty")
    raw_id_fields = ("grid", "reporter", "category", "offices")
    list_select_related = ("category", "grid")
    inlines = [IncidentEventInline, IncidentAssignmentInline, IncidentAttachmentInline]
    # The workflow moves only through the services, which keep the timeline; not by hand here.
    readonly_fields = (
        "client_uuid",
        "version",
        "status",
        "handling_office",
        "handler",
        "due_at",
        "closed_at",
        "escalation_level",
        "deleted_at",
    )

    def has_add_permission(self, request):
        return False  # reported through the report page, the API or Open311

    def has_change_permission(self, request, obj=None):
        return False  # corrected and moved through the incident page and the API

    def has_delete_permission(self, request, obj=None):
        return False  # Django's delete would remove the row; the API's delete leaves a tombstone


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("recipient", "message", "created_at", "read_at")
    raw_id_fields = ("recipient", "incident")


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What each delivery backend (e-mail, SMS) was handed, read-only: how an administrator
    answers "was I told?" (the row exists once per notification and backend; no ``sent_at`` means
    the backend has not confirmed it yet)."""

    list_display = ("notification", "backend", "sent_at")
    list_filter = ("backend",)
    raw_id_fields = ("notification",)


@admin.register(Open311Client)
class Open311ClientAdmin(admin.ModelAdmin):
    """API keys are generated on creation; deactivate a client to revoke its key."""

    list_display = ("name", "is_active", "intake_grid", "created_at")
    readonly_fields = ("api_key", "created_at")
    raw_id_fields = ("intake_grid",)


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """The local working calendar. Every save and delete goes through ``calendar_day_set`` /
    ``calendar_day_delete`` (administrators only), which also refresh the due-time cache. The
    list warns about the coming years that ``chinesecalendar`` does not cover: for them these
    rows and the weekends are the whole calendar."""

    list_display = ("day", "kind", "note", "updated_at", "updated_by")
    list_filter = ("kind",)
    date_hierarchy = "day"
    search_fields = ("note",)
    readonly_fields = ("updated_at", "updated_by")

    def has_module_permission(self, request):
        return request.user.can("incident.calendar")

    def has_view_permission(self, request, obj=None):
        return request.user.can("incident.calendar")

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission

    def changelist_view(self, request, extra_context=None):
        from django.contrib import messages
        from django.utils import timezone

        from incidents.services.worktime import LIBRARY_YEARS, uncovered_years

        for year in uncovered_years(today=timezone.localdate()):
            known = CalendarDay.objects.filter(day__year=year, kind=CalendarDay.Kind.HOLIDAY).exists()
            messages.warning(
                request,
                (
                    _(
                        "%(year)s is not covered by the statutory holiday library (it covers "
                        "%(first)s–%(last)s): due times in %(year)s count Monday to Friday and the "
                        "days entered here only. Enter the State Council's holidays and 调休 working "
                        "days for %(year)s here."
                    )
                    if not known
                    else _(
                        "%(year)s is not covered by the statutory holiday library (it covers "
                        "%(first)s–%(last)s): only the days entered here and the weekends count. "
                        "Check that every holiday and 调休 working day of %(year)s is here."
                    )
                )
                % {"year": year, "first": LIBRARY_YEARS[0], "last": LIBRARY_YEARS[-1]},
            )
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        if change and "day" in form.changed_data:
            calendar_day_delete(actor=request.user, day=form.initial["day"])
        saved = calendar_day_set(actor=request.user, day=obj.day, kind=obj.kind, note=obj.note)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        calendar_day_delete(actor=request.user, day=obj.day)

    def delete_queryset(self, request, queryset):
        for day in queryset.values_list("day", flat=True):
            calendar_day_delete(actor=request.user, day=day)


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """延期 requests, read-only: requested and decided on the incident page and the API."""

    list_display = ("incident", "state", "previous_due_at", "requested_due_at", "requested_by", "decided_by")
    list_filter = ("state",)
    raw_id_fields = ("incident", "requested_by", "decided_by")

    def get_queryset(self, request):
        return ExtensionRequest.objects.visible_to(request.user)


@admin.register(IncidentCallback)
class IncidentCallbackAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """回访 records, read-only and scoped like the callback list: recorded on the incident page
    and the API through ``record_callback``."""

    list_display = ("incident", "at", "by", "reached", "satisfaction", "reopened")
    list_filter = ("reached", "satisfaction", "reopened")
    raw_id_fields = ("incident", "by")

    def get_queryset(self, request):
        return IncidentCallback.objects.visible_to(request.user).select_related("incident", "by")


@admin.register(BacklogEntry)
class BacklogEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """挂账 entries, read-only: placed and taken off on the incident page and the API."""

    list_display = ("incident", "state", "review_on", "placed_by", "review_flagged_at", "lifted_at")
    list_filter = ("state",)
    raw_id_fields = ("incident", "placed_by", "lifted_by")

    def get_queryset(self, request):
        return BacklogEntry.objects.visible_to(request.user)
