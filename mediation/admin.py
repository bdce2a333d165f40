from django.contrib import admin

from mediation.models import (
    CommitteeMembership,
    Consultation,
    DutyShift,
    JudicialConfirmation,
    LegalAidApplication,
    LegalServiceCentre,
    MediationCase,
    MediationCommittee,
    ReceptionDay,
)


class MembershipInline(admin.TabularInline):
    model = CommitteeMembership
    raw_id_fields = ("user",)
    extra = 0


@admin.register(MediationCommittee)
class MediationCommitteeAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "dispute_type", "region", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "dispute_type")
    raw_id_fields = ("region",)
    list_select_related = ("region",)
    inlines = [MembershipInline]


@admin.register(MediationCase)
class MediationCaseAdmin(admin.ModelAdmin):
    """Read-mostly: cases change through the services on the case page, which keep the timeline."""

    list_display = ("id", "dispute_type", "committee", "status", "intake_date", "mediator")
    list_filter = ("status", "source")
    raw_id_fields = ("committee", "region", "mediator", "source_incident")
    list_select_related = ("committee", "mediator")


@admin.register(JudicialConfirmation)
class JudicialConfirmationAdmin(admin.ModelAdmin):
    list_display = ("agreement", "court", "applied_on", "applied_late", "decision", "outcome")
    raw_id_fields = ("agreement",)


@admin.register(LegalServiceCentre)
class LegalServiceCentreAdmin(admin.ModelAdmin):
    list_display = ("name", "region", "phone")
    raw_id_fields = ("region",)
    search_fields = ("name",)


admin.site.register(
    Consultation, raw_id_fields=("centre", "lawyer"), list_display=("topic", "centre", "asked_at")
)
admin.site.register(
    LegalAidApplication,
    raw_id_fields=("centre", "assigned_lawyer"),
    list_display=("applicant_name", "centre", "eligibility", "applied_on"),
)
admin.site.register(ReceptionDay, raw_id_fields=("centre",), list_display=("date", "centre", "leader"))
admin.site.register(DutyShift, raw_id_fields=("centre", "lawyer"), list_display=("date", "centre", "lawyer"))
