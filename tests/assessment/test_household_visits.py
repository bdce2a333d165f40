"""Household-visit coverage (入户走访覆盖率) as an assessment indicator: counted from the registry's
visits (houses visited in the year / houses, per township, office and grid worker), its drill-down
lists the houses behind a score inside the viewer's sight only, and the ranking's queries do not
grow with the registry."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from assessment.models import Level, Score
from assessment.selectors import drill_down
from assessment.services import compute_scores
from grids.models import Grid, Region
from registry.services.visits import VisitInput, house_visit
from tests.assessment.test_scores import _queries
from tests.factories import user_for_role
from tests.registry.conftest import make_house

pytestmark = pytest.mark.django_db


def _score(year, level, key):
    return Score.objects.get(year=year, level=level, unit_key=key, indicator="household_visits")


@pytest.fixture
def visited(places):
    """Three houses in township A's grid: one visited this year by A's worker, one by a colleague
    of the same office, one only last year; one house in 紫云, never visited."""
    a = places["a"]
    admin = user_for_role(Role.ADMIN)
    houses = [make_house(admin, a.grid, people=1, serial=i, name=f"走访{i}组")[0] for i in range(3)]
    far = Grid.objects.filter(code__startswith="520425").order_by("code").first()
    make_house(admin, far, people=1, serial=9, name="远处组")
    colleague = user_for_role(Role.GRID_WORKER, office=a.office)
    today = timezone.localdate()
    house_visit(actor=a.worker, house=houses[0], data=VisitInput(visited_on=today))
    house_visit(actor=a.worker, house=houses[0], data=VisitInput(visited_on=today))  # twice: one house
    house_visit(actor=colleague, house=houses[1], data=VisitInput(visited_on=today))
    house_visit(actor=a.worker, house=houses[2], data=VisitInput(visited_on=date(today.year - 1, 12, 31)))
    return {"a": a, "z": places["z"], "houses": houses, "colleague": colleague, "year": today.year}


def test_coverage_is_counted_from_the_visits_as_by_hand(visited):
    a, year = visited["a"], visited["year"]
    compute_scores(year=year)
    township = _score(year, Level.TOWNSHIP, a.township.code)
    assert (township.numerator, township.denominator, township.value) == (2, 3, 66.67)
    office = _score(year, Level.GRID_OFFICE, a.office.code)
    assert (office.numerator, office.denominator) == (2, 3)
    worker = _score(year, Level.GRID_WORKER, str(a.worker.pk))
    assert (worker.numerator, worker.denominator) == (1, 3)  # their own visits only, once per house
    assert _score(year, Level.GRID_WORKER, str(visited["colleague"].pk)).numerator == 1
    far = _score(year, Level.TOWNSHIP, visited["z"].township.code)
    assert (far.numerator, far.denominator, far.score) == (0, 1, 0.0)
    # Last year: only the house visited on its last day.
    compute_scores(year=year - 1)
    assert _score(year - 1, Level.TOWNSHIP, a.township.code).numerator == 1
    # A new visit moves the run's fingerprint: the next run recounts.
    house_visit(actor=a.worker, house=visited["houses"][2], data=VisitInput(visited_on=timezone.localdate()))
    assert compute_scores(year=year).rows_written > 0
    assert _score(year, Level.TOWNSHIP, a.township.code).numerator == 3


def test_drill_down_lists_the_houses_in_sight_and_names_nobody(client, visited):
    a, year = visited["a"], visited["year"]
    compute_scores(year=year)
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    url = reverse("assessment:score", args=[Level.TOWNSHIP, a.township.code])
    page = client.get(url, {"year": year, "indicator": "household_visits"})
    assert page.status_code == 200
    drill = page.context["drill"]
    codes = [h.address.code for h in visited["houses"]]
    assert drill.total == 3 and sorted(r[0] for r in drill.rows) == sorted(codes)
    assert drill.rows[0][3] == "–"  # the houses not visited this year come first
    body = page.content.decode()
    assert "张三" not in body and "入户走访覆盖率" in body
    worker = _score(year, Level.GRID_WORKER, str(a.worker.pk))
    own = drill_down(actor=user_for_role(Role.COUNTY_OFFICIAL), score=worker)
    assert [r[0] for r in own.rows if r[3] != "–"] == [codes[0]]  # the colleague's visit is not theirs
    # Another county's official: the page is a 404 and the drill itself lists nothing.
    ziyun = user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code="520425"))
    client.force_login(ziyun)
    assert client.get(url, {"year": year, "indicator": "household_visits"}).status_code == 404
    township = _score(year, Level.TOWNSHIP, a.township.code)
    assert drill_down(actor=ziyun, score=township).total == 0
    assert drill_down(actor=ziyun, score=worker).rows == []


def test_the_ranking_shows_it_and_its_queries_do_not_grow(client, visited):
    a, year = visited["a"], visited["year"]
    compute_scores(year=year)
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    ranking = reverse("assessment:ranking")
    score = reverse("assessment:score", args=[Level.TOWNSHIP, a.township.code])
    params = {"year": year, "indicator": "household_visits"}
    page = client.get(ranking, {"year": year})
    assert "入户走访覆盖率" in page.content.decode()
    before = (_queries(client, ranking, {"year": year}), _queries(client, score, params))
    admin = user_for_role(Role.ADMIN)
    for i in range(4):
        house, _residents = make_house(admin, a.grid, people=2, serial=20 + i, name=f"新增{i}组")
        house_visit(actor=a.worker, house=house, data=VisitInput(visited_on=timezone.localdate()))
    compute_scores(year=year)
    after = (_queries(client, ranking, {"year": year}), _queries(client, score, params))
    assert after == before, (before, after)
    assert _score(year, Level.TOWNSHIP, a.township.code).denominator == 7


def test_a_house_moved_or_removed_by_any_door_makes_the_next_run_recount(visited):
    """Coverage counts houses per grid: a house moved to another grid or deleted changes the
    denominators, so it must move the fingerprint as a new visit does (a statement trigger sees
    every door; here the ORM's own UPDATE and DELETE, as an import or the admin would write)."""
    from registry.models import House, Resident

    a, z, year = visited["a"], visited["z"], visited["year"]
    compute_scores(year=year)
    assert compute_scores(year=year).rows_written == 0  # nothing changed: nothing read or written
    moved = visited["houses"][1]  # visited this year by the colleague
    far = Grid.objects.filter(code__startswith="520425").order_by("code").first()
    House.objects.filter(pk=moved.pk).update(grid=far, village=far.village)
    assert compute_scores(year=year).rows_written > 0
    township = _score(year, Level.TOWNSHIP, a.township.code)
    assert (township.numerator, township.denominator) == (1, 2)
    assert _score(year, Level.TOWNSHIP, z.township.code).denominator == 2
    gone = House.objects.filter(grid=far).exclude(pk=moved.pk)
    Resident.objects.filter(house__in=gone).delete()  # a house goes once its people are gone
    gone.delete()
    assert compute_scores(year=year).rows_written > 0
    assert _score(year, Level.TOWNSHIP, z.township.code).denominator == 1
    House.objects.filter(pk=-1).update(use=House.Use.VACANT)  # no row changed: no recount
    assert compute_scores(year=year).rows_written == 0
