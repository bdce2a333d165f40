"""CPU per request, in process: the load test's requests sent N times through the whole WSGI stack
(every middleware, DEBUG off) with Django's test client, against the database that
``loadtest/setup.py`` prepared. Prints per request: CPU milliseconds of this process (Python,
serialisation, templates), of PostgreSQL, wall milliseconds and queries.

    python loadtest/harness.py ACCOUNTS.json [-n 20] [--only NAME] [--profile NAME]

The DB CPU column is the CPU time of this connection's PostgreSQL backend per request (read from
/proc; mean, not median), which includes planning.
``--profile NAME`` prints the 30 costliest functions (cumulative) of that request under cProfile.
Used to find what a request costs before and after a change; the figures on a shared machine are
for comparison within one run.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anshun.settings.load")
os.environ.setdefault("API_RATE_USER", "1000000/minute")

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import User  # noqa: E402

HOST = {"HTTP_HOST": "127.0.0.1"}
JPEG = (Path(__file__).parent / "photo.jpg").read_bytes()


def session(username: str) -> Client:
    client = Client(**HOST)
    client.force_login(User.objects.get(username=username), backend="accounts.backends.PeopleModelBackend")
    return client


def token(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {key}", **HOST)


def cases(accounts: dict) -> dict:
    people, machines = accounts["people"], accounts["machines"]
    worker = people["grid_workers"][0]
    grid, lon, lat = worker["places"][0]
    gw, dispatcher = session(worker["username"]), session(people["dispatchers"][0]["username"])
    official, city = (
        session(people["county_officials"][0]["username"]),
        session(people["city_officials"][0]["username"]),
    )
    case_officer = session(people["case_officers"][0]["username"])
    mediator = session(people["mediators"][0]["username"])
    sync, bulk = token(machines["sync"][0]["key"]), token(machines["bulk"][0]["key"])
    bulk_places = machines["bulk"][0]["places"]
    survey = token(machines["survey"][0]["key"])

    def report():
        return gw.post(
            "/api/incidents/",
            {
                "client_uuid": str(uuid.uuid4()),
                "category": "construction-waste-dumping",
                "description": "负载测试：建筑垃圾乱倒",
                "longitude": lon,
                "latitude": lat,
                "grid": grid,
                "source": "grid_worker",
                "attachments": _photo(),
            },
        )

    def bulk_batch():
        items = [
            {
                "client_uuid": str(uuid.uuid4()),
                "category": "construction-waste-dumping",
                "description": "批量同步",
                "grid": code,
                "longitude": x,
                "latitude": y,
                "source": "grid_worker",
            }
            for code, x, y in (bulk_places * 4)[:20]
        ]
        return bulk.post("/api/incidents/bulk/", {"items": items}, content_type="application/json")

    def sync_page():
        return sync.get("/api/incidents/sync/", {"page_size": 100})

    def cold(client, path):
        def call():
            cache.clear()
            return client.get(path)

        return call

    def login():
        client = Client(**HOST)
        return client.post(
            "/accounts/login/",
            {"username": people["city_officials"][1]["username"], "password": accounts["password"]},
        )

    def survey_upload():
        rows = [
            {
                "client_id": str(uuid.uuid4()),
                "community": worker["places"][0][0][:12],
                "channel": "phone",
                "answered_on": "2017-11-20",
                "security_sense": 1,
                "satisfaction": 0,
            }
            for _ in range(50)
        ]
        return survey.post(
            "/api/survey-responses/bulk/",
            {"wave": "2017-annual", "responses": rows},
            content_type="application/json",
        )

    return {
        "report (photo, place)": report,
        "incident list (api, session)": lambda: gw.get("/api/incidents/", {"page_size": 20}),
        "incident list (page)": lambda: gw.get("/incidents/"),
        "dispatch queue (page)": lambda: dispatcher.get("/incidents/queue/"),
        "queue (api)": lambda: dispatcher.get("/api/incidents/", {"status": "reported", "page_size": 20}),
        "dashboard (county)": lambda: official.get("/dashboard/"),
        "dashboard (city)": lambda: city.get("/dashboard/"),
        "dashboard (county, cold cache)": cold(official, "/dashboard/"),
        "dashboard (city, cold cache)": cold(city, "/dashboard/"),
        "sign-in (password check)": login,
        "export xlsx (county)": lambda: official.get("/incidents/", {"export": "xlsx"}),
        "sync page 100 (token)": sync_page,
        "bulk 20 (token)": bulk_batch,
        "survey bulk 50 (token)": survey_upload,
        "caseload (case officer)": lambda: case_officer.get("/api/special-enrollments/", {"page_size": 20}),
        "caseload page (case officer)": lambda: case_officer.get("/special-groups/"),
        "mediation cases": lambda: mediator.get("/api/mediation/cases/", {"page_size": 20}),
        "report page": lambda: gw.get("/incidents/report/"),
        "grids of the office (api)": lambda: gw.get(
            "/api/grids/", {"office": worker["office"], "page_size": 500}
        ),
    }


def _photo():
    photo = io.BytesIO(JPEG)
    photo.name = "photo.jpg"
    return photo


def _database_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (a local server: planning
    and execution of the queries count as much as Python's work)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(name: str, call, repeat: int) -> dict:
    answer = call()  # warm up (and check it works)
    if answer.status_code >= 400:
        print(f"  {name}: {answer.status_code} {answer.content[:300]!r}")
    cpu, wall, queries = [], [], []
    database = _database_cpu()
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            c0, w0 = time.process_time(), time.perf_counter()
            call()
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        queries.append(len(captured))
    database = (_database_cpu() - database) / repeat
    return {
        "db_cpu_ms": database * 1000,
        "name": name,
        "status": answer.status_code,
        "cpu_ms": statistics.median(cpu) * 1000,
        "wall_ms": statistics.median(wall) * 1000,
        "queries": statistics.median(queries),
    }


def main() -> None:
    accounts = json.loads(Path(sys.argv[1]).read_text())
    args = sys.argv[2:]
    repeat = int(args[args.index("-n") + 1]) if "-n" in args else 20
    only = args[args.index("--only") + 1] if "--only" in args else None
    profile = args[args.index("--profile") + 1] if "--profile" in args else None
    table = cases(accounts)
    if profile:
        call = table[profile]
        call()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(repeat):
            call()
        profiler.disable()
        pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(30)
        return
    print(f"{'request':<32} {'status':>6} {'CPU ms':>8} {'DB CPU ms':>9} {'wall ms':>8} {'queries':>8}")
    for name, call in table.items():
        if only and only not in name:
            continue
        row = measure(name, call, repeat)
        print(
            f"{row['name']:<32} {row['status']:>6} {row['cpu_ms']:>8.1f} {row['db_cpu_ms']:>9.1f} "
            f"{row['wall_ms']:>8.1f} {row['queries']:>8.0f}"
        )


if __name__ == "__main__":
    main()
