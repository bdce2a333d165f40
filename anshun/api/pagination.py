from rest_framework.pagination import PageNumberPagination
from rest_framework_gis.pagination import GeoJsonPagination


class StandardPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000


class GeoPagination(GeoJsonPagination):
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
