"""The cross-level flow in headless Chromium: a county dispatcher routes a case to a county
department (主办) with a township unit assisting (协办); the department's staff find it in their
unit's list and report it handled, the assisting unit records its part, the grid head verifies,
the centre closes it, and a dissatisfied 回访 reopens it to the bureau, whose home page shows it
returned. Screenshots go to .local/test-artifacts/."""

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from grids.models import GridOffice, Region
from incidents.models import Incident, IncidentCategory
from incidents.services.reporting import report_incident
from incidents.services.units import route_set
from tests.factories import department_in, user_for_role
from tests.incidents.conftest import HOME_OFFICE_PREFIX, point_in
from tests.incidents.test_browser import artifact
from tests.test_browser import _login as login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TIMEOUT = 30_000


def desk(browser, live_server, user):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, live_server, user)
    return context, page


def test_county_dispatch_to_a_department_with_a_township_unit_assisting(incident_tree, live_server, browser):
    office = GridOffice.objects.filter(seat__code__startswith=HOME_OFFICE_PREFIX).order_by("code").first()
    grid = office.grids.order_by("code").first()
    county, township = Region.objects.get(code="520402"), Region.objects.get(code=HOME_OFFICE_PREFIX)
    housing, justice = department_in(county, "housing"), department_in(township, "justice")
    worker = user_for_role(Role.GRID_WORKER, office=office)
    head = user_for_role(Role.GRID_OFFICE_HEAD, office=office)
    dispatcher = user_for_role(Role.DISPATCHER, region=county)
    officer = user_for_role(Role.DEPARTMENT_OFFICER, department=housing)
    helper = user_for_role(Role.DEPARTMENT_OFFICER, department=justice)
    building = IncidentCategory.objects.get(code="illegal-building")
    route_set(actor=dispatcher, category=building, region=county, department=housing)
    incident = report_incident(
        actor=worker, category=building, description="河边新搭违章棚房", location=point_in(grid)
    )[0]

    # The county dispatcher registers it; the routing table has pre-selected the county bureau.
    context, page = desk(browser, live_server, dispatcher)
    page.goto(f"{live_server.url}/incidents/queue/")
    page.click(f".incident-row[data-id='{incident.pk}'] a")
    page.click("button[data-action='register']")
    expect(page.locator("[data-testid=routed]")).to_contain_text(housing.name, timeout=TIMEOUT)
    assert page.locator("select[name=lead]").input_value() == f"department:{housing.code}"
    page.check(f"input[name=assist][value='department:{justice.code}']")
    page.click("button[data-action='dispatch']")
    expect(page.locator("[data-testid=handling-unit]")).to_contain_text(housing.name, timeout=TIMEOUT)
    shares = page.locator("[data-testid=shares]")
    expect(shares).to_contain_text("主办")
    expect(shares).to_contain_text("协办")
    expect(shares).to_contain_text(justice.name)
    page.screenshot(path=str(artifact("units-dispatched.png")), full_page=True)
    incident.refresh_from_db()
    assert incident.status == Incident.Status.DISPATCHED and incident.handling_department == housing
    context.close()

    # The bureau's officer finds it in the unit's list, takes it and reports it handled.
    context, page = desk(browser, live_server, officer)
    page.click("[data-testid=inbox-link]")
    row = page.locator(f".incident-row[data-id='{incident.pk}']")
    expect(row).to_be_visible(timeout=TIMEOUT)
    box = row.bounding_box()
    assert box and box["height"] > 20 and box["width"] > 200
    assert page.locator(".incident-row").count() == 1  # its own work only
    page.screenshot(path=str(artifact("units-department-inbox.png")), full_page=True)
    row.locator("a").first.click()
    page.click("button[data-action='take']")
    page.wait_for_selector("button[data-action='report_handled']", timeout=TIMEOUT)
    page.fill("#note-report_handled", "已责令拆除违章棚房")
    page.click("button[data-action='report_handled']")
    expect(page.locator("[data-testid=status]")).to_have_text("已处置", timeout=TIMEOUT)
    context.close()

    # The assisting township office records its part.
    context, page = desk(browser, live_server, helper)
    page.goto(f"{live_server.url}/incidents/inbox/")
    page.locator(f".incident-row[data-id='{incident.pk}'] a").first.click()
    page.fill("textarea[name=result]", "司法所协助做通当事人工作")
    page.click("button[data-action='record-part']")
    expect(page.locator("[data-testid=shares]")).to_contain_text("司法所协助做通当事人工作", timeout=TIMEOUT)
    context.close()

    # The grid head verifies; the centre closes.
    context, page = desk(browser, live_server, head)
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    page.click("button[data-action='verify']")
    expect(page.locator("[data-testid=status]")).to_have_text("已核查", timeout=TIMEOUT)
    context.close()
    context, page = desk(browser, live_server, dispatcher)
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    page.click("button[data-action='close']")
    expect(page.locator("[data-testid=status]")).to_have_text("已结案", timeout=TIMEOUT)
    timeline = page.locator("[data-testid=timeline]")
    expect(timeline).to_contain_text(f"主办单位: {housing.name}")
    expect(timeline).to_contain_text(f"协办单位: {justice.name}")
    expect(timeline).to_contain_text("司法所协助做通当事人工作")
    assert (
        timeline.locator("li").count() == 8
    )  # reported, registered, dispatched, taken, part, handled, verified, closed
    page.screenshot(path=str(artifact("units-closed-timeline.png")), full_page=True)
    incident.refresh_from_db()
    assert incident.status == Incident.Status.CLOSED
    assert [s.state for s in incident.assignments.order_by("part")] == ["done", "done"]

    # 回访: the reporter is not satisfied; the centre reopens the case to its lead unit.
    page.check("input[name=reached][value=yes]")
    page.select_option("#callback-satisfaction", "dissatisfied")
    page.fill("#callback-comment", "棚房只拆了一半")
    page.check("#callback-reopen")
    page.click("button[data-action='callback']")
    expect(page.locator("[data-testid=status]")).to_have_text("处置中", timeout=TIMEOUT)
    expect(timeline).to_contain_text("回访：不满意 · 已重新启动办理")
    context.close()

    # The bureau's officer finds it returned on the home page, with the notification in Chinese.
    context, page = desk(browser, live_server, officer)
    returned = page.locator("[data-testid=inbox-returned]")
    expect(returned).to_contain_text(f"#{incident.pk}", timeout=TIMEOUT)
    expect(page.locator("[data-testid=inbox-unread]")).to_contain_text("回访")
    page.screenshot(path=str(artifact("units-callback-reopened-home.png")), full_page=True)
    context.close()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.HANDLING and incident.handling_department == housing
