"""The phone's outbox in headless Chromium, with the signal really cut.

Playwright's ``set_offline`` does not cut a service worker's own requests, so these tests put a
small loopback TCP proxy between Chromium and the live server and cut that: the page, the
service worker and the outbox all lose the server at once, as on a hill above a village.
"""

import contextlib
import selectors
import socket
import struct
import threading
import time
import uuid

import pytest
from django.utils import translation
from playwright.sync_api import expect

from accounts.roles import Role
from grids.models import Grid, GridOffice
from incidents.models import Incident, IncidentCategory
from incidents.services.reporting import report_incident
from tests.factories import user_for_role
from tests.incidents.conftest import HOME_OFFICE_PREFIX, OTHER_COUNTY, point_in
from tests.test_browser import _login as login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TIMEOUT = 30_000
SENDING_TIMEOUT = 90_000  # the outbox retries on a timer (2 s doubling to 30 s) once the signal is back


def _reset(sock: socket.socket) -> None:
    """Close with RST, as a network that refuses does."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class CuttableProxy:
    """A loopback TCP forwarder between Chromium and live_server whose link can be cut.

    ``cut("refuse")``: new connections are reset at once (no route). ``cut("drop")``: new
    connections are accepted and never answered (a signal that hangs). Either way every open
    connection is broken too, since Chromium's keep-alive connections would outlive the cut.
    Bounded: at most ``MAX_CONNECTIONS`` forwarding threads and as many held connections; it
    stops itself after ``LIFETIME`` seconds even if a test forgets to.
    """

    MAX_CONNECTIONS = 48
    LIFETIME = 600
    IDLE = 60

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.mode = "up"
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.held: list[socket.socket] = []
        self.slots = threading.BoundedSemaphore(self.MAX_CONNECTIONS)
        self.stopped = threading.Event()
        self.forwarded = 0
        self.turned_away = 0
        self.deadline = time.monotonic() + self.LIFETIME
        self.thread = threading.Thread(target=self._serve, name="cuttable-proxy", daemon=True)
        self.thread.start()

    def cut(self, how: str = "refuse") -> None:
        assert how in ("refuse", "drop")
        with self.lock:
            self.mode = how
            doomed = list(self.open)
        for sock in doomed:  # the forwarding thread notices and closes its pair
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        with self.lock:
            self.mode = "up"
            held, self.held = self.held, []
        for sock in held:
            _reset(sock)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)

    def _serve(self) -> None:
        try:
            while not self.stopped.is_set() and time.monotonic() < self.deadline:
                try:
                    client, _address = self.listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    break
                with self.lock:
                    mode = self.mode
                    if mode == "drop" and len(self.held) < self.MAX_CONNECTIONS:
                        self.held.append(client)
                        self.turned_away += 1
                        continue
                if mode != "up" or not self.slots.acquire(blocking=False):
                    self.turned_away += 1
                    _reset(client)
                    continue
                threading.Thread(target=self._pipe, args=(client,), daemon=True).start()
        finally:
            self.stopped.set()
            self.cut()
            self.restore()
            self.listener.close()

    def _pipe(self, client: socket.socket) -> None:
        server = None
        chooser = selectors.DefaultSelector()
        try:
            client.settimeout(10)
            server = socket.create_connection(self.upstream, timeout=10)
            with self.lock:
                if self.mode != "up":
                    return
                self.open.update((client, server))
                self.forwarded += 1
            peer = {client: server, server: client}
            for sock in peer:
                chooser.register(sock, selectors.EVENT_READ)
            quiet_since = time.monotonic()
            while not self.stopped.is_set() and time.monotonic() - quiet_since < self.IDLE:
                ready = chooser.select(timeout=0.5)
                for key, _events in ready:
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    peer[key.fileobj].sendall(data)
                    quiet_since = time.monotonic()
        except OSError:
            pass
        finally:
            chooser.close()
            with self.lock:
                self.open.discard(client)
                self.open.discard(server)
            _reset(client)
            if server is not None:
                _reset(server)
            self.slots.release()


@pytest.fixture
def network(live_server):
    host, port = live_server.thread.host, live_server.thread.port
    proxy = CuttableProxy((host, port))
    yield proxy
    proxy.stop()


@pytest.fixture
def office(incident_tree):
    return (
        GridOffice.objects.filter(seat__code__startswith=HOME_OFFICE_PREFIX, grids__isnull=False)
        .order_by("code")
        .first()
    )


@pytest.fixture
def worker(office):
    return user_for_role(Role.GRID_WORKER, office=office)


def place_at(page, point):
    """Bring the point into view, tap it, and wait until the form holds it."""
    page.evaluate(
        "([lat, lng]) => window.reportMap.setView([lat, lng], 16, {animate: false})", [point.y, point.x]
    )
    position = page.evaluate(
        "([lat, lng]) => {"
        " const p = window.reportMap.latLngToContainerPoint([lat, lng]); return {x: p.x, y: p.y}; }",
        [point.y, point.x],
    )
    page.evaluate("document.getElementById('latitude').value = ''")
    page.locator("#report-map").tap(position=position)
    expect(page.locator("#latitude")).not_to_have_value("")


def fill_report(page, point, text, category="exposed-rubbish"):
    place_at(page, point)
    page.fill("#description", text)
    page.select_option("#category", category)


def open_form(page, base):
    page.goto(f"{base}/incidents/report/")
    page.wait_for_selector("body[data-map-ready='1']", timeout=TIMEOUT)


def open_form_twice(page, base):
    """Open the form, wait until the service worker has taken the page over, open it again
    (every file of it now passes through the worker, which keeps a copy)."""
    open_form(page, base)
    assert page.evaluate(
        """() => new Promise((resolve) => {
             if (navigator.serviceWorker.controller) return resolve(true);
             navigator.serviceWorker.addEventListener("controllerchange", () => resolve(true));
             setTimeout(() => resolve(false), 20000);
           })"""
    )
    open_form(page, base)
    assert page.evaluate("!!navigator.serviceWorker.controller")


def in_zh(message: str) -> str:
    with translation.override("zh-hans"):
        return str(translation.gettext(message))


def in_zh_js(message: str) -> str:
    """A string of the JavaScript catalogue (djangojs), as the zh-hans page shows it."""
    from django.utils.translation.trans_real import DjangoTranslation

    translated = DjangoTranslation("zh-hans", domain="djangojs").gettext(message)
    assert translated != message, f"no zh-hans translation for {message!r}"
    return translated


def test_two_reports_made_in_a_form_reopened_offline_are_each_stored_once(
    worker, office, network, phone_page
):
    """The lost-report bug: the cached form carried the identity of the report made before it."""
    page = phone_page
    grid, *rest = office.grids.order_by("code")
    second = rest[0] if rest else grid
    login(page, network, worker)
    open_form_twice(page, network.url)
    # One report online from this very page: with identities taken from the HTML, the cached
    # copy of this page would hand its identity to the next report made offline.
    fill_report(page, point_in(grid), "在线上报：河边垃圾堆放")
    page.click("#send")
    expect(page.locator("#sent li")).to_have_count(1, timeout=TIMEOUT)
    assert Incident.objects.count() == 1

    network.cut("refuse")
    open_form(page, network.url)  # only the service worker's copy can answer now
    assert network.turned_away > 0
    assert page.evaluate("document.body.dataset.grids") == "saved"
    fill_report(page, point_in(grid), "离线第一条：路灯损坏")
    page.click("#send")
    expect(page.locator("#outbox li[data-state='waiting']")).to_have_count(1, timeout=TIMEOUT)
    fill_report(page, point_in(second), "离线第二条：井盖缺失")
    page.select_option("#priority", "high")
    page.click("#send")
    expect(page.locator("#outbox li[data-state='waiting']")).to_have_count(2, timeout=TIMEOUT)
    waiting = page.locator("#outbox li").evaluate_all("items => items.map(li => li.dataset.uuid)")
    page.wait_for_timeout(3000)  # the outbox tries (and fails) meanwhile
    assert Incident.objects.count() == 1
    expect(page.locator("#outbox li[data-state='waiting']")).to_have_count(2)

    network.restore()
    expect(page.locator("#sent li")).to_have_count(3, timeout=SENDING_TIMEOUT)
    page.wait_for_selector("body[data-outbox='0']", timeout=TIMEOUT)

    incidents = list(Incident.objects.order_by("pk"))
    descriptions = [i.description for i in incidents]
    assert sorted(descriptions) == sorted(
        ["在线上报：河边垃圾堆放", "离线第一条：路灯损坏", "离线第二条：井盖缺失"]
    )
    assert len({i.client_uuid for i in incidents}) == 3
    by_text = {i.description: i for i in incidents}
    assert {
        str(by_text["离线第一条：路灯损坏"].client_uuid),
        str(by_text["离线第二条：井盖缺失"].client_uuid),
    } == set(waiting)
    assert by_text["离线第二条：井盖缺失"].priority == Incident.Priority.HIGH
    assert by_text["离线第二条：井盖缺失"].grid == second
    assert all(i.grid in (grid, second) and i.reporter == worker for i in incidents)
    # Each line of the outbox names its own incident.
    for incident in incidents:
        line = page.locator(f"#sent li[data-uuid='{incident.client_uuid}']")
        expect(line.locator("a.incident-link")).to_have_attribute("href", f"/incidents/{incident.pk}/")
        expect(line).to_contain_text(incident.description[:10])
    # Reloading, online again, sends nothing twice; the sent list survives the reload.
    open_form(page, network.url)
    expect(page.locator("#sent li")).to_have_count(3)
    page.wait_for_timeout(1000)
    assert Incident.objects.count() == 3


def test_a_refused_report_shows_its_reasons_and_is_corrected_and_sent(
    worker, office, live_server, phone_page
):
    page = phone_page
    grid = office.grids.order_by("code").first()
    far = Grid.objects.filter(code__startswith=OTHER_COUNTY).order_by("code").first()
    login(page, live_server, worker)
    open_form(page, live_server.url)
    assert page.evaluate("document.body.dataset.grids") == "live"

    # Outside the worker's grids: warned before anything is queued.
    fill_report(page, point_in(far), "越界的上报")
    expect(page.locator("#place-hint")).to_contain_text(in_zh_js("outside your grids"))
    page.click("#send")
    expect(page.get_by_test_id("outside-warning")).to_be_visible()
    assert page.evaluate("document.body.dataset.outbox") == "0"
    # Sent anyway, the server refuses it and the outbox shows why.
    page.click("#send-anyway")
    refused = page.locator("#outbox li[data-state='refused']")
    expect(refused).to_have_count(1, timeout=TIMEOUT)
    expect(refused).to_contain_text(in_zh("This place is outside your jurisdiction."))
    expect(refused.locator("li[data-field='location']")).to_have_count(1)
    first_identity = refused.get_attribute("data-uuid")
    page.screenshot(path=str(artifact("outbox-refused.png")), full_page=True)
    assert Incident.objects.count() == 0

    # Corrected: a new place, so a new identity; then sent as #N.
    refused.locator("[data-action='edit']").click()
    expect(page.get_by_test_id("editing")).to_be_visible()
    expect(page.locator("#description")).to_have_value("越界的上报")
    place_at(page, point_in(grid))
    page.fill("#description", "越界的上报（已改到本网格）")
    page.click("#send")
    sent = page.locator("#sent li")
    expect(sent).to_have_count(1, timeout=TIMEOUT)
    expect(page.locator("#outbox li")).to_have_count(0)
    incident = Incident.objects.get()
    assert incident.description == "越界的上报（已改到本网格）" and incident.grid == grid
    assert str(incident.client_uuid) != first_identity
    expect(sent.locator("a.incident-link")).to_have_text(f"#{incident.pk}")
    expect(sent.locator("a.incident-link")).to_have_attribute("href", f"/incidents/{incident.pk}/")

    # Refused for a reason the office then removes: sent again unchanged, it keeps its identity.
    other = (
        IncidentCategory.objects.filter(is_active=True)
        .exclude(code="exposed-rubbish")
        .order_by("code")
        .first()
    )
    other_code = other.code
    IncidentCategory.objects.filter(pk=other.pk).update(is_active=False)
    fill_report(page, point_in(grid), "类别暂停时的上报", category=other_code)
    page.click("#send")
    refused = page.locator("#outbox li[data-state='refused']")
    expect(refused).to_have_count(1, timeout=TIMEOUT)
    expect(refused.locator("li[data-field='category']")).to_contain_text(
        in_zh("This category is no longer in use.")
    )
    identity = refused.get_attribute("data-uuid")
    IncidentCategory.objects.filter(pk=other.pk).update(is_active=True)
    refused.locator("[data-action='resend']").click()
    expect(page.locator("#sent li")).to_have_count(2, timeout=TIMEOUT)
    resent = Incident.objects.get(description="类别暂停时的上报")
    assert str(resent.client_uuid) == identity and resent.category.code == other_code

    # Reports queued by the earlier version of this page under identities already used (the
    # cached-form bug): one by this worker's earlier report, one by a report out of the worker's
    # sight; the server refuses both with 409. Neither counts as sent; both are
    # refused with a reason, and sending again gives each its own identity.
    rubbish = IncidentCategory.objects.get(code="exposed-rubbish")
    point = point_in(grid)
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    report_incident(
        actor=worker, category=rubbish, description="旧版页面先发的上报", location=point, client_uuid=mine
    )
    elsewhere = (
        Grid.objects.filter(code__startswith=OTHER_COUNTY).exclude(office=None).order_by("code").first()
    )
    stranger = user_for_role(Role.GRID_WORKER, office=elsewhere.office)
    report_incident(
        actor=stranger,
        category=rubbish,
        description="别处的上报",
        location=point_in(elsewhere),
        client_uuid=theirs,
    )
    for taken, text in ((mine, "旧版页面里排队的上报甲"), (theirs, "旧版页面里排队的上报乙")):
        assert page.evaluate(
            """(record) => new Promise((resolve, reject) => {
                 const open = indexedDB.open("anshun-outbox");
                 open.onsuccess = () => {
                   const tx = open.result.transaction("reports", "readwrite");
                   tx.objectStore("reports").put(record);
                   tx.oncomplete = () => { open.result.close(); resolve(true); };
                   tx.onerror = () => reject(tx.error);
                 };
                 open.onerror = () => reject(open.error);
               })""",
            {
                "client_uuid": str(taken),
                "category": "exposed-rubbish",
                "description": text,
                "priority": "normal",
                "longitude": f"{point.x:.7f}",
                "latitude": f"{point.y:.7f}",
                "photo": None,
                "created": int(time.time() * 1000),
                "error": None,
            },
        )
    open_form(page, live_server.url)
    refused = page.locator("#outbox li[data-state='refused']")
    expect(refused).to_have_count(2, timeout=TIMEOUT)
    # The server answers a reused identity with another body by 409, mine or not, in the same
    # words (it never says whose the identity is).
    for taken in (mine, theirs):
        expect(page.locator(f"#outbox li[data-uuid='{taken}'] li[data-field='client_uuid']")).to_have_count(1)
    expect(page.locator("#sent li")).to_have_count(2)
    page.locator(f"#outbox li[data-uuid='{mine}'] [data-action='resend']").click()
    expect(page.locator("#sent li")).to_have_count(3, timeout=TIMEOUT)
    page.locator(f"#outbox li[data-uuid='{theirs}'] [data-action='resend']").click()
    expect(page.locator("#sent li")).to_have_count(4, timeout=TIMEOUT)
    for taken, text in ((mine, "旧版页面里排队的上报甲"), (theirs, "旧版页面里排队的上报乙")):
        recovered = Incident.objects.get(description=text)
        assert recovered.client_uuid != taken and recovered.reporter == worker and recovered.grid == grid
    assert Incident.objects.get(client_uuid=mine).description == "旧版页面先发的上报"
    assert Incident.objects.get(client_uuid=theirs).description == "别处的上报"
    assert Incident.objects.count() == 6

    # Discarding takes two taps.
    fill_report(page, point_in(far), "要放弃的上报")
    page.click("#send")
    page.click("#send-anyway")
    refused = page.locator("#outbox li[data-state='refused']")
    expect(refused).to_have_count(1, timeout=TIMEOUT)
    refused.locator("[data-action='discard']").click()
    expect(refused).to_have_count(1)
    refused.locator("[data-action='discard']").click()
    expect(page.locator("#outbox li")).to_have_count(0)
    assert Incident.objects.count() == 6


def test_a_form_opened_without_signal_shows_the_saved_grid_outlines_and_warns(
    worker, office, network, phone_page
):
    page = phone_page
    grids = office.grids.count()
    grid = office.grids.order_by("code").first()
    neighbour = (
        Grid.objects.exclude(office=office)
        .filter(office__seat__code__startswith=HOME_OFFICE_PREFIX)
        .order_by("code")
        .first()
    )
    login(page, network, worker)
    open_form_twice(page, network.url)
    expect(page.locator("path.grid-outline")).to_have_count(grids)

    network.cut("drop")  # a signal that hangs rather than fails
    open_form(page, network.url)
    assert page.evaluate("document.body.dataset.grids") == "saved"
    expect(page.locator("path.grid-outline")).to_have_count(grids)
    expect(page.get_by_test_id("grids-note")).to_be_visible()

    fill_report(page, point_in(neighbour), "邻近网格的上报")
    expect(page.locator("#place-hint")).to_contain_text(in_zh_js("outside your grids"))
    page.click("#send")
    expect(page.get_by_test_id("outside-warning")).to_be_visible()
    assert page.evaluate("document.body.dataset.outbox") == "0"

    place_at(page, point_in(grid))
    expect(page.locator("#place-hint")).to_contain_text(grid.name)
    expect(page.get_by_test_id("outside-warning")).to_be_hidden()
    page.click("#send")
    expect(page.locator("#outbox li[data-state='waiting']")).to_have_count(1, timeout=TIMEOUT)
    page.screenshot(path=str(artifact("outbox-offline-grids.png")))
    assert Incident.objects.count() == 0

    network.restore()
    expect(page.locator("#sent li")).to_have_count(1, timeout=SENDING_TIMEOUT)
    incident = Incident.objects.get()
    assert incident.description == "邻近网格的上报" and incident.grid == grid


def test_the_proxy_really_cuts_and_restores(live_server, network):
    """The instrument itself: forwarded when up, refused or hung when cut, forwarded again after."""
    import urllib.error
    import urllib.request

    def status():
        with urllib.request.urlopen(f"{network.url}/healthz", timeout=3) as response:  # noqa: S310 - loopback
            return response.status

    assert status() in (200, 503)
    network.cut("refuse")
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        status()
    network.cut("drop")
    with pytest.raises((TimeoutError, urllib.error.URLError, OSError)):
        status()
    network.restore()
    assert status() in (200, 503)


def artifact(name):
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent.parent / ".local" / "test-artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name
