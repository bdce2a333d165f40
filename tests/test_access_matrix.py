"""Every route of the URLconf, against every role in and out of scope, anonymous included.

The routes come from the URL resolver and the OpenAPI schema, not from a hand-kept
list: a new endpoint either goes through the scoping base classes (and is probed
automatically) or must be given an explicit rule below, or this test fails. The
leak probes run over the full demo data (every app's records in every county), with
a case officer of each of the six projects, so both jurisdiction and project
boundaries are crossed by real rows.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.db.models import Q
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.roles import Role, SpecialProject
from anshun.api.base import ScopedViewSetMixin
from anshun.views import ScopedPageMixin
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db

# Routes outside the scoping base classes, each with the access it must have.
EXPLICIT_RULES = {
    "login": "public",
    "logout": "public",
    "set_language": "public",
    "javascript-catalog": "public",
    "healthz": "public",
    "metrics": "monitoring-network",
    "api-token": "public",
    # The code step of the login: answers only a session that has just passed the password step.
    "login-verify": "public",
    # The signed-in user's own account and two-factor devices: filtered by user, not jurisdiction.
    "account": "signed-in",
    "two-factor-setup": "signed-in",
    "two-factor-qr": "signed-in",
    "two-factor-disable": "signed-in",
    "home": "signed-in",
    "api-root": "signed-in",
    "api-schema": "signed-in",
    "api-docs": "signed-in",
    "api-redoc": "signed-in",
    # The signed-in user's own notifications: filtered by recipient, not by jurisdiction.
    "incidents:notifications": "signed-in",
    # The offline outbox's service worker script: code, no data.
    "incidents:sw": "public",
    # The registry's visit-form service worker script: code, no data (the pages it keeps are the
    # signed-in worker's own, stored in their browser).
    "registry:sw": "public",
    # Open311 GeoReport v2: public by the spec; it shows only requests that came in through
    # Open311 itself, and POST needs a per-client api_key.
    "open311-services": "public",
    "open311-service": "public",
    "open311-requests": "public",
    "open311-request": "public",
    "open311-not-found": "public",
}
ROLES = list(Role)

# Lists that deliberately show rows beyond the viewer's jurisdiction, each with why and which rows.
# Anything else a list shows outside ``visible_to`` is a leak.
DELIBERATE_WIDENINGS = {
    # The city-wide professional committees (traffic, medical, labour...) take disputes from
    # anywhere in the city, so everyone who refers a dispute must be able to choose them.
    "mediation-committee-list": Q(kind="professional"),
}


def _routes():
    """(route, pattern) for every URL pattern; ``pattern.qualified_name`` includes namespaces."""

    def walk(patterns, prefix="", namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if str(pattern.pattern) == "admin/":
                    continue  # Django admin: staff only, tested below
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                pattern.qualified_name = f"{namespace}{pattern.name}" if pattern.name else None
                yield prefix + str(pattern.pattern), pattern

    return list(walk(get_resolver().url_patterns))


def _view_class(pattern):
    callback = pattern.callback
    return getattr(callback, "cls", None) or getattr(callback, "view_class", None)


def _scoped_viewsets():
    seen = {}
    for _route, pattern in _routes():
        cls = _view_class(pattern)
        if cls is not None and issubclass(cls, ScopedViewSetMixin):
            seen.setdefault(cls, set()).add(pattern.qualified_name)
    return seen


def test_every_route_has_an_access_rule():
    unruled = []
    for route, pattern in _routes():
        cls = _view_class(pattern)
        if cls is not None and issubclass(cls, ScopedViewSetMixin | ScopedPageMixin):
            continue
        if pattern.qualified_name in EXPLICIT_RULES or route.startswith("^media/"):
            continue
        unruled.append(f"{route} ({pattern.qualified_name})")
    assert unruled == [], "routes without an access rule: " + ", ".join(unruled)


def _items(body):
    if isinstance(body, dict):
        if "features" in body:
            return body["features"]
        if "results" in body:
            return _items(body["results"])
    return body if isinstance(body, list) else []


def _identifier(item, lookup):
    if "properties" in item and lookup not in item:
        return str(item.get("id") if item.get("id") is not None else item["properties"].get(lookup))
    return str(item.get(lookup, item.get("id")))


def _model_and_lookup(viewset):
    admin = user_for_role(Role.ADMIN)
    queryset = viewset.selector(actor=admin)
    lookup = viewset.lookup_field if viewset.lookup_field != "pk" else "pk"
    return queryset.model, lookup


def test_every_schema_operation_is_a_ruled_route():
    """The OpenAPI schema and the URLconf agree: each documented operation resolves to a view
    that is scoped or has an explicit rule, so the schema cannot hide an unprobed endpoint."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    checked = 0
    for path, operations in schema["paths"].items():
        concrete = path
        for parameter in {p["name"] for op in operations.values() for p in op.get("parameters", [])}:
            concrete = concrete.replace("{" + parameter + "}", "1")
        try:
            match = resolve(concrete)
        except Resolver404:
            pytest.fail(f"schema path {path} resolves to no route")
        cls = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
        scoped = cls is not None and issubclass(cls, ScopedViewSetMixin | ScopedPageMixin)
        assert scoped or match.view_name in EXPLICIT_RULES, (
            f"schema path {path} ({match.view_name}) has no rule"
        )
        checked += len([m for m in operations if m in ("get", "put", "patch", "post", "delete")])
    print(f"schema: {len(schema['paths'])} paths, {checked} operations, each a ruled route")
    assert checked > 0


@pytest.fixture
def demo_data():
    call_command("load_anshun", demo=True, verbosity=0)
    # The rows are still uncommitted in this test's transaction, where autovacuum cannot see them;
    # without statistics the planner would treat tens of thousands of rows as an empty table.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _actors() -> dict:
    actors = {role.value: user_for_role(role) for role in ROLES}
    for project in SpecialProject:
        actors[f"{Role.CASE_OFFICER.value}:{project.value}"] = user_for_role(
            Role.CASE_OFFICER, project=project
        )
    return actors


def _takes(route: str, kwarg: str) -> bool:
    return any(token in route for token in (f"(?P<{kwarg}>", f":{kwarg}>", f"<{kwarg}>"))


def test_no_scoped_endpoint_leaks_across_jurisdictions(demo_data):
    """Each viewset's selector, for each actor, is checked in SQL against ``visible_to`` over
    every row; the HTTP list must show only such rows; and detail routes refuse every method on
    rows outside the actor's scope."""
    probes = Counter()
    users = _actors()
    route_of = {pattern.qualified_name: route for route, pattern in _routes()}
    for viewset, names in _scoped_viewsets().items():
        model, lookup = _model_and_lookup(viewset)
        basename = next(iter(names)).rsplit("-", 1)[0]
        list_name = f"{basename}-list"
        kwarg = viewset.lookup_url_kwarg or lookup
        detail_names = sorted(n for n in names if n != list_name and _takes(route_of[n], kwarg))
        for role, user in users.items():
            client = APIClient()
            client.force_authenticate(user)
            in_scope = model.objects.visible_to(user)
            if list_name in DELIBERATE_WIDENINGS:
                in_scope = in_scope | model.objects.filter(DELIBERATE_WIDENINGS[list_name])
            try:
                served = viewset.selector(actor=user)
            except PermissionDenied:
                served = model.objects.none()
            leaked = list(
                served.exclude(**{f"{lookup}__in": in_scope.values(lookup)}).values_list(lookup, flat=True)[
                    :5
                ]
            )
            assert not leaked, f"{role}: {viewset.__name__} selects rows outside its scope: {leaked}"
            probes["selector"] += 1
            if list_name in names:
                response = client.get(reverse(list_name), {"page_size": 100})
                assert response.status_code in (200, 403), (list_name, role, response.status_code)
                if response.status_code == 200:
                    listed = {_identifier(i, lookup) for i in _items(response.json())}
                    shown = in_scope.filter(**{f"{lookup}__in": listed}).count()
                    assert shown == len(listed), f"{role} listed {list_name} rows outside its scope"
                    probes["list"] += 1
            outside = list(
                model.objects.exclude(**{f"{lookup}__in": in_scope.values(lookup)})
                .order_by(lookup)
                .values_list(lookup, flat=True)[:2]
            )
            for name in detail_names:
                for value in outside:
                    for method in ("get", "put", "patch", "post", "delete"):
                        url = reverse(name, kwargs={kwarg: value})
                        status = getattr(client, method)(url, {}, format="json").status_code
                        assert status in (403, 404, 405), f"{role} {method} {url} -> {status}"
                        probes["outside"] += 1
    print(
        f"access matrix: {len(_scoped_viewsets())} viewsets x {len(users)} actors ({len(ROLES)} roles), "
        f"{probes['selector']} selectors checked in SQL, {probes['list']} scoped lists checked, "
        f"{probes['outside']} out-of-scope requests denied"
    )
    assert probes["list"] > 0 and probes["outside"] > 0


def test_anonymous_gets_nothing_but_public_routes(client):
    api = APIClient()
    for route, pattern in _routes():
        if "(?P<" in route or "<" in route:
            continue  # routes with parameters are covered by the scoped probes
        rule = EXPLICIT_RULES.get(pattern.qualified_name)
        url = "/" + route.replace("^", "").replace("$", "")
        if rule in ("public", None) and _view_class(pattern) is None or rule == "public":
            continue
        if rule == "monitoring-network":
            assert client.get(url, REMOTE_ADDR="10.0.0.9").status_code == 403
            continue
        status = api.get(url).status_code
        assert status in (302, 401, 403), f"anonymous GET {url} -> {status}"


@pytest.mark.parametrize("role", [r for r in ROLES if r != Role.ADMIN])
def test_only_admins_enter_the_admin(client, role):
    client.force_login(user_for_role(role))
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_scoped_pages_need_login_and_answer_every_role(client):
    pages = [
        (route, p)
        for route, p in _routes()
        if _view_class(p) is not None
        and issubclass(_view_class(p), ScopedPageMixin)
        and "<" not in route
        and "(?P" not in route
    ]
    assert pages
    for _route, pattern in pages:
        url = reverse(pattern.qualified_name)
        assert client.get(url).status_code == 302
        for role in ROLES:
            client.force_login(user_for_role(role))
            assert client.get(url).status_code in (200, 403, 405), (url, role)  # 405: POST-only
        client.logout()


# ---- capabilities, from the declarations themselves ------------------------------------------


def test_each_api_route_refuses_roles_without_its_read_capability():
    """Every scoped viewset declares the capability it reads with; a role without it gets 403 on
    the list and on a detail route of a row it could otherwise see, and a role with it does not."""
    users = _actors()
    route_of = {pattern.qualified_name: route for route, pattern in _routes()}
    probes = Counter()
    for viewset, names in _scoped_viewsets().items():
        wanted = viewset.read_capabilities()
        assert wanted and all(isinstance(c, str) and c for c in wanted), viewset.__name__
        basename = next(iter(names)).rsplit("-", 1)[0]
        list_name = f"{basename}-list"
        model, lookup = _model_and_lookup(viewset)
        kwarg = viewset.lookup_url_kwarg or lookup
        detail_name = next(
            (n for n in sorted(names) if n.endswith("-detail") and _takes(route_of[n], kwarg)), None
        )
        for role, user in users.items():
            client = APIClient()
            client.force_authenticate(user)
            allowed = any(user.can(c) for c in wanted)
            if list_name in names:
                status = client.get(reverse(list_name)).status_code
                if allowed:
                    assert status != 403, f"{role} may read {list_name} ({wanted}) but got 403"
                else:
                    assert status == 403, f"{role} lacks {wanted} but {list_name} answered {status}"
                probes["allowed" if allowed else "refused"] += 1
            if detail_name and not allowed:
                visible = model.objects.visible_to(user).values_list(lookup, flat=True).first()
                if visible is not None:
                    status = client.get(reverse(detail_name, kwargs={kwarg: visible})).status_code
                    assert status == 403, f"{role} lacks {wanted} but {detail_name} answered {status}"
                    probes["refused detail"] += 1
    print(f"read capabilities: {dict(probes)}")
    assert probes["refused"] > 0 and probes["allowed"] > 0


def test_every_command_authorises_itself_from_its_policy_table(demo_data):
    """Derived from the policy tables: every command refuses, before touching anything, an actor
    whose role lacks the rule's capability (403), and an actor who holds it but cannot see the
    target (404, the same as a missing row), for every role over the full demo data."""
    from django.contrib.auth.models import AnonymousUser

    from anshun.commands import COMMANDS, NotFound, NotPermitted, load_all_commands

    load_all_commands()
    commands = {n: c for n, c in COMMANDS.items() if not c.__module__.startswith("tests.")}
    assert commands, "no command is declared"
    users = _actors()
    probes = Counter()
    hidden_rows_probed = set()
    for name, command in sorted(commands.items()):
        rule = command.rule
        with pytest.raises(NotPermitted):
            command(actor=AnonymousUser())
        for user in users.values():
            if not user.can(rule.capability):
                with pytest.raises(NotPermitted):
                    command(actor=user)
                probes["not permitted"] += 1
                continue
            if rule.target is None or user.is_platform_admin:
                continue
            model = _target_model(command)
            # A row that does not exist and a row out of sight get the same answer.
            with pytest.raises(NotFound):
                command(actor=user, **{rule.target: _missing(model, rule)})
            probes["missing"] += 1
            hidden = model.objects.exclude(pk__in=model.objects.visible_to(user).values("pk")).first()
            if hidden is None:
                continue
            with pytest.raises(NotFound):
                command(actor=user, **{rule.target: hidden.pk if rule.target_model else hidden})
            probes["hidden"] += 1
            hidden_rows_probed.add(name)
    targeted = {n for n, c in commands.items() if c.rule.target}
    # Targets of which the demo holds no row out of some actor's sight (or that only admins may
    # touch) are probed with missing rows only; they are listed so that the gap stays visible.
    print(f"probed with missing rows only: {sorted(targeted - hidden_rows_probed)}")
    assert len(hidden_rows_probed) >= len(targeted) // 2
    apps_with_policies = {c.policy.app_label for c in commands.values()}
    print(f"commands: {len(commands)} from {len(apps_with_policies)} policies, {dict(probes)}")
    assert apps_with_policies >= {
        "grids",
        "incidents",
        "mediation",
        "safety_cells",
        "special_groups",
        "surveys",
    }


def _target_model(command):
    from django.apps import apps

    rule = command.rule
    if rule.target_model:
        return apps.get_model(rule.target_model)
    annotation = command.__wrapped__.__annotations__.get(rule.target)
    model = apps.get_model(annotation) if isinstance(annotation, str) and "." in annotation else None
    if model is None:
        from typing import get_type_hints

        model = get_type_hints(command.__wrapped__).get(rule.target)
    assert model is not None, f"{command.command_name}: annotate {rule.target} with its model"
    return model


def _missing(model, rule):
    missing_pk = (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 10_000
    return missing_pk if rule.target_model else model(pk=missing_pk)
