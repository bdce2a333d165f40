"""Officials' analysis pages, uncached, over five years of data: the coverage page (safety cells),
the mediation committees' dashboard and the six projects' dashboard, each as a city official.

Platform: the page requested through Django (session, scope checks, selectors, template), with the
cache emptied and the tile cache off before every request, so nothing comes warm. Baseline: the
SELECT statements that same cold page sent to the database, captured once and replayed through a
cursor (every row fetched): the same aggregates over the same rows, without ORM, template or cache.
The ratio is what the page adds to its queries; the printed count of statements shows a page whose
queries grow with its rows (one per row would show here as hundreds).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from django.core.cache import cache
from django.test import Client, override_settings

from accounts.roles import Role
from bench.harness import Comparison, compare, page_queries, replay
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
    with override_settings(DASHBOARD_TILE_CACHE_SECONDS=0):
        for name, url in PAGES:

            def page(url=url):
                response = client.get(url, HTTP_HOST="127.0.0.1")
                assert response.status_code == 200, (url, response.status_code)
                return response.content

            cache.clear()
            statements = page_queries(page)
            yield compare(
                f"{name}, uncached",
                page,
                lambda statements=statements: replay(statements),
                setup=cache.clear,
                repeat=5,
                target=1.5,
                sides=(
                    f"platform: GET {url} as a city official, cache emptied before each request; "
                    f"baseline: the {len(statements)} SELECTs that cold page ran, replayed raw"
                ),
            )
