"""Base viewsets that own the queryset, so no API endpoint can skip scoping.

A subclass names a ``selector`` (a function taking ``actor=``) and never
overrides ``get_queryset``; defining one, or a class-level ``queryset``, is a
start-up error. The queryset the selector returns must have been scoped for
the requesting user, or the request fails instead of leaking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from rest_framework import exceptions, viewsets

from anshun.scoping import assert_scoped


def query_choice(request, name: str, choices) -> str | None:
    """A query parameter that must be one of ``choices`` when given (documented as an enum)."""
    values = request.query_params.getlist(name)
    if not values:
        return None
    if len(values) > 1 or values[0] not in choices:
        raise exceptions.ValidationError({name: [_("Give one of: %(c)s.") % {"c": ", ".join(choices)}]})
    return values[0]


class ScopedViewSetMixin:
    """``selector`` decides which rows (scope); ``read_capability`` decides whether the caller's
    role may read this kind of row at all: one capability, or a tuple of which any one will do.
    Every viewset that names a selector must declare it, so a new route cannot forget."""

    selector: ClassVar[Callable[..., Any]]
    read_capability: ClassVar[str | tuple[str, ...]]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "selector" in cls.__dict__ and not hasattr(cls, "read_capability"):
            raise ImproperlyConfigured(f"{cls.__name__} names a selector but no read_capability.")
        if "get_queryset" in cls.__dict__:
            raise ImproperlyConfigured(
                f"{cls.__name__} overrides get_queryset; scoped viewsets read through `selector`."
            )
        if cls.__dict__.get("queryset") is not None:
            raise ImproperlyConfigured(f"{cls.__name__} sets a class-level queryset.")

    @classmethod
    def read_capabilities(cls) -> tuple[str, ...]:
        wanted = cls.read_capability
        return (wanted,) if isinstance(wanted, str) else tuple(wanted)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not any(request.user.can(c) for c in self.read_capabilities()):
            raise exceptions.PermissionDenied(_("Your role cannot see these records."))
        # PostgreSQL cannot store or compare text with NUL; refuse it before any selector sees it.
        bad = sorted(
            {key for key, values in request.query_params.lists() for v in [key, *values] if "\x00" in v}
        )
        if bad:
            raise exceptions.ValidationError({key: [_("Null characters are not allowed.")] for key in bad})

    def selector_arguments(self) -> dict:
        """Extra keyword arguments for the selector, usually from query parameters."""
        return {}

    def get_queryset(self):
        queryset = self.selector(actor=self.request.user, **self.selector_arguments())
        assert_scoped(queryset, self.request.user)
        return queryset


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """List and retrieve, scoped to the caller's jurisdiction; out of scope is 404."""


class ScopedModelViewSet(ScopedViewSetMixin, viewsets.GenericViewSet):
    """For endpoints that add create/update actions through services."""
