"""REST endpoints for the jurisdiction tree: regions, grid offices and grids (GeoJSON)."""

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db.models import F
from django.utils.translation import gettext
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from anshun.api.base import ScopedReadOnlyViewSet
from anshun.api.pagination import GeoPagination as BaseGeoPagination
from grids import map_layers, selectors
from grids.models import Grid, GridOffice, Region

WITHIN = OpenApiParameter(
    "within", OpenApiTypes.STR, description="Only rows inside the region with this code."
)

# Decimals of the grid list's coordinates (PostGIS writes them): 1e-9 degrees is 0.1 mm.
GEOJSON_DECIMALS = 9


class RegionOutputSerializer(serializers.ModelSerializer):
    parent = serializers.CharField(source="parent.code", default=None, allow_null=True, read_only=True)

    class Meta:
        model = Region
        fields = ["code", "name", "level", "kind", "parent", "is_community", "boundary_is_demo"]


class RegionDetailSerializer(GeoFeatureModelSerializer):
    parent = serializers.CharField(source="parent.code", default=None, allow_null=True, read_only=True)

    class Meta:
        model = Region
        geo_field = "boundary"
        id_field = "code"
        fields = ["code", "name", "level", "kind", "parent", "is_community", "boundary_is_demo"]


class GridOfficeOutputSerializer(GeoFeatureModelSerializer):
    seat = serializers.CharField(source="seat.code", read_only=True)
    seat_name = serializers.CharField(source="seat.name", read_only=True)
    township = serializers.CharField(source="seat.parent.code", read_only=True)
    county = serializers.CharField(source="seat.parent.parent.code", read_only=True)
    grid_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = GridOffice
        geo_field = "location"
        id_field = "code"
        fields = ["code", "name", "seat", "seat_name", "township", "county", "phone", "grid_count"]


class GridOutputSerializer(GeoFeatureModelSerializer):
    village = serializers.CharField(source="village.code", read_only=True)
    village_name = serializers.CharField(source="village.name", read_only=True)
    office = serializers.CharField(source="office.code", read_only=True)
    office_name = serializers.CharField(source="office.name", read_only=True)

    class Meta:
        model = Grid
        geo_field = "geometry"
        id_field = "code"
        fields = ["code", "name", "village", "village_name", "office", "office_name", "is_demo"]


class RegionFilter(filters.FilterSet):
    level = filters.ChoiceFilter(choices=Region.Level.choices)
    parent = filters.CharFilter(field_name="parent__code")

    class Meta:
        model = Region
        fields = ["level", "parent"]


class GeoPagination(BaseGeoPagination):
    page_size = 500


@extend_schema_view(list=extend_schema(parameters=[WITHIN]))
class RegionViewSet(ScopedReadOnlyViewSet):
    """The jurisdiction tree. Detail answers a GeoJSON Feature with the boundary."""

    selector = staticmethod(selectors.regions_visible_to)
    read_capability = "map.view"
    lookup_field = "code"
    filterset_class = RegionFilter

    def selector_arguments(self) -> dict:
        return {"within_code": self.request.query_params.get("within")}

    def get_serializer_class(self):
        if self.action in ("retrieve", "children"):
            return RegionDetailSerializer
        return RegionOutputSerializer

    @extend_schema(responses=RegionDetailSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def children(self, request, code=None):
        """The region's children as a GeoJSON FeatureCollection with boundaries, for the map."""
        region = self.get_object()
        children = selectors.region_children_with_boundaries(actor=request.user, parent=region)
        return Response(self.get_serializer(children, many=True).data)


@extend_schema_view(list=extend_schema(parameters=[WITHIN]))
class GridOfficeViewSet(ScopedReadOnlyViewSet):
    """Grid offices as GeoJSON points, with the number of grids each looks after."""

    selector = staticmethod(selectors.grid_offices_visible_to)
    read_capability = "map.view"
    serializer_class = GridOfficeOutputSerializer
    lookup_field = "code"
    pagination_class = GeoPagination

    def selector_arguments(self) -> dict:
        return {"within_code": self.request.query_params.get("within")}


@extend_schema_view(
    list=extend_schema(
        parameters=[
            WITHIN,
            OpenApiParameter("office", OpenApiTypes.STR, description="Grid office code."),
        ]
    )
)
class GridViewSet(ScopedReadOnlyViewSet):
    """Grids as GeoJSON polygons (``is_demo`` marks generated demo geometry)."""

    selector = staticmethod(selectors.grids_visible_to)
    read_capability = "map.view"
    serializer_class = GridOutputSerializer
    lookup_field = "code"
    pagination_class = GeoPagination

    def selector_arguments(self) -> dict:
        return {
            "within_code": self.request.query_params.get("within"),
            "office_code": self.request.query_params.get("office"),
        }

    def list(self, request, *args, **kwargs):
        # The page's features are written by PostgreSQL (one statement) and sent as that text; the
        # paginator decides the page, its count and links as for any list. The browsable API (an
        # HTML renderer) keeps the serializer. (A comment, not a docstring: the schema is unchanged.)
        if request.accepted_renderer.format != "json":
            return super().list(request, *args, **kwargs)
        paginator = self.paginator
        page = paginator.page_of(self.filter_queryset(self.get_queryset()), request)
        return paginator.get_prerendered_response(
            map_layers.features_json(
                page,
                actor=request.user,
                id_field="code",
                geometry=AsGeoJSON("geometry", precision=GEOJSON_DECIMALS),
                properties={
                    "name": F("name"),
                    "village": F("village__code"),
                    "village_name": F("village__name"),
                    "office": F("office__code"),
                    "office_name": F("office__name"),
                    "is_demo": F("is_demo"),
                },
            )
        )


# --- map layers ---------------------------------------------------------------------------------


@extend_schema_view(
    in_view=extend_schema(
        parameters=[
            map_layers.BBOX,
            map_layers.ZOOM,
            WITHIN,
            OpenApiParameter("office", OpenApiTypes.STR, description="Grid office code."),
        ],
        responses=map_layers.LAYER_RESPONSES,
    )
)
class GridLayerViewSet(map_layers.MapLayerViewSet):
    """Grid outlines in the view, simplified for its zoom (at most 2,000; else 400 "zoom in")."""

    selector = staticmethod(selectors.grids_in_view)
    read_capability = "map.view"
    cap = 2000

    def selector_arguments(self) -> dict:
        params = self.request.query_params
        return {
            **super().selector_arguments(),
            "within_code": params.get("within"),
            "office_code": params.get("office"),
        }

    def layer(self, queryset):
        return map_layers.feature_collection(
            queryset,
            actor=self.request.user,
            id_field="code",
            geometry=map_layers.geojson(map_layers.simplified(F("geometry"), self.map_view), self.map_view),
            properties={
                "name": F("name"),
                "village": F("village__code"),
                "village_name": F("village__name"),
                "office": F("office__code"),
                "office_name": F("office__name"),
                "is_demo": F("is_demo"),
            },
            cap=self.cap,
            layer=gettext("grids"),
        )
