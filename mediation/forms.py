"""Input forms of the case page; each feeds one service call."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mediation.models import MediationAgreement, MediationCase, Party


class DateInput(forms.DateInput):
    """``<input type=date>`` takes only ISO dates: a localized value (2026/11/30) shows as blank."""

    input_type = "date"

    def __init__(self, attrs=None, format=None):  # noqa: A002 - Django's own argument name
        super().__init__(attrs, format=format or "%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None, format=None):  # noqa: A002 - Django's own argument name
        super().__init__(attrs, format=format or "%Y-%m-%dT%H:%M")


class SessionForm(forms.Form):
    held_at = forms.DateTimeField(label=_("held at"), widget=DateTimeInput)
    place = forms.CharField(label=_("place"), max_length=200)
    attendees = forms.CharField(label=_("who attended"), max_length=300)
    notes = forms.CharField(
        label=pgettext_lazy("mediation session", "notes"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    next_step = forms.CharField(label=_("next step"), max_length=200, required=False)


class AgreementForm(forms.Form):
    terms = forms.CharField(label=_("terms"), widget=forms.Textarea(attrs={"rows": 4}))
    signed_on = forms.DateField(label=_("signed on"), widget=DateInput)
    effective_on = forms.DateField(label=_("takes effect on"), widget=DateInput, required=False)


class CloseForm(forms.Form):
    status = forms.ChoiceField(
        label=_("outcome"),
        choices=[
            (MediationCase.Status.NO_AGREEMENT, MediationCase.Status.NO_AGREEMENT.label),
            (MediationCase.Status.WITHDRAWN, MediationCase.Status.WITHDRAWN.label),
            (MediationCase.Status.REFERRED_ON, MediationCase.Status.REFERRED_ON.label),
        ],
    )
    closed_on = forms.DateField(label=_("closed on"), widget=DateInput)
    note = forms.CharField(label=_("note"), max_length=500, required=False)


class ExtendForm(forms.Form):
    days = forms.IntegerField(label=_("extension (days)"), min_value=1, max_value=60)
    reason = forms.CharField(label=_("reason for the extension"), max_length=200)


class AssignForm(forms.Form):
    """Assign one of the committee's mediators, or un-assign the case -- only as that explicit
    choice: an unknown or unseen id is a field error and changes nothing."""

    mediator = forms.ModelChoiceField(
        label=_("mediator"),
        queryset=None,
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": _("Choose a mediator who sits on this committee.")},
    )
    unassign = forms.BooleanField(label=_("un-assign"), required=False, widget=forms.HiddenInput)

    def __init__(self, *args, mediators=None, **kwargs):
        from accounts.models import User

        super().__init__(*args, **kwargs)
        self.fields["mediator"].queryset = mediators if mediators is not None else User.objects.none()

    def clean(self):
        cleaned = super().clean()
        if "mediator" in self.errors:
            return cleaned
        if cleaned.get("unassign"):
            if cleaned.get("mediator") is not None:
                self.add_error("mediator", _("Either assign a mediator or un-assign the case."))
        elif cleaned.get("mediator") is None:
            self.add_error("mediator", _("Choose a mediator who sits on this committee."))
        return cleaned


class PartyForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=120)
    side = forms.ChoiceField(label=_("side"), choices=Party.Side.choices)
    kind = forms.ChoiceField(label=_("kind"), choices=Party.Kind.choices)
    phone = forms.CharField(label=_("phone"), max_length=30, required=False)
    representative = forms.CharField(label=_("representative"), max_length=120, required=False)


class ConfirmationApplyForm(forms.Form):
    court = forms.CharField(label=_("court"), max_length=120, initial="安顺市西秀区人民法院")
    applied_on = forms.DateField(label=_("applied on"), widget=DateInput)


class ConfirmationDecideForm(forms.Form):
    accepted = forms.TypedChoiceField(
        label=_("acceptance"),
        choices=[("1", _("Accepted")), ("0", _("Not accepted"))],
        coerce=lambda value: value == "1",
    )
    decided_on = forms.DateField(label=_("acceptance decided on"), widget=DateInput)


class ConfirmationExtendForm(forms.Form):
    reason = forms.CharField(label=_("reason for the extension"), max_length=200)


class RulingForm(forms.Form):
    ruled_on = forms.DateField(label=_("ruled on"), widget=DateInput)
    ruling_number = forms.CharField(label=_("ruling number"), max_length=60)
    confirmed = forms.TypedChoiceField(
        label=_("outcome"),
        choices=[("1", _("Confirmed (valid)")), ("0", _("Not confirmed"))],
        coerce=lambda value: value == "1",
    )


class PerformanceForm(forms.Form):
    performance = forms.ChoiceField(label=_("performance"), choices=MediationAgreement.Performance.choices)
    checked_on = forms.DateField(label=_("performance checked on"), widget=DateInput)


class ReferForm(forms.Form):
    incident = forms.IntegerField(widget=forms.HiddenInput)
    committee = forms.IntegerField(label=_("committee"))


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.code} {obj.name}"


class CaseIntakeForm(forms.Form):
    """A walk-in (or police, court, petition) dispute taken in at the committee's desk."""

    committee = forms.ModelChoiceField(label=_("committee"), queryset=None)
    region = RegionChoiceField(label=_("place of the dispute"), queryset=None)
    source = forms.ChoiceField(
        label=_("source"), choices=[c for c in MediationCase.Source.choices if c[0] != "grid_incident"]
    )
    dispute_type = forms.CharField(label=_("dispute type"), max_length=60)
    summary = forms.CharField(label=_("summary"), widget=forms.Textarea(attrs={"rows": 3}))
    amount_in_dispute = forms.DecimalField(label=_("amount in dispute (yuan)"), required=False, min_value=0)
    intake_date = forms.DateField(label=_("intake date"), widget=DateInput)
    applicant = forms.CharField(label=_("Applicant"), max_length=120, required=False)
    applicant_phone = forms.CharField(label=_("phone"), max_length=30, required=False)
    respondent = forms.CharField(label=_("Respondent"), max_length=120, required=False)
    respondent_kind = forms.ChoiceField(label=_("kind"), choices=Party.Kind.choices)
    respondent_representative = forms.CharField(label=_("representative"), max_length=120, required=False)

    def __init__(self, *args, committees, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["committee"].queryset = committees
        self.fields["region"].queryset = regions


class ReceptionDayForm(forms.Form):
    centre = forms.ModelChoiceField(label=_("Centre"), queryset=None)
    day = forms.DateField(label=_("date"), widget=DateInput)
    leader = forms.CharField(label=_("receiving leader"), max_length=80, required=False)

    def __init__(self, *args, centres, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centre"].queryset = centres


class DutyShiftForm(forms.Form):
    centre = forms.ModelChoiceField(label=_("Centre"), queryset=None)
    day = forms.DateField(label=_("date"), widget=DateInput)
    lawyer = forms.ModelChoiceField(label=_("lawyer"), queryset=None)

    def __init__(self, *args, centres, lawyers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centre"].queryset = centres
        self.fields["lawyer"].queryset = lawyers


class ConsultationForm(forms.Form):
    centre = forms.ModelChoiceField(label=_("Centre"), queryset=None)
    person_name = forms.CharField(
        label=pgettext_lazy("legal consultation", "person"), max_length=120, required=False
    )
    topic = forms.CharField(label=_("topic"), max_length=120)
    question = forms.CharField(
        label=pgettext_lazy("legal consultation", "question"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    answer = forms.CharField(
        label=pgettext_lazy("legal consultation", "answer"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    referral = forms.CharField(label=_("referred to"), max_length=200, required=False)

    def __init__(self, *args, centres, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centre"].queryset = centres


class LegalAidForm(forms.Form):
    centre = forms.ModelChoiceField(label=_("Centre"), queryset=None)
    applicant_name = forms.CharField(label=_("applicant"), max_length=120)
    phone = forms.CharField(label=_("phone"), max_length=30, required=False)
    matter = forms.CharField(label=_("matter"), widget=forms.Textarea(attrs={"rows": 2}))
    applied_on = forms.DateField(label=_("applied on"), widget=DateInput)

    def __init__(self, *args, centres, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centre"].queryset = centres


class RepresentationForm(forms.Form):
    """代理诉讼 taken on: the client, the cause, the court; the legal-aid application when given
    as legal aid (eligible ones in sight only)."""

    centre = forms.ModelChoiceField(label=_("Centre"), queryset=None)
    client_name = forms.CharField(label=_("client"), max_length=120)
    cause = forms.CharField(label=_("cause of action"), max_length=120)
    court = forms.CharField(label=_("court"), max_length=120)
    accepted_on = forms.DateField(label=_("accepted on"), widget=DateInput)
    legal_aid = forms.ModelChoiceField(label=_("legal-aid application"), queryset=None, required=False)

    def __init__(self, *args, centres, applications, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centre"].queryset = centres
        self.fields["legal_aid"].queryset = applications


class RepresentationConclusionForm(forms.Form):
    representation = forms.ModelChoiceField(label=_("litigation representation"), queryset=None)
    concluded_on = forms.DateField(label=_("concluded on"), widget=DateInput)

    def __init__(self, *args, representations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["representation"].queryset = representations


class LegalAidDecisionForm(forms.Form):
    application = forms.ModelChoiceField(label=_("legal-aid application"), queryset=None)
    eligible = forms.TypedChoiceField(
        label=_("eligibility"),
        choices=[("1", _("Eligible")), ("0", _("Not eligible"))],
        coerce=lambda value: value == "1",
    )
    reason = forms.CharField(label=_("reason for the decision"), max_length=300)
    decided_on = forms.DateField(label=_("decided on"), widget=DateInput)
    lawyer = forms.ModelChoiceField(label=_("lawyer"), queryset=None, required=False)

    def __init__(self, *args, applications, lawyers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["application"].queryset = applications
        self.fields["lawyer"].queryset = lawyers
