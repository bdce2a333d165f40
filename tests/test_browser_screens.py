"""Screens of issue #15 item 3, looked at in headless Chromium: each test keeps a screenshot
under .local/test-artifacts/ and asserts on what the page shows (sizes, text, console)."""

from datetime import date

import pytest

from accounts.roles import Role
from grids.models import GridOffice, Region
from surveys.demo import load_demo_surveys
from tests.factories import user_for_role
from tests.test_browser import _login, live_server_artifact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A4 is 210 mm wide; the stylesheets print with 15 mm margins (app.css) and 20 mm
# (the agreement), so at 96 CSS px per inch the printable width is at most 180 mm.
MM = 96 / 25.4
A4_PRINTABLE_PX = int(180 * MM)  # 680


def _csp_watch(page) -> list[str]:
    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(f"{page.url} {m.text}") if "Content Security Policy" in m.text else None,
    )
    return refused


@pytest.mark.parametrize(
    "viewport",
    [
        pytest.param({"width": 390, "height": 844}, id="phone"),
        pytest.param({"width": 1280, "height": 900}, id="desktop"),
    ],
)
def test_the_dashboard_choropleth_has_a_real_height_and_draws_the_counties(
    anshun_tree, live_server, browser, viewport
):
    load_demo_surveys()
    user = user_for_role(Role.CITY_OFFICIAL)
    context = browser.new_context(viewport=viewport, locale="zh-CN", is_mobile=viewport["width"] < 500)
    page = context.new_page()
    refused = _csp_watch(page)
    _login(page, live_server, user)
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_selector("body[data-map-ready='5204']", timeout=30_000)
    box = page.locator("#choropleth").bounding_box()
    assert box["height"] >= 250, box  # Leaflet's `height: 100%` squeezed it to its 2 px border
    assert box["width"] <= viewport["width"]
    counties = Region.objects.filter(parent__code="5204", boundary__isnull=False).count()
    polygons = page.locator("#choropleth path.leaflet-interactive")
    assert polygons.count() == counties > 0
    # The polygons lie inside the map, with an area one can see and tap.
    drawn = polygons.first.bounding_box()
    assert drawn["width"] > 10 and drawn["height"] > 10
    assert box["y"] <= drawn["y"] + drawn["height"] and drawn["y"] <= box["y"] + box["height"]
    page.locator("#choropleth").screenshot(
        path=str(live_server_artifact(f"dashboard-map-{viewport['width']}.png"))
    )
    assert refused == []
    context.close()


def _overflowing(page, limit: int) -> list[str]:
    """Elements whose right edge passes ``limit`` CSS px (what would be cut off the paper)."""
    return page.evaluate(
        """(limit) => [...document.querySelectorAll('body *')]
            .filter((e) => {
              const r = e.getBoundingClientRect();
              return r.width > 0 && r.right > limit + 0.5;
            })
            .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)""",
        limit,
    )


def test_the_printable_meeting_report_fits_a4_and_its_tables_wrap(anshun_tree, live_server, browser):
    load_demo_surveys()
    user = user_for_role(Role.CITY_OFFICIAL)
    # Chromium lays a printed page out at the paper's printable width: the same width as a
    # viewport, under print media.
    context = browser.new_context(viewport={"width": A4_PRINTABLE_PX, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    _login(page, live_server, user)
    page.goto(f"{live_server.url}/dashboard/report/?region=5204")
    page.wait_for_selector(".report-table table")
    page.emulate_media(media="print")
    assert not page.is_visible("header.topbar")
    assert _overflowing(page, A4_PRINTABLE_PX) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= A4_PRINTABLE_PX
    tables = page.locator(".report-table table.data")
    assert tables.count() >= 2
    for index in range(tables.count()):
        table = tables.nth(index)
        assert table.evaluate("(t) => t.scrollWidth <= t.clientWidth + 1"), index
        assert table.bounding_box()["width"] <= A4_PRINTABLE_PX
    # The widest table (the assessment, with long headers) wraps its headers onto several lines.
    header_heights = page.evaluate(
        "[...document.querySelectorAll('.report-table th')].map((th) => th.getBoundingClientRect().height)"
    )
    line = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.report-table td')).lineHeight) || 14"
    )
    assert max(header_heights) > 1.5 * line
    page.screenshot(path=str(live_server_artifact("meeting-report-print.png")), full_page=True)
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    assert pdf[:4] == b"%PDF"
    (live_server_artifact("meeting-report.pdf")).write_bytes(pdf)
    context.close()


def test_an_admin_change_page_draws_its_map_widget_under_the_csp(anshun_tree, live_server, browser):
    admin = user_for_role(Role.ADMIN)
    office = GridOffice.objects.filter(location__isnull=False).order_by("code").first()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    refused = _csp_watch(page)
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    external: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_server.url) else external.append(r.url))
    _login(page, live_server, admin)
    page.goto(f"{live_server.url}/admin/grids/gridoffice/{office.pk}/change/")
    container = page.locator(".leaflet-container").first
    container.wait_for(timeout=15_000)
    page.wait_for_selector(".leaflet-container .leaflet-marker-icon, .leaflet-container path", timeout=15_000)
    box = container.bounding_box()
    assert box["height"] >= 250 and box["width"] >= 300, box
    # The office's point is drawn on the map, and the draw/edit toolbar is there.
    assert page.locator(".leaflet-container .leaflet-marker-icon").count() == 1
    assert page.locator(".leaflet-draw").count() == 1
    # The geometry field still carries the stored point (what the form posts back).
    stored = page.locator("textarea[name='location']").input_value()
    assert '"Point"' in stored
    page.screenshot(path=str(live_server_artifact("admin-map-widget.png")), full_page=True)
    assert refused == []
    assert failed == []
    assert external == []  # every script, style and image is served by the site itself
    context.close()


def test_mediation_desk_forms_keep_what_was_typed_when_refused(anshun_tree, live_server, phone_page):
    from mediation import seed
    from mediation import services as mediation_services
    from mediation.models import LegalServiceCentre, MediationCase, MediationCommittee

    seed.ensure_professional_committees()
    seed.ensure_legal_centres()
    xixiu = Region.objects.get(code="520402")
    traffic = MediationCommittee.objects.get(dispute_type="道路交通事故")
    mediator = user_for_role(Role.MEDIATOR, region=xixiu)
    mediation_services.membership_add(
        actor=user_for_role(Role.ADMIN), committee=traffic, user=mediator, speciality="道路交通事故"
    )
    page = phone_page
    _login(page, live_server, mediator)
    # A walk-in dispute with the respondent left out: refused, everything typed still there.
    page.goto(f"{live_server.url}/mediation/cases/new/")
    form = page.locator("form[data-testid='intake']")
    form.locator("[name=committee]").select_option(str(traffic.pk))
    village = Region.objects.filter(code__startswith="520402005", level="village").order_by("code").first()
    form.locator("[name=region]").select_option(str(village.pk))
    form.locator("[name=dispute_type]").fill("道路交通事故")
    form.locator("[name=summary]").fill("电动车与轿车在路口相撞，双方就修车费争执不下。")
    form.locator("[name=amount_in_dispute]").fill("3200")
    form.locator("[name=applicant]").fill("赵某某")
    form.locator("[name=applicant_phone]").fill("13800000021")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(live_server_artifact("mediation-intake-refused.png")), full_page=True)
    form = page.locator("form[data-testid='intake']")
    assert form.locator("[name=summary]").input_value() == "电动车与轿车在路口相撞，双方就修车费争执不下。"
    assert form.locator("[name=applicant]").input_value() == "赵某某"
    assert form.locator("[name=applicant_phone]").input_value() == "13800000021"
    assert form.locator("[name=amount_in_dispute]").input_value() == "3200"
    assert form.locator("[name=region]").input_value() == str(village.pk)
    assert form.locator(".errorlist").first.is_visible()
    assert not MediationCase.objects.exists()

    # The legal desk: a decision that the applicant is eligible, with no lawyer named.
    lawyer = user_for_role(Role.LAWYER, region=xixiu)
    centre = LegalServiceCentre.objects.get(region=xixiu)
    application = mediation_services.legal_aid_apply(
        actor=lawyer, centre=centre, applicant_name="孙小明", matter="欠薪", applied_on=date(2026, 5, 1)
    )
    page.context.clear_cookies()
    _login(page, live_server, lawyer)
    page.goto(f"{live_server.url}/mediation/legal/")
    page.click("details#decide-aid > summary")
    decision = page.locator("form:has(input[name=form][value=decision])")
    decision.locator("[name=application]").select_option(str(application.pk))
    assert "孙**" in decision.locator("[name=application] option:checked").inner_text()
    decision.locator("[name=reason]").fill("家庭困难，符合法律援助条件")
    decision.locator("[name=decided_on]").fill("2026-05-02")
    decision.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.get_attribute("details#decide-aid", "open") is not None  # shown open again
    decision = page.locator("form:has(input[name=form][value=decision])")
    assert decision.locator("[name=reason]").input_value() == "家庭困难，符合法律援助条件"
    assert decision.locator("[name=decided_on]").input_value() == "2026-05-02"
    assert decision.locator("[name=application]").input_value() == str(application.pk)
    assert decision.locator(".errorlist").first.is_visible()
    page.screenshot(path=str(live_server_artifact("legal-decision-refused.png")), full_page=True)
