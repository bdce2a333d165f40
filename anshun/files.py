"""Serving uploaded files: the only way a stored photo or document leaves the platform.

Nothing serves ``MEDIA_ROOT`` by URL. Each app has a view that finds the file through the
owning object's scoped selector (out of scope and missing are the same 404) and answers
with ``file_response``, which:

- sends only the type sniffed at upload (``anshun.uploads``), never a name's or a client's;
- adds ``X-Content-Type-Options: nosniff``, so no browser second-guesses that type;
- shows images inline and hands everything else over as a download
  (``Content-Disposition: attachment``), under a name whose extension is the sniffed type's;
- sends ``Content-Security-Policy: sandbox; default-src 'none'``: even if a browser rendered
  the bytes as a document, it would be an opaque origin with no script, no requests, no cookies;
- keeps it out of shared caches (``Cache-Control: private, no-store``).

In production the file itself is streamed by Django (``FileResponse``) unless
``MEDIA_ACCEL_REDIRECT_PREFIX`` is set: then the view only decides, and answers with an empty
body and ``X-Accel-Redirect: <prefix><stored name>`` for nginx to send the file from an
``internal`` location (see README, "Uploaded files").
"""

from __future__ import annotations

import os
from urllib.parse import quote

from django.conf import settings
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header

from anshun.uploads import EXTENSIONS, OCTET_STREAM, PHOTO_TYPES

FILE_CSP = "sandbox; default-src 'none'"
INLINE_TYPES = PHOTO_TYPES


def download_name(display_name: str, content_type: str) -> str:
    """The client's name with the extension of what the file really is (``x.html`` → ``x.pdf``)."""
    stem = os.path.splitext(display_name or "")[0].strip(". ") or "file"
    return f"{stem}.{EXTENSIONS.get(content_type, 'bin')}"


def protected(response: HttpResponse) -> HttpResponse:
    """The headers every stored file leaves with: never sniffed or rendered as a page, never
    cached by anyone but the person who asked, never embedded elsewhere or referred onward."""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP
    response["Cache-Control"] = "private, no-store"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Referrer-Policy"] = "no-referrer"
    return response


def file_response(*, stored: FieldFile, content_type: str, display_name: str = "") -> HttpResponse:
    """The answer for one stored file that the caller has already found in the actor's scope."""
    if not stored or not stored.name:
        raise Http404
    content_type = content_type if content_type in EXTENSIONS else OCTET_STREAM
    inline = content_type in INLINE_TYPES
    filename = download_name(display_name, content_type)
    prefix = getattr(settings, "MEDIA_ACCEL_REDIRECT_PREFIX", "")
    if prefix:
        if not stored.storage.exists(stored.name):
            raise Http404
        # nginx sends the file from an `internal` location; the name is ours (hex + extension).
        response = HttpResponse(b"", content_type=content_type)
        response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + quote(stored.name)
        response["Content-Disposition"] = content_disposition_header(not inline, filename)
    else:
        try:
            handle = stored.storage.open(stored.name, "rb")
        except (FileNotFoundError, OSError):
            raise Http404 from None
        response = FileResponse(
            handle, content_type=content_type, as_attachment=not inline, filename=filename
        )
    return protected(response)


class TokenOrSessionMixin:
    """File views answer sync clients too: the API's own authenticators (tokens) are tried when
    the request has no signed-in session, before the page's login check runs."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            request.user = _api_user(request) or request.user
        return super().dispatch(request, *args, **kwargs)


def _api_user(request):
    from rest_framework.authentication import SessionAuthentication
    from rest_framework.exceptions import APIException
    from rest_framework.request import Request
    from rest_framework.settings import api_settings

    wrapped = Request(request)
    for authenticator_class in api_settings.DEFAULT_AUTHENTICATION_CLASSES:
        if issubclass(authenticator_class, SessionAuthentication):
            continue
        try:
            found = authenticator_class().authenticate(wrapped)
        except APIException:
            return None
        if found is not None:
            return found[0]
    return None
