"""REST endpoints: rolled-up survey metrics for external dashboards, and response intake.

Metrics are read-only and scoped like everything else: a county official's client sees
its county and the places in it; a grid office head sees its office's rows.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response as ApiResponse

from anshun.api.base import ScopedModelViewSet, ScopedReadOnlyViewSet, query_choice
from anshun.api.pagination import KeysetPagination
from anshun.api.parsers import DepthLimitedJSONParser
from surveys import selectors
from surveys.models import Level, Metric, RegionMetric, Response, Wave
from surveys.services.intake import import_responses, read_upload

METRIC_PARAMETERS = [
    OpenApiParameter("wave", OpenApiTypes.STR, description="Wave code, e.g. 2017-annual."),
    OpenApiParameter("level", OpenApiTypes.STR, enum=Level.values, description="Level of the places."),
    OpenApiParameter(
        "region", OpenApiTypes.STR, description="Region code (a grid office's seat for office rows)."
    ),
    OpenApiParameter("within", OpenApiTypes.STR, description="Only places inside the region with this code."),
    OpenApiParameter(
        "month", OpenApiTypes.STR, description='"YYYY-MM" for one month, "wave" for whole-wave figures.'
    ),
    OpenApiParameter("metric", OpenApiTypes.STR, enum=Metric.values, description="Which rate."),
]


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$", "nullable": True, "example": "2017-11"})
class MonthField(serializers.DateField):
    """A month as ``YYYY-MM``; null for whole-wave figures."""


class MetricOutputSerializer(serializers.ModelSerializer):
    wave = serializers.CharField(source="wave.code")
    metric = serializers.CharField(source="item.metric")
    region = serializers.CharField(source="region.code")
    region_name = serializers.CharField(source="region.name")
    grid_office = serializers.CharField(source="grid_office.code", default=None, allow_null=True)
    month = MonthField(format="%Y-%m", allow_null=True)
    counts = serializers.SerializerMethodField()

    class Meta:
        model = RegionMetric
        fields = [
            "id",
            "wave",
            "metric",
            "level",
            "region",
            "region_name",
            "grid_office",
            "month",
            "n",
            "counts",
            "numerator",
            "denominator",
            "rate",
            "ci_low",
            "ci_high",
        ]

    def get_counts(self, obj) -> dict[str, int]:
        """Count per answer, keyed by the answer's text in the item's scale."""
        scale = obj.item.scale
        return {label: int(obj.counts.get(str(position), 0)) for position, label in enumerate(scale)}


@extend_schema_view(list=extend_schema(parameters=METRIC_PARAMETERS))
class SurveyMetricViewSet(ScopedReadOnlyViewSet):
    """Security-sense and satisfaction rates with n and 95% Wilson intervals, per place, wave
    and month, as computed by the latest rollup. Requires the ``surveys.view`` capability."""

    selector = staticmethod(selectors.metrics_visible_to)
    read_capability = "surveys.view"
    serializer_class = MetricOutputSerializer

    def selector_arguments(self) -> dict:
        params = self.request.query_params
        return {
            "wave_code": params.get("wave"),
            "level": query_choice(self.request, "level", Level.values),
            "region_code": params.get("region"),
            "within_code": params.get("within"),
            "month": params.get("month"),
            "metric": query_choice(self.request, "metric", Metric.values),
        }


class ResponseOutputSerializer(serializers.ModelSerializer):
    client_id = serializers.UUIDField(source="client_uuid")
    wave = serializers.CharField(source="wave.code")
    community = serializers.CharField(source="village.code")
    grid = serializers.CharField(source="grid.code", default=None, allow_null=True)
    grid_office = serializers.CharField(source="grid_office.code", default=None, allow_null=True)

    class Meta:
        model = Response
        fields = ["id", "client_id", "wave", "community", "grid", "grid_office", "channel", "answered_on"]


class BulkInputSerializer(serializers.Serializer):
    wave = serializers.SlugField()
    responses = serializers.ListField(
        child=serializers.DictField(),
        help_text=(
            "Rows with client_id (UUID, the idempotency key), community (12-digit code) or grid "
            "(15-digit code), channel (phone/door/online), answered_on (YYYY-MM-DD) and one key per "
            "item code (security_sense, satisfaction) holding the answer text or its position."
        ),
    )


class ImportInputSerializer(serializers.Serializer):
    wave = serializers.SlugField()
    file = serializers.FileField(help_text="CSV (UTF-8) or XLSX with the same columns as the bulk upload.")


IntakeOutput = inline_serializer(
    "SurveyIntakeResult",
    {"created": serializers.IntegerField(), "already_present": serializers.IntegerField()},
)


class SurveyResponseViewSet(mixins.ListModelMixin, ScopedModelViewSet):
    """Survey responses inside the caller's jurisdiction (``surveys.import`` capability).
    Uploads are all or nothing: a 400 lists every bad row and nothing is written."""

    selector = staticmethod(selectors.responses_visible_to)
    read_capability = ("surveys.view", "surveys.import")
    serializer_class = ResponseOutputSerializer
    pagination_class = KeysetPagination
    parser_classes = [DepthLimitedJSONParser, MultiPartParser, FormParser]

    def selector_arguments(self) -> dict:
        return {"wave_code": self.request.query_params.get("wave")}

    def _intake(self, *, wave_code: str, rows: list[dict]):
        wave = get_object_or_404(Wave, code=wave_code)
        result = import_responses(actor=self.request.user, wave=wave, rows=rows)
        return ApiResponse(
            {"created": result.created, "already_present": result.already_present},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=BulkInputSerializer, responses={201: IntakeOutput})
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        data = BulkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._intake(wave_code=data.validated_data["wave"], rows=data.validated_data["responses"])

    @extend_schema(request={"multipart/form-data": ImportInputSerializer}, responses={201: IntakeOutput})
    @action(detail=False, methods=["post"], url_path="import")
    def import_file(self, request):
        data = ImportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rows = read_upload(data.validated_data["file"])
        return self._intake(wave_code=data.validated_data["wave"], rows=rows)
