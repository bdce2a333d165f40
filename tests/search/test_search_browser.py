"""The search on a phone: the top bar's box finds a two-character Chinese word inside a longer
phrase, marks it in the result, and the page fits the screen; a word from another county's
record finds nothing."""

import pytest

from accounts.roles import Role
from grids.models import Grid, Region
from incidents.categories import seed_categories
from incidents.models import Incident, IncidentCategory
from tests.factories import user_for_role
from tests.test_browser import _login, live_server_artifact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_official_finds_a_two_character_word_from_the_top_bar_on_a_phone(
    anshun_tree, live_server, phone_page
):
    seed_categories()  # a transactional test before this one may have flushed them
    category = IncidentCategory.objects.get(code="security-hazard")
    grid = Grid.objects.filter(village__code__startswith="520402005").order_by("code").first()
    far = Grid.objects.filter(village__code__startswith="520422").order_by("code").first()
    wanted = Incident.objects.create(category=category, grid=grid, description="小区门口垃圾堆放，无人清理")
    Incident.objects.create(category=category, grid=far, description="普定县城郊垃圾堆放点无人管理")
    page = phone_page
    _login(
        page, live_server, user_for_role(Role.TOWNSHIP_OFFICIAL, region=Region.objects.get(code="520402005"))
    )
    box = page.locator("[data-testid=search-box] input[name=q]")
    box.fill("堆放")
    box.press("Enter")
    page.wait_for_selector("[data-testid=search-hit]")
    hits = page.locator("[data-testid=search-hit]")
    assert hits.count() == 1 and hits.first.get_attribute("data-id") == str(wanted.pk)
    mark = hits.first.locator(".search-snippet mark")
    assert mark.first.inner_text() == "堆放"
    assert mark.first.bounding_box()["width"] > 10  # shown, not hidden
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(live_server_artifact("search-phone.png")), full_page=True)
    hits.first.locator("a.search-title").click()
    page.wait_for_url(f"{live_server.url}/incidents/{wanted.pk}/")
    page.goto(f"{live_server.url}/search/?q=普定")
    page.wait_for_selector("[data-testid=no-results]")
    assert page.locator("[data-testid=search-hit]").count() == 0
