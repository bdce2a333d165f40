"""The API's list filters refuse what their schema refuses.

django-filter treats an empty value as "no filter" and keeps the last of repeated values. The
schema documents choice, number, date and boolean filters as typed single values, so an empty
or repeated one is a 400 here instead of a silently unfiltered list; text filters and
multiple-choice filters keep their meaning.
"""

from django.utils.translation import gettext as _
from django_filters import filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError


class StrictFilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            errors = {}
            for name, declared in filterset_class.base_filters.items():
                values = request.query_params.getlist(name)
                multiple = isinstance(declared, filters.MultipleChoiceFilter)
                if isinstance(declared, filters.CharFilter) or not values:
                    continue
                if "" in values or (len(values) > 1 and not multiple):
                    errors[name] = [_("Give one value, or leave the filter out.")]
            if errors:
                raise ValidationError(errors)
        return super().filter_queryset(request, queryset, view)
