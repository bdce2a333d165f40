"""The one access-scoping mechanism: every page and API reads through it.

Each scoped model declares a ``ScopeRule`` saying how its rows reach the
jurisdiction tree (a lookup to a ``Region.path`` and, optionally, to a grid
office). ``ScopedQuerySet.visible_to(actor)`` turns the actor's jurisdiction
into a filter and marks the queryset as scoped for that actor. The base API
viewset and the base page views refuse any queryset that is not so marked,
so a view that forgets to scope fails loudly instead of leaking data.

Region paths are the chain of codes with a trailing slash
(``5204/520402/520402001/``), so "inside a region" is a prefix match that a
``varchar_pattern_ops`` index serves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from accounts.models import User

NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class Jurisdiction:
    """Where an actor may look: everywhere, below a region path, one grid office, or the work
    of one functional department (职能部门)."""

    unrestricted: bool = False
    region_path: str | None = None
    grid_office_id: int | None = None
    department_id: int | None = None

    @classmethod
    def of(cls, actor: Any) -> Jurisdiction:
        if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
            return cls()
        if actor.is_platform_admin:
            return cls(unrestricted=True)
        if actor.grid_office_id is not None:
            return cls(grid_office_id=actor.grid_office_id)
        if getattr(actor, "department_id", None) is not None:
            return cls(department_id=actor.department_id)
        if actor.region_id is not None:
            return cls(region_path=actor.region.path)
        return cls()


@dataclass(frozen=True)
class ScopeRule:
    """How a model's rows are placed in the jurisdiction tree.

    ``region_path``: lookup from the model to a ``Region.path`` string.
    ``grid_office``: lookup from the model to a grid-office id; when absent,
    grid-office staff see rows placed in the villages their office serves.
    ``department``: lookup from the model to a functional department's id; a department's
    staff see only rows reached this way (the incidents dispatched to their department), and
    nothing at all of a model that declares no such lookup.
    ``also_require``: a further condition on the actor (for example a case officer's
    project), ANDed with the jurisdiction filter for everyone but admins.
    """

    region_path: str
    grid_office: str | None = None
    department: str | None = None
    also_require: Callable[[User], Q] | None = field(default=None)

    def q_for(self, actor: Any) -> Q:
        jurisdiction = Jurisdiction.of(actor)
        if jurisdiction.unrestricted:
            return Q()
        if jurisdiction.grid_office_id is not None:
            if self.grid_office is not None:
                place = Q(**{self.grid_office: jurisdiction.grid_office_id})
            else:
                from grids.models import Region

                served = Region.objects.filter(grids__office_id=jurisdiction.grid_office_id).values("path")
                place = Q(**{f"{self.region_path}__in": served})
        elif jurisdiction.department_id is not None:
            if self.department is None:
                return NOTHING
            place = Q(**{self.department: jurisdiction.department_id})
        elif jurisdiction.region_path is not None:
            place = Q(**{f"{self.region_path}__startswith": jurisdiction.region_path})
        else:
            return NOTHING
        if self.also_require is not None:
            place &= self.also_require(actor)
        return place


class ScopedQuerySet(models.QuerySet):
    """A queryset that knows whether, and for whom, it has been scoped."""

    _scoped_for: int | None = None
    # Keyset columns read from aliases that equal them (``keyset_on``); empty: the columns.
    keyset_via: dict[str, str] = {}

    def _clone(self):
        clone = super()._clone()
        clone._scoped_for = self._scoped_for
        clone.keyset_via = self.keyset_via
        return clone

    def keyset_on(self, **aliases: Any) -> ScopedQuerySet:
        """Order and page on expressions that always equal the named columns, so an index over
        the expressions serves the order: ``keyset_on(reported_at=F("office_links__reported_at"))``
        (a copy kept exact by a trigger) makes ``order_by("-reported_at")``, keyset cursors and
        export batches sort and compare on the copy while rows keep their own values.

        The aliases are resolved against the joins already made (the scope's), never new ones."""
        names = {column: f"keyset_{column}" for column in aliases}
        keyed = self.alias(**{names[column]: expression for column, expression in aliases.items()})
        keyed.keyset_via = {**self.keyset_via, **names}
        return keyed

    def order_by(self, *field_names):
        """``order_by`` with the ``keyset_on`` columns replaced by their aliases."""
        if self.keyset_via:
            field_names = tuple(_via(name, self.keyset_via) for name in field_names)
        return super().order_by(*field_names)

    def visible_to(self, actor: Any) -> ScopedQuerySet:
        rule: ScopeRule | None = getattr(self.model, "scope_rule", None)
        if rule is None:
            raise ImproperlyConfigured(f"{self.model.__name__} has no scope_rule.")
        # Every lookup is a forward join or an ``__in`` subquery, so no row is repeated
        # and no DISTINCT is needed (selectors stay free to combine querysets with ``|``).
        scoped = self.filter(rule.q_for(actor))
        scoped._scoped_for = getattr(actor, "pk", None) or 0
        return scoped


def _via(name: Any, via: dict[str, str]) -> Any:
    if not isinstance(name, str):
        return name
    bare = name.lstrip("-")
    return name.replace(bare, via[bare], 1) if bare in via else name


def deliberately_unscoped(queryset: ScopedQuerySet, *, actor: Any, why: str) -> ScopedQuerySet:
    """Mark a read that is meant to reach past the actor's jurisdiction, saying why.

    The marker is the visible sign in a selector that the widening is a decision, not an
    omission (e.g. city-wide professional mediation committees, which anyone referring a
    dispute may choose). ``why`` is kept on the queryset so tests can list every such read.
    """
    if not isinstance(queryset, ScopedQuerySet):
        raise ImproperlyConfigured("Only a ScopedQuerySet can be marked as deliberately unscoped.")
    if not why.strip():
        raise ImproperlyConfigured("Say why the read is unscoped.")
    marked = queryset.all()
    marked._scoped_for = getattr(actor, "pk", None) or 0
    UNSCOPED_READS.add((queryset.model.__name__, why))
    return marked


# Every deliberately unscoped read seen so far: (model name, reason).
UNSCOPED_READS: set[tuple[str, str]] = set()


def assert_scoped(queryset: Any, actor: Any) -> None:
    """Raise unless ``queryset`` was scoped by ``visible_to`` for exactly this actor."""
    scoped_for = getattr(queryset, "_scoped_for", None)
    expected = getattr(actor, "pk", None) or 0
    if scoped_for is None or scoped_for != expected:
        raise ImproperlyConfigured(
            "A view received a queryset that was not scoped to the requesting user; "
            "read through a selector that calls visible_to(actor)."
        )
