"""The whole flow in headless Chromium: a grid incident is referred; the mediator records two
sessions and an agreement, prints it, files for judicial confirmation and records the ruling —
all on one timeline."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from grids.models import Grid, Region
from incidents.models import Duty, Incident, IncidentCategory, IncidentEvent
from mediation import seed, services
from mediation.models import JudicialConfirmation, MediationCase, MediationCommittee
from tests.factories import user_for_role
from tests.test_browser import _login, live_server_artifact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _record(page, action: str, values: dict[str, str], selects: dict[str, str] | None = None):
    page.click(f"details#{action} > summary")
    form = page.locator(f"form[data-action='{action}']")
    for name, value in values.items():
        form.locator(f"[name='{name}']").fill(value)
    for name, value in (selects or {}).items():
        form.locator(f"[name='{name}']").select_option(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")


def test_referred_incident_to_court_ruling_on_one_timeline(anshun_tree, live_server, browser):
    seed.ensure_professional_committees()
    seed.ensure_township_committees(within="520402005")
    township_committee = MediationCommittee.objects.get(kind="township", region__code="520402005")
    mediator = user_for_role(Role.MEDIATOR, region=Region.objects.get(code="520402"), display_name="调解员甲")
    services.membership_add(
        actor=user_for_role(Role.ADMIN), committee=township_committee, user=mediator, speciality="邻里纠纷"
    )
    category = IncidentCategory.objects.create(
        code="land-dispute", name="宅基地纠纷", duty=Duty.CONFLICTS_DISPUTES
    )
    grid = Grid.objects.filter(village__code__startswith="520402005").order_by("code").first()
    incident = Incident.objects.create(category=category, description="两户因宅基地边界争执", grid=grid)
    IncidentEvent.objects.create(
        incident=incident, from_status="reported", to_status="registered", note="立案"
    )
    services.incident_refer(
        actor=user_for_role(Role.TOWNSHIP_OFFICIAL), incident=incident, committee=township_committee
    )
    case = MediationCase.objects.get(source_incident=incident)

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    _login(page, live_server, mediator)
    page.goto(f"{live_server.url}/mediation/")
    page.click(f"tr[data-case='{case.pk}'] a")
    page.wait_for_selector("[data-testid=timeline]")
    # The suggested mediator is assigned from the list.
    page.locator("[data-testid=suggestions] button").first.click()
    page.wait_for_load_state("networkidle")
    assert page.inner_text("[data-testid=mediator]") == "调解员甲"

    now = timezone.localtime()
    today = now.date().isoformat()
    for minutes, place in ((1, "村委会调解室"), (2, "镇司法所")):
        held_at = (now + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")
        _record(page, "session", {"held_at": held_at, "place": place, "attendees": "双方当事人"})
    assert page.locator("[data-testid=sessions] li").count() == 2
    # The referral named nobody: the page asks for the parties, and an agreement is refused
    # until they are named -- shown again with what was typed and the reason beside it.
    assert page.locator("[data-testid=parties] tr").count() == 0
    assert page.is_visible("[data-testid=parties-missing]")
    _record(page, "agreement", {"terms": "以现有围墙为界，互不侵占。", "signed_on": today})
    assert page.get_attribute("details#agreement", "open") is not None
    form = page.locator("form[data-action='agreement']")
    assert form.locator("[name=terms]").input_value() == "以现有围墙为界，互不侵占。"
    assert form.locator("[name=signed_on]").input_value() == today
    assert "申请人" in form.locator(".errorlist").inner_text()
    page.screenshot(path=str(live_server_artifact("mediation-agreement-refused.png")), full_page=True)
    assert MediationCase.objects.get(pk=case.pk).status == "in_mediation"
    _record(page, "party", {"name": "王某某", "phone": "13800000011"}, {"side": "applicant"})
    _record(page, "party", {"name": "李某某"}, {"side": "respondent"})
    assert page.locator("[data-testid=parties] tr").count() == 2
    assert not page.is_visible("[data-testid=parties-missing]")
    _record(page, "agreement", {"terms": "以现有围墙为界，互不侵占。", "signed_on": today})
    assert page.get_attribute("[data-testid=case-status]", "class") == "badge"

    with context.expect_page() as printed:
        page.click("#print-agreement")
    document = printed.value
    document.wait_for_load_state()
    assert "人民调解协议书" in document.inner_text("body")
    assert "以现有围墙为界" in document.inner_text("body")
    # Only the real parties sign; no stand-in for the incident's reporter, no blank side.
    signatures = document.locator("[data-testid=party-signatures] .signature")
    assert signatures.all_inner_texts() == ["申请人 王某某：", "被申请人 李某某："]
    assert document.locator(".to-fill").count() == 0
    assert "事件" not in document.inner_text("[data-testid=agreement-parties]")
    document.emulate_media(media="print")
    assert not document.is_visible("#print")  # the toolbar is hidden on paper
    assert document.pdf(format="A4")[:4] == b"%PDF"
    document.close()

    _record(page, "confirmation-apply", {"court": "安顺市西秀区人民法院", "applied_on": today})
    _record(page, "confirmation-decide", {"decided_on": today}, {"accepted": "1"})
    _record(
        page, "ruling", {"ruled_on": today, "ruling_number": "（2026）黔0402民特12号"}, {"confirmed": "1"}
    )
    confirmation = JudicialConfirmation.objects.get(agreement__case=case)
    assert (confirmation.outcome, confirmation.ruling_number) == ("confirmed", "（2026）黔0402民特12号")
    assert "（2026）黔0402民特12号" in page.inner_text("[data-testid=confirmation]")

    timeline = page.locator("[data-testid=timeline] li")
    kinds = [timeline.nth(i).get_attribute("data-kind") for i in range(timeline.count())]
    sources = [timeline.nth(i).get_attribute("class") for i in range(timeline.count())]
    assert kinds[:2] == ["reported", "registered"]
    assert sources[:2] == ["incident", "incident"]
    for step in ("opened", "assigned", "agreement", "confirmation_applied", "confirmation_decided", "ruling"):
        assert step in kinds, step
    assert kinds.count("session") == 2
    page.screenshot(path=str(live_server_artifact("mediation-case.png")), full_page=True)
    context.close()

    # The same case on a mediator's phone: one column, nothing wider than the screen.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    page = phone.new_page()
    _login(page, live_server, mediator)
    page.goto(f"{live_server.url}/mediation/cases/{case.pk}/")
    assert page.locator("[data-testid=timeline] li").count() == len(kinds)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(live_server_artifact("mediation-case-phone.png")), full_page=True)
    phone.close()
