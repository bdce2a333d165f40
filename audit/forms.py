"""The auditor's filters, one definition for the change list page and the REST endpoints."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from audit import selectors
from audit.changes import CHANGE_TYPES

# The date picker sends ISO dates and the API documents them; nothing else is guessed at.
ISO_DATE = ["%Y-%m-%d"]


class ChangeFilterForm(forms.Form):
    model = forms.ChoiceField(label=pgettext_lazy("audit trail", "Record"), required=False)
    object_id = forms.IntegerField(label=_("Object id"), required=False, min_value=1, max_value=2**63 - 1)
    user = forms.CharField(label=_("By (user name)"), required=False, max_length=150)
    change_type = forms.ChoiceField(
        label=pgettext_lazy("audit trail", "Change"),
        required=False,
        choices=[("", "—"), *CHANGE_TYPES.items()],
    )
    since = forms.DateField(
        label=_("From"),
        required=False,
        input_formats=ISO_DATE,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        label=_("To"), required=False, input_formats=ISO_DATE, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", "—")] + [
            (key, history.instance_type._meta.verbose_name)
            for key, history in selectors.audited_models().items()
        ]

    def change_filter(self) -> selectors.ChangeFilter:
        """For the page: invalid filters show nothing rather than everything (the form shows why)."""
        if not self.is_bound:
            return selectors.ChangeFilter()
        if not self.is_valid():
            return selectors.ChangeFilter(model="-")
        return self.valid_filter()

    def valid_filter(self) -> selectors.ChangeFilter:
        return selectors.ChangeFilter(**{k: v for k, v in self.cleaned_data.items() if v not in (None, "")})
