"""Officials' analysis pages, uncached, over five years of data: the coverage page (safety cells),
the mediation committees' dashboard and the six projects' dashboard, each as a city official.

Platform: the page requested through Django (session, scope checks, selectors, template), with the
cache emptied and the tile cache off before every request, so nothing comes warm. Baseline: the
same kind of request, by the same signed-in official through the same middleware (session, user,
locale, idle timeout, request id, metrics), to a bare view (``figures``, mounted for the bench
only) that runs the page's own SELECTs as hand-written SQL (captured once from the cold page, less
the statements any request makes for its session and user) with every row fetched, and renders
every figure they return into an HTML table inside the site's layout (base.html: menu, language
switch, sign-out): the same aggregates over the same rows, without ORM, selectors, the page's own
template or cache. The ratio is what the page adds to that; the
printed count of statements shows a page whose queries grow with its rows (one per row would
show here as hundreds).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.template import Engine, RequestContext
from django.test import Client, override_settings
from django.urls import include, path
from django.views import View

from accounts.roles import Role
from bench.harness import Comparison, compare, page_queries
from bench.volume import ensure_incidents, ensure_mediation_cases, volume_scale


def _official(role: str, region_code: str):
    from accounts.models import User
    from accounts.services import user_create
    from grids.models import Region

    username = f"bench-{role}-{region_code}"
    return User.objects.filter(username=username).first() or user_create(
        username=username, password=uuid.uuid4().hex, role=role, region=Region.objects.get(code=region_code)
    )


def _prepare() -> None:
    from mediation.demo import load_demo
    from safety_cells.demo import load_demo as load_safety_demo
    from special_groups.demo import load_demo_special_groups

    _scale, (small, _large) = volume_scale()
    ensure_incidents(small)
    load_demo()
    ensure_mediation_cases(small // 20)
    load_demo_special_groups()
    load_safety_demo()


# The baseline's statements per page, filled by ``run`` before the baseline is requested.
STATEMENTS: dict[str, list[str]] = {}
# The site's layout (menu, language switch, sign-out: what every page around its figures shows)
# with a table of every figure the statements return.
FIGURES = Engine.get_default().from_string(
    '{% extends "base.html" %}{% block content %}{% for rows in results %}<table>{% for row in rows %}'
    "<tr>{% for value in row %}<td>{{ value }}</td>{% endfor %}</tr>{% endfor %}</table>{% endfor %}"
    "{% endblock %}"
)


class Figures(LoginRequiredMixin, View):
    """The baseline page: a signed-in request whose view is the page's SQL, by hand, and the
    site's layout around a table of every figure it returns."""

    def get(self, request, key: str):
        results = []
        with connection.cursor() as cursor:
            for sql in STATEMENTS.get(key, []):
                cursor.execute(sql)
                results.append(cursor.fetchall() if cursor.description is not None else [])
        return HttpResponse(FIGURES.render(RequestContext(request, {"results": results})))


# The bench's URLs: the site's, and the baseline's bare page (``ROOT_URLCONF`` during the run).
urlpatterns = [path("bench/figures/<str:key>/", Figures.as_view()), path("", include("anshun.urls"))]


def _less(statements: list[str], common: list[str]) -> list[str]:
    """``statements`` without one occurrence of each of ``common`` (what every request runs)."""
    left = list(statements)
    for sql in common:
        if sql in left:
            left.remove(sql)
    return left


PAGES = (
    ("coverage page (safety cells), city", "/safety/coverage/"),
    ("mediation committees dashboard, city", "/mediation/committees/"),
    ("six projects dashboard, city", "/special-groups/dashboard/"),
)


def run() -> Iterator[Comparison | str]:
    _prepare()
    city = _official(Role.CITY_OFFICIAL, "5204")
    client = Client()
    client.force_login(city)
    with override_settings(DASHBOARD_TILE_CACHE_SECONDS=0, ROOT_URLCONF=__name__):
        for key, (name, url) in enumerate(PAGES):
            key = str(key)

            def get(url: str) -> bytes:
                response = client.get(url, HTTP_HOST="127.0.0.1")
                assert response.status_code == 200, (url, response.status_code)
                return response.content

            def page(url=url):
                return get(url)

            def baseline(key=key):
                return get(f"/bench/figures/{key}/")

            STATEMENTS[key] = []
            cache.clear()
            get(f"/bench/figures/{key}/")  # warm: the session and user queries settle
            cache.clear()
            common = page_queries(baseline)
            cache.clear()
            page()  # warm: rollup changes queued by the loaders are folded, as a timed call finds them
            cache.clear()
            STATEMENTS[key] = _less(page_queries(page), common)
            yield compare(
                f"{name}, uncached",
                page,
                baseline,
                setup=cache.clear,
                repeat=5,
                target=1.5,
                sides=(
                    f"platform: GET {url} as a city official, cache emptied before each request; "
                    f"baseline: the same signed-in request through the same middleware to a bare view "
                    f"running the page's {len(STATEMENTS[key])} SELECTs by hand and tabling every figure "
                    f"in the site's layout"
                ),
            )
