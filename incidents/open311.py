"""Open311 GeoReport v2 at /open311/v2/: services, service definitions, and service requests.

Field names, types and error bodies follow the GeoReport v2 specification: ids are
strings, ``lat``/``long`` WGS84 numbers, datetimes W3C with a time zone, errors a list
of ``{"code", "description"}`` (``<errors><error>`` in XML) in the format the path asks for,
for every refusal, bad input included. Services are the active incident categories, of
``type`` realtime: a POST answers with the new ``service_request_id`` at once. Reading
requests needs no key, as in the spec, and therefore shows only requests that came in
through Open311, never what grid workers logged; posting needs an ``api_key`` issued to
the client in the admin.

Posting, point by point: an unknown ``service_code`` is 404; ``description`` is optional
(the service name stands in); a request needs ``lat`` and ``long``, or an
``address_string`` alone when the client has an intake grid, where it waits unplaced
(no geocoding here) for the command centre to place it — without one, 400. The reporter's
``email``, ``phone``, ``first_name`` and ``last_name`` are stored encrypted
(``incidents.models.Open311Request``), never shown, and used to tell the reporter of each
new status (``incidents.open311_notify``).

Names are the reader's language: ``service_name`` (and the service's description) is the
category's label (``IncidentCategory.label``) in the language of the client's
``Accept-Language`` header, Chinese when it sends none; a category the city renamed or added
is named as it was given.

Reading: ``start_date``/``end_date`` select at most 90 days (the spec's limit); one of them
alone gives the 90 days after or before it, neither the last 90 days. Every parameter is
checked before it reaches the database: NUL and other control characters, lone surrogates,
non-ASCII digits, impossible dates and oversized values are a 400 in the spec's format.

What an anonymous reader sees of a request is the public part only (``PUBLIC_FIELDS``):
the description as the citizen reported it (not a later edit by staff), where, when, and a
status. ``status_notes`` is the note staff wrote for the public for the current status
(``incidents.services.open311.set_public_note``), else the status in words, never a
timeline note (dispatchers write names and phone numbers there), and ``media_url`` is
always empty: the only photos on an Open311 request are the handlers' working photos,
which stay inside the platform.
"""

from __future__ import annotations

import functools
import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, timedelta

from django.contrib.gis.geos import Point
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.core.validators import validate_email
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from anshun.commands import CommandRefused
from incidents.models import Duty, Incident, IncidentCategory, Open311Client
from incidents.open311_notify import public_status_notes
from incidents.services.reporting import report_open311_request

MAX_RESULTS = 1000
MAX_WINDOW = timedelta(days=90)
EARLIEST_YEAR, LATEST_YEAR = 1970, 2999
AGENCY = "安顺市综治中心"
# What no parameter may hold: C0 controls but tab, newline and carriage return, lone
# surrogates, and the two non-characters XML 1.0 cannot carry.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Longest value of each parameter (the spec's 4,000 for description; the model's for the rest).
MAX_LENGTH = {
    "description": 4000,
    "address_string": 200,
    "email": 254,
    "phone": 40,
    "first_name": 100,
    "last_name": 100,
    "account_id": 100,
    "device_id": 100,
}
DEFAULT_MAX_LENGTH = 2000
CODE = re.compile(r"[-a-zA-Z0-9_]{1,40}")  # a category's code is an ASCII slug
ID = re.compile(r"[0-9]{1,18}")  # ASCII digits only ("²".isdigit() is true), within bigint
PHONE = re.compile(r"\+?[0-9][0-9 ()-]{2,38}")


class Refusal(Exception):
    """Bad input: answered as a spec error (``code``, ``description``) in the path's format."""

    def __init__(self, code: int, description: str):
        super().__init__(description)
        self.code = code
        self.description = description


# --- rendering ------------------------------------------------------------------------------


def _text(value: str) -> str:
    """A string any answer can carry: XML 1.0 cannot hold control characters, and no UTF-8
    body can hold a lone surrogate."""
    return FORBIDDEN.sub("", value)


def _xml(root: str, item: str, rows: list[dict]) -> bytes:
    top = ET.Element(root)
    for row in rows:
        element = ET.SubElement(top, item)
        for key, value in row.items():
            _xml_value(element, key, value)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="utf-8")


def _xml_value(parent, key, value):
    child = ET.SubElement(parent, key)
    if isinstance(value, list):
        singular = {"attributes": "attribute", "values": "value", "keywords": "keyword"}.get(key, "item")
        for entry in value:
            if isinstance(entry, dict):
                holder = ET.SubElement(child, singular)
                for k, v in entry.items():
                    _xml_value(holder, k, v)
            else:
                ET.SubElement(child, singular).text = _text(str(entry))
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    elif value is not None:
        child.text = _text(str(value))


def _clean_row(row: dict) -> dict:
    return {k: _text(v) if isinstance(v, str) else v for k, v in row.items()}


def respond(fmt: str, root: str, item: str, rows: list[dict], status: int = 200):
    if fmt == "xml":
        return HttpResponse(_xml(root, item, rows), content_type="text/xml; charset=utf-8", status=status)
    return JsonResponse(
        [_clean_row(r) for r in rows], safe=False, status=status, json_dumps_params={"ensure_ascii": False}
    )


def error(fmt: str, code: int, description: str):
    return respond(fmt, "errors", "error", [{"code": code, "description": description}], status=code)


def open311_view(view):
    """Every refusal of an Open311 view, bad input included, in the spec's error format."""

    @functools.wraps(view)
    def wrapper(request, *args, fmt: str, **kwargs):
        try:
            return view(request, *args, fmt=fmt, **kwargs)
        except Refusal as refusal:
            return error(fmt, refusal.code, refusal.description)
        except (SuspiciousOperation, MultiPartParserError, UnicodeDecodeError):
            return error(fmt, 400, "the request body cannot be read")

    return wrapper


@csrf_exempt  # it writes nothing; a POST to a wrong path gets the same 404
def not_found(request, rest: str = ""):
    """Any other path under the Open311 root: the spec's 404, in XML when the path asks for it
    (clients read the error list, not an HTML page)."""
    return error("xml" if rest.endswith(".xml") else "json", 404, "no such resource")


def w3c(moment) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


# --- parameters -----------------------------------------------------------------------------


def _params(query) -> dict[str, str]:
    """The request's parameters, each checked for characters and length (repeats: the last)."""
    values = {}
    for name in query:
        if FORBIDDEN.search(name):
            raise Refusal(400, "a parameter name contains characters that are not allowed")
        value = query.get(name) or ""
        if FORBIDDEN.search(value):
            raise Refusal(400, f"{name} contains characters that are not allowed")
        if len(value) > MAX_LENGTH.get(name, DEFAULT_MAX_LENGTH):
            raise Refusal(400, f"{name} is longer than {MAX_LENGTH.get(name, DEFAULT_MAX_LENGTH)} characters")
        values[name] = value
    return values


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _moment(params: dict, name: str):
    if not params.get(name):
        return None
    try:
        value = parse_datetime(params[name])
    except ValueError:  # well formed but impossible, e.g. month 13
        value = None
    if value is None or timezone.is_naive(value):
        raise Refusal(400, f"{name} must be a W3C datetime with a time zone")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    # Far enough either way for any window of requests, and far from datetime's limits.
    if utc is None or not (EARLIEST_YEAR <= utc.year <= LATEST_YEAR):
        raise Refusal(400, f"{name} must lie between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return utc


def _window(params: dict):
    """The spec's date window: at most 90 days; one end alone gives 90 days from it."""
    start, end = _moment(params, "start_date"), _moment(params, "end_date")
    if start is None and end is None:
        end = timezone.now()
    if start is None:
        start = end - MAX_WINDOW
    if end is None:
        end = start + MAX_WINDOW
    if start > end:
        raise Refusal(400, "start_date must not be after end_date")
    if end - start > MAX_WINDOW:
        raise Refusal(400, "start_date and end_date may not span more than 90 days")
    return start, end


def _coordinate(params: dict, name: str) -> float | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise Refusal(400, "lat and long must be WGS84 decimal degrees")
    return value


# --- services -------------------------------------------------------------------------------


def _service(category: IncidentCategory) -> dict:
    return {
        "service_code": category.code,
        "service_name": category.label,
        "description": f"{Duty(category.duty).label} · {category.label}",
        "metadata": False,
        # Realtime: a POST answers with the service_request_id at once (no token to poll).
        "type": "realtime",
        "keywords": category.duty,
        "group": str(Duty(category.duty).label),
    }


@require_GET
@open311_view
def services(request, fmt: str):
    _params(request.GET)
    rows = [_service(c) for c in IncidentCategory.objects.filter(is_active=True).order_by("duty", "code")]
    return respond(fmt, "services", "service", rows)


@require_GET
@open311_view
def service_definition(request, code: str, fmt: str):
    _params(request.GET)
    category = None
    if CODE.fullmatch(code):
        category = IncidentCategory.objects.filter(is_active=True, code=code).first()
    if category is None:
        raise Refusal(404, f"service_code {code[:50]} not found")
    # Categories carry no extra questions yet (metadata is false), so no attributes.
    if fmt == "xml":
        root = ET.Element("service_definition")
        ET.SubElement(root, "service_code").text = category.code
        ET.SubElement(root, "attributes")
        body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="utf-8")
        return HttpResponse(body, content_type="text/xml; charset=utf-8")
    return JsonResponse({"service_code": category.code, "attributes": []})


# --- requests -------------------------------------------------------------------------------


# The GeoReport v2 request fields, in the spec's order; nothing else is ever sent.
PUBLIC_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)


# Finished for the public: closed, declined (不予立案), voided (作废) or merged into another case
# (并案); the status in words (or staff's public note) says which.
FINISHED = (Incident.Status.CLOSED, Incident.Status.REJECTED, Incident.Status.VOIDED, Incident.Status.MERGED)


def _request_row(incident: Incident) -> dict:
    closed = incident.status in FINISHED
    try:
        extra = incident.open311_request
    except Incident.open311_request.RelatedObjectDoesNotExist:
        extra = None
    return {
        "service_request_id": str(incident.pk),
        "status": "closed" if closed else "open",
        # Staff's public note for this status, else the status in words; never a timeline note.
        "status_notes": public_status_notes(extra, incident),
        "service_name": incident.category.label,
        "service_code": incident.category.code,
        "description": incident.reported_description,
        "agency_responsible": incident.handling_unit.name if incident.handling_unit else AGENCY,
        "service_notice": "",
        "requested_datetime": w3c(incident.reported_at),
        "updated_datetime": w3c(incident.updated_at),
        "expected_datetime": w3c(incident.due_at),
        "address": incident.reported_address,
        "address_id": "",
        "zipcode": "",
        # Empty while an address-only request waits to be placed by the command centre.
        "lat": incident.location.y if incident.location else None,
        "long": incident.location.x if incident.location else None,
        # Open311 takes no photos from citizens, so every attachment is a handler's: never public.
        "media_url": "",
    }


def open311_requests():
    """Only requests that came in through Open311 are public (see the module docstring), with the
    description and address as first recorded (staff may edit them later for internal use)."""
    first = Incident.history.filter(id=OuterRef("pk")).order_by("history_date", "history_id")
    return (
        Incident.objects.filter(source=Incident.Source.OPEN311, deleted_at__isnull=True)
        .select_related("category", "handling_office", "handling_department", "open311_request")
        .annotate(
            reported_description=Coalesce(Subquery(first.values("description")[:1]), "description"),
            reported_address=Coalesce(Subquery(first.values("address")[:1]), "address"),
        )
        .order_by("-reported_at", "-id")
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
@open311_view
def requests_collection(request, fmt: str):
    if request.method == "POST":
        return _create(request, fmt)
    params = _params(request.GET)
    incidents = open311_requests()
    if params.get("service_request_id"):
        ids = _csv(params["service_request_id"])
        if not ids or len(ids) > MAX_RESULTS or not all(ID.fullmatch(i) for i in ids):
            raise Refusal(400, "service_request_id must be a comma-separated list of ids")
        rows = [_request_row(i) for i in incidents.filter(pk__in=[int(i) for i in ids])]
        return respond(fmt, "service_requests", "request", rows)
    if params.get("service_code"):
        incidents = incidents.filter(category__code__in=_csv(params["service_code"]))
    start, end = _window(params)
    incidents = incidents.filter(reported_at__gte=start, reported_at__lte=end)
    if params.get("status"):
        statuses = set(_csv(params["status"]))
        if not statuses or not statuses <= {"open", "closed"}:
            raise Refusal(400, "status must be open, closed or both")
        if statuses == {"open"}:
            incidents = incidents.exclude(status__in=FINISHED)
        elif statuses == {"closed"}:
            incidents = incidents.filter(status__in=FINISHED)
    return respond(fmt, "service_requests", "request", [_request_row(i) for i in incidents[:MAX_RESULTS]])


def _contact(params: dict) -> dict[str, str]:
    """The reporter's contact details, checked; stored encrypted, never shown."""
    contact = {name: params.get(name, "").strip() for name in ("email", "phone", "first_name", "last_name")}
    if contact["email"]:
        try:
            validate_email(contact["email"])
        except ValidationError:
            raise Refusal(400, "email is not a valid e-mail address") from None
    if contact["phone"] and not PHONE.fullmatch(contact["phone"]):
        raise Refusal(400, "phone must be a telephone number")
    return contact


def _create(request, fmt: str):
    params = _params(request.POST)
    client = Open311Client.objects.filter(api_key=params.get("api_key") or "-", is_active=True).first()
    if client is None:
        raise Refusal(403, "api_key is missing or not valid")
    code = params.get("service_code", "").strip()
    if not code:
        raise Refusal(400, "service_code is required")
    category = IncidentCategory.objects.filter(is_active=True, code=code).first()
    if category is None:
        raise Refusal(404, f"service_code {code[:50]} not found")
    lat, long = _coordinate(params, "lat"), _coordinate(params, "long")
    address = params.get("address_string", "").strip()
    if (lat is None) != (long is None):
        raise Refusal(400, "lat and long must be given together")
    if lat is None and not address:
        raise Refusal(400, "lat and long, or address_string, are required")
    if lat is not None and not (-90 <= lat <= 90 and -180 <= long <= 180):
        raise Refusal(400, "lat and long are out of range")
    contact = _contact(params)
    try:
        incident, _created = report_open311_request(
            client=client,
            category=category,
            # Optional in the spec; the incident needs words, and the service's name says what it is.
            description=params.get("description", "").strip() or category.name,
            location=Point(long, lat, srid=4326) if lat is not None else None,
            address=address,
            contact=contact,
        )
    except ValidationError as exc:
        messages = exc.message_dict if hasattr(exc, "message_dict") else {"request": exc.messages}
        raise Refusal(400, "; ".join(f"{k}: {' '.join(v)}" for k, v in messages.items())) from None
    except CommandRefused as exc:
        raise Refusal(exc.status_code, str(exc)) from None
    row = {
        "service_request_id": str(incident.pk),
        "service_notice": "",
        "account_id": params.get("account_id", ""),
    }
    return respond(fmt, "service_requests", "request", [row], status=201)


@require_GET
@open311_view
def request_detail(request, pk: str, fmt: str):
    _params(request.GET)
    incident = open311_requests().filter(pk=int(pk)).first() if ID.fullmatch(pk) else None
    if incident is None:
        raise Refusal(404, f"service_request_id {pk[:50]} not found")
    return respond(fmt, "service_requests", "request", [_request_row(incident)])
