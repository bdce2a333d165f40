"""Each metric against values worked out by hand from a small seeded caseload; small-count
suppression outside the project; the article's figures out of the demo records."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.roles import Role, SpecialProject
from anshun.dashboard import collect_tiles
from grids.models import Region
from special_groups.demo import load_demo_special_groups
from special_groups.models import CaseTask, Guardian, ServiceFacility, SubsidyPayment
from special_groups.selectors import metrics, monthly_series, period, project_tiles
from tests.factories import user_for_role
from tests.special_groups.helpers import OTHER_COUNTY_VILLAGE_PREFIX, enroll, person, village

pytestmark = pytest.mark.django_db

XIXIU = "520402"


@pytest.fixture
def seeded():
    home, far = village(), village(OTHER_COUNTY_VILLAGE_PREFIX)
    # 回归, March 2025 in 西秀区: 4 released, 3 picked up; one released in 紫云 (not counted).
    for outcome in ("picked_up", "picked_up", "picked_up", "not_picked_up"):
        enroll(
            SpecialProject.HUIGUI,
            who=person(region=home),
            release_date=date(2025, 3, 10),
            pickup_outcome=outcome,
        )
    enroll(
        SpecialProject.HUIGUI,
        who=person(region=far),
        release_date=date(2025, 3, 10),
        pickup_outcome="picked_up",
    )
    # 安宁: 3 patients in 西秀区, 2 with a guardian; one closed before the period ends is not counted.
    patients = [
        enroll(SpecialProject.ANNING, who=person(region=home), enrolled_on=date(2025, 1, 5)) for _ in range(3)
    ]
    enroll(
        SpecialProject.ANNING,
        who=person(region=home),
        enrolled_on=date(2025, 1, 5),
        closed_on=date(2025, 2, 1),
    )
    for p in patients[:2]:
        Guardian.objects.create(enrollment=p, name="监护测试", id_number_hash="x", relation="父母")
    # Visits due in March: 3 due, 2 done on or before the due date, 1 late.
    for p, done in zip(patients, (date(2025, 3, 14), date(2025, 3, 15), date(2025, 3, 20)), strict=True):
        CaseTask.objects.create(enrollment=p, kind="visit", due_on=date(2025, 3, 15), done_on=done)
    # Subsidy: 2 × 1200 in March, 1 × 600 in April.
    for p, amount, paid in ((patients[0], "1200", 3), (patients[1], "1200", 3), (patients[0], "600", 4)):
        SubsidyPayment.objects.create(enrollment=p, amount=Decimal(amount), paid_on=date(2025, paid, 20))
    # 育新: a special school in 西秀区 with 2 students; 雨露: centres in 2 townships and 3 villages of 西秀区.
    townships = list(Region.objects.filter(level="township", code__startswith=XIXIU).order_by("code")[:2])
    villages = list(Region.objects.filter(level="village", code__startswith=XIXIU).order_by("code")[:3])
    school = ServiceFacility.objects.create(
        project="yuxin", kind="special_school", name="测试学校", region=townships[0]
    )
    for _ in range(2):
        enroll(SpecialProject.YUXIN, who=person(region=home), facility=school, enrolled_on=date(2025, 2, 1))
    for r in townships + villages + villages[:1]:  # a second centre in one village counts once
        ServiceFacility.objects.create(project="yulu", kind="protection_centre", name="中心", region=r)
    ServiceFacility.objects.create(
        project="anning", kind="psychiatric_clinic", name="门诊", region=townships[1]
    )
    return Region.objects.get(code=XIXIU)


def test_every_metric_against_hand_computed_values(seeded):
    start, end = period(2025, 3)
    m = metrics(region=seeded, start=start, end=end)
    xixiu_townships = Region.objects.filter(level="township", code__startswith=XIXIU).count()
    xixiu_villages = Region.objects.filter(level="village", code__startswith=XIXIU).count()
    assert (m.pickup_targets, m.picked_up, m.pickup_rate) == (4, 3, 75.0)
    assert (m.patients, m.patients_with_guardian, m.guardian_coverage) == (3, 2, 66.67)
    assert (m.visits_due, m.visits_on_time, m.visit_compliance) == (3, 2, 66.67)
    assert m.subsidy_paid == Decimal("2400.00")
    assert (m.townships_with_centre, m.villages_with_centre) == (2, 3)
    assert m.township_centre_coverage == round(100 * 2 / xixiu_townships, 2)
    assert m.village_centre_coverage == round(100 * 3 / xixiu_villages, 2)
    assert (m.special_schools, m.special_school_students, m.clinics) == (1, 2, 1)
    april = metrics(region=seeded, start=period(2025, 4)[0], end=period(2025, 4)[1])
    assert (april.pickup_targets, april.pickup_rate, april.subsidy_paid) == (0, None, Decimal("600.00"))
    city = metrics(region=Region.objects.get(code="5204"), start=start, end=end)
    assert (city.pickup_targets, city.picked_up) == (5, 4)


def test_monthly_series_for_the_charts(seeded):
    huigui = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI, region=seeded)
    series = monthly_series(actor=huigui, region=seeded, year=2025)
    assert series["pickup_rate"][2] == 75.0 and series["pickup_rate"][3] is None
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING, region=seeded)
    series = monthly_series(actor=officer, region=seeded, year=2025)
    assert series["visit_compliance"][2] == 66.67
    assert series["subsidy_paid"][2:4] == [2400.0, 600.0]


def test_counts_below_five_are_suppressed_outside_the_project(seeded):
    region = Region.objects.get(code=XIXIU)
    official = user_for_role(Role.COUNTY_OFFICIAL)
    tiles = {t.key: t for t in collect_tiles(actor=official, region=region)}
    assert tiles["special_groups.picked_up"].suppressed and tiles["special_groups.picked_up"].display == "<5"
    assert tiles["special_groups.pickup_rate"].suppressed  # a rate over 4 people
    assert tiles["special_groups.patients"].display == "<5"
    assert tiles["special_groups.clinics"].value == 1  # facilities are not people
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI, region=region)
    own = {t.key: t for t in project_tiles(actor=officer, region=region)}
    assert (own["special_groups.picked_up"].value, own["special_groups.pickup_rate"].value) == (3, 75.0)
    assert own["special_groups.patients"].suppressed  # another project's count
    outsider = user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code="520425"))
    assert collect_tiles(actor=outsider, region=region) == []  # a region outside the official's scope


def test_the_demo_reproduces_the_article_by_computation():
    """The only test that loads the full demo (about 12,000 synthetic people). Every figure is
    computed here from the raw records (facilities, responses, representations, safe cells),
    never read from a stored figure."""
    load_demo_special_groups()
    assert load_demo_special_groups().skipped  # idempotent
    city = Region.objects.get(code="5204")
    m = metrics(region=city, start=date(2017, 1, 1), end=date(2017, 12, 31))
    assert m.special_schools == 2 and m.special_school_students >= 800
    assert m.picked_up == 1299 and round(m.pickup_rate) == 95
    assert m.patients == 9006 and m.guardian_coverage == 100.0
    assert m.clinics == 8 and m.subsidy_paid >= Decimal("21600000")
    assert (m.townships_with_centre, m.villages_with_centre) == (88, 1007)
    assert m.rural_kindergartens >= 260

    # 育新 ¥18M+ ("1800余万元"), 雨露 ¥800M+ ("8亿余元") and 1M+ m² ("100余万平方米") of
    # dormitories and canteens: sums over the facility records, checked against a raw sum.
    facilities = ServiceFacility.objects.all()
    yuxin = sum(f.investment or 0 for f in facilities if f.project == "yuxin")
    yulu = sum(f.investment or 0 for f in facilities if f.project == "yulu")
    area = sum(f.floor_area or 0 for f in facilities if f.project == "yulu" and f.kind == "boarding_school")
    assert (m.yuxin_investment, m.yulu_investment, m.dormitory_area) == (yuxin, yulu, area)
    assert Decimal("18000000") <= m.yuxin_investment < Decimal("19000000")
    assert Decimal("800000000") <= m.yulu_investment < Decimal("900000000")
    assert Decimal("1000000") <= m.dormitory_area < Decimal("1100000")
    # A county's share is its own facilities' sum, not a share of a stored total.
    xixiu = Region.objects.get(code=XIXIU)
    county = metrics(region=xixiu, start=date(2017, 1, 1), end=date(2017, 12, 31))
    assert county.yulu_investment == sum(
        f.investment or 0
        for f in facilities.filter(region__path__startswith=xixiu.path)
        if f.project == "yulu"
    )
    assert 0 < county.yulu_investment < m.yulu_investment

    # The survey rates "持续提升": several annual waves, each rate computed by the rollup from
    # the raw responses, rising year on year to the article's 2017 figures.
    from surveys.demo import load_demo_surveys
    from surveys.models import Answer, RegionMetric

    load_demo_surveys()
    rates = {}
    for metric in RegionMetric.objects.filter(level="city", month__isnull=True).select_related(
        "wave", "item"
    ):
        rates.setdefault(metric.item.metric, {})[metric.wave.year] = round(metric.rate, 2)
        counted = Answer.objects.filter(
            wave=metric.wave, item=metric.item, choice__in=metric.wave.rules.get(item=metric.item).counted
        ).count()
        assert metric.numerator == counted  # the rollup's count is the answers' count
    for metric, by_year in rates.items():
        years = sorted(by_year)
        assert len(years) >= 3, metric
        assert all(by_year[a] < by_year[b] for a, b in zip(years, years[1:], strict=False)), by_year
    assert (rates["security_sense"][2017], rates["satisfaction"][2017]) == (97.24, 98.09)

    # Litigation representation (代理诉讼) at the legal-service centres: a kind of record,
    # counted from the records for a lawyer's jurisdiction.
    from mediation.demo import load_demo
    from mediation.models import LitigationRepresentation, MediationCommittee
    from mediation.selectors import legal_service_counts

    load_demo()
    lawyer = user_for_role(Role.LAWYER, region=xixiu)
    in_xixiu = LitigationRepresentation.objects.filter(centre__region__path__startswith=xixiu.path).count()
    assert legal_service_counts(actor=lawyer)["representations"] == in_xixiu > 0
    # Four of the nine professional committees are named by the article; five are examples.
    professional = MediationCommittee.objects.filter(kind="professional")
    assert (professional.count(), professional.filter(is_demo=True).count()) == (9, 5)

    # 平安家庭 and 平安校园: records of those cell types (the article names no example of either).
    from safety_cells.demo import EXAMPLE_CELLS, ensure_cell_types, ensure_example_cells
    from safety_cells.models import SafetyCell

    ensure_example_cells(ensure_cell_types(), user_for_role(Role.ADMIN))
    for code in ("family", "campus"):
        cells = SafetyCell.objects.filter(cell_type__code=code)
        assert cells.count() == sum(1 for _n, t, _r in EXAMPLE_CELLS if t == code)
        assert all("演示" in c.name and c.evaluations.exists() for c in cells)


def test_planning_creates_pickup_and_visit_tasks_once_and_flags_overdue():
    from special_groups.services import plan_tasks

    today = timezone.localdate()
    soon = enroll(SpecialProject.HUIGUI, release_date=today + timedelta(days=3))
    enroll(SpecialProject.HUIGUI, release_date=today + timedelta(days=30))  # too early for a task
    grade3 = enroll(SpecialProject.ANNING, risk_grade=3, last_visit_on=today - timedelta(days=20))
    grade0 = enroll(SpecialProject.ANNING, risk_grade=0, last_visit_on=today - timedelta(days=20))
    first = plan_tasks(today=today)
    assert (first.pickup_tasks, first.visit_tasks, first.flagged_overdue) == (1, 2, 1)
    assert CaseTask.objects.get(enrollment=soon).due_on == soon.release_date
    assert CaseTask.objects.get(enrollment=grade3).overdue_since == today  # due 6 days ago (14-day interval)
    assert CaseTask.objects.get(enrollment=grade0).due_on == today + timedelta(days=70)
    again = plan_tasks(today=today)
    assert (again.pickup_tasks, again.visit_tasks, again.flagged_overdue) == (0, 0, 0)
    assert CaseTask.objects.count() == 3


def test_metrics_endpoint_by_region_and_month(api_client, seeded):
    url = "/api/special-metrics/520402/"
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI, region=seeded)
    api_client.force_authenticate(officer)
    tiles = {t["key"]: t for t in api_client.get(url, {"year": 2025, "month": 3}).json()}
    assert (tiles["special_groups.picked_up"]["value"], tiles["special_groups.pickup_rate"]["value"]) == (
        3,
        75.0,
    )
    # Two patients' subsidy is another project's figure for this officer: suppressed.
    assert tiles["special_groups.subsidy_paid"]["suppressed"] is True
    api_client.force_authenticate(
        user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING, region=seeded)
    )
    tiles = {t["key"]: t for t in api_client.get(url, {"year": 2025, "month": 3}).json()}
    assert tiles["special_groups.subsidy_paid"]["value"] == 2400
    april = {t["key"]: t for t in api_client.get(url, {"year": 2025, "month": 4}).json()}
    assert april["special_groups.subsidy_paid"]["value"] == 600
    api_client.force_authenticate(user_for_role(Role.COUNTY_OFFICIAL))
    tiles = {t["key"]: t for t in api_client.get(url, {"year": 2025, "month": 3}).json()}
    assert tiles["special_groups.picked_up"] == {
        **tiles["special_groups.picked_up"],
        "value": None,
        "suppressed": True,
    }
    assert api_client.get("/api/special-metrics/520425/").status_code == 404
    assert api_client.get(url, {"month": 13, "year": 2025}).status_code == 400
    api_client.force_authenticate(user_for_role(Role.GRID_WORKER))
    assert api_client.get("/api/special-metrics/520402005/").status_code in (403, 404)
