"""社区矫正 as a project of the registry: its facts, check-ins and their plan, its figures, and
the same protections as every project (a 社区矫正 officer sees only that project; other officers,
officials and admins get no record, no existence, only suppressed counts; the access trail; notes
encrypted at rest); 解戒 people counted in 回归."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role, SpecialProject
from grids.models import Region
from special_groups import selectors
from special_groups.models import AccessRecord, CaseTask, CheckIn, Enrollment
from special_groups.services import plan_tasks
from tests.factories import user_for_role
from tests.special_groups.helpers import OTHER_COUNTY_VILLAGE_PREFIX, enroll, id_number, person, village

pytestmark = pytest.mark.django_db

JZ = SpecialProject.JIAOZHENG


def _term(**days):
    today = timezone.localdate()
    return {
        "correction_kind": "huanxing",
        "term_start": today - timedelta(days=days.get("started", 40)),
        "term_end": today + timedelta(days=days.get("left", 300)),
        "enrolled_on": today - timedelta(days=days.get("started", 40)),
    }


@pytest.fixture
def caseloads():
    home, far = village(), village(OTHER_COUNTY_VILLAGE_PREFIX)
    return {
        "jz_home": enroll(JZ, who=person(name="矫正甲", region=home), **_term()),
        "jz_far": enroll(JZ, who=person(name="矫正乙", region=far), **_term()),
        "huigui_home": enroll(SpecialProject.HUIGUI, who=person(region=home)),
    }


def test_an_officer_enrols_with_the_projects_facts_and_bad_facts_are_refused(api_client):
    officer = user_for_role(Role.CASE_OFFICER, project=JZ)
    api_client.force_authenticate(officer)
    url = reverse("special-enrollment-list")
    base = {"name": "矫正丙", "id_number": id_number(), "region": village().code}
    today = timezone.localdate()
    missing = api_client.post(url, base, format="json")
    assert missing.status_code == 400 and {"correction_kind", "term_start", "term_end"} <= set(missing.json())
    backwards = {
        **base,
        "correction_kind": "jiashi",
        "term_start": str(today),
        "term_end": str(today - timedelta(1)),
    }
    assert "term_end" in api_client.post(url, backwards, format="json").json()
    foreign = {
        **base,
        "correction_kind": "jiashi",
        "term_start": str(today),
        "term_end": str(today + timedelta(90)),
    }
    assert "risk_grade" in api_client.post(url, {**foreign, "risk_grade": 2}, format="json").json()
    assert not Enrollment.objects.exists()
    made = api_client.post(url, foreign, format="json")
    assert made.status_code == 201, made.json()
    assert (made.json()["correction_kind"], made.json()["term_end"]) == ("jiashi", str(today + timedelta(90)))


def test_check_ins_are_planned_recorded_and_close_the_expected_one(client, caseloads):
    jz = caseloads["jz_home"]
    today = timezone.localdate()
    plan_tasks(today=today)
    expected = CaseTask.objects.get(enrollment=jz, kind="check_in")
    assert expected.due_on == jz.term_start + timedelta(days=30) and expected.done_on is None
    officer = user_for_role(Role.CASE_OFFICER, project=JZ)
    client.force_login(officer)
    url = reverse("special_groups:record", args=[jz.pk])
    page = client.get(url)
    assert b'data-testid="checkin-form"' in page.content
    future = {
        "action": "checkin",
        "checkin-checked_in_on": str(today + timedelta(1)),
        "checkin-way": "phone",
        "checkin-outcome": "reported",
    }
    refused = client.post(url, future)
    assert refused.status_code == 400 and not CheckIn.objects.exists()
    done = client.post(
        url, {**future, "checkin-checked_in_on": str(today), "checkin-note": "按时到司法所报到"}
    )
    assert done.status_code == 302
    check_in = CheckIn.objects.get(enrollment=jz)
    assert (check_in.way, check_in.outcome, check_in.by) == ("phone", "reported", officer)
    expected.refresh_from_db()
    assert expected.done_on == today
    # The next expected check-in is planned from the one made; none past the end of the term.
    plan_tasks(today=today)
    assert CaseTask.objects.filter(
        enrollment=jz, kind="check_in", done_on__isnull=True
    ).get().due_on == today + timedelta(30)
    ending = enroll(JZ, who=person(region=village()), **_term(started=40, left=5))
    plan_tasks(today=today)
    assert CaseTask.objects.filter(enrollment=ending, kind="check_in").exists()  # due 10 days ago
    short = enroll(JZ, who=person(region=village()), **_term(started=1, left=10))
    plan_tasks(today=today)
    assert not CaseTask.objects.filter(enrollment=short).exists()  # due after the term ends


def test_check_ins_are_refused_for_other_projects_and_other_officers(api_client, caseloads):
    today = str(timezone.localdate())
    body = {"checked_in_on": today, "way": "in_person", "outcome": "reported"}
    huigui_officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI)
    api_client.force_authenticate(huigui_officer)
    own = api_client.post(reverse("special-enrollment-check-ins", args=[caseloads["huigui_home"].pk]), body)
    assert own.status_code == 400 and "enrollment" in own.json()
    other = api_client.post(reverse("special-enrollment-check-ins", args=[caseloads["jz_home"].pk]), body)
    assert other.status_code == 404
    jz_officer = user_for_role(Role.CASE_OFFICER, project=JZ)  # in 西秀区's township
    api_client.force_authenticate(jz_officer)
    far = api_client.post(reverse("special-enrollment-check-ins", args=[caseloads["jz_far"].pk]), body)
    assert far.status_code == 404
    for role in (Role.CITY_OFFICIAL, Role.AUDITOR, Role.ADMIN, Role.GRID_WORKER):
        api_client.force_authenticate(user_for_role(role))
        response = api_client.post(
            reverse("special-enrollment-check-ins", args=[caseloads["jz_home"].pk]), body
        )
        assert response.status_code in (403, 404)
    assert not CheckIn.objects.exists()


OFFICER_REGIONS = {"xixiu": "520402", "ziyun": "520425", "city": "5204"}


@pytest.mark.parametrize("project", SpecialProject.values)
@pytest.mark.parametrize("where", OFFICER_REGIONS)
def test_only_community_correction_officers_see_its_people(api_client, client, caseloads, project, where):
    officer = user_for_role(
        Role.CASE_OFFICER, project=project, region=Region.objects.get(code=OFFICER_REGIONS[where])
    )
    api_client.force_authenticate(officer)
    listed = {row["id"] for row in api_client.get(reverse("special-enrollment-list")).json()["results"]}
    for key in ("jz_home", "jz_far"):
        e = caseloads[key]
        visible = project == JZ and e.person.region.path.startswith(officer.region.path)
        assert (e.pk in listed) == visible
        detail = api_client.get(reverse("special-enrollment-detail", args=[e.pk]))
        assert detail.status_code == (200 if visible else 404)
    client.force_login(officer)
    tasks_page = client.get(reverse("special_groups:tasks")).content.decode()
    if project != JZ:
        assert "矫正" not in tasks_page


def test_officials_get_suppressed_counts_and_no_records(api_client, client, caseloads):
    city = Region.objects.get(code="5204")
    for role in (Role.CITY_OFFICIAL, Role.COUNTY_OFFICIAL, Role.AUDITOR):
        official = user_for_role(role)
        tiles = {t.key: t for t in selectors.project_tiles(actor=official, region=official.region)}
        assert tiles["special_groups.people:jiaozheng"].suppressed  # two people: fewer than five
        assert tiles["special_groups.people:jiaozheng"].value is None
        assert "special_groups.people:hongsidai" not in tiles  # never shown outside, not even hidden
        api_client.force_authenticate(official)
        for e in caseloads.values():
            assert api_client.get(reverse("special-enrollment-detail", args=[e.pk])).status_code in (403, 404)
    officer = user_for_role(Role.CASE_OFFICER, project=JZ, region=city)
    own = {t.key: t for t in selectors.project_tiles(actor=officer, region=city)}
    assert own["special_groups.people:jiaozheng"].value == 2


def test_reads_are_logged_and_notes_are_encrypted(client, caseloads):
    jz = caseloads["jz_home"]
    officer = user_for_role(Role.CASE_OFFICER, project=JZ)
    client.force_login(officer)
    client.get(reverse("special_groups:record", args=[jz.pk]))
    assert AccessRecord.objects.filter(actor=officer, action="view", enrollment=jz, project=JZ).exists()
    client.post(
        reverse("special_groups:record", args=[jz.pk]),
        {
            "action": "checkin",
            "checkin-checked_in_on": str(timezone.localdate()),
            "checkin-way": "electronic",
            "checkin-outcome": "late",
            "checkin-note": "定位核查迟到两日",
        },
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM special_groups_checkin")
        (stored,) = cursor.fetchone()
    assert "定位" not in stored and stored.startswith("gAAAAA")
    assert CheckIn.objects.get().note == "定位核查迟到两日"


def test_check_in_compliance_and_rehab_releases_equal_the_recount(caseloads):
    from rollups.services import fold

    today = timezone.localdate()
    jz = caseloads["jz_home"]
    CaseTask.objects.create(
        enrollment=jz, kind="check_in", due_on=today - timedelta(5), done_on=today - timedelta(6)
    )
    CaseTask.objects.create(
        enrollment=jz, kind="check_in", due_on=today - timedelta(3), done_on=today - timedelta(1)
    )
    released = today - timedelta(days=2)
    enroll(
        SpecialProject.HUIGUI,
        who=person(),
        release_date=released,
        release_kind="jiejie",
        pickup_outcome="picked_up",
    )
    enroll(SpecialProject.HUIGUI, who=person(), release_date=released, release_kind="xingshi")
    fold()
    city = Region.objects.get(code="5204")
    start, end = selectors.period(today.year)
    rolled = selectors.metrics(region=city, start=start, end=end)
    assert rolled == selectors.metrics(region=city, start=start, end=end, raw=True)
    assert (rolled.checkins_due, rolled.checkins_on_time) == (2, 1)
    assert (rolled.pickup_targets, rolled.released_from_rehab) == (2, 1)
    assert dict(rolled.in_caseload)[JZ] == 2
