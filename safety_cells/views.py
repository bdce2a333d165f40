"""Pages: the safe-cell registry with its map and evaluations, the phone patrol-log form,
and the prevention coverage page. All read through scoped selectors."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import DetailView, FormView, ListView, TemplateView

from anshun import forms as strict
from anshun.exports import KeysetSource, RowsSource, export_response
from anshun.files import TokenOrSessionMixin, file_response
from anshun.provenance import demo_apps, mark_figure, marks_context
from anshun.views import ScopedPageMixin
from grids.selectors import jurisdiction_extent, regions_visible_to
from safety_cells import selectors, services
from safety_cells.forms import CameraForm, DesignateForm, MemberForm, UnitForm
from safety_cells.models import Camera, CellType, EvaluationPhoto, PreventionUnit, SafetyCell

EXPORT_FORMATS = ("xlsx", "csv")
# Region codes offered as suggestions on the unit form (any code in the jurisdiction is accepted).
PLACE_HINTS = 2000


def _map_config() -> dict:
    return {
        "tileUrl": settings.MAP_TILE_URL,
        "tileAttribution": settings.MAP_TILE_ATTRIBUTION,
        "center": settings.LEAFLET_CONFIG["DEFAULT_CENTER"],
        "zoom": settings.LEAFLET_CONFIG["DEFAULT_ZOOM"],
    }


def _point(geometry) -> list[float] | None:
    return [geometry.y, geometry.x] if geometry is not None else None


class SafetyCellRegistryView(ScopedPageMixin, ListView):
    """Every safe cell in the viewer's jurisdiction, on a map and in a table (exportable)."""

    template_name = "safety_cells/registry.html"
    capability = "safety.view"
    selector = staticmethod(selectors.safety_cells_visible_to)
    context_object_name = "cells"

    def selector_arguments(self) -> dict:
        params = self.request.GET
        return {"cell_type": params.get("type") or None, "demonstration_only": params.get("demo") == "1"}

    def get(self, request, *args, **kwargs):
        export = request.GET.get("export")
        if export in EXPORT_FORMATS:
            return export_response(
                request,
                capability="safety.view",
                filename="safety-cells",
                headers=[
                    _("Safe cell"),
                    _("Type"),
                    _("Region code"),
                    _("Region"),
                    _("Demonstration site"),
                    _("Designated on"),
                    _("Valid until"),
                    _("Latest score"),
                    _("Maximum"),
                ],
                source=KeysetSource(
                    self.get_queryset(),
                    row=lambda c: [
                        c.name,
                        c.cell_type.name,
                        c.region.code,
                        c.region.name,
                        c.is_demonstration_site,
                        c.designated_on,
                        c.valid_until,
                        c.latest_score,
                        c.latest_max,
                    ],
                ),
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        cells = context["cells"]
        context["types"] = CellType.objects.filter(is_active=True)
        context["markers"] = [
            {
                "id": c.pk,
                "name": c.name,
                "type": c.cell_type.name,
                "demo": c.is_current_demonstration_site(),
                "latlng": _point(c.location),
            }
            for c in cells
            if c.location is not None
        ]
        context["map_config"] = _map_config()
        context["query"] = self.request.GET.urlencode()
        context["meetings"] = selectors.meetings_visible_to(actor=self.request.user)[:8]
        return context


class SafetyCellDetailView(ScopedPageMixin, DetailView):
    template_name = "safety_cells/cell_detail.html"
    capability = "safety.view"
    selector = staticmethod(selectors.safety_cells_visible_to)
    context_object_name = "cell"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        cell = context["cell"]
        context["evaluations"] = selectors.evaluations_visible_to(actor=self.request.user, cell_id=cell.pk)
        context["criteria"] = cell.cell_type.criteria.all()
        context["markers"] = [
            {"id": cell.pk, "name": cell.name, "latlng": _point(cell.location), "demo": True}
        ]
        context["map_config"] = _map_config()
        context["can_evaluate"] = context["can_designate"] = self.request.user.can("safety.manage")
        return context


class EvaluationPhotoView(TokenOrSessionMixin, ScopedPageMixin, View):
    """One evidence photo, to whoever may see its evaluation (pages and tokens); out of scope and
    unknown are the same 404. See anshun.files for the headers."""

    capability = "safety.view"
    selector = staticmethod(selectors.evaluations_visible_to)

    def get(self, request, pk: int, photo_id: int):
        evaluation = self.get_queryset().filter(pk=pk).values("pk")
        photo = EvaluationPhoto.objects.filter(evaluation__in=evaluation, pk=photo_id).first()
        if photo is None:
            raise Http404
        return file_response(
            stored=photo.image, content_type=photo.content_type, display_name=photo.original_name
        )


class EvaluationForm(forms.Form):
    """One score field per criterion of the cell's type; the service checks them again."""

    evaluated_on = forms.DateField(
        label=gettext_lazy("Evaluated on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    notes = forms.CharField(
        label=gettext_lazy("Notes"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    photo = forms.FileField(label=gettext_lazy("Evidence photo"), required=False)

    def __init__(self, *args, criteria=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        for criterion in self.criteria:
            self.fields[f"score_{criterion.pk}"] = forms.IntegerField(
                label=f"{criterion.name} (0–{criterion.max_score})",
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )

    def scores(self) -> dict[int, int]:
        return {c.pk: self.cleaned_data[f"score_{c.pk}"] for c in self.criteria}


class EvaluationCreateView(ScopedPageMixin, FormView):
    """Score a safe cell against its checklist, with an evidence photo."""

    template_name = "safety_cells/evaluation_form.html"
    capability = "safety.manage"
    selector = staticmethod(selectors.safety_cells_visible_to)
    form_class = EvaluationForm

    @cached_property
    def cell(self) -> SafetyCell:
        return get_object_or_404(self.get_queryset().select_related("cell_type"), pk=self.kwargs["pk"])

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "criteria": self.cell.cell_type.criteria.all()}

    def get_initial(self):
        return {"evaluated_on": timezone.localdate()}

    def form_valid(self, form):
        photo = form.cleaned_data["photo"]
        try:
            services.evaluation_record(
                actor=self.request.user,
                cell=self.cell,
                scores=form.scores(),
                evaluated_on=form.cleaned_data["evaluated_on"],
                notes=form.cleaned_data["notes"],
                photos=[photo] if photo else [],
            )
        except ValidationError as exc:
            return self.form_invalid(strict.add_service_errors(form, exc, {"photos": "photo"}))
        messages.success(self.request, _("Evaluation saved."))
        return redirect("safety_cells:cell", pk=self.cell.pk)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "cell": self.cell}


class PatrolLogForm(forms.Form):
    unit = forms.ModelChoiceField(label=gettext_lazy("Unit"), queryset=None)
    started_at = forms.DateTimeField(
        label=gettext_lazy("Started at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ended_at = forms.DateTimeField(
        label=gettext_lazy("Ended at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    route = forms.CharField(widget=forms.HiddenInput, required=False)
    observations = forms.CharField(
        label=gettext_lazy("Observations"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    client_uuid = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class PatrolLogCreateView(ScopedPageMixin, FormView):
    """A patrol log on a phone: pick the unit, the start and end, and draw or record the route."""

    template_name = "safety_cells/patrol_form.html"
    capability = "patrol.log"
    selector = staticmethod(selectors.patrol_units_for)
    form_class = PatrolLogForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["units"] = self.get_queryset()
        return kwargs

    def get_initial(self):
        initial = {"client_uuid": uuid.uuid4()}
        unit = self.request.GET.get("unit", "")
        if unit.isascii() and unit.isdigit():
            initial["unit"] = int(unit)  # the form's choices are the actor's units: others are not offered
        return initial

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            log = services.patrol_log(
                actor=self.request.user,
                unit=data["unit"],
                started_at=data["started_at"],
                ended_at=data["ended_at"],
                route=data["route"] or None,
                observations=data["observations"],
                client_uuid=data["client_uuid"],
            )
        except ValidationError as exc:
            return self.form_invalid(strict.add_service_errors(form, exc))
        messages.success(self.request, _("Patrol logged: %(unit)s.") % {"unit": log.unit})
        return redirect("safety_cells:patrols")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["map_config"] = _map_config()
        return context


class PatrolLogListView(ScopedPageMixin, ListView):
    template_name = "safety_cells/patrol_list.html"
    capability = "safety.view"
    selector = staticmethod(selectors.patrol_logs_visible_to)
    context_object_name = "logs"
    paginate_by = 50

    def get(self, request, *args, **kwargs):
        export = request.GET.get("export")
        if export in EXPORT_FORMATS:
            return export_response(
                request,
                capability="safety.view",
                filename="patrol-logs",
                headers=[
                    _("Unit"),
                    _("Region code"),
                    _("Started at"),
                    _("Ended at"),
                    _("Observations"),
                    _("Incidents"),
                ],
                source=KeysetSource(
                    self.get_queryset().defer("route"),
                    row=lambda p: [
                        p.unit.name,
                        p.unit.region.code,
                        p.started_at,
                        p.ended_at,
                        p.observations,
                        p.incident_count,
                    ],
                ),
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_log"] = self.request.user.can("patrol.log")
        return context


def _days(value: str | None, default: int = 7) -> int:
    return int(value) if value and value.isdigit() and 0 < int(value) <= 365 else default


class CoverageView(ScopedPageMixin, TemplateView):
    """Joint-defence coverage per township, patrol gaps, and Skynet coverage per grid."""

    template_name = "safety_cells/coverage.html"
    capability = "safety.view"
    selector = staticmethod(selectors.prevention_units_visible_to)

    def get(self, request, *args, **kwargs):
        self.get_queryset()  # the scope check every page makes
        export = request.GET.get("export")
        if export in EXPORT_FORMATS:
            return self._export(export)
        return super().get(request, *args, **kwargs)

    def _export(self, export_format: str):
        user = self.request.user
        if self.request.GET.get("table") == "grids":
            grids = (
                selectors.coverage_cameras_by_grid(actor=user)
                .select_related("grid")
                .only("camera_count", "cameras_online", "grid__code", "grid__name")
            )
            return export_response(
                self.request,
                capability="safety.view",
                filename="camera-coverage-by-grid",
                headers=[_("Grid code"), _("Grid"), _("Skynet cameras"), _("Online")],
                source=KeysetSource(
                    grids, row=lambda g: [g.grid.code, g.grid.name, g.camera_count, g.cameras_online]
                ),
            )
        rows = selectors.coverage_by_township(actor=user)
        return export_response(
            self.request,
            capability="safety.view",
            filename="joint-defence-coverage",
            headers=[_("Township code"), _("Township"), _("Villages"), _("Covered"), _("Coverage (%)")],
            source=RowsSource(
                [[r["parent__code"], r["parent__name"], r["villages"], r["covered"], r["rate"]] for r in rows]
            ),
        )

    def get_context_data(self, **kwargs):
        """Every figure comes from the coverage tables (safety_cells.coverage), as of their latest
        refresh; the map fetches its layers for the view it shows (/api/map/...)."""
        context = super().get_context_data(**kwargs)
        user = self.request.user
        days = _days(self.request.GET.get("days"))
        context["days"] = days
        context["as_of"] = selectors.coverage_as_of()
        context["coverage"] = selectors.coverage_joint_defence(actor=user)
        context["townships"] = selectors.coverage_by_township(actor=user)
        context["camera_coverage"] = selectors.coverage_camera_grids(actor=user)
        context["idle_villages"] = list(selectors.coverage_idle_patrol_villages(actor=user, days=days)[:200])
        context["gaps"] = list(
            selectors.coverage_patrol_gaps(actor=user, days=days)
            .select_related("grid")
            .only("grid__code", "grid__name")[:200]
        )
        context["devices"] = list(selectors.coverage_devices_by_village(actor=user)[:200])
        context["unwatched"] = list(selectors.coverage_unwatched_incidents(actor=user, days=days)[:50])
        # Every figure here is marked by the provenance rule (anshun.provenance): the city's
        # joint-defence rate may carry the article as its source, the rest is demo data at most
        # (the tables carry the mark in their headings).
        apps = demo_apps()
        context["marks"] = {
            "joint_defence": mark_figure(
                "safety_cells.joint_defence_coverage", context["coverage"].rate, region=user.region, apps=apps
            ),
            "cameras": mark_figure(
                "safety_cells.camera_grid_coverage", context["camera_coverage"].rate, region=None, apps=apps
            ),
            "tables": mark_figure("safety_cells.coverage_tables", None, region=None, apps=apps),
        }
        context.update(marks_context(apps, "safety_cells"))
        context["map_data"] = {
            **_map_config(),
            "extent": jurisdiction_extent(actor=user),
            "days": days,
            "layers": {
                "townships": "/api/map/township-coverage/view/",
                "gaps": "/api/map/patrol-gaps/view/",
                "cameras": "/api/map/cameras/view/",
                "patrols": "/api/map/patrol-routes/view/",
            },
        }
        context["now"] = timezone.now()
        return context


# ---- demonstration sites, cameras and the "1+4" structure ------------------------------------


class _CommandFormView(ScopedPageMixin, FormView):
    """A form page whose valid input goes to one command; the command's field errors land on the
    form (400, with what was typed), its refusals answer 403/404 as on the API."""

    field_map: ClassVar[dict[str, str]] = {}

    def run_command(self, form):
        raise NotImplementedError

    def form_valid(self, form):
        try:
            return self.run_command(form)
        except ValidationError as exc:
            return self.form_invalid(strict.add_service_errors(form, exc, self.field_map))

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


class DesignateView(_CommandFormView):
    """Designate a safe cell a demonstration site (示范点) for a period: ``demonstration_site_designate``."""

    template_name = "safety_cells/designate_form.html"
    capability = "safety.manage"
    selector = staticmethod(selectors.safety_cells_visible_to)
    form_class = DesignateForm

    @cached_property
    def cell(self) -> SafetyCell:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_initial(self):
        cell = self.cell
        return {"designated_on": cell.designated_on or timezone.localdate(), "valid_until": cell.valid_until}

    def run_command(self, form):
        services.demonstration_site_designate(actor=self.request.user, cell=self.cell, **form.cleaned_data)
        messages.success(
            self.request, _("%(cell)s is designated a demonstration site.") % {"cell": self.cell}
        )
        return redirect("safety_cells:cell", pk=self.cell.pk)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "cell": self.cell}


class CameraListView(ScopedPageMixin, ListView):
    """Skynet camera points in the viewer's jurisdiction, newest registrations first to find."""

    template_name = "safety_cells/camera_list.html"
    capability = "safety.view"
    selector = staticmethod(selectors.cameras_visible_to)
    context_object_name = "cameras"
    paginate_by = 50

    def selector_arguments(self) -> dict:
        status = self.request.GET.get("status")
        return {"status": status if status in Camera.Status.values else None}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_register"] = self.request.user.can("safety.manage")
        context["statuses"] = Camera.Status.choices
        return context


class CameraCreateView(_CommandFormView):
    """Register a camera point with a map picker: ``camera_register`` places it in its village and
    grid and refuses a point outside the official's jurisdiction (the error shows under the map)."""

    template_name = "safety_cells/camera_form.html"
    capability = "safety.manage"
    selector = staticmethod(selectors.cameras_visible_to)
    form_class = CameraForm
    field_map: ClassVar[dict[str, str]] = {"location": "latitude"}

    def get_initial(self):
        return {"phase": 4, "status": Camera.Status.ONLINE}

    def run_command(self, form):
        camera = services.camera_register(actor=self.request.user, **form.command_arguments())
        messages.success(
            self.request,
            _("Camera %(code)s registered in %(village)s.")
            % {"code": camera.code, "village": camera.village.name},
        )
        return redirect("safety_cells:cameras")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["map_config"] = {**_map_config(), "extent": jurisdiction_extent(actor=self.request.user)}
        return context


class UnitListView(ScopedPageMixin, ListView):
    """The "1+4" structure in the viewer's jurisdiction: the count of units per level and kind,
    and the units of one level (or all) with their member counts."""

    template_name = "safety_cells/unit_list.html"
    capability = "safety.view"
    selector = staticmethod(selectors.prevention_units_visible_to)
    context_object_name = "units"
    paginate_by = 50

    def selector_arguments(self) -> dict:
        level = self.request.GET.get("level")
        return {"level": level if level in PreventionUnit.Level.values else None}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["levels"] = selectors.unit_counts_by_level(actor=self.request.user)
        context["level"] = self.selector_arguments()["level"]
        context["can_manage"] = self.request.user.can("safety.manage")
        return context


class UnitCreateView(_CommandFormView):
    """Set up a unit at one of the four levels: ``prevention_unit_create``."""

    template_name = "safety_cells/unit_form.html"
    capability = "safety.manage"
    selector = staticmethod(selectors.prevention_units_visible_to)
    form_class = UnitForm

    def get_initial(self):
        level = self.request.GET.get("level")
        return {"level": level} if level in PreventionUnit.Level.values else {}

    def run_command(self, form):
        unit = services.prevention_unit_create(actor=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("Unit %(unit)s set up.") % {"unit": unit.name})
        return redirect("safety_cells:unit", pk=unit.pk)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["places"] = (
            regions_visible_to(actor=self.request.user)
            .select_related(None)
            .only("code", "name")[:PLACE_HINTS]
        )
        return context


class UnitDetailView(ScopedPageMixin, DetailView):
    """One unit: its members (with a form to add one) and its latest patrols."""

    template_name = "safety_cells/unit_detail.html"
    capability = "safety.view"
    selector = staticmethod(selectors.prevention_units_visible_to)
    context_object_name = "unit"

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        if not request.user.can("safety.manage"):
            raise PermissionDenied
        form = MemberForm(request.POST)
        if form.is_valid():
            try:
                member = services.unit_member_add(actor=request.user, unit=self.object, **form.cleaned_data)
            except ValidationError as exc:
                strict.add_service_errors(form, exc)
            else:
                messages.success(request, _("%(name)s added to the unit.") % {"name": member.name})
                return redirect("safety_cells:unit", pk=self.object.pk)
        return self.render_to_response(
            self.get_context_data(object=self.object, member_form=form), status=400
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        unit = self.object
        user = self.request.user
        context["members"] = unit.members.order_by("name")
        context["patrols"] = selectors.patrol_logs_visible_to(actor=user, unit_id=unit.pk).defer("route")[:20]
        context["can_manage"] = user.can("safety.manage")
        context["can_log"] = (
            user.can("patrol.log") and unit.is_active and unit.kind != unit.Kind.SECURITY_COMMITTEE
        )
        context["member_form"] = kwargs.get("member_form") or MemberForm()
        return context
