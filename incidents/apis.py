"""REST endpoints for incidents: what sync clients and the phone's outbox talk to.

Thin: input serializers validate shapes, services decide and write, output
serializers render. What a client can rely on (also in the OpenAPI description):

- **ETags per representation.** An incident's answer differs by caller (its ``actions``) and
  by time (``is_overdue``), so its ``ETag`` is weak and names both the version and a digest
  of the body this caller gets: ``W/"7-1f0c…"``. ``If-None-Match`` with it answers
  ``304 Not Modified``.
- **Optimistic concurrency.** A change (``PATCH``) must send ``If-Match`` with the ETag last
  read (428 without it); the version in it is compared, and a change made in between answers
  412 instead of being overwritten. Workflow steps and ``DELETE`` accept ``If-Match`` too.
- **Idempotency** by ``client_uuid`` (``incidents.services.reporting``): a repeat answers as the
  first did (200 with the incident); the same id with another report, or one used out of the
  caller's sight, 409; a report since deleted, 410. A repeated ``DELETE`` answers 204 again.
- **The sync feed** is commit-ordered (``incidents.selectors.sync_page``): walk it with the
  cursor it gives and no change is skipped, even one whose transaction commits late.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import uuid

from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import ISO_8601, exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.encoders import JSONEncoder

from anshun.api.base import ScopedModelViewSet
from anshun.api.exceptions import exception_handler
from anshun.api.pagination import KeysetPagination
from anshun.commands import NotFound, NotPermitted
from grids.models import Grid, GridOffice
from incidents import selectors
from incidents.filters import IncidentFilter
from incidents.models import Department, Incident, IncidentAssignment, IncidentCategory, IncidentScopeExit
from incidents.policy import POLICY
from incidents.selectors import FeedPosition
from incidents.services import editing, workflow
from incidents.services import units as unit_services
from incidents.services.bulk import ItemResult, report_incidents_bulk
from incidents.services.reporting import AlreadyDeleted, report_incident
from incidents.services.units import correct_incident
from incidents.services.workflow import StaleVersion

BULK_LIMIT = 1000
SYNC_PAGE_LIMIT = 1000
SYNC_PAGE_DEFAULT = 100


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The incident changed since you read it; fetch it again."
    default_code = "stale_version"


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_detail = gettext_lazy("Send If-Match with the ETag you last read, so no change is overwritten.")
    default_code = "if_match_required"


# --- serializers ----------------------------------------------------------------------------

NOT_FOUND_HERE = gettext_lazy("Not found in your jurisdiction.")
CODE_MAX_LENGTH = 100


def clean_code(value) -> str | None:
    """A code as sent (a string, or a number for numeric codes), or None when it cannot be
    one: empty, too long, or holding characters no database text can (NUL, lone surrogates).
    Checked before any lookup, so such input is a field error, never a server error."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not 0 < len(value) <= CODE_MAX_LENGTH:
        return None
    if any(ch == "\x00" or "\ud800" <= ch <= "\udfff" for ch in value):
        return None
    return value


class ReferenceField(serializers.SlugRelatedField):
    """An object named by its code, for a command to check. A code that names nothing becomes
    an object no one can see, so the policy gives it the answer it gives for an object out of
    the caller's sight, in the same order of checks: the two cannot be told apart."""

    default_error_messages = {"invalid": NOT_FOUND_HERE}

    def to_internal_value(self, data):
        code = clean_code(data)
        if code is None:
            self.fail("invalid")
        found = self.get_queryset().filter(**{self.slug_field: code}).first()
        return found if found is not None else self.get_queryset().model()


class CategoryField(serializers.SlugRelatedField):
    """A category by its code (``exposed-rubbish``), never its id."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Category code, e.g. `exposed-rubbish`; not an id.")
        super().__init__(slug_field="code", queryset=IncidentCategory.objects.all(), **kwargs)

    def to_internal_value(self, data):
        code = clean_code(data)
        if code is None:
            self.fail("invalid")
        return super().to_internal_value(code)


class StrictUUIDField(serializers.UUIDField):
    """A UUID written as a string; DRF would also read a number (``123``) as one."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value="")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A finite number: ``true`` is not 1.0, and NaN or infinity is no place."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float | str):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value


class PlaceInputMixin(serializers.Serializer):
    longitude = StrictFloatField(required=False, min_value=-180, max_value=180)
    latitude = StrictFloatField(required=False, min_value=-90, max_value=90)
    grid = ReferenceField(
        slug_field="code",
        queryset=Grid.objects.all(),
        required=False,
        help_text="Grid code (15 digits), when no point is given.",
    )

    def validate(self, attrs):
        has_lon, has_lat = "longitude" in attrs, "latitude" in attrs
        if has_lon != has_lat:
            raise serializers.ValidationError({"latitude": _("Give both longitude and latitude.")})
        if has_lon:
            attrs["location"] = Point(attrs.pop("longitude"), attrs.pop("latitude"), srid=4326)
        return attrs


class IncidentInputSerializer(PlaceInputMixin):
    client_uuid = StrictUUIDField(
        required=False,
        help_text=(
            "The idempotency key: make a new one for every report, when the report is made. "
            "A repeat with the same report answers as the first did; the same key with another "
            "report is refused (409)."
        ),
    )
    category = CategoryField()
    description = serializers.CharField(max_length=4000)
    priority = serializers.ChoiceField(choices=Incident.Priority.choices, default=Incident.Priority.NORMAL)
    source = serializers.ChoiceField(choices=Incident.Source.choices, default=Incident.Source.SYNC_CLIENT)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    reported_at = serializers.DateTimeField(
        required=False, help_text="When it was seen (default: now); not in the future."
    )
    attachments = serializers.ListField(child=serializers.FileField(), required=False, default=list)

    def validate_source(self, value):
        if value == Incident.Source.OPEN311:
            raise serializers.ValidationError(_("Open311 requests come through /open311/v2/."))
        return value


class PreloadedSlugField(serializers.Field):
    """A code looked up in a dict the view loaded for the whole batch (no query per item)."""

    def __init__(self, context_key: str, *, scoped: bool = False, **kwargs):
        self.context_key = context_key
        self.scoped = scoped
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        code = clean_code(data)
        found = self.context[self.context_key].get(code) if code is not None else None
        if found is None and self.scoped:
            raise serializers.ValidationError(NOT_FOUND_HERE)
        if code is None:
            raise serializers.ValidationError(_("Give a code."))
        if found is None:
            raise serializers.ValidationError(_("Unknown code “%(code)s”.") % {"code": code})
        return found

    def to_representation(self, value):
        return value.code


class BulkItemSerializer(IncidentInputSerializer):
    category = PreloadedSlugField("categories")
    grid = PreloadedSlugField("grids", scoped=True, required=False)


class IncidentUpdateSerializer(PlaceInputMixin):
    category = CategoryField(required=False)
    description = serializers.CharField(max_length=4000, required=False)
    priority = serializers.ChoiceField(choices=Incident.Priority.choices, required=False)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)


class TransitionInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    handling_office = ReferenceField(
        slug_field="code",
        queryset=GridOffice.objects.all(),
        required=False,
        help_text="Dispatch only: the grid office that handles it (default: the grid's own office).",
    )
    handling_department = ReferenceField(
        slug_field="code",
        queryset=Department.objects.all(),
        required=False,
        help_text="Dispatch only: the functional department that leads (主办), instead of a grid office.",
    )
    assist_offices = serializers.ListField(
        child=ReferenceField(slug_field="code", queryset=GridOffice.objects.all()),
        required=False,
        max_length=20,
        help_text="Dispatch only: grid offices that assist (协办), by code.",
    )
    assist_departments = serializers.ListField(
        child=ReferenceField(slug_field="code", queryset=Department.objects.all()),
        required=False,
        max_length=20,
        help_text="Dispatch only: functional departments that assist (协办), by code.",
    )
    attachments = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class CorrectionInputSerializer(serializers.Serializer):
    category = CategoryField(required=False)
    priority = serializers.ChoiceField(choices=Incident.Priority.choices, required=False)
    reason = serializers.CharField(max_length=2000)


class DuplicateCheckSerializer(serializers.Serializer):
    """The intake check's question: this category at this point."""

    category = CategoryField()
    longitude = StrictFloatField(min_value=-180, max_value=180)
    latitude = StrictFloatField(min_value=-90, max_value=90)


class CandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    category = serializers.CharField(help_text="The category's name in the request's language.")
    description = serializers.CharField(help_text="The first 80 characters.")
    reported_at = serializers.DateTimeField()
    distance_m = serializers.FloatField(help_text="Metres on the ground from the point asked about.")
    url = serializers.SerializerMethodField(help_text="The incident's page.")

    def get_url(self, candidate) -> str:
        from django.urls import reverse

        return reverse("incidents:detail", args=[candidate.id])


class MergeInputSerializer(serializers.Serializer):
    into = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="The id of the case that carries on (并案)."
    )
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


def duplicate_answer(candidates, *, request) -> dict:
    from incidents.services.duplicates import RULE

    return {
        "rule": {
            "radius_m": RULE.radius_m,
            "days": RULE.window.days,
            "closed_within_days": RULE.closed_within.days,
        },
        "results": CandidateSerializer(candidates, many=True, context={"request": request}).data,
    }


DUPLICATES_BODY = inline_serializer(
    "IncidentDuplicates",
    fields={
        "rule": serializers.DictField(help_text="The rule's numbers: radius_m, days, closed_within_days."),
        "results": CandidateSerializer(many=True),
    },
)


class IncidentOutputSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.code")
    category_name = serializers.CharField(source="category.name")
    duty = serializers.CharField(source="category.duty")
    longitude = serializers.SerializerMethodField()
    latitude = serializers.SerializerMethodField()
    grid = serializers.CharField(source="grid.code")
    grid_name = serializers.CharField(source="grid.name")
    village = serializers.CharField(source="grid.village.code")
    handling_office = serializers.CharField(source="handling_office.code", default=None, allow_null=True)
    handling_department = serializers.CharField(
        source="handling_department.code", default=None, allow_null=True
    )
    reporter = serializers.CharField(source="reporter.username", default=None, allow_null=True)
    handler = serializers.CharField(source="handler.username", default=None, allow_null=True)
    is_overdue = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()
    deleted = serializers.SerializerMethodField()
    merged_into = serializers.IntegerField(
        source="merged_into_id",
        allow_null=True,
        read_only=True,
        help_text="并案: the case this report was merged into (status `merged`); null otherwise.",
    )

    class Meta:
        model = Incident
        fields = [
            "id",
            "client_uuid",
            "version",
            "deleted",
            "status",
            "category",
            "category_name",
            "duty",
            "description",
            "priority",
            "source",
            "longitude",
            "latitude",
            "address",
            "grid",
            "grid_name",
            "village",
            "handling_office",
            "handling_department",
            "reporter",
            "handler",
            "reported_at",
            "updated_at",
            "due_at",
            "register_due_at",
            "dispatch_due_at",
            "take_due_at",
            "closed_at",
            "escalation_level",
            "is_overdue",
            "actions",
            "merged_into",
        ]

    def get_longitude(self, incident) -> float | None:
        return incident.location.x if incident.location else None

    def get_latitude(self, incident) -> float | None:
        return incident.location.y if incident.location else None

    def get_is_overdue(self, incident) -> bool:
        return is_overdue(incident)

    def get_deleted(self, incident) -> bool:
        return incident.deleted_at is not None

    def get_actions(self, incident) -> list[str]:
        """The caller's next steps. They depend only on the incident's status, handling unit and
        handler (``workflow.available_transitions``), so a page works each combination out once."""
        key = (
            incident.status,
            incident.deleted_at is None,
            incident.handling_office_id,
            incident.handling_department_id,
            incident.handler_id,
        )
        known = self.context.setdefault("_actions", {})
        if key not in known:
            known[key] = workflow.available_transitions(actor=self.context["request"].user, incident=incident)
        return list(known[key])


def _moment_or_none(moment, value):
    return moment(value) if value is not None else None


def is_overdue(incident: Incident) -> bool:
    from django.utils import timezone

    return bool(
        incident.status in selectors.RUNNING_STATUSES and incident.due_at and incident.due_at < timezone.now()
    )


class EventOutputSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    note = serializers.CharField()
    escalation_level = serializers.IntegerField(allow_null=True)
    kind = serializers.CharField(help_text="status, correction (category/priority) or part (a 协办 unit's).")
    changes = serializers.JSONField(help_text="A dispatch's units; a correction's [old, new].")


class ShareOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    part = serializers.CharField(help_text="lead (主办) or assist (协办).")
    office = serializers.CharField(source="office.code", default=None, allow_null=True)
    department = serializers.CharField(source="department.code", default=None, allow_null=True)
    state = serializers.CharField()
    result = serializers.CharField()
    assigned_at = serializers.DateTimeField()
    done_at = serializers.DateTimeField(allow_null=True)


class PartInputSerializer(serializers.Serializer):
    share = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="The 协办 share's id.")
    result = serializers.CharField(max_length=2000, help_text="What the assisting unit did.")


class AttachmentOutputSerializer(serializers.Serializer):
    url = serializers.SerializerMethodField(
        help_text="The scoped file view (session or API token); never a public storage URL."
    )
    name = serializers.CharField(source="original_name", help_text="The uploader's file name, for display.")
    content_type = serializers.CharField(help_text="Decided from the file's bytes at upload.")
    size = serializers.IntegerField()
    uploaded_at = serializers.DateTimeField()

    def get_url(self, attachment) -> str:
        request = self.context.get("request")
        url = attachment.get_absolute_url()
        return request.build_absolute_uri(url) if request is not None else url


class IncidentDetailSerializer(IncidentOutputSerializer):
    events = EventOutputSerializer(many=True, read_only=True)
    attachments = AttachmentOutputSerializer(many=True, read_only=True)
    shares = ShareOutputSerializer(source="assignments", many=True, read_only=True)

    class Meta(IncidentOutputSerializer.Meta):
        fields = [*IncidentOutputSerializer.Meta.fields, "events", "attachments", "shares"]


_DATETIME = serializers.DateTimeField()


class IncidentTombstoneSerializer(serializers.Serializer):
    """An incident the caller should drop: deleted (still in their jurisdiction, with the version
    and time of the deletion), or gone out of their sight (``out_of_scope``: moved to a grid or
    unit outside it; nothing more is said of it)."""

    id = serializers.IntegerField()
    client_uuid = serializers.UUIDField()
    deleted = serializers.BooleanField(default=True, help_text="Always true: drop your copy.")
    reason = serializers.ChoiceField(choices=["deleted", "out_of_scope"])
    version = serializers.IntegerField(required=False, help_text="Deletions only.")
    updated_at = serializers.DateTimeField(required=False, help_text="Deletions only.")

    def to_representation(self, instance):
        if isinstance(instance, IncidentScopeExit):
            return {
                "id": instance.incident_id,
                "client_uuid": str(instance.client_uuid),
                "deleted": True,
                "reason": "out_of_scope",
            }
        return {
            "id": instance.pk,
            "client_uuid": str(instance.client_uuid),
            "deleted": True,
            "reason": "deleted",
            "version": instance.version,
            "updated_at": _DATETIME.to_representation(instance.updated_at),
        }


def _iso_moment(zone):
    """``DateTimeField.to_representation`` in ISO 8601 for aware datetimes, with the time zone
    looked up once per page instead of once per value (it was a tenth of the feed's time)."""

    def moment(value):
        if not value or value.tzinfo is None:
            return _DATETIME.to_representation(value)
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return moment


class SyncRenderer:
    """The sync feed's entries from plain rows (``selectors.SYNC_COLUMNS``): a live incident as
    ``IncidentOutputSerializer`` renders it, key for key and value for value (its datetimes by
    the same DRF field, in the request's time zone), and tombstones as
    ``IncidentTombstoneSerializer`` does. No field objects per row and no model instances: the
    feed walks thousands of rows at a time. ``actions`` are worked out once per combination of
    what they depend on (status, handling unit: office or department, handler), as the serializer
    does."""

    def __init__(self, *, actor):
        from django.utils import timezone

        self.actor = actor
        self.now = timezone.now()
        self.actions: dict[tuple, list[str]] = {}
        self.moment = _DATETIME.to_representation
        output_format = getattr(_DATETIME, "format", api_settings.DATETIME_FORMAT)
        zone = _DATETIME.default_timezone()
        if output_format is not None and output_format.lower() == ISO_8601 and zone is not None:
            self.moment = _iso_moment(zone)

    def entry(self, kind: str, row: dict) -> dict:
        if kind == "departure":
            return {
                "id": row["incident_id"],
                "client_uuid": str(row["client_uuid"]),
                "deleted": True,
                "reason": "out_of_scope",
            }
        if row["deleted_at"] is not None:
            return {
                "id": row["id"],
                "client_uuid": str(row["client_uuid"]),
                "deleted": True,
                "reason": "deleted",
                "version": row["version"],
                "updated_at": self.moment(row["updated_at"]),
            }
        return self.incident(row)

    def incident(self, row: dict) -> dict:
        moment = self.moment
        status_ = row["status"]
        due_at = row["due_at"]
        return {
            "id": row["id"],
            "client_uuid": str(row["client_uuid"]),
            "version": row["version"],
            "deleted": False,
            "status": status_,
            "category": row["category__code"],
            "category_name": row["category__name"],
            "duty": row["category__duty"],
            "description": row["description"],
            "priority": row["priority"],
            "source": row["source"],
            "longitude": row["sync_longitude"],
            "latitude": row["sync_latitude"],
            "address": row["address"],
            "grid": row["grid__code"],
            "grid_name": row["grid__name"],
            "village": row["grid__village__code"],
            "handling_office": row["handling_office__code"],
            "handling_department": row["handling_department__code"],
            "reporter": row["reporter__username"],
            "handler": row["handler__username"],
            "reported_at": moment(row["reported_at"]),
            "updated_at": moment(row["updated_at"]),
            "due_at": moment(due_at) if due_at is not None else None,
            "register_due_at": _moment_or_none(moment, row["register_due_at"]),
            "dispatch_due_at": _moment_or_none(moment, row["dispatch_due_at"]),
            "take_due_at": _moment_or_none(moment, row["take_due_at"]),
            "closed_at": moment(row["closed_at"]) if row["closed_at"] is not None else None,
            "escalation_level": row["escalation_level"],
            "is_overdue": bool(status_ in selectors.RUNNING_STATUSES and due_at and due_at < self.now),
            "actions": list(self._actions(row)),
            "merged_into": row["merged_into_id"],
        }

    def _actions(self, row: dict) -> list[str]:
        key = (row["status"], row["handling_office_id"], row["handling_department_id"], row["handler_id"])
        if key not in self.actions:
            judged = Incident(
                status=key[0], handling_office_id=key[1], handling_department_id=key[2], handler_id=key[3]
            )
            self.actions[key] = workflow.available_transitions(actor=self.actor, incident=judged)
        return self.actions[key]


BulkResultSerializer = inline_serializer(
    "IncidentBulkResult",
    fields={
        "index": serializers.IntegerField(),
        "client_uuid": serializers.UUIDField(
            allow_null=True,
            help_text="The item's key: as sent when it was a UUID, else made here, else null.",
        ),
        "result": serializers.ChoiceField(
            choices=["created", "duplicate", "gone", "error"],
            help_text=(
                "`duplicate`: this report was stored before (`id`); `gone`: it was stored and "
                "since deleted (`id`), do not send it again; `error`: see `errors`."
            ),
        ),
        "id": serializers.IntegerField(allow_null=True),
        "errors": serializers.DictField(required=False),
    },
)


# --- helpers --------------------------------------------------------------------------------

_ENTITY_TAG = re.compile(r'(W/)?"([^"]*)"')


def entity_tags(header: str) -> list[str] | None:
    """The opaque tags of an ``If-Match``/``If-None-Match`` list (``W/`` dropped: the weak
    comparison), None for ``*``. A malformed list is refused like a tag this API never gave."""
    if header.strip() == "*":
        return None
    tags = []
    for part in header.split(","):
        match = _ENTITY_TAG.fullmatch(part.strip())
        if match is None:
            raise PreconditionFailed(_("If-Match must be an ETag this API gave out."))
        tags.append(match.group(2))
    return tags


def expected_version(request) -> int | None:
    """The version named by ``If-Match`` (``W/"7-…"``, ``"7"`` or ``*``), or None when absent
    or ``*``. Only the version is compared: it is what a change would overwrite."""
    header = request.headers.get("If-Match")
    if not header:
        return None
    tags = entity_tags(header)
    if tags is None:
        return None
    versions = {tag.split("-", 1)[0] for tag in tags}
    if len(versions) != 1 or not re.fullmatch(r"[0-9]{1,9}", next(iter(versions))):
        raise PreconditionFailed(_("If-Match must be an ETag this API gave out."))
    return int(versions.pop())


def representation_etag(data, *, version: int, request) -> str:
    """A weak ETag of this caller's representation: the version, then a digest of the body
    (which differs by caller and over time) and of its format."""
    body = json.dumps(data, cls=JSONEncoder, sort_keys=True, ensure_ascii=True)
    media = getattr(request, "accepted_media_type", "") or ""
    digest = hashlib.sha256(f"{media}\n{body}".encode()).hexdigest()[:20]
    return f'W/"{version}-{digest}"'


def not_modified(request, etag: str) -> bool:
    """``If-None-Match`` names this representation (weak comparison, or ``*``)."""
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    try:
        tags = entity_tags(header)
    except PreconditionFailed:
        return False  # a list this API never gave matches nothing: send the body
    return tags is None or etag.removeprefix("W/").strip('"') in tags


CURSOR_PREFIX = "p1"
_CURSOR = re.compile(rf"{CURSOR_PREFIX}\.([0-9]{{1,18}})\.([0-9]{{1,18}})")


def encode_cursor(position: FeedPosition) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}.{position.txid}.{position.seq}".encode()).decode()


def decode_cursor(cursor: str) -> FeedPosition:
    try:
        match = _CURSOR.fullmatch(base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii"))
    except (ValueError, binascii.Error, UnicodeError):
        match = None
    if match is None:
        raise exceptions.ValidationError({"cursor": [_("Not a cursor this API gave out.")]})
    return FeedPosition(int(match.group(1)), int(match.group(2)))


def _one_param(params, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise exceptions.ValidationError({name: [_("Give it once.")]})
    return values[0] if values and values[0] != "" else None


def parse_updated_after(value: str | None):
    if value is None:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:  # well formed, but no such day or hour (2026-13-45)
        moment = None
    if moment is None:
        raise exceptions.ValidationError({"updated_after": [_("Use an ISO 8601 date and time.")]})
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def parse_page_size(value: str | None) -> int:
    if value is None:
        return SYNC_PAGE_DEFAULT
    if not re.fullmatch(r"[0-9]{1,9}", value) or int(value) < 1:
        raise exceptions.ValidationError({"page_size": [_("Give one whole number from 1.")]})
    return min(int(value), SYNC_PAGE_LIMIT)


def _printable(value):
    """Error messages may quote the input; a lone surrogate in it cannot be sent as UTF-8."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


def _uuid_or_none(value) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The ETag last read (`W/"7-…"`); its version is compared. `*`: whatever the version.',
)
TRANSITION_PARAMS = [IF_MATCH]
IF_MATCH_REQUIRED = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        'Required: the ETag last read (`W/"7-…"`); its version is compared, so a change made '
        "in between answers 412 instead of being overwritten. `*` overwrites whatever the version."
    ),
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="ETags you hold; 304 with no body when one is this answer's.",
)
ERROR_BODY = inline_serializer("IncidentErrorDetail", fields={"detail": serializers.CharField()})
CLIENT_UUID_ERROR = inline_serializer(
    "IncidentKeyError",
    fields={"client_uuid": serializers.ListField(child=serializers.CharField())},
)
GONE_BODY = inline_serializer(
    "IncidentGone",
    fields={
        "client_uuid": serializers.ListField(child=serializers.CharField()),
        "id": serializers.IntegerField(help_text="The incident the report became, since deleted."),
    },
)
STALE_BODY = inline_serializer(
    "IncidentStale",
    fields={
        "detail": serializers.CharField(),
        "version": serializers.IntegerField(
            required=False,
            help_text="The incident's version now (absent when If-Match was not an ETag of ours).",
        ),
    },
)


def _transition_action(name: str, attribute: str | None = None):
    @extend_schema(
        request=TransitionInputSerializer,
        responses={
            200: IncidentDetailSerializer,
            400: None,
            403: None,
            404: None,
            412: OpenApiResponse(STALE_BODY, description="If-Match names an older version."),
        },
        parameters=TRANSITION_PARAMS,
        summary=f"Workflow: {name.replace('_', ' ')}",
    )
    def act(self, request, pk=None):
        return self.run_transition(request, pk, name)

    act.__name__ = attribute or name
    return action(
        detail=True, methods=["post"], url_path=name.replace("_", "-"), url_name=name.replace("_", "-")
    )(act)


# --- the viewset ----------------------------------------------------------------------------


class IncidentViewSet(ScopedModelViewSet):
    """Incidents in the caller's jurisdiction; ETags, If-Match and idempotency as the module says."""

    selector = staticmethod(selectors.incidents_visible_to)
    read_capability = "incident.view"
    serializer_class = IncidentOutputSerializer
    filterset_class = IncidentFilter
    pagination_class = KeysetPagination

    def get_serializer_class(self):
        if self.action == "retrieve":
            return IncidentDetailSerializer
        return IncidentOutputSerializer

    def handle_exception(self, exc):
        if isinstance(exc, StaleVersion):
            return Response(
                {"detail": PreconditionFailed.default_detail, "version": exc.current},
                status=status.HTTP_412_PRECONDITION_FAILED,
            )
        if isinstance(exc, AlreadyDeleted):
            return Response(
                {exc.field_name: [exc.message], "id": exc.incident_id}, status=status.HTTP_410_GONE
            )
        if isinstance(exc, DjangoPermissionDenied):
            exc = exceptions.PermissionDenied(str(exc) or None)
        response = super().handle_exception(exc)
        if response is not None and response.status_code == status.HTTP_400_BAD_REQUEST:
            response.data = _printable(response.data)
        return response

    def get_exception_handler(self):
        return exception_handler

    def _detail(self, incident_id: int, *, status_code=status.HTTP_200_OK) -> Response:
        incident = selectors.incident_detail(actor=self.request.user).get(pk=incident_id)
        data = IncidentDetailSerializer(incident, context=self.get_serializer_context()).data
        etag = representation_etag(data, version=incident.version, request=self.request)
        reading = status_code == status.HTTP_200_OK and self.request.method in ("GET", "HEAD")
        if reading and not_modified(self.request, etag):
            return self._validators(Response(status=status.HTTP_304_NOT_MODIFIED), etag)
        return self._validators(Response(data, status=status_code), etag)

    @staticmethod
    def _validators(response: Response, etag: str) -> Response:
        response["ETag"] = etag
        # The body is this caller's: shared caches must not keep it, and clients revalidate.
        patch_cache_control(response, private=True, no_cache=True)
        patch_vary_headers(response, ("Authorization", "Cookie", "Accept-Language"))
        return response

    @staticmethod
    def _pk(pk) -> int:
        try:
            return int(pk)
        except (TypeError, ValueError):
            raise Http404 from None

    @extend_schema(parameters=[])
    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        parameters=[IF_NONE_MATCH],
        responses={
            200: IncidentDetailSerializer,
            304: OpenApiResponse(description="Not modified: the ETag sent in If-None-Match is current."),
        },
        description=(
            'One incident. `ETag` is weak and per representation (`W/"<version>-<digest>"`): the '
            "body differs by caller and over time. Send it back in `If-None-Match` for a 304, "
            "and in `If-Match` to change the incident."
        ),
    )
    def retrieve(self, request, pk=None):
        return self._detail(self.get_object().pk)

    @extend_schema(
        request={"application/json": IncidentInputSerializer, "multipart/form-data": IncidentInputSerializer},
        responses={
            201: IncidentDetailSerializer,
            200: IncidentDetailSerializer,
            409: OpenApiResponse(
                CLIENT_UUID_ERROR,
                description=(
                    "The client_uuid was used for another report, or is used outside your "
                    "jurisdiction (one answer for both; it says nothing of whose it is)."
                ),
            ),
            410: OpenApiResponse(
                GONE_BODY, description="This report was stored and has since been deleted: stop sending it."
            ),
        },
        description=(
            "Idempotent by `client_uuid` (after the IETF Idempotency-Key draft): a repeat of the same "
            "report answers 200 with the first incident; the same key with another report, 409 "
            "(the draft's 422 is not used, so that this answer cannot be told apart from a key "
            "used out of your sight); a report since deleted, 410 every time."
        ),
    )
    def create(self, request):
        data = IncidentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident, created = report_incident(actor=request.user, **data.validated_data)
        return self._detail(
            incident.pk, status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        request=IncidentUpdateSerializer,
        parameters=[IF_MATCH_REQUIRED],
        responses={
            200: IncidentDetailSerializer,
            412: OpenApiResponse(STALE_BODY, description="If-Match names an older version."),
            428: OpenApiResponse(ERROR_BODY, description="No If-Match: send the ETag you last read."),
        },
    )
    def partial_update(self, request, pk=None):
        data = IncidentUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        incident_id = self._pk(pk)
        if not request.headers.get("If-Match"):
            # Who may change what is answered first (403, 404), as for any other request.
            POLICY.authorize(
                "update",
                actor=request.user,
                arguments={"incident_id": incident_id, "grid": data.validated_data.get("grid")},
            )
            raise PreconditionRequired()
        incident = editing.update_incident(
            actor=request.user,
            incident_id=incident_id,
            expected_version=expected_version(request),
            **data.validated_data,
        )
        return self._detail(incident.pk)

    @extend_schema(
        request=PartInputSerializer,
        responses={200: IncidentDetailSerializer, 400: None, 403: None, 404: None},
        summary="A 协办 unit records its part",
    )
    @action(detail=True, methods=["post"], url_path="record-part", url_name="record-part")
    def record_part(self, request, pk=None):
        if not POLICY.can("record_part", actor=request.user):
            raise NotPermitted()
        incident_id = self._pk(pk)
        if not self.get_queryset().filter(pk=incident_id).exists():
            raise NotFound()  # out of sight: 404 before the body is read, as for every command
        data = PartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        share_id = data.validated_data["share"]
        if not IncidentAssignment.objects.filter(pk=share_id, incident_id=incident_id).exists():
            raise NotFound()  # another incident's share is not found here
        unit_services.record_part(
            actor=request.user, assignment_id=share_id, result=data.validated_data["result"]
        )
        return self._detail(incident_id)

    @extend_schema(
        responses={
            204: None,
            412: OpenApiResponse(STALE_BODY, description="If-Match names an older version."),
        },
        parameters=TRANSITION_PARAMS,
        description="Soft delete (the feed gets a tombstone). Repeating it answers 204 again.",
    )
    def destroy(self, request, pk=None):
        editing.delete_incident(
            actor=request.user, incident_id=self._pk(pk), expected_version=expected_version(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    def run_transition(self, request, pk, name: str) -> Response:
        data = TransitionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        arguments = {"note": data.validated_data["note"]}
        if name == "dispatch":
            for field in ("handling_office", "handling_department", "assist_offices", "assist_departments"):
                if field in data.validated_data:
                    arguments[field] = data.validated_data[field]
        if name == "report_handled":
            arguments["attachments"] = data.validated_data["attachments"]
        incident = workflow.SERVICES[name](
            actor=request.user,
            incident_id=self._pk(pk),
            expected_version=expected_version(request),
            **arguments,
        )
        return self._detail(incident.pk)

    register = _transition_action("register")
    dispatch_to_unit = _transition_action("dispatch", "dispatch_to_unit")
    take = _transition_action("take")
    report_handled = _transition_action("report_handled")
    return_to_dispatcher = _transition_action("return", "return_to_dispatcher")
    verify = _transition_action("verify")
    reopen = _transition_action("reopen")
    close = _transition_action("close")
    reject = _transition_action("reject")
    void = _transition_action("void")

    @extend_schema(
        request=CorrectionInputSerializer,
        responses={200: IncidentDetailSerializer, 400: None, 403: None, 404: None},
        parameters=TRANSITION_PARAMS,
        summary="The dispatcher corrects category and/or priority (recorded with the reason)",
    )
    @action(detail=True, methods=["post"], url_path="correct", url_name="correct")
    def correct(self, request, pk=None):
        # Who may correct what is answered first (403, 404), as for any other command.
        POLICY.authorize("correct", actor=request.user, arguments={"incident_id": self._pk(pk)})
        data = CorrectionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = correct_incident(
            actor=request.user,
            incident_id=self._pk(pk),
            expected_version=expected_version(request),
            **data.validated_data,
        )
        return self._detail(incident.pk)

    @extend_schema(
        parameters=[
            OpenApiParameter("category", OpenApiTypes.STR, required=True, description="Category code."),
            OpenApiParameter("longitude", OpenApiTypes.NUMBER, required=True),
            OpenApiParameter("latitude", OpenApiTypes.NUMBER, required=True),
        ],
        operation_id="incidents_duplicates_at_place",
        responses={200: DUPLICATES_BODY, 400: None, 403: None},
        summary="Likely duplicates of a report about to be made",
        description=(
            "Incidents of this category near this point, reported lately and still a case "
            "(`incidents.services.duplicates.RULE`), nearest first, at most 5. Only incidents in "
            "your jurisdiction are named or counted. A warning for the report form: it never "
            "stops a report."
        ),
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="duplicates",
        url_name="duplicates",
        filterset_class=None,
        pagination_class=None,
    )
    def duplicates_here(self, request):
        from incidents.services.duplicates import candidates_at

        data = DuplicateCheckSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        location = Point(data.validated_data["longitude"], data.validated_data["latitude"], srid=4326)
        found = candidates_at(actor=request.user, category=data.validated_data["category"], location=location)
        return Response(duplicate_answer(found, request=request))

    @extend_schema(
        operation_id="incidents_duplicates_of",
        responses={200: DUPLICATES_BODY, 404: None},
        summary="Likely duplicates of an incident (for the dispatcher)",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="duplicates",
        url_name="duplicates-of",
        filterset_class=None,
        pagination_class=None,
    )
    def duplicates_of(self, request, pk=None):
        from incidents.services.duplicates import candidates_for

        incident = self.get_object()
        return Response(
            duplicate_answer(
                candidates_for(actor=request.user, incidents=[incident]).get(incident.pk, []), request=request
            )
        )

    @extend_schema(
        request=MergeInputSerializer,
        parameters=TRANSITION_PARAMS,
        responses={
            200: IncidentDetailSerializer,
            400: None,
            403: None,
            404: None,
            409: OpenApiResponse(
                description="Either incident is finished, or this one was merged elsewhere."
            ),
            412: OpenApiResponse(STALE_BODY, description="If-Match names an older version."),
        },
        summary="并案: merge this report into another case",
        description=(
            "This incident becomes `merged` (`merged_into` names the case that carries on); it "
            "keeps its reporter, photos and timeline, and both timelines record the merge. "
            "Repeating the same merge answers 200 again and changes nothing."
        ),
    )
    @action(detail=True, methods=["post"], url_path="merge", url_name="merge")
    def merge(self, request, pk=None):
        from incidents.services.merge import merge_incident

        incident_id = self._pk(pk)
        # Who may merge what is answered first (403, 404), as for any other command.
        POLICY.authorize("merge", actor=request.user, arguments={"incident_id": incident_id})
        data = MergeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        into = Incident.objects.filter(pk=data.validated_data["into"]).first() or Incident()
        incident = merge_incident(
            actor=request.user,
            incident_id=incident_id,
            into=into,
            note=data.validated_data["note"],
            expected_version=expected_version(request),
        )
        return self._detail(incident.pk)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "cursor",
                OpenApiTypes.STR,
                description="`next_cursor` of the previous answer; none for the first sync.",
            ),
            OpenApiParameter(
                "page_size",
                OpenApiTypes.INT,
                description=(
                    f"1 to {SYNC_PAGE_LIMIT} (more is read as {SYNC_PAGE_LIMIT}); "
                    f"{SYNC_PAGE_DEFAULT} by default."
                ),
            ),
            OpenApiParameter(
                "updated_after",
                OpenApiTypes.DATETIME,
                description=(
                    "Only changes made after this time (for a first sync that needs no history). "
                    "The cursor, not this, is what guarantees nothing is missed."
                ),
            ),
        ],
        responses=inline_serializer(
            "IncidentSyncPage",
            fields={
                "results": PolymorphicProxySerializer(
                    component_name="IncidentSyncEntry",
                    serializers=[IncidentOutputSerializer, IncidentTombstoneSerializer],
                    resource_type_field_name=None,
                    many=True,
                ),
                "next_cursor": serializers.CharField(
                    help_text=(
                        "Where the next page starts; keep it for the next sync, also when `has_more` "
                        "is false."
                    )
                ),
                "has_more": serializers.BooleanField(
                    help_text="More changes are ready now: ask again with `next_cursor` at once."
                ),
            },
        ),
        description=(
            "The incidents that changed in your jurisdiction, in commit order, each once per change "
            "(its latest state). Deletions come as tombstones (`deleted: true`, `reason: deleted`); "
            "so does an incident that left your sight, moved to a grid or unit outside it "
            "(`reason: out_of_scope`, with its `id` and `client_uuid` only).\n\n"
            "Guarantee: walk the feed with `next_cursor` (while `has_more`, then again later from "
            "the last `next_cursor`) and no change is skipped or repeated, however late its "
            "transaction commits: a change is served only once every transaction that began before "
            "it has ended, so a slow writer holds the feed back for a moment instead of landing "
            "behind your cursor. A change of your own jurisdiction is not in the feed: sync again "
            "from the start."
        ),
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def sync(self, request):
        params = request.query_params
        cursor = _one_param(params, "cursor")
        after = decode_cursor(cursor) if cursor is not None else None
        updated_after = parse_updated_after(_one_param(params, "updated_after"))
        limit = parse_page_size(_one_param(params, "page_size"))
        page = selectors.sync_page(actor=request.user, after=after, updated_after=updated_after, limit=limit)
        # Rows come as plain values and are rendered by hand, byte for byte as the list's
        # serializer renders an incident (tests/incidents/test_sync_rows.py compares them).
        render = SyncRenderer(actor=request.user)
        results = [render.entry(kind, row) for _position, kind, row in page.entries]
        return Response(
            {"results": results, "next_cursor": encode_cursor(page.next), "has_more": page.has_more}
        )

    @extend_schema(
        request=inline_serializer(
            "IncidentBulkInput",
            fields={
                "items": serializers.ListField(
                    child=serializers.JSONField(),
                    min_length=1,
                    max_length=BULK_LIMIT,
                    help_text="Incidents as for create; an item that is not one gets its own error result.",
                )
            },
        ),
        responses=inline_serializer(
            "IncidentBulkOutput", fields={"results": serializers.ListField(child=BulkResultSerializer)}
        ),
        description=(
            f"Up to {BULK_LIMIT} incidents, each as for create. Every item gets its own result; "
            "a bad item is reported and never loses the others. Idempotent per item as for create: "
            "a repeat is `duplicate`, a report since deleted `gone`, the same `client_uuid` with "
            "another report an error on `client_uuid`."
        ),
    )
    @action(detail=False, methods=["post"], filterset_class=None, pagination_class=None)
    def bulk(self, request):
        items = request.data.get("items") if isinstance(request.data, dict) else None
        if not isinstance(items, list) or not items:
            raise exceptions.ValidationError({"items": _("Send a non-empty list of incidents.")})
        if len(items) > BULK_LIMIT:
            raise exceptions.ValidationError(
                {"items": _("At most %(n)d items per batch.") % {"n": BULK_LIMIT}}
            )
        if not POLICY.can("report", actor=request.user):
            raise NotPermitted()  # before any item is read; the service asks the same rule again
        objects = [item for item in items if isinstance(item, dict)]
        # Only codes that can be codes are looked up (no NUL, no lone surrogate): the rest are
        # the items' own field errors.
        context = {
            "categories": IncidentCategory.objects.in_bulk(
                {code for i in objects if (code := clean_code(i.get("category")))}, field_name="code"
            ),
            "grids": Grid.objects.defer("geometry").in_bulk(
                {code for i in objects if (code := clean_code(i.get("grid")))}, field_name="code"
            ),
        }
        values, results = [], []
        for index, item in enumerate(items):
            result = ItemResult(index=index)
            results.append(result)
            values.append(None)
            if not isinstance(item, dict):
                result.errors = {"non_field_errors": [_("Each item is an object.")]}
                continue
            data = BulkItemSerializer(
                data={k: v for k, v in item.items() if k != "attachments"}, context=context
            )
            if not data.is_valid():
                result.client_uuid = _uuid_or_none(item.get("client_uuid"))
                result.errors = _printable(data.errors)
                continue
            values[index] = {k: v for k, v in data.validated_data.items() if k != "attachments"}
        report_incidents_bulk(actor=request.user, items=values, results=results)
        return Response(
            {
                "results": [
                    {
                        "index": r.index,
                        "client_uuid": str(r.client_uuid) if r.client_uuid else None,
                        "result": r.result,
                        "id": r.incident_id,
                        **({"errors": r.errors} if r.result == "error" else {}),
                    }
                    for r in results
                ]
            }
        )
