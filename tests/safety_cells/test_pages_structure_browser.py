"""Browser flows on a phone: designating a demonstration site, registering a camera with the map
picker, and setting up a "1+4" unit with a member."""

import pytest

from accounts.roles import Role
from grids.models import Region
from safety_cells.models import Camera, CellType, PreventionUnit, SafetyCell, UnitMember
from tests.factories import user_for_role
from tests.test_browser import _login, live_server_artifact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DONGGUAN = "520402005"


def fits(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_an_official_designates_a_demonstration_site_on_a_phone(anshun_tree, live_server, phone_page):
    region = Region.objects.get(code=DONGGUAN)
    cell = SafetyCell.objects.create(
        name="浏览器小区", cell_type=CellType.objects.get(code="estate"), region=region
    )
    page = phone_page
    _login(page, live_server, user_for_role(Role.TOWNSHIP_OFFICIAL))
    page.goto(f"{live_server.url}/safety/cells/{cell.pk}/")
    page.click("[data-testid=designate-link]")
    page.fill("#id_designated_on", "2026-06-01")
    page.fill("#id_valid_until", "2026-01-01")  # ends before it starts
    page.click("#designate-form button.primary")
    page.wait_for_selector("[data-testid=error-valid_until]")
    assert page.input_value("#id_valid_until") == "2026-01-01"
    fits(page)
    page.fill("#id_valid_until", "2028-05-31")
    page.click("#designate-form button.primary")
    page.wait_for_selector(".demo-note")
    assert "2026-06-01" in page.inner_text(".demo-note") and "2028-05-31" in page.inner_text(".demo-note")
    page.screenshot(path=str(live_server_artifact("designate-phone.png")), full_page=True)
    cell.refresh_from_db()
    assert cell.is_demonstration_site


def test_an_official_registers_a_camera_with_the_map_picker(anshun_tree, live_server, phone_page):
    village = Region.objects.filter(level="village", code__startswith=DONGGUAN).order_by("code").first()
    point = village.grids.order_by("code").first().geometry.point_on_surface
    page = phone_page
    _login(page, live_server, user_for_role(Role.TOWNSHIP_OFFICIAL))
    page.goto(f"{live_server.url}/safety/cameras/")
    page.click("[data-testid=camera-new-link]")
    page.wait_for_selector("body[data-map-ready='point']")
    picker = page.locator("#point-map")
    picker.scroll_into_view_if_needed()
    box = picker.bounding_box()
    assert box["width"] >= 300 and box["height"] >= 250  # a real map, not a sliver
    picker.tap(position={"x": box["width"] / 2, "y": box["height"] / 2})
    lat, lng = float(page.input_value("#id_latitude")), float(page.input_value("#id_longitude"))
    assert 25 < lat < 27 and 105 < lng < 107  # the tap landed in Anshun and filled the inputs
    assert page.locator("path.picked-point").count() == 1
    page.fill("#id_code", "BR-001")
    page.fill("#id_owner", "西秀分局")
    page.fill("#id_latitude", "26.0")
    page.fill("#id_longitude", "100.0")  # far outside the jurisdiction
    page.click("#camera-form button.primary")
    page.wait_for_selector("[data-testid=error-latitude]")
    assert page.input_value("#id_code") == "BR-001" and not Camera.objects.exists()
    fits(page)
    page.fill("#id_latitude", f"{point.y:.6f}")
    page.fill("#id_longitude", f"{point.x:.6f}")
    page.click("#camera-form button.primary")
    page.wait_for_selector("[data-testid=camera-BR-001]")
    assert village.name in page.inner_text("[data-testid=camera-BR-001]")
    page.screenshot(path=str(live_server_artifact("camera-register-phone.png")), full_page=True)
    assert Camera.objects.get(code="BR-001").village == village


def test_an_official_sets_up_a_unit_and_adds_a_member_on_a_phone(anshun_tree, live_server, phone_page):
    village = Region.objects.filter(level="village", code__startswith=DONGGUAN).order_by("code").first()
    page = phone_page
    _login(page, live_server, user_for_role(Role.TOWNSHIP_OFFICIAL))
    page.goto(f"{live_server.url}/safety/units/")
    page.click("[data-testid=unit-new-link]")
    page.fill("#id_name", "浏览器巡防队")
    page.select_option("#id_level", "county")  # wrong level for a village
    page.select_option("#id_kind", "patrol_team")
    page.fill("#id_region", village.code)
    page.click("#unit-form button.primary")
    page.wait_for_selector("[data-testid=error-level]")
    assert page.input_value("#id_name") == "浏览器巡防队"
    fits(page)
    page.select_option("#id_level", "village")
    page.click("#unit-form button.primary")
    page.wait_for_selector("[data-testid=unit-name]")
    page.fill("#id_name", "李队员")
    page.fill("#id_duty", "队员")
    page.click("#member-form button.primary")
    page.wait_for_selector("#member-table >> text=李队员")
    assert page.locator("[data-testid=log-patrol-link]").count() == 1
    page.screenshot(path=str(live_server_artifact("unit-phone.png")), full_page=True)
    unit = PreventionUnit.objects.get(name="浏览器巡防队")
    assert unit.region == village and UnitMember.objects.filter(unit=unit, name="李队员").exists()
    page.goto(f"{live_server.url}/safety/units/?level=village")
    assert "浏览器巡防队" in page.inner_text("#unit-table")
