"""REST endpoints for safe cells and "1+4" prevention. Thin: input serializers check shape,
services validate and write, selectors read (always scoped to the caller)."""

from __future__ import annotations

import re

from django.contrib.gis.db import models as gis_models
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import Point
from django.db.models import Aggregate, CharField, Count, F, FloatField, Func, Max, Min, Sum, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils.translation import gettext as _
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
from grids import map_layers
from grids.apis import GEOJSON_DECIMALS
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
    # Cameras grow with the years (50k at five-year volume): pages by keyset, with a count that
    # stops at 10,000, as the other growing lists do.
    pagination_class = KeysetGeoPagination

    def selector_arguments(self) -> dict:
        params = self.request.query_params
        return {
            "region": selectors.region_by_code(params.get("within")),
            "status": query_choice(self.request, "status", Camera.Status.values),
            "near": _parse_near(params.get("near")),
            "metres": _parse_radius(params.get("radius")),
        }

    def list(self, request, *args, **kwargs):
        # The page's features are written by PostgreSQL (one statement, ``map_layers.features_json``)
        # and sent as that text, as the grid list does: a grid worker's page holds a village's
        # cameras, and building each point in Python was most of its time. The paginator decides
        # the page (its keys only), its count and links as for any list; the browsable API keeps
        # the serializer.
        if request.accepted_renderer.format != "json":
            return super().list(request, *args, **kwargs)
        paginator = self.paginator
        cameras = self.filter_queryset(self.get_queryset())
        keyed = cameras.select_related(None).only("id", "code")
        keys = paginator.paginate_queryset(keyed, request, view=self)
        return paginator.get_prerendered_response(
            map_layers.features_json(
                cameras.filter(pk__in=[camera.pk for camera in keys]),
                actor=request.user,
                id_field="id",
                geometry=AsGeoJSON("location", precision=GEOJSON_DECIMALS),
                properties={
                    "code": F("code"),
                    "name": F("name"),
                    "phase": F("phase"),
                    "status": F("status"),
                    "owner": F("owner"),
                    "village": F("village__code"),
                },
            )
        )


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


# --- map layers: bounded, simplified GeoJSON for the view (grids.map_layers) ---------------------

DAYS = OpenApiParameter("days", OpenApiTypes.INT, description="The last N days (default 7).")
# Below this zoom, cameras come as clusters (count per cell of about CLUSTER_PIXELS) and patrol
# routes as one feature per patrol unit; at and above it, one feature per camera or patrol.
CAMERA_POINTS_FROM_ZOOM = 15
# ...unless the view holds more cameras than a phone's map draws one by one without stalling: a
# dense township at street level gets clusters too, until the next zoom leaves fewer in view. The
# count is the coverage table's (cameras per grid meeting the view), so deciding costs the grids
# in view, never the cameras.
CAMERA_POINTS_MOST = 500
PATROL_LOGS_FROM_ZOOM = 13
CLUSTER_PIXELS = 48


class _Collect(Aggregate):
    """ST_Collect over the group (the geometries as one collection)."""

    function = "ST_Collect"
    output_field = gis_models.GeometryField()


def _as_geometry(field: str) -> Func:
    return Func(F(field), template="%(expressions)s::geometry", output_field=gis_models.GeometryField())


def _days_param(request, *, default: int = 7, most: int = 365) -> int:
    values = request.query_params.getlist("days")
    if not values:
        return default
    if len(values) > 1 or not re.fullmatch(r"[0-9]{1,3}", values[0]) or not 1 <= int(values[0]) <= most:
        raise serializers.ValidationError(
            {"days": [_("Give whole days from 1 to %(most)d.") % {"most": most}]}
        )
    return int(values[0])


def _layer_schema(*extra):
    return extend_schema_view(
        in_view=extend_schema(
            parameters=[map_layers.BBOX, map_layers.ZOOM, *extra], responses=map_layers.LAYER_RESPONSES
        )
    )


@_layer_schema()
class TownshipCoverageLayerViewSet(map_layers.MapLayerViewSet):
    """Township outlines in the view with their joint-defence coverage (villages in scope, covered,
    rate), from the coverage tables."""

    selector = staticmethod(selectors.township_coverage_in_view)
    read_capability = "safety.view"

    def layer(self, queryset):
        view = self.map_view
        rate = Func(
            Value(100.0) * F("covered") / NullIf(F("villages"), 0),
            Value(2),
            function="ROUND",
            output_field=FloatField(),
        )
        return map_layers.feature_collection(
            queryset,
            actor=self.request.user,
            id_field="code",
            geometry=map_layers.geojson(map_layers.simplified(F("boundary"), view), view),
            properties={"name": F("name"), "villages": F("villages"), "covered": F("covered"), "rate": rate},
            cap=500,
            layer=_("townships"),
        )


@_layer_schema(DAYS)
class PatrolGapLayerViewSet(map_layers.MapLayerViewSet):
    """Grids in the view with incidents in the last ``days`` days and no patrol through them since,
    from the coverage tables."""

    selector = staticmethod(selectors.coverage_patrol_gaps)
    read_capability = "safety.view"

    def selector_arguments(self) -> dict:
        return {**super().selector_arguments(), "days": _days_param(self.request)}

    def layer(self, queryset):
        view = self.map_view
        return map_layers.feature_collection(
            queryset,
            actor=self.request.user,
            id_field="grid__code",
            geometry=map_layers.geojson(map_layers.simplified(F("grid__geometry"), view), view),
            properties={"name": F("grid__name"), "incidents": F("recent_incidents")},
            cap=2000,
            layer=_("grids"),
        )


@_layer_schema()
class CameraLayerViewSet(map_layers.MapLayerViewSet):
    """Skynet cameras in the view: each camera from zoom 15 when the view holds at most
    ``CAMERA_POINTS_MOST`` of them, otherwise clusters (``count``, ``online``) of about 48 pixels
    counted from the coverage table. So the answer is bounded by the screen, not by how many
    cameras a jurisdiction has installed."""

    selector = staticmethod(selectors.cameras_in_view)
    read_capability = "safety.view"

    def layer(self, queryset):
        view = self.map_view
        actor = self.request.user
        grids = selectors.camera_grids_in_view(actor=actor, bbox=view.polygon)
        if view.zoom >= CAMERA_POINTS_FROM_ZOOM and _cameras_in(grids) <= CAMERA_POINTS_MOST:
            return map_layers.feature_collection(
                queryset,
                actor=actor,
                id_field="code",
                geometry=map_layers.geojson(F("location"), view),
                properties={"status": F("status"), "phase": F("phase"), "count": Value(1)},
                cap=5000,
                layer=_("cameras"),
            )
        # Farther out, clusters from the coverage table (cameras per grid, as of its refresh): the
        # cost is the grids in view, not the cameras. A cluster is the grids whose inner point falls
        # in one cell of about CLUSTER_PIXELS.
        inner = Func(
            F("grid__geometry"), function="ST_PointOnSurface", output_field=gis_models.GeometryField()
        )
        cell = Func(
            inner,
            Value(view.degrees_per_pixel * CLUSTER_PIXELS),
            function="ST_SnapToGrid",
            output_field=gis_models.GeometryField(),
        )
        centre = Func(_Collect(inner), function="ST_Centroid", output_field=gis_models.GeometryField())
        return map_layers.feature_collection(
            grids,
            actor=actor,
            id_field=Func(cell, Value(12), function="ST_GeoHash", output_field=CharField()),
            geometry=map_layers.geojson(centre, view),
            properties={"count": Sum("camera_count"), "online": Sum("cameras_online")},
            cap=5000,
            layer=_("camera clusters"),
        )


def _cameras_in(grids) -> int:
    """Cameras in the grids of a view, as of the coverage table's last refresh."""
    return grids.aggregate(n=Coalesce(Sum("camera_count"), 0))["n"]


@_layer_schema(DAYS)
class PatrolRouteLayerViewSet(map_layers.MapLayerViewSet):
    """Patrol routes in the view that ended in the last ``days`` days (at most 31): each patrol's
    route from zoom 13, below that one point per patrol unit (``patrols``: how many)."""

    selector = staticmethod(selectors.patrol_routes_in_view)
    read_capability = "safety.view"

    def selector_arguments(self) -> dict:
        return {**super().selector_arguments(), "days": _days_param(self.request, most=31)}

    def layer(self, queryset):
        view = self.map_view
        actor = self.request.user
        if view.zoom >= PATROL_LOGS_FROM_ZOOM:
            return map_layers.feature_collection(
                queryset,
                actor=actor,
                id_field="pk",
                geometry=map_layers.geojson(map_layers.simplified(F("route"), view), view),
                properties={
                    "unit": F("unit__name"),
                    "started_at": F("started_at"),
                    "ended_at": F("ended_at"),
                    "patrols": Value(1),
                },
                cap=2000,
                layer=_("patrols"),
            )
        # Farther out, one point per patrol unit (the middle of its routes) with its patrols: a
        # route is a few pixels long there, and a thousand units' tracks would be megabytes.
        middle = Func(_Collect(F("route")), function="ST_Centroid", output_field=gis_models.GeometryField())
        return map_layers.feature_collection(
            queryset,
            actor=actor,
            id_field="unit_id",
            geometry=map_layers.geojson(middle, view),
            properties={
                "unit": Max("unit__name"),
                "started_at": Min("started_at"),
                "ended_at": Max("ended_at"),
                "patrols": Count("pk"),
            },
            cap=2000,
            layer=_("patrol units"),
        )
