"""Forms of the demonstration-site, camera and "1+4" prevention pages. They read what was typed;
the rules (who may, where, which level) are the commands' in ``safety_cells.services``, whose
field errors are shown on these forms."""

from __future__ import annotations

from django import forms
from django.contrib.gis.geos import Point
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from anshun import forms as strict
from anshun.forms import RegionCodeField
from safety_cells.models import Camera, PreventionUnit


class DesignateForm(forms.Form):
    designated_on = strict.DateField(label=_("Designated on"))
    valid_until = strict.DateField(label=_("Valid until"), required=False)


class CameraForm(forms.Form):
    """A camera point: the map picker fills latitude and longitude (they can be typed too)."""

    code = strict.DigitsTextField(label=_("Camera code"), max_length=32)
    name = strict.TextField(label=_("Camera name"), max_length=120, required=False)
    phase = forms.TypedChoiceField(
        label=_("Skynet phase"), choices=[(n, str(n)) for n in range(1, 5)], coerce=int
    )
    status = forms.ChoiceField(label=pgettext_lazy("camera", "Status"), choices=Camera.Status.choices)
    owner = strict.TextField(label=_("Owner"), max_length=120)
    latitude = strict.FloatField(
        label=_("Latitude"),
        min_value=-90,
        max_value=90,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
        error_messages={"required": _("Tap the map where the camera stands.")},
    )
    longitude = strict.FloatField(
        label=_("Longitude"),
        min_value=-180,
        max_value=180,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
        error_messages={"required": _("Tap the map where the camera stands.")},
    )

    def location(self) -> Point:
        return Point(self.cleaned_data["longitude"], self.cleaned_data["latitude"], srid=4326)

    def command_arguments(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k not in ("latitude", "longitude")}
        return {**data, "location": self.location()}


class UnitForm(forms.Form):
    name = strict.TextField(label=_("Unit name"), max_length=120)
    level = forms.ChoiceField(label=_("Working level"), choices=PreventionUnit.Level.choices)
    kind = forms.ChoiceField(label=_("Kind of unit"), choices=PreventionUnit.Kind.choices)
    region = RegionCodeField(
        label=_("Region (code)"),
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "list": "region-codes"}),
    )


class MemberForm(forms.Form):
    name = strict.TextField(label=_("Member name"), max_length=60)
    phone = strict.DigitsTextField(
        label=_("Phone"), max_length=20, required=False, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    duty = strict.TextField(label=_("Duty"), max_length=60, required=False)
