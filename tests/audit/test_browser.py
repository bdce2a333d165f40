"""In headless Chromium: an auditor opens the change list, filters to one incident and reads its diff."""

import pytest

from incidents.services.editing import update_incident
from tests.audit.conftest import XIXIU, auditor_of, make_county
from tests.test_browser import _login, live_server_artifact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_auditor_filters_to_one_incident_and_reads_the_diff(anshun_tree, live_server, browser):
    xixiu = make_county(XIXIU, suffix="xx", township="520402005")
    incident = xixiu.incident
    update_incident(actor=xixiu.worker, incident_id=incident.pk, description="河边垃圾已清理一半")
    auditor = auditor_of(XIXIU)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    page = context.new_page()
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    _login(page, live_server, auditor)
    page.goto(f"{live_server.url}/audit/")
    assert page.locator("tr.change").count() >= 6  # the five models' creations and the edit
    page.click("details.filters > summary")
    page.select_option("#id_model", "incidents.incident")
    page.fill("#id_object_id", str(incident.pk))
    page.click("form[data-testid='audit-filters'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    rows = page.locator("tr.change")
    assert rows.count() == 2
    assert {rows.nth(i).get_attribute("data-object") for i in range(2)} == {str(incident.pk)}
    rows.first.locator("[data-testid='change-link']").click()
    page.wait_for_load_state("networkidle")
    assert page.inner_text("[data-testid='change-user']") == "worker-xx"
    description = page.locator("[data-testid='diff'] li[data-field='description']")
    assert description.locator(".old").inner_text() == "路边垃圾堆放"
    assert description.locator(".new").inner_text() == "河边垃圾已清理一半"
    page.screenshot(path=str(live_server_artifact("audit-diff.png")))
    # The correction lists what changed, not the bookkeeping stamps that move on every save.
    assert page.locator("[data-testid='diff'] li").count() == 1
    # The report itself reads as places and names, never ids or WKT.
    page.go_back()
    page.wait_for_load_state("networkidle")
    created = page.locator("tr.change").nth(1)
    grid = created.locator("li[data-field='grid'] .new").inner_text()
    assert grid == str(incident.grid)
    place = created.locator("li[data-field='location'] .new").inner_text()
    assert place.startswith(str(incident.grid)) and f"{incident.location.y:.4f}" in place
    assert created.locator("li[data-field='category'] .new").inner_text() == str(incident.category)
    assert "POINT" not in page.inner_text("body")
    assert created.locator("li[data-field='updated_at'], li[data-field='version']").count() == 0
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator("table[data-testid='changes']").screenshot(
        path=str(live_server_artifact("audit-list-names.png"))
    )
    assert refused == []
    context.close()
