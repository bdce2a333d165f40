"""延期 in headless Chromium: the handling unit's grid worker asks for a later deadline on the
incident page, the township dispatcher finds it in the pending list and approves it, and the
incident page shows the new deadline. Screenshots go to .local/test-artifacts/."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import Role
from grids.models import GridOffice
from incidents.models import ExtensionRequest, Incident, IncidentCategory
from incidents.services import workflow
from incidents.services.reporting import report_incident
from tests.factories import user_for_role
from tests.incidents.conftest import HOME_OFFICE_PREFIX, point_in
from tests.incidents.test_browser import artifact
from tests.test_browser import _login as login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TIMEOUT = 30_000


def test_the_handler_asks_for_an_extension_and_the_dispatcher_approves_it(
    incident_tree, live_server, browser
):
    office = GridOffice.objects.filter(seat__code__startswith=HOME_OFFICE_PREFIX).order_by("code").first()
    worker = user_for_role(Role.GRID_WORKER, office=office)
    dispatcher = user_for_role(Role.DISPATCHER)
    incident = report_incident(
        actor=worker,
        category=IncidentCategory.objects.get(code="illegal-building"),
        description="河边新搭违章棚房，需住建部门认定",
        location=point_in(office.grids.order_by("code").first()),
    )[0]
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    workflow.take_incident(actor=worker, incident_id=incident.pk)
    due = timezone.localtime(Incident.objects.get(pk=incident.pk).due_at)
    wanted = (due + timedelta(days=2)).replace(hour=17, minute=0, second=0, microsecond=0)

    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    login(page, live_server, worker)
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    expect(page.locator("[data-testid=due-at]")).to_have_text(f"{due:%Y-%m-%d %H:%M}", timeout=TIMEOUT)
    page.fill("#extension-due", f"{wanted:%Y-%m-%dT%H:%M}")
    page.fill("#extension-reason", "需住建部门现场认定，期限内无法办结")
    page.click("button[data-action='request-extension']")
    expect(page.locator("[data-testid=extensions] li[data-state=pending]")).to_contain_text(
        f"{wanted:%Y-%m-%d %H:%M}", timeout=TIMEOUT
    )
    assert page.locator("button[data-action='request-extension']").count() == 0  # one pending at a time
    context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, live_server, dispatcher)
    page.goto(f"{live_server.url}/incidents/extensions/")
    page.click(f".incident-row[data-id='{incident.pk}'] a")
    page.fill("#decision-note", "同意延期")
    page.click("button[data-action='approve-extension']")
    expect(page.locator("[data-testid=due-at]")).to_have_text(f"{wanted:%Y-%m-%d %H:%M}", timeout=TIMEOUT)
    expect(page.locator("[data-testid=extensions] li[data-state=approved]")).to_be_visible()
    expect(page.locator("[data-testid=timeline]")).to_contain_text("同意延期")
    box = page.locator("[data-testid=time-panel]").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 50
    page.screenshot(path=str(artifact("extension-approved.png")), full_page=True)
    context.close()
    assert ExtensionRequest.objects.get().state == ExtensionRequest.State.APPROVED
    assert Incident.objects.get(pk=incident.pk).due_at == wanted
