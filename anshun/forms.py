"""Form fields shared by the pages that call commands: input a phone or a pasted spreadsheet cell
can carry, refused with a clear field error before any command runs.

- text with a NUL byte, a lone surrogate or the replacement character (what an undecodable byte
  in the request becomes) is refused: it cannot be stored or would be stored garbled;
- numbers and dates typed with full-width digits (a Chinese input method's ``２０２６``) are refused
  with a message saying to use ordinary digits: Python would read them as numbers, but an ID
  number or a code would then be hashed or compared as a different string from the same number
  typed in half-width;
- impossible dates (30 February) get the field's own "Enter a valid date."
"""

from __future__ import annotations

import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

FULL_WIDTH_MESSAGE = _("Type the digits as ordinary (half-width) digits 0-9.")
NOT_FOUND_MESSAGE = _("Not found in your jurisdiction.")
UNSTORABLE_MESSAGE = _("This text contains characters that cannot be stored; retype it.")


def reject_unstorable(value: str) -> None:
    if not isinstance(value, str):
        return
    if "\x00" in value or "\ufffd" in value or any(unicodedata.category(ch) == "Cs" for ch in value):
        raise ValidationError(UNSTORABLE_MESSAGE, code="unstorable")


def reject_full_width_digits(value) -> None:
    if isinstance(value, str) and any(ch.isdigit() and not ch.isascii() for ch in value):
        raise ValidationError(FULL_WIDTH_MESSAGE, code="full_width")


class TextField(forms.CharField):
    """A text field that refuses what cannot be stored (see the module docstring)."""

    def to_python(self, value):
        if isinstance(value, str):
            reject_unstorable(value)
        return super().to_python(value)


class DigitsTextField(TextField):
    """A code or number kept as text (ID numbers, camera codes): half-width digits only."""

    def to_python(self, value):
        reject_full_width_digits(value)
        return super().to_python(value)


class _AsciiDigits:
    def to_python(self, value):
        reject_unstorable(value)
        reject_full_width_digits(value)
        return super().to_python(value)


class IntegerField(_AsciiDigits, forms.IntegerField):
    pass


class DecimalField(_AsciiDigits, forms.DecimalField):
    pass


class FloatField(_AsciiDigits, forms.FloatField):
    pass


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None, format="%Y-%m-%d"):  # noqa: A002 - Django's own argument name
        super().__init__(attrs=attrs, format=format)


class DateField(_AsciiDigits, forms.DateField):
    widget = DateInput


class RegionCodeField(DigitsTextField):
    """A place by its code, for a command that checks the place is in the actor's jurisdiction.
    An unknown code gets the answer the command gives for a code out of sight ("Not found in
    your jurisdiction."), so the form never tells the two apart."""

    def clean(self, value):
        from grids.models import Region

        code = super().clean(value)
        if not code:
            return None
        region = Region.objects.defer("boundary").filter(code=code.strip()).first()
        if region is None:
            raise ValidationError(NOT_FOUND_MESSAGE, code="not_found")
        return region

    def prepare_value(self, value):
        return getattr(value, "code", value)


def add_service_errors(form: forms.Form, exc: ValidationError, fields: dict[str, str] | None = None):
    """Put a command's field errors on the form: on the matching field, else above the form."""
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return form
    for field, errors in exc.message_dict.items():
        field = (fields or {}).get(field, field)
        for error in errors:
            form.add_error(field if field in form.fields else None, error)
    return form
