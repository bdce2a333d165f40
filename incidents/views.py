"""Pages for incidents: the phone report form, lists with map and export, the dispatcher's
queue and the incident's own page. Every read goes through a scoped selector."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.gis.geos import Point
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.db.models import FloatField, Func
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import DetailView, ListView, TemplateView

from anshun.api.pagination import BadCursor, Keyset, KeysetPage, Segment, capped_count
from anshun.exports import KeysetSource, export_response
from anshun.files import TokenOrSessionMixin, file_response
from anshun.views import ScopedPageMixin
from grids.models import GridOffice
from incidents import selectors
from incidents.categories import category_label
from incidents.filters import IncidentFilter
from incidents.models import Incident, IncidentAttachment
from incidents.panels import render_panels
from incidents.policy import POLICY
from incidents.services import workflow
from incidents.services.open311 import set_public_note
from incidents.services.reporting import mark_notifications_read, report_incident

EXPORT_HEADERS = [
    gettext_lazy("ID"),
    gettext_lazy("Status"),
    gettext_lazy("Category"),
    gettext_lazy("Priority"),
    gettext_lazy("Description"),
    gettext_lazy("Grid"),
    gettext_lazy("Handling unit"),
    gettext_lazy("Reported at"),
    gettext_lazy("Due at"),
    gettext_lazy("Closed at"),
    gettext_lazy("Longitude"),
    gettext_lazy("Latitude"),
]


# A list page counts its rows up to here and then says "more than" (one bounded query per view).
PAGE_COUNT_CAP = 1000


def map_config(**extra) -> dict:
    return {
        "tileUrl": settings.MAP_TILE_URL,
        "tileAttribution": settings.MAP_TILE_ATTRIBUTION,
        "center": settings.LEAFLET_CONFIG["DEFAULT_CENTER"],
        "zoom": settings.LEAFLET_CONFIG["DEFAULT_ZOOM"],
        **extra,
    }


def incident_points(incidents) -> list[dict]:
    return [
        {
            "id": i.pk,
            "lat": i.location.y,
            "lng": i.location.x,
            "status": i.status,
            "label": f"#{i.pk} {i.category.label} · {i.get_status_display()}",
            "url": reverse("incidents:detail", args=[i.pk]),
        }
        for i in incidents
        if i.location
    ]


class IncidentListView(ScopedPageMixin, ListView):
    """Any filtered list, on a map and as XLSX/CSV; grid workers see their own grids' incidents.

    Pages are walked by keyset (``?cursor=``, the "next"/"previous" links): the 1,009th page
    costs what the first does. The count shown stops at ``PAGE_COUNT_CAP`` ("more than 1,000")
    instead of counting the whole jurisdiction on every view."""

    template_name = "incidents/list.html"
    selector = staticmethod(selectors.incidents_visible_to)
    paginate_by = None  # keyset pages, below
    page_size = 50
    title = gettext_lazy("Incidents")

    def get(self, request, *args, **kwargs):
        self.filterset = IncidentFilter(request.GET or None, queryset=self.get_queryset(), request=request)
        if request.GET.get("export") in ("xlsx", "csv"):
            return self.export(request.GET["export"])
        return super().get(request, *args, **kwargs)

    def filtered(self):
        if not self.filterset.is_bound:
            return self.filterset.queryset
        return self.filterset.qs if self.filterset.is_valid() else self.filterset.queryset.none()

    def keyset(self, queryset) -> tuple[Keyset, list[Segment]]:
        """The list's order (newest first) as one part."""
        return Keyset(queryset, ordering=("-reported_at", "-id"), purpose="incidents:list"), [Segment()]

    def keyset_page(self, queryset) -> KeysetPage:
        cursors = self.request.GET.getlist("cursor")
        if len(cursors) > 1:
            raise BadRequest("one cursor")
        keyset, segments = self.keyset(queryset)
        try:
            return keyset.page(
                queryset,
                user=self.request.user,
                size=self.page_size,
                cursor=cursors[0] if cursors and cursors[0] else None,
                segments=segments,
            )
        except BadCursor:
            raise BadRequest("not a cursor this list gave out") from None

    def get_context_data(self, **kwargs):
        queryset = self.filtered()
        page = self.keyset_page(queryset)
        count, exact = capped_count(queryset, PAGE_COUNT_CAP)
        context = super().get_context_data(object_list=page.rows, **kwargs)
        query = self.request.GET.copy()
        for name in ("page", "export", "cursor"):
            query.pop(name, None)
        context.update(
            filter=self.filterset,
            title=self.title,
            query=query.urlencode(),
            next_cursor=page.next_cursor,
            previous_cursor=page.previous_cursor,
            count=count,
            count_exact=exact,
            points=incident_points(page.rows),
            map_config=map_config(),
        )
        return context

    def export(self, export_format: str):
        """The filtered rows as plain values, read in keyset batches over (reported_at, id) (the
        ``incidents_live_reported`` index), streamed as they are read: no model instance,
        relation or label lookup per row (labels are translated once)."""
        status_labels = {value: str(label) for value, label in Incident.Status.choices}
        priority_labels = {value: str(label) for value, label in Incident.Priority.choices}
        values = (
            self.filtered()
            .annotate(
                export_longitude=Func("location", function="ST_X", output_field=FloatField()),
                export_latitude=Func("location", function="ST_Y", output_field=FloatField()),
            )
            .values_list(
                "pk",
                "status",
                "category__code",
                "category__name",
                "priority",
                "description",
                "grid__code",
                "handling_office__name",
                "reported_at",
                "due_at",
                "closed_at",
                "export_longitude",
                "export_latitude",
            )
            .order_by("-reported_at", "-id")
        )

        category_labels: dict[tuple[str, str], str] = {}  # filled while streaming, in its language

        def row(values):
            pk, status, code, name, priority, description, grid, office, *rest = values
            label = category_labels.get((code, name))
            if label is None:
                label = category_labels[code, name] = category_label(code, name)
            return (
                pk,
                status_labels.get(status, status),
                label,
                priority_labels.get(priority, priority),
                description,
                grid,
                office or "",
                *rest,
            )

        return export_response(
            self.request,
            capability="incident.view",
            filename="incidents",
            headers=EXPORT_HEADERS,
            source=KeysetSource(values, row=row),
        )


class DispatchQueueView(IncidentListView):
    """The command centre's work: not yet dispatched first, then overdue, then oldest."""

    selector = staticmethod(selectors.dispatcher_queue)
    capability = "incident.dispatch"
    title = gettext_lazy("Dispatch queue")

    def keyset(self, queryset) -> tuple[Keyset, list[Segment]]:
        """The urgency order as its three parts, each oldest first (``selectors.queue_parts``)."""
        keyset = Keyset(queryset, ordering=selectors.QUEUE_ORDER, purpose="incidents:queue")
        return keyset, [Segment(part) for part in selectors.queue_parts()]


class IncidentDetailView(ScopedPageMixin, DetailView):
    template_name = "incidents/detail.html"
    selector = staticmethod(selectors.incident_detail)
    context_object_name = "incident"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        incident = self.object
        user = self.request.user
        context.update(
            actions=workflow.available_transitions(actor=user, incident=incident),
            offices=GridOffice.objects.visible_to(user).filter(seat__parent=incident.grid.village.parent)
            if user.can("incident.dispatch")
            else [],
            panels=render_panels(request=self.request, incident=incident),
            can_set_public_note=incident.source == Incident.Source.OPEN311
            and POLICY.can("set_public_note", actor=user),
            points=incident_points([incident]),
            map_config=map_config(),
        )
        return context


class AttachmentView(TokenOrSessionMixin, ScopedPageMixin, View):
    """One photo or document of an incident, to whoever may see the incident (pages and tokens);
    out of scope, deleted or unknown are the same 404. See anshun.files for the headers."""

    selector = staticmethod(selectors.incidents_visible_to)

    def get(self, request, pk: int, attachment_id: int):
        incident = self.get_queryset().filter(pk=pk).values("pk")
        attachment = IncidentAttachment.objects.filter(incident__in=incident, pk=attachment_id).first()
        if attachment is None:
            raise Http404
        return file_response(
            stored=attachment.file,
            content_type=attachment.content_type,
            display_name=attachment.original_name,
        )


class IncidentTransitionView(ScopedPageMixin, View):
    """The buttons on the incident page; the service decides whether the move is allowed."""

    selector = staticmethod(selectors.incidents_visible_to)

    def post(self, request, pk: int, name: str):
        if name not in workflow.SERVICES:
            raise Http404
        arguments = {"actor": request.user, "incident_id": pk, "note": request.POST.get("note", "")}
        if request.POST.get("version", "").isdigit():
            arguments["expected_version"] = int(request.POST["version"])
        if name == "dispatch" and request.POST.get("handling_office"):
            # Looked up by code only: whether the caller may send it there is the policy's answer,
            # and a code that names nothing is an office no one can see, so it gets the same one.
            office = GridOffice.objects.filter(code=request.POST["handling_office"]).first()
            arguments["handling_office"] = office or GridOffice()
        if name == "report_handled":
            arguments["attachments"] = request.FILES.getlist("attachments")
        try:
            workflow.SERVICES[name](**arguments)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        except workflow.StaleVersion:
            messages.error(request, _("Someone changed this incident meanwhile; here is the current state."))
        except PermissionDenied as exc:
            messages.error(request, str(exc) or _("You cannot do this."))
        else:
            messages.success(request, _("Done."))
        return redirect("incidents:detail", pk=pk)


class PublicNoteView(ScopedPageMixin, View):
    """The note Open311 readers see for the request's current status; the service decides."""

    selector = staticmethod(selectors.incidents_visible_to)

    def post(self, request, pk: int):
        arguments = {"actor": request.user, "incident_id": pk, "note": request.POST.get("public_note", "")}
        if request.POST.get("version", "").isdigit():
            arguments["expected_version"] = int(request.POST["version"])
        try:
            set_public_note(**arguments)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        except workflow.StaleVersion:
            messages.error(request, _("Someone changed this incident meanwhile; here is the current state."))
        except PermissionDenied as exc:
            messages.error(request, str(exc) or _("You cannot do this."))
        else:
            messages.success(request, _("Done."))
        return redirect("incidents:detail", pk=pk)


class ReportView(ScopedPageMixin, TemplateView):
    """One-handed report on a phone: tap the map or use the phone's position, add a photo.

    With JavaScript the form posts to the API through the phone's outbox
    (static/js/incident_outbox.js, drawn by incident_report.js), which gives each report its
    own client UUID when it is made; without it, it posts here with the UUID of this page.
    """

    template_name = "incidents/report.html"
    capability = "incident.report"
    selector = staticmethod(selectors.incidents_visible_to)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.update(
            categories=selectors.categories_for(actor=user),
            priorities=Incident.Priority.choices,
            client_uuid=uuid.uuid4(),
            map_config=map_config(
                office=user.grid_office.code if user.grid_office_id else None,
                api="/api/",
                user=user.pk,
                csrfCookie=settings.CSRF_COOKIE_NAME,
            ),
            errors=kwargs.get("errors", {}),
        )
        return context

    def post(self, request):
        post = request.POST
        try:
            category = selectors.categories_for(actor=request.user).get(code=post.get("category"))
        except Exception:  # noqa: BLE001 - any bad code is the same field error
            return self.render_to_response(
                self.get_context_data(errors={"category": [_("Choose a category.")]})
            )
        location = None
        try:
            if post.get("longitude") and post.get("latitude"):
                location = Point(float(post["longitude"]), float(post["latitude"]), srid=4326)
            incident, _created = report_incident(
                actor=request.user,
                category=category,
                description=post.get("description", ""),
                location=location,
                priority=post.get("priority") or Incident.Priority.NORMAL,
                client_uuid=uuid.UUID(post["client_uuid"]) if post.get("client_uuid") else None,
                attachments=request.FILES.getlist("attachments"),
                source=Incident.Source.GRID_WORKER,
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "message_dict") else {"__all__": exc.messages}
            return self.render_to_response(self.get_context_data(errors=errors))
        except ValueError:
            return self.render_to_response(
                self.get_context_data(errors={"location": [_("Not a valid place.")]})
            )
        messages.success(request, _("Incident #%(id)s reported.") % {"id": incident.pk})
        return redirect("incidents:detail", pk=incident.pk)


def service_worker(request):
    """Served under /incidents/ so that its scope covers the report form."""
    from django.contrib.staticfiles import finders

    path = finders.find("js/incident_sw.js")
    with open(path, encoding="utf-8") as handle:
        response = HttpResponse(handle.read(), content_type="application/javascript")
    response["Service-Worker-Allowed"] = "/incidents/"
    response["Cache-Control"] = "no-cache"
    return response


class NotificationListView(LoginRequiredMixin, ListView):
    """The user's own in-app notifications (escalations); opening the page marks them read."""

    template_name = "incidents/notifications.html"
    paginate_by = 50

    def get_queryset(self):
        return selectors.notifications_for(actor=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if POLICY.can("mark_notifications_read", actor=self.request.user):
            mark_notifications_read(actor=self.request.user)
        return context
