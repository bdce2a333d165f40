"""A grid worker on a phone opens a house's visit form once with signal, then again without it
(the registry's service worker answers), corrects a resident's phone and marks one as moved out;
the visit waits on the phone and, once the signal is back, is recorded once."""

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from grids.models import GridOffice
from registry.models import HouseholdVisit, Resident
from tests.factories import user_for_role
from tests.incidents.test_outbox_browser import network  # noqa: F401 - the cuttable link fixture
from tests.registry.conftest import HOME_OFFICE_PREFIX, make_house
from tests.test_browser import _login as login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TIMEOUT = 30_000
KEPT_ON_THE_PHONE = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("anshun-visits", 1);
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const read = open.result.transaction("visits").objectStore("visits").getAll();
    read.onsuccess = () => resolve(read.result);
    read.onerror = () => reject(read.error);
  };
})"""


def test_a_visit_made_offline_is_sent_once_when_the_signal_returns(
    anshun_tree,
    live_server,
    network,  # noqa: F811 - the fixture imported above
    phone_page,
):
    office = GridOffice.objects.filter(seat__code__startswith=HOME_OFFICE_PREFIX).order_by("code").first()
    worker = user_for_role(Role.GRID_WORKER, office=office)
    grid = office.grids.select_related("village").order_by("code").first()
    house, (stays, leaves) = make_house(worker, grid)
    login(phone_page, network, worker)
    form = f"{network.url}/registry/houses/{house.pk}/visit/"
    phone_page.goto(form)
    expect(phone_page.locator("fieldset.resident")).to_have_count(2)
    # The form fits the phone: no sideways scrolling.
    assert phone_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    # The first visit with signal: the registry's service worker keeps the form and its assets.
    phone_page.wait_for_selector("body[data-visit-kept='1']", timeout=TIMEOUT)

    network.cut("refuse")
    phone_page.goto(form)  # only the service worker's copy can answer now
    assert network.turned_away > 0
    expect(phone_page.locator("fieldset.resident")).to_have_count(2)
    assert phone_page.evaluate("!!navigator.serviceWorker.controller")
    phone_page.fill(f"input[name=phone_{stays.pk}]", "13866667777")
    phone_page.check(f"input[name=moved_out][value='{leaves.pk}']")
    phone_page.click("#visit-form button[type=submit]")
    waiting = phone_page.locator("#visit-outbox p[data-state=waiting]")
    expect(waiting).to_have_count(1, timeout=TIMEOUT)
    assert HouseholdVisit.objects.count() == 0

    network.restore()
    phone_page.evaluate("window.dispatchEvent(new Event('online'))")
    sent = phone_page.locator("#visit-outbox p[data-state=sent]")
    expect(sent).to_have_count(1, timeout=TIMEOUT)
    visit = HouseholdVisit.objects.get()
    assert sent.inner_text().endswith(f"#{visit.pk}")
    # Once the server has it, the phone keeps the visit's number only: not the phone typed in.
    kept = phone_page.evaluate(KEPT_ON_THE_PHONE)
    assert [r["state"] for r in kept] == ["sent"] and kept[0]["visit"] == visit.pk
    assert "body" not in kept[0] and "13866667777" not in str(kept)
    # Back online again, and the page opened afresh: nothing is sent a second time.
    phone_page.evaluate("window.dispatchEvent(new Event('online'))")
    phone_page.reload()
    expect(phone_page.locator("#visit-outbox p[data-state=sent]")).to_have_count(1, timeout=TIMEOUT)
    assert HouseholdVisit.objects.count() == 1
    stays.refresh_from_db()
    assert stays.phone == "13866667777"
    assert Resident.objects.get(pk=leaves.pk).moved_out_on is not None
    assert visit.by == worker and visit.changes == {"confirmed": 1, "moved_out": 1, "phones": 1, "new": 0}
