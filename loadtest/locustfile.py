"""`make load`: a working day's mix against gunicorn and a real Celery worker on this machine.

Grid workers log and list incidents, mediators read their caseload, case officers their
project's enrolments, officials open the dashboard, and a sync client pulls changes. Every
client signs in as one of the demo logins that `load_anshun --demo` creates.

API clients (the phone app, sync clients) keep their token for weeks, so each login asks for its
token once per run, as the real apps do, rather than once per simulated user; officials sign in
through the login page, one password check each, as people do in the morning.
"""

import random
import re
import uuid

from locust import HttpUser, between, task
from locust.exception import StopUser

PASSWORD = "anshun-demo-2026"  # noqa: S105 - the published demo credential
CATEGORY = "construction-waste-dumping"


_tokens: dict[str, str] = {}


class TokenUser(HttpUser):
    abstract = True
    username = ""

    def on_start(self):
        if self.username not in _tokens:
            response = self.client.post(
                "/api/auth/token/", {"username": self.username, "password": PASSWORD}, name="token"
            )
            if response.status_code != 200:
                raise StopUser()
            _tokens[self.username] = response.json()["token"]
        self.client.headers["Authorization"] = f"Token {_tokens[self.username]}"


class GridWorker(TokenUser):
    weight = 5
    wait_time = between(1, 4)
    username = "gridworker"

    def on_start(self):
        super().on_start()
        grids = self.client.get("/api/grids/", params={"page_size": 50}, name="/api/grids/").json()
        self.grid_codes = [feature["id"] for feature in grids["features"]]

    @task(2)
    def log_incident(self):
        self.client.post(
            "/api/incidents/",
            json={
                "client_uuid": str(uuid.uuid4()),
                "category": CATEGORY,
                "grid": random.choice(self.grid_codes),
                "description": "负载测试：建筑垃圾乱倒",
                "source": "grid_worker",
            },
            name="/api/incidents/ [create]",
        )

    @task(5)
    def list_incidents(self):
        self.client.get("/api/incidents/", params={"page_size": 20}, name="/api/incidents/")


class Mediator(TokenUser):
    weight = 2
    wait_time = between(2, 6)
    username = "mediator"

    @task
    def caseload(self):
        self.client.get("/api/mediation/cases/", params={"page_size": 20}, name="/api/mediation/cases/")


class CaseOfficer(TokenUser):
    weight = 2
    wait_time = between(2, 6)
    username = "caseofficer"

    @task
    def enrolments(self):
        self.client.get(
            "/api/special-enrollments/", params={"page_size": 20}, name="/api/special-enrollments/"
        )


class Official(HttpUser):
    weight = 2
    wait_time = between(3, 8)

    def on_start(self):
        page = self.client.get("/accounts/login/", name="login page")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        self.client.post(
            "/accounts/login/",
            {"username": "city", "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="login",
        )

    @task(3)
    def dashboard(self):
        self.client.get("/dashboard/", name="/dashboard/")

    @task(1)
    def county_dashboard(self):
        self.client.get("/dashboard/", params={"region": "520402"}, name="/dashboard/?region")


class SyncClient(TokenUser):
    weight = 1
    wait_time = between(5, 10)
    username = "dispatcher"

    @task
    def pull_changes(self):
        self.client.get(
            "/api/incidents/sync/",
            params={"updated_after": "2026-01-01T00:00:00Z"},
            name="/api/incidents/sync/",
        )
