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
from anshun.views import ScopedPageMixin, service_worker_response
from grids.models import GridOffice
from incidents import selectors
from incidents.categories import category_label
from incidents.filters import IncidentFilter
from incidents.models import Department, Incident, IncidentAssignment, IncidentAttachment, Satisfaction
from incidents.panels import render_panels
from incidents.policy import POLICY
from incidents.services import callbacks as _callbacks  # noqa: F401 - registers record_callback
from incidents.services import workflow
from incidents.services.open311 import set_public_note
from incidents.services.reporting import mark_notifications_read, report_incident
from incidents.services.units import CORRECTABLE, correct_incident, record_part

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
                "handling_department__name",
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
            pk, status, code, name, priority, description, grid, office, department, *rest = values
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
                department or office or "",  # the 主办 unit
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
    """The command centre's work in triage order: overdue, then urgent, then oldest."""

    selector = staticmethod(selectors.dispatcher_queue)
    capability = "incident.dispatch"
    title = gettext_lazy("Dispatch queue")
    purpose = "incidents:queue"

    def keyset(self, queryset) -> tuple[Keyset, list[Segment]]:
        """The triage order as its three parts, each oldest first (``selectors.queue_parts``)."""
        keyset = Keyset(queryset, ordering=selectors.QUEUE_ORDER, purpose=self.purpose)
        return keyset, [Segment(part) for part in selectors.queue_parts()]

    def get_context_data(self, **kwargs):
        """Each row carries its possible duplicates (并案 candidates): one query for the page."""
        context = super().get_context_data(**kwargs)
        if self.request.user.can("incident.dispatch"):
            mark_duplicates(actor=self.request.user, incidents=context["object_list"])
        return context


def mark_duplicates(*, actor, incidents) -> None:
    """Set ``possible_duplicates`` on each incident of a page (``duplicates.candidates_for``)."""
    from incidents.services.duplicates import candidates_for

    rows = list(incidents)
    found = candidates_for(actor=actor, incidents=rows)
    for incident in rows:
        incident.possible_duplicates = found.get(incident.pk, [])


class UnitInboxView(DispatchQueueView):
    """A handling unit's own work (a department's or a grid office's open shares, 主办 and
    协办), in the same triage order as every queue."""

    selector = staticmethod(selectors.unit_inbox)
    capability = "incident.handle"
    title = gettext_lazy("My unit's work")
    purpose = "incidents:inbox"


class IncidentDetailView(ScopedPageMixin, DetailView):
    template_name = "incidents/detail.html"
    selector = staticmethod(selectors.incident_detail)
    context_object_name = "incident"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        incident = self.object
        user = self.request.user
        can_dispatch = user.can("incident.dispatch")
        offices, departments = (
            selectors.dispatch_units(actor=user, incident=incident) if can_dispatch else ([], [])
        )
        routed = selectors.routed_unit(actor=user, incident=incident) if can_dispatch else None
        shares = list(incident.assignments.all())
        context.update(
            actions=workflow.available_transitions(actor=user, incident=incident),
            offices=offices,
            departments=departments,
            lead_choice=unit_value(routed) if routed is not None else f"office:{incident.grid.office.code}",
            routed=routed,
            shares=[s for s in shares if s.state != IncidentAssignment.State.WITHDRAWN],
            my_shares=[s for s in shares if _my_open_assist(user, s)],
            can_correct=can_dispatch and incident.status in CORRECTABLE and incident.deleted_at is None,
            categories=selectors.categories_for(actor=user) if can_dispatch else [],
            priorities=Incident.Priority.choices,
            closing_reason=_closing_reason(incident),
            panels=render_panels(request=self.request, incident=incident),
            can_record_callback=incident.status == Incident.Status.CLOSED
            and incident.deleted_at is None
            and POLICY.can("record_callback", actor=user),
            satisfactions=Satisfaction.choices,
            can_set_public_note=incident.source == Incident.Source.OPEN311
            and POLICY.can("set_public_note", actor=user),
            points=incident_points([incident]),
            map_config=map_config(),
            **merge_context(user=user, incident=incident, can_dispatch=can_dispatch),
        )
        return context


def merge_context(*, user, incident: Incident, can_dispatch: bool) -> dict:
    """The incident page's 并案 parts: the possible duplicates (for the command centre), the
    reports merged into this case with their reporters, and the case a merged report joined."""
    from incidents.services.duplicates import candidates_for, merged_reports
    from incidents.services.merge import FINISHED

    candidates = []
    if can_dispatch and incident.deleted_at is None and incident.status not in FINISHED:
        candidates = candidates_for(actor=user, incidents=[incident]).get(incident.pk, [])
    return {
        "possible_duplicates": candidates,
        "can_merge": can_dispatch
        and incident.deleted_at is None
        and incident.status not in FINISHED
        and POLICY.can("merge", actor=user),
        "merged_reports": merged_reports(actor=user, incident=incident),
    }


def unit_value(unit) -> str:
    """A unit as the dispatch form names it: ``office:CODE`` or ``department:CODE``."""
    return f"{'department' if isinstance(unit, Department) else 'office'}:{unit.code}"


def form_code(value: str | None, max_length: int = 40) -> str:
    """A code as a form sent it, or "" when it cannot be one (too long, or holding characters
    no database text can: NUL, lone surrogates), so a lookup never fails on it."""
    value = (value or "").strip()
    if len(value) > max_length or any(ch == "\x00" or "\ud800" <= ch <= "\udfff" for ch in value):
        return ""
    return value


def parse_unit(value: str):
    """A unit named by the form; a value naming nothing is a unit no one can see (so the
    policy answers "not found in your jurisdiction", as for one out of sight)."""
    kind, _sep, code = (value or "").partition(":")
    code = form_code(code)
    if kind == "department":
        return Department.objects.filter(code=code).first() or Department()
    if kind == "office":
        return GridOffice.objects.filter(code=code).first() or GridOffice()
    raise ValidationError({"lead": _("Choose a unit.")})


def _my_open_assist(user, share: IncidentAssignment) -> bool:
    if share.part != IncidentAssignment.Part.ASSIST or share.state != IncidentAssignment.State.OPEN:
        return False
    if user.is_platform_admin:
        return True
    if share.office_id is not None:
        return share.office_id == user.grid_office_id
    return share.department_id == user.department_id


def _closing_reason(incident: Incident) -> str:
    """Why a case was declined or voided, for the reporter to read on the page."""
    if incident.status not in (Incident.Status.REJECTED, Incident.Status.VOIDED):
        return ""
    for event in reversed(list(incident.events.all())):
        if event.to_status == incident.status:
            return event.note
    return ""


MAX_ASSISTS = 20


def dispatch_arguments(post) -> dict:
    """The dispatch form's units: one lead (``lead``, or the older ``handling_office`` code) and
    any number of assisting units (``assist``), each ``office:CODE`` or ``department:CODE``."""
    arguments: dict = {}
    if post.get("lead"):
        lead = parse_unit(post["lead"])
        arguments["handling_department" if isinstance(lead, Department) else "handling_office"] = lead
    elif post.get("handling_office"):
        # Looked up by code only: whether the caller may send it there is the policy's answer,
        # and a code that names nothing is an office no one can see, so it gets the same one.
        office = GridOffice.objects.filter(code=form_code(post["handling_office"])).first()
        arguments["handling_office"] = office or GridOffice()
    assists = [v for v in post.getlist("assist") if v]
    if len(assists) > MAX_ASSISTS:
        raise ValidationError({"assist": _("At most %(n)d assisting units.") % {"n": MAX_ASSISTS}})
    units = [parse_unit(v) for v in assists]
    arguments["assist_offices"] = [u for u in units if isinstance(u, GridOffice)]
    arguments["assist_departments"] = [u for u in units if isinstance(u, Department)]
    return arguments


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
        if name == "report_handled":
            arguments["attachments"] = request.FILES.getlist("attachments")

        def command():
            if name == "dispatch":
                arguments.update(dispatch_arguments(request.POST))
            workflow.SERVICES[name](**arguments)

        return _run(request, pk, command)


class CorrectionView(ScopedPageMixin, View):
    """The dispatcher corrects the category and priority, with a reason; the service decides."""

    selector = staticmethod(selectors.incidents_visible_to)

    def post(self, request, pk: int):
        post = request.POST
        arguments = {"actor": request.user, "incident_id": pk, "reason": post.get("reason", "")}
        if post.get("version", "").isdigit():
            arguments["expected_version"] = int(post["version"])
        if post.get("category"):
            category = (
                selectors.categories_for(actor=request.user).filter(code=form_code(post["category"])).first()
            )
            if category is None:
                messages.error(request, _("Choose a category."))
                return redirect("incidents:detail", pk=pk)
            arguments["category"] = category
        if post.get("priority"):
            arguments["priority"] = post["priority"][:8]
        return _run(request, pk, lambda: correct_incident(**arguments))


class RecordPartView(ScopedPageMixin, View):
    """A 协办 unit records its part; the service decides."""

    selector = staticmethod(selectors.incidents_visible_to)

    def post(self, request, pk: int, share_id: int):
        # The share must belong to this incident: another incident's share is not found here.
        if not IncidentAssignment.objects.filter(pk=share_id, incident_id=pk).exists():
            raise Http404
        return _run(
            request,
            pk,
            lambda: record_part(
                actor=request.user, assignment_id=share_id, result=request.POST.get("result", "")
            ),
        )


def _run(request, pk: int, command) -> HttpResponse:
    """Run a workflow command from a page: its refusals become messages on the incident page."""
    try:
        command()
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


class CallbackView(ScopedPageMixin, View):
    """The command centre records a 回访 of a closed case (and may reopen it); the service decides."""

    selector = staticmethod(selectors.incidents_visible_to)

    def post(self, request, pk: int):
        from incidents.services.callbacks import record_callback

        post = request.POST
        arguments = {
            "actor": request.user,
            "incident_id": pk,
            "reached": post.get("reached") == "yes",
            "satisfaction": post.get("satisfaction", "")[:12] if post.get("reached") == "yes" else "",
            "comment": post.get("comment", ""),
            "reopen": post.get("reopen") == "on",
        }
        if post.get("version", "").isdigit():
            arguments["expected_version"] = int(post["version"])
        return _run(request, pk, lambda: record_callback(**arguments))


class MergeView(ScopedPageMixin, View):
    """并案 from the incident page: this report goes into the case ``into``; the service decides."""

    selector = staticmethod(selectors.incidents_visible_to)

    def post(self, request, pk: int):
        from anshun.commands import Conflict
        from incidents.services.merge import merge_incident

        into_id = request.POST.get("into", "").strip().lstrip("#")
        into = (
            Incident.objects.filter(pk=int(into_id)).first()
            if into_id.isascii() and into_id.isdigit() and len(into_id) < 19
            else None
        )
        arguments = {
            "actor": request.user,
            "incident_id": pk,
            "into": into or Incident(),
            "note": request.POST.get("note", ""),
        }
        if request.POST.get("version", "").isdigit():
            arguments["expected_version"] = int(request.POST["version"])

        def command():
            try:
                merge_incident(**arguments)
            except Conflict as exc:
                raise ValidationError(exc.message) from None

        return _run(request, pk, command)


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


def intake_channels() -> list[tuple[str, str]]:
    """What someone other than grid staff logs a report as: a call, a visit, another system."""
    wanted = (
        Incident.Source.HOTLINE,
        Incident.Source.WALK_IN,
        Incident.Source.CITIZEN,
        Incident.Source.OTHER_SYSTEM,
    )
    return [(value, label) for value, label in Incident.Source.choices if value in wanted]


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
            channels=[] if user.grid_office_id else intake_channels(),
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
                source=post.get("source") or Incident.Source.GRID_WORKER,
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
    """The report form's service worker (``static/js/incident_sw.js``), served under /incidents/
    so that its scope covers the form."""
    return service_worker_response(script="js/incident_sw.js", scope="/incidents/")


class NotificationListView(LoginRequiredMixin, ListView):
    """The user's own in-app notifications, unread ones marked. Reading the page changes nothing
    (a browser's prefetch or a link preview must not clear a dispatcher's alerts); "mark all read"
    is a POST through the command."""

    template_name = "incidents/notifications.html"
    paginate_by = 50

    def get_queryset(self):
        return selectors.notifications_for(actor=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_mark_read"] = POLICY.can("mark_notifications_read", actor=self.request.user)
        context["any_unread"] = any(note.read_at is None for note in context["object_list"])
        return context

    def post(self, request):
        """ "Mark all read" (the home inbox's button): the user's own, through the command."""
        try:
            mark_notifications_read(actor=request.user)
        except PermissionDenied as exc:
            messages.error(request, str(exc) or _("You cannot do this."))
        return redirect("/" if request.POST.get("next") == "/" else "incidents:notifications")


class RoutingTableView(ScopedPageMixin, TemplateView):
    """The routing table of the actor's jurisdiction (category × place → default unit), with a
    form to set a route; writes go through ``route_set``."""

    template_name = "incidents/routes.html"
    capability = "incident.dispatch"
    selector = staticmethod(selectors.routes_visible_to)

    def get_context_data(self, **kwargs):
        from grids.models import Region

        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.update(
            routes=self.get_queryset().order_by("region__path", "category__code")[:500],
            categories=selectors.categories_for(actor=user),
            regions=Region.objects.visible_to(user)
            .filter(level__in=(Region.Level.CITY, Region.Level.COUNTY, Region.Level.TOWNSHIP))
            .order_by("path")
            .only("code", "name", "path"),
            departments=selectors.departments_visible_to(actor=user).order_by("region__path", "kind"),
            offices=GridOffice.objects.visible_to(user).order_by("code").only("code", "name"),
            errors=kwargs.get("errors", {}),
        )
        return context

    def post(self, request):
        from grids.models import Region
        from incidents.services.units import route_set

        post = request.POST
        try:
            category = (
                selectors.categories_for(actor=request.user)
                .filter(code=form_code(post.get("category")))
                .first()
            )
            if category is None:
                raise ValidationError({"category": _("Choose a category.")})
            region = Region.objects.filter(code=form_code(post.get("region"))).first() or Region()
            unit = parse_unit(post.get("unit", ""))
            route_set(
                actor=request.user,
                category=category,
                region=region,
                office=unit if isinstance(unit, GridOffice) else None,
                department=unit if isinstance(unit, Department) else None,
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"form": exc.messages}
            return self.render_to_response(self.get_context_data(errors=errors), status=400)
        messages.success(request, _("Route saved."))
        return redirect("incidents:routes")


class RouteDeleteView(ScopedPageMixin, View):
    """Remove a route; the service decides (a route out of sight is not found)."""

    selector = staticmethod(selectors.routes_visible_to)

    def post(self, request, route_id: int):
        from incidents.services.units import route_delete

        route_delete(actor=request.user, route=route_id)
        messages.success(request, _("Route removed."))
        return redirect("incidents:routes")
