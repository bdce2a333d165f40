"""The admin of mediation and legal services is no side door: it only reads, except for committee
seats, which it writes through the ``membership_add`` command (so the policy decides).

Cases and their steps change on the case page, the roster on its page and the legal desk on its
page, all through ``mediation.services``; committees and centres come from the seed
(``mediation.seed``)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from anshun.admin_access import ReadOnlyAdminMixin
from mediation import services
from mediation.models import (
    CommitteeMembership,
    Consultation,
    DutyShift,
    JudicialConfirmation,
    LegalAidApplication,
    LegalServiceCentre,
    LitigationRepresentation,
    MediationCase,
    MediationCommittee,
    ReceptionDay,
)


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Listed and viewable; every write goes through the app's commands on its pages."""


class MembershipInline(admin.TabularInline):
    model = CommitteeMembership
    fields = ("user", "speciality", "is_active")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MediationCommittee)
class MediationCommitteeAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "dispute_type", "region", "is_active", "is_demo")
    list_filter = ("kind", "is_active", "is_demo")
    search_fields = ("name", "dispute_type")
    list_select_related = ("region",)
    inlines = [MembershipInline]


@admin.register(CommitteeMembership)
class CommitteeMembershipAdmin(admin.ModelAdmin):
    """Seat a mediator, change their speciality or end the seat (untick "active"): every save is
    the ``membership_add`` command, checked by the policy like any other door."""

    list_display = ("user", "committee", "speciality", "is_active")
    list_filter = ("is_active",)
    raw_id_fields = ("committee", "user")
    list_select_related = ("committee", "user")

    def get_readonly_fields(self, request, obj=None):
        return ("committee", "user") if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # a seat ends by being marked inactive, which keeps who sat where

    def changeform_view(self, request, *args, **kwargs):
        # A refusal of the command is shown on the form it came from; the admin's transaction
        # has already been rolled back, so nothing was written.
        try:
            return super().changeform_view(request, *args, **kwargs)
        except ValidationError as exc:
            for message in exc.messages:
                self.message_user(request, message, level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        saved = services.membership_add(
            actor=request.user,
            committee=obj.committee,
            user=obj.user,
            speciality=obj.speciality,
            is_active=obj.is_active,
        )
        obj.pk = saved.pk


@admin.register(MediationCase)
class MediationCaseAdmin(ReadOnlyAdmin):
    """Cases change through the services on the case page, which keep the timeline."""

    list_display = ("id", "dispute_type", "committee", "status", "intake_date", "mediator")
    list_filter = ("status", "source")
    list_select_related = ("committee", "mediator")


@admin.register(JudicialConfirmation)
class JudicialConfirmationAdmin(ReadOnlyAdmin):
    list_display = ("agreement", "court", "applied_on", "applied_late", "decision", "outcome")


@admin.register(LegalServiceCentre)
class LegalServiceCentreAdmin(ReadOnlyAdmin):
    list_display = ("name", "region", "phone")
    search_fields = ("name",)


@admin.register(Consultation)
class ConsultationAdmin(ReadOnlyAdmin):
    list_display = ("topic", "centre", "asked_at")


@admin.register(LegalAidApplication)
class LegalAidApplicationAdmin(ReadOnlyAdmin):
    list_display = ("applicant_name", "centre", "eligibility", "applied_on")


@admin.register(LitigationRepresentation)
class LitigationRepresentationAdmin(ReadOnlyAdmin):
    list_display = ("client_name", "cause", "centre", "court", "accepted_on", "status", "is_demo")
    list_filter = ("status", "is_demo")


@admin.register(ReceptionDay)
class ReceptionDayAdmin(ReadOnlyAdmin):
    list_display = ("date", "centre", "leader")


@admin.register(DutyShift)
class DutyShiftAdmin(ReadOnlyAdmin):
    list_display = ("date", "centre", "lawyer")
