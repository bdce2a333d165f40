"""Forms of the six projects' pages. They only read and tidy what was typed; every rule (who may,
where, duplicates, dates) is the command's, and its field errors are shown on these forms."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from anshun import forms as strict
from anshun.forms import RegionCodeField
from special_groups.crypto import ID_NUMBER_MAX_TYPED
from special_groups.models import CheckIn, Enrollment, ServiceFacility
from special_groups.projects import project as project_entry


class FacilityChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.name


class EnrollForm(forms.Form):
    name = strict.TextField(label=pgettext_lazy("person", "Name"), max_length=50)
    # Full-width digits, spaces and a lower-case x are normalised by the command (the same
    # for the API), so the field only bounds the length; the command checks the number.
    id_number = strict.TextField(
        label=_("ID number"),
        max_length=ID_NUMBER_MAX_TYPED,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    region = RegionCodeField(
        label=_("Place of residence (code)"),
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "list": "region-codes"}),
    )
    phone = strict.DigitsTextField(
        label=_("Phone"), max_length=20, required=False, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    address = strict.TextField(label=_("Address"), max_length=200, required=False)
    enrolled_on = strict.DateField(label=_("Enrolled on"), required=False)
    release_date = strict.DateField(label=_("Release date"), required=False)
    risk_grade = strict.IntegerField(label=_("Risk grade"), min_value=0, max_value=5, required=False)
    placement = forms.ChoiceField(
        label=_("Placement"), choices=[("", "—"), *Enrollment.Placement.choices], required=False
    )
    release_kind = forms.ChoiceField(
        label=_("Released from"),
        choices=Enrollment.ReleaseKind.choices,
        initial=Enrollment.ReleaseKind.PRISON,
        required=False,
    )
    correction_kind = forms.ChoiceField(
        label=_("Correction type"), choices=[("", "—"), *Enrollment.CorrectionKind.choices], required=False
    )
    term_start = strict.DateField(label=_("Correction term starts"), required=False)
    term_end = strict.DateField(label=_("Correction term ends"), required=False)
    facility = FacilityChoiceField(
        label=_("Facility"), queryset=ServiceFacility.objects.none(), required=False
    )
    link_registry = forms.BooleanField(
        label=_("Link to the basic registry's resident with this ID number (in your jurisdiction)"),
        required=False,
    )

    # The project-specific facts: each project's entry (special_groups.projects) says which of
    # them its officers record and which are required; the rest are left out of the form.
    FACT_FIELDS = (
        "release_kind",
        "release_date",
        "risk_grade",
        "placement",
        "correction_kind",
        "term_start",
        "term_end",
    )

    def __init__(self, *args, project: str, facilities, **kwargs):
        super().__init__(*args, **kwargs)
        entry = project_entry(project)
        declared = {f.name: f for f in entry.facts} if entry else {}
        for name in self.FACT_FIELDS:
            if name not in declared:
                del self.fields[name]
            elif declared[name].required:
                self.fields[name].required = True
        self.fields["facility"].queryset = facilities
        if not facilities.exists():
            del self.fields["facility"]

    def command_arguments(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("link_registry", None)  # the page resolves it to ``registry_person``
        if not data.get("enrolled_on"):
            data.pop("enrolled_on", None)
        return data


class GuardianForm(forms.Form):
    name = strict.TextField(label=pgettext_lazy("person", "Name"), max_length=50)
    # Full-width digits, spaces and a lower-case x are normalised by the command (the same
    # for the API), so the field only bounds the length; the command checks the number.
    id_number = strict.TextField(
        label=_("ID number"),
        max_length=ID_NUMBER_MAX_TYPED,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    relation = strict.TextField(label=_("Relation"), max_length=20)
    phone = strict.DigitsTextField(
        label=_("Phone"), max_length=20, required=False, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )


class CloseForm(forms.Form):
    on = strict.DateField(label=_("Closed on"))
    confirm = forms.BooleanField(
        label=_("I confirm this case is closed: nothing more can be recorded on it."),
        error_messages={"required": _("Tick the box to confirm.")},
    )


class SubsidyForm(forms.Form):
    amount = strict.DecimalField(
        label=_("Amount (¥)"),
        min_value=Decimal("0.01"),
        max_digits=10,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )
    paid_on = strict.DateField(label=_("Paid on"))
    confirm = forms.BooleanField(
        label=_("I confirm the amount was paid to the guardian."),
        error_messages={"required": _("Tick the box to confirm.")},
    )


class CheckInForm(forms.Form):
    """A 社区矫正 check-in (报到): the date, the way and the outcome."""

    checked_in_on = strict.DateField(label=_("Check-in date"))
    way = forms.ChoiceField(label=pgettext_lazy("check-in", "Way"), choices=CheckIn.Way.choices)
    outcome = forms.ChoiceField(label=pgettext_lazy("check-in", "Outcome"), choices=CheckIn.Outcome.choices)
    note = strict.TextField(label=pgettext_lazy("check-in", "Note"), max_length=500, required=False)
