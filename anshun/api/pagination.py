import re

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework_gis.pagination import GeoJsonPagination


class StrictPageParameters:
    """``page`` and ``page_size`` are whole numbers from 1, as documented; anything else is a
    400 instead of DRF's silent fall-back to the first page or the default size."""

    def paginate_queryset(self, queryset, request, view=None):
        errors = {}
        for name in (self.page_query_param, self.page_size_query_param):
            values = request.query_params.getlist(name)
            if values and (
                len(values) > 1 or not re.fullmatch(r"[0-9]{1,9}", values[0]) or int(values[0]) < 1
            ):
                errors[name] = [_("Give one whole number from 1.")]
        if errors:
            raise ValidationError(errors)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = {**parameter["schema"], "minimum": 1, "maximum": 999_999_999}
        return parameters


class StandardPagination(StrictPageParameters, PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000


class GeoPagination(StrictPageParameters, GeoJsonPagination):
    """A page of GeoJSON features, documented as the FeatureCollection it really is.

    rest_framework_gis documents its page with the list component (itself a collection)
    under ``features`` and keeps ``results`` required; the page holds the features directly.
    """

    page_size = 200
    page_size_query_param = "page_size"
    max_page_size = 5000

    def get_paginated_response_schema(self, schema):
        ref = schema.get("$ref", "")
        features = (
            {"type": "array", "items": {"$ref": ref.removesuffix("List")}} if ref.endswith("List") else schema
        )
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["type", "count", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "count": {"type": "integer"},
                "next": link,
                "previous": link,
                "features": features,
            },
        }
