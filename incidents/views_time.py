"""Pages for the time limits: the 延期 request and decision, 挂账 on and off (forms on the
incident page, from ``time_selectors.time_panel``), the centre's pending-extensions list and
the 挂账 list. Thin: the commands of ``incidents.services.extensions`` / ``backlog`` decide."""

from __future__ import annotations

from datetime import date, datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import ListView

from anshun.commands import Conflict
from anshun.views import ScopedPageMixin
from incidents import selectors, time_selectors
from incidents.models import ExtensionRequest
from incidents.services.backlog import backlog_lift, backlog_place, backlog_review
from incidents.services.extensions import decide_extension, request_extension
from incidents.services.worktime import LOCAL


def local_moment(value: str) -> datetime | None:
    """A ``datetime-local`` form value (Anshun time) as an aware moment; None when blank or bad."""
    value = (value or "").strip()[:32]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        return None
    return moment.replace(tzinfo=LOCAL)


def form_date(value: str) -> date | None:
    try:
        return date.fromisoformat((value or "").strip()[:10])
    except ValueError:
        return None


def _run(request, pk: int, command):
    """Run a command from the incident page: refusals become messages, nothing is written."""
    try:
        command()
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except Conflict as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("You cannot do this."))
    else:
        messages.success(request, _("Done."))
    return redirect("incidents:detail", pk=pk)


class ExtensionRequestView(ScopedPageMixin, View):
    selector = staticmethod(selectors.incidents_visible_to)

    def post(self, request, pk: int):
        due = local_moment(request.POST.get("requested_due_at", ""))
        if due is None:
            messages.error(request, _("Enter the new deadline as a date and time."))
            return redirect("incidents:detail", pk=pk)
        return _run(
            request,
            pk,
            lambda: request_extension(
                actor=request.user,
                incident_id=pk,
                reason=request.POST.get("reason", ""),
                requested_due_at=due,
            ),
        )


class ExtensionDecisionView(ScopedPageMixin, View):
    selector = staticmethod(selectors.incidents_visible_to)

    def post(self, request, pk: int, extension_id: int):
        decision = request.POST.get("decision")
        if decision not in ("approve", "refuse"):
            messages.error(request, _("Approve or refuse the request."))
            return redirect("incidents:detail", pk=pk)
        # Another incident's request is not found through this incident's page.
        if not ExtensionRequest.objects.filter(pk=extension_id, incident_id=pk).exists():
            from django.http import Http404

            raise Http404
        return _run(
            request,
            pk,
            lambda: decide_extension(
                actor=request.user,
                extension_id=extension_id,
                approve=decision == "approve",
                note=request.POST.get("note", ""),
            ),
        )


class BacklogPlaceView(ScopedPageMixin, View):
    selector = staticmethod(selectors.incidents_visible_to)

    def post(self, request, pk: int):
        review_on = form_date(request.POST.get("review_on", ""))
        if review_on is None:
            messages.error(request, _("Enter a valid date."))
            return redirect("incidents:detail", pk=pk)
        return _run(
            request,
            pk,
            lambda: backlog_place(
                actor=request.user, incident_id=pk, reason=request.POST.get("reason", ""), review_on=review_on
            ),
        )


class BacklogLiftView(ScopedPageMixin, View):
    selector = staticmethod(selectors.incidents_visible_to)

    def post(self, request, pk: int):
        raw = request.POST.get("due_at", "").strip()
        due = local_moment(raw) if raw else None
        if raw and due is None:
            messages.error(request, _("Enter a new deadline in the future."))
            return redirect("incidents:detail", pk=pk)
        return _run(
            request,
            pk,
            lambda: backlog_lift(
                actor=request.user, incident_id=pk, note=request.POST.get("note", ""), due_at=due
            ),
        )


class BacklogReviewView(ScopedPageMixin, View):
    selector = staticmethod(selectors.incidents_visible_to)

    def post(self, request, pk: int):
        review_on = form_date(request.POST.get("review_on", ""))
        if review_on is None:
            messages.error(request, _("Enter a valid date."))
            return redirect("incidents:detail", pk=pk)
        return _run(
            request,
            pk,
            lambda: backlog_review(
                actor=request.user, incident_id=pk, note=request.POST.get("note", ""), review_on=review_on
            ),
        )


class PendingExtensionsView(ScopedPageMixin, ListView):
    """The centre's requests waiting for a decision, in its jurisdiction, oldest first."""

    template_name = "incidents/extensions.html"
    selector = staticmethod(time_selectors.pending_extensions)
    capability = "incident.dispatch"
    paginate_by = 50
    context_object_name = "extensions"
    title = gettext_lazy("Extension requests")


class BacklogListView(ScopedPageMixin, ListView):
    """挂账: cases on the long-term backlog in the actor's sight, by review date."""

    template_name = "incidents/backlog.html"
    selector = staticmethod(time_selectors.active_backlog)
    capability = "incident.view"
    paginate_by = 50
    context_object_name = "entries"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["today"] = timezone.localdate()
        return context
