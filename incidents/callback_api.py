"""The 回访 API: ``/api/incident-callbacks/`` lists the callbacks in the caller's sight and records
one (``record_callback``, the same command the incident page runs)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from anshun.api.base import ScopedModelViewSet
from incidents.callback_selectors import callbacks_visible_to
from incidents.models import IncidentCallback, Satisfaction
from incidents.services.callbacks import record_callback


class CallbackSerializer(serializers.ModelSerializer):
    by = serializers.CharField(source="by.username", read_only=True)
    # Declared, not generated: a read-only generated field loses ``allow_blank``, and the schema
    # would then refuse the empty answer of a callback that did not reach the reporter.
    satisfaction = serializers.ChoiceField(choices=Satisfaction.choices, allow_blank=True, read_only=True)

    class Meta:
        model = IncidentCallback
        fields = ["id", "incident", "at", "by", "reached", "satisfaction", "comment", "reopened"]
        read_only_fields = fields


class CallbackInputSerializer(serializers.Serializer):
    incident = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    reached = serializers.BooleanField()
    satisfaction = serializers.ChoiceField(choices=Satisfaction.choices, required=False, allow_blank=True)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    reopen = serializers.BooleanField(required=False, default=False)


class IncidentCallbackViewSet(mixins.ListModelMixin, ScopedModelViewSet):
    """Callbacks of closed cases; a dissatisfied one may reopen its case (``reopen``)."""

    selector = staticmethod(callbacks_visible_to)
    read_capability = "incident.view"
    serializer_class = CallbackSerializer

    @extend_schema(request=CallbackInputSerializer, responses={201: CallbackSerializer})
    def create(self, request):
        data = CallbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        callback = record_callback(
            actor=request.user,
            incident_id=values["incident"],
            reached=values["reached"],
            satisfaction=values.get("satisfaction", ""),
            comment=values["comment"],
            reopen=values["reopen"],
        )
        return Response(CallbackSerializer(callback).data, status=status.HTTP_201_CREATED)
