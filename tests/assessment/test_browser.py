"""A county official opens the ranking and drills into one township's score."""

import pytest

from accounts.roles import Role
from assessment.services import compute_scores
from tests.assessment.conftest import YEAR
from tests.factories import TEST_PASSWORD, user_for_role


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_county_official_opens_the_ranking_and_drills_into_a_township(places, live_server, browser):
    compute_scores(year=YEAR)
    a, z = places["a"], places["z"]
    official = user_for_role(Role.COUNTY_OFFICIAL)
    page = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN").new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", official.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/assessment/?year={YEAR}")
    assert page.get_by_test_id(f"rank-{a.township.code}").is_visible()
    assert page.get_by_test_id(f"rank-{z.township.code}").count() == 0
    page.get_by_test_id(f"unit-{a.township.code}").click()
    page.wait_for_selector("[data-testid=unit-name]")
    assert a.township.name in page.get_by_test_id("unit-name").inner_text()
    page.get_by_test_id("drill-on_time_closure").click()
    page.wait_for_selector("[data-testid=drill] tbody tr")
    assert page.get_by_test_id("drill").locator("tbody tr").count() == 3
    assert "3" in page.get_by_test_id("drill-total").inner_text()
