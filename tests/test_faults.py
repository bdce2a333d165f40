"""Faults on a private stack (its own PostgreSQL, Redis, workers and web server in a temp dir):
a worker killed mid-task, Redis restarted with work queued, PostgreSQL restarted under the web server.

The stack is separate from the test database so that killing and restarting things cannot
disturb the rest of the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg2
import pytest

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = "/usr/lib/postgresql/15/bin"
pytestmark = pytest.mark.faults


class Stack:
    def __init__(self, state: Path):
        self.state = state
        self.env = dict(os.environ)
        self.processes: list[subprocess.Popen] = []

    def start_services(self):
        output = subprocess.run(
            ["scripts/services.sh", "start", str(self.state)],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PG_PORT": "55900", "REDIS_PORT": "56900"},
        ).stdout
        for line in output.splitlines():
            key, value = line.split("=", 1)
            self.env[key] = value
        self.env.update(DJANGO_SETTINGS_MODULE="anshun.settings.test", CELERY_VISIBILITY_TIMEOUT="3")
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    def manage(self, *args, stdin: str | None = None):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        ).stdout

    def spawn(self, *args, log: str, env: dict | None = None):
        process = subprocess.Popen(
            list(args),
            cwd=ROOT,
            env={**self.env, **(env or {})},
            start_new_session=True,
            stdout=(self.state / log).open("w"),
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def worker(self, name: str, *, pool: str = "solo", env: dict | None = None):
        return self.spawn(
            sys.executable,
            "-m",
            "celery",
            "-A",
            "anshun",
            "worker",
            "--pool",
            pool,
            *(["--concurrency", "1"] if pool == "prefork" else []),
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "info",
            "--hostname",
            f"{name}@%h",
            log=f"{name}.log",
            env=env,
        )

    def stop_processes(self):
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)

    def sql(self, query: str, params=()):
        conn = psycopg2.connect(self.env["DATABASE_URL"].replace("postgis://", "postgresql://"))
        try:
            with conn, conn.cursor() as cursor:
                cursor.execute(query, params)
                return cursor.fetchall() if cursor.description else None
        finally:
            conn.close()

    def pg_ctl(self, *args):
        command = [f"{PG_BIN}/pg_ctl", "-D", str(self.state / "pg"), "-w", *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        subprocess.run(["scripts/services.sh", "stop", str(self.state)], cwd=ROOT, check=False)


@pytest.fixture(scope="module")
def stack():
    # Not under pytest's private tmp (mode 0700): the postgres user must reach the cluster.
    state = Path(tempfile.mkdtemp(prefix="anshun-faults."))
    state.chmod(0o755)
    stack = Stack(state)
    try:
        stack.start_services()
        stack.manage("migrate", "--no-input", "-v0")
        stack.manage("load_anshun", "-v0")
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(state, ignore_errors=True)


def _wait(predicate, timeout=90, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def _queue_import(stack: Stack, village_prefix: str) -> int:
    """Queue a real-grid import of every village under ``village_prefix`` (their demo outlines)."""
    script = f"""
import json
from django.core.files.base import ContentFile
from django.db import transaction
from grids.models import Region
from grids.services.grid_import import start_grid_import
from surveys.demo import loader_actor
features = [{{"type": "Feature", "properties": {{"code": v.code + "001"}},
             "geometry": json.loads(v.boundary.geojson)}}
            for v in Region.objects.filter(level="village", code__startswith="{village_prefix}")]
with transaction.atomic():
    gi = start_grid_import(source=ContentFile(json.dumps({{"type": "FeatureCollection",
                           "features": features}}).encode(), name="big.geojson"), actor=loader_actor())
print(gi.pk)
"""
    return int(stack.manage("shell", "-c", script).strip().splitlines()[-1])


def _status(stack: Stack, import_id: int):
    return stack.sql("SELECT status, imported_count FROM grids_gridimport WHERE id = %s", (import_id,))[0]


def test_a_killed_worker_loses_no_task_and_it_runs_once(stack):
    first = stack.worker("doomed")
    import_id = _queue_import(stack, "520402")
    assert _wait(lambda: _status(stack, import_id)[0] == "running"), "the import never started"
    os.killpg(first.pid, signal.SIGKILL)  # killed mid-task: the message is never acknowledged
    first.wait(timeout=10)
    assert _status(stack, import_id)[0] == "running"

    # A worker hands out unacknowledged messages older than the visibility timeout (3 s here,
    # an hour in production) when it starts, and every few minutes while it runs.
    time.sleep(4)
    stack.worker("rescuer")
    done = _wait(lambda: _status(stack, import_id)[0] == "succeeded", timeout=120, interval=0.5)
    assert done, _status(stack, import_id)
    villages = stack.sql("SELECT count(*) FROM grids_region WHERE level='village' AND code LIKE '520402%%'")
    assert _status(stack, import_id)[1] == villages[0][0]
    # Exactly one real grid per village: the rerun replaced, it did not add.
    grids = stack.sql(
        "SELECT count(*), count(DISTINCT village_id) FROM grids_grid g JOIN grids_region v "
        "ON v.id = g.village_id WHERE v.code LIKE '520402%%'"
    )[0]
    assert grids == (villages[0][0], villages[0][0])


def test_work_queued_before_a_redis_restart_is_done_after_it(stack):
    for process in stack.processes:  # no worker: the task waits in Redis
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    import_id = _queue_import(stack, "520403")
    assert _status(stack, import_id)[0] == "pending"

    pid = int((stack.state / "redis.pid").read_text())
    os.kill(pid, signal.SIGTERM)  # a clean restart: Redis writes its append-only file
    assert _wait(lambda: not Path(f"/proc/{pid}").exists(), timeout=30)
    subprocess.run(
        ["scripts/services.sh", "start", str(stack.state)], cwd=ROOT, check=True, capture_output=True
    )
    stack.worker("after-restart")
    assert _wait(lambda: _status(stack, import_id)[0] == "succeeded", timeout=120, interval=0.5)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, token=None):
    headers = {"Authorization": f"Token {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback http only
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - loopback only
            return response.status, json.loads(response.read() or b"null"), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), error.headers


def test_web_server_survives_a_postgres_restart(stack):
    port = _free_port()
    web = stack.spawn(
        sys.executable,
        "-m",
        "gunicorn",
        "anshun.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--env",
        "DJANGO_SETTINGS_MODULE=anshun.settings.test",
        log="web.log",
    )
    base = f"http://127.0.0.1:{port}"
    assert _wait(lambda: _healthy(base), timeout=60, interval=0.3)
    token = (
        stack.manage(
            "shell",
            "-c",
            (
                "from accounts.services import user_create; from grids.models import Region;"
                "from accounts.tokens import service_token_issue;"
                "u = user_create(username='sync', password=None, role='dispatcher', is_service_account=True,"
                " region=Region.objects.get(code='5204'));"
                " print(service_token_issue(actor=None, account=u, name='faults')[1])"
            ),
        )
        .strip()
        .splitlines()[-1]
    )
    assert _get(f"{base}/api/regions/", token)[0] == 200

    stack.pg_ctl("stop", "-m", "fast")
    try:
        status, body, headers = _get(f"{base}/healthz")
        assert status == 503 and body["database"].startswith("error")
        status, body, headers = _get(f"{base}/api/regions/", token)
        assert status == 503 and headers["Retry-After"] == "30"
    finally:
        port_pg = (stack.state / "pg.port").read_text().strip()
        stack.pg_ctl(
            "start",
            "-l",
            str(stack.state / "log" / "postgres.log"),
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {port_pg} -k {stack.state / 'run'}",
        )
    assert _wait(lambda: _healthy(base), timeout=60, interval=0.3)
    assert _get(f"{base}/api/regions/", token)[0] == 200
    assert web.poll() is None  # recovered without restarting the app


def _healthy(base):
    try:
        return _get(f"{base}/healthz")[0] == 200
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def _gunicorn(stack: Stack) -> str:
    port = _free_port()
    stack.spawn(
        sys.executable, "-m", "gunicorn", "anshun.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", "2", "--env", "DJANGO_SETTINGS_MODULE=anshun.settings.test", log=f"web-{port}.log",
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    assert _wait(lambda: _healthy(base), timeout=60, interval=0.3)
    return base


def _fetch(url, *, token=None, cookie=None):
    headers = {"Authorization": f"Token {token}"} if token else {}
    if cookie:
        headers["Cookie"] = f"sessionid={cookie}"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback http only
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - loopback only
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers


def _kept_rollup(stack: Stack) -> int:
    """An admin's "recompute now": the service queues the task after its transaction commits."""
    script = (
        "from surveys.services.rollup import request_rollup; from accounts.models import User;"
        "print(request_rollup(actor=User.objects.get(username='outage-admin')).pk)"
    )
    return int(stack.manage("shell", "-c", script).strip().splitlines()[-1])


def test_redis_away_for_30_seconds_pages_and_api_answer_and_no_task_is_lost(stack):
    stack.stop_processes()
    setup = stack.manage(
        "shell",
        "-c",
        (
            "from django.test import Client; from accounts.services import user_create;"
            "from accounts.tokens import service_token_issue; from grids.models import Region;"
            "city = Region.objects.get(code='5204');"
            "user_create(username='outage-admin', password='Outage-pass-1234', role='admin', region=city);"
            "o = user_create(username='outage-official', password='Outage-pass-1234',"
            " role='city_official', region=city);"
            "s = user_create(username='outage-sync', password=None, role='dispatcher',"
            " is_service_account=True, region=city);"
            "c = Client(); c.force_login(o);"
            "print(service_token_issue(actor=None, account=s, name='outage')[1],"
            " c.cookies['sessionid'].value)"
        ),
    )
    token, cookie = setup.strip().splitlines()[-1].split()
    base = _gunicorn(stack)
    worker = stack.worker("through-outage")
    redis_port = (stack.state / "redis.port").read_text()
    pages = {
        "api": (f"{base}/api/regions/", {"token": token}),
        "dashboard": (f"{base}/dashboard/", {"cookie": cookie}),
        "home": (f"{base}/", {"cookie": cookie}),
        "healthz": (f"{base}/healthz", {}),
        "metrics": (f"{base}/metrics", {}),
    }
    for name, (url, auth) in pages.items():
        assert _fetch(url, **auth)[0] == 200, name

    pid = int((stack.state / "redis.pid").read_text())
    os.kill(pid, signal.SIGTERM)
    assert _wait(lambda: not Path(f"/proc/{pid}").exists(), timeout=30)
    outage_started = time.monotonic()
    answers, kept_runs = [], []
    while time.monotonic() - outage_started < 30:
        for name, (url, auth) in pages.items():
            status, body, _headers = _fetch(url, **auth)
            answers.append((name, status))
            if name == "metrics":
                assert "anshun_redis_up 0.0" in body
            if name == "dashboard":  # its wording while Redis is away: tests/test_degraded.py
                assert 'data-testid="tile-' in body
        if len(kept_runs) < 2 and time.monotonic() - outage_started > 5 * (len(kept_runs) + 1):
            kept_runs.append(_kept_rollup(stack))
        time.sleep(0.5)
    assert len(kept_runs) == 2
    assert {status for _name, status in answers} == {200}, [a for a in answers if a[1] != 200][:5]
    assert len(answers) > 50
    kept = stack.sql("SELECT id::text, task FROM anshun_taskoutbox WHERE sent_at IS NULL")
    assert len([task for _id, task in kept if task == "surveys.tasks.rollup_surveys"]) == 2

    subprocess.run(
        ["scripts/services.sh", "start", str(stack.state)], cwd=ROOT, check=True, capture_output=True
    )
    assert (stack.state / "redis.port").read_text() == redis_port  # back where clients look for it
    # The worker reconnects by itself and sends what was kept; the runs are done, each once.
    assert _wait(
        lambda: stack.sql(
            "SELECT count(*) FROM surveys_rolluprun WHERE id = ANY(%s) AND status = 'done'", (kept_runs,)
        )[0][0]
        == 2,
        timeout=60,
        interval=0.5,
    ), (stack.state / "through-outage.log").read_text()[-3000:]
    assert stack.sql("SELECT count(*) FROM anshun_taskoutbox WHERE sent_at IS NULL")[0][0] == 0
    log = (stack.state / "through-outage.log").read_text()
    for task_id, _task in kept:
        assert log.count(f"[{task_id}] succeeded") == 1
    assert worker.poll() is None
    status, body, _headers = _fetch(f"{base}/metrics")
    assert status == 200 and "anshun_redis_up 1.0" in body


def test_a_killed_worker_main_process_leaves_its_task_done_once_within_minutes(stack):
    stack.stop_processes()
    visibility = {"CELERY_VISIBILITY_TIMEOUT": "10"}
    doomed = stack.worker("doomed-main", pool="prefork", env=visibility)
    import_id = _queue_import(stack, "52040200")
    assert _wait(lambda: _status(stack, import_id)[0] == "running", timeout=120), "the import never started"
    os.kill(doomed.pid, signal.SIGKILL)  # the main process only: its pool child is orphaned
    doomed.wait(timeout=10)
    killed_at = time.monotonic()
    # A starting worker hands out at once what is unacknowledged for longer than the visibility
    # timeout (a running one looks every 10 polls, about 100 s: "minutes", not the hour it was).
    time.sleep(11)
    stack.worker("rescuer-main", env=visibility)
    assert _wait(lambda: _status(stack, import_id)[0] == "succeeded", timeout=180, interval=0.5)
    finished = stack.sql("SELECT finished_at FROM grids_gridimport WHERE id = %s", (import_id,))[0][0]
    # The rescuer has the message back (visibility timeout) and either runs the half-done import
    # or, when the orphaned child finished it, skips it as already done; never both.
    rescuer_log = stack.state / "rescuer-main.log"
    assert _wait(
        lambda: "process_grid_import" in rescuer_log.read_text()
        and ("succeeded" in rescuer_log.read_text() or "already succeeded" in rescuer_log.read_text()),
        timeout=120,
        interval=0.5,
    ), rescuer_log.read_text()[-2000:]
    assert time.monotonic() - killed_at < 180
    assert stack.sql("SELECT finished_at FROM grids_gridimport WHERE id = %s", (import_id,))[0][0] == finished
    villages = stack.sql("SELECT count(*) FROM grids_region WHERE level='village' AND code LIKE '52040200%%'")
    grids = stack.sql(
        "SELECT count(*), count(DISTINCT village_id) FROM grids_grid g JOIN grids_region v "
        "ON v.id = g.village_id WHERE v.code LIKE '52040200%%'"
    )[0]
    assert grids == (villages[0][0], villages[0][0])
