"""The registry's API: household visits, read and recorded (the phone outbox posts here)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response

from anshun.api.base import ScopedModelViewSet
from registry import selectors
from registry.models import HouseholdVisit
from registry.services.visits import house_visit, unit_visit
from registry.views import _int, _uuid, visit_input


class VisitSerializer(serializers.ModelSerializer):
    class Meta:
        model = HouseholdVisit
        fields = ["id", "client_uuid", "house", "unit", "grid", "visited_on", "changes", "incident"]


class VisitViewSet(ScopedModelViewSet):
    """Household visits in your villages; POST records one (idempotent by ``client_uuid``)."""

    selector = staticmethod(selectors.visits_visible_to)
    read_capability = "registry.view"
    serializer_class = VisitSerializer

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(VisitSerializer(page, many=True).data)

    @extend_schema(
        request=None,
        # 400: field errors (nothing written); 404: the house or unit is not in your villages;
        # 409: the same client_uuid with a different visit.
        responses={201: VisitSerializer, 200: VisitSerializer, 400: None, 404: None, 409: None},
    )
    def create(self, request):
        """``house`` or ``unit`` (an id), ``client_uuid`` (made on the phone), ``visited_on``, ``note``,
        ``moved_out`` [ids], ``phones`` {id: phone}, ``new_residents`` [{name, id_number, kind, phone}],
        ``incident_category`` and ``incident_description``. A repeat answers 200 with the first visit."""
        data = request.data
        house, unit = _int(data.get("house")), _int(data.get("unit"))
        if (house is None) == (unit is None):
            raise DRFValidationError({"house": [_("Give a house or a unit.")]})
        visit_data = visit_input(data)
        client = _uuid(data.get("client_uuid"))
        if house is not None:
            visit, created = house_visit(actor=request.user, house=house, data=visit_data, client_uuid=client)
        else:
            visit, created = unit_visit(actor=request.user, unit=unit, data=visit_data, client_uuid=client)
        return Response(
            VisitSerializer(visit).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
