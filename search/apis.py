"""The search API: ``GET /api/search/<kind>/?q=…`` for incidents, mediation cases and safe cells.

One endpoint per kind, each a scoped viewset over its app's selector with that kind's read
capability, so the access matrix probes them as it does every list. Input follows the page's
form (``search.forms.SearchForm``): a bad query is a 400 with field errors, an empty one an empty
list. Pages are numbered up to ``MAX_PAGES``; no count is given."""

from __future__ import annotations

from typing import ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from anshun.api.base import ScopedViewSetMixin
from anshun.api.pagination import StrictPageParameters
from search import selectors, services, text
from search.forms import SearchForm
from search.models import Kind


class HitSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    id = serializers.IntegerField()
    title = serializers.CharField(source="title_text")
    snippet = serializers.CharField(source="snippet_text")
    highlights = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField(), min_length=2, max_length=2),
        help_text="[start, end) of each matched word in snippet.",
    )
    url = serializers.CharField(help_text="The record's page.")
    at = serializers.DateTimeField(allow_null=True, help_text="Reported or opened at (none for safe cells).")
    rank = serializers.FloatField(help_text="ts_rank of the match; results are ordered by it, then newest.")


@extend_schema_serializer(many=False)  # the list action answers one page object, not an array
class SearchResultPageSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = HitSerializer(many=True)


PARAMETERS = [
    OpenApiParameter(
        "q",
        OpenApiTypes.STR,
        description=(
            f"Words to find, Chinese or not (at most {text.MAX_QUERY_LENGTH} characters); cut into words "
            "with jieba as the records were, each word must match. Empty: no results."
        ),
    ),
    OpenApiParameter(
        "page",
        {"type": "integer", "minimum": 1, "maximum": selectors.MAX_PAGES},
        description=f"1 to {selectors.MAX_PAGES}.",
    ),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": 999_999_999},
        description=f"Default {selectors.PAGE_SIZE}, at most {selectors.MAX_PAGE_SIZE}.",
    ),
]


class _PageParameters(StrictPageParameters):
    page_query_param, page_size_query_param = "page", "page_size"


class _SearchViewSet(ScopedViewSetMixin, viewsets.GenericViewSet):
    kind: ClassVar[str]
    serializer_class = HitSerializer
    pagination_class = None
    filter_backends: ClassVar[list] = []
    _query: text.Query | None = None

    def selector_arguments(self) -> dict:
        return {"query": self._query}

    @extend_schema(parameters=PARAMETERS, responses=SearchResultPageSerializer)
    def list(self, request, *args, **kwargs):
        _PageParameters()._check_numbers(request)  # given once, as whole numbers from 1, as every list
        form = SearchForm({key: request.query_params.get(key) for key in ("q", "page", "page_size")})
        if not form.is_valid():
            raise ValidationError({field: [str(e) for e in errors] for field, errors in form.errors.items()})
        self._query = form.query()
        if self._query:
            services.index_pending()  # a search sees what was written before it
        page, size = form.cleaned_data["page"], form.cleaned_data["page_size"]
        result = selectors.result_page(
            queryset=self.get_queryset(), kind=self.kind, query=self._query, page=page, size=size
        )
        url = request.build_absolute_uri()
        following = result.has_more and page < selectors.MAX_PAGES
        previous = None
        if page > 1:
            previous = (
                replace_query_param(url, "page", page - 1) if page > 2 else remove_query_param(url, "page")
            )
        return Response(
            {
                "page": page,
                "next": replace_query_param(url, "page", page + 1) if following else None,
                "previous": previous,
                "results": HitSerializer(result.hits, many=True).data,
            }
        )


class IncidentSearchViewSet(_SearchViewSet):
    """Incidents whose category, description or address match, in the caller's sight."""

    kind = Kind.INCIDENT
    selector = staticmethod(selectors.incident_matches)
    read_capability = selectors.CAPABILITY[Kind.INCIDENT]


class CaseSearchViewSet(_SearchViewSet):
    """Mediation cases whose dispute type, summary, outcome note or parties' names match."""

    kind = Kind.CASE
    selector = staticmethod(selectors.case_matches)
    read_capability = selectors.CAPABILITY[Kind.CASE]


class CellSearchViewSet(_SearchViewSet):
    """Safe cells whose name, type or address match."""

    kind = Kind.CELL
    selector = staticmethod(selectors.cell_matches)
    read_capability = selectors.CAPABILITY[Kind.CELL]


def register(router) -> None:
    router.register("search/incidents", IncidentSearchViewSet, basename="search-incident")
    router.register("search/mediation-cases", CaseSearchViewSet, basename="search-case")
    router.register("search/safety-cells", CellSearchViewSet, basename="search-cell")
