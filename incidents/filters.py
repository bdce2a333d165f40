"""One filter set for the incident list: the API, the pages and their exports use the same."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from django_filters.widgets import BooleanWidget
from drf_spectacular.utils import extend_schema_field

from grids.models import Region
from incidents.models import Duty, Incident, IncidentCategory

TRUE_WORDS = frozenset({"true", "1"})
FALSE_WORDS = frozenset({"false", "0"})


class StrictBooleanWidget(BooleanWidget):
    """``true``/``1`` and ``false``/``0``; anything else reaches the field as written, so it is
    refused there rather than read as "no filter" (django-filter's default)."""

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        if isinstance(value, str) and value.lower() in TRUE_WORDS | FALSE_WORDS:
            return value.lower() in TRUE_WORDS
        return value


class StrictBooleanField(forms.NullBooleanField):
    default_error_messages = {"invalid": _("Give true or false.")}

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")

    def validate(self, value):
        return None


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", StrictBooleanWidget)
        super().__init__(*args, **kwargs)


@extend_schema_field(
    {"type": "string", "description": "Category code, e.g. `exposed-rubbish` (an incident's `category`)."}
)
class CategoryCodeFilter(filters.ModelChoiceFilter):
    """A category chosen by its code, as every other door names one; the schema says so
    (django-filter's model choice would otherwise be documented as the integer id)."""


LOCAL = ZoneInfo("Asia/Shanghai")


def local_midnight(day: date) -> datetime:
    """The first moment of ``day`` in Anshun, so a date range becomes a timestamp range the
    reported_at index can serve (``reported_at::date`` could not use it)."""
    return datetime.combine(day, time.min, LOCAL)


class InFilter(filters.MultipleChoiceFilter):
    """Several values as one ``IN (...)`` on the column: django-filter's default ORs them and adds
    ``SELECT DISTINCT`` over whole rows, which a plain column never needs."""

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": value})


class IncidentFilter(filters.FilterSet):
    status = InFilter(label=_("status"), choices=Incident.Status.choices)
    category = CategoryCodeFilter(
        label=_("category"),
        queryset=IncidentCategory.objects.order_by("duty", "code"),
        to_field_name="code",
    )
    duty = filters.ChoiceFilter(label=_("duty"), field_name="category__duty", choices=Duty.choices)
    priority = InFilter(label=_("priority"), choices=Incident.Priority.choices)
    reported_from = filters.DateFilter(label=_("reported from"), method="filter_reported_from")
    reported_to = filters.DateFilter(label=_("reported to"), method="filter_reported_to")
    within = filters.CharFilter(label=_("jurisdiction (region code)"), method="filter_within")
    overdue = StrictBooleanFilter(label=_("overdue"), method="filter_overdue")

    class Meta:
        model = Incident
        fields = ["status", "category", "duty", "priority", "reported_from", "reported_to", "within"]

    def filter_reported_from(self, queryset, name, value):
        return queryset.filter(reported_at__gte=local_midnight(value))

    def filter_reported_to(self, queryset, name, value):
        # Through the whole local day: before the next day's midnight in Anshun.
        return queryset.filter(reported_at__lt=local_midnight(value + timedelta(days=1)))

    def filter_within(self, queryset, name, value):
        path = Region.objects.filter(code=value).values_list("path", flat=True).first()
        if path is None:
            return queryset.none()
        return queryset.filter(grid__village__path__startswith=path)

    def filter_overdue(self, queryset, name, value):
        from django.utils import timezone

        from incidents.selectors import RUNNING_STATUSES

        overdue = Q(status__in=RUNNING_STATUSES, due_at__lt=timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)
