"""Phone flows in headless Chromium: report by tapping the map, offline outbox, dispatch and map."""

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from incidents.models import Incident
from tests.factories import user_for_role
from tests.incidents.conftest import HOME_OFFICE_PREFIX, point_in
from tests.test_browser import _login as login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TIMEOUT = 30_000


def tap_map_at(page, point):
    position = page.evaluate(
        "([lat, lng]) => {"
        " const p = window.reportMap.latLngToContainerPoint([lat, lng]); return {x: p.x, y: p.y}; }",
        [point.y, point.x],
    )
    page.locator("#report-map").tap(position=position)
    # Locator assertions rather than wait_for_function: the CSP forbids the eval the latter needs.
    expect(page.locator("#latitude")).not_to_have_value("")


def report(page, point, text):
    page.evaluate("document.getElementById('latitude').value = ''")
    tap_map_at(page, point)
    page.fill("#description", text)
    page.select_option("#category", "exposed-rubbish")
    page.click("#send")


def test_worker_reports_online_and_offline_and_the_dispatcher_dispatches(
    incident_tree, live_server, phone_page, browser
):
    from grids.models import GridOffice

    office = GridOffice.objects.filter(seat__code__startswith=HOME_OFFICE_PREFIX).order_by("code").first()
    grid = office.grids.order_by("code").first()
    worker = user_for_role(Role.GRID_WORKER, office=office)
    page = phone_page
    login(page, live_server, worker)
    page.goto(f"{live_server.url}/incidents/report/")
    page.wait_for_selector("body[data-map-ready='1']", timeout=TIMEOUT)
    point = point_in(grid)

    report(page, point, "河边垃圾堆放")
    page.wait_for_selector("#sent li", timeout=TIMEOUT)
    assert Incident.objects.count() == 1

    page.context.set_offline(True)
    report(page, point, "离线时记录的垃圾")
    page.wait_for_selector("#outbox li", timeout=TIMEOUT)
    assert "离线时记录的垃圾" in page.inner_text("#outbox")
    assert Incident.objects.count() == 1
    page.context.set_offline(False)
    expect(page.locator("#sent li")).to_have_count(2, timeout=TIMEOUT)
    page.wait_for_selector("body[data-outbox='0']", timeout=TIMEOUT)
    page.screenshot(path=str(artifact("incident-report-phone.png")))

    incidents = list(Incident.objects.order_by("pk"))
    assert [i.description for i in incidents] == ["河边垃圾堆放", "离线时记录的垃圾"]
    assert len({i.client_uuid for i in incidents}) == 2
    assert all(i.grid == grid and i.reporter == worker for i in incidents)
    # Coming online again, or reloading, sends nothing twice.
    page.reload()
    page.wait_for_selector("body[data-outbox='0']", timeout=TIMEOUT)
    assert Incident.objects.count() == 2

    dispatcher = user_for_role(Role.DISPATCHER)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    desk = context.new_page()
    login(desk, live_server, dispatcher)
    target = incidents[1]
    desk.goto(f"{live_server.url}/incidents/queue/")
    desk.click(f".incident-row[data-id='{target.pk}'] a")
    desk.click("button[data-action='register']")
    desk.select_option("select[name=lead]", f"office:{office.code}")
    desk.click("button[data-action='dispatch']")
    desk.wait_for_selector("[data-testid=handling-unit]", timeout=TIMEOUT)
    target.refresh_from_db()
    assert target.status == Incident.Status.DISPATCHED and target.handling_office == office
    assert office.name in desk.inner_text("[data-testid=handling-unit]")
    desk.goto(f"{live_server.url}/incidents/?status=dispatched")
    desk.wait_for_selector("body[data-map-ready='1']", timeout=TIMEOUT)
    assert desk.locator(f"path.incident-{target.pk}").count() == 1
    desk.screenshot(path=str(artifact("incident-dispatched-map.png")))
    context.close()


def artifact(name):
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent.parent / ".local" / "test-artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name
