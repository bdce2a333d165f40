"""The six projects' command boundary, tried as an attacker would (issue #12).

- Cross-project enrolment: a case officer who knows an ID number learns nothing from another
  project's (or another county's) record of it: the same answer as for an unknown number, a
  new record built from the officer's own data, and nothing of the other record in any
  response of any door (API, pages, export, admin, audit trail).
- Every command refuses an officer of another project with 404 (as for an id that does not
  exist) and a role without the capability with 403, and writes nothing, through every door.
- The admin is no side door.
- Small-count suppression on every aggregate door: tiles, year tiles, monthly charts, the
  officials' dashboard and the metrics API, with complementary suppression.
"""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.roles import Role, SpecialProject
from anshun.commands import COMMANDS, NotFound, NotPermitted
from anshun.dashboard import Cell, collect_tiles, suppress
from grids.models import Region
from special_groups import services
from special_groups.crypto import lookup_hash
from special_groups.models import (
    AccessRecord,
    CaseTask,
    CheckIn,
    Enrollment,
    Guardian,
    Person,
    SubsidyPayment,
    Visit,
)
from special_groups.selectors import monthly_series
from tests.factories import user_for_role
from tests.special_groups.helpers import OTHER_COUNTY_VILLAGE_PREFIX, enroll, id_number, person, village

pytestmark = pytest.mark.django_db

SECRET = {"name": "机密甲某", "phone": "13700001234", "address": "秘密巷9号"}
SECRETS = ("机密甲某", "机***", "13700001234", "137****1234", "秘密巷9号", "秘密巷")


def _secret_person(project: str, region: Region) -> Person:
    return enroll(
        project,
        who=Person.objects.create(
            project=project,
            region=region,
            id_number=(number := id_number(region.code[:6])),
            id_number_hash=lookup_hash(number),
            **SECRET,
        ),
    ).person


def _body(response) -> str:
    if hasattr(response, "streaming_content"):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def _assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked through {where}"


@pytest.fixture
def known_elsewhere():
    """An ID number known to 红丝带 in the officer's own county, and one known to the officer's
    own project (回归) in another county; each record holds SECRET."""
    home, far = village(), village(OTHER_COUNTY_VILLAGE_PREFIX)
    return {
        "other_project": _secret_person(SpecialProject.HONGSIDAI, home),
        "same_project_other_county": _secret_person(SpecialProject.HUIGUI, far),
    }


class TestCrossProjectEnrolment:
    """Item 1: enrolling an ID number known elsewhere links nothing and reveals nothing."""

    def _payload(self, number: str) -> dict:
        return {
            "name": "专干录入",
            "id_number": number,
            "region": village().code,
            "release_date": (timezone.localdate() + timedelta(days=10)).isoformat(),
        }

    def test_the_answer_is_the_same_whatever_exists_elsewhere(self, api_client, client, known_elsewhere):
        officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI)
        api_client.force_authenticate(officer)
        numbers = {
            "unknown": id_number(),
            "other_project": known_elsewhere["other_project"].id_number,
            "same_project_other_county": known_elsewhere["same_project_other_county"].id_number,
        }
        before = {key: (p.pk, p.project, p.region_id) for key, p in known_elsewhere.items()}
        answers = {}
        for case, number in numbers.items():
            response = api_client.post("/api/special-enrollments/", self._payload(number))
            assert response.status_code == 201, (case, response.content)
            body = response.json()
            answers[case] = {k: v for k, v in body.items() if k not in ("id", "id_number")}
            _assert_no_secret(json.dumps(body, ensure_ascii=False), f"create ({case})")
            enrollment = Enrollment.objects.get(pk=body["id"])
            # A new record of the officer's own, never the other one.
            assert enrollment.person_id not in before_ids(before)
            assert enrollment.person.project == SpecialProject.HUIGUI
            reveal = api_client.post(
                f"/api/special-enrollments/{enrollment.pk}/reveal/", {"purpose": "核实身份"}
            ).json()
            assert (reveal["name"], reveal["id_number"], reveal["phone"], reveal["address"]) == (
                "专干录入",
                number,
                "",
                "",
            )
            # The enrolment is in the access trail, as the officer's own data.
            assert AccessRecord.objects.filter(enrollment=enrollment, action="enrol", actor=officer).exists()
            # Enrolling it again is refused only because it is now in the officer's own caseload.
            again = api_client.post("/api/special-enrollments/", self._payload(number))
            assert again.status_code == 400 and "id_number" in again.json()
        assert answers["unknown"] == answers["other_project"] == answers["same_project_other_county"]
        # The records held elsewhere are untouched and still linked to nothing new.
        for key, person_ in known_elsewhere.items():
            person_.refresh_from_db()
            assert (person_.pk, person_.project, person_.region_id) == before[key]
            assert person_.enrollments.count() == 1

    def test_nothing_of_the_other_record_appears_through_any_door(self, api_client, client, known_elsewhere):
        officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI)
        api_client.force_authenticate(officer)
        client.force_login(officer)
        created = []
        for known in known_elsewhere.values():
            response = api_client.post("/api/special-enrollments/", self._payload(known.id_number))
            created.append(response.json()["id"])
        doors = {
            "api list": api_client.get("/api/special-enrollments/"),
            "api tasks": api_client.get("/api/special-tasks/"),
            "caseload page": client.get(reverse("special_groups:caseload")),
            "caseload export": client.get(reverse("special_groups:caseload"), {"export": "csv"}),
            "tasks export": client.get(reverse("special_groups:tasks"), {"export": "csv"}),
        }
        for pk in created:
            doors[f"api detail {pk}"] = api_client.get(f"/api/special-enrollments/{pk}/")
            doors[f"api reveal {pk}"] = api_client.post(
                f"/api/special-enrollments/{pk}/reveal/", {"purpose": "回访核实"}
            )
            doors[f"record page {pk}"] = client.get(reverse("special_groups:record", args=[pk]))
            doors[f"record reveal {pk}"] = client.post(
                reverse("special_groups:record", args=[pk]), {"action": "reveal", "purpose": "回访核实"}
            )
            doors[f"object history {pk}"] = client.get(
                reverse("audit:object-history", args=["special_groups.enrollment", pk])
            )
        auditor = user_for_role(Role.AUDITOR)
        client.force_login(auditor)
        api_client.force_authenticate(auditor)
        doors["audit changes"] = client.get(reverse("audit:changes"))
        doors["audit export"] = client.get(reverse("audit:changes"), {"export": "csv"})
        doors["audit api persons"] = api_client.get("/api/audit/special-persons/")
        doors["audit api enrolments"] = api_client.get("/api/audit/special-enrollments/")
        doors["access log"] = client.get(reverse("special_groups:access-log"))
        admin = user_for_role(Role.ADMIN)
        client.force_login(admin)
        doors["admin index"] = client.get("/admin/")
        doors["admin app"] = client.get("/admin/special_groups/")
        for where, response in doors.items():
            assert response.status_code in (200, 302, 404), (where, response.status_code)
            _assert_no_secret(_body(response), where)

    def test_an_officer_of_another_county_enrolling_the_same_number_learns_nothing(self, api_client):
        home_officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING)
        far_region = Region.objects.get(code="520425")
        far_officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING, region=far_region)
        number = id_number()
        api_client.force_authenticate(home_officer)
        first = api_client.post(
            "/api/special-enrollments/", {"name": "甲", "id_number": number, "region": village().code}
        )
        api_client.force_authenticate(far_officer)
        far = {"name": "乙", "id_number": number, "region": village(OTHER_COUNTY_VILLAGE_PREFIX).code}
        second = api_client.post("/api/special-enrollments/", far)
        assert (first.status_code, second.status_code) == (201, 201)
        assert (
            second.json()["name"] == "乙"
            and Enrollment.objects.get(pk=second.json()["id"]).person.name == "乙"
        )
        # A region outside the caller's jurisdiction and a code that does not exist: one answer.
        api_client.force_authenticate(home_officer)
        outside = api_client.post("/api/special-enrollments/", {**far, "id_number": id_number()})
        missing = api_client.post(
            "/api/special-enrollments/", {**far, "id_number": id_number(), "region": "520499999999"}
        )
        assert outside.status_code == missing.status_code == 400
        assert outside.json() == missing.json()

    def test_people_counts_stay_right_when_two_counties_hold_the_same_person(self):
        """Two records of one human (enrolled by two officers) are still one person in figures."""
        number = id_number()
        for where in (village(), village(OTHER_COUNTY_VILLAGE_PREFIX)):
            enroll(
                SpecialProject.ANNING,
                who=person(number=number, region=where),
                enrolled_on=date(2025, 1, 5),
            )
        from special_groups.selectors import metrics

        city = Region.objects.get(code="5204")
        assert metrics(region=city, start=date(2025, 1, 1), end=date(2025, 12, 31)).patients == 1


def before_ids(before: dict) -> set[int]:
    return {pk for pk, _project, _region in before.values()}


@pytest.fixture
def patient():
    """An active 安宁 enrolment in 西秀区 with a guardian (so every command applies to it)."""
    enrollment = enroll(SpecialProject.ANNING, who=person(name="患者测试"), risk_grade=2)
    Guardian.objects.create(enrollment=enrollment, name="监护人", id_number_hash="x", relation="父母")
    return enrollment


def _written() -> tuple:
    return (
        Person.objects.count(),
        Enrollment.objects.filter(status="closed").count(),
        Enrollment.objects.exclude(pickup_outcome="").count(),
        Visit.objects.count(),
        SubsidyPayment.objects.count(),
        Guardian.objects.values_list("name", flat=True).first(),
        AccessRecord.objects.count(),
        CheckIn.objects.count(),
    )


COMMAND_CALLS = {
    "guardian_assign": lambda actor, e: services.guardian_assign(
        actor=actor, enrollment=e, name="攻击者", id_number=id_number(), relation="配偶"
    ),
    "visit_record": lambda actor, e: services.visit_record(
        actor=actor, enrollment=e, visited_on=timezone.localdate()
    ),
    "pickup_record": lambda actor, e: services.pickup_record(actor=actor, enrollment=e, outcome="picked_up"),
    "subsidy_pay": lambda actor, e: services.subsidy_pay(
        actor=actor, enrollment=e, amount=Decimal("100"), paid_on=timezone.localdate()
    ),
    "enrollment_close": lambda actor, e: services.enrollment_close(actor=actor, enrollment=e),
    "checkin_record": lambda actor, e: services.checkin_record(
        actor=actor, enrollment=e, checked_in_on=timezone.localdate(), way="phone", outcome="reported"
    ),
    "enrollment_view": lambda actor, e: services.enrollment_view(actor=actor, enrollment=e),
    "enrollment_reveal": lambda actor, e: services.enrollment_reveal(
        actor=actor, enrollment=e, purpose="攻击测试"
    ),
}


class TestCommandBoundary:
    """Every command of the policy, through the service and every door, for the wrong actors."""

    def test_every_write_service_is_a_command_with_a_rule(self):
        ours = {name for name in COMMANDS if name.startswith("special_groups.")}
        assert {f"special_groups.{n}" for n in COMMAND_CALLS} | {
            "special_groups.person_enroll",
            "special_groups.caseload_export",
            "special_groups.tasks_export",
            "special_groups.access_log_export",
        } == ours
        for name in ours:
            rule = COMMANDS[name].rule
            assert rule.capability and rule.why
            assert rule.target == "enrollment" or name.endswith(("_export", "person_enroll"))

    @pytest.mark.parametrize("name", sorted(COMMAND_CALLS))
    def test_out_of_scope_is_not_found_and_no_capability_is_not_permitted(self, patient, name):
        before = _written()
        wrong_project = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HONGSIDAI)
        far_officer = user_for_role(
            Role.CASE_OFFICER, project=SpecialProject.ANNING, region=Region.objects.get(code="520425")
        )
        for actor in (wrong_project, far_officer):
            with pytest.raises(NotFound):
                COMMAND_CALLS[name](actor, patient)
        for role in (Role.COUNTY_OFFICIAL, Role.AUDITOR, Role.GRID_WORKER):
            with pytest.raises(NotPermitted):
                COMMAND_CALLS[name](user_for_role(role), patient)
        with pytest.raises(NotPermitted):  # admins see every row, but are no case officer
            COMMAND_CALLS[name](user_for_role(Role.ADMIN), patient)
        assert _written() == before

    def test_person_enroll_refuses_other_roles_before_anything(self):
        before = _written()
        for role in (Role.COUNTY_OFFICIAL, Role.AUDITOR, Role.ADMIN):
            with pytest.raises(NotPermitted):
                services.person_enroll(
                    actor=user_for_role(role), name="甲", id_number=id_number(), region=village()
                )
        assert _written() == before

    def test_an_existing_enrolment_of_another_project_is_a_404_at_every_door(
        self, api_client, client, patient
    ):
        """Same answer for an id that exists in another project and one that does not."""
        attacker = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HONGSIDAI)
        api_client.force_authenticate(attacker)
        client.force_login(attacker)
        before = _written()
        missing = Enrollment.objects.order_by("-pk").first().pk + 1000
        today = timezone.localdate().isoformat()
        for pk in (patient.pk, missing):
            base = f"/api/special-enrollments/{pk}/"
            answers = [
                api_client.get(base),
                api_client.post(base + "reveal/", {"purpose": "攻击测试"}),
                api_client.post(base + "pickup/", {"pickup_outcome": "picked_up"}),
                api_client.post(base + "visits/", {"visited_on": today}),
                api_client.post(
                    base + "guardian/", {"name": "甲", "id_number": id_number(), "relation": "配偶"}
                ),
                client.get(reverse("special_groups:record", args=[pk])),
                client.post(
                    reverse("special_groups:record", args=[pk]), {"action": "reveal", "purpose": "攻击测试"}
                ),
                client.post(reverse("special_groups:record", args=[pk]), {"action": "visit"}),
            ]
            assert [a.status_code for a in answers] == [404] * len(answers), pk
            for answer in answers:
                _assert_no_secret(_body(answer), "404")
                assert "患者测试" not in _body(answer) and "患*" not in _body(answer)
        assert _written() == before

    def test_a_role_without_the_capability_gets_403_at_every_door(self, api_client, client, patient):
        official = user_for_role(Role.COUNTY_OFFICIAL)
        api_client.force_authenticate(official)
        client.force_login(official)
        before = _written()
        base = f"/api/special-enrollments/{patient.pk}/"
        assert api_client.post("/api/special-enrollments/", {"name": "甲"}).status_code == 403
        assert api_client.post(base + "reveal/", {"purpose": "攻击测试"}).status_code == 403
        assert (
            client.post(reverse("special_groups:record", args=[patient.pk]), {"action": "visit"}).status_code
            == 403
        )
        assert client.get(reverse("special_groups:caseload"), {"export": "csv"}).status_code == 403
        assert _written() == before

    def test_exports_are_logged_and_never_500(self, client, patient):
        officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING)
        client.force_login(officer)
        for export_format in ("csv", "xlsx"):
            for url in (reverse("special_groups:caseload"), reverse("special_groups:tasks")):
                response = client.get(url, {"export": export_format})
                assert response.status_code == 200, (url, export_format)
        assert AccessRecord.objects.filter(action="export", actor=officer).count() == 4
        # Auditors (with a region) and administrators (with none) export the access trail.
        for auditor in (user_for_role(Role.AUDITOR), user_for_role(Role.ADMIN)):
            client.force_login(auditor)
            response = client.get(reverse("special_groups:access-log"), {"export": "xlsx"})
            assert response.status_code == 200
            rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
            assert len(rows) > 1
            assert AccessRecord.objects.filter(action="export", actor=auditor).count() == 1
        # 红丝带 never leaves the platform, not even masked; the refusal writes nothing.
        before = AccessRecord.objects.count()
        client.force_login(user_for_role(Role.CASE_OFFICER, project=SpecialProject.HONGSIDAI))
        assert client.get(reverse("special_groups:caseload"), {"export": "csv"}).status_code == 403
        assert AccessRecord.objects.count() == before


class TestAdminIsNoSideDoor:
    def test_persons_and_enrolments_are_not_in_the_admin_and_facilities_are_read_only(self, client, patient):
        client.force_login(user_for_role(Role.ADMIN))
        for model in (
            "person",
            "enrollment",
            "guardian",
            "visit",
            "casetask",
            "subsidypayment",
            "accessrecord",
        ):
            assert client.get(f"/admin/special_groups/{model}/").status_code == 404, model
            assert client.get(f"/admin/special_groups/{model}/{patient.pk}/change/").status_code == 404, model
        from special_groups.models import ServiceFacility

        facility = ServiceFacility.objects.create(
            project="anning", kind="psychiatric_clinic", name="门诊", region=village()
        )
        assert client.get("/admin/special_groups/servicefacility/").status_code == 200
        assert client.get("/admin/special_groups/servicefacility/add/").status_code == 403
        changed = client.post(
            f"/admin/special_groups/servicefacility/{facility.pk}/change/",
            {"name": "改名", "project": "anning", "kind": "psychiatric_clinic", "region": facility.region_id},
        )
        assert changed.status_code in (200, 403)
        assert (
            client.post(
                f"/admin/special_groups/servicefacility/{facility.pk}/delete/", {"post": "yes"}
            ).status_code
            == 403
        )
        facility.refresh_from_db()
        assert facility.name == "门诊"


class TestAuditorsDoNotLearnMembership:
    def test_the_trail_never_ties_a_person_to_a_project(self, api_client, client):
        officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HONGSIDAI)
        enrollment = services.person_enroll(
            actor=officer, name="红丝带某", id_number=id_number(), region=village()
        )
        services.enrollment_close(actor=officer, enrollment=enrollment)
        auditor = user_for_role(Role.AUDITOR)
        api_client.force_authenticate(auditor)
        enrolments = api_client.get("/api/audit/special-enrollments/").json()["results"]
        assert enrolments
        for change in enrolments:
            for field in change["changes"]:
                if field["field"] == "person":
                    assert field["masked"] and field["old"] is None and field["new"] is None
            assert str(enrollment.person_id) not in json.dumps(
                [f for f in change["changes"] if f["field"] == "person"]
            )
        persons = api_client.get("/api/audit/special-persons/").json()["results"]
        assert persons
        for change in persons:
            shown = {f["field"]: f for f in change["changes"]}
            assert shown["project"]["masked"] and shown["project"]["new"] is None
        client.force_login(auditor)
        page = client.get(reverse("audit:changes"), {"model": "special_groups.person"}).content.decode()
        assert "红丝带" not in page and "Red ribbon" not in page
        exported = _body(
            client.get(reverse("audit:changes"), {"export": "csv", "model": "special_groups.person"})
        )
        assert "红丝带" not in exported and "Red ribbon" not in exported and "hongsidai" not in exported


# ---- suppression on every aggregate door -----------------------------------------------------


def test_the_one_suppression_function():
    plain = suppress([Cell(3, 3), Cell(10, 10), Cell(0, 0)], inside=False)
    assert plain.values == [None, 10, 0] and plain.hidden == [True, False, False]
    with_total = suppress([Cell(3, 3), Cell(10, 10), Cell(7, 7), Cell(0, 0)], inside=False, with_total=True)
    assert with_total.hidden == [True, False, True, False]  # the smallest other cell goes too
    alone = suppress([Cell(3, 3), Cell(0, 0)], inside=False, with_total=True)
    assert alone.hidden == [True, False] and alone.total_hidden
    assert suppress([Cell(3, 3)], inside=True).values == [3]
    money = suppress([Cell(1200.0, 1), Cell(9000.0, 6)], inside=False, with_total=True)
    assert money.values == [None, None]


@pytest.fixture
def one_village_subsidy():
    """One patient paid in March (one person: must never show), six paid in May, in one village;
    three must-pick-up people released in March."""
    home = village()
    lone = enroll(SpecialProject.ANNING, who=person(region=home), enrolled_on=date(2025, 1, 5))
    SubsidyPayment.objects.create(enrollment=lone, amount=Decimal("1357.35"), paid_on=date(2025, 3, 20))
    for _ in range(6):
        e = enroll(SpecialProject.ANNING, who=person(region=home), enrolled_on=date(2025, 1, 5))
        SubsidyPayment.objects.create(enrollment=e, amount=Decimal("1000"), paid_on=date(2025, 5, 20))
        CaseTask.objects.create(
            enrollment=e, kind="visit", due_on=date(2025, 5, 15), done_on=date(2025, 5, 10)
        )
    for outcome in ("picked_up", "picked_up", "not_picked_up"):
        enroll(
            SpecialProject.HUIGUI,
            who=person(region=home),
            release_date=date(2025, 3, 10),
            pickup_outcome=outcome,
        )
    return home


def _numbers(value) -> set:
    return {value} if isinstance(value, int | float) else set()


class TestSuppressionOnEveryDoor:
    def test_dashboard_page_tiles_and_charts(self, client, one_village_subsidy):
        official = user_for_role(Role.COUNTY_OFFICIAL)
        client.force_login(official)
        response = client.get(reverse("special_groups:dashboard"), {"year": 2025})
        assert response.status_code == 200
        tiles = {t.key: t for t in response.context["tiles"]}
        year_tiles = {t.key: t for t in response.context["year_tiles"]}
        for shown in (tiles, year_tiles):
            assert shown["special_groups.picked_up"].suppressed
            assert shown["special_groups.pickup_rate"].suppressed
        subsidy = response.context["charts"]["subsidy"]["data"]["datasets"][0]["data"]
        rates = [d["data"] for d in response.context["charts"]["rates"]["data"]["datasets"]]
        # March (one person) hidden, and May with it: the year's total minus May would give March.
        assert subsidy[2] is None and subsidy[4] is None
        assert all(v is None for v in rates[0])  # three people released in March
        body = response.content.decode()
        assert "1357" not in body and "1,357" not in body
        # The case officer of the project sees their own figures.
        client.force_login(user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING))
        own = client.get(reverse("special_groups:dashboard"), {"year": 2025})
        assert own.context["charts"]["subsidy"]["data"]["datasets"][0]["data"][2] == 1357.35

    def test_chart_total_and_visible_months_never_recover_a_hidden_one(self, one_village_subsidy):
        official = user_for_role(Role.COUNTY_OFFICIAL)
        series = monthly_series(actor=official, region=Region.objects.get(code="520402"), year=2025)
        hidden_months, total_hidden = series["hidden"]["special_groups.subsidy_paid"]
        assert sum(hidden_months) != 1 and not total_hidden

    def test_metrics_api_for_the_year_and_each_month(self, api_client, one_village_subsidy):
        api_client.force_authenticate(user_for_role(Role.COUNTY_OFFICIAL))
        village_url = f"/api/special-metrics/{one_village_subsidy.code}/"
        everything = []
        for params in ({}, {"year": 2025}, *({"year": 2025, "month": m} for m in range(1, 13))):
            for url in (village_url, "/api/special-metrics/520402/"):
                response = api_client.get(url, params)
                assert response.status_code == 200, (url, params)
                everything.append(response.json())
        march = {t["key"]: t for t in api_client.get(village_url, {"year": 2025, "month": 3}).json()}
        may = {t["key"]: t for t in api_client.get(village_url, {"year": 2025, "month": 5}).json()}
        assert (
            march["special_groups.subsidy_paid"]["suppressed"]
            and march["special_groups.subsidy_paid"]["value"] is None
        )
        assert may["special_groups.subsidy_paid"]["suppressed"]  # complementary, as in the chart
        assert march["special_groups.picked_up"]["suppressed"]
        text = json.dumps(everything)
        assert "1357" not in text
        assert api_client.get(village_url, {"month": 3}).status_code == 400

    def test_the_officials_dashboard(self, client, one_village_subsidy):
        official = user_for_role(Role.COUNTY_OFFICIAL)
        tiles = {t.key: t for t in collect_tiles(actor=official, region=one_village_subsidy)}
        assert tiles["special_groups.picked_up"].suppressed
        assert tiles["special_groups.pickup_rate"].suppressed
        client.force_login(official)
        page = client.get(reverse("surveys:dashboard"), {"region": one_village_subsidy.code})
        assert page.status_code == 200
        assert "1357" not in page.content.decode() and "1,357" not in page.content.decode()


def test_the_migration_splits_a_person_shared_by_two_projects():
    """Data written before the fix: one person row linked to two projects' enrolments."""
    from importlib import import_module
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    split = import_module("special_groups.migrations.0004_person_belongs_to_one_project").split_shared_persons
    shared = person(name="共享旧数据")
    Person.objects.filter(pk=shared.pk).update(project="")
    first = Enrollment.objects.create(person=shared, project="hongsidai", enrolled_on=date(2020, 1, 1))
    second = Enrollment.objects.create(person=shared, project="huigui", enrolled_on=date(2021, 1, 1))
    split(apps, SimpleNamespace(connection=connection))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.person_id == shared.pk and Person.objects.get(pk=shared.pk).project == "hongsidai"
    assert second.person_id != shared.pk and second.person.project == "huigui"
    assert second.person.name == "共享旧数据"  # the tokens were copied, not re-typed
    assert Enrollment.objects.filter(person_id=shared.pk).count() == 1
