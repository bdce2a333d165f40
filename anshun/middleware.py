"""Request middleware of the project."""

import time

from django.utils.deprecation import MiddlewareMixin


class ChineseUnlessChosenMiddleware(MiddlewareMixin):
    """Speak Chinese unless the user picked another language with the switch.

    Django's LocaleMiddleware would otherwise follow the browser's
    Accept-Language, and the shared PCs of township offices often run browsers
    with an English locale. The explicit choice (the language cookie set by
    the switch) still wins, because LocaleMiddleware reads it first.

    Open311 clients (hotlines, apps) are programs with no switch to press: their
    ``Accept-Language`` is what they asked for, so under ``MACHINE_PATHS`` it is kept
    (no header still means Chinese).
    """

    MACHINE_PATHS = ("/open311/",)

    def process_request(self, request):
        if request.path_info.startswith(self.MACHINE_PATHS):
            return
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)


class IdleTimeoutMiddleware:
    """Signs out idle users after a time that depends on what they can reach.

    Officials, auditors, case officers and admins see much of the city and
    sensitive records, often on shared office PCs: their session ends after
    ``SESSION_IDLE_TIMEOUT_PRIVILEGED`` seconds without a request. Grid workers
    in the field keep theirs for ``SESSION_IDLE_TIMEOUT_FIELD`` so a day's
    reports don't stop at a login screen.

    Requests restart the clock, but the session is written (a database UPDATE and a new cookie)
    only when ``SESSION_IDLE_REFRESH_SECONDS`` have passed since the clock was last restarted, not
    on every request: a session then ends between ``timeout - refresh`` and ``timeout`` after its
    last request, never later. A change of role (and so of timeout) restarts it at once.
    """

    FIELD_ROLES = frozenset({"grid_worker", "grid_office_head", "mediator", "lawyer", "dispatcher"})
    REFRESHED = "_idle_refreshed"
    TIMEOUT = "_idle_timeout"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            self.restart_clock(request.session, user)
        return self.get_response(request)

    @classmethod
    def restart_clock(cls, session, user, *, force: bool = False) -> None:
        from django.conf import settings

        field = user.role in cls.FIELD_ROLES and not user.is_superuser
        timeout = settings.SESSION_IDLE_TIMEOUT_FIELD if field else settings.SESSION_IDLE_TIMEOUT_PRIVILEGED
        now = int(time.time())
        refreshed = session.get(cls.REFRESHED)
        if (
            force
            or session.get(cls.TIMEOUT) != timeout
            or not isinstance(refreshed, int)
            or not 0 <= now - refreshed < min(settings.SESSION_IDLE_REFRESH_SECONDS, timeout)
        ):
            session.set_expiry(timeout)
            session[cls.REFRESHED] = now
            session[cls.TIMEOUT] = timeout


def start_idle_clock(sender, request, user, **kwargs) -> None:
    """At sign-in (``user_logged_in``): the session starts with its role's idle timeout, saved with
    the sign-in itself rather than by the first request after it."""
    if request is not None and hasattr(request, "session"):
        IdleTimeoutMiddleware.restart_clock(request.session, user, force=True)


class RequestSizeLimitMiddleware:
    """Refuses a request whose declared body is over the limit before anything reads it.

    Django caps the non-file part of a body (``DATA_UPLOAD_MAX_MEMORY_SIZE``) only when it
    parses a form itself; DRF reads JSON from the stream, past that check, and uploaded files
    stream to disk whatever their size. So: a body that is not a multipart upload may be at
    most ``DATA_UPLOAD_MAX_MEMORY_SIZE``, an upload at most ``REQUEST_MAX_BYTES``. API clients
    get the 413 as JSON like every other API error.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.http import HttpResponse, JsonResponse
        from django.template.defaultfilters import filesizeformat
        from django.utils.translation import gettext as _

        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        upload = request.META.get("CONTENT_TYPE", "").startswith("multipart/")
        limit = settings.REQUEST_MAX_BYTES if upload else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            message = _("The request body is larger than %(limit)s.") % {"limit": filesizeformat(limit)}
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class CommandRefusedMiddleware(MiddlewareMixin):
    """Pages render a command's ``Conflict`` as a 409 page; Django already renders the other
    members of the family (``NotPermitted`` as 403, ``NotFound`` as 404, ``Invalid`` is shown on
    the form by the view that called the service)."""

    def process_exception(self, request, exception):
        from django.shortcuts import render

        from anshun.commands import Conflict

        if isinstance(exception, Conflict):
            return render(request, "409.html", {"message": exception.message}, status=409)
        return None
