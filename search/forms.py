"""The search's input, one set of rules for the page and the API."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from anshun import forms as strict
from search import text
from search.models import Kind
from search.selectors import MAX_PAGE_SIZE, MAX_PAGES, PAGE_SIZE


class SearchForm(forms.Form):
    q = strict.TextField(
        label=_("Search"),
        required=False,
        max_length=text.MAX_QUERY_LENGTH,
        strip=True,
        error_messages={
            "max_length": _(
                "Type at most %(limit_value)d characters: a few words find more than a paragraph."
            )
        },
    )
    kind = forms.ChoiceField(
        label=_("Look in"), required=False, choices=[("", _("Everything")), *Kind.choices]
    )
    page = strict.IntegerField(
        label=_("Page"),
        required=False,
        min_value=1,
        max_value=MAX_PAGES,
        error_messages={
            "max_value": _("Only the first %(limit_value)s pages are shown: add a word to narrow the search.")
        },
    )
    page_size = strict.IntegerField(label=_("Results per page"), required=False, min_value=1)

    def clean_page(self) -> int:
        return self.cleaned_data.get("page") or 1

    def clean_page_size(self) -> int:
        # A larger size is served at the largest, as the other lists do.
        return min(self.cleaned_data.get("page_size") or PAGE_SIZE, MAX_PAGE_SIZE)

    def query(self) -> text.Query:
        return text.parse(self.cleaned_data.get("q") or "")
