"""Pages of the six projects: caseload, person record (with the purpose prompt), tasks,
project dashboards and the auditors' access log. Reads go through selectors; every read of a
person's record and every export is written to the access trail in the same request."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.generic import DetailView, FormView, ListView, TemplateView

from anshun import forms as strict
from anshun.charts import bar_chart, dataset, line_chart
from anshun.exports import KeysetSource, export_response
from anshun.provenance import DEMO, FigureMark, demo_apps, mark_tiles, marks_context
from anshun.views import ScopedPageMixin
from grids.selectors import regions_visible_to
from special_groups import selectors, services
from special_groups.crypto import mask_address, mask_id_number, mask_name, mask_phone
from special_groups.forms import CheckInForm, CloseForm, EnrollForm, GuardianForm, SubsidyForm
from special_groups.models import CaseTask, Enrollment, ServiceFacility
from special_groups.policy import POLICY
from special_groups.projects import project as project_entry

# The caseload's tiles keep the test ids the pick-up flow has always used.
TILE_TEST_IDS = {"special_groups.pickup_rate": "pickup-rate", "special_groups.picked_up": "picked-up"}
RECORD_FORMS = {"close": CloseForm, "subsidy": SubsidyForm, "checkin": CheckInForm}
# Place codes offered as suggestions on the enrolment form (any code in the jurisdiction is accepted).
PLACE_HINTS = 2000


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
        entry = project_entry(user.special_project)
        context["project"] = entry
        region = selectors.region_for(actor=user)
        if region is not None and entry is not None:
            # The officer's own project's figures, as its entry declares them (inside the project,
            # so counts are shown as they are).
            tiles = selectors.project_tiles(actor=user, region=region)
            context["tiles"] = [
                (t, TILE_TEST_IDS.get(t.key, t.key))
                for t in tiles
                if t.key in entry.figures and not t.suppressed
            ]
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
        if action in RECORD_FORMS:
            return self._post_form(request, action)
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

    def _post_form(self, request, action: str):
        """Closing a case and recording a subsidy: a form that keeps what was typed, with the
        command's field errors on it, and a box ticked to confirm."""
        form = RECORD_FORMS[action](request.POST, prefix=action)
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "confirm"}
            try:
                if action == "close":
                    services.enrollment_close(actor=request.user, enrollment=self.object, **data)
                    messages.success(request, _("The case is closed."))
                elif action == "checkin":
                    services.checkin_record(actor=request.user, enrollment=self.object, **data)
                    messages.success(request, _("Check-in recorded."))
                else:
                    services.subsidy_pay(actor=request.user, enrollment=self.object, **data)
                    messages.success(request, _("Subsidy payment recorded."))
                return redirect(request.path)
            except ValidationError as exc:
                strict.add_service_errors(form, exc, {"enrollment": "__all__"})
        return self.render_to_response(
            self.get_context_data(object=self.object, **{f"{action}_form": form}), status=400
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        enrollment = self.object
        context["masked"] = masked(enrollment)
        context["revealed"] = kwargs.get("revealed", False)
        context["errors"] = kwargs.get("errors", [])
        context["outcomes"] = Enrollment.PickupOutcome.choices
        today = timezone.localdate()
        context["close_form"] = kwargs.get("close_form") or CloseForm(prefix="close", initial={"on": today})
        context["subsidy_form"] = kwargs.get("subsidy_form") or SubsidyForm(
            prefix="subsidy", initial={"paid_on": today}
        )
        context["checkin_form"] = kwargs.get("checkin_form") or CheckInForm(
            prefix="checkin", initial={"checked_in_on": today}
        )
        entry = project_entry(enrollment.project)
        context["project"] = entry
        context["facts"] = [
            (Enrollment._meta.get_field(f.name).verbose_name, _fact_display(enrollment, f.name))
            for f in entry.facts
        ]
        kinds = {plan.kind for plan in entry.tasks}
        context["takes_pickup"] = CaseTask.Kind.PICKUP in kinds and not enrollment.pickup_outcome
        context["takes_subsidy"] = "special_groups.subsidy_paid" in entry.figures and hasattr(
            enrollment, "guardian"
        )
        context["has_guardian_role"] = entry.guardian
        context["takes_check_ins"] = entry.check_ins
        # Payments of a deployment with demo records are demo figures (¥2,400 a patient...).
        apps = demo_apps()
        context["subsidy_mark"] = FigureMark(provenance=DEMO if "special_groups" in apps else "")
        context.update(marks_context(apps, "special_groups"))
        return context


def _fact_display(enrollment: Enrollment, name: str):
    """A fact as the record page shows it: a choice by its label, a date as a date, none as –."""
    value = getattr(enrollment, name)
    display = getattr(enrollment, f"get_{name}_display", None)
    if value in (None, ""):
        return "–"
    return display() if display else value


class EnrollView(ScopedPageMixin, FormView):
    """Enrol someone into the officer's own project (``person_enroll``): the same command the API
    calls, so duplicates are looked for in the officer's own caseload only and nothing says
    whether another project or jurisdiction knows the ID number."""

    template_name = "special_groups/enroll.html"
    capability = "special_groups.handle"
    selector = staticmethod(selectors.enrollments_visible_to)
    form_class = EnrollForm

    def get(self, request, *args, **kwargs):
        # The command's own rule decides before the form is shown (case officers of a project).
        POLICY.authorize("person_enroll", actor=request.user, arguments={})
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        POLICY.authorize("person_enroll", actor=request.user, arguments={})
        return super().post(request, *args, **kwargs)

    def get_form_kwargs(self):
        user = self.request.user
        return {
            **super().get_form_kwargs(),
            "project": user.special_project,
            "facilities": ServiceFacility.objects.visible_to(user).defer("location").order_by("name"),
        }

    def form_valid(self, form):
        arguments = form.command_arguments()
        if form.cleaned_data.get("link_registry"):
            # The resident is found by the exact ID number inside the officer's jurisdiction;
            # none there (or only elsewhere) is the same field error.
            arguments["registry_person"] = selectors.registry_resident_for(
                actor=self.request.user, id_number=arguments["id_number"]
            )
            if arguments["registry_person"] is None:
                form.add_error("link_registry", _("Not found in your jurisdiction."))
                return self.form_invalid(form)
        try:
            enrollment = services.person_enroll(actor=self.request.user, **arguments)
        except ValidationError as exc:
            return self.form_invalid(strict.add_service_errors(form, exc))
        messages.success(self.request, _("Enrolled. The record is shown masked."))
        return redirect("special_groups:record", pk=enrollment.pk)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["places"] = (
            regions_visible_to(actor=self.request.user)
            .select_related(None)
            .only("code", "name")[:PLACE_HINTS]
        )
        return context


class GuardianView(ScopedPageMixin, FormView):
    """Name or change the guardian of a patient (安宁) or the carer of a child (雨露) through
    ``guardian_assign``. The record is fetched through the same selector as the record page, so
    another project's or county's enrolment is the same 404 as a missing one; the page shows it
    masked and logs the read like the record page does."""

    template_name = "special_groups/guardian.html"
    capability = "special_groups.handle"
    selector = staticmethod(selectors.enrollment_record)
    form_class = GuardianForm

    @cached_property
    def enrollment(self) -> Enrollment:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get(self, request, *args, **kwargs):
        services.enrollment_view(actor=request.user, enrollment=self.enrollment)
        return super().get(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            services.guardian_assign(actor=self.request.user, enrollment=self.enrollment, **form.cleaned_data)
        except ValidationError as exc:
            return self.form_invalid(strict.add_service_errors(form, exc))
        messages.success(self.request, _("Guardian saved."))
        return redirect("special_groups:record", pk=self.enrollment.pk)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["enrollment"] = self.enrollment
        context["masked"] = masked(self.enrollment)
        guardian = getattr(self.enrollment, "guardian", None)
        context["guardian_masked"] = mask_name(guardian.name) if guardian else ""
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
        # Every figure is marked by the provenance rule (anshun.provenance): all-time figures
        # computed for the city may carry the article as their source; a year's figures and
        # the monthly charts are never the article's, so they are demo data at most.
        apps = demo_apps()
        shared: dict = {}  # what the periods have in common is read once for the page
        context.update(
            region=region,
            year=year,
            tiles=mark_tiles(
                selectors.period_tiles(actor=user, region=region, shared=shared), region=region, apps=apps
            ),
            year_tiles=mark_tiles(
                selectors.period_tiles(actor=user, region=region, year=year, shared=shared),
                region=None,
                apps=apps,
            ),
            charts=_project_charts(
                selectors.monthly_series(actor=user, region=region, year=year, shared=shared)
            ),
            charts_mark=FigureMark(provenance=DEMO if "special_groups" in apps else ""),
            **marks_context(apps, "special_groups"),
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
            x_title=_("Month"),
            y_title=_("Rate (%)"),
        ),
        "subsidy": bar_chart(
            series["months"],
            [
                dataset(_("Subsidy paid") + " ¥", series["subsidy_paid"], color="#ef9a9a"),
            ],
            x_title=_("Month"),
            y_title=_("Amount (yuan)"),
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
