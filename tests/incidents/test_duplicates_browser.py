"""并案 in headless Chromium: a grid worker reporting on a phone is warned of a likely duplicate
(and still sends the report); the dispatcher sees it in the queue and merges it into the first
report's case, whose page then lists the second reporter. Screenshots go to .local/test-artifacts/."""

import re

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from grids.models import GridOffice
from incidents.models import Incident, IncidentCategory
from incidents.services.reporting import report_incident
from tests.factories import user_for_role
from tests.incidents.conftest import HOME_OFFICE_PREFIX, point_in
from tests.incidents.test_browser import artifact, tap_map_at
from tests.test_browser import _login as login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TIMEOUT = 30_000


def test_a_duplicate_is_shown_at_intake_and_merged_by_the_dispatcher(
    incident_tree, live_server, phone_page, browser
):
    office = GridOffice.objects.filter(seat__code__startswith=HOME_OFFICE_PREFIX).order_by("code").first()
    grid = office.grids.order_by("code").first()
    first_reporter = user_for_role(Role.GRID_WORKER, office=office)
    second_reporter = user_for_role(Role.GRID_WORKER, office=office)
    dispatcher = user_for_role(Role.DISPATCHER)
    rubbish = IncidentCategory.objects.get(code="exposed-rubbish")
    first = report_incident(
        actor=first_reporter, category=rubbish, description="河边垃圾堆放多日", location=point_in(grid)
    )[0]

    # The second worker taps the same spot and picks the category: the warning names the first.
    page = phone_page
    login(page, live_server, second_reporter)
    page.goto(f"{live_server.url}/incidents/report/")
    page.wait_for_selector("body[data-map-ready='1']", timeout=TIMEOUT)
    tap_map_at(page, point_in(grid))
    page.select_option("#category", "exposed-rubbish")
    warning = page.locator("[data-testid=duplicate-warning]")
    expect(warning).to_be_visible(timeout=TIMEOUT)
    expect(warning).to_contain_text("附近可能已有人上报")
    candidate = warning.locator(f"li[data-id='{first.pk}']")
    expect(candidate).to_contain_text("河边垃圾堆放多日")
    expect(candidate).to_contain_text(re.compile(r"相距 \d{1,2} 米"))  # a tap is a few metres off
    assert candidate.locator("a").get_attribute("href") == f"/incidents/{first.pk}/"
    box = warning.bounding_box()
    assert box and 300 <= box["width"] <= 390 and box["height"] > 60  # fits the phone's width
    page.screenshot(path=str(artifact("duplicate-warning-phone.png")), full_page=True)
    # A warning, not a gate: the report is sent as usual.
    page.fill("#description", "河边又有一堆垃圾")
    page.click("#send")
    expect(page.locator("#sent li")).to_have_count(1, timeout=TIMEOUT)
    second = Incident.objects.exclude(pk=first.pk).get()
    assert second.reporter == second_reporter and second.status == Incident.Status.REPORTED

    # The dispatcher sees the pair in the queue and merges the second report into the first case.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    desk = context.new_page()
    login(desk, live_server, dispatcher)
    desk.goto(f"{live_server.url}/incidents/queue/")
    row = desk.locator(f".incident-row[data-id='{second.pk}']")
    expect(row.locator("[data-testid=possible-duplicates]")).to_contain_text(f"#{first.pk}", timeout=TIMEOUT)
    row.locator("a").first.click()
    desk.click(f"button[data-action='merge'][data-into='{first.pk}']")
    expect(desk.locator("[data-testid=status]")).to_have_text("已并案", timeout=TIMEOUT)
    expect(desk.locator("[data-testid=merged-into]")).to_contain_text(f"#{first.pk}")
    expect(desk.locator("[data-testid=timeline]")).to_contain_text(f"已并入事件 #{first.pk}")
    desk.click("[data-testid=merged-into] a")
    merged = desk.locator("[data-testid=merged-reports]")
    expect(merged).to_contain_text(f"#{second.pk}", timeout=TIMEOUT)
    expect(merged.locator("[data-testid=merged-reporter]")).to_have_text(str(second_reporter))
    expect(desk.locator("[data-testid=timeline]")).to_contain_text(f"事件 #{second.pk} 已并入本事件")
    desk.screenshot(path=str(artifact("duplicate-merged-case.png")), full_page=True)
    context.close()
    second.refresh_from_db()
    assert second.status == Incident.Status.MERGED and second.merged_into_id == first.pk
