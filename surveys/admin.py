from django.contrib import admin, messages
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from surveys.models import CountingRule, EconomicIndicator, Item, RollupRun, Wave
from surveys.services.rollup import request_rollup, rollup_progress


class CountingRuleInline(admin.TabularInline):
    model = CountingRule
    extra = 0


@admin.register(Wave)
class WaveAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "year", "starts_on", "ends_on")
    inlines = [CountingRuleInline]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("code", "metric", "question", "scale", "cant_say")


@admin.register(EconomicIndicator)
class EconomicIndicatorAdmin(admin.ModelAdmin):
    """Published figures, entered and corrected here per county (or the city) and year."""

    list_display = ("region", "year", "kind", "growth_pct", "source")
    list_editable = ("growth_pct",)
    list_filter = ("year", "kind")
    raw_id_fields = ("region",)
    list_select_related = ("region",)


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
        if not request.user.can("surveys.import"):
            messages.error(request, _("Only survey administrators may recompute."))
        else:
            run = request_rollup(full=bool(request.POST.get("full")), requested_by=request.user)
            messages.success(request, _("Rollup #%(id)s queued; progress is shown below.") % {"id": run.pk})
        return HttpResponseRedirect(reverse("admin:surveys_rolluprun_changelist"))
