"""Open311 GeoReport v2 at /open311/v2/: services, service definitions, and service requests.

Field names, types and error bodies follow the GeoReport v2 specification: ids are
strings, ``lat``/``long`` WGS84 numbers, datetimes W3C with a time zone, errors a list
of ``{"code", "description"}`` (``<errors><error>`` in XML). Services are the active
incident categories. Reading requests needs no key, as in the spec, and therefore shows
only requests that came in through Open311, never what grid workers logged; posting
needs an ``api_key`` issued to the client in the admin.

What an anonymous reader sees of a request is the public part only (``PUBLIC_FIELDS``):
the description as the citizen reported it (not a later edit by staff), where, when, and a
status. ``status_notes`` is the public name of the status, never a timeline note (dispatchers
write names and phone numbers there), and ``media_url`` is always empty: the only photos
on an Open311 request are the handlers' working photos, which stay inside the platform.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from incidents.models import Duty, Incident, IncidentCategory, Open311Client
from incidents.services.reporting import report_open311_request

MAX_RESULTS = 1000
DEFAULT_WINDOW = timedelta(days=90)
AGENCY = "安顺市综治中心"


# --- rendering ------------------------------------------------------------------------------


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
                ET.SubElement(child, singular).text = str(entry)
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    elif value is not None:
        child.text = str(value)


def respond(fmt: str, root: str, item: str, rows: list[dict], status: int = 200):
    if fmt == "xml":
        return HttpResponse(_xml(root, item, rows), content_type="text/xml; charset=utf-8", status=status)
    return JsonResponse(rows, safe=False, status=status, json_dumps_params={"ensure_ascii": False})


def error(fmt: str, code: int, description: str):
    return respond(fmt, "errors", "error", [{"code": code, "description": description}], status=code)


def w3c(moment) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


# --- services -------------------------------------------------------------------------------


def _service(category: IncidentCategory) -> dict:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": f"{Duty(category.duty).label} · {category.name}",
        "metadata": False,
        "type": "batch",
        "keywords": category.duty,
        "group": str(Duty(category.duty).label),
    }


@require_GET
def services(request, fmt: str):
    rows = [_service(c) for c in IncidentCategory.objects.filter(is_active=True).order_by("duty", "code")]
    return respond(fmt, "services", "service", rows)


@require_GET
def service_definition(request, code: str, fmt: str):
    category = IncidentCategory.objects.filter(is_active=True, code=code).first()
    if category is None:
        return error(fmt, 404, f"service_code {code} not found")
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


def _public_status_note(incident: Incident) -> str:
    """The status in words the public may read; timeline notes are internal and never shown."""
    return str(incident.get_status_display())


def _request_row(incident: Incident) -> dict:
    closed = incident.status == Incident.Status.CLOSED
    return {
        "service_request_id": str(incident.pk),
        "status": "closed" if closed else "open",
        "status_notes": _public_status_note(incident),
        "service_name": incident.category.name,
        "service_code": incident.category.code,
        "description": incident.reported_description,
        "agency_responsible": incident.handling_office.name if incident.handling_office else AGENCY,
        "service_notice": "",
        "requested_datetime": w3c(incident.reported_at),
        "updated_datetime": w3c(incident.updated_at),
        "expected_datetime": w3c(incident.due_at),
        "address": incident.reported_address,
        "address_id": "",
        "zipcode": "",
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
        .select_related("category", "handling_office")
        .annotate(
            reported_description=Coalesce(Subquery(first.values("description")[:1]), "description"),
            reported_address=Coalesce(Subquery(first.values("address")[:1]), "address"),
        )
        .order_by("-reported_at", "-id")
    )


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@csrf_exempt
@require_http_methods(["GET", "POST"])
def requests_collection(request, fmt: str):
    if request.method == "POST":
        return _create(request, fmt)
    params = request.GET
    incidents = open311_requests()
    if params.get("service_request_id"):
        ids = _csv(params["service_request_id"])
        if not all(i.isdigit() for i in ids):
            return error(fmt, 400, "service_request_id must be a comma-separated list of ids")
        return respond(
            fmt,
            "service_requests",
            "request",
            [_request_row(i) for i in incidents.filter(pk__in=ids)],
        )
    if params.get("service_code"):
        incidents = incidents.filter(category__code__in=_csv(params["service_code"]))
    dates = {}
    for name in ("start_date", "end_date"):
        if params.get(name):
            value = parse_datetime(params[name])
            if value is None or timezone.is_naive(value):
                return error(fmt, 400, f"{name} must be a W3C datetime with a time zone")
            dates[name] = value
    if "start_date" not in dates and "end_date" not in dates:
        dates["start_date"] = timezone.now() - DEFAULT_WINDOW
    if "start_date" in dates:
        incidents = incidents.filter(reported_at__gte=dates["start_date"])
    if "end_date" in dates:
        incidents = incidents.filter(reported_at__lte=dates["end_date"])
    if params.get("status"):
        statuses = set(_csv(params["status"]))
        if not statuses <= {"open", "closed"}:
            return error(fmt, 400, "status must be open, closed or both")
        if statuses == {"open"}:
            incidents = incidents.exclude(status=Incident.Status.CLOSED)
        elif statuses == {"closed"}:
            incidents = incidents.filter(status=Incident.Status.CLOSED)
    return respond(fmt, "service_requests", "request", [_request_row(i) for i in incidents[:MAX_RESULTS]])


def _create(request, fmt: str):
    data = request.POST
    client = Open311Client.objects.filter(api_key=data.get("api_key") or "-", is_active=True).first()
    if client is None:
        return error(fmt, 403, "api_key is missing or not valid")
    category = IncidentCategory.objects.filter(is_active=True, code=data.get("service_code") or "").first()
    if category is None:
        return error(fmt, 400, "service_code is missing or not a known service")
    try:
        lat, long = float(data["lat"]), float(data["long"])
    except (KeyError, ValueError):
        return error(fmt, 400, "lat and long are required WGS84 decimal degrees")
    description = (data.get("description") or "").strip()
    if not description:
        return error(fmt, 400, "description is required")
    try:
        incident, _created = report_open311_request(
            client=client,
            category=category,
            description=description[:4000],
            location=Point(long, lat, srid=4326),
            address=(data.get("address_string") or "")[:200],
        )
    except ValidationError as exc:
        messages = exc.message_dict if hasattr(exc, "message_dict") else {"request": exc.messages}
        return error(fmt, 400, "; ".join(f"{k}: {' '.join(v)}" for k, v in messages.items()))
    row = {
        "service_request_id": str(incident.pk),
        "service_notice": "",
        "account_id": data.get("account_id", ""),
    }
    return respond(fmt, "service_requests", "request", [row], status=201)


@require_GET
def request_detail(request, pk: str, fmt: str):
    incident = open311_requests().filter(pk=int(pk)).first() if pk.isdigit() else None
    if incident is None:
        return error(fmt, 404, f"service_request_id {pk} not found")
    return respond(fmt, "service_requests", "request", [_request_row(incident)])
