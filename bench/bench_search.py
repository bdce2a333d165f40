"""Search over incidents at volume: the platform's scoped search (the app's selector joined to
its documents, ts_rank then newest, one page) against the same query written by hand.

Both sides read the same rows and columns (what a result shows: id, text, address, time,
category): the incidents in a county official's region (and a city
official's) whose document matches the jieba-cut query, ranked by ``ts_rank`` then newest,
first 21 rows (a page and one more). The platform builds the query through
``incidents_visible_to`` and ``search.selectors.incident_matches`` and reads model rows; the
baseline is one hand-written SQL statement returning the same ids. The printed plan shows the
documents' GIN index (``search_incident_vector``) finding the matches.

Volume: ``bench/volume.py`` (100,000 incidents at BENCH_SCALE=quick, the larger of the two at
full); their documents are written by ``search.services.rebuild`` once, then kept."""

from __future__ import annotations

import os

from django.db import connection

from accounts.roles import Role
from bench.harness import compare
from bench.volume import ensure_incidents, volume_scale
from grids.models import Region
from search import services, text
from search.models import IncidentDocument, PendingDocument
from search.selectors import incident_matches

HAND_WRITTEN = """
    SELECT i.id, i.description, i.address, i.reported_at, c.code, c.name
    FROM incidents_incident i
    JOIN incidents_incidentcategory c ON c.id = i.category_id
    JOIN search_incidentdocument d ON d.incident_id = i.id
    JOIN grids_grid g ON g.id = i.grid_id
    JOIN grids_region v ON v.id = g.village_id
    WHERE v.path LIKE %s AND i.deleted_at IS NULL AND d.vector @@ %s::tsquery
    ORDER BY ts_rank(d.vector, %s::tsquery) DESC, i.reported_at DESC, i.id DESC
    LIMIT 21
"""


def _official(role, region_code):
    from accounts.models import User

    user = User(username=f"bench-{role}", role=role, region=Region.objects.get(code=region_code))
    user.pk = 0
    return user


def _ensure_documents() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM incidents_incident")
        incidents = cursor.fetchone()[0]
    if IncidentDocument.objects.count() < incidents:
        services.rebuild(kinds=["incident"], batch=5000)
    PendingDocument.objects.filter(kind="incident").delete()


def _platform(actor, query) -> list[int]:
    return [row.pk for row in incident_matches(actor=actor, query=query)[:21]]


def _hand_written(path: str, query) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(HAND_WRITTEN, [path + "%", query.tsquery, query.tsquery])
        return [row[0] for row in cursor.fetchall()]


def run():
    name, (small, large) = volume_scale()
    # BENCH_SEARCH_INCIDENTS: a smaller volume while developing.
    volume = int(os.environ.get("BENCH_SEARCH_INCIDENTS") or (large if name == "full" else small))
    ensure_incidents(volume, timeline=False)
    _ensure_documents()
    results = []
    for words in ("消防通道", "噪声", "纠纷 邻里"):
        query = text.parse(words)
        for role, code in ((Role.COUNTY_OFFICIAL, "520402"), (Role.CITY_OFFICIAL, "5204")):
            actor = _official(role, code)
            found, hand = _platform(actor, query), _hand_written(actor.region.path, query)
            assert found == hand and found, (words, role)
            results.append(
                compare(
                    f"search {words!r} at {volume:,} incidents, first page, {role.value}",
                    lambda actor=actor, query=query: _platform(actor, query),
                    lambda path=actor.region.path, query=query: _hand_written(path, query),
                    target=1.5,
                    sides="scoped selector joined to documents, ts_rank then newest, 21 rows | same in SQL",
                )
            )
    county = _official(Role.COUNTY_OFFICIAL, "520402")
    print("   plan, county official searching 消防通道:")
    plan = incident_matches(actor=county, query=text.parse("消防通道"))[:21].explain(analyze=True)
    for line in plan.splitlines():
        print(f"     {line}")
    return results
