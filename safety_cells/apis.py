"""REST endpoints for safe cells and "1+4" prevention. Thin: input serializers check shape,
services validate and write, selectors read (always scoped to the caller)."""

from __future__ import annotations

from django.contrib.gis.geos import Point
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from anshun.api.base import ScopedModelViewSet, ScopedReadOnlyViewSet, query_choice
from anshun.api.pagination import GeoPagination, KeysetGeoPagination
from anshun.commands import NotPermitted
from grids.models import Region
from incidents.models import Incident
from safety_cells import selectors, services
from safety_cells.models import Camera, CellType, Evaluation, PatrolLog, PreventionUnit, SafetyCell
from safety_cells.policy import POLICY

WITHIN = OpenApiParameter(
    "within", OpenApiTypes.STR, description="Only rows inside the region with this code."
)


NOT_FOUND_HERE = gettext_lazy("Not found in your jurisdiction.")


def _referred(model, value):
    """The object a command will refer to, looked up by id only. Whether the caller may use it is
    the policy's ``refers`` answer; an id that names nothing becomes an object no one can see, so
    it gets that very answer too (nothing tells "out of scope" from "does not exist")."""
    return model.objects.filter(pk=value).first() or model()


def _referred_many(model, values) -> list:
    found = {obj.pk: obj for obj in model.objects.filter(pk__in=set(values))}
    return [found.get(value) or model() for value in dict.fromkeys(values)]


class WithinMixin:
    def selector_arguments(self) -> dict:
        return {"region": selectors.region_by_code(self.request.query_params.get("within"))}


class CreateThroughServiceMixin:
    """Create actions: ask the policy whether the role may run the command at all (403 before the
    input is read), validate the input's shape, and answer 201 with the new row read back through
    the scoped selector (so the reply shows what the caller may see)."""

    def validated_input(self, serializer_class, command: str) -> dict:
        if not POLICY.can(command, actor=self.request.user):
            raise NotPermitted()
        data = serializer_class(data=self.request.data)
        data.is_valid(raise_exception=True)
        return dict(data.validated_data)

    def created(self, obj) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=obj.pk)).data, status=201)


# --- safe cells ---------------------------------------------------------------------------------


class SafetyCellOutputSerializer(GeoFeatureModelSerializer):
    cell_type = serializers.CharField(source="cell_type.code", read_only=True)
    cell_type_name = serializers.CharField(source="cell_type.name", read_only=True)
    region = serializers.CharField(source="region.code", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)
    evaluation_count = serializers.IntegerField(read_only=True)
    latest_score = serializers.IntegerField(read_only=True, allow_null=True)
    latest_max = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = SafetyCell
        geo_field = "location"
        fields = [
            "id",
            "name",
            "cell_type",
            "cell_type_name",
            "region",
            "region_name",
            "address",
            "is_demonstration_site",
            "designated_on",
            "valid_until",
            "evaluation_count",
            "latest_score",
            "latest_max",
        ]


@extend_schema_field(
    {
        "type": "object",
        "description": "GeoJSON Point (longitude, latitude)",
        "example": {"type": "Point", "coordinates": [105.94, 26.25]},
    }
)
class GeoJsonPointField(GeometryField):
    pass


class SafetyCellInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    cell_type = serializers.SlugRelatedField(
        slug_field="code", queryset=CellType.objects.filter(is_active=True)
    )
    region = serializers.CharField()
    location = GeoJsonPointField()
    address = serializers.CharField(required=False, allow_blank=True, default="")
    is_demonstration_site = serializers.BooleanField(required=False, default=False)
    designated_on = serializers.DateField(required=False, allow_null=True, default=None)
    valid_until = serializers.DateField(required=False, allow_null=True, default=None)

    def validate_location(self, value):
        if not isinstance(value, Point):
            raise serializers.ValidationError("The location must be a point.")
        return value


@extend_schema_view(list=extend_schema(parameters=[WITHIN]))
class SafetyCellViewSet(
    WithinMixin,
    CreateThroughServiceMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ScopedModelViewSet,
):
    """Safe cells as GeoJSON points with their latest evaluation score; officials register new ones."""

    selector = staticmethod(selectors.safety_cells_visible_to)
    read_capability = "safety.view"
    serializer_class = SafetyCellOutputSerializer
    pagination_class = GeoPagination

    @extend_schema(request=SafetyCellInputSerializer, responses={201: SafetyCellOutputSerializer})
    def create(self, request):
        fields = self.validated_input(SafetyCellInputSerializer, "safety_cell_create")
        fields["region"] = Region.objects.filter(code=fields["region"]).first() or Region()
        return self.created(services.safety_cell_create(actor=request.user, **fields))


class ScoreSerializer(serializers.Serializer):
    criterion = serializers.IntegerField()
    criterion_name = serializers.CharField(source="criterion.name", read_only=True)
    score = serializers.IntegerField()


class EvaluationOutputSerializer(serializers.ModelSerializer):
    cell = serializers.IntegerField(source="cell_id", read_only=True)
    evaluator = serializers.CharField(source="evaluator.username", read_only=True)
    scores = serializers.SerializerMethodField()
    photos = serializers.SerializerMethodField()

    class Meta:
        model = Evaluation
        fields = [
            "id",
            "cell",
            "evaluator",
            "evaluated_on",
            "total_score",
            "max_total",
            "notes",
            "scores",
            "photos",
        ]

    def get_scores(self, obj) -> list[dict]:
        return [
            {"criterion": s.criterion_id, "name": s.criterion.name, "score": s.score}
            for s in obj.scores.all()
        ]

    def get_photos(self, obj) -> list[str]:
        """Links to the scoped file view (session or token), never to storage."""
        request = self.context.get("request")
        urls = [p.get_absolute_url() for p in obj.photos.all()]
        return [request.build_absolute_uri(u) for u in urls] if request is not None else urls


class EvaluationInputSerializer(serializers.Serializer):
    cell = serializers.IntegerField()
    evaluated_on = serializers.DateField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    scores = serializers.ListField(child=ScoreSerializer(), allow_empty=False)
    photos = serializers.ListField(child=serializers.FileField(), required=False, default=list)


@extend_schema_view(
    list=extend_schema(parameters=[OpenApiParameter("cell", OpenApiTypes.INT, description="Safe cell id.")])
)
class EvaluationViewSet(
    CreateThroughServiceMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet
):
    """Scored evaluations of safe cells against their type's checklist."""

    selector = staticmethod(selectors.evaluations_visible_to)
    read_capability = "safety.view"
    serializer_class = EvaluationOutputSerializer

    def selector_arguments(self) -> dict:
        cell = self.request.query_params.get("cell")
        return {"cell_id": int(cell) if cell and cell.isdigit() else None}

    @extend_schema(request=EvaluationInputSerializer, responses={201: EvaluationOutputSerializer})
    def create(self, request):
        values = self.validated_input(EvaluationInputSerializer, "evaluation_record")
        evaluation = services.evaluation_record(
            actor=request.user,
            cell=_referred(SafetyCell, values["cell"]),
            scores={s["criterion"]: s["score"] for s in values["scores"]},
            evaluated_on=values.get("evaluated_on"),
            notes=values["notes"],
            photos=values["photos"],
        )
        return self.created(evaluation)


# --- prevention ---------------------------------------------------------------------------------


class PreventionUnitOutputSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.code", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = PreventionUnit
        fields = ["id", "name", "level", "kind", "region", "region_name", "is_active", "member_count"]


class TownshipCoverageSerializer(serializers.Serializer):
    township = serializers.CharField(source="parent__code")
    township_name = serializers.CharField(source="parent__name")
    villages = serializers.IntegerField()
    covered = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)


class CoverageSerializer(serializers.Serializer):
    villages = serializers.IntegerField()
    covered = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)
    townships = TownshipCoverageSerializer(many=True)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("level", OpenApiTypes.STR, enum=PreventionUnit.Level.values),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=PreventionUnit.Kind.values),
        ]
    )
)
class PreventionUnitViewSet(ScopedReadOnlyViewSet):
    """The four levels of "1+4" prevention as units; ``coverage`` is the joint-defence rate."""

    selector = staticmethod(selectors.prevention_units_visible_to)
    read_capability = "safety.view"
    serializer_class = PreventionUnitOutputSerializer

    def selector_arguments(self) -> dict:
        return {
            "level": query_choice(self.request, "level", PreventionUnit.Level.values),
            "kind": query_choice(self.request, "kind", PreventionUnit.Kind.values),
        }

    @extend_schema(parameters=[WITHIN], responses=CoverageSerializer)
    @action(detail=False, methods=["get"], pagination_class=None)
    def coverage(self, request):
        """Villages with both a security committee and a patrol team, overall and per township."""
        region = selectors.region_by_code(request.query_params.get("within"))
        total = selectors.joint_defence_coverage(actor=request.user, region=region)
        rows = selectors.joint_defence_by_township(actor=request.user, region=region)
        body = {"villages": total.villages, "covered": total.covered, "rate": total.rate, "townships": rows}
        return Response(CoverageSerializer(body).data)


class PatrolLogOutputSerializer(GeoFeatureModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    region = serializers.CharField(source="unit.region.code", read_only=True)
    logged_by = serializers.CharField(source="logged_by.username", read_only=True)
    incident_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = PatrolLog
        geo_field = "route"
        fields = [
            "id",
            "client_uuid",
            "unit",
            "unit_name",
            "region",
            "started_at",
            "ended_at",
            "observations",
            "logged_by",
            "incident_count",
        ]


class PatrolLogInputSerializer(serializers.Serializer):
    client_uuid = serializers.UUIDField(required=False)
    unit = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()
    route = serializers.JSONField(help_text="GeoJSON LineString (longitude, latitude).")
    observations = serializers.CharField(required=False, allow_blank=True, default="")
    incidents = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, help_text="Ids of incidents raised."
    )


@extend_schema_view(list=extend_schema(parameters=[WITHIN]))
class PatrolLogViewSet(
    WithinMixin,
    CreateThroughServiceMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ScopedModelViewSet,
):
    """Patrol logs with their routes (GeoJSON lines). Retrying with the same ``client_uuid`` is safe."""

    selector = staticmethod(selectors.patrol_logs_visible_to)
    read_capability = "safety.view"
    serializer_class = PatrolLogOutputSerializer
    pagination_class = KeysetGeoPagination

    @extend_schema(request=PatrolLogInputSerializer, responses={201: PatrolLogOutputSerializer})
    def create(self, request):
        values = self.validated_input(PatrolLogInputSerializer, "patrol_log")
        values["unit"] = _referred(PreventionUnit, values["unit"])
        values["incidents"] = _referred_many(Incident, values["incidents"])
        return self.created(services.patrol_log(actor=request.user, **values))


class CameraOutputSerializer(GeoFeatureModelSerializer):
    village = serializers.CharField(source="village.code", read_only=True)

    class Meta:
        model = Camera
        geo_field = "location"
        fields = ["id", "code", "name", "phase", "status", "owner", "village"]


NEAR = [
    OpenApiParameter("near", OpenApiTypes.STR, description="lon,lat: only cameras within `radius` metres."),
    OpenApiParameter("radius", OpenApiTypes.NUMBER, description="Metres (default 300, at most 5000)."),
    OpenApiParameter("status", OpenApiTypes.STR, enum=Camera.Status.values),
]


@extend_schema_view(list=extend_schema(parameters=[WITHIN, *NEAR]))
class CameraViewSet(ScopedReadOnlyViewSet):
    """Skynet camera points (GeoJSON); ``near=lon,lat&radius=300`` uses the spatial index."""

    selector = staticmethod(selectors.cameras_visible_to)
    read_capability = "safety.view"
    serializer_class = CameraOutputSerializer
    pagination_class = GeoPagination

    def selector_arguments(self) -> dict:
        params = self.request.query_params
        return {
            "region": selectors.region_by_code(params.get("within")),
            "status": query_choice(self.request, "status", Camera.Status.values),
            "near": _parse_near(params.get("near")),
            "metres": _parse_radius(params.get("radius")),
        }


def _parse_near(value: str | None) -> Point | None:
    if not value:
        return None
    try:
        lon, lat = (float(part) for part in value.split(","))
    except ValueError:
        raise serializers.ValidationError({"near": ["Give longitude,latitude."]}) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise serializers.ValidationError({"near": ["Give longitude,latitude."]})
    return Point(lon, lat, srid=4326)


def _parse_radius(value: str | None) -> float:
    if not value:
        return selectors.DEFAULT_CAMERA_RADIUS_M
    try:
        radius = float(value)
    except ValueError:
        radius = -1
    if not 0 < radius <= 5000:
        raise serializers.ValidationError({"radius": ["Give metres between 0 and 5000."]})
    return radius
