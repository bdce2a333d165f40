"""Reads of the search: each kind is its own app's scoped selector joined to its documents.

The rows a search can return are exactly the rows the app's selector gives the actor
(``incidents_visible_to``, ``cases_visible_to``, ``safety_cells_visible_to``), narrowed by
the match; a kind the actor's role may not read (its list's capability) returns nothing
without a query. Nothing is counted: a page says whether there is more, by reading one row
beyond it, so no answer carries a number of matches out of the actor's sight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import BooleanField, F, FloatField, Func, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils.translation import gettext as _

from search import text
from search.models import Kind

# The capability each kind's own list requires (its API viewset's read_capability).
CAPABILITY = {Kind.INCIDENT: "incident.view", Kind.CASE: "mediation.view", Kind.CELL: "safety.view"}
PAGE_SIZE = 20
MAX_PAGE_SIZE = 50
# Pages are numbered up to here (at most 200 rows deep): a longer search is refined, not paged.
MAX_PAGES = 10


class Matches(Func):
    """``vector @@ query``."""

    template = "%(expressions)s"
    arg_joiner = " @@ "
    output_field = BooleanField()
    conditional = True


class Rank(Func):
    function = "ts_rank"
    output_field = FloatField()


def _tsquery(query: text.Query) -> RawSQL:
    # A literal built by ``search.text`` from letters and digits only, passed as a parameter.
    return RawSQL("%s::tsquery", (query.tsquery,))


def _matching(queryset: QuerySet, query: text.Query, *order: str) -> QuerySet:
    if not query:
        return queryset.none()
    vector = F("search_document__vector")
    return (
        queryset.filter(Matches(vector, _tsquery(query)))
        .annotate(search_rank=Rank(vector, _tsquery(query)))
        .order_by("-search_rank", *order)
    )


def can_search(actor, kind: str) -> bool:
    return bool(getattr(actor, "is_authenticated", False)) and actor.can(CAPABILITY[kind])


def searchable_kinds(actor) -> list[str]:
    return [kind for kind in Kind if can_search(actor, kind)]


def incident_matches(*, actor, query: text.Query | None = None) -> QuerySet:
    from incidents.selectors import incidents_visible_to

    # The list's own scope (grid offices through their link rows, departments through their
    # dispatches, regions by place), without the relations a search result does not show.
    # A result shows the category, the text and the time: only those are read.
    incidents = (
        incidents_visible_to(actor=actor)
        .prefetch_related(None)
        .select_related(None)
        .select_related("category")
        .only("id", "description", "address", "reported_at", "category__code", "category__name")
    )
    if not can_search(actor, Kind.INCIDENT):
        return incidents.none()
    return _matching(incidents, query or text.parse(""), "-reported_at", "-id")


def case_matches(*, actor, query: text.Query | None = None) -> QuerySet:
    from mediation.selectors import cases_visible_to

    cases = cases_visible_to(actor=actor)
    if not can_search(actor, Kind.CASE):
        return cases.none()
    return _matching(cases, query or text.parse(""), "-created_at", "-id").prefetch_related("parties")


def cell_matches(*, actor, query: text.Query | None = None) -> QuerySet:
    from safety_cells.selectors import safety_cells_visible_to

    cells = safety_cells_visible_to(actor=actor)
    if not can_search(actor, Kind.CELL):
        return cells.none()
    return _matching(cells, query or text.parse(""), "-id")


SELECTORS = {Kind.INCIDENT: incident_matches, Kind.CASE: case_matches, Kind.CELL: cell_matches}


@dataclass(frozen=True)
class Hit:
    """One result as pages and the API show it: its words marked where they match."""

    kind: str
    id: int
    title: list[tuple[str, bool]]
    snippet: list[tuple[str, bool]]
    url: str
    at: datetime | None
    rank: float

    @property
    def title_text(self) -> str:
        return "".join(part for part, _matched in self.title)

    @property
    def snippet_text(self) -> str:
        return "".join(part for part, _matched in self.snippet)

    @property
    def highlights(self) -> list[list[int]]:
        """``[start, end)`` of each matched word in ``snippet_text``."""
        spans, at = [], 0
        for part, matched in self.snippet:
            if matched:
                spans.append([at, at + len(part)])
            at += len(part)
        return spans


def _first_matching(candidates: list[str], terms) -> str:
    for candidate in candidates:
        if candidate and text.contains_any(candidate, terms):
            return candidate
    return next((c for c in candidates if c), "")


def hit(kind: str, row, query: text.Query) -> Hit:
    terms = query.terms
    if kind == Kind.INCIDENT:
        title = f"#{row.pk} {row.category.label}"
        body = _first_matching([row.description, row.address], terms)
        url, at = reverse("incidents:detail", args=[row.pk]), row.reported_at
    elif kind == Kind.CASE:
        title = f"{row} · {row.dispute_type}"
        names = "、".join(party.name for party in row.parties.all())
        parties = _("Parties: %(names)s") % {"names": names} if names else ""
        body = _first_matching([row.summary, parties, row.outcome_note], terms)
        url, at = reverse("mediation:case", args=[row.pk]), row.created_at
    else:
        title = row.name
        body = " · ".join(part for part in (row.cell_type.name, row.region.name, row.address) if part)
        url, at = reverse("safety_cells:cell", args=[row.pk]), None
    return Hit(
        kind=str(kind),
        id=row.pk,
        title=text.snippet(title, terms, length=200),
        snippet=text.snippet(body, terms),
        url=url,
        at=at,
        rank=float(getattr(row, "search_rank", 0.0) or 0.0),
    )


@dataclass(frozen=True)
class ResultPage:
    kind: str
    hits: list[Hit]
    page: int
    has_more: bool


def result_page(
    *, queryset: QuerySet, kind: str, query: text.Query, page: int = 1, size: int = PAGE_SIZE
) -> ResultPage:
    """One page of one kind's matches (``queryset``: that kind's selector for the actor), best
    first; ``page`` within 1..MAX_PAGES (the caller's form checks it). One row beyond the page
    says whether there is more, so nothing is counted."""
    start = (page - 1) * size
    rows = list(queryset[start : start + size + 1])
    return ResultPage(
        kind=str(kind),
        hits=[hit(kind, row, query) for row in rows[:size]],
        page=page,
        has_more=len(rows) > size,
    )
