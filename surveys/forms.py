"""The survey-response upload form: which wave, and the CSV or XLSX file. Everything in the file
is checked by the intake command (``surveys.services.intake``), the one the API calls."""

from django import forms
from django.utils.translation import gettext_lazy as _

from surveys.models import Wave


class WaveChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} ({obj.starts_on:%Y-%m-%d} – {obj.ends_on:%Y-%m-%d})"


class ResponsesUploadForm(forms.Form):
    wave = WaveChoiceField(label=_("Survey wave"), queryset=Wave.objects.order_by("-starts_on", "code"))
    file = forms.FileField(
        label=_("File (CSV in UTF-8, or XLSX)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )
