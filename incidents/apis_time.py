"""REST endpoints for 延期 (extension requests) and 挂账 (the long-term backlog).

Thin, like incidents.apis: input serializers check shapes, the commands of
``incidents.services.extensions`` / ``backlog`` decide and write, and reads go through
``incidents.time_selectors`` (scoped). Refusals come back as the command boundary renders them
(403, 404 for anything out of sight, 400 with field errors, 409 for a second pending request).
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from anshun.api.base import ScopedModelViewSet, query_choice
from anshun.commands import NotFound
from incidents import selectors, time_selectors
from incidents.models import BacklogEntry, ExtensionRequest
from incidents.services.backlog import backlog_lift, backlog_place, backlog_review
from incidents.services.extensions import decide_extension, request_extension


class ExtensionOutputSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, allow_null=True)

    class Meta:
        model = ExtensionRequest
        fields = [
            "id",
            "incident",
            "state",
            "reason",
            "previous_due_at",
            "requested_due_at",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]


class ExtensionInputSerializer(serializers.Serializer):
    incident = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    requested_due_at = serializers.DateTimeField()
    reason = serializers.CharField(max_length=2000)


class DecisionInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class BacklogOutputSerializer(serializers.ModelSerializer):
    placed_by = serializers.CharField(source="placed_by.username", read_only=True)
    review_due = serializers.BooleanField(read_only=True)

    class Meta:
        model = BacklogEntry
        fields = [
            "id",
            "incident",
            "state",
            "reason",
            "review_on",
            "review_due",
            "review_flagged_at",
            "previous_due_at",
            "placed_by",
            "placed_at",
            "lifted_at",
            "lift_note",
        ]


class BacklogInputSerializer(serializers.Serializer):
    incident = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    review_on = serializers.DateField()
    reason = serializers.CharField(max_length=2000)


class ReviewInputSerializer(serializers.Serializer):
    review_on = serializers.DateField()
    note = serializers.CharField(max_length=2000)


class LiftInputSerializer(serializers.Serializer):
    due_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


def _visible_incident(request, incident_id: int) -> int:
    """404 for an incident out of the caller's sight, before any command runs (the command would
    answer the same)."""
    if not selectors.incidents_visible_to(actor=request.user).filter(pk=incident_id).exists():
        raise NotFound()
    return incident_id


class _Base(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    read_capability = "incident.view"

    def get_object(self):
        try:
            pk = int(self.kwargs["pk"])
        except (TypeError, ValueError):
            raise Http404 from None
        if not 0 < pk < 2**63:
            raise Http404
        return super().get_object()


class ExtensionViewSet(_Base):
    """延期 requests in the caller's sight; ``?state=pending`` for those awaiting a decision."""

    serializer_class = ExtensionOutputSerializer
    selector = staticmethod(time_selectors.extensions_visible_to)

    def filter_queryset(self, queryset):
        state = query_choice(self.request, "state", ExtensionRequest.State.values)
        if self.action == "list":
            queryset = queryset.defer("incident__grid__geometry", "incident__location").order_by(
                "requested_at", "id"
            )
            if state:
                queryset = queryset.filter(state=state)
        return queryset

    @extend_schema(request=ExtensionInputSerializer, responses={201: ExtensionOutputSerializer})
    def create(self, request):
        data = ExtensionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        extension = request_extension(
            actor=request.user,
            incident_id=_visible_incident(request, data.validated_data["incident"]),
            reason=data.validated_data["reason"],
            requested_due_at=data.validated_data["requested_due_at"],
        )
        return Response(ExtensionOutputSerializer(extension).data, status=status.HTTP_201_CREATED)

    def _decide(self, request, pk, *, approve: bool) -> Response:
        data = DecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        extension = self.get_object()
        decided = decide_extension(
            actor=request.user, extension_id=extension.pk, approve=approve, note=data.validated_data["note"]
        )
        return Response(ExtensionOutputSerializer(decided).data)

    @extend_schema(request=DecisionInputSerializer, responses={200: ExtensionOutputSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, pk, approve=True)

    @extend_schema(request=DecisionInputSerializer, responses={200: ExtensionOutputSerializer})
    @action(detail=True, methods=["post"])
    def refuse(self, request, pk=None):
        return self._decide(request, pk, approve=False)


class BacklogViewSet(_Base):
    """挂账 entries in the caller's sight; ``?state=active`` for the current backlog."""

    serializer_class = BacklogOutputSerializer
    selector = staticmethod(time_selectors.backlog_visible_to)

    def filter_queryset(self, queryset):
        state = query_choice(self.request, "state", BacklogEntry.State.values)
        if self.action == "list":
            queryset = queryset.defer("incident__grid__geometry", "incident__location").order_by(
                "review_on", "id"
            )
            if state:
                queryset = queryset.filter(state=state)
        return queryset

    @extend_schema(request=BacklogInputSerializer, responses={201: BacklogOutputSerializer})
    def create(self, request):
        data = BacklogInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = backlog_place(
            actor=request.user,
            incident_id=_visible_incident(request, data.validated_data["incident"]),
            reason=data.validated_data["reason"],
            review_on=data.validated_data["review_on"],
        )
        return Response(BacklogOutputSerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LiftInputSerializer, responses={200: BacklogOutputSerializer})
    @action(detail=True, methods=["post"])
    def lift(self, request, pk=None):
        data = LiftInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = self.get_object()
        if entry.state != BacklogEntry.State.ACTIVE:
            from django.core.exceptions import ValidationError
            from django.utils.translation import gettext as _

            raise ValidationError({"status": _("This case is not on the backlog.")})
        lifted = backlog_lift(
            actor=request.user,
            incident_id=entry.incident_id,
            note=data.validated_data["note"],
            due_at=data.validated_data["due_at"],
        )
        return Response(BacklogOutputSerializer(lifted).data)

    @extend_schema(request=ReviewInputSerializer, responses={200: BacklogOutputSerializer})
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """The centre reviewed the case and keeps it on the backlog until the next review date."""
        data = ReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = self.get_object()
        reviewed = backlog_review(
            actor=request.user,
            incident_id=entry.incident_id,
            note=data.validated_data["note"],
            review_on=data.validated_data["review_on"],
        )
        return Response(BacklogOutputSerializer(reviewed).data)
