"""REST endpoints of the six projects: the caseload (masked), the record with a stated
purpose (full, logged), pick-ups, tasks and the access trail for auditors."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from anshun.api.base import ScopedModelViewSet, ScopedReadOnlyViewSet
from grids.models import Region
from grids.selectors import regions_visible_to
from special_groups import selectors, services
from special_groups.crypto import (
    ID_NUMBER_MAX_TYPED,
    mask_address,
    mask_id_number,
    mask_name,
    mask_phone,
)
from special_groups.models import AccessRecord, CaseTask, CheckIn, Enrollment, Visit
from special_groups.policy import POLICY


class EnrollmentOutputSerializer(serializers.ModelSerializer):
    """Personal data masked (张*, 520402********1234)."""

    name = serializers.SerializerMethodField()
    id_number = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    address = serializers.SerializerMethodField()
    region = serializers.CharField(source="person.region.code", read_only=True)
    has_guardian = serializers.SerializerMethodField()

    class Meta:
        model = Enrollment
        fields = [
            "id",
            "project",
            "status",
            "name",
            "id_number",
            "phone",
            "address",
            "region",
            "enrolled_on",
            "closed_on",
            "risk_grade",
            "placement",
            "relapse_flag",
            "release_date",
            "pickup_outcome",
            "picked_up_on",
            "resettled",
            "release_kind",
            "correction_kind",
            "term_start",
            "term_end",
            "last_visit_on",
            "has_guardian",
        ]

    def get_name(self, obj) -> str:
        return mask_name(obj.person.name)

    def get_id_number(self, obj) -> str:
        return mask_id_number(obj.person.id_number)

    def get_phone(self, obj) -> str:
        return mask_phone(obj.person.phone)

    def get_address(self, obj) -> str:
        return mask_address(obj.person.address)

    def get_has_guardian(self, obj) -> bool:
        return hasattr(obj, "guardian")


class EnrollmentFullSerializer(EnrollmentOutputSerializer):
    """Full personal data: only returned by ``reveal``, after a stated purpose."""

    def get_name(self, obj) -> str:
        return obj.person.name

    def get_id_number(self, obj) -> str:
        return obj.person.id_number

    def get_phone(self, obj) -> str:
        return obj.person.phone

    def get_address(self, obj) -> str:
        return obj.person.address


class EnrollmentInputSerializer(serializers.Serializer):
    """A new enrolment in the caller's own project, built from the data given here alone
    (nothing another project holds under the same ID number is linked or shown)."""

    name = serializers.CharField(max_length=50)
    id_number = serializers.CharField(max_length=ID_NUMBER_MAX_TYPED)
    # An unknown code and a code outside the caller's jurisdiction get the same answer.
    region = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Region.objects.all(),
        error_messages={"does_not_exist": _("Not found in your jurisdiction.")},
    )
    phone = serializers.CharField(max_length=20, required=False, default="")
    address = serializers.CharField(max_length=200, required=False, default="")
    release_date = serializers.DateField(required=False, allow_null=True, default=None)
    risk_grade = serializers.IntegerField(
        min_value=0, max_value=5, required=False, allow_null=True, default=None
    )
    placement = serializers.ChoiceField(choices=Enrollment.Placement.choices, required=False, default="")
    release_kind = serializers.ChoiceField(choices=Enrollment.ReleaseKind.choices, required=False, default="")
    correction_kind = serializers.ChoiceField(
        choices=Enrollment.CorrectionKind.choices, required=False, default=""
    )
    term_start = serializers.DateField(required=False, allow_null=True, default=None)
    term_end = serializers.DateField(required=False, allow_null=True, default=None)
    # Link to the basic registry's resident with this ID number inside the caller's jurisdiction
    # (found by the exact number; no resident id is ever shown to a case officer).
    link_registry = serializers.BooleanField(required=False, default=False)


class CheckInInputSerializer(serializers.Serializer):
    checked_in_on = serializers.DateField()
    way = serializers.ChoiceField(choices=CheckIn.Way.choices)
    outcome = serializers.ChoiceField(choices=CheckIn.Outcome.choices)
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class VisitInputSerializer(serializers.Serializer):
    visited_on = serializers.DateField()
    kind = serializers.ChoiceField(choices=Visit.Kind.choices, required=False, default=Visit.Kind.VISIT)
    adherent = serializers.BooleanField(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class GuardianInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=50)
    id_number = serializers.CharField(max_length=ID_NUMBER_MAX_TYPED)
    relation = serializers.CharField(max_length=20)
    phone = serializers.CharField(max_length=20, required=False, default="")


class PurposeInputSerializer(serializers.Serializer):
    purpose = serializers.CharField(min_length=4, max_length=200)


class PickupInputSerializer(serializers.Serializer):
    pickup_outcome = serializers.ChoiceField(choices=Enrollment.PickupOutcome.choices)
    on = serializers.DateField(required=False)


class EnrollmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """Enrolments of the caller's project in their jurisdiction (case officers only).
    Every retrieve is logged; full personal data needs ``reveal`` with a purpose."""

    selector = staticmethod(selectors.enrollments_visible_to)
    read_capability = "special_groups.handle"
    serializer_class = EnrollmentOutputSerializer
    filterset_fields = ["status"]

    def retrieve(self, request, *args, **kwargs):
        enrollment = self.get_object()
        services.enrollment_view(actor=request.user, enrollment=enrollment)
        return Response(self.get_serializer(enrollment).data)

    @extend_schema(request=EnrollmentInputSerializer, responses={201: EnrollmentOutputSerializer})
    def create(self, request, *args, **kwargs):
        data = EnrollmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        arguments = dict(data.validated_data)
        if arguments.pop("link_registry"):
            # Authorised before the look-up, so a role that may not enrol learns nothing from it.
            POLICY.authorize("person_enroll", actor=request.user, arguments={})
            arguments["registry_person"] = selectors.registry_resident_for(
                actor=request.user, id_number=arguments["id_number"]
            )
            if arguments["registry_person"] is None:
                raise serializers.ValidationError({"link_registry": [_("Not found in your jurisdiction.")]})
        enrollment = services.person_enroll(actor=request.user, **arguments)
        fresh = selectors.enrollments_visible_to(actor=request.user).get(pk=enrollment.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PurposeInputSerializer, responses=EnrollmentFullSerializer)
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        enrollment = self.get_object()
        data = PurposeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.enrollment_reveal(
            actor=request.user, enrollment=enrollment, purpose=data.validated_data["purpose"]
        )
        return Response(EnrollmentFullSerializer(enrollment).data)

    @extend_schema(request=PickupInputSerializer, responses=EnrollmentOutputSerializer)
    @action(detail=True, methods=["post"])
    def pickup(self, request, pk=None):
        enrollment = self.get_object()
        data = PickupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.pickup_record(
            actor=request.user,
            enrollment=enrollment,
            outcome=data.validated_data["pickup_outcome"],
            on=data.validated_data.get("on"),
        )
        fresh = selectors.enrollments_visible_to(actor=request.user).get(pk=enrollment.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_200_OK)

    @extend_schema(request=VisitInputSerializer, responses={201: EnrollmentOutputSerializer})
    @action(detail=True, methods=["post"])
    def visits(self, request, pk=None):
        """Log a visit, check-in or follow-up (refused on a closed enrolment)."""
        enrollment = self.get_object()
        data = VisitInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.visit_record(actor=request.user, enrollment=enrollment, **data.validated_data)
        fresh = selectors.enrollments_visible_to(actor=request.user).get(pk=enrollment.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CheckInInputSerializer, responses={201: EnrollmentOutputSerializer})
    @action(detail=True, methods=["post"], url_path="check-ins")
    def check_ins(self, request, pk=None):
        """Record a 社区矫正 check-in (报到); refused for other projects and closed enrolments."""
        enrollment = self.get_object()
        data = CheckInInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.checkin_record(actor=request.user, enrollment=enrollment, **data.validated_data)
        fresh = selectors.enrollments_visible_to(actor=request.user).get(pk=enrollment.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=GuardianInputSerializer, responses=EnrollmentOutputSerializer)
    @action(detail=True, methods=["post"])
    def guardian(self, request, pk=None):
        """Name the guardian (安宁, 雨露); the patient cannot be their own guardian."""
        enrollment = self.get_object()
        data = GuardianInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.guardian_assign(actor=request.user, enrollment=enrollment, **data.validated_data)
        fresh = selectors.enrollments_visible_to(actor=request.user).get(pk=enrollment.pk)
        return Response(self.get_serializer(fresh).data)


class MetricsTileSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    unit = serializers.CharField()
    suppressed = serializers.BooleanField()
    group = serializers.CharField()


class PeriodInputSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)
    month = serializers.IntegerField(min_value=1, max_value=12, required=False)

    def validate(self, attrs):
        if "month" in attrs and "year" not in attrs:
            raise serializers.ValidationError({"year": _("Give the year with the month.")})
        return attrs


class MetricsViewSet(mixins.RetrieveModelMixin, ScopedModelViewSet):
    """The six projects' figures for a region the caller may see, for a year or a month
    (``?year=2017&month=3``); counts of people below 5 are suppressed outside the project."""

    selector = staticmethod(regions_visible_to)
    read_capability = "special_groups.dashboard"
    lookup_field = "code"
    serializer_class = MetricsTileSerializer
    pagination_class = None  # one region's tiles, never paged

    @extend_schema(
        parameters=[
            OpenApiParameter("year", OpenApiTypes.INT, description="Year (default: all records)."),
            OpenApiParameter("month", OpenApiTypes.INT, description="Month 1-12, with year."),
        ],
        responses=MetricsTileSerializer(many=True),
    )
    def retrieve(self, request, *args, **kwargs):
        region = self.get_object()
        params = PeriodInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        year, month = params.validated_data.get("year"), params.validated_data.get("month")
        tiles = selectors.period_tiles(actor=request.user, region=region, year=year, month=month)
        return Response(MetricsTileSerializer([t.__dict__ for t in tiles], many=True).data)


class TaskOutputSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="enrollment.project", read_only=True)
    name = serializers.SerializerMethodField()
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = CaseTask
        fields = [
            "id",
            "enrollment",
            "project",
            "name",
            "kind",
            "due_on",
            "done_on",
            "overdue_since",
            "is_overdue",
        ]

    def get_name(self, obj) -> str:
        return mask_name(obj.enrollment.person.name)


class CaseTaskViewSet(ScopedReadOnlyViewSet):
    """Open pick-up and visit tasks of the caller's project."""

    selector = staticmethod(selectors.tasks_visible_to)
    read_capability = "special_groups.handle"
    serializer_class = TaskOutputSerializer


class AccessRecordOutputSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True)
    region = serializers.CharField(source="region.code", read_only=True)

    class Meta:
        model = AccessRecord
        fields = ["id", "at", "actor", "action", "project", "enrollment", "region", "purpose", "row_count"]


class AccessRecordViewSet(ScopedReadOnlyViewSet):
    """The access trail, for auditors inside their jurisdiction."""

    selector = staticmethod(selectors.access_records_visible_to)
    read_capability = ("audit.view", "special_groups.handle")
    serializer_class = AccessRecordOutputSerializer
