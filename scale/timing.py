"""Time the pages and APIs of issue #14 as the demo officials, through gunicorn.

gunicorn runs with the project's ``gunicorn.conf.py`` and the load settings (DEBUG off), as
``make load`` serves it; requests go one at a time, so each figure is one request's latency on
the machine as it is (shared, loaded: the report prints the load average beside the figures).

``PAGES`` is the list of what is timed. Add a line when a page gains a request that matters (a
map layer's bbox URL, a rollup-backed API): ``{region}`` is the viewer's region code (the village
of the office for grid-office staff), a path of ``{deep}`` the deep page of the incident list
(``deep_page``), ``{view}`` the map view of the viewer's jurisdiction as the map pages ask for it
(``bbox=w,s,e,n&zoom=z``: the extent of their grids at the closest zoom that fits it, as
static/js/grid_map.js computes it).
A page that answers 404 at every volume is not on this branch yet, and is listed apart.
"""

from __future__ import annotations

import math
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "anshun-demo-2026"  # noqa: S105 - the published demo password (accounts.demo)
# The four officials of issue #14 (accounts.demo's usernames).
USERS = ("city", "county", "township", "gridworker")
DEEP_PAGE = 1009  # the page issue #14 measured; the last page when the list is shorter
SLOW = 20.0  # seconds: a request this slow is timed twice only, not REPEAT times
TIMEOUT = 180.0


@dataclass(frozen=True)
class Page:
    label: str
    path: str
    cold: bool = False  # empty the shared cache (every key the platform keeps) before each request
    users: tuple[str, ...] = ()  # who is timed: the four officials unless the page is another role's


PAGES = [
    Page("`/dashboard/`, cold (shared cache emptied)", "/dashboard/", cold=True),
    Page("`/dashboard/`, warm", "/dashboard/"),
    Page("`/safety/coverage/`", "/safety/coverage/"),
    Page("`/api/grids/?within=…&page_size=5000`", "/api/grids/?within={region}&page_size=5000"),
    # What the map page itself calls at each level (static/js/grid_map.js).
    Page(
        "`/api/grid-offices/?within=…&page_size=5000` (map)",
        "/api/grid-offices/?within={region}&page_size=5000",
    ),
    # Bounded map layers for the current view (issue #14's map work: /api/map/..., bbox and zoom),
    # as the map page and the coverage page ask for them once that work is in.
    Page("`/api/map/grids/view/?within=…&bbox=…` (map)", "/api/map/grids/view/?within={region}&{view}"),
    Page("`/api/map/cameras/view/?bbox=…` (coverage)", "/api/map/cameras/view/?{view}"),
    Page("`/api/map/township-coverage/view/?bbox=…` (coverage)", "/api/map/township-coverage/view/?{view}"),
    Page("`/api/map/patrol-gaps/view/?bbox=…&days=7` (coverage)", "/api/map/patrol-gaps/view/?{view}&days=7"),
    Page("`/api/map/patrol-routes/view/?bbox=…`", "/api/map/patrol-routes/view/?{view}"),
    Page("`/api/cameras/`", "/api/cameras/"),
    Page("`/api/patrol-logs/?page_size=200`", "/api/patrol-logs/?page_size=200"),
    Page("`/special-groups/dashboard/`", "/special-groups/dashboard/"),
    Page("incident list `/incidents/`", "/incidents/"),
    # The 1,009th page, at the cursor the list gives out on the page before (``deep_page``).
    Page("incident list, deep page", "{deep}"),
    # The officials may not open the queue (403): it is timed as the demo county dispatcher.
    Page("dispatcher queue `/incidents/queue/`", "/incidents/queue/", users=("dispatcher",)),
    Page("mediation dashboard `/mediation/committees/`", "/mediation/committees/"),
    Page("sync feed `/api/incidents/sync/` (first page)", "/api/incidents/sync/"),
]


@dataclass
class Result:
    status: int | str
    size: int
    seconds: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def p50(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def p95(self) -> float | None:
        if not self.seconds:
            return None
        ordered = sorted(self.seconds)
        # Nearest rank (the ceil(0.95 n)-th value): with up to 19 samples it is the slowest one, with
        # 20 the second slowest.
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn with gunicorn.conf.py, stopped by its own PID."""

    def __init__(self, log: Path, env: dict[str, str] | None = None):
        self.port = _free_port()
        self.log = log
        self.env = env or {}
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        env = {
            **os.environ,
            **self.env,
            "DJANGO_SETTINGS_MODULE": "anshun.settings.load",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_TIMEOUT": str(int(TIMEOUT) + 30),
            "API_RATE_USER": "1000000/minute",
            "LOG_LEVEL": "WARNING",
        }
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own virtualenv's gunicorn
                [
                    str(Path(sys.executable).with_name("gunicorn")),
                    "anshun.wsgi:application",
                    "--config",
                    "gunicorn.conf.py",
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        for _ in range(120):
            try:
                if requests.get(f"{self.base}/healthz", timeout=5).status_code < 500:
                    return self
            except requests.RequestException:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log}")
            time.sleep(0.5)
        raise RuntimeError(f"gunicorn did not answer; see {self.log}")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def login(base: str, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if token is None:
        raise RuntimeError("no CSRF token on the login page")
    answer = session.post(
        f"{base}/accounts/login/",
        data={"csrfmiddlewaretoken": token.group(1), "username": username, "password": PASSWORD},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=30,
        allow_redirects=False,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"{username} could not sign in ({answer.status_code})")
    return session


def viewer_region(username: str) -> str:
    from accounts.models import User

    user = User.objects.select_related("region", "grid_office__seat").get(username=username)
    if user.region_id:
        return user.region.code
    return user.grid_office.seat.code


def viewer_view(username: str) -> str:
    """``bbox=…&zoom=…`` for the extent of the grids the viewer sees."""
    from django.contrib.gis.db.models import Extent

    from accounts.models import User
    from grids.models import Grid

    user = User.objects.get(username=username)
    extent = Grid.objects.visible_to(user).aggregate(extent=Extent("geometry"))["extent"]
    if extent is None:
        return "bbox=105.0,25.5,106.5,26.5&zoom=9"
    span = max(extent[2] - extent[0], extent[3] - extent[1], 1e-6)
    zoom = max(0, min(18, math.floor(math.log2((4000 * 360) / (256 * span)))))
    return "bbox=" + ",".join(f"{v:.5f}" for v in extent) + f"&zoom={zoom}"


def deep_page(username: str) -> tuple[str, str]:
    """The path of the incident list's ``DEEP_PAGE``-th page for ``username`` (or its last page,
    when shorter), read from the database this process is connected to.

    The cursor is the one the list itself gives out on the page before (``IncidentListView``'s
    own keyset, signed for the user with the site's key): the row that ends page
    ``DEEP_PAGE - 1`` is found once, untimed, with an OFFSET, instead of following "next" a
    thousand times per official and volume."""
    from urllib.parse import quote

    from django.test import RequestFactory

    from accounts.models import User
    from incidents.filters import IncidentFilter
    from incidents.views import IncidentListView

    user = User.objects.get(username=username)
    request = RequestFactory().get("/incidents/")
    request.user = user
    view = IncidentListView()
    view.setup(request)
    view.filterset = IncidentFilter(None, queryset=view.get_queryset(), request=request)
    queryset = view.filtered()
    keyset, segments = view.keyset(queryset)
    ordered = queryset.filter(segments[0].condition).order_by(*keyset.order(backwards=False))
    total = ordered.count()
    pages = max(1, -(-total // view.page_size))
    number = min(DEEP_PAGE, pages)
    if number == 1:
        return "/incidents/", "1 (last)" if pages == 1 else "1"
    row = ordered[view.page_size * (number - 1) - 1]
    cursor = keyset.encode(user=user, segment=0, values=keyset.values_of(row), backwards=False)
    return f"/incidents/?cursor={quote(cursor)}", f"{number}" + (" (last)" if number == pages else "")


def _get(session: requests.Session, url: str) -> tuple[int | str, int, float]:
    started = time.perf_counter()
    try:
        response = session.get(url, timeout=TIMEOUT)
    except requests.Timeout:
        return "timeout", 0, time.perf_counter() - started
    return response.status_code, len(response.content), time.perf_counter() - started


@dataclass(frozen=True)
class Target:
    """One volume being timed: its gunicorn and its own Redis database (for the cache drops)."""

    base: str
    redis_url: str

    def drop_cache(self) -> None:
        """Forget everything the platform keeps in the shared cache (its ``KEY_PREFIX``): tiles an
        app may cache (``dashboard_tiles_cached``), the working-time calendar's generation, throttle
        counters. Sessions live in the database, so the official stays signed in."""
        import redis
        from django.conf import settings

        prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        client = redis.Redis.from_url(self.redis_url)
        try:
            keys = list(client.scan_iter(match=f"{prefix}:*" if prefix else "*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def measure(
    targets: list[Target], *, repeat: int, deep: dict[tuple[int, str], tuple[str, str]], say=print
) -> list[dict[tuple[str, str], Result]]:
    """``{(page label, username): Result}`` for every page and official, one dict per target.

    The targets' requests take turns (request 1 to each volume, then request 2 to each...), so a
    burst of other work on the shared machine falls on every volume alike and the growth ratios
    compare like with like. ``deep``: (target index, username) → (path, page) of the deep page."""
    results: list[dict[tuple[str, str], Result]] = [{} for _ in targets]
    for username in dict.fromkeys(USERS + tuple(u for page in PAGES for u in page.users)):
        sessions = [login(target.base, username) for target in targets]
        region = viewer_region(username)
        view = viewer_view(username)
        pages = [deep.get((i, username), ("", "")) for i in range(len(targets))]
        for page in PAGES:
            if username not in (page.users or USERS):
                continue
            path = page.path.format(region=region, view=view, deep="")
            urls = [t.base + (pages[i][0] if page.path == "{deep}" else path) for i, t in enumerate(targets)]
            samples: list[list[float]] = [[] for _ in targets]
            answers: list[tuple[int | str, int]] = [(0, 0) for _ in targets]
            repeat_here = repeat
            if not page.cold:
                for i, session in enumerate(sessions):
                    status, size, first = _get(session, urls[i])  # warm-up, not counted
                    if first > SLOW:
                        repeat_here = 1
            for _ in range(repeat_here):
                for i, (session, target) in enumerate(zip(sessions, targets, strict=True)):
                    if page.cold:
                        target.drop_cache()
                    status, size, seconds = _get(session, urls[i])
                    samples[i].append(seconds)
                    answers[i] = (status, size)
                if page.cold and max(s[-1] for s in samples) > SLOW and len(samples[0]) >= 2:
                    break
            for i in range(len(targets)):
                note = f"page {pages[i][1]}" if page.path == "{deep}" else ""
                result = results[i][(page.label, username)] = Result(*answers[i], samples[i], note)
                say(
                    f"    [{i + 1}] {username:<11} {page.label:<55} {result.status} "
                    f"{result.size / 1024:8.1f} KB  p50 {_ms(result.p50)}"
                )
    return results


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds * 1000:,.0f} ms"
