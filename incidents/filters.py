"""One filter set for the incident list: the API, the pages and their exports use the same."""

from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from grids.models import Region
from incidents.models import Duty, Incident, IncidentCategory


class IncidentFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(label=_("status"), choices=Incident.Status.choices)
    category = filters.ModelChoiceFilter(
        label=_("category"),
        queryset=IncidentCategory.objects.order_by("duty", "code"),
        to_field_name="code",
    )
    duty = filters.ChoiceFilter(label=_("duty"), field_name="category__duty", choices=Duty.choices)
    priority = filters.MultipleChoiceFilter(label=_("priority"), choices=Incident.Priority.choices)
    reported_from = filters.DateFilter(
        label=_("reported from"), field_name="reported_at", lookup_expr="date__gte"
    )
    reported_to = filters.DateFilter(
        label=_("reported to"), field_name="reported_at", lookup_expr="date__lte"
    )
    within = filters.CharFilter(label=_("jurisdiction (region code)"), method="filter_within")
    overdue = filters.BooleanFilter(label=_("overdue"), method="filter_overdue")

    class Meta:
        model = Incident
        fields = ["status", "category", "duty", "priority", "reported_from", "reported_to", "within"]

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
