"""The six projects' figures from the rollups equal the recount from the records.

People are counted once each by the keyed hash of their ID number, also when two counties
enrolled the same number (two records), over every period the dashboards and the metrics API
ask for; and after moves, closures, corrections and deletions.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.roles import Role, SpecialProject
from grids.models import Region
from rollups.models import Tally
from rollups.services import fold
from special_groups import selectors
from special_groups.demo import load_demo_special_groups
from special_groups.models import CaseTask, Enrollment, Guardian, Person, ServiceFacility, SubsidyPayment
from tests.factories import user_for_role
from tests.special_groups.helpers import OTHER_COUNTY_VILLAGE_PREFIX, enroll, id_number, person, village

pytestmark = pytest.mark.django_db

XIXIU, ZIYUN = "520402", "520425"
TODAY = timezone.localdate()


def _periods() -> list[tuple[date | None, date | None]]:
    years = [2024, 2025, TODAY.year, TODAY.year + 1]
    spans = [(None, None)]
    spans += [selectors.period(y) for y in years]
    spans += [selectors.period(y, m) for y in (2025, TODAY.year) for m in (1, 3, 4, TODAY.month, 12)]
    return spans


def _regions() -> list[Region]:
    return list(Region.objects.filter(code__in=["5204", XIXIU, ZIYUN, "520402005"])) + [
        village(),
        village(OTHER_COUNTY_VILLAGE_PREFIX),
    ]


def _assert_rollups_equal_recount() -> None:
    for region, (start, end) in itertools.product(_regions(), _periods()):
        start, end = start or selectors.ALL_RECORDS, end or TODAY
        rolled = selectors.metrics(region=region, start=start, end=end)
        raw = selectors.metrics(region=region, start=start, end=end, raw=True)
        assert rolled == raw, (region.code, start, end)
    for region, year in itertools.product(_regions(), (2024, 2025, TODAY.year)):
        rolled = selectors._monthly_figures(region=region, year=year)
        assert rolled == selectors._monthly_figures(region=region, year=year, raw=True), (region.code, year)
    for region in _regions():
        assert selectors.latest_year(region=region) == selectors.latest_year(region=region, raw=True)


@pytest.fixture
def people():
    home, home2, far = village(), village("520402006"), village(OTHER_COUNTY_VILLAGE_PREFIX)
    twin_number = id_number()
    twins = [person(region=home, number=twin_number), person(region=far, number=twin_number)]
    # 回归: releases over two years, one in the future, the same ID number enrolled in two counties.
    releases = [
        date(2025, 3, 10),
        date(2025, 3, 28),
        date(2025, 4, 2),
        date(2024, 12, 30),
        TODAY + timedelta(5),
    ]
    for i, released in enumerate(releases):
        enroll(
            SpecialProject.HUIGUI,
            who=person(region=(home, home2, far)[i % 3]),
            release_date=released,
            pickup_outcome="picked_up" if i % 2 == 0 else "not_picked_up",
        )
    for twin, released in zip(twins, (date(2025, 3, 5), date(2025, 5, 9)), strict=True):
        enroll(SpecialProject.HUIGUI, who=twin, release_date=released, pickup_outcome="picked_up")
    # 安宁: open, closed, closed on a period's last day, the twins in two counties with overlapping stays.
    stays = [
        (date(2025, 1, 5), None),
        (date(2024, 6, 1), date(2025, 3, 31)),
        (date(2025, 2, 1), date(2025, 12, 31)),
    ]
    patients = [
        enroll(SpecialProject.ANNING, who=person(region=(home, far, home2)[i]), enrolled_on=s, closed_on=c)
        for i, (s, c) in enumerate(stays)
    ]
    anning_twins = [person(region=home, number=twin_number), person(region=far, number=twin_number)]
    patients += [
        enroll(
            SpecialProject.ANNING,
            who=anning_twins[0],
            enrolled_on=date(2025, 1, 1),
            closed_on=date(2025, 6, 1),
        ),
        enroll(SpecialProject.ANNING, who=anning_twins[1], enrolled_on=date(2025, 5, 1)),
    ]
    for p in patients[::2]:
        Guardian.objects.create(enrollment=p, name="监护测试", id_number_hash="x", relation="父母")
    # Visits (on time, late, not done, due in the future) and overdue tasks.
    for i, p in enumerate(patients):
        due = date(2025, 3, 15) + timedelta(days=20 * i)
        done = [due, due + timedelta(3), None, due - timedelta(1), None][i]
        CaseTask.objects.create(enrollment=p, kind="visit", due_on=due, done_on=done)
        CaseTask.objects.create(enrollment=p, kind="visit", due_on=TODAY + timedelta(days=3 + i))
        if done is None:
            CaseTask.objects.create(
                enrollment=p, kind="pickup", due_on=due + timedelta(1), overdue_since=due + timedelta(2)
            )
    # Subsidies: the twins paid in both counties, the same person twice in one month.
    for p, amount, paid in (
        (patients[0], "1200", date(2025, 3, 20)),
        (patients[0], "300.50", date(2025, 3, 25)),
        (patients[1], "600", date(2025, 4, 2)),
        (patients[3], "800", date(2025, 3, 1)),
        (patients[4], "800", date(2025, 3, 2)),
        (patients[4], "100", TODAY),
    ):
        SubsidyPayment.objects.create(enrollment=p, amount=Decimal(amount), paid_on=paid)
    # 育新: students of a special school, one of them enrolled next year.
    school = ServiceFacility.objects.create(
        project="yuxin", kind="special_school", name="测试学校", region=home.parent
    )
    for on in (date(2025, 2, 1), date(2024, 9, 1), date(TODAY.year + 1, 2, 1)):
        enroll(SpecialProject.YUXIN, who=person(region=home), facility=school, enrolled_on=on)
    return {"twins": twins, "patients": patients, "school": school, "far": far, "home": home}


def test_every_figure_equals_the_recount_after_any_change(people):
    fold()
    _assert_rollups_equal_recount()
    city = Region.objects.get(code="5204")
    m = selectors.metrics(region=city, start=date(2025, 1, 1), end=date(2025, 12, 31))
    assert m.pickup_targets and m.patients and m.subsidy_payees and m.visits_due and m.special_school_students

    # A person moves county; an ID number is corrected; a stay closes; a guardian goes; a task is
    # done; a payment is corrected and another deleted; a facility changes kind; an enrolment goes.
    Person.objects.filter(pk=people["twins"][1].pk).update(region=people["home"])
    Person.objects.filter(pk=people["patients"][2].person_id).update(id_number_hash="corrected")
    Enrollment.objects.filter(pk=people["patients"][0].pk).update(closed_on=date(2025, 4, 30))
    Guardian.objects.filter(enrollment=people["patients"][0]).delete()
    CaseTask.objects.filter(done_on__isnull=True, kind="visit").update(done_on=date(2025, 6, 1))
    SubsidyPayment.objects.filter(amount=Decimal("600")).update(
        amount=Decimal("650"), paid_on=date(2025, 5, 1)
    )
    SubsidyPayment.objects.filter(amount=Decimal("100")).delete()
    ServiceFacility.objects.filter(pk=people["school"].pk).update(kind="boarding_school")
    gone = Enrollment.objects.filter(project="huigui").order_by("pk").first()
    gone.delete()
    fold()
    _assert_rollups_equal_recount()

    before = set(
        Tally.objects.values_list("measure", "region_id", "dim_a", "dim_b", "dim_c", "bucket", "n", "amount")
    )
    fold(full=True)  # the rebuild counts exactly what the folds counted
    after = set(
        Tally.objects.values_list("measure", "region_id", "dim_a", "dim_b", "dim_c", "bucket", "n", "amount")
    )
    assert after == before


def test_a_twin_record_is_one_person_in_the_city_and_one_in_each_county(people):
    fold()
    city, xixiu, ziyun = (Region.objects.get(code=c) for c in ("5204", XIXIU, ZIYUN))
    whole = [
        selectors.metrics(region=r, start=date(2025, 1, 1), end=date(2025, 12, 31))
        for r in (city, xixiu, ziyun)
    ]
    # The twins count in both counties, once in the city: the city is less than the sum.
    assert whole[0].pickup_targets < whole[1].pickup_targets + whole[2].pickup_targets
    assert whole[0].subsidy_payees < whole[1].subsidy_payees + whole[2].subsidy_payees


def test_small_counts_stay_suppressed_on_the_rolled_up_figures(people):
    from anshun.dashboard import collect_tiles

    xixiu = Region.objects.get(code=XIXIU)
    official = user_for_role(Role.COUNTY_OFFICIAL, region=xixiu)
    tiles = {t.key: t for t in collect_tiles(actor=official, region=xixiu)}
    assert tiles["special_groups.picked_up"].suppressed and tiles["special_groups.picked_up"].value is None
    assert tiles["special_groups.patients"].display == "<5"
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI, region=xixiu)
    own = {t.key: t for t in selectors.project_tiles(actor=officer, region=xixiu)}
    raw = selectors.metrics(region=xixiu, start=selectors.ALL_RECORDS, end=TODAY, raw=True)
    assert (
        own["special_groups.picked_up"].value == raw.picked_up
        and not own["special_groups.picked_up"].suppressed
    )
    # Complementary suppression over the months of a year: one hidden month never stands alone.
    series = selectors.monthly_series(actor=official, region=xixiu, year=2025)
    hidden, total_hidden = series["hidden"]["special_groups.pickup_rate"]
    assert any(hidden) and (sum(hidden) != 1 or total_hidden)


def test_the_demo_figures_are_computed_and_equal_the_rollups():
    """The article's figures (../shared/seed/FIGURES.md) come out of the demo's records, and the
    rollups say exactly what the recount says."""
    load_demo_special_groups()
    fold()
    city = Region.objects.get(code="5204")
    for start, end in (selectors.period(2017), (selectors.ALL_RECORDS, TODAY), selectors.period(2017, 6)):
        rolled = selectors.metrics(region=city, start=start, end=end)
        assert rolled == selectors.metrics(region=city, start=start, end=end, raw=True), (start, end)
    m = selectors.metrics(region=city, start=date(2017, 1, 1), end=date(2017, 12, 31))
    assert m.picked_up == 1299 and round(m.pickup_rate) == 95 and m.patients == 9006
    for county in Region.objects.filter(parent=city)[:3]:
        assert selectors._monthly_figures(region=county, year=2017) == selectors._monthly_figures(
            region=county, year=2017, raw=True
        )


def test_days_of_ended_months_are_merged_and_every_figure_still_equals_the_recount(people):
    """Visits, payments and people counts of months that ended before last month keep one row per
    key and month, and every period the pages ask for still equals the recount."""
    from rollups.services import MONTHLY_MEASURES, _month_line

    fold(full=True)
    line = _month_line()
    days = [
        bucket
        for bucket in Tally.objects.filter(measure__in=MONTHLY_MEASURES, bucket__lt=line).values_list(
            "bucket", flat=True
        )
    ]
    assert days, "the demo has history before the line"
    assert all(bucket.day == 1 and bucket.hour == 0 for bucket in days)
    _assert_rollups_equal_recount()
    # A payment recorded late for an old month lands on its day and is merged by the next fold.
    enrollment = Enrollment.objects.filter(subsidy_payments__isnull=False).order_by("pk").first()
    old_day = (line - timedelta(days=40)).date()
    SubsidyPayment.objects.create(enrollment=enrollment, amount=Decimal("200"), paid_on=old_day)
    fold()
    assert all(
        bucket.day == 1
        for bucket in Tally.objects.filter(measure="sg.subsidy", bucket__lt=line).values_list(
            "bucket", flat=True
        )
    )
    _assert_rollups_equal_recount()
