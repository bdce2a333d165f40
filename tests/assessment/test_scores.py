"""Scores computed from the records by the Celery run: values, ranks, idempotence; the pages read
them scoped (a county its townships, a township its offices, nothing outside); drill-down to the
records; weights and targets only through the command; fixed query counts."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from accounts.roles import Role
from anshun.commands import NotPermitted
from assessment.models import TOTAL, IndicatorTarget, Level, Score
from assessment.services import compute_scores, target_set
from tests.assessment.conftest import YEAR, incident, place
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


def _score(level, key, indicator):
    return Score.objects.get(year=YEAR, level=level, unit_key=key, indicator=indicator)


def test_scores_are_counted_from_the_records_and_ranked_among_peers(places):
    a, b = places["a"], places["b"]
    compute_scores(year=YEAR)
    on_time = _score(Level.TOWNSHIP, a.township.code, "on_time_closure")
    assert (on_time.numerator, on_time.denominator, on_time.value) == (2, 3, 66.67)
    assert _score(Level.TOWNSHIP, b.township.code, "on_time_closure").value == 100.0
    worker = _score(Level.GRID_WORKER, str(a.worker.pk), "discovery")
    assert (worker.numerator, worker.denominator) == (4, 1)
    assert on_time.score == 74.08  # 66.67 of a 90% target
    total_a = _score(Level.TOWNSHIP, a.township.code, TOTAL)
    total_b = _score(Level.TOWNSHIP, b.township.code, TOTAL)
    assert total_b.score > total_a.score and total_b.rank < total_a.rank
    # 紫云's township is ranked among 紫云's townships, not 西秀's.
    assert _score(Level.TOWNSHIP, places["z"].township.code, TOTAL).peer_group == "520425"


def test_a_rerun_writes_nothing_and_a_change_rewrites_only_its_rows(places):
    first = compute_scores(year=YEAR)
    assert first.rows_written > 0
    with CaptureQueriesContext(connection) as unchanged:
        assert compute_scores(year=YEAR).rows_written == 0
    # Nothing moved: the run compares its inputs' counters and reads no record.
    assert not any("incidents_incident" in q["sql"] for q in unchanged.captured_queries)
    incident(places["b"], month=7, closed_after_days=10)  # late
    again = compute_scores(year=YEAR)
    assert 0 < again.rows_written < first.rows_written
    assert _score(Level.TOWNSHIP, places["b"].township.code, "on_time_closure").value == 66.67


def test_targets_are_set_through_the_command_only(places):
    official = user_for_role(Role.COUNTY_OFFICIAL)
    with pytest.raises(NotPermitted):
        target_set(actor=official, year=YEAR, indicator="discovery", weight=Decimal(50), value=Decimal(1))
    city = user_for_role(Role.CITY_OFFICIAL)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        target_set(actor=city, year=YEAR, indicator="discovery", weight=Decimal(500), value=Decimal(1))
    with pytest.raises(ValidationError):
        target_set(actor=city, year=YEAR, indicator="no-such", weight=Decimal(5), value=Decimal(1))
    assert not IndicatorTarget.objects.filter(year=YEAR, indicator="discovery").exists()
    target_set(actor=city, year=YEAR, indicator="on_time_closure", weight=Decimal(25), value=Decimal("50"))
    compute_scores(year=YEAR)
    assert _score(Level.TOWNSHIP, places["a"].township.code, "on_time_closure").score == 100.0


def test_the_admin_door_goes_through_the_command(client, places):
    admin = user_for_role(Role.ADMIN)
    client.force_login(admin)
    url = reverse("admin:assessment_indicatortarget_add")
    response = client.post(url, {"year": YEAR, "indicator": "discovery", "weight": "150", "target": "5"})
    assert not IndicatorTarget.objects.filter(year=YEAR, indicator="discovery").exists()
    assert response.status_code in (200, 302)
    client.post(url, {"year": YEAR, "indicator": "discovery", "weight": "30", "target": "5"})
    assert IndicatorTarget.objects.get(year=YEAR, indicator="discovery").weight == 30


def test_a_county_sees_its_townships_and_a_township_its_offices(client, places):
    a, b, z = places["a"], places["b"], places["z"]
    compute_scores(year=YEAR)
    county = user_for_role(Role.COUNTY_OFFICIAL)  # 西秀区
    client.force_login(county)
    page = client.get(reverse("assessment:ranking"), {"year": YEAR})
    keys = {row.unit_key for row, _cells in page.context["rows"]}
    assert {a.township.code, b.township.code} <= keys and z.township.code not in keys
    assert all(key.startswith("520402") for key in keys)
    far = reverse("assessment:score", args=[Level.TOWNSHIP, z.township.code])
    assert client.get(far, {"year": YEAR}).status_code == 404
    assert client.get(far, {"year": YEAR, "indicator": "discovery"}).status_code == 404

    township = user_for_role(Role.TOWNSHIP_OFFICIAL, region=a.township)
    client.force_login(township)
    page = client.get(reverse("assessment:ranking"), {"year": YEAR})
    assert page.context["level"] == Level.GRID_OFFICE
    assert {row.unit_key for row, _cells in page.context["rows"]} == set(
        Score.objects.filter(
            year=YEAR, level=Level.GRID_OFFICE, region__path__startswith=a.township.path
        ).values_list("unit_key", flat=True)
    )
    assert a.office.code in {row.unit_key for row, _cells in page.context["rows"]}
    for other in (b.township.code, z.township.code):
        url = reverse("assessment:score", args=[Level.TOWNSHIP, other])
        assert client.get(url, {"year": YEAR}).status_code == 404
    # Roles without the dashboard see no ranking at all.
    client.force_login(user_for_role(Role.GRID_WORKER, office=a.office))
    assert client.get(reverse("assessment:ranking")).status_code == 403
    client.force_login(user_for_role(Role.CASE_OFFICER))
    assert client.get(reverse("assessment:ranking")).status_code == 403


def test_drill_down_lists_the_records_behind_a_score(client, places):
    a = places["a"]
    compute_scores(year=YEAR)
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    url = reverse("assessment:score", args=[Level.TOWNSHIP, a.township.code])
    page = client.get(url, {"year": YEAR, "indicator": "on_time_closure"})
    assert page.status_code == 200
    drill = page.context["drill"]
    assert drill.total == 3 and len(drill.rows) == 3
    reported = client.get(url, {"year": YEAR, "indicator": "discovery"}).context["drill"]
    assert reported.total == 4
    assert client.get(url, {"year": YEAR, "indicator": "no-such"}).status_code == 404


def test_print_and_export(client, places):
    compute_scores(year=YEAR)
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    printed = client.get(reverse("assessment:ranking"), {"year": YEAR, "print": 1})
    assert printed.status_code == 200 and b"print-report" in printed.content
    exported = client.get(reverse("assessment:ranking"), {"year": YEAR, "export": "xlsx"})
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(exported.streaming_content))).active
    names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert places["a"].township.name in names and places["z"].township.name not in names


def _queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def test_ranking_and_drill_down_query_counts_do_not_grow_with_the_data(client, places):
    compute_scores(year=YEAR)
    official = user_for_role(Role.COUNTY_OFFICIAL)
    client.force_login(official)
    a = places["a"]
    ranking = reverse("assessment:ranking")
    score = reverse("assessment:score", args=[Level.TOWNSHIP, a.township.code])
    _queries(client, ranking, {"year": YEAR})  # the process's first page reads the demo marks once
    before = (
        _queries(client, ranking, {"year": YEAR}),
        _queries(client, score, {"year": YEAR, "indicator": "discovery"}),
    )
    for township in ("520402002", "520402003", "520402004"):
        more = place(township)
        for month in range(1, 4):
            incident(more, month=month, closed_after_days=1)
    for month in range(1, 8):
        incident(a, month=month, closed_after_days=2)
    compute_scores(year=YEAR)
    after = (
        _queries(client, ranking, {"year": YEAR}),
        _queries(client, score, {"year": YEAR, "indicator": "discovery"}),
    )
    assert after == before, (before, after)


def test_visit_coverage_counts_tasks_never_people_and_leaves_out_hiv(client, places):
    from datetime import date

    from special_groups.models import CaseTask
    from tests.special_groups.helpers import enroll, person

    a = places["a"]
    home = a.grid.village
    for project, done in (("anning", True), ("yulu", False), ("hongsidai", True)):
        e = enroll(project, who=person(name="走访对象", region=home))
        CaseTask.objects.create(
            enrollment=e, kind="visit", due_on=date(YEAR, 5, 1), done_on=date(YEAR, 4, 30) if done else None
        )
    compute_scores(year=YEAR)
    visits = _score(Level.TOWNSHIP, a.township.code, "visit_coverage")
    assert (visits.numerator, visits.denominator) == (1, 2)  # 红丝带's visit is not counted
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    url = reverse("assessment:score", args=[Level.TOWNSHIP, a.township.code])
    page = client.get(url, {"year": YEAR, "indicator": "visit_coverage"})
    body = page.content.decode()
    assert "走访对象" not in body and "&lt;5" in body
    assert page.context["drill"].rows == [[home.name, "<5", "–"]]


def test_the_demo_loader_scores_the_records_and_the_pages_say_demo(client, places):
    from anshun.models import DemoDataset
    from assessment.demo import load_demo_assessment
    from grids.models import Region

    load_demo_assessment()
    assert DemoDataset.objects.filter(app_label="assessment").exists()
    townships = Region.objects.filter(level="township").count()
    assert Score.objects.filter(year=2017, level=Level.TOWNSHIP, indicator=TOTAL).count() == townships
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    page = client.get(reverse("assessment:ranking"), {"year": 2017})
    assert b'data-testid="demo-explanation"' in page.content
