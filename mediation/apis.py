"""REST endpoints of mediation and legal services. Thin: input serializers validate the shape,
the commands in ``mediation.services`` authorise and write, scoped selectors do the reads (out of
scope is 404). Ids in a request are turned into objects with ``policy.resolve``, so a missing id
and one out of sight get the same answer; list filters take ids as plain numbers for the same
reason (no "does not exist" for a row elsewhere)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import User
from anshun.api.base import ScopedModelViewSet, ScopedReadOnlyViewSet
from anshun.api.pagination import KeysetPagination
from anshun.commands import Invalid, NotPermitted
from grids.models import Region
from mediation import deadlines, selectors, services
from mediation.models import (
    Consultation,
    DutyShift,
    JudicialConfirmation,
    LegalAidApplication,
    LegalServiceCentre,
    MediationAgreement,
    MediationCase,
    MediationCommittee,
    MediationSession,
    Party,
)
from mediation.policy import POLICY, resolve

MAX_ID = 2**31 - 1


def _allowed(request, command: str) -> None:
    """The role's capability for the command, before the request body or any row is looked at
    (the command checks it again; this only puts the 403 first)."""
    if not POLICY.can(command, actor=request.user):
        raise NotPermitted()


class IdFilter(filters.Filter):
    """An id filter that answers with the scoped rows, whether or not the id exists elsewhere."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class CaseFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=MediationCase.Status.choices)
    committee = IdFilter(field_name="committee_id")
    source = filters.ChoiceFilter(choices=MediationCase.Source.choices)

    class Meta:
        model = MediationCase
        fields = ["status", "committee", "source"]


class SessionFilter(filters.FilterSet):
    case = IdFilter(field_name="case_id")

    class Meta:
        model = MediationSession
        fields = ["case"]


class DutyShiftFilter(filters.FilterSet):
    date = filters.DateFilter()
    centre = IdFilter(field_name="centre_id")
    lawyer = IdFilter(field_name="lawyer_id")

    class Meta:
        model = DutyShift
        fields = ["date", "centre", "lawyer"]


class CommitteeSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.code", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)
    open_cases = serializers.IntegerField(read_only=True)
    mediator_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = MediationCommittee
        fields = [
            "id",
            "name",
            "kind",
            "dispute_type",
            "region",
            "region_name",
            "is_active",
            "open_cases",
            "mediator_count",
        ]


class PartySerializer(serializers.ModelSerializer):
    class Meta:
        model = Party
        fields = ["kind", "side", "name", "phone", "address", "representative"]
        extra_kwargs = {"name": {"allow_blank": True}}


class DeadlineSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    due_on = serializers.DateField()
    met_on = serializers.DateField(allow_null=True)


class CaseSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    committee_name = serializers.CharField(source="committee.name", read_only=True)
    region = serializers.CharField(source="region.code", read_only=True)
    mediator = serializers.CharField(
        source="mediator.username", default=None, allow_null=True, read_only=True
    )
    deadlines = serializers.SerializerMethodField()

    class Meta:
        model = MediationCase
        fields = [
            "id",
            "number",
            "committee",
            "committee_name",
            "region",
            "source",
            "source_incident",
            "dispute_type",
            "summary",
            "amount_in_dispute",
            "mediator",
            "intake_date",
            "extension_days",
            "extension_reason",
            "status",
            "closed_on",
            "deadlines",
        ]

    @extend_schema_field(DeadlineSerializer(many=True))
    def get_deadlines(self, case) -> list[dict]:
        return DeadlineSerializer(deadlines.case_deadlines(case), many=True).data


class CaseDetailSerializer(CaseSerializer):
    parties = PartySerializer(many=True, read_only=True)

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "parties"]


class CaseInputSerializer(serializers.Serializer):
    committee = serializers.IntegerField()
    region = serializers.CharField(
        max_length=20, help_text="Code of the village or township where the dispute is."
    )
    source = serializers.ChoiceField(
        choices=MediationCase.Source.choices, default=MediationCase.Source.WALK_IN
    )
    dispute_type = serializers.CharField(max_length=60)
    summary = serializers.CharField()
    intake_date = serializers.DateField()
    amount_in_dispute = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    mediator = serializers.IntegerField(required=False, allow_null=True)
    parties = PartySerializer(many=True)


class SessionInputSerializer(serializers.Serializer):
    case = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    held_at = serializers.DateTimeField()
    place = serializers.CharField(max_length=200)
    attendees = serializers.CharField(max_length=300)
    notes = serializers.CharField(required=False, default="", allow_blank=True)
    next_step = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class DutyShiftInputSerializer(serializers.Serializer):
    centre = serializers.IntegerField()
    date = serializers.DateField()
    lawyer = serializers.IntegerField()


class SessionSerializer(serializers.ModelSerializer):
    class Meta:
        model = MediationSession
        fields = ["id", "case", "held_at", "place", "attendees", "notes", "next_step"]
        read_only_fields = ["id"]


class AgreementSerializer(serializers.ModelSerializer):
    class Meta:
        model = MediationAgreement
        fields = ["id", "case", "terms", "signed_on", "effective_on", "performance", "performance_checked_on"]


class ConfirmationSerializer(serializers.ModelSerializer):
    case = serializers.IntegerField(source="agreement.case_id", read_only=True)

    class Meta:
        model = JudicialConfirmation
        fields = [
            "id",
            "case",
            "court",
            "applied_on",
            "applied_late",
            "decision",
            "decided_on",
            "ruling_extended",
            "extension_reason",
            "ruled_on",
            "ruling_number",
            "outcome",
        ]


class ConsultationSerializer(serializers.ModelSerializer):
    centre_name = serializers.CharField(source="centre.name", read_only=True)

    class Meta:
        model = Consultation
        fields = [
            "id",
            "centre",
            "centre_name",
            "asked_at",
            "person_name",
            "topic",
            "question",
            "answer",
            "referral",
        ]


class LegalAidSerializer(serializers.ModelSerializer):
    centre_name = serializers.CharField(source="centre.name", read_only=True)
    assigned_lawyer = serializers.CharField(
        source="assigned_lawyer.username", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = LegalAidApplication
        fields = [
            "id",
            "centre",
            "centre_name",
            "applicant_name",
            "matter",
            "applied_on",
            "eligibility",
            "decided_on",
            "decision_reason",
            "assigned_lawyer",
            "outcome",
        ]


class DutyShiftSerializer(serializers.ModelSerializer):
    centre_name = serializers.CharField(source="centre.name", read_only=True)
    lawyer_name = serializers.CharField(source="lawyer.username", read_only=True)

    class Meta:
        model = DutyShift
        fields = ["id", "centre", "centre_name", "date", "lawyer", "lawyer_name"]


class AgreementInputSerializer(serializers.Serializer):
    terms = serializers.CharField()
    signed_on = serializers.DateField()
    effective_on = serializers.DateField(required=False, allow_null=True)


class ConfirmationApplyInputSerializer(serializers.Serializer):
    court = serializers.CharField(max_length=120)
    applied_on = serializers.DateField()


class ConfirmationDecideInputSerializer(serializers.Serializer):
    accepted = serializers.BooleanField()
    decided_on = serializers.DateField()


class ConfirmationExtendInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class RulingInputSerializer(serializers.Serializer):
    ruled_on = serializers.DateField()
    ruling_number = serializers.CharField(max_length=60)
    confirmed = serializers.BooleanField()


class CloseInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["no_agreement", "withdrawn", "referred_on"])
    closed_on = serializers.DateField()
    note = serializers.CharField(required=False, default="", allow_blank=True)


class ExtendInputSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=60)
    reason = serializers.CharField(max_length=200)


# One POST action per step of the case: (input serializer, service, output serializer).
CASE_STEPS = {
    "agreement": (AgreementInputSerializer, services.agreement_record, AgreementSerializer),
    "close": (CloseInputSerializer, services.case_close, CaseSerializer),
    "extend": (ExtendInputSerializer, services.mediation_extend, CaseSerializer),
    "confirmation": (ConfirmationApplyInputSerializer, services.confirmation_apply, ConfirmationSerializer),
    "confirmation-decision": (
        ConfirmationDecideInputSerializer,
        services.confirmation_decide,
        ConfirmationSerializer,
    ),
    "confirmation-extension": (
        ConfirmationExtendInputSerializer,
        services.confirmation_extend,
        ConfirmationSerializer,
    ),
    "ruling": (RulingInputSerializer, services.ruling_record, ConfirmationSerializer),
}


def _case_step(name: str):
    input_class, service, output_class = CASE_STEPS[name]

    @extend_schema(request=input_class, responses={200: output_class})
    def step(self, request, pk=None):
        _allowed(request, service.command_name)
        case = self.get_object()
        data = input_class(data=request.data)
        data.is_valid(raise_exception=True)
        result = service(actor=request.user, case=case, **data.validated_data)
        return Response(output_class(result).data)

    step.__name__ = name.replace("-", "_")
    step.__doc__ = f"Record the step '{name}' of the case through its service; bad dates are a 400."
    return action(detail=True, methods=["post"], url_path=name)(step)


class CommitteeViewSet(ScopedReadOnlyViewSet):
    serializer_class = CommitteeSerializer
    selector = staticmethod(selectors.committees_visible_to)
    read_capability = ("mediation.view", "mediation.refer", "mediation.handle")


class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """Cases in the caller's scope: a mediator's committees, an official's jurisdiction."""

    selector = staticmethod(selectors.cases_visible_to)
    read_capability = ("mediation.view", "mediation.refer", "mediation.handle")
    filterset_class = CaseFilter
    pagination_class = KeysetPagination

    def get_serializer_class(self):
        return CaseDetailSerializer if self.action == "retrieve" else CaseSerializer

    @extend_schema(request=CaseInputSerializer, responses={201: CaseDetailSerializer})
    def create(self, request):
        _allowed(request, "case_open")
        data = CaseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        committee = resolve(MediationCommittee, values["committee"], field="committee")
        region = Region.objects.filter(code=values["region"]).first()
        if region is None:
            raise Invalid({"region": _("Not found in your jurisdiction.")})
        mediator = resolve(
            User, values.get("mediator"), field="mediator", message=services.mediator_unfit_message()
        )
        case = services.case_open(
            actor=request.user,
            committee=committee,
            region=region,
            source=values["source"],
            dispute_type=values["dispute_type"],
            summary=values["summary"],
            intake_date=values["intake_date"],
            amount_in_dispute=values.get("amount_in_dispute"),
            mediator=mediator,
            parties=[services.PartyInput(**party) for party in values["parties"]],
        )
        case = selectors.case_details_visible_to(actor=request.user).get(pk=case.pk)
        return Response(CaseDetailSerializer(case).data, status=status.HTTP_201_CREATED)


for _name in CASE_STEPS:
    setattr(CaseViewSet, _name.replace("-", "_"), _case_step(_name))


class SessionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    serializer_class = SessionSerializer
    selector = staticmethod(selectors.sessions_visible_to)
    read_capability = ("mediation.view", "mediation.handle")
    filterset_class = SessionFilter

    @extend_schema(request=SessionInputSerializer, responses={201: SessionSerializer})
    def create(self, request):
        """Record a session; a case that does not exist or is out of sight is a 404 alike."""
        _allowed(request, "session_record")
        data = SessionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        session = services.session_record(actor=request.user, case=values.pop("case"), **values)
        return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)


class AgreementViewSet(ScopedReadOnlyViewSet):
    serializer_class = AgreementSerializer
    selector = staticmethod(selectors.agreements_visible_to)
    read_capability = ("mediation.view", "mediation.handle")


class ConfirmationViewSet(ScopedReadOnlyViewSet):
    serializer_class = ConfirmationSerializer
    selector = staticmethod(selectors.confirmations_visible_to)
    read_capability = ("mediation.view", "mediation.handle")


class ConsultationViewSet(ScopedReadOnlyViewSet):
    serializer_class = ConsultationSerializer
    selector = staticmethod(selectors.consultations_visible_to)
    read_capability = ("legal.serve", "legal.roster", "mediation.view")


class LegalAidViewSet(ScopedReadOnlyViewSet):
    serializer_class = LegalAidSerializer
    selector = staticmethod(selectors.legal_aid_visible_to)
    read_capability = ("legal.serve", "legal.roster", "mediation.view")


class DutyShiftViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """The lawyers' duty roster; booking a lawyer already on duty elsewhere that day is a 400."""

    serializer_class = DutyShiftSerializer
    selector = staticmethod(selectors.duty_shifts_visible_to)
    read_capability = ("legal.serve", "legal.roster", "mediation.view")
    filterset_class = DutyShiftFilter

    @extend_schema(request=DutyShiftInputSerializer, responses={201: DutyShiftSerializer})
    def create(self, request):
        _allowed(request, "duty_assign")
        data = DutyShiftInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        shift = services.duty_assign(
            actor=request.user,
            centre=resolve(LegalServiceCentre, values["centre"], field="centre"),
            day=values["date"],
            lawyer=resolve(User, values["lawyer"], field="lawyer"),
        )
        shift = selectors.duty_shifts_visible_to(actor=request.user).get(pk=shift.pk)
        return Response(DutyShiftSerializer(shift).data, status=status.HTTP_201_CREATED)
