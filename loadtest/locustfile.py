"""`make load`: a working day's mix against gunicorn and a real Celery worker on this machine.

Grid workers log and list incidents, mediators read their caseload, case officers their
project's enrolments, officials open the dashboard, and a sync client pulls changes.

API clients are the demo service accounts (a grid office's, the mediation office's and the command
centre's sync clients) that `load_anshun --demo` creates; `scripts/load_in_services.sh` issues
their tokens with `manage.py issue_api_token` and hands them over in ``LOAD_TOKENS``
(``name=key,…``), as an admin hands a key to a real client. People (officials, case officers) sign
in through the login page, one password check each, as they do in the morning.
"""

import os
import random
import re
import uuid

from locust import HttpUser, between, task
from locust.exception import StopUser

PASSWORD = "anshun-demo-2026"  # noqa: S105 - the published demo credential
CATEGORY = "construction-waste-dumping"


_tokens: dict[str, str] = dict(
    pair.split("=", 1) for pair in os.environ.get("LOAD_TOKENS", "").split(",") if "=" in pair
)


class TokenUser(HttpUser):
    abstract = True
    username = ""

    def on_start(self):
        if self.username not in _tokens:
            raise StopUser()
        self.client.headers["Authorization"] = f"Token {_tokens[self.username]}"


def _sign_in(user: HttpUser, username: str) -> None:
    page = user.client.get("/accounts/login/", name="login page")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    user.client.post(
        "/accounts/login/",
        {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{user.host}/accounts/login/"},
        name="login",
    )


class GridWorker(TokenUser):
    """A grid office's sync client, sending what its grid workers log on their phones."""

    weight = 5
    wait_time = between(1, 4)
    username = "sync-grid"

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
    username = "sync-mediation"

    @task
    def caseload(self):
        self.client.get("/api/mediation/cases/", params={"page_size": 20}, name="/api/mediation/cases/")


class CaseOfficer(HttpUser):
    """A person: signs in at the login page and reads the API with the session."""

    weight = 2
    wait_time = between(2, 6)

    def on_start(self):
        _sign_in(self, "caseofficer")

    @task
    def enrolments(self):
        self.client.get(
            "/api/special-enrollments/", params={"page_size": 20}, name="/api/special-enrollments/"
        )


class Official(HttpUser):
    weight = 2
    wait_time = between(3, 8)

    def on_start(self):
        _sign_in(self, "city")

    @task(3)
    def dashboard(self):
        self.client.get("/dashboard/", name="/dashboard/")

    @task(1)
    def county_dashboard(self):
        self.client.get("/dashboard/", params={"region": "520402"}, name="/dashboard/?region")


class SyncClient(TokenUser):
    weight = 1
    wait_time = between(5, 10)
    username = "sync-dispatch"

    @task
    def pull_changes(self):
        self.client.get(
            "/api/incidents/sync/",
            params={"updated_after": "2026-01-01T00:00:00Z"},
            name="/api/incidents/sync/",
        )
