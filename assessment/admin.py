"""The assessment in the admin: weights and targets are written through the commands (the same
rule as every other door); scores and runs are shown only, written by the Celery run alone."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from anshun.admin_access import ReadOnlyAdminMixin
from assessment import services
from assessment.indicators import INDICATORS
from assessment.models import AssessmentRun, IndicatorTarget, Score


class IndicatorTargetForm(forms.ModelForm):
    indicator = forms.ChoiceField(choices=[(code, i.label) for code, i in INDICATORS.items()])

    class Meta:
        model = IndicatorTarget
        fields = ("year", "indicator", "weight", "target")


@admin.register(IndicatorTarget)
class IndicatorTargetAdmin(admin.ModelAdmin):
    """Each save is the ``target_set`` command, checked like every other door."""

    form = IndicatorTargetForm
    list_display = ("year", "indicator", "weight", "target")
    list_filter = ("year",)

    def get_readonly_fields(self, request, obj=None):
        return ("year", "indicator") if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # a weight of 0 takes an indicator out of the total and keeps the record

    def changeform_view(self, request, *args, **kwargs):
        try:
            return super().changeform_view(request, *args, **kwargs)
        except ValidationError as exc:
            for message in exc.messages:
                self.message_user(request, message, level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        saved = services.target_set(
            actor=request.user, year=obj.year, indicator=obj.indicator, weight=obj.weight, value=obj.target
        )
        obj.pk = saved.pk


class _ShownOnly(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Scores and runs are written by the hourly scoring only."""


@admin.register(Score)
class ScoreAdmin(_ShownOnly):
    list_display = ("year", "level", "unit_name", "indicator", "value", "score", "rank")
    list_filter = ("year", "level", "indicator")


@admin.register(AssessmentRun)
class AssessmentRunAdmin(_ShownOnly):
    list_display = ("year", "finished_at", "rows_written")
