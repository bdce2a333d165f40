"""Pagination for the API and the list pages.

Shallow pages may be numbered (``page``); deep pages are walked by **keyset**: a ``cursor`` names
the last row seen by its ordering key (e.g. ``reported_at`` and ``id``), and the next page is
"the rows after it in that order", which an index on the key serves directly. Page 1,009 costs
what page 1 costs: no ``OFFSET`` and no ``COUNT(*)`` of the whole scope.

A cursor is signed (``django.core.signing``) for the user and the ordering it was made for: a
cursor from another user, another list or made by hand is refused (400), and as it only ever
narrows the caller's own scoped queryset it could never reveal a row outside it.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import InvalidPage
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework_gis.pagination import GeoJsonPagination

# Numbered pages reach this many rows at most; past it, follow ``next`` (a cursor).
MAX_NUMBERED_ROWS = 10_000
# Counts stop here: a list page says "more than 10,000" instead of counting five years of rows.
COUNT_CAP = 10_000
CURSOR_MAX_LENGTH = 1000


class BadCursor(ValueError):
    """A cursor this site did not give to this user for this list."""


@dataclass(frozen=True)
class Segment:
    """A part of an ordering: the rows matching ``condition``, in the keyset order. A plain list
    is one segment; the dispatcher's queue is three (not yet taken, overdue, the rest), each
    served by the same index, so its urgency order never sorts the whole queue."""

    condition: Q = field(default_factory=Q)


@dataclass(frozen=True)
class KeysetPage:
    rows: list
    next_cursor: str | None
    previous_cursor: str | None


class Keyset:
    """The keyset of a queryset's ordering: plain, non-null columns of the model ending with
    its primary key (``("-reported_at", "-id")``), so that "after this row" is a comparison
    of column values and every row has exactly one place."""

    def __init__(self, queryset: QuerySet, *, ordering: Sequence[str] | None = None, purpose: str = ""):
        self.model = queryset.model
        meta = self.model._meta
        # Columns the queryset sorts and compares on aliases equal to them (ScopedQuerySet.keyset_on).
        self.via: dict[str, str] = dict(getattr(queryset, "keyset_via", None) or {})
        columns_of = {alias: column for column, alias in self.via.items()}
        names = [
            _unaliased(name, columns_of) for name in (ordering or queryset.query.order_by or meta.ordering)
        ]
        if not names:
            raise ImproperlyConfigured(f"{self.model.__name__}: a keyset needs an ordering.")
        self.columns: list[tuple[Any, bool]] = []
        for name in names:
            if not isinstance(name, str):
                raise ImproperlyConfigured(f"{self.model.__name__}: keyset orderings name columns.")
            descending = name.startswith("-")
            bare = name.lstrip("-")
            model_field = meta.pk if bare == "pk" else meta.get_field(bare)
            if not model_field.concrete or model_field.is_relation or model_field.null:
                raise ImproperlyConfigured(
                    f"{self.model.__name__}.{bare}: keyset columns are plain, not null."
                )
            self.columns.append((model_field, descending))
        if self.columns[-1][0] is not meta.pk:
            raise ImproperlyConfigured(f"{self.model.__name__}: a keyset ordering ends with the primary key.")
        self.ordering = [("-" if d else "") + f.attname for f, d in self.columns]
        self.purpose = f"{meta.label_lower}:{','.join(self.ordering)}:{purpose}"

    # --- cursors -------------------------------------------------------------------------
    def _salt(self, user) -> str:
        return f"anshun.keyset:{getattr(user, 'pk', None) or 0}:{self.purpose}"

    def encode(self, *, user, segment: int, values: Sequence, backwards: bool) -> str:
        plain = [v.isoformat() if isinstance(v, datetime.date) else v for v in values]
        return signing.dumps([segment, int(backwards), plain], salt=self._salt(user), compress=False)

    def decode(self, cursor: str, *, user, segments: int) -> tuple[int, list, bool]:
        if not isinstance(cursor, str) or not 0 < len(cursor) <= CURSOR_MAX_LENGTH or "\x00" in cursor:
            raise BadCursor
        try:
            segment, backwards, plain = signing.loads(cursor, salt=self._salt(user))
            if not (isinstance(segment, int) and 0 <= segment < segments and backwards in (0, 1)):
                raise BadCursor
            if not isinstance(plain, list) or len(plain) != len(self.columns):
                raise BadCursor
            values = [f.to_python(v) for (f, _d), v in zip(self.columns, plain, strict=True)]
        except (signing.BadSignature, DjangoValidationError, TypeError, ValueError) as exc:
            raise BadCursor from exc
        if any(v is None for v in values):
            raise BadCursor
        return segment, values, bool(backwards)

    def values_of(self, row) -> list:
        return [getattr(row, f.attname) for f, _d in self.columns]

    # --- queries -------------------------------------------------------------------------
    def beyond(self, values: Sequence, *, backwards: bool) -> Q:
        """Rows strictly after ``values`` in the ordering (before, when ``backwards``).

        Written as ``c1 <= v1 AND (c1 < v1 OR (c1 = v1 AND c2 < v2) ...)`` (directions
        permitting): the leading bound is what lets PostgreSQL start the index scan at the
        cursor instead of filtering its way there."""
        later = Q()
        for position in range(len(self.columns) - 1, -1, -1):
            model_field, descending = self.columns[position]
            step = "lt" if descending != backwards else "gt"
            column = self.via.get(model_field.attname, model_field.attname)
            here = Q(**{f"{column}__{step}": values[position]})
            if position < len(self.columns) - 1:
                here |= Q(**{column: values[position]}) & later
            later = here
        first, descending = self.columns[0]
        bound = "lte" if descending != backwards else "gte"
        column = self.via.get(first.attname, first.attname)
        return Q(**{f"{column}__{bound}": values[0]}) & later

    def order(self, *, backwards: bool) -> list[str]:
        if not backwards:
            return self.ordering
        return [name[1:] if name.startswith("-") else f"-{name}" for name in self.ordering]

    def page(
        self,
        queryset: QuerySet,
        *,
        user,
        size: int,
        cursor: str | None = None,
        segments: Sequence[Segment] = (Segment(),),
        rows_of=None,
    ) -> KeysetPage:
        """One page of ``queryset`` by keyset, walking ``segments`` in turn.

        One segment: one query for the page (and the queryset's prefetches). Several: the page
        is found as ids (one small query per segment it reaches, each served by an index on the
        key), then ``rows_of(ids)`` loads the rows with their relations in one go (default:
        ``queryset.filter(pk__in=ids)``). Either way a fixed number of queries, whatever the
        depth or the size of the data."""
        if cursor is None:
            start, values, backwards = 0, None, False
        else:
            start, values, backwards = self.decode(cursor, user=user, segments=len(segments))
        order = self.order(backwards=backwards)
        keys = [f.attname for f, _d in self.columns]
        found: list[tuple[int, tuple]] = []  # (segment, key values), in walking order
        whole: dict = {}  # rows already loaded (one segment: the page query loads them)
        walk = range(start, -1, -1) if backwards else range(start, len(segments))
        for index in walk:
            part = queryset.filter(segments[index].condition).order_by(*order)
            if values is not None and index == start:
                part = part.filter(self.beyond(values, backwards=backwards))
            wanted = size + 1 - len(found)
            if len(segments) == 1:
                for row in part[:wanted]:
                    whole[row.pk] = row
                    found.append((index, tuple(self.values_of(row))))
            else:
                ids = part.prefetch_related(None).values_list(*keys)[:wanted]
                found.extend((index, tuple(row)) for row in ids)
            if len(found) > size:
                break
        more = len(found) > size
        found = found[:size]
        if backwards:
            found.reverse()
        pks = [key[-1] for _segment, key in found]
        if len(segments) > 1 and pks:
            whole = {row.pk: row for row in (rows_of(pks) if rows_of else queryset.filter(pk__in=pks))}
        rows = [whole[pk] for pk in pks if pk in whole]
        next_cursor = previous_cursor = None
        if found:
            first, last = found[0], found[-1]
            if more or (backwards and cursor is not None):
                # Forwards: more follow. Backwards: the cursor's own row and those after it follow.
                next_cursor = self.encode(user=user, segment=last[0], values=last[1], backwards=False)
            if (not backwards and cursor is not None) or (backwards and more):
                previous_cursor = self.encode(user=user, segment=first[0], values=first[1], backwards=True)
        elif cursor is not None and not backwards:
            # Walked past the end: offer the way back from where the cursor pointed.
            previous_cursor = self.encode(user=user, segment=start, values=values, backwards=True)
        return KeysetPage(rows=rows, next_cursor=next_cursor, previous_cursor=previous_cursor)


def _unaliased(name: Any, columns_of: dict[str, str]) -> Any:
    """``-keyset_reported_at`` → ``-reported_at`` (the column a ``keyset_on`` alias equals)."""
    if not isinstance(name, str):
        return name
    bare = name.lstrip("-")
    return name.replace(bare, columns_of[bare], 1) if bare in columns_of else name


def capped_count(queryset: QuerySet, cap: int | None = None) -> tuple[int, bool]:
    """How many rows, counted no further than ``cap`` (``COUNT_CAP``): (count, exact). A bounded
    count costs the same at five years of data as at one month."""
    cap = COUNT_CAP if cap is None else cap
    n = queryset.order_by().values("pk")[: cap + 1].count()
    return (n, True) if n <= cap else (cap, False)


def _one_value(request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ValidationError({name: [_("Give it once.")]})
    return values[0] if values and values[0] != "" else None


class StrictPageParameters:
    """``page`` and ``page_size`` are whole numbers from 1, as documented; anything else is a
    400 instead of DRF's silent fall-back to the first page or the default size."""

    def paginate_queryset(self, queryset, request, view=None):
        self._check_numbers(request)
        return super().paginate_queryset(queryset, request, view)

    def _check_numbers(self, request):
        errors = {}
        for name in (self.page_query_param, self.page_size_query_param):
            values = request.query_params.getlist(name)
            if values and (
                len(values) > 1 or not re.fullmatch(r"[0-9]{1,9}", values[0]) or int(values[0]) < 1
            ):
                errors[name] = [_("Give one whole number from 1.")]
        if errors:
            raise ValidationError(errors)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["schema"].get("type") == "integer":
                parameter["schema"] = {**parameter["schema"], "minimum": 1, "maximum": 999_999_999}
        return parameters


class StandardPagination(StrictPageParameters, PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000


class KeysetPagination(StrictPageParameters, PageNumberPagination):
    """For the large lists (incidents, patrol logs, cameras, survey responses, mediation cases, audit
    entries): numbered pages for the first 10,000 rows, a ``cursor`` for walking deeper.

    - ``?page=N`` (as before) for N up to 10,000 rows in; ``count`` counts up to 10,000 and
      ``count_exact`` says whether it stopped there. Deeper numbers are a 400 that says to follow
      ``next``.
    - ``next``/``previous`` are cursor links (``?cursor=…``) from any page: following them walks
      the whole list, each row once, at the cost of page 1 however deep. A cursor page carries
      no count (``count`` null).
    """

    page_size_query_param = "page_size"
    max_page_size = 1000
    cursor_query_param = "cursor"

    def paginate_queryset(self, queryset, request, view=None):
        self._check_numbers(request)
        self.request = request
        size = self.get_page_size(request)
        cursor = _one_value(request, self.cursor_query_param)
        number = _one_value(request, self.page_query_param)
        if cursor is not None and number is not None:
            raise ValidationError({self.cursor_query_param: [_("Give a cursor or a page number, not both.")]})
        keyset = Keyset(queryset, purpose=request.path)
        self.count = self.count_exact = None
        if cursor is not None:
            try:
                page = keyset.page(queryset, user=request.user, size=size, cursor=cursor)
            except BadCursor:
                raise ValidationError(
                    {self.cursor_query_param: [_("Not a cursor this list gave you.")]}
                ) from None
            self.next_cursor, self.previous_cursor = page.next_cursor, page.previous_cursor
            self.previous_number = None
            return page.rows
        number = int(number or 1)
        if number > 1 and number * size > MAX_NUMBERED_ROWS:
            raise ValidationError(
                {
                    self.page_query_param: [
                        _("Numbered pages go %(n)d rows deep; follow `next` (a cursor) to read further.")
                        % {"n": MAX_NUMBERED_ROWS}
                    ]
                }
            )
        rows = list(queryset[(number - 1) * size : number * size + 1])
        more, rows = len(rows) > size, rows[:size]
        self.count, self.count_exact = capped_count(queryset)
        self.next_cursor = (
            keyset.encode(user=request.user, segment=0, values=keyset.values_of(rows[-1]), backwards=False)
            if more
            else None
        )
        self.previous_cursor = None
        self.previous_number = number - 1 if number > 1 else None
        return rows

    def _links(self) -> tuple[str | None, str | None]:
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        following = (
            replace_query_param(url, self.cursor_query_param, self.next_cursor) if self.next_cursor else None
        )
        url = remove_query_param(url, self.cursor_query_param)
        if self.previous_cursor:
            previous = replace_query_param(url, self.cursor_query_param, self.previous_cursor)
        elif self.previous_number == 1:
            previous = url
        elif self.previous_number:
            previous = replace_query_param(url, self.page_query_param, self.previous_number)
        else:
            previous = None
        return following, previous

    def get_paginated_response(self, data):
        following, previous = self._links()
        return Response(
            {
                "count": self.count,
                "count_exact": self.count_exact,
                "next": following,
                "previous": previous,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "count_exact", "next", "previous", "results"],
            "properties": {**_LIST_PAGE_PROPERTIES, "results": schema},
        }

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["description"] = (
                    f"A page number, for the first {MAX_NUMBERED_ROWS:,} rows; deeper, follow `next`."
                )
        return [*parameters, _CURSOR_PARAMETER]


_LINK = {"type": "string", "nullable": True, "format": "uri"}
_LIST_PAGE_PROPERTIES = {
    "count": {
        "type": "integer",
        "nullable": True,
        "description": (
            f"Rows matching, counted up to {COUNT_CAP:,} (see `count_exact`); null on cursor pages, "
            "which never count."
        ),
    },
    "count_exact": {
        "type": "boolean",
        "nullable": True,
        "description": f"False when there are more than {COUNT_CAP:,} rows and `count` stopped there.",
    },
    "next": {**_LINK, "description": "The next page, by cursor: follow it to walk the whole list."},
    "previous": _LINK,
}
_CURSOR_PARAMETER = {
    "name": "cursor",
    "required": False,
    "in": "query",
    "description": (
        "From `next` or `previous` of an earlier answer (for you, on this list): the page after "
        "(or before) its row, at the cost of the first page however deep."
    ),
    "schema": {"type": "string", "maxLength": CURSOR_MAX_LENGTH},
}


class GeoPagination(StrictPageParameters, GeoJsonPagination):
    """A page of GeoJSON features, documented as the FeatureCollection it really is.

    rest_framework_gis documents its page with the list component (itself a collection)
    under ``features`` and keeps ``results`` required; the page holds the features directly.

    ``page_of`` + ``get_prerendered_response`` serve a page whose features PostgreSQL writes as
    JSON text (see ``grids.map_layers.features_json``): the page is decided exactly as
    ``paginate_queryset`` decides it (same checks, count, links and errors), but left unread, so
    the features statement can select it as a subquery.
    """

    page_size = 200
    page_size_query_param = "page_size"
    max_page_size = 5000

    def page_of(self, queryset, request) -> QuerySet:
        """The page's rows as an unevaluated, sliced queryset (``paginate_queryset`` lists them)."""
        self._check_numbers(request)
        self.request = request
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        page_number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(page_number)
        except InvalidPage as exc:
            raise NotFound(
                self.invalid_page_message.format(page_number=page_number, message=str(exc))
            ) from None
        return self.page.object_list

    def get_prerendered_response(self, features: str) -> HttpResponse:
        """The page as ``get_paginated_response`` writes it, with ``features`` (a JSON array's
        text) put in as it is: never parsed, never encoded again."""
        head = json.dumps(
            {
                "type": "FeatureCollection",
                "count": self.page.paginator.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return HttpResponse(f'{head[:-1]},"features":{features}}}', content_type="application/json")

    def get_paginated_response_schema(self, schema):
        ref = schema.get("$ref", "")
        features = (
            {"type": "array", "items": {"$ref": ref.removesuffix("List")}} if ref.endswith("List") else schema
        )
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["type", "count", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "count": {"type": "integer"},
                "next": link,
                "previous": link,
                "features": features,
            },
        }


class KeysetGeoPagination(KeysetPagination):
    """``KeysetPagination`` for a GeoJSON list (patrol logs): the page is a FeatureCollection."""

    page_size = 200
    max_page_size = 5000

    def get_paginated_response(self, data):
        following, previous = self._links()
        return Response(
            {
                "type": "FeatureCollection",
                "count": self.count,
                "count_exact": self.count_exact,
                "next": following,
                "previous": previous,
                "features": data["features"],
            }
        )

    def get_prerendered_response(self, features: str) -> HttpResponse:
        """The page as ``get_paginated_response`` writes it, with ``features`` (a JSON array's
        text, in the page's order) put in as it is (see ``GeoPagination``)."""
        following, previous = self._links()
        head = json.dumps(
            {
                "type": "FeatureCollection",
                "count": self.count,
                "count_exact": self.count_exact,
                "next": following,
                "previous": previous,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return HttpResponse(f'{head[:-1]},"features":{features}}}', content_type="application/json")

    def get_paginated_response_schema(self, schema):
        ref = schema.get("$ref", "")
        features = (
            {"type": "array", "items": {"$ref": ref.removesuffix("List")}} if ref.endswith("List") else schema
        )
        return {
            "type": "object",
            "required": ["type", "count", "count_exact", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                **_LIST_PAGE_PROPERTIES,
                "features": features,
            },
        }
