"""Every refusal of the API is JSON with a documented shape (see anshun.api.schema).

A Django ``ValidationError`` raised by a service becomes a 400 with field errors; a body
over the size limits becomes a 413 (too many fields or files, a 400); a 400 that DRF would
send as a bare list is keyed as ``non_field_errors`` so that every 400 is an object.
"""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from anshun.commands import CommandRefused, Conflict


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def exception_handler(exc, context):
    """Render every refusal of the command boundary (``anshun.commands``) and of Django as JSON:
    ``NotPermitted`` 403, ``NotFound`` 404 (the same as a missing object), ``Invalid`` and any
    ``ValidationError`` 400 with field errors, ``Conflict`` 409 keyed by its field."""
    if isinstance(exc, Conflict):
        exc = ConflictError({exc.field_name: [exc.message]})
    elif isinstance(exc, CommandRefused) and not isinstance(exc, DjangoValidationError):
        exc = exceptions.PermissionDenied(exc.message) if exc.status_code == 403 else exceptions.NotFound()
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "message_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(_("The request body is larger than the server accepts."))
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = exceptions.ValidationError(
            {"non_field_errors": [_("Too many fields or files in one request.")]}
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        response.data = {"non_field_errors": response.data}
    return response
