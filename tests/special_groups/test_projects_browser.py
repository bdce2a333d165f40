"""A 社区矫正 case officer on a phone sees their people and records a check-in (报到)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role, SpecialProject
from special_groups.models import CheckIn
from tests.factories import TEST_PASSWORD, user_for_role
from tests.special_groups.helpers import OTHER_COUNTY_VILLAGE_PREFIX, enroll, person, village


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_correction_officer_sees_their_people_and_records_a_check_in(anshun_tree, live_server, phone_page):
    today = timezone.localdate()
    term = {
        "correction_kind": "jiashi",
        "term_start": today - timedelta(days=45),
        "term_end": today + timedelta(days=200),
    }
    mine = enroll(
        SpecialProject.JIAOZHENG, who=person(name="矫正测试甲"), enrolled_on=term["term_start"], **term
    )
    far = enroll(SpecialProject.JIAOZHENG, who=person(region=village(OTHER_COUNTY_VILLAGE_PREFIX)), **term)
    other = enroll(SpecialProject.HUIGUI, who=person(), release_date=today)
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.JIAOZHENG)
    page = phone_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", officer.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/special-groups/")
    assert page.get_by_test_id(f"enrollment-{mine.pk}").is_visible()
    assert page.get_by_test_id(f"enrollment-{far.pk}").count() == 0
    assert page.get_by_test_id(f"enrollment-{other.pk}").count() == 0
    assert "矫正测试甲" not in page.content()  # masked on the list
    assert page.get_by_test_id("special_groups.people:jiaozheng").inner_text() == "1"
    page.get_by_test_id(f"enrollment-{mine.pk}").get_by_role("link").click()
    form = page.get_by_test_id("checkin-form")
    form.locator("#id_checkin-way").select_option("in_person")
    form.locator("#id_checkin-outcome").select_option("reported")
    box = form.locator("button").bounding_box()
    assert box["width"] <= 390 and box["height"] >= 30  # a thumb-sized button inside the phone's width
    form.locator("button").click()
    page.wait_for_selector("[data-testid=check-ins] li >> text=" + today.strftime("%Y-%m-%d"))
    assert CheckIn.objects.get(enrollment=mine).way == "in_person"
    assert page.get_by_test_id("check-ins").locator("li").count() == 1
