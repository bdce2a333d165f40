"""Who may read whose record: a role × project × jurisdiction matrix on the REST endpoints and
pages, the access trail and its review by auditors, export rights, and query counts."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from accounts.roles import Role, SpecialProject
from grids.models import Region
from special_groups.models import AccessRecord
from tests.factories import user_for_role
from tests.special_groups.helpers import OTHER_COUNTY_VILLAGE_PREFIX, enroll, person, village

pytestmark = pytest.mark.django_db


@pytest.fixture
def caseloads():
    """Two people in 西秀区 and one in 紫云; the first is in two projects."""
    home = village()
    far = village(OTHER_COUNTY_VILLAGE_PREFIX)
    both = person(name="两项测试", region=home)
    return {
        "huigui_home": enroll(SpecialProject.HUIGUI, who=both),
        "anning_home": enroll(SpecialProject.ANNING, who=both, risk_grade=2),
        "anning_far": enroll(SpecialProject.ANNING, who=person(region=far)),
        "hongsidai_home": enroll(SpecialProject.HONGSIDAI, who=person(region=home)),
    }


def _visible(enrollment, user) -> bool:
    """The rule, stated independently: case officers of the project, inside their region."""
    return (
        user.role == Role.CASE_OFFICER
        and user.special_project == enrollment.project
        and enrollment.person.region.path.startswith(user.region.path)
    )


OFFICER_REGIONS = {"xixiu": "520402", "ziyun": "520425", "city": "5204"}
USERS = [
    (Role.CASE_OFFICER, project, where) for project in SpecialProject.values for where in OFFICER_REGIONS
] + [
    (role, "", "xixiu")
    for role in (
        Role.CITY_OFFICIAL,
        Role.COUNTY_OFFICIAL,
        Role.AUDITOR,
        Role.GRID_WORKER,
        Role.MEDIATOR,
        Role.ADMIN,
    )
]


@pytest.mark.parametrize("role, project, where", USERS, ids=[f"{r}-{p}-{w}" for r, p, w in USERS])
def test_role_project_jurisdiction_matrix(api_client, caseloads, role, project, where):
    region = Region.objects.get(code=OFFICER_REGIONS[where]) if role == Role.CASE_OFFICER else None
    user = user_for_role(role, project=project, region=region)
    api_client.force_authenticate(user)
    listing = api_client.get(reverse("special-enrollment-list"))
    if role != Role.CASE_OFFICER:
        # Roles without ``special_groups.handle`` are refused before any row is read, alike for
        # every enrolment id (existing or not).
        # (Platform admins pass the capability gate but are shown no person records at all.)
        assert listing.status_code == 403 or listing.json()["results"] == []
        for enrollment in caseloads.values():
            detail = api_client.get(reverse("special-enrollment-detail", args=[enrollment.pk]))
            assert detail.status_code in (403, 404)
        return
    listed = {row["id"] for row in listing.json()["results"]}
    expected = {e.pk for e in caseloads.values() if _visible(e, user)}
    assert listed == expected
    for enrollment in caseloads.values():
        detail = api_client.get(reverse("special-enrollment-detail", args=[enrollment.pk]))
        assert detail.status_code == (200 if _visible(enrollment, user) else 404)
        reveal = api_client.post(
            reverse("special-enrollment-reveal", args=[enrollment.pk]), {"purpose": "home visit"}
        )
        assert reveal.status_code == (200 if _visible(enrollment, user) else 404)


def test_a_person_in_two_projects_shows_each_officer_only_their_part(api_client, caseloads):
    returner = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI)
    api_client.force_authenticate(returner)
    api_client.force_login(returner)
    rows = api_client.get(reverse("special-enrollment-list")).json()["results"]
    assert [(r["project"], r["risk_grade"]) for r in rows] == [("huigui", None)]
    page = api_client.get(reverse("special_groups:record", args=[caseloads["huigui_home"].pk]))
    assert page.status_code == 200
    assert "风险等级" not in page.content.decode() and "Risk grade" not in page.content.decode()
    assert (
        api_client.get(reverse("special_groups:record", args=[caseloads["anning_home"].pk])).status_code
        == 404
    )


def test_lists_are_masked_and_full_values_need_a_stated_purpose(api_client, caseloads):
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI)
    api_client.force_authenticate(officer)
    enrollment = caseloads["huigui_home"]
    number = enrollment.person.id_number
    row = api_client.get(reverse("special-enrollment-list")).json()["results"][0]
    assert row["name"] == "两***" and row["id_number"] == f"{number[:6]}********{number[-4:]}"
    url = reverse("special-enrollment-reveal", args=[enrollment.pk])
    refused = api_client.post(url, {"purpose": ""})
    assert refused.status_code == 400 and "purpose" in refused.json()
    full = api_client.post(url, {"purpose": "核实身份，上门回访"}).json()
    assert (full["name"], full["id_number"]) == ("两项测试", number)


def test_every_read_is_logged_and_auditors_review_it(api_client, client, caseloads):
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI)
    enrollment = caseloads["huigui_home"]
    api_client.force_authenticate(officer)
    api_client.get(reverse("special-enrollment-detail", args=[enrollment.pk]))
    api_client.post(
        reverse("special-enrollment-reveal", args=[enrollment.pk]), {"purpose": "pick-up planning"}
    )
    client.force_login(officer)
    client.get(reverse("special_groups:record", args=[enrollment.pk]))
    client.post(
        reverse("special_groups:record", args=[enrollment.pk]), {"action": "reveal", "purpose": "回访核实"}
    )
    trail = list(AccessRecord.objects.order_by("id").values_list("actor", "action", "enrollment", "purpose"))
    assert trail == [
        (officer.pk, "view", enrollment.pk, ""),
        (officer.pk, "reveal", enrollment.pk, "pick-up planning"),
        (officer.pk, "view", enrollment.pk, ""),
        (officer.pk, "reveal", enrollment.pk, "回访核实"),
    ]
    # Auditors of the city and of 西秀区 see it; an auditor of 紫云 and the officer do not.
    expectations = [
        (user_for_role(Role.AUDITOR), 4),
        (user_for_role(Role.AUDITOR, region=Region.objects.get(code="520402")), 4),
        (user_for_role(Role.AUDITOR, region=Region.objects.get(code="520425")), 0),
        (officer, 0),
    ]
    for user, n in expectations:
        api_client.force_authenticate(user)
        assert api_client.get(reverse("special-access-record-list")).json()["count"] == n
    client.force_login(expectations[0][0])
    assert client.get(reverse("special_groups:access-log")).status_code == 200
    client.force_login(officer)
    assert client.get(reverse("special_groups:access-log")).status_code == 403


def test_exports_are_limited_to_authorised_roles_and_logged(client, caseloads):
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI)
    client.force_login(officer)
    response = client.get(reverse("special_groups:caseload"), {"export": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(rows) == 2 and rows[1][1] == "两***"
    assert "两项测试" not in str(rows)
    record = AccessRecord.objects.get(action="export")
    assert (record.actor, record.row_count) == (officer, 1)
    for user in (
        user_for_role(Role.CITY_OFFICIAL),
        user_for_role(Role.CASE_OFFICER, project=SpecialProject.HONGSIDAI),  # the most restricted project
    ):
        client.force_login(user)
        assert client.get(reverse("special_groups:caseload"), {"export": "csv"}).status_code == 403
    assert AccessRecord.objects.filter(action="export").count() == 1


@pytest.mark.parametrize("basename", ["special-enrollment", "special-task"])
def test_list_query_count_is_independent_of_page_size(api_client, basename):
    from special_groups.models import CaseTask

    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING)
    for i in range(12):
        e = enroll(SpecialProject.ANNING, who=person(name=f"计数{i}"), risk_grade=i % 6)
        CaseTask.objects.create(enrollment=e, kind="visit", due_on="2026-02-01")
    api_client.force_authenticate(officer)
    counts = {}
    for size in (1, 5, 50):
        with CaptureQueriesContext(connection) as captured:
            response = api_client.get(reverse(f"{basename}-list"), {"page_size": size})
        assert response.status_code == 200 and len(response.json()["results"]) == min(size, 12)
        counts[size] = len(captured)
    assert len(set(counts.values())) == 1, counts
    assert counts[1] <= 4


def test_caseload_page_query_count_is_fixed(client):
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING)
    client.force_login(officer)
    counts = []
    for n in (2, 10):
        for i in range(n):
            enroll(SpecialProject.ANNING, who=person(name=f"页{n}-{i}"))
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("special_groups:caseload")).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1], counts
