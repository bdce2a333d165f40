"""Pages of mediation and legal services: the caseload, the case with its timeline, the printable
agreement, the committees' dashboard and the lawyers' duty roster."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView, FormView, ListView, TemplateView

from anshun.charts import bar_chart, dataset
from anshun.commands import NotPermitted
from anshun.exports import KeysetSource, RowsSource, export_response
from anshun.provenance import DEMO_EXPLANATION, demo_apps
from anshun.views import ScopedPageMixin
from mediation import deadlines, forms, selectors, services
from mediation.models import MediationCase, MediationCommittee, Party
from mediation.policy import resolve

CASE_ACTIONS = {
    "session": (forms.SessionForm, services.session_record),
    "agreement": (forms.AgreementForm, services.agreement_record),
    "close": (forms.CloseForm, services.case_close),
    "extend": (forms.ExtendForm, services.mediation_extend),
    "party": (forms.PartyForm, None),
    "assign": (forms.AssignForm, None),
    "confirmation-apply": (forms.ConfirmationApplyForm, services.confirmation_apply),
    "confirmation-decide": (forms.ConfirmationDecideForm, services.confirmation_decide),
    "confirmation-extend": (forms.ConfirmationExtendForm, services.confirmation_extend),
    "ruling": (forms.RulingForm, services.ruling_record),
    "performance": (forms.PerformanceForm, services.performance_record),
}


class CaseloadView(ScopedPageMixin, ListView):
    """The mediator's caseload (officials: every case in their jurisdiction), with the next legal
    deadline of each case and an overdue mark."""

    template_name = "mediation/caseload.html"
    capability = "mediation.view"
    selector = staticmethod(selectors.cases_visible_to)
    paginate_by = 50
    context_object_name = "cases"

    def selector_arguments(self) -> dict:
        params = self.request.GET
        return {
            "status": params.get("status") or None,
            "committee_id": int(params["committee"]) if params.get("committee", "").isdigit() else None,
            "mine": params.get("mine") == "1",
        }

    def get(self, request, *args, **kwargs):
        export = request.GET.get("export")
        if export in ("xlsx", "csv"):
            return export_response(
                request,
                capability="mediation.view",
                filename="mediation-cases",
                headers=[
                    _("Number"),
                    _("Committee"),
                    _("Dispute type"),
                    _("Mediator"),
                    _("Intake date"),
                    _("Status"),
                    _("Next deadline"),
                    _("Due on"),
                    _("Overdue"),
                ],
                # Deadlines are attached per batch (no queries: the selector joins what they need).
                source=KeysetSource(
                    self.get_queryset(),
                    prepare=selectors.with_deadlines,
                    row=lambda c: [
                        c.number,
                        str(c.committee),
                        c.dispute_type,
                        str(c.mediator or ""),
                        c.intake_date,
                        c.get_status_display(),
                        c.next_deadline.label if c.next_deadline else "",
                        c.next_deadline.due_on if c.next_deadline else None,
                        _("yes") if c.overdue else "",
                    ],
                ),
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["cases"] = selectors.with_deadlines(context["cases"])
        context["statuses"] = MediationCase.Status.choices
        context["notices"] = list(selectors.notices_for(actor=self.request.user)[:20])
        context["query"] = self.request.GET.urlencode()
        context["perms_handle"] = self.request.user.can("mediation.handle")
        return context


class CaseIntakeView(ScopedPageMixin, FormView):
    """Take a dispute in at the desk; the case page follows."""

    template_name = "mediation/case_new.html"
    capability = "mediation.handle"
    selector = staticmethod(selectors.committees_open_to)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["committees"] = self.get_queryset()
        kwargs["regions"] = selectors.dispute_places(actor=self.request.user)
        kwargs.setdefault("initial", {})["intake_date"] = timezone.localdate()
        return kwargs

    def get_form_class(self):
        return forms.CaseIntakeForm

    def form_invalid(self, form):
        """The form again, holding what was typed, its errors beside the fields (400)."""
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def form_valid(self, form):
        data = form.cleaned_data
        parties = [
            services.PartyInput(name=data["applicant"], phone=data["applicant_phone"]),
            services.PartyInput(
                name=data["respondent"],
                side="respondent",
                kind=data["respondent_kind"],
                representative=data["respondent_representative"],
            ),
        ]
        user = self.request.user
        mediator = (
            user
            if user.mediation_memberships.filter(committee=data["committee"], is_active=True).exists()
            else None
        )
        try:
            case = services.case_open(
                actor=user,
                committee=data["committee"],
                region=data["region"],
                source=data["source"],
                dispute_type=data["dispute_type"],
                summary=data["summary"],
                amount_in_dispute=data["amount_in_dispute"],
                intake_date=data["intake_date"],
                parties=parties,
                mediator=mediator,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.form_invalid(form)
        return redirect("mediation:case", pk=case.pk)


class NoticeReadView(ScopedPageMixin, View):
    """Dismiss one of the caller's own deadline notices."""

    capability = "mediation.view"
    selector = staticmethod(selectors.cases_visible_to)

    def post(self, request, pk: int):
        services.notice_mark_read(actor=request.user, notice_id=pk)
        return redirect("mediation:caseload")


class CaseDetailView(ScopedPageMixin, DetailView):
    template_name = "mediation/case_detail.html"
    capability = "mediation.view"
    selector = staticmethod(selectors.case_details_visible_to)
    context_object_name = "case"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        case = self.object
        today = timezone.localdate()
        context["deadlines"] = [
            {"d": d, "overdue": d.is_overdue(today), "days_left": d.days_left(today)}
            for d in deadlines.case_deadlines(case)
        ]
        context["timeline"] = selectors.case_timeline(case=case)
        context["agreement"] = getattr(case, "agreement", None)
        sides = {p.side for p in case.parties.all()}
        context["parties_complete"] = {Party.Side.APPLICANT, Party.Side.RESPONDENT} <= sides
        context["confirmation"] = getattr(context["agreement"], "confirmation", None)
        context["can_handle"] = self.request.user.can("mediation.handle")
        if context["can_handle"]:
            context["forms"] = {
                name.replace("-", "_"): form_class() for name, (form_class, _s) in CASE_ACTIONS.items()
            }
            context["can_unassign"] = case.mediator_id is not None
            context["suggestions"] = selectors.suggest_mediators(
                committee=case.committee, dispute_type=case.dispute_type
            )
        return context


class CaseActionView(ScopedPageMixin, View):
    """One step of the case (a session, the agreement, the court's decisions...), via its service.

    Bad input (a form error or the service's refusal) shows the case page again, answered 400,
    with the step's form open, holding what was typed and the error beside its field."""

    capability = "mediation.handle"
    selector = staticmethod(selectors.cases_visible_to)

    def post(self, request, pk: int, action: str):
        if action not in CASE_ACTIONS:
            raise Http404
        case = self.get_queryset().filter(pk=pk).first()
        if case is None:
            raise Http404
        form_class, service = CASE_ACTIONS[action]
        if action == "assign":
            form = forms.AssignForm(request.POST, mediators=selectors.committee_mediators(case.committee))
        else:
            form = form_class(request.POST)
        if not form.is_valid():
            return self._again(request, pk, action, form)
        try:
            if action == "party":
                services.party_add(
                    actor=request.user, case=case, party=services.PartyInput(**form.cleaned_data)
                )
            elif action == "assign":
                # None only when "un-assign" was chosen; an unknown id never got past the form.
                services.mediator_assign(
                    actor=request.user, case=case, mediator=form.cleaned_data["mediator"]
                )
            else:
                service(actor=request.user, case=case, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self._again(request, pk, action, form)
        messages.success(request, _("Saved."))
        return redirect(reverse("mediation:case", kwargs={"pk": pk}) + f"#{action}")

    def _again(self, request, pk: int, action: str, form):
        if action == "assign":
            # Chosen from the suggestions list (hidden fields, nothing typed): said as a message.
            for field, errors in form.errors.items():
                label = form.fields[field].label if field in form.fields else ""
                messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))
            return redirect("mediation:case", pk=pk)
        page = CaseDetailView()
        page.setup(request, pk=pk)
        page.object = page.get_object()
        context = page.get_context_data(object=page.object)
        context["forms"][action.replace("-", "_")] = form
        context["open_action"] = action
        return page.render_to_response(context, status=400)


class AgreementPrintView(CaseDetailView):
    """The agreement document (调解协议书), generated from its template, laid out for printing."""

    template_name = "mediation/agreement_print.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if context["agreement"] is None:
            raise Http404
        parties = list(self.object.parties.all())
        context["parties"] = parties
        # A side the case names nobody on (a referral whose parties were never added) is printed
        # as a blank to fill in by hand, never as a made-up name.
        named = {p.side for p in parties}
        context["unnamed_sides"] = [
            label
            for side, label in Party.Side.choices
            if side in ("applicant", "respondent") and side not in named
        ]
        context["copies"] = len(parties) + len(context["unnamed_sides"]) + 1  # each party and the committee
        return context


class IncidentReferView(ScopedPageMixin, View):
    """The refer button on the incident page: opens the case and goes to it."""

    capability = "mediation.refer"
    selector = staticmethod(selectors.referable_incidents)

    def post(self, request):
        form = forms.ReferForm(request.POST)
        if not form.is_valid():
            raise Http404
        incident = self.get_queryset().filter(pk=form.cleaned_data["incident"]).first()
        if incident is None:
            raise Http404
        try:
            # A committee id that does not exist is answered like one that does not serve the place.
            committee = resolve(
                MediationCommittee,
                form.cleaned_data["committee"],
                field="committee",
                message=services.committee_unfit_message(),
            )
            case = services.incident_refer(actor=request.user, incident=incident, committee=committee)
        except ValidationError as exc:
            for errors in exc.message_dict.values():
                messages.error(request, " ".join(errors))
            return redirect(_back(request))
        messages.success(request, _("Referred to %(committee)s.") % {"committee": committee})
        if request.user.can("mediation.view"):
            return redirect("mediation:case", pk=case.pk)
        return redirect(_back(request))


def _back(request) -> str:
    """Where the referral form came from (the incident page), if it is on this site."""
    for candidate in (request.POST.get("next"), request.META.get("HTTP_REFERER")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return reverse("home")


class DashboardView(ScopedPageMixin, TemplateView):
    """Per committee: caseload, success rate, average days to agreement, confirmation rate."""

    template_name = "mediation/dashboard.html"
    capability = "mediation.view"
    selector = staticmethod(selectors.committees_visible_to)

    def get(self, request, *args, **kwargs):
        self.stats = selectors.committee_stats(actor=request.user)
        export = request.GET.get("export")
        if export in ("xlsx", "csv"):
            return export_response(
                request,
                capability="mediation.view",
                filename="mediation-committees",
                headers=[
                    _("Committee"),
                    _("Cases"),
                    _("Open"),
                    _("Agreements"),
                    _("Success rate (%)"),
                    _("Average days to agreement"),
                    _("Confirmation rate (%)"),
                ],
                source=RowsSource(
                    [
                        [
                            str(s.committee),
                            s.total,
                            s.open,
                            s.agreements,
                            s.success_rate,
                            s.average_days,
                            s.confirmation_rate,
                        ]
                        for s in self.stats
                    ]
                ),
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["stats"] = self.stats
        context["demo_figures"] = "mediation" in demo_apps()
        context["demo_committees"] = any(s.committee.is_demo for s in self.stats)
        context["demo_explanation"] = DEMO_EXPLANATION
        labels = [s.committee.name.removeprefix("安顺市").removesuffix("人民调解委员会") for s in self.stats]
        context["charts"] = {
            "caseload": bar_chart(
                labels,
                [
                    dataset(_("Cases"), [s.total for s in self.stats], index=1),
                    dataset(_("Open"), [s.open for s in self.stats], index=3),
                ],
                horizontal=True,
            ),
            "rates": bar_chart(
                labels,
                [
                    dataset(_("Success rate (%)"), [s.success_rate for s in self.stats], index=2),
                    dataset(_("Confirmation rate (%)"), [s.confirmation_rate for s in self.stats], index=4),
                ],
                horizontal=True,
                y_max=100,
            ),
            "days": bar_chart(
                labels,
                [
                    dataset(_("Average days to agreement"), [s.average_days for s in self.stats], index=5),
                ],
                horizontal=True,
            ),
        }
        return context


class RosterView(ScopedPageMixin, TemplateView):
    """The lawyers' duty roster for petition-reception days, as a month calendar, with clashes."""

    template_name = "mediation/roster.html"
    capability = "legal.serve"
    selector = staticmethod(selectors.duty_shifts_visible_to)

    def _month(self) -> date:
        raw = self.request.GET.get("month", "")
        try:
            year, month = (int(part) for part in raw.split("-"))
            return date(year, month, 1)
        except ValueError:
            return timezone.localdate().replace(day=1)

    def _load(self, first: date) -> None:
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        self.first, self.last = first, last
        self.shifts = list(self.selector(actor=self.request.user, start=first, end=last))

    def get(self, request, *args, **kwargs):
        self._load(self._month())
        first = self.first
        export = request.GET.get("export")
        if export in ("xlsx", "csv"):
            return export_response(
                request,
                capability="legal.serve",
                filename=f"duty-roster-{first:%Y-%m}",
                headers=[_("Date"), _("Centre"), _("Lawyer")],
                source=RowsSource([[s.date, str(s.centre), str(s.lawyer)] for s in self.shifts]),
            )
        return super().get(request, *args, **kwargs)

    def _forms(self, data=None) -> dict:
        user = self.request.user
        if not user.can("legal.roster"):
            return {}
        centres = selectors.centres_visible_to(actor=user).order_by("region__code")
        lawyers = selectors.lawyers_near(actor=user)
        return {
            "reception": forms.ReceptionDayForm(
                data if data and "reception" in data else None, centres=centres
            ),
            "shift": forms.DutyShiftForm(
                data if data and "shift" in data else None, centres=centres, lawyers=lawyers
            ),
        }

    def post(self, request, *args, **kwargs):
        """Add a reception day or a shift; bad input shows the month again (400) with the form
        holding what was typed and its errors."""
        if not services.POLICY.can("duty_assign", actor=request.user):
            raise NotPermitted()
        roster_forms = self._forms(request.POST)
        form = roster_forms["reception"] if "reception" in request.POST else roster_forms["shift"]
        if form.is_valid():
            data = form.cleaned_data
            try:
                if form is roster_forms["reception"]:
                    services.reception_day_add(
                        actor=request.user, centre=data["centre"], day=data["day"], leader=data["leader"]
                    )
                else:
                    services.duty_assign(
                        actor=request.user, centre=data["centre"], day=data["day"], lawyer=data["lawyer"]
                    )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Saved."))
                return redirect(f"{reverse('mediation:roster')}?month={data['day']:%Y-%m}")
        day = form.cleaned_data.get("day") if hasattr(form, "cleaned_data") else None
        self._load(day.replace(day=1) if day else self._month())
        context = self.get_context_data(**kwargs)
        context["roster_forms"] = roster_forms
        return self.render_to_response(context, status=400)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["roster_forms"] = self._forms()
        first, last = self.first, self.last
        receptions = list(selectors.reception_days_visible_to(actor=self.request.user, start=first, end=last))
        clashes = selectors.roster_clashes(actor=self.request.user, start=first, end=last)
        clash_days = {c.day for c in clashes}
        by_day: dict[date, dict] = {}
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            by_day[day] = {"day": day, "shifts": [], "receptions": [], "clash": day in clash_days}
        for shift in self.shifts:
            by_day[shift.date]["shifts"].append(shift)
        for reception in receptions:
            by_day[reception.date]["receptions"].append(reception)
        lead = [None] * first.weekday()
        cells = lead + list(by_day.values())
        cells += [None] * (-len(cells) % 7)
        context.update(
            month=first,
            weekdays=[WEEKDAYS_ABBR[i] for i in range(7)],
            weeks=[cells[i : i + 7] for i in range(0, len(cells), 7)],
            clashes=clashes,
            previous=(first - timedelta(days=1)).strftime("%Y-%m"),
            next=(last + timedelta(days=1)).strftime("%Y-%m"),
        )
        return context


LEGAL_FORMS = {
    "consultation": (forms.ConsultationForm, services.consultation_record),
    "aid": (forms.LegalAidForm, services.legal_aid_apply),
    "decision": (forms.LegalAidDecisionForm, services.legal_aid_decide),
    "representation": (forms.RepresentationForm, services.representation_open),
    "conclusion": (forms.RepresentationConclusionForm, services.representation_conclude),
}


class LegalDeskView(ScopedPageMixin, TemplateView):
    """The legal service centre's desk: consultations, legal-aid applications and litigation
    representation (代理诉讼), newest first, each recorded through its command."""

    template_name = "mediation/legal_desk.html"
    capability = "legal.serve"
    selector = staticmethod(selectors.consultations_visible_to)
    shown = 50

    def _forms(self, data=None) -> dict:
        user = self.request.user
        centres = selectors.centres_visible_to(actor=user).order_by("region__code")
        pending = selectors.legal_aid_visible_to(actor=user).filter(eligibility="pending")
        built = {}
        for name, (form_class, _service) in LEGAL_FORMS.items():
            bound = data if data is not None and data.get("form") == name else None
            if name == "decision":
                built[name] = form_class(
                    bound, applications=pending, lawyers=selectors.lawyers_near(actor=user)
                )
            elif name == "representation":
                eligible = selectors.legal_aid_visible_to(actor=user).filter(eligibility="eligible")
                built[name] = form_class(bound, centres=centres, applications=eligible)
            elif name == "conclusion":
                ongoing = selectors.representations_visible_to(actor=user).filter(status="ongoing")
                built[name] = form_class(bound, representations=ongoing)
            else:
                built[name] = form_class(bound, centres=centres)
        return built

    def get(self, request, *args, **kwargs):
        table = request.GET.get("table")
        export = request.GET.get("export")
        if export in ("xlsx", "csv") and table == "consultations":
            return export_response(
                request,
                capability="legal.serve",
                filename="legal-consultations",
                headers=[_("Date"), _("Centre"), _("Topic"), _("Answer"), _("Referred to"), _("Lawyer")],
                source=KeysetSource(
                    self.get_queryset(),
                    row=lambda c: [
                        c.asked_at,
                        str(c.centre),
                        c.topic,
                        c.answer,
                        c.referral,
                        str(c.lawyer or ""),
                    ],
                ),
            )
        if export in ("xlsx", "csv") and table == "aid":
            return export_response(
                request,
                capability="legal.serve",
                filename="legal-aid",
                headers=[_("Date"), _("Centre"), _("Applicant"), _("Eligibility"), _("Reason"), _("Lawyer")],
                source=KeysetSource(
                    selectors.legal_aid_visible_to(actor=request.user),
                    row=lambda a: [
                        a.applied_on,
                        str(a.centre),
                        a.applicant_name,
                        a.get_eligibility_display(),
                        a.decision_reason,
                        str(a.assigned_lawyer or ""),
                    ],
                ),
            )
        if export in ("xlsx", "csv") and table == "representations":
            return export_response(
                request,
                capability="legal.serve",
                filename="litigation-representation",
                headers=[
                    _("Accepted on"),
                    _("Centre"),
                    _("Client"),
                    _("Cause of action"),
                    _("Court"),
                    _("Lawyer"),
                ],
                source=KeysetSource(
                    selectors.representations_visible_to(actor=request.user),
                    row=lambda r: [
                        r.accepted_on,
                        str(r.centre),
                        r.client_name,
                        r.cause,
                        r.court,
                        str(r.lawyer or ""),
                    ],
                ),
            )
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        name = request.POST.get("form")
        if name not in LEGAL_FORMS:
            raise Http404
        form = self._forms(request.POST)[name]
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                LEGAL_FORMS[name][1](actor=request.user, **data)
                messages.success(request, _("Saved."))
                return redirect("mediation:legal")
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    field = {"assigned_lawyer": "lawyer", "applicant_phone": "phone"}.get(field, field)
                    form.add_error(field if field in form.fields else None, errors)
        context = self.get_context_data(**kwargs)
        context["forms"][name] = form
        return self.render_to_response(context, status=400)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["consultations"] = list(self.get_queryset()[: self.shown])
        context["applications"] = list(selectors.legal_aid_visible_to(actor=self.request.user)[: self.shown])
        context["representations"] = list(
            selectors.representations_visible_to(actor=self.request.user)[: self.shown]
        )
        context["service_counts"] = selectors.legal_service_counts(actor=self.request.user)
        context["demo_explanation"] = DEMO_EXPLANATION
        context["forms"] = self._forms()
        return context
