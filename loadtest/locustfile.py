"""`make load`: a working day's mix against gunicorn, a Celery worker and beat on this machine.

Everyone has an account of their own (``loadtest/setup.py`` makes them and hands them over in the
JSON file named by ``LOAD_ACCOUNTS``):

- grid workers, each in their own grid office, sign in on the phone, load their grids as the report
  page does, report what they see with a photo and a place inside their grids, read their list, and
  work what the command centre sent them (take it, report it handled with a note and a photo);
- dispatchers work their county's queue: register what came in, dispatch it to the grid's office,
  verify and close what was handled;
- officials (township, county, city) open the dashboard, the incident list and now and then export
  it as XLSX;
- case officers (several projects) and mediators read their caseloads;
- service accounts: a command centre's sync client walks ``/api/incidents/sync/`` with its cursor
  until it is done, then polls for changes; grid offices' clients send ``bulk/`` batches; a survey
  intake client uploads responses (beat and the worker roll them up meanwhile).

People sign in at the login page (one password check) and work in that session; a session ends
after a few minutes (``LOAD_SESSION_SECONDS``, a range) and the next one signs in, so sign-ins run
through the test as they run through a day instead of all coming at the start. Every request has a
timeout (``LOAD_TIMEOUT``, 10 s): an answer that takes longer is an error. At the end a table gives,
per kind of request, the count, p50/p95/p99, errors and timeouts (also written to ``LOAD_REPORT``).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
import uuid
from collections import Counter
from pathlib import Path

from locust import HttpUser, between, events, task
from locust.exception import StopUser

TIMEOUT = float(os.environ.get("LOAD_TIMEOUT", "10"))
SESSION_SECONDS = tuple(float(s) for s in os.environ.get("LOAD_SESSION_SECONDS", "120-360").split("-"))
CATEGORIES = [
    "construction-waste-dumping",
    "exposed-rubbish",
    "fire-hazard",
    "security-hazard",
    "neighbour-dispute",
]
PHOTO = (Path(__file__).parent / "photo.jpg").read_bytes()
ACCOUNTS = (
    json.loads(Path(os.environ["LOAD_ACCOUNTS"]).read_text()) if os.environ.get("LOAD_ACCOUNTS") else {}
)
_pools: dict[str, itertools.cycle] = {}

timeouts: Counter = Counter()  # no answer within TIMEOUT between two reads (requests' timeout)
slow: Counter = Counter()  # an answer that trickled in but took longer than TIMEOUT in all
conflicts: Counter = Counter()


def next_account(kind: str, group: str) -> dict:
    """Accounts are handed out in turn; more simulated users than accounts share them."""
    key = f"{kind}/{group}"
    if key not in _pools:
        accounts = ACCOUNTS.get(kind, {}).get(group) or []
        if not accounts:
            raise StopUser()
        _pools[key] = itertools.cycle(accounts)
    return next(_pools[key])


@events.request.add_listener
def _count_timeouts(request_type, name, response_time, response_length, exception=None, **kwargs):
    if exception is not None and "timed out" in str(exception).lower():
        timeouts[name] += 1
    elif exception is None and response_time > TIMEOUT * 1000:
        slow[name] += 1


class Base(HttpUser):
    abstract = True
    # requests' timeouts: a slow answer is an error, not a success (locust sets none by default).
    connection_timeout = TIMEOUT
    network_timeout = TIMEOUT

    def write(self, method: str, path: str, name: str, *, version=None, ok=(200, 201), **kwargs):
        """A write whose 409/412 (someone else moved the incident first) is a correct answer."""
        headers = kwargs.pop("headers", {})
        if version is not None:
            headers["If-Match"] = f'"{version}"'
        with self.client.request(
            method, path, name=name, headers=headers, catch_response=True, **kwargs
        ) as r:
            if r.status_code in ok:
                r.success()
            elif r.status_code in (409, 412) or (r.status_code == 400 and "invalid_transition" in r.text):
                conflicts[name] += 1
                r.success()
            else:
                r.failure(f"{r.status_code}: {r.text[:200]}")
            return r


class Person(Base):
    """Signs in at the login page, works in the session, signs out when the session is over."""

    abstract = True
    group = ""

    def on_start(self):
        self.account = next_account("people", self.group)
        # Arrivals spread over the first minute, as people come in over a morning.
        time.sleep(random.uniform(0, 60))
        self.sign_in()

    def sign_in(self):
        self.client.cookies.clear()
        page = self.client.get("/accounts/login/", name="login page")
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text or "")
        if not found:
            raise StopUser()
        with self.client.post(
            "/accounts/login/",
            {
                "username": self.account["username"],
                "password": ACCOUNTS["password"],
                "csrfmiddlewaretoken": found.group(1),
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="sign in",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code == 302:
                r.success()
            else:
                r.failure(f"sign-in answered {r.status_code}")
        self.session_ends = time.monotonic() + random.uniform(*SESSION_SECONDS)
        self.after_sign_in()

    def after_sign_in(self):
        pass

    @property
    def csrf(self) -> dict:
        return {"X-CSRFToken": self.client.cookies.get("csrftoken", ""), "Referer": f"{self.host}/"}

    def session_check(self):
        """Called before each task: a finished session signs out; the next one signs in."""
        if time.monotonic() > self.session_ends:
            self.client.post("/accounts/logout/", headers=self.csrf, name="sign out", allow_redirects=False)
            self.sign_in()


def _person_task(function):
    def wrapped(self):
        self.session_check()
        return function(self)

    wrapped.__name__ = function.__name__
    return wrapped


class GridWorker(Person):
    weight = 45
    wait_time = between(5, 15)
    group = "grid_workers"

    def after_sign_in(self):
        # What the report page loads: the page itself (and its CSRF cookie), then the grids.
        self.client.get("/incidents/report/", name="/incidents/report/")
        self.client.get(
            "/api/grids/",
            params={"office": self.account["office"], "page_size": 500},
            name="/api/grids/?office",
        )

    @task(3)
    @_person_task
    def report(self):
        grid, lon, lat = random.choice(self.account["places"])
        self.write(
            "POST",
            "/api/incidents/",
            "report (phone, photo)",
            headers=self.csrf,
            data={
                "client_uuid": str(uuid.uuid4()),
                "category": random.choice(CATEGORIES),
                "description": "负载测试：现场发现问题，已拍照",
                "longitude": f"{lon + random.uniform(-1e-5, 1e-5):.6f}",
                "latitude": f"{lat + random.uniform(-1e-5, 1e-5):.6f}",
                "grid": grid,
                "source": "grid_worker",
            },
            files={"attachments": ("photo.jpg", PHOTO, "image/jpeg")},
        )

    @task(4)
    @_person_task
    def my_list(self):
        self.client.get("/api/incidents/", params={"page_size": 20}, name="/api/incidents/ (list)")

    @task(1)
    @_person_task
    def list_page(self):
        self.client.get("/incidents/", name="/incidents/ (page)")

    @task(2)
    @_person_task
    def work(self):
        """Take what was dispatched to the office, then report it handled with a photo."""
        for status, step, name in (
            ("dispatched", "take", "take"),
            ("handling", "report-handled", "report handled"),
        ):
            r = self.client.get(
                "/api/incidents/",
                params={"status": status, "page_size": 5},
                name=f"/api/incidents/?status={status}",
            )
            results = r.json().get("results", []) if r.ok else []
            if not results:
                continue
            incident = random.choice(results)
            kwargs = {"data": {"note": "已到现场处理"}}
            if step == "report-handled":
                kwargs["files"] = {"attachments": ("after.jpg", PHOTO, "image/jpeg")}
            self.write(
                "POST",
                f"/api/incidents/{incident['id']}/{step}/",
                name,
                version=incident["version"],
                headers=self.csrf,
                **kwargs,
            )
            return


class Dispatcher(Person):
    weight = 10
    wait_time = between(3, 10)
    group = "dispatchers"

    @task(1)
    @_person_task
    def queue_page(self):
        self.client.get("/incidents/queue/", name="/incidents/queue/ (page)")

    @task(4)
    @_person_task
    def work_queue(self):
        """Register what came in and dispatch it to the grid's own office; verify and close."""
        steps = {
            "reported": ["register", "dispatch"],
            "handled": ["verify", "close"],
        }
        status = random.choice(["reported", "reported", "handled"])
        r = self.client.get(
            "/api/incidents/", params={"status": status, "page_size": 10}, name=f"queue (api, {status})"
        )
        results = r.json().get("results", []) if r.ok else []
        if not results:
            return
        incident = random.choice(results)
        version = incident["version"]
        for step in steps[status]:
            answer = self.write(
                "POST",
                f"/api/incidents/{incident['id']}/{step}/",
                step,
                version=version,
                headers=self.csrf,
                json={"note": "调度"},
            )
            if answer.status_code != 200:
                return
            version = answer.json()["version"]


class Official(Person):
    abstract = True
    wait_time = between(5, 20)

    @task(4)
    @_person_task
    def dashboard(self):
        self.client.get("/dashboard/", name="/dashboard/")

    @task(2)
    @_person_task
    def incident_list(self):
        self.client.get("/incidents/", params={"status": "reported"}, name="/incidents/ (page)")

    @task(1)
    @_person_task
    def drill_down(self):
        self.client.get(
            "/api/incidents/", params={"page_size": 20, "overdue": "true"}, name="/api/incidents/ (list)"
        )

    @task(1)
    @_person_task
    def export(self):
        self.client.get(
            "/incidents/",
            params={"export": "xlsx", "reported_from": "2017-01-01"},
            name="/incidents/?export=xlsx",
        )


class CountyOfficial(Official):
    weight = 5
    group = "county_officials"


class TownshipOfficial(Official):
    weight = 4
    group = "township_officials"


class CityOfficial(Official):
    weight = 3
    group = "city_officials"

    @task(1)
    @_person_task
    def county_drill(self):
        self.client.get("/dashboard/", params={"region": "520402"}, name="/dashboard/?region")


class CaseOfficer(Person):
    weight = 8
    wait_time = between(5, 15)
    group = "case_officers"

    @task(3)
    @_person_task
    def caseload(self):
        self.client.get(
            "/api/special-enrollments/", params={"page_size": 20}, name="/api/special-enrollments/"
        )

    @task(1)
    @_person_task
    def caseload_page(self):
        self.client.get("/special-groups/", name="/special-groups/ (page)")


class Mediator(Person):
    weight = 5
    wait_time = between(5, 15)
    group = "mediators"

    @task(3)
    @_person_task
    def caseload(self):
        self.client.get("/api/mediation/cases/", params={"page_size": 20}, name="/api/mediation/cases/")

    @task(1)
    @_person_task
    def caseload_page(self):
        self.client.get("/mediation/", name="/mediation/ (page)")


class Machine(Base):
    abstract = True
    group = ""

    def on_start(self):
        self.account = next_account("machines", self.group)
        self.client.headers["Authorization"] = f"Token {self.account['key']}"


class SyncClient(Machine):
    """A command centre's system: walks the feed to its end, then asks for changes since."""

    weight = 6
    wait_time = between(10, 30)
    group = "sync"

    def on_start(self):
        super().on_start()
        self.cursor = None

    @task
    def pull(self):
        """Walk the feed from the last cursor while it has more, as a client keeps it between
        syncs (the feed's cursor, not a timestamp, is what guarantees nothing is missed)."""
        pages = 0
        while True:
            params = {"page_size": 100}
            if self.cursor:
                params["cursor"] = self.cursor
            r = self.client.get("/api/incidents/sync/", params=params, name="/api/incidents/sync/ (page)")
            if not r.ok:
                return
            body = r.json()
            self.cursor, pages = body.get("next_cursor") or self.cursor, pages + 1
            if not body.get("has_more") or pages >= 50:
                return


class BulkSender(Machine):
    """A grid office's system forwarding what its phones queued offline, 20 at a time."""

    weight = 6
    wait_time = between(10, 30)
    group = "bulk"

    @task
    def send(self):
        items = []
        for _ in range(20):
            grid, lon, lat = random.choice(self.account["places"])
            items.append(
                {
                    "client_uuid": str(uuid.uuid4()),
                    "category": random.choice(CATEGORIES),
                    "description": "离线队列补发",
                    "grid": grid,
                    "longitude": lon,
                    "latitude": lat,
                    "source": "grid_worker",
                }
            )
        with self.client.post(
            "/api/incidents/bulk/",
            json={"items": items},
            name="/api/incidents/bulk/ (20)",
            catch_response=True,
        ) as r:
            if r.ok and all(item["result"] != "error" for item in r.json()["results"]):
                r.success()
            elif r.ok:
                r.failure(f"items refused: {r.text[:200]}")


class SurveyClient(Machine):
    """The survey call centre's system uploading answers; beat and the worker roll them up."""

    weight = 2
    wait_time = between(20, 40)
    group = "survey"

    @task
    def upload(self):
        communities = [place[0][:12] for w in ACCOUNTS["people"]["grid_workers"] for place in w["places"]]
        rows = [
            {
                "client_id": str(uuid.uuid4()),
                "community": random.choice(communities),
                "channel": random.choice(["phone", "phone", "door", "online"]),
                "answered_on": f"2017-11-{random.randint(1, 30):02d}",
                "security_sense": random.randint(0, 3),
                "satisfaction": random.randint(0, 2),
            }
            for _ in range(100)
        ]
        self.client.post(
            "/api/survey-responses/bulk/",
            json={"wave": "2017-annual", "responses": rows},
            name="/api/survey-responses/bulk/ (100)",
        )


def _row(name: str, entry, errors: int, timed_out: int, conflicted: int) -> str:
    cells = [
        name,
        entry.num_requests,
        *(f"{entry.get_response_time_percentile(q):.0f}" for q in (0.5, 0.95, 0.99)),
        f"{entry.max_response_time or 0:.0f}",
        errors,
        timed_out,
        conflicted,
    ]
    return "| " + " | ".join(str(c) for c in cells) + " |"


@events.quitting.add_listener
def _report(environment, **kwargs):
    """The table: per request type p50/p95/p99, errors (timeouts included) and conflicts."""
    stats = environment.stats
    head = ("request", "count", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "timeouts", "409/412")
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for entry in sorted(stats.entries.values(), key=lambda e: e.name):
        name = entry.name
        errors = entry.num_failures + slow[name]
        lines.append(_row(name, entry, errors, timeouts[name] + slow[name], conflicts[name]))
    total = stats.total
    lines.append(
        _row(
            "**all**",
            total,
            total.num_failures + sum(slow.values()),
            sum(timeouts.values()) + sum(slow.values()),
            sum(conflicts.values()),
        )
    )
    failures = [f"- {e.name}: {e.error} ×{e.occurrences}" for e in stats.errors.values()][:20]
    if slow:
        failures.append(f"- answered after more than {TIMEOUT:.0f} s (counted as timeouts): {dict(slow)}")
    text = "\n".join(lines + (["", "Errors:", *failures] if failures else []))
    seconds = (total.last_request_timestamp or total.start_time) - total.start_time
    text += f"\n\nthroughput {total.total_rps:.1f} requests/s over {seconds:.0f} s"
    print(text)
    if os.environ.get("LOAD_REPORT"):
        Path(os.environ["LOAD_REPORT"]).write_text(text + "\n")
