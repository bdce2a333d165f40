"""The schema class every API view uses: the documented answers include the errors.

drf-spectacular documents only the success of an operation. Clients (and the fuzzing in
``tests/fuzz``) need the refusals too, with their body: a 400 with field errors where input
is read, 403 where a permission applies, 404 where an object or page is looked up, 413 and
415 where a body is read, 429 where throttles apply. Codes an operation declares itself are
kept; a declared code without a body gets the error body the API really sends.
"""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_gis import GeoFeatureModelSerializerExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.permissions import AllowAny

FIELD_ERRORS = "FieldErrors"
ERROR_DETAIL = "ErrorDetail"

FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": (
        "Field name (or `non_field_errors`) to the list of problems; nested inputs nest the same way."
    ),
    "additionalProperties": {},
}
ERROR_DETAIL_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
    "additionalProperties": {},
}
DESCRIPTIONS = {
    "400": "Invalid input: field errors, nothing written.",
    "403": "Not signed in, or the role lacks the capability.",
    "404": "Not found in the caller's jurisdiction (or no such page).",
    "412": "If-Match names an older version.",
    "413": "The request body or an uploaded file is too large.",
    "415": "Unsupported request content type.",
    "429": "Too many requests for this token.",
}


class AutoSchema(SpectacularAutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for code in self._error_codes(operation):
            if "content" not in responses.get(code, {}):
                responses[code] = self._error_response(code)
        return operation

    def _error_codes(self, operation: dict) -> list[str]:
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        codes = []
        if has_body or any(p["in"] in ("query", "header") for p in parameters):
            codes.append("400")
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes.append("403")
        paginated = self._is_list_view() and self._get_paginator() is not None
        if any(p["in"] == "path" for p in parameters) or paginated or has_body:
            codes.append("404")
        if "412" in operation["responses"] or any(p["name"] == "If-Match" for p in parameters):
            codes.append("412")
        if has_body:
            codes += ["413", "415"]
        if self.view.get_throttles():
            codes.append("429")
        return codes

    def _error_response(self, code: str) -> dict:
        name, schema = (
            (FIELD_ERRORS, FIELD_ERRORS_SCHEMA) if code == "400" else (ERROR_DETAIL, ERROR_DETAIL_SCHEMA)
        )
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
        self.registry.register_on_missing(component)
        return {"description": DESCRIPTIONS[code], "content": {"application/json": {"schema": component.ref}}}


class NullableGeometryFeatureExtension(GeoFeatureModelSerializerExtension):
    """A GeoJSON feature whose model allows no geometry (a region without a boundary yet)
    says so: its ``geometry`` may be null, as GeoJSON allows."""

    priority = 1

    def map_geo_feature_model_serializer(self, serializer, base_schema):
        schema = super().map_geo_feature_model_serializer(serializer, base_schema)
        if serializer.Meta.model._meta.get_field(serializer.Meta.geo_field).null:
            schema["properties"]["geometry"] = {**schema["properties"]["geometry"], "nullable": True}
        return schema
