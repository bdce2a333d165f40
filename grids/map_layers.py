"""Map layers for the current view: bounded, simplified GeoJSON built by PostgreSQL.

Every map of the platform asks for what its view shows: ``bbox=west,south,east,north`` (WGS 84
degrees) and ``zoom`` (the Leaflet zoom level) are required. The reply is one FeatureCollection
that PostGIS assembles from a scoped queryset in one statement (``json_agg``), so no model
instance or serializer is made per feature and the number of queries does not depend on the
number of rows:

- the geometry is simplified to about one screen pixel at that zoom (``ST_SimplifyPreserveTopology``)
  and written with the decimals that zoom can show;
- a view wider than ``MAX_VIEW_PIXELS`` screen pixels at its zoom is refused (400): a client that
  asks for the whole country at street level gets a clear answer, not a megabyte;
- a layer that would hold more than its cap of features is refused (400, "zoom in"): the statement
  stops reading at cap + 1 rows.

The rows come from the same selectors (``visible_to``) as every list, so a view never holds a
feature outside the viewer's jurisdiction, whatever its bbox.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import Polygon
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, Func, QuerySet, Value
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, viewsets
from rest_framework.decorators import action

from anshun.api.base import ScopedViewSetMixin
from anshun.scoping import assert_scoped

MAX_ZOOM = 22
# A view at most this many pixels wide and high at its zoom (a 4K screen is 3840).
MAX_VIEW_PIXELS = 4096
TILE_PIXELS = 256


@dataclass(frozen=True)
class View:
    """The part of the map a client shows: a bbox in degrees and a zoom level."""

    west: float
    south: float
    east: float
    north: float
    zoom: int

    @property
    def polygon(self) -> Polygon:
        return Polygon.from_bbox((self.west, self.south, self.east, self.north))

    @property
    def degrees_per_pixel(self) -> float:
        return 360 / (TILE_PIXELS * 2**self.zoom)

    @property
    def tolerance(self) -> float:
        """Simplify to about one pixel; none at street level and closer."""
        return 0.0 if self.zoom >= 17 else self.degrees_per_pixel

    @property
    def precision(self) -> int:
        """Decimals that still move a point by under half a pixel at this zoom (4 to 6)."""
        return max(4, min(6, math.ceil(-math.log10(self.degrees_per_pixel / 2))))


def parse_view(params) -> View:
    """``bbox`` and ``zoom`` from query parameters, or a 400 naming what is wrong."""
    errors: dict[str, list[str]] = {}
    bbox = _one(params, "bbox")
    zoom_text = _one(params, "zoom")
    numbers: list[float] = []
    if bbox is None:
        errors["bbox"] = [_("Give bbox=west,south,east,north in degrees.")]
    else:
        try:
            numbers = [float(part) for part in bbox.split(",")]
        except ValueError:
            numbers = []
        if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
            errors["bbox"] = [_("Give bbox=west,south,east,north in degrees.")]
        else:
            west, south, east, north = numbers
            if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
                errors["bbox"] = [
                    _("The bbox must lie within -180..180, -90..90 with west < east and south < north.")
                ]
    zoom = None
    if zoom_text is None or not re.fullmatch(r"[0-9]{1,2}", zoom_text) or int(zoom_text) > MAX_ZOOM:
        errors["zoom"] = [_("Give a whole zoom level from 0 to %(max)d.") % {"max": MAX_ZOOM}]
    else:
        zoom = int(zoom_text)
    if errors:
        raise exceptions.ValidationError(errors)
    view = View(*numbers, zoom=zoom)
    width = (view.east - view.west) / view.degrees_per_pixel
    height = (view.north - view.south) / view.degrees_per_pixel
    if max(width, height) > MAX_VIEW_PIXELS:
        raise exceptions.ValidationError(
            {"bbox": [_("The bbox is too large for this zoom level; zoom in or ask for a smaller area.")]}
        )
    return view


def _one(params, name: str) -> str | None:
    values = params.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise exceptions.ValidationError({name: [_("Give it once.")]})
    return values[0]


def simplified(expression, view: View):
    """The geometry simplified for the view (a no-op at street level)."""
    if not view.tolerance:
        return expression
    return Func(
        expression,
        Value(view.tolerance),
        function="ST_SimplifyPreserveTopology",
        output_field=GeometryField(),
    )


def geojson(expression, view: View) -> AsGeoJSON:
    return AsGeoJSON(expression, precision=view.precision)


class TooManyFeatures(exceptions.ValidationError):
    pass


def feature_collection(
    queryset: QuerySet, *, actor, id_field, geometry, properties: dict, cap: int, layer: str
) -> HttpResponse:
    """Answer the scoped ``queryset``'s rows as one GeoJSON FeatureCollection built by PostgreSQL.

    ``id_field`` is a field name or an expression; ``geometry`` is an expression giving GeoJSON
    text (see ``geojson``); ``properties`` maps a property name to an expression (``F("name")``,
    an aggregate: rows are then grouped by the other columns, as ``values()`` does). More than
    ``cap`` rows is a 400 asking the client to zoom in. One statement, whatever the number of rows.
    """
    assert_scoped(queryset, actor)
    names = list(properties)
    columns = {f"p_{i}": expression for i, expression in enumerate(properties.values())}
    identity = F(id_field) if isinstance(id_field, str) else id_field
    if any(getattr(e, "contains_aggregate", False) for e in [*columns.values(), geometry]):
        # One feature per value of the identity: values() first, then the aggregates (GROUP BY it).
        rows = queryset.order_by().values(f_id=identity).annotate(**columns, f_geometry=geometry)
    else:
        rows = queryset.order_by().values(f_id=identity, **columns, f_geometry=geometry)
    rows = rows[: cap + 1]
    inner, params = rows.query.sql_with_params()
    pairs = ", ".join(f"'{_quote(name)}', t.p_{i}" for i, name in enumerate(names))
    sql = f"""
        SELECT COUNT(*), COALESCE(json_agg(json_build_object(
            'type', 'Feature', 'id', t.f_id, 'geometry', t.f_geometry::json,
            'properties', json_build_object({pairs})
        )), '[]'::json)::text
        FROM ({inner}) t
    """  # noqa: S608 - the inner statement is Django's, the names are ours
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        count, features = cursor.fetchone()
    if count > cap:
        raise TooManyFeatures(
            {
                "bbox": [
                    _("More than %(cap)d %(layer)s in this view; zoom in or ask for a smaller area.")
                    % {"cap": cap, "layer": layer}
                ]
            }
        )
    body = f'{{"type":"FeatureCollection","count":{count},"features":{features}}}'
    response = HttpResponse(body, content_type="application/json")
    # Jurisdiction data: never in a shared cache; asked again each time, so edits show at once.
    response["Cache-Control"] = "private, no-cache"
    return response


def features_json(page: QuerySet, *, actor, id_field: str, geometry, properties: dict) -> str:
    """The rows of ``page`` (a scoped queryset, usually a paginator's slice of it) as the text of
    a JSON array of GeoJSON Features, in the page's order, written by PostgreSQL in one statement.

    Same features as a ``GeoFeatureModelSerializer`` with these fields (``id``, ``type``,
    ``geometry``, ``properties``), without a model instance, a GEOS geometry or a JSON encoder
    per row: the caller sends the text on as it is (``GeoPagination.get_prerendered_response``)."""
    assert_scoped(page, actor)
    ordering = [
        (f"o_{i}", name.startswith("-"), F(name.lstrip("-")))
        for i, name in enumerate(page.query.order_by or page.model._meta.ordering)
    ]
    if not ordering or not all(isinstance(expression.name, str) for _a, _d, expression in ordering):
        raise ValueError("features_json needs a page ordered by columns")
    columns = {f"p_{i}": expression for i, expression in enumerate(properties.values())}
    rows = page.values(
        f_id=F(id_field),
        **columns,
        **{alias: expression for alias, _d, expression in ordering},
        f_geometry=geometry,
    )
    try:
        inner, params = rows.query.sql_with_params()
    except EmptyResultSet:  # a queryset that can match nothing (``none()``, an empty ``__in``)
        return "[]"
    pairs = ", ".join(f"'{_quote(name)}', t.p_{i}" for i, name in enumerate(properties))
    order = ", ".join(f"t.{alias}{' DESC' if descending else ''}" for alias, descending, _e in ordering)
    sql = f"""
        SELECT COALESCE(json_agg(json_build_object(
            'id', t.f_id, 'type', 'Feature', 'geometry', t.f_geometry::json,
            'properties', json_build_object({pairs})
        ) ORDER BY {order}), '[]'::json)::text
        FROM ({inner}) t
    """  # noqa: S608 - the inner statement is Django's, the names are ours
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _quote(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"property name {name!r}")
    return name


# --- the API side ---------------------------------------------------------------------------------

BBOX = OpenApiParameter(
    "bbox", OpenApiTypes.STR, required=True, description="west,south,east,north in WGS 84 degrees."
)
ZOOM = OpenApiParameter("zoom", OpenApiTypes.INT, required=True, description="Map zoom level, 0 to 22.")
LAYER_RESPONSES = {200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT}


class MapLayerViewSet(ScopedViewSetMixin, viewsets.GenericViewSet):
    """Base of the map layers: ``<prefix>/view/?bbox=…&zoom=…`` answers the layer for that view as
    one GeoJSON FeatureCollection; the selector receives ``bbox`` (a polygon) from
    ``selector_arguments``. Subclasses name the selector, the read capability and ``layer``.

    There is deliberately no list route: a layer is always asked for a view, never for all rows."""

    pagination_class = None
    filter_backends = ()

    def selector_arguments(self) -> dict:
        return {"bbox": self.map_view.polygon}

    def layer(self, queryset) -> HttpResponse:
        raise NotImplementedError

    @action(detail=False, methods=["get"], url_path="view", url_name="view")
    def in_view(self, request, *args, **kwargs):
        """The layer for ``bbox`` at ``zoom`` (both required)."""
        self.map_view = parse_view(request.query_params)
        return self.layer(self.get_queryset())
