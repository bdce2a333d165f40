"""A case officer in the browser records a pick-up and sees the pick-up rate change; the
planning task runs in a real Celery worker; bad input is refused with nothing written."""

import time
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.roles import Role, SpecialProject
from special_groups import services
from special_groups.models import CaseTask, Enrollment, Guardian, Person, Visit
from tests.factories import TEST_PASSWORD, user_for_role
from tests.special_groups.helpers import enroll, id_number, person, village


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_officer_records_a_pickup_and_the_rate_changes(anshun_tree, live_server, phone_page):
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI)
    released = timezone.localdate() - timedelta(days=1)
    for outcome in ("picked_up", "picked_up", "picked_up", "not_picked_up"):
        enroll(SpecialProject.HUIGUI, release_date=released, pickup_outcome=outcome)
    waiting = enroll(SpecialProject.HUIGUI, release_date=released)
    page = phone_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", officer.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/special-groups/")
    assert page.get_by_test_id("pickup-rate").inner_text() == "60.0%"  # 3 of 5
    page.get_by_test_id(f"enrollment-{waiting.pk}").get_by_role("link").click()
    page.select_option("#outcome", "picked_up")
    page.get_by_test_id("pickup-form").locator("button").click()
    page.wait_for_selector("[data-testid=pickup-outcome]:not(:empty)")
    page.goto(f"{live_server.url}/special-groups/")
    assert page.get_by_test_id("pickup-rate").inner_text() == "80.0%"  # 4 of 5
    page.goto(f"{live_server.url}/special-groups/dashboard/")
    page.wait_for_selector("body[data-charts-ready='1']")
    assert page.get_by_test_id("special_groups.pickup_rate").locator(".num").inner_text() == "80.00%"
    assert Enrollment.objects.get(pk=waiting.pk).pickup_outcome == "picked_up"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_planning_task_runs_in_the_worker(celery_worker_process):
    from special_groups.tasks import plan_special_group_tasks

    target = enroll(SpecialProject.HUIGUI, release_date=timezone.localdate() + timedelta(days=2))
    plan_special_group_tasks.delay()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not CaseTask.objects.filter(enrollment=target).exists():
        time.sleep(0.2)
    assert CaseTask.objects.get(enrollment=target).due_on == target.release_date


@pytest.mark.django_db
class TestBadInput:
    def officer(self, project=SpecialProject.HUIGUI):
        return user_for_role(Role.CASE_OFFICER, project=project)

    def _nothing_written(self, before):
        assert (Person.objects.count(), Enrollment.objects.count()) == before

    def test_invalid_id_number(self):
        before = (Person.objects.count(), Enrollment.objects.count())
        number = id_number()
        wrong = number[:17] + ("0" if number[17] != "0" else "1")
        with pytest.raises(ValidationError) as error:
            services.person_enroll(
                actor=self.officer(),
                name="错号测试",
                id_number=wrong,
                region=village(),
                release_date=timezone.localdate() + timedelta(days=5),
            )
        assert "id_number" in error.value.message_dict
        self._nothing_written(before)

    def test_release_date_in_the_past_for_a_new_target(self):
        before = (Person.objects.count(), Enrollment.objects.count())
        with pytest.raises(ValidationError) as error:
            services.person_enroll(
                actor=self.officer(),
                name="过期测试",
                id_number=id_number(),
                region=village(),
                release_date=timezone.localdate() - timedelta(days=1),
            )
        assert "release_date" in error.value.message_dict
        self._nothing_written(before)

    def test_a_guardian_who_is_the_patient(self):
        patient = person()
        enrollment = enroll(SpecialProject.ANNING, who=patient)
        with pytest.raises(ValidationError) as error:
            services.guardian_assign(
                actor=self.officer(SpecialProject.ANNING),
                enrollment=enrollment,
                name="本人",
                id_number=patient.id_number,
                relation="本人",
            )
        assert "id_number" in error.value.message_dict
        assert not Guardian.objects.exists()

    def test_a_visit_on_a_closed_enrollment(self):
        enrollment = enroll(SpecialProject.ANNING, status="closed", closed_on=date(2026, 1, 10))
        with pytest.raises(ValidationError) as error:
            services.visit_record(
                actor=self.officer(SpecialProject.ANNING),
                enrollment=enrollment,
                visited_on=timezone.localdate(),
            )
        assert "enrollment" in error.value.message_dict
        assert not Visit.objects.exists()

    def test_enrolling_a_number_another_project_knows_builds_a_new_record(self):
        known = enroll(SpecialProject.HONGSIDAI, who=person(name="红丝带甲")).person
        anning = self.officer(SpecialProject.ANNING)
        enrollment = services.person_enroll(
            actor=anning,
            name="同一人",
            id_number=known.id_number,
            region=known.region,
            risk_grade=1,
        )
        assert enrollment.person_id != known.pk and Person.objects.count() == 2
        assert (enrollment.person.name, enrollment.person.phone) == ("同一人", "")

    def test_bad_input_over_the_api_is_a_400(self, api_client):
        officer = self.officer()
        target = enroll(SpecialProject.HUIGUI, release_date=timezone.localdate() + timedelta(days=3))
        api_client.force_authenticate(officer)
        response = api_client.post(
            f"/api/special-enrollments/{target.pk}/pickup/", {"pickup_outcome": "picked_up"}
        )
        assert response.status_code == 400 and "on" in response.json()
        assert Enrollment.objects.get(pk=target.pk).pickup_outcome == ""


@pytest.mark.django_db
def test_enrolling_over_the_api_validates_and_writes_nothing_on_bad_input(api_client):
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI)
    api_client.force_authenticate(officer)
    url = "/api/special-enrollments/"
    number = id_number()
    good = {
        "name": "接口测试",
        "id_number": number,
        "region": village().code,
        "release_date": (timezone.localdate() + timedelta(days=10)).isoformat(),
    }
    bad_checksum = {**good, "id_number": number[:17] + ("0" if number[17] != "0" else "1")}
    past = {**good, "release_date": (timezone.localdate() - timedelta(days=1)).isoformat()}
    far_away = {**good, "region": village("520425").code}
    for payload, field in ((bad_checksum, "id_number"), (past, "release_date"), (far_away, "region")):
        response = api_client.post(url, payload)
        assert response.status_code == 400 and field in response.json(), response.json()
    assert not Person.objects.exists()
    created = api_client.post(url, good)
    assert created.status_code == 201
    assert created.json()["name"] == "接***" and created.json()["project"] == "huigui"
    assert api_client.post(url, good).status_code == 400  # already enrolled in this project
    assert Person.objects.count() == 1


@pytest.mark.django_db
def test_visits_and_guardians_over_the_api(api_client):
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING)
    api_client.force_authenticate(officer)
    patient = person()
    open_one = enroll(SpecialProject.ANNING, who=patient, risk_grade=1)
    closed = enroll(SpecialProject.ANNING, status="closed", closed_on=date(2026, 1, 10))
    today = timezone.localdate().isoformat()
    refused = api_client.post(f"/api/special-enrollments/{closed.pk}/visits/", {"visited_on": today})
    assert refused.status_code == 400 and "enrollment" in refused.json()
    assert (
        api_client.post(f"/api/special-enrollments/{open_one.pk}/visits/", {"visited_on": today}).status_code
        == 201
    )
    assert Visit.objects.count() == 1
    url = f"/api/special-enrollments/{open_one.pk}/guardian/"
    himself = api_client.post(url, {"name": "本人", "id_number": patient.id_number, "relation": "本人"})
    assert himself.status_code == 400 and "id_number" in himself.json()
    assert not Guardian.objects.exists()
    named = api_client.post(url, {"name": "监护人乙", "id_number": id_number(), "relation": "配偶"})
    assert named.status_code == 200 and named.json()["has_guardian"] is True
