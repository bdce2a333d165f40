"""In the browser: the coverage page and the grid map draw features fetched for the view only."""

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from grids.models import Grid, Region
from safety_cells.demo import load_demo
from tests.factories import user_for_role
from tests.test_browser import _login, live_server_artifact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_records(anshun_tree):
    user_for_role(Role.ADMIN, username="safety-demo-admin")
    load_demo()  # ends with the coverage refresh


RESOURCES = """
    performance.getEntriesByType('resource').filter(e => e.name.includes('/api/'))
        .map(e => [e.name, e.responseStatus, e.decodedBodySize])
"""


def _until(condition, page, seconds: float = 20) -> None:
    """Poll (the CSP forbids the eval that wait_for_function needs)."""
    for _ in range(int(seconds * 10)):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError("condition not met in time")


def _api_requests(page) -> list:
    """Every /api/ request the page made so far: url, status, size of the answer."""
    return page.evaluate(RESOURCES)


def test_the_coverage_map_draws_its_layers_for_the_view(demo_records, live_server, browser):
    official = user_for_role(Role.COUNTY_OFFICIAL)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _login(page, live_server, official)
    page.goto(f"{live_server.url}/safety/coverage/")
    page.wait_for_selector("body[data-map-ready='1']")
    townships = Region.objects.filter(level="township", code__startswith="520402").count()
    expect(page.locator("path.township-coverage")).to_have_count(townships)
    assert page.locator("path.camera-marker").count() > 0
    assert page.locator("path.patrol-unit, path.patrol-route").count() > 0  # demo patrols of this week
    assert page.get_by_test_id("coverage-as-of").inner_text()
    layers = [(url, status, size) for url, status, size in _api_requests(page) if "/api/map/" in url]
    assert layers and all("bbox=" in url and "zoom=" in url for url, _s, _n in layers)
    assert all(status == 200 and size < 300_000 for _u, status, size in layers), layers
    # Zoom in: the layers are asked again for the smaller view.
    before = len(layers)
    page.locator("#coverage-map").dblclick()
    _until(lambda: len([r for r in _api_requests(page) if "/api/map/" in r[0]]) > before, page)
    page.wait_for_selector("body[data-map-ready='1']")
    page.screenshot(path=str(live_server_artifact("coverage-map-view.png")))
    context.close()


def test_the_grid_map_draws_a_villages_grids_from_the_view_layer(demo_records, live_server, browser):
    official = user_for_role(Role.TOWNSHIP_OFFICIAL)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _login(page, live_server, official)
    page.goto(f"{live_server.url}/map/")
    page.wait_for_selector(f"body[data-map-ready='{official.region.code}']", timeout=30_000)
    village = Region.objects.filter(parent=official.region, level="village").order_by("code").first()
    page.click(f"#region-list .region-link[data-code='{village.code}']")
    page.wait_for_selector(f"body[data-map-ready='{village.code}']", timeout=30_000)
    grids = Grid.objects.filter(village=village).count()
    assert page.inner_text("#grid-count") == str(grids)
    _until(lambda: page.locator(".leaflet-overlay-pane path").count() >= grids, page)
    seen = _api_requests(page)
    asked = [url for url, _s, _n in seen if "/api/map/grids/view/" in url]
    assert asked and all("bbox=" in url and f"within={village.code}" in url for url in asked)
    assert not [url for url, _s, _n in seen if "/api/grids/?" in url]  # the old all-at-once list
    context.close()
