"""Pages of the six projects: caseload, person record (with the purpose prompt), tasks,
project dashboards and the auditors' access log. Reads go through selectors; every read of a
person's record and every export is written to the access trail in the same request."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.generic import DetailView, ListView, TemplateView

from anshun.charts import bar_chart, dataset, line_chart
from anshun.exports import KeysetSource, export_response
from anshun.views import ScopedPageMixin
from grids.selectors import regions_visible_to
from special_groups import selectors, services
from special_groups.crypto import mask_address, mask_id_number, mask_name, mask_phone
from special_groups.models import Enrollment
from special_groups.policy import POLICY


def masked(enrollment: Enrollment) -> dict:
    person = enrollment.person
    return {
        "name": mask_name(person.name),
        "id_number": mask_id_number(person.id_number),
        "phone": mask_phone(person.phone),
        "address": mask_address(person.address),
    }


def logged_export(
    request, *, command, capability: str, filename: str, headers: list, records, row, size: int | None = None
):
    """An XLSX/CSV export: ``command`` (a policy command) is authorised before any row is read;
    the export is written to the access trail (who, how many rows) before the first row is read,
    then the rows are read, decrypted and masked batch by batch as the file is sent, so the whole
    caseload is never in memory. Past the inline limit the same happens in an export job, for
    the requester, when it runs."""
    POLICY.authorize(command.command_name, actor=request.user, arguments={})
    return export_response(
        request,
        capability=capability,
        filename=filename,
        headers=headers,
        source=KeysetSource(records(), row=row, size=size),
        before_send=lambda rows: command(actor=request.user, rows=rows),
    )


class CaseloadView(ScopedPageMixin, ListView):
    """The officer's own project's enrolments in their jurisdiction, masked."""

    template_name = "special_groups/caseload.html"
    capability = "special_groups.handle"
    selector = staticmethod(selectors.enrollments_visible_to)
    paginate_by = 50
    context_object_name = "enrollments"

    def selector_arguments(self) -> dict:
        return {"status": self.request.GET.get("status") or None}

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") in ("xlsx", "csv"):
            user = request.user
            return logged_export(
                request,
                command=services.caseload_export,
                capability="special_groups.handle",
                filename=f"caseload-{user.special_project}",
                headers=[
                    _("No."),
                    pgettext("person", "Name"),
                    _("ID number"),
                    _("Phone"),
                    _("Address"),
                    _("Place"),
                    _("Status"),
                    _("Enrolled"),
                ],
                records=self.get_queryset,
                row=lambda e: [
                    e.pk,
                    *masked(e).values(),
                    e.person.region.name,
                    e.get_status_display(),
                    e.enrolled_on,
                ],
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["rows"] = [(e, masked(e)) for e in context["enrollments"]]
        region = selectors.region_for(actor=user)
        if region is not None:
            m = selectors.metrics(region=region, start=date(1900, 1, 1), end=timezone.localdate())
            context["metrics"] = m
        return context


class EnrollmentRecordView(ScopedPageMixin, DetailView):
    """One person's record, only this project's part. Shown masked (and logged) until the
    officer states a purpose; then shown in full once, and that is logged with the purpose."""

    template_name = "special_groups/record.html"
    capability = "special_groups.handle"
    selector = staticmethod(selectors.enrollment_record)
    context_object_name = "enrollment"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        services.enrollment_view(actor=request.user, enrollment=self.object)
        return self.render_to_response(self.get_context_data(object=self.object))

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        action = request.POST.get("action")
        try:
            if action == "reveal":
                services.enrollment_reveal(
                    actor=request.user, enrollment=self.object, purpose=request.POST.get("purpose", "")
                )
                return self.render_to_response(self.get_context_data(object=self.object, revealed=True))
            if action == "pickup":
                services.pickup_record(
                    actor=request.user, enrollment=self.object, outcome=request.POST.get("outcome", "")
                )
                messages.success(request, _("Pick-up recorded."))
            elif action == "visit":
                services.visit_record(
                    actor=request.user,
                    enrollment=self.object,
                    visited_on=date.fromisoformat(
                        request.POST.get("visited_on") or timezone.localdate().isoformat()
                    ),
                )
                messages.success(request, _("Visit recorded."))
        except (ValidationError, ValueError) as exc:
            errors = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            return self.render_to_response(
                self.get_context_data(object=self.object, errors=errors), status=400
            )
        return redirect(request.path)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        enrollment = self.object
        context["masked"] = masked(enrollment)
        context["revealed"] = kwargs.get("revealed", False)
        context["errors"] = kwargs.get("errors", [])
        context["outcomes"] = Enrollment.PickupOutcome.choices
        return context


class TaskListView(ScopedPageMixin, ListView):
    template_name = "special_groups/tasks.html"
    capability = "special_groups.handle"
    selector = staticmethod(selectors.tasks_visible_to)
    paginate_by = 50
    context_object_name = "tasks"

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") in ("xlsx", "csv"):
            return logged_export(
                request,
                command=services.tasks_export,
                capability="special_groups.handle",
                filename="tasks",
                headers=[_("Due"), _("Task"), _("Person"), _("Record"), _("overdue")],
                records=self.get_queryset,
                row=lambda t: [
                    t.due_on,
                    t.get_kind_display(),
                    mask_name(t.enrollment.person.name),
                    t.enrollment_id,
                    t.is_overdue,
                ],
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = [(t, mask_name(t.enrollment.person.name)) for t in context["tasks"]]
        return context


class ProjectDashboardView(ScopedPageMixin, TemplateView):
    """Figures by jurisdiction and month, with counts of people suppressed outside the project."""

    template_name = "special_groups/dashboard.html"
    capability = "special_groups.dashboard"
    selector = staticmethod(regions_visible_to)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        self.get_queryset()  # the scope check every page makes
        user = self.request.user
        region = selectors.region_for(actor=user, code=self.request.GET.get("region"))
        if region is None:
            raise PermissionDenied
        try:
            year = int(self.request.GET.get("year") or selectors.latest_year(region=region))
        except ValueError:
            year = timezone.localdate().year
        if not 2000 <= year <= 2100:
            year = timezone.localdate().year
        shared: dict = {}  # what the periods have in common is read once for the page
        context.update(
            region=region,
            year=year,
            tiles=selectors.period_tiles(actor=user, region=region, shared=shared),
            year_tiles=selectors.period_tiles(actor=user, region=region, year=year, shared=shared),
            charts=_project_charts(
                selectors.monthly_series(actor=user, region=region, year=year, shared=shared)
            ),
        )
        return context


def _project_charts(series: dict) -> dict:
    return {
        "rates": line_chart(
            series["months"],
            [
                dataset(_("Pick-up rate") + " %", series["pickup_rate"], index=0),
                dataset(_("Visit compliance") + " %", series["visit_compliance"], index=1),
            ],
            y_max=100,
        ),
        "subsidy": bar_chart(
            series["months"],
            [
                dataset(_("Subsidy paid") + " ¥", series["subsidy_paid"], color="#ef9a9a"),
            ],
        ),
    }


class AccessLogView(ScopedPageMixin, ListView):
    """The access trail for auditors; its own export is logged too."""

    template_name = "special_groups/access_log.html"
    capability = "audit.view"
    selector = staticmethod(selectors.access_records_visible_to)
    paginate_by = 100
    context_object_name = "records"

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") in ("xlsx", "csv"):
            return logged_export(
                request,
                command=services.access_log_export,
                capability="audit.view",
                filename="access-log",
                headers=[_("At"), _("Who"), _("Action"), _("Project"), _("Record"), _("Place"), _("Purpose")],
                records=self.get_queryset,
                size=50000,
                row=lambda r: [
                    r.at,
                    str(r.actor),
                    r.get_action_display(),
                    r.get_project_display(),
                    r.enrollment_id,
                    r.region.name,
                    r.purpose,
                ],
            )
        return super().get(request, *args, **kwargs)
