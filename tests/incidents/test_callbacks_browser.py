"""回访 in headless Chromium: the centre records a dissatisfied callback on a closed case and
reopens it; the grid worker's home page then shows it in "Returned to me", with the unread
notification in the reader's language. Screenshots go to .local/test-artifacts/."""

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from grids.models import GridOffice
from incidents.models import Incident, IncidentCategory
from incidents.services import workflow
from incidents.services.reporting import report_incident
from tests.factories import user_for_role
from tests.incidents.conftest import HOME_OFFICE_PREFIX, point_in
from tests.incidents.test_browser import artifact
from tests.test_browser import _login as login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TIMEOUT = 30_000


def test_a_dissatisfied_callback_reopens_the_case_and_the_worker_sees_it_returned(
    incident_tree, live_server, browser
):
    office = GridOffice.objects.filter(seat__code__startswith=HOME_OFFICE_PREFIX).order_by("code").first()
    worker = user_for_role(Role.GRID_WORKER, office=office)
    head = user_for_role(Role.GRID_OFFICE_HEAD, office=office)
    dispatcher = user_for_role(Role.DISPATCHER)
    incident = report_incident(
        actor=worker,
        category=IncidentCategory.objects.get(code="exposed-rubbish"),
        description="菜市场后门垃圾堆积",
        location=point_in(office.grids.order_by("code").first()),
    )[0]
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    workflow.take_incident(actor=worker, incident_id=incident.pk)
    workflow.report_handled(actor=worker, incident_id=incident.pk, note="已清理")
    workflow.verify_incident(actor=head, incident_id=incident.pk)
    workflow.close_incident(actor=dispatcher, incident_id=incident.pk)

    # The centre calls the reporter back: dissatisfied, and reopens the case.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, live_server, dispatcher)
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    form = page.locator("[data-testid=callback-form]")
    expect(form).to_be_visible(timeout=TIMEOUT)
    page.check("input[name=reached][value=yes]")
    page.select_option("#callback-satisfaction", "dissatisfied")
    page.fill("#callback-comment", "垃圾又堆起来了")
    page.check("#callback-reopen")
    page.click("button[data-action='callback']")
    expect(page.locator("[data-testid=status]")).to_have_text("处置中", timeout=TIMEOUT)
    timeline = page.locator("[data-testid=timeline]")
    expect(timeline).to_contain_text("回访：不满意 · 已重新启动办理")
    expect(timeline).to_contain_text("垃圾又堆起来了")
    expect(page.locator("[data-testid=callback-form]")).to_have_count(0)  # no longer closed
    page.screenshot(path=str(artifact("callback-reopened.png")), full_page=True)
    context.close()

    # The grid worker signs in and lands on the home page: the case is in "Returned to me".
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    login(page, live_server, worker)
    returned = page.locator("[data-testid=inbox-returned]")
    expect(returned).to_contain_text(f"#{incident.pk}", timeout=TIMEOUT)
    expect(page.locator("[data-testid=inbox-returned-count]")).to_have_text("1")
    box = returned.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 40  # readable on a phone
    unread = page.locator("[data-testid=inbox-unread]")
    told = f"事件 #{incident.pk}（暴露垃圾）回访不满意，已重新启动办理：垃圾又堆起来了"
    expect(unread).to_contain_text(told)
    page.screenshot(path=str(artifact("callback-worker-home.png")), full_page=True)
    # From the inbox to the case, and the notifications are marked read.
    returned.locator(f"a[href='/incidents/{incident.pk}/']").click()
    expect(page.locator("[data-testid=status]")).to_have_text("处置中", timeout=TIMEOUT)
    page.goto(f"{live_server.url}/")
    page.click("button[data-action='mark-read']")
    expect(page.locator("[data-testid=inbox-unread-count]")).to_have_text("0", timeout=TIMEOUT)
    context.close()
    assert Incident.objects.get(pk=incident.pk).status == Incident.Status.HANDLING
