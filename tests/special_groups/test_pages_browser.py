"""Browser flows on a phone for the six projects' new pages: enrolling a person, naming a
guardian, recording a subsidy and closing the case. Each fills the form as an officer would,
first with a mistake (the form keeps what was typed), and checks what the page then shows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role, SpecialProject
from special_groups.models import Enrollment, Guardian, SubsidyPayment
from tests.factories import user_for_role
from tests.special_groups.helpers import enroll, id_number, person, village
from tests.test_browser import _login, live_server_artifact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = 390


def assert_fits_the_phone(page):
    """Nothing wider than the screen: no sideways scrolling on a phone."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    box = page.locator("form.card button.primary").last.bounding_box()
    assert box["height"] >= 40  # a thumb-sized button


def test_an_officer_enrols_a_person_on_a_phone(anshun_tree, live_server, phone_page):
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.HUIGUI)
    page = phone_page
    _login(page, live_server, officer)
    page.goto(f"{live_server.url}/special-groups/")
    page.click("[data-testid=enrol-link]")
    page.wait_for_selector("#enrol-form")
    release = (timezone.localdate() + timedelta(days=20)).isoformat()
    number = id_number()
    page.fill("#id_name", "浏览器登记")
    page.fill("#id_id_number", number[:-1] + ("0" if number[-1] != "0" else "1"))  # a wrong check character
    page.fill("#id_region", village().code)
    page.fill("#id_address", "塔山社区浏览器路3号")
    page.fill("#id_release_date", release)
    page.click("#enrol-form button.primary")
    page.wait_for_selector("[data-testid=error-id_number]")
    assert not Enrollment.objects.exists()
    assert page.input_value("#id_address") == "塔山社区浏览器路3号"  # kept
    assert_fits_the_phone(page)
    page.fill("#id_id_number", number)
    page.click("#enrol-form button.primary")
    page.wait_for_selector("[data-testid=name]")
    assert page.inner_text("[data-testid=name]") == "浏****"
    assert page.inner_text("[data-testid=id-number]").count("*") == 8
    page.screenshot(path=str(live_server_artifact("enrol-phone.png")), full_page=True)
    enrollment = Enrollment.objects.get(case_officer=officer)
    assert enrollment.person.id_number == number and enrollment.release_date.isoformat() == release


def test_an_officer_names_a_guardian_pays_a_subsidy_and_closes_the_case(anshun_tree, live_server, phone_page):
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING)
    patient = enroll(SpecialProject.ANNING, who=person(name="浏览器患者"), risk_grade=1)
    page = phone_page
    _login(page, live_server, officer)
    record = f"{live_server.url}/special-groups/records/{patient.pk}/"
    page.goto(record)
    page.click("[data-testid=guardian-link]")
    page.wait_for_selector("#guardian-form")
    page.fill("#id_name", "浏览器监护人")
    page.fill("#id_id_number", id_number())
    page.fill("#id_relation", "母亲")
    assert_fits_the_phone(page)
    page.screenshot(path=str(live_server_artifact("guardian-phone.png")), full_page=True)
    page.click("#guardian-form button.primary")
    page.wait_for_selector("[data-testid=guardian]")
    assert page.inner_text("[data-testid=guardian]") == "浏* (母亲)"
    assert Guardian.objects.get(enrollment=patient).name == "浏览器监护人"

    # The subsidy: first without ticking the confirmation box, then confirmed.
    page.fill("#id_subsidy-amount", "300")
    page.fill("#id_subsidy-paid_on", timezone.localdate().isoformat())
    page.click("#subsidy-form button.primary")
    page.wait_for_selector("[data-testid=error-confirm]")
    assert page.input_value("#id_subsidy-amount") == "300" and not SubsidyPayment.objects.exists()
    page.check("#id_subsidy-confirm")
    page.click("#subsidy-form button.primary")
    page.wait_for_selector("text=¥300.00")
    assert SubsidyPayment.objects.get(enrollment=patient).amount == 300

    page.check("#id_close-confirm")
    page.click("#close-form button.primary")
    page.wait_for_selector("[data-testid=closed-on]")
    assert page.locator("#close-form").count() == 0 and page.locator("#subsidy-form").count() == 0
    page.screenshot(path=str(live_server_artifact("record-closed-phone.png")), full_page=True)
    patient.refresh_from_db()
    assert patient.status == Enrollment.Status.CLOSED
