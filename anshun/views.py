"""Project-wide pages: the per-role home page and the health check, plus the
base mixin through which every scoped page reads its objects."""

from __future__ import annotations

import errno
import logging
import sys
from collections.abc import Callable
from typing import Any, ClassVar

import redis
from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from accounts.roles import Role
from anshun.observability import request_id_var
from anshun.scoping import assert_scoped
from grids.selectors import jurisdiction_summary
from incidents.inbox import home_inbox, unread_notifications

logger = logging.getLogger(__name__)


class ScopedPageMixin(LoginRequiredMixin):
    """Pages read through ``selector`` only; the same contract as the API base viewset.

    ``capability``, when set, is checked against the role table before anything is read.
    """

    selector: ClassVar[Callable[..., Any] | None] = None
    capability: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise ImproperlyConfigured(f"{cls.__name__} overrides get_queryset; use `selector`.")

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and self.capability and not request.user.can(self.capability):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def selector_arguments(self) -> dict:
        return {}

    def get_queryset(self):
        if self.selector is None:
            raise ImproperlyConfigured(f"{type(self).__name__} has no selector.")
        queryset = self.selector(actor=self.request.user, **self.selector_arguments())
        assert_scoped(queryset, self.request.user)
        return queryset


HOME_TEMPLATES = {
    Role.GRID_WORKER: "home/grid_worker.html",
    Role.GRID_OFFICE_HEAD: "home/grid_worker.html",
    Role.DISPATCHER: "home/dispatcher.html",
    Role.MEDIATOR: "home/mediator.html",
    Role.LAWYER: "home/mediator.html",
    Role.CASE_OFFICER: "home/case_officer.html",
    Role.DEPARTMENT_OFFICER: "home/department.html",
}


class HomeView(LoginRequiredMixin, TemplateView):
    """Each role lands on the work it does; officials on the overview of their jurisdiction."""

    def get_template_names(self) -> list[str]:
        return [HOME_TEMPLATES.get(self.request.user.role, "home/official.html")]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["summary"] = jurisdiction_summary(actor=user)
        context["jurisdiction"] = user.grid_office or user.department or user.region
        # The user's own work: what is waiting for them, and their unread notifications.
        context["inbox"] = home_inbox(actor=user)
        context["unread_count"], context["unread"] = unread_notifications(actor=user)
        return context


# Paths whose clients are programs: every answer is JSON, errors included.
API_PREFIXES = ("/api/", "/open311/")
# An upload folder that cannot be written (permissions, read-only, full): the platform cannot keep
# files just now, which is not the client's fault and not a bug in the request.
STORAGE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOTDIR}


def wants_json(request) -> bool:
    return request.path.startswith(API_PREFIXES) or "application/json" in request.headers.get("Accept", "")


def server_error(request):
    """500 handler: every unexpected error is answered with a message and the request id (the
    ``X-Request-ID`` of the logs), as JSON on the API and Open311, as a plain page elsewhere.

    A database outage is 503 with Retry-After, so clients and the load balancer back off and
    retry instead of treating it as a bug (the app reconnects by itself, CONN_HEALTH_CHECKS);
    an upload folder that cannot be written is 503 with what happened (the transaction was
    rolled back, and ``anshun.stored_files`` removes the files it had already written).
    """
    from django.db import InterfaceError, OperationalError

    error = sys.exc_info()[1]
    status, retry_after = 500, None
    message = _("An unexpected error occurred and was logged. Quote the request id if you report it.")
    if isinstance(error, OperationalError | InterfaceError):
        status, retry_after = 503, "30"
        message = _("The database is unavailable; try again shortly.")
    elif isinstance(error, OSError) and error.errno in STORAGE_ERRNOS:
        status, retry_after = 503, "60"
        message = _(
            "Uploaded files cannot be stored on the server just now, so nothing was saved. "
            "Try again later; if it persists, tell the administrator (the upload folder is not writable)."
        )
    request_id = request_id_var.get()
    if wants_json(request):
        response = JsonResponse({"detail": str(message), "request_id": request_id}, status=status)
    else:
        response = HttpResponse(_error_page(status, message, request_id), status=status)
    if retry_after:
        response["Retry-After"] = retry_after
    return response


def _error_page(status: int, message: str, request_id: str) -> str:
    """The error page, rendered without the site's base template: its menu reads the database and
    the signed-in user, which may be what just failed."""
    try:
        return render_to_string("500.html", {"status": status, "message": message, "request_id": request_id})
    except Exception:  # noqa: BLE001 - the error page itself must not fail
        logger.exception("the error page could not be rendered")
        return (
            f"<!doctype html><title>{status}</title><p>{escape(message)}</p>"
            f"<p>Request id: {escape(request_id)}</p>"
        )


def page_not_found(request, exception):
    """404 handler: API clients get JSON like every other API answer (a path that matches no
    route, e.g. ``/api/incidents/1.5/``); pages keep Django's page."""
    from django.views.defaults import page_not_found as default_page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return default_page_not_found(request, exception)


def healthz(request):
    """Liveness and readiness for the load balancer: ready while the database answers; Redis
    away is reported ("degraded") but does not take the server out of service."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=1).ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {exc.__class__.__name__}"
    # Without Redis the platform still serves (caches and throttles fall back, tasks are kept
    # in the database): degraded, but ready. Without the database it cannot.
    status = "error" if checks["database"] != "ok" else ("ok" if checks["redis"] == "ok" else "degraded")
    return JsonResponse({"status": status, **checks}, status=503 if status == "error" else 200)


def service_worker_response(*, script: str, scope: str) -> HttpResponse:
    """A service worker served under ``scope`` (a worker's scope is at most its own URL's folder,
    so it cannot be served from /static/): the shared offline machinery
    (``static/js/offline_pages.js``) followed by the worker's own ``script``, never cached by the
    browser, so a new version is picked up on the next visit."""
    from django.contrib.staticfiles import finders

    parts = []
    for name in ("js/offline_pages.js", script):
        with open(finders.find(name), encoding="utf-8") as handle:
            parts.append(handle.read())
    response = HttpResponse("\n".join(parts), content_type="application/javascript")
    response["Service-Worker-Allowed"] = scope
    response["Cache-Control"] = "no-cache"
    return response
