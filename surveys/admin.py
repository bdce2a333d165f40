from django.contrib import admin, messages
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from anshun.commands import NotPermitted
from surveys.models import CountingRule, EconomicIndicator, Item, RollupRun, Wave
from surveys.services.rollup import request_rollup, rollup_progress
from surveys.services.setup import counting_rule_set, indicator_set, item_ensure, wave_ensure


class ThroughServicesAdmin(admin.ModelAdmin):
    """The survey's configuration is changed only through its commands (``surveys.policy``):
    the admin form is an adapter, and nothing here deletes what published rates were built on."""

    def has_delete_permission(self, request, obj=None):
        return False


class CountingRuleInline(admin.TabularInline):
    model = CountingRule
    extra = 0
    can_delete = False


@admin.register(Wave)
class WaveAdmin(ThroughServicesAdmin):
    list_display = ("code", "name", "year", "starts_on", "ends_on")
    inlines = [CountingRuleInline]

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        saved = wave_ensure(
            actor=request.user,
            code=obj.code,
            name=obj.name,
            year=obj.year,
            starts_on=obj.starts_on,
            ends_on=obj.ends_on,
        )
        obj.pk = saved.pk

    def save_formset(self, request, form, formset, change):
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for rule_form in formset.forms:
            if not rule_form.has_changed() or not rule_form.cleaned_data:
                continue
            data = rule_form.cleaned_data
            existed = rule_form.instance.pk is not None
            saved = counting_rule_set(
                actor=request.user,
                wave=form.instance,
                item=data["item"],
                counted=list(data["counted"]),
                cant_say_in_denominator=data["cant_say_in_denominator"],
            )
            if existed:
                formset.changed_objects.append((saved, rule_form.changed_data))
            else:
                formset.new_objects.append(saved)


@admin.register(Item)
class ItemAdmin(ThroughServicesAdmin):
    list_display = ("code", "metric", "question", "scale", "cant_say")

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        saved = item_ensure(
            actor=request.user,
            code=obj.code,
            metric=obj.metric,
            question=obj.question,
            scale=list(obj.scale),
            cant_say=obj.cant_say,
        )
        obj.pk = saved.pk


@admin.register(EconomicIndicator)
class EconomicIndicatorAdmin(ThroughServicesAdmin):
    """Published figures, entered and corrected here per county (or the city) and year."""

    list_display = ("region", "year", "kind", "growth_pct", "source")
    list_editable = ("growth_pct",)
    list_filter = ("year", "kind")
    raw_id_fields = ("region",)
    list_select_related = ("region",)

    def save_model(self, request, obj, form, change):
        saved = indicator_set(
            actor=request.user,
            region=obj.region,
            year=obj.year,
            kind=obj.kind,
            growth_pct=obj.growth_pct,
            source=obj.source,
        )
        obj.pk = saved.pk


@admin.register(RollupRun)
class RollupRunAdmin(admin.ModelAdmin):
    """Rollup runs with their progress; "Recompute now" queues a full run on the worker."""

    list_display = ("id", "status", "progress_bar", "full", "villages", "rows", "requested_by", "created_at")
    readonly_fields = (
        "status",
        "progress_bar",
        "full",
        "villages",
        "rows",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
    )
    list_select_related = ("requested_by",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("progress"))
    def progress_bar(self, obj: RollupRun):
        percent = 100 if obj.status == RollupRun.Status.DONE else rollup_progress(obj.pk) or 0
        return format_html('<progress max="100" value="{}"></progress> {}%', percent, percent)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if RollupRun.objects.filter(status__in=[RollupRun.Status.QUEUED, RollupRun.Status.RUNNING]).exists():
            response["Refresh"] = "3"  # keep the progress bars moving while a run is under way
        return response

    def get_urls(self):
        return [
            path(
                "recompute/",
                self.admin_site.admin_view(self.recompute_view),
                name="surveys_rolluprun_recompute",
            ),
            *super().get_urls(),
        ]

    def recompute_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            run = request_rollup(actor=request.user, full=bool(request.POST.get("full")))
        except NotPermitted:
            messages.error(request, _("Only survey administrators may recompute."))
        else:
            messages.success(request, _("Rollup #%(id)s queued; progress is shown below.") % {"id": run.pk})
        return HttpResponseRedirect(reverse("admin:surveys_rolluprun_changelist"))
