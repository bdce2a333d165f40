"""REST endpoints for incidents: what sync clients and the phone's outbox talk to.

Thin: input serializers validate shapes, services decide and write, output
serializers render. Concurrency is optimistic: every incident carries its
``version`` as the ETag; send it back as ``If-Match`` and a change made in
between answers 412 instead of being overwritten.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from anshun.api.base import ScopedModelViewSet
from anshun.api.exceptions import exception_handler
from anshun.commands import NotPermitted
from grids.models import Grid, GridOffice
from incidents import selectors
from incidents.filters import IncidentFilter
from incidents.models import Incident, IncidentCategory
from incidents.policy import POLICY
from incidents.services import editing, workflow
from incidents.services.bulk import ItemResult, report_incidents_bulk
from incidents.services.reporting import report_incident
from incidents.services.workflow import StaleVersion

BULK_LIMIT = 1000
SYNC_PAGE_LIMIT = 1000


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The incident changed since you read it; fetch it again."
    default_code = "stale_version"


# --- serializers ----------------------------------------------------------------------------

NOT_FOUND_HERE = gettext_lazy("Not found in your jurisdiction.")


class ReferenceField(serializers.SlugRelatedField):
    """An object named by its code, for a command to check. A code that names nothing becomes
    an object no one can see, so the policy gives it the answer it gives for an object out of
    the caller's sight, in the same order of checks: the two cannot be told apart."""

    default_error_messages = {"invalid": NOT_FOUND_HERE}

    def to_internal_value(self, data):
        if not isinstance(data, str | int):
            self.fail("invalid")
        found = self.get_queryset().filter(**{self.slug_field: str(data)}).first()
        return found if found is not None else self.get_queryset().model()


class PlaceInputMixin(serializers.Serializer):
    longitude = serializers.FloatField(required=False, min_value=-180, max_value=180)
    latitude = serializers.FloatField(required=False, min_value=-90, max_value=90)
    grid = ReferenceField(slug_field="code", queryset=Grid.objects.all(), required=False)

    def validate(self, attrs):
        has_lon, has_lat = "longitude" in attrs, "latitude" in attrs
        if has_lon != has_lat:
            raise serializers.ValidationError({"latitude": _("Give both longitude and latitude.")})
        if has_lon:
            attrs["location"] = Point(attrs.pop("longitude"), attrs.pop("latitude"), srid=4326)
        return attrs


class IncidentInputSerializer(PlaceInputMixin):
    client_uuid = serializers.UUIDField(required=False)
    category = serializers.SlugRelatedField(slug_field="code", queryset=IncidentCategory.objects.all())
    description = serializers.CharField(max_length=4000)
    priority = serializers.ChoiceField(choices=Incident.Priority.choices, default=Incident.Priority.NORMAL)
    source = serializers.ChoiceField(choices=Incident.Source.choices, default=Incident.Source.SYNC_CLIENT)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    reported_at = serializers.DateTimeField(required=False)
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
        found = self.context[self.context_key].get(str(data))
        if found is None and self.scoped:
            raise serializers.ValidationError(NOT_FOUND_HERE)
        if found is None:
            raise serializers.ValidationError(_("Unknown code “%(code)s”.") % {"code": data})
        return found

    def to_representation(self, value):
        return value.code


class BulkItemSerializer(IncidentInputSerializer):
    category = PreloadedSlugField("categories")
    grid = PreloadedSlugField("grids", scoped=True, required=False)


class IncidentUpdateSerializer(PlaceInputMixin):
    category = serializers.SlugRelatedField(
        slug_field="code", queryset=IncidentCategory.objects.all(), required=False
    )
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
    attachments = serializers.ListField(child=serializers.FileField(), required=False, default=list)


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
    reporter = serializers.CharField(source="reporter.username", default=None, allow_null=True)
    handler = serializers.CharField(source="handler.username", default=None, allow_null=True)
    is_overdue = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()
    deleted = serializers.SerializerMethodField()

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
            "reporter",
            "handler",
            "reported_at",
            "updated_at",
            "due_at",
            "closed_at",
            "escalation_level",
            "is_overdue",
            "actions",
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
        return workflow.available_transitions(actor=self.context["request"].user, incident=incident)


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

    class Meta(IncidentOutputSerializer.Meta):
        fields = [*IncidentOutputSerializer.Meta.fields, "events", "attachments"]


class TombstoneSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    client_uuid = serializers.UUIDField()
    version = serializers.IntegerField()
    deleted = serializers.BooleanField(default=True)
    updated_at = serializers.DateTimeField()


BulkResultSerializer = inline_serializer(
    "IncidentBulkResult",
    fields={
        "index": serializers.IntegerField(),
        "client_uuid": serializers.UUIDField(allow_null=True),
        "result": serializers.ChoiceField(choices=["created", "duplicate", "error"]),
        "id": serializers.IntegerField(allow_null=True),
        "errors": serializers.DictField(required=False),
    },
)


# --- helpers --------------------------------------------------------------------------------


def expected_version(request) -> int | None:
    """The version named by ``If-Match`` (``"7"``, ``W/"7"`` or ``*``), or None when absent."""
    header = request.headers.get("If-Match")
    if not header or header.strip() == "*":
        return None
    tag = header.strip().removeprefix("W/").strip('"')
    try:
        return int(tag)
    except ValueError:
        raise PreconditionFailed(_("If-Match must be an ETag this API gave out.")) from None


def encode_cursor(incident: Incident) -> str:
    return base64.urlsafe_b64encode(f"{incident.updated_at.isoformat()}|{incident.pk}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        moment = parse_datetime(at)
        if moment is None:
            raise ValueError
        return moment, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise exceptions.ValidationError({"cursor": _("Not a cursor this API gave out.")}) from None


TRANSITION_PARAMS = [
    OpenApiParameter(
        "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="ETag (version) last seen."
    )
]


def _transition_action(name: str, attribute: str | None = None):
    @extend_schema(
        request=TransitionInputSerializer,
        responses={200: IncidentDetailSerializer, 400: None, 403: None, 404: None, 412: None},
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
    """Incidents in the caller's jurisdiction. ``ETag`` carries the version; send it as ``If-Match``."""

    selector = staticmethod(selectors.incidents_visible_to)
    read_capability = "incident.view"
    serializer_class = IncidentOutputSerializer
    filterset_class = IncidentFilter

    def get_serializer_class(self):
        if self.action == "retrieve":
            return IncidentDetailSerializer
        return IncidentOutputSerializer

    def handle_exception(self, exc):
        if isinstance(exc, StaleVersion):
            response = Response(
                {"detail": PreconditionFailed.default_detail, "version": exc.current},
                status=status.HTTP_412_PRECONDITION_FAILED,
            )
            response["ETag"] = f'"{exc.current}"'
            return response
        if isinstance(exc, DjangoPermissionDenied):
            exc = exceptions.PermissionDenied(str(exc) or None)
        return super().handle_exception(exc)

    def get_exception_handler(self):
        return exception_handler

    def _detail(self, incident_id: int, *, status_code=status.HTTP_200_OK) -> Response:
        incident = selectors.incident_detail(actor=self.request.user).get(pk=incident_id)
        response = Response(
            IncidentDetailSerializer(incident, context=self.get_serializer_context()).data, status=status_code
        )
        response["ETag"] = f'"{incident.version}"'
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

    @extend_schema(responses=IncidentDetailSerializer)
    def retrieve(self, request, pk=None):
        return self._detail(self.get_object().pk)

    @extend_schema(
        request={"application/json": IncidentInputSerializer, "multipart/form-data": IncidentInputSerializer},
        responses={201: IncidentDetailSerializer, 200: IncidentDetailSerializer},
        description="Idempotent by `client_uuid`: a repeat answers 200 with the first incident.",
    )
    def create(self, request):
        data = IncidentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident, created = report_incident(actor=request.user, **data.validated_data)
        return self._detail(
            incident.pk, status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        request=IncidentUpdateSerializer, responses=IncidentDetailSerializer, parameters=TRANSITION_PARAMS
    )
    def partial_update(self, request, pk=None):
        data = IncidentUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        incident = editing.update_incident(
            actor=request.user,
            incident_id=self._pk(pk),
            expected_version=expected_version(request),
            **data.validated_data,
        )
        return self._detail(incident.pk)

    @extend_schema(responses={204: None, 412: None}, parameters=TRANSITION_PARAMS)
    def destroy(self, request, pk=None):
        editing.delete_incident(
            actor=request.user, incident_id=self._pk(pk), expected_version=expected_version(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    def run_transition(self, request, pk, name: str) -> Response:
        data = TransitionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        arguments = {"note": data.validated_data["note"]}
        if name == "dispatch" and "handling_office" in data.validated_data:
            arguments["handling_office"] = data.validated_data["handling_office"]
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

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "updated_after", OpenApiTypes.DATETIME, description="Only rows changed after this."
            ),
            OpenApiParameter("cursor", OpenApiTypes.STR, description="`next_cursor` of the previous page."),
            OpenApiParameter("page_size", OpenApiTypes.INT, description=f"At most {SYNC_PAGE_LIMIT}."),
        ],
        responses=inline_serializer(
            "IncidentSyncPage",
            fields={
                "results": serializers.ListField(child=serializers.DictField()),
                "next_cursor": serializers.CharField(allow_null=True),
            },
        ),
        description=(
            "Incremental sync in (updated_at, id) order. Deleted incidents come as tombstones "
            "(`deleted: true`). Walk `next_cursor` until it is null; keep the last `updated_at`."
        ),
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def sync(self, request):
        params = request.query_params
        updated_after = None
        if params.get("updated_after"):
            updated_after = parse_datetime(params["updated_after"])
            if updated_after is None:
                raise exceptions.ValidationError({"updated_after": _("Use an ISO 8601 date and time.")})
        after = decode_cursor(params["cursor"]) if params.get("cursor") else None
        try:
            limit = min(int(params.get("page_size", 100)), SYNC_PAGE_LIMIT)
        except ValueError:
            raise exceptions.ValidationError({"page_size": _("A whole number.")}) from None
        page = selectors.sync_page(
            actor=request.user, updated_after=updated_after, after=after, limit=max(limit, 1)
        )
        context = self.get_serializer_context()
        results = [
            TombstoneSerializer(row).data
            if row.deleted_at
            else IncidentOutputSerializer(row, context=context).data
            for row in page
        ]
        next_cursor = encode_cursor(page[-1]) if len(page) == limit else None
        return Response({"results": results, "next_cursor": next_cursor})

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
            "a bad item is reported and never loses the others."
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
        context = {
            "categories": IncidentCategory.objects.in_bulk(
                [str(i.get("category")) for i in objects], field_name="code"
            ),
            "grids": Grid.objects.defer("geometry").in_bulk(
                [str(i["grid"]) for i in objects if i.get("grid")], field_name="code"
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
                result.client_uuid = item.get("client_uuid")
                result.errors = data.errors
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
