"""Pages of the basic registry: houses and their residents, the visit form, the visit plan,
coverage (table, map, export) and imports. Thin: selectors read, commands write."""

from __future__ import annotations

import uuid
from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.generic import DetailView, ListView, TemplateView

from anshun.exports import RowsSource, export_response
from anshun.provenance import demo_apps
from anshun.views import ScopedPageMixin, service_worker_response
from incidents.models import IncidentCategory
from registry import selectors
from registry.models import RegistryImport
from registry.policy import POLICY
from registry.services import imports, records
from registry.services.visits import VisitInput, house_visit, unit_visit
from special_groups.crypto import mask_name, mask_phone

PAGE_SIZE = 50


def _demo_context() -> dict:
    return {"registry_demo": "registry" in demo_apps()}


class HouseListView(ScopedPageMixin, ListView):
    """Houses in the actor's villages; ``?id_number=`` finds residents by their ID number."""

    template_name = "registry/houses.html"
    capability = "registry.view"
    selector = staticmethod(selectors.houses_visible_to)
    paginate_by = PAGE_SIZE
    context_object_name = "houses"

    def selector_arguments(self) -> dict:
        return {
            "village_code": self.request.GET.get("village", "")[:12] or None,
            "grid_code": self.request.GET.get("grid", "")[:15] or None,
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        number = self.request.GET.get("id_number", "")[:24]
        found = []
        if number:
            found = list(selectors.resident_by_id_number(actor=self.request.user, id_number=number)[:20])
        context.update(_demo_context(), id_number=number, found=found, searched=bool(number))
        return context


class HouseView(ScopedPageMixin, DetailView):
    """One house: its address, use, current residents (masked, with the neutral mark) and visits."""

    template_name = "registry/house.html"
    capability = "registry.view"
    selector = staticmethod(selectors.houses_visible_to)
    context_object_name = "house"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        house = self.object
        context.update(
            residents=selectors.residents_of(actor=self.request.user, house=house),
            visits=list(selectors.visits_visible_to(actor=self.request.user).filter(house=house)[:10]),
            may_record=POLICY.can("house_visit", actor=self.request.user),
            categories=IncidentCategory.objects.filter(is_active=True).order_by("code")
            if POLICY.can("house_visit", actor=self.request.user)
            else [],
            today=timezone.localdate(),
            **_demo_context(),
        )
        return context

    def post(self, request, *args, **kwargs):
        """Reveal one resident's full data with a stated purpose (logged first)."""
        self.object = self.get_object()
        resident = selectors.resident_of(
            actor=request.user, house=self.object, pk=_int(request.POST.get("resident"))
        )
        if resident is None:
            raise Http404
        try:
            records.resident_reveal(
                actor=request.user, resident=resident, purpose=request.POST.get("purpose", "")
            )
        except ValidationError as exc:
            context = self.get_context_data(object=self.object, errors=exc.messages)
            return self.render_to_response(context, status=400)
        context = self.get_context_data(object=self.object, revealed=resident)
        return self.render_to_response(context)


class VisitFormView(HouseView):
    """The phone form: with JavaScript it goes through the outbox (``static/js/visit_outbox.js``);
    without, it is posted here and recorded at once."""

    template_name = "registry/visit.html"
    capability = "registry.record"

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        try:
            data = visit_input(request.POST)
            client = _uuid(request.POST.get("client_uuid"))
            visit, _created = house_visit(
                actor=request.user, house=self.object, data=data, client_uuid=client
            )
        except ValidationError as exc:
            errors = exc.messages
            return self.render_to_response(
                self.get_context_data(object=self.object, errors=errors), status=400
            )
        messages.success(request, _("Visit recorded."))
        return redirect("registry:house", pk=self.object.pk)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _uuid(value) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise ValidationError({"client_uuid": _("Not a valid client id.")}) from exc


def _holds_nul(value) -> bool:
    """PostgreSQL cannot store NUL in text: refused anywhere in a visit before anything is read."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False


def visit_input(data) -> VisitInput:
    """A visit from a form or JSON body: field errors for anything malformed, never a 500."""

    def many(name):
        if hasattr(data, "getlist"):
            return data.getlist(name)
        value = data.get(name) or []
        return value if isinstance(value, list) else [value]

    if _holds_nul(dict(data.lists()) if hasattr(data, "lists") else data):
        raise ValidationError({"note": _("The note holds a character that cannot be stored.")})
    try:
        visited_on = date.fromisoformat(str(data.get("visited_on") or timezone.localdate().isoformat()))
    except ValueError as exc:
        raise ValidationError({"visited_on": _("Not a date (YYYY-MM-DD).")}) from exc
    moved_out = [_int(v) for v in many("moved_out")]
    if None in moved_out:
        raise ValidationError({"moved_out": _("Name only people who live in this house.")})
    phones = {}
    raw_phones = data.get("phones") if not hasattr(data, "getlist") else None
    if isinstance(raw_phones, dict):
        items = raw_phones.items()
    else:
        items = [(k[len("phone_") :], v) for k, v in data.items() if k.startswith("phone_") and v]
    for key, value in items:
        if _int(key) is None or not isinstance(value, str):
            raise ValidationError({"phones": _("Name only people who live in this house.")})
        phones[_int(key)] = value
    new = data.get("new_residents") if not hasattr(data, "getlist") else None
    if new is None:
        new = []
        if data.get("new_name"):
            new.append({k: data.get(f"new_{k}", "") for k in ("name", "id_number", "kind", "phone")})
    if not isinstance(new, list) or not all(isinstance(r, dict) for r in new):
        raise ValidationError({"new_residents": _("Give each new resident's name and ID number.")})
    incident = None
    category_code = str(data.get("incident_category") or "")
    if category_code:
        category = IncidentCategory.objects.filter(code=category_code[:40], is_active=True).first()
        if category is None:
            raise ValidationError({"incident_category": _("Choose a category.")})
        incident = {"category": category, "description": str(data.get("incident_description") or "")[:2000]}
    note = data.get("note") or ""
    if not isinstance(note, str) or "\x00" in note:
        raise ValidationError({"note": _("The note holds a character that cannot be stored.")})
    return VisitInput(
        visited_on=visited_on,
        note=note,
        moved_out=moved_out,
        phones=phones,
        new_residents=new,
        incident=incident,
    )


class UnitListView(ScopedPageMixin, ListView):
    """Units in the actor's villages: kind, address, contact (masked) and the campus note of schools."""

    template_name = "registry/units.html"
    capability = "registry.view"
    selector = staticmethod(selectors.units_visible_to)
    paginate_by = PAGE_SIZE
    context_object_name = "units"

    def selector_arguments(self) -> dict:
        return {"village_code": self.request.GET.get("village", "")[:12] or None}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = [
            (unit, mask_name(unit.contact_name), mask_phone(unit.contact_phone)) for unit in context["units"]
        ]
        context["may_record"] = POLICY.can("unit_visit", actor=self.request.user)
        context.update(_demo_context())
        return context


class UnitVisitView(ScopedPageMixin, DetailView):
    """A visit to a unit, through the same outbox as a house's."""

    template_name = "registry/unit_visit.html"
    capability = "registry.record"
    selector = staticmethod(selectors.units_visible_to)
    context_object_name = "unit"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            categories=IncidentCategory.objects.filter(is_active=True).order_by("code"),
            today=timezone.localdate(),
        )
        return context

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        try:
            data = visit_input(request.POST)
            client = _uuid(request.POST.get("client_uuid"))
            unit_visit(actor=request.user, unit=self.object, data=data, client_uuid=client)
        except ValidationError as exc:
            return self.render_to_response(
                self.get_context_data(object=self.object, errors=exc.messages), status=400
            )
        messages.success(request, _("Visit recorded."))
        return redirect("registry:units")


class VisitPlanView(ScopedPageMixin, ListView):
    """Houses due a visit this period, in one of the actor's grids."""

    template_name = "registry/plan.html"
    capability = "registry.record"
    selector = staticmethod(selectors.visit_plan)
    paginate_by = PAGE_SIZE
    context_object_name = "houses"

    def selector_arguments(self) -> dict:
        return {"grid_code": self.request.GET.get("grid", "")[:15] or None}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            grids=selectors.grids_for_plan(actor=self.request.user),
            grid=self.request.GET.get("grid", ""),
            period_start=selectors.period_start(),
            **_demo_context(),
        )
        return context


LEVEL_LABELS = {
    "township": gettext_lazy("Township"),
    "office": gettext_lazy("Grid office"),
    "grid": gettext_lazy("Grid"),
}


class CoverageView(ScopedPageMixin, TemplateView):
    """Houses visited this period / houses, per township, grid office or grid: table, map, export."""

    template_name = "registry/coverage.html"
    capability = "registry.view"

    def get(self, request, *args, **kwargs):
        level = request.GET.get("level", "township")
        if level not in selectors.LEVELS:
            level = "township"
        if request.GET.get("format") == "json":
            return JsonResponse({"offices": selectors.coverage_points(actor=request.user)})
        rows = selectors.coverage(actor=request.user, level=level)
        if "export" in request.GET:
            return export_response(
                request,
                capability="registry.view",
                filename=f"visit-coverage-{level}",
                headers=[
                    pgettext("coverage", "Code"),
                    LEVEL_LABELS[level],
                    _("Houses"),
                    _("Visited this period"),
                    _("Coverage rate"),
                ],
                source=RowsSource([[r.code, r.name, r.houses, r.visited, r.rate] for r in rows]),
            )
        houses = sum(r.houses for r in rows)
        visited = sum(r.visited for r in rows)
        context = self.get_context_data(
            rows=rows,
            level=level,
            level_label=LEVEL_LABELS[level],
            levels=LEVEL_LABELS.items(),
            houses=houses,
            visited=visited,
            rate=round(100 * visited / houses, 1) if houses else 0.0,
            period_start=selectors.period_start(),
            **_demo_context(),
        )
        return self.render_to_response(context)


class ImportView(ScopedPageMixin, ListView):
    """Upload a file (checked and written by a worker); the uploader's imports with their progress."""

    template_name = "registry/import.html"
    capability = "registry.import"
    selector = staticmethod(selectors.imports_for)
    paginate_by = 20
    context_object_name = "imports"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["kinds"] = RegistryImport.Kind.choices
        return context

    def post(self, request, *args, **kwargs):
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationError({"file": _("Choose a CSV or XLSX file.")})
            job = imports.import_start(actor=request.user, kind=request.POST.get("kind", ""), upload=upload)
        except ValidationError as exc:
            self.object_list = self.get_queryset()
            context = self.get_context_data(errors=exc.messages)
            return self.render_to_response(context, status=400)
        return redirect("registry:import-detail", pk=job.pk)


class ImportDetailView(ScopedPageMixin, DetailView):
    template_name = "registry/import_detail.html"
    capability = "registry.import"
    selector = staticmethod(selectors.imports_for)
    context_object_name = "job"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        if request.GET.get("format") == "json":
            return JsonResponse(import_summary(self.object))
        return self.render_to_response(
            self.get_context_data(object=self.object, summary=import_summary(self.object))
        )


def import_summary(job: RegistryImport) -> dict:
    """The shape ``static/js/export_job.js`` polls, so the import reuses the export's progress bar."""
    finished = {RegistryImport.Status.DONE: "done", RegistryImport.Status.REJECTED: "failed"}
    return {
        "label": str(job.get_status_display()),
        "state": finished.get(job.status, job.status),
        "percent": job.percent,
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "error": "; ".join(str(e) for e in job.errors[:20]),
        "download_url": None,
    }


def service_worker(request):
    """The visit forms' service worker (``static/js/registry_sw.js``), served under /registry/ so
    its scope covers them (the incidents' worker covers /incidents/ only)."""
    return service_worker_response(script="js/registry_sw.js", scope="/registry/")


class RevealLogView(ScopedPageMixin, ListView):
    """The auditors' trail of residents' data revealed (who, when, whose record, where, why), as
    the special populations' access log; the resident is named by record number only."""

    template_name = "registry/reveals.html"
    capability = "audit.view"
    selector = staticmethod(selectors.reveals_visible_to)
    paginate_by = 100
    context_object_name = "records"
