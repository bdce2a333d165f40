"""Search over incidents, mediation cases and safe cells: Chinese words found inside longer
phrases, scoped through every door (page, API), nothing counted or hinted out of sight, bad
input answered with a 400 or an empty list, and a fixed number of queries however many match."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.roles import Role
from grids.models import Grid, Region
from incidents.models import Incident, IncidentCategory
from mediation.models import MediationCase, MediationCommittee, Party
from safety_cells.models import CellType, SafetyCell
from search import text
from search.models import IncidentDocument, PendingDocument
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db

XIXIU, DONGGUAN, PUDING = "520402", "520402005", "520422"
API = {
    "incident": "/api/search/incidents/",
    "case": "/api/search/mediation-cases/",
    "cell": "/api/search/safety-cells/",
}


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def grid_in(code: str) -> Grid:
    return Grid.objects.filter(village__code__startswith=code).order_by("code").first()


def incident(description: str, *, code: str = DONGGUAN, **extra) -> Incident:
    category = IncidentCategory.objects.get(code="security-hazard")
    return Incident.objects.create(category=category, description=description, grid=grid_in(code), **extra)


def case(summary: str, *, code: str = DONGGUAN, parties=(), committee=None) -> MediationCase:
    region = Region.objects.get(code=code)
    committee = committee or MediationCommittee.objects.create(
        name=f"{region.name}人民调解委员会", kind=MediationCommittee.Kind.TOWNSHIP, region=region
    )
    made = MediationCase.objects.create(
        committee=committee,
        region=region,
        dispute_type="邻里纠纷",
        summary=summary,
        intake_date=date(2026, 5, 1),
    )
    for name in parties:
        Party.objects.create(case=made, name=name)
    return made


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# ---- Chinese words ---------------------------------------------------------------------------


def test_segmentation_indexes_the_short_words_inside_long_ones_and_nothing_but_letters():
    doc = text.document([("B", "小区门口垃圾堆放，无人清理")])
    for word in ("'小区'", "'垃圾'", "'堆放'", "'清理'"):
        assert word in doc  # 堆放 only as a two-character piece: jieba cuts 垃圾堆 / 放 here
    hostile = text.parse("'; DROP TABLE x; -- \\ & | ! ( ) <-> :* 垃圾")
    assert hostile.terms == ("drop", "table", "x", "垃圾")
    assert "\\" not in hostile.tsquery and ";" not in hostile.tsquery
    assert not text.parse("！？。，、 ' \" & |")  # nothing searchable: no terms, no query


def test_a_two_character_word_inside_a_longer_phrase_is_found_and_marked():
    wanted = incident("小区门口垃圾堆放，无人清理，居民反映强烈")
    incident("河道里有死鱼，水体发黑")
    client = api_as(user_for_role(Role.COUNTY_OFFICIAL))
    for query in ("堆放", "垃圾", "清理 垃圾", "居民"):
        assert ids(client.get(API["incident"], {"q": query})) == [wanted.pk], query
    row = client.get(API["incident"], {"q": "堆放"}).json()["results"][0]
    start, end = row["highlights"][0]
    assert row["snippet"][start:end] == "堆放"
    assert row["url"] == reverse("incidents:detail", args=[wanted.pk])
    assert ids(client.get(API["incident"], {"q": "堆放 死鱼"})) == []  # every word must match


def test_a_change_made_by_any_writer_is_searched_and_deletions_leave_nothing():
    row = incident("路灯损坏")
    client = api_as(user_for_role(Role.COUNTY_OFFICIAL))
    assert ids(client.get(API["incident"], {"q": "路灯"})) == [row.pk]
    # A raw update, as bulk sync or psql would make: the trigger queues it.
    Incident.objects.filter(pk=row.pk).update(description="井盖缺失")
    assert ids(client.get(API["incident"], {"q": "路灯"})) == []
    assert ids(client.get(API["incident"], {"q": "井盖"})) == [row.pk]
    Incident.objects.filter(pk=row.pk).update(deleted_at="2026-06-01T00:00:00Z")  # soft-deleted
    assert ids(client.get(API["incident"], {"q": "井盖"})) == []
    Incident.objects.filter(pk=row.pk).delete()
    client.get(API["incident"], {"q": "井盖"})
    assert not IncidentDocument.objects.filter(pk=row.pk).exists()


def test_rank_puts_the_better_match_first_then_the_newest():
    older = incident("邻居噪音扰民")
    newer = incident("邻居噪音扰民")
    better = incident("噪音 噪音 噪音 扰民 噪音")
    client = api_as(user_for_role(Role.COUNTY_OFFICIAL))
    assert ids(client.get(API["incident"], {"q": "噪音"})) == [better.pk, newer.pk, older.pk]


# ---- scope -----------------------------------------------------------------------------------


def test_another_countys_official_searching_a_party_name_gets_what_a_nonsense_word_gets(client):
    secret = case("宅基地边界争议", parties=["王晓明", "李建国"])
    incident("王晓明家门口垃圾堆放")
    inside = user_for_role(Role.COUNTY_OFFICIAL)
    outside = user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code=PUDING))
    assert ids(api_as(inside).get(API["case"], {"q": "王晓明"})) == [secret.pk]
    assert ids(api_as(inside).get(API["incident"], {"q": "王晓明"}))
    for door in ("case", "incident"):
        found = api_as(outside).get(API[door], {"q": "王晓明"})
        nothing = api_as(outside).get(API[door], {"q": "张无忌"})
        assert found.status_code == nothing.status_code == 200
        assert found.json()["results"] == nothing.json()["results"] == []
        assert found.json()["next"] is None
    client.force_login(outside)
    page = client.get(reverse("search:search"), {"q": "王晓明"}).content.decode()
    assert (
        'data-testid="no-results"' in page and "宅基地" not in page and f'data-id="{secret.pk}"' not in page
    )
    client.force_login(inside)
    page = client.get(reverse("search:search"), {"q": "王晓明"}).content.decode()
    assert f'data-id="{secret.pk}"' in page and "<mark>王晓明</mark>" in page


def test_a_mediator_finds_only_their_committees_cases_and_roles_without_the_capability_nothing(client):
    township = Region.objects.get(code=DONGGUAN)
    mine = MediationCommittee.objects.create(name="东关调委会", kind="township", region=township)
    theirs = MediationCommittee.objects.create(name="东关另一调委会", kind="village", region=township)
    own = case("土地纠纷甲", committee=mine)
    other = case("土地纠纷乙", committee=theirs)
    mediator = user_for_role(Role.MEDIATOR, region=township)
    mine.memberships.create(user=mediator)
    assert ids(api_as(mediator).get(API["case"], {"q": "土地"})) == [own.pk]
    assert other.pk not in ids(api_as(mediator).get(API["case"], {"q": "土地纠纷乙"}))
    # Grid workers read incidents but not cases; case officers none of the three.
    assert api_as(user_for_role(Role.GRID_WORKER)).get(API["case"], {"q": "土地"}).status_code == 403
    officer = user_for_role(Role.CASE_OFFICER)
    for url in API.values():
        assert api_as(officer).get(url, {"q": "土地"}).status_code == 403
    client.force_login(officer)
    assert client.get(reverse("search:search"), {"q": "土地"}).status_code == 403
    assert 'data-testid="search-box"' not in client.get(reverse("home")).content.decode()


def test_grid_offices_and_departments_find_only_their_own_incidents():
    near = incident("消防通道堵塞", code=DONGGUAN)
    far = incident("消防通道堵塞", code=PUDING)
    worker = user_for_role(Role.GRID_WORKER)
    near.offices.add(worker.grid_office, through_defaults={"reported_at": near.reported_at})
    assert ids(api_as(worker).get(API["incident"], {"q": "消防"})) == [near.pk]
    officer = user_for_role(Role.DEPARTMENT_OFFICER)
    assert ids(api_as(officer).get(API["incident"], {"q": "消防"})) == []
    far.departments.add(officer.department)
    assert ids(api_as(officer).get(API["incident"], {"q": "消防"})) == [far.pk]


def test_safe_cells_by_name_and_type_for_those_who_read_safe_cells():
    estate = CellType.objects.get(code="estate")
    cell = SafetyCell.objects.create(
        name="幸福家园小区", cell_type=estate, region=Region.objects.get(code=DONGGUAN)
    )
    SafetyCell.objects.create(name="幸福里小区", cell_type=estate, region=Region.objects.get(code=PUDING))
    assert ids(api_as(user_for_role(Role.TOWNSHIP_OFFICIAL)).get(API["cell"], {"q": "幸福"})) == [cell.pk]
    lawyer = user_for_role(Role.LAWYER)  # a region, but no safety.view
    assert api_as(lawyer).get(API["cell"], {"q": "幸福"}).status_code == 403


# ---- bad input -------------------------------------------------------------------------------

BAD = {
    "nul": "q=%E5%9E%83%00",
    "lone surrogate": "q=%ED%A0%80",
    "10k characters": "q=" + "垃" * 10_000,
    "page past the last": "q=%E5%9E%83%E5%9C%BE&page=11",
    "page not a number": "q=%E5%9E%83%E5%9C%BE&page=x",
    "page size left empty": "q=%E5%9E%83%E5%9C%BE&page_size=",
}


@pytest.mark.parametrize("name", BAD)
def test_bad_input_is_a_400_with_a_field_error_never_a_500(client, name):
    user = user_for_role(Role.COUNTY_OFFICIAL)
    response = api_as(user).get(API["incident"] + "?" + BAD[name])
    assert response.status_code == 400, (name, response.content)
    assert set(response.json()) & {"q", "page", "page_size"}
    if "page_size" in BAD[name]:
        return  # the page has no page size (an empty one is the default there)
    client.force_login(user)
    page = client.get(reverse("search:search") + "?" + BAD[name])
    assert page.status_code == 400 and 'data-testid="search-errors"' in page.content.decode()


@pytest.mark.parametrize("query", ["", "   ", "！？。", "'\"&|!()<->:*"])
def test_empty_or_wordless_queries_find_nothing_without_an_error(client, query):
    incident("垃圾")
    user = user_for_role(Role.COUNTY_OFFICIAL)
    assert ids(api_as(user).get(API["incident"], {"q": query})) == []
    client.force_login(user)
    assert client.get(reverse("search:search"), {"q": query}).status_code == 200


# ---- cost ------------------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_query_counts_do_not_grow_with_the_matches(client):
    user = user_for_role(Role.COUNTY_OFFICIAL)
    client.force_login(user)
    township = Region.objects.get(code=DONGGUAN)
    committee = MediationCommittee.objects.create(name="东关调委会", kind="township", region=township)
    estate = CellType.objects.get(code="estate")

    def add(n: int, start: int) -> None:
        for i in range(start, start + n):
            incident(f"楼道杂物{i}")
            case(f"楼道纠纷{i}", committee=committee, parties=[f"当事人{i}", f"对方{i}"])
            SafetyCell.objects.create(name=f"楼道小区{i}", cell_type=estate, region=township)

    add(2, 0)
    urls = [reverse("search:search") + "?q=楼道", reverse("search:search") + "?q=楼道&kind=case"]
    urls += [f"{url}?q=楼道" for url in API.values()]
    api = api_as(user)
    for url in urls:
        (client if url.startswith("/search/") else api).get(url)  # drain the queue first
    small = {url: _queries(client if url.startswith("/search/") else api, url) for url in urls}
    add(30, 2)
    for url in urls:
        (client if url.startswith("/search/") else api).get(url)
    large = {url: _queries(client if url.startswith("/search/") else api, url) for url in urls}
    assert small == large
    assert large[urls[0]] <= 12, large


# ---- the index's upkeep ----------------------------------------------------------------------


def test_rebuild_rewrites_every_document_and_drops_the_orphans():
    row = incident("排水沟堵塞")
    PendingDocument.objects.all().delete()  # as if the queue had been lost
    assert not IncidentDocument.objects.filter(pk=row.pk).exists()
    IncidentDocument.objects.create(incident_id=10**12, vector="'孤儿':1")
    call_command("rebuild_search_index", "--batch-size", "1", verbosity=0)
    assert IncidentDocument.objects.filter(pk=row.pk).exists()
    assert not IncidentDocument.objects.filter(pk=10**12).exists()
    assert ids(api_as(user_for_role(Role.COUNTY_OFFICIAL)).get(API["incident"], {"q": "排水沟"})) == [row.pk]


def test_the_demo_loader_indexes_what_was_loaded_before_it():
    from django.apps import apps

    loaders = [c.label for c in apps.get_app_configs() if getattr(c, "demo_loader", None)]
    assert loaders[-1] == "search"  # runs after every app with demo records
    row = incident("广场舞噪音")
    apps.get_app_config("search")
    from search.services import index_after_demo

    assert "incident: " in index_after_demo()
    assert IncidentDocument.objects.filter(pk=row.pk).exists() and not PendingDocument.objects.exists()


def test_a_partys_new_name_is_queued_and_the_beat_task_writes_it():
    from search.tasks import index_search_documents

    made = case("合同纠纷", parties=["赵大海"])
    assert index_search_documents() >= 1  # the beat job, run in-process
    assert not PendingDocument.objects.exists()
    Party.objects.filter(case=made).update(name="钱小江")  # any writer: a raw update
    assert PendingDocument.objects.filter(kind="case", object_id=made.pk).exists()
    index_search_documents()
    client = api_as(user_for_role(Role.COUNTY_OFFICIAL))
    assert ids(client.get(API["case"], {"q": "钱小江"})) == [made.pk]
    assert ids(client.get(API["case"], {"q": "赵大海"})) == []
