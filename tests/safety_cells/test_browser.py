"""Browser flows: a grid worker logs a patrol on a phone; the five named examples on the map."""

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from grids.models import Region
from safety_cells.demo import NAMED_CELLS, load_demo
from safety_cells.models import PatrolLog
from tests.factories import user_for_role
from tests.test_browser import _login, live_server_artifact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_records(anshun_tree):
    user_for_role(Role.ADMIN, username="safety-demo-admin")
    load_demo()


def test_grid_worker_logs_a_patrol_on_a_phone(demo_records, live_server, phone_page):
    worker = user_for_role(Role.GRID_WORKER)
    page = phone_page
    _login(page, live_server, worker)
    page.goto(f"{live_server.url}/safety/patrols/new/")
    page.wait_for_selector("body[data-map-ready='route']")
    page.select_option("#id_unit", index=1)
    page.fill("#id_started_at", "2026-11-20T08:00")
    page.fill("#id_ended_at", "2026-11-20T07:30")  # wrong on purpose: ends before it starts
    route_map = page.locator("#route-map")
    route_map.scroll_into_view_if_needed()
    box = route_map.bounding_box()
    for dx, dy in ((0.3, 0.3), (0.5, 0.45), (0.7, 0.6)):  # tap the way along the map
        route_map.tap(position={"x": box["width"] * dx, "y": box["height"] * dy})
    assert page.inner_text("#route-points") == "3"
    page.click("#route-undo")
    assert page.inner_text("#route-points") == "2"
    page.fill("#id_observations", "巡逻发现路灯损坏")
    page.click("button[type=submit].primary")
    page.wait_for_selector(".error")
    assert not PatrolLog.objects.filter(logged_by=worker).exists()
    # The route survives the round trip; fix the end time and save.
    page.wait_for_selector("body[data-map-ready='route']")
    assert page.inner_text("#route-points") == "2"
    page.fill("#id_ended_at", "2026-11-20T10:00")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/safety/patrols/")
    assert "巡逻发现路灯损坏" in page.inner_text("#patrol-table")
    page.screenshot(path=str(live_server_artifact("patrol-phone.png")))
    log = PatrolLog.objects.get(logged_by=worker)
    assert log.route.num_points == 2 and log.observations == "巡逻发现路灯损坏"
    assert (log.ended_at - log.started_at).total_seconds() == 2 * 3600


def test_the_five_named_examples_on_the_map(demo_records, live_server, browser):
    official = user_for_role(Role.CITY_OFFICIAL)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _login(page, live_server, official)
    page.goto(f"{live_server.url}/safety/?demo=1")
    page.wait_for_selector("body[data-map-ready='5']")
    assert page.locator("path.cell-marker").count() == 5
    table = page.inner_text("table.table")
    for name, *_rest in NAMED_CELLS:
        assert name in table
    page.screenshot(path=str(live_server_artifact("safe-cells-map.png")))
    # The coverage map: every township shaded by its computed joint-defence coverage.
    page.goto(f"{live_server.url}/safety/coverage/")
    page.wait_for_selector("body[data-map-ready='1']")
    townships = Region.objects.filter(level="township", boundary__isnull=False).count()
    expect(page.locator("path.township-coverage")).to_have_count(townships)
    page.screenshot(path=str(live_server_artifact("coverage-map.png")))
    context.close()
