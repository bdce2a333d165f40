"""Project-wide pages: the per-role home page and the health check, plus the
base mixin through which every scoped page reads its objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import redis
from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import connection
from django.http import JsonResponse
from django.views.generic import TemplateView

from accounts.roles import Role
from anshun.scoping import assert_scoped
from grids.selectors import jurisdiction_summary


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
}


class HomeView(LoginRequiredMixin, TemplateView):
    """Each role lands on the work it does; officials on the overview of their jurisdiction."""

    def get_template_names(self) -> list[str]:
        return [HOME_TEMPLATES.get(self.request.user.role, "home/official.html")]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["summary"] = jurisdiction_summary(actor=user)
        context["jurisdiction"] = user.grid_office or user.region
        return context


def server_error(request):
    """500 handler. A database outage is answered as 503 with Retry-After, so clients
    and the load balancer back off and retry instead of treating it as a bug; the
    app itself reconnects once the database is back (CONN_HEALTH_CHECKS)."""
    import sys

    from django.db import InterfaceError, OperationalError
    from django.views.defaults import server_error as default_server_error

    error = sys.exc_info()[1]
    if isinstance(error, OperationalError | InterfaceError):
        response = JsonResponse({"detail": "The database is unavailable; try again shortly."}, status=503)
        response["Retry-After"] = "30"
        return response
    return default_server_error(request)


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
