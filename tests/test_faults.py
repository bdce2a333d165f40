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

    def spawn(self, *args, log: str):
        process = subprocess.Popen(
            list(args),
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=(self.state / log).open("w"),
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def worker(self, name: str):
        return self.spawn(
            sys.executable,
            "-m",
            "celery",
            "-A",
            "anshun",
            "worker",
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"{name}@%h",
            log=f"{name}.log",
        )

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
