"""Browser flows in headless Chromium (Debian's package) driven by Playwright."""

import pytest

from accounts.roles import Role
from grids.models import Grid, GridOffice
from tests.factories import TEST_PASSWORD, user_for_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")


def test_city_official_logs_in_and_sees_388_grid_offices_on_the_map(anshun_tree, live_server, browser):
    user = user_for_role(Role.CITY_OFFICIAL)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    refused = []
    page.on(
        "console",
        lambda m: refused.append(page.url + " " + m.text) if "Content Security Policy" in m.text else None,
    )
    _login(page, live_server, user)
    assert page.get_by_test_id("grid-office-count").inner_text() == "388"
    page.goto(f"{live_server.url}/map/")
    page.wait_for_selector("body[data-map-ready='5204']", timeout=30_000)
    assert page.inner_text("#office-count") == "388"
    assert page.locator("path.office-marker").count() == 388
    assert page.locator("#region-list .region-link").count() == 8  # 6 counties + 2 zones
    # Drill down: county → township → community.
    page.click("#region-list .region-link[data-code='520402']")
    page.wait_for_selector("body[data-map-ready='520402']", timeout=30_000)
    xixiu_offices = GridOffice.objects.filter(seat__code__startswith="520402").count()
    assert page.inner_text("#office-count") == str(xixiu_offices)
    page.click("#region-list .region-link[data-code='520402001']")
    page.wait_for_selector("body[data-map-ready='520402001']", timeout=30_000)
    page.click("#region-list .region-link[data-code='520402001004']")
    page.wait_for_selector("body[data-map-ready='520402001004']", timeout=30_000)
    grids_here = Grid.objects.filter(village__code="520402001004").count()
    assert page.inner_text("#grid-count") == str(grids_here)
    assert page.is_visible("#demo-note")
    page.screenshot(path=str(live_server_artifact("map-city.png")))
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert refused == []  # the CSP blocked nothing the pages need
    context.close()


def test_grid_worker_on_a_phone_sees_only_their_office_grids(anshun_tree, live_server, phone_page):
    user = user_for_role(Role.GRID_WORKER)
    _login(phone_page, live_server, user)
    phone_page.click("a.button.big")
    office = user.grid_office
    phone_page.wait_for_selector(f"body[data-map-ready='{office.code}']", timeout=30_000)
    assert phone_page.inner_text("#grid-count") == str(office.grids.count())
    assert phone_page.inner_text("#office-count") == "1"
    phone_page.screenshot(path=str(live_server_artifact("map-phone.png")))


def live_server_artifact(name):
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / ".local" / "test-artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name
