"""Read-only REST endpoints of the audit trail: one per audited model (``/api/audit/incidents/`` …).

One endpoint per historical model keeps each a plain ``ScopedReadOnlyViewSet`` whose
selector returns that model's changes in the caller's jurisdiction, so the project's
generic access checks apply to it unchanged. Each change carries its field diff, with
sensitive fields marked ``masked`` and their values left out.
"""

from __future__ import annotations

from functools import partial

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission

from anshun.api.base import ScopedReadOnlyViewSet
from anshun.api.pagination import KeysetPagination
from audit import selectors
from audit.changes import CHANGE_TYPES, Change, changes_for_model
from audit.forms import ChangeFilterForm


class CanAudit(BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.can("audit.view"))


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField()
    old = serializers.CharField(allow_null=True, help_text="Null when masked.")
    new = serializers.CharField(allow_null=True, help_text="Null when masked.")
    masked = serializers.BooleanField(help_text="A sensitive field: it changed, its values are never shown.")


def _viewer(context: dict):
    request = context.get("request")
    return getattr(request, "user", None)


class ChangeListSerializer(serializers.ListSerializer):
    """Turns a page of historical rows into changes with one query for all their previous rows."""

    def to_representation(self, data):
        records = list(data.all() if hasattr(data, "all") else data)
        changes = changes_for_model(
            self.child.context["model_key"], records, actor=_viewer(self.child.context)
        )
        return [self.child.to_representation(change) for change in changes]


class ChangeSerializer(serializers.Serializer):
    history_id = serializers.IntegerField()
    model = serializers.CharField(source="model_key")
    object_id = serializers.IntegerField()
    object = serializers.CharField(source="object_label")
    user = serializers.CharField(source="user.username", allow_null=True, default=None)
    at = serializers.DateTimeField()
    change_type = serializers.ChoiceField(choices=list(CHANGE_TYPES))
    reason = serializers.CharField()
    changes = serializers.SerializerMethodField()

    class Meta:
        list_serializer_class = ChangeListSerializer

    def to_representation(self, instance):
        if not isinstance(instance, Change):
            instance = changes_for_model(self.context["model_key"], [instance], actor=_viewer(self.context))[
                0
            ]
        return super().to_representation(instance)

    @extend_schema_field(FieldChangeSerializer(many=True))
    def get_changes(self, change: Change) -> list[dict]:
        return [field.as_dict() for field in change.fields]


FILTER_PARAMETERS = [
    OpenApiParameter("object_id", OpenApiTypes.INT, description="Only this object's changes."),
    OpenApiParameter("user", OpenApiTypes.STR, description="Only changes by this user name."),
    OpenApiParameter("change_type", OpenApiTypes.STR, enum=list(CHANGE_TYPES), description="+, ~ or -."),
    OpenApiParameter("since", OpenApiTypes.DATE, description="On or after this (local) day."),
    OpenApiParameter("until", OpenApiTypes.DATE, description="On or before this (local) day."),
]


class ChangeViewSet(ScopedReadOnlyViewSet):
    """Changes of one audited model inside the caller's jurisdiction (``audit.view`` required)."""

    serializer_class = ChangeSerializer
    permission_classes = [CanAudit]
    read_capability = "audit.view"
    pagination_class = KeysetPagination
    lookup_field = "history_id"
    model_key: str = ""

    def selector_arguments(self) -> dict:
        """The filters, refused with field errors when they are not what the schema documents
        (an auditor narrowing by a mistyped date must not silently get every change)."""
        params = self.request.query_params
        names = [parameter.name for parameter in FILTER_PARAMETERS]
        repeated = {
            name: [_("Give one value, or leave the filter out.")]
            for name in names
            if len(params.getlist(name)) > 1
        }
        if repeated:
            raise ValidationError(repeated)
        form = ChangeFilterForm({name: params[name] for name in names if name in params})
        if not form.is_valid():
            errors = form.errors.get_json_data()
            raise ValidationError({field: [e["message"] for e in found] for field, found in errors.items()})
        return {"filters": form.valid_filter()}

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "model_key": self.model_key}


def _viewset_for(model_key: str, prefix: str) -> type[ChangeViewSet]:
    history_model = selectors.history_model_for(model_key)
    name = history_model.instance_type._meta.verbose_name
    viewset = type(
        f"{history_model.__name__}ViewSet",
        (ChangeViewSet,),
        {
            "model_key": model_key,
            "selector": staticmethod(partial(selectors.history_visible_to, history_model=history_model)),
            "__doc__": f"Recorded changes of {name}s in the caller's jurisdiction.",
        },
    )
    return extend_schema_view(
        list=extend_schema(tags=["audit"], parameters=FILTER_PARAMETERS),
        retrieve=extend_schema(tags=["audit"]),
    )(viewset)


# URL prefix under /api/audit/ for each audited model.
PREFIXES = {
    "incidents.incident": "incidents",
    "mediation.mediationcase": "mediation-cases",
    "special_groups.enrollment": "special-enrollments",
    "special_groups.person": "special-persons",
    "safety_cells.evaluation": "safety-evaluations",
    "surveys.countingrule": "survey-counting-rules",
}


def register(router) -> None:
    """Add one read-only endpoint per audited model to the API router."""
    for model_key, prefix in PREFIXES.items():
        router.register(f"audit/{prefix}", _viewset_for(model_key, prefix), basename=f"audit-{prefix}")
