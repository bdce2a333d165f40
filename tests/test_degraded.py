"""Redis away: pages and the API answer, the figures say so, and tasks are kept and sent once.

"Away" here is real: a Redis server started by the test and stopped (or a port nobody listens
on), never a mock. The whole stack under a 30-second outage is in tests/test_faults.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

import pytest
import redis
from django.test import override_settings
from django.urls import reverse

from accounts.roles import Role, SpecialProject
from anshun.celery import app as celery_app
from anshun.models import TaskOutbox
from grids.models import Region
from tests.factories import user_for_role
from tests.special_groups.helpers import enroll, person, village

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
DEAD_REDIS = "redis://127.0.0.1:1/0"


def _dead_cache():
    return {"default": {"BACKEND": "anshun.cache.FailSoftRedisCache", "LOCATION": DEAD_REDIS}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A real redis-server of the test's own, to stop and start again on the same port."""

    def __init__(self):
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="anshun-redis."))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, anywhere: bool = False):
        """Start on the port; ``anywhere`` (the first start) moves to another free port if the
        one picked was taken in the moment between picking it and the server binding it."""
        for _attempt in range(5 if anywhere else 1):
            if self._start_on_port():
                return
            self.port = _free_port()
        raise AssertionError("redis-server did not start")

    def _start_on_port(self) -> bool:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.dir),
                "--save",
                "",
                "--appendonly",
                "yes",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                client.ping()
                return True
            except (redis.ConnectionError, redis.TimeoutError):
                time.sleep(0.05)
        self.stop()
        return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)

    def messages(self) -> list[dict]:
        import json

        client = redis.Redis.from_url(self.url)
        return [json.loads(raw) for raw in reversed(client.lrange("celery", 0, -1))]  # oldest first


@pytest.fixture
def own_broker():
    """Point the Celery app's sends at a Redis of the test's own (restored afterwards)."""
    server = RedisServer()
    server.start(anywhere=True)
    saved = celery_app.conf.broker_write_url

    def reset_pools():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    celery_app.conf.broker_write_url = server.url
    reset_pools()
    yield server
    server.stop()
    celery_app.conf.broker_write_url = saved
    reset_pools()
    shutil.rmtree(server.dir, ignore_errors=True)


def test_the_api_answers_and_still_throttles_key_guessing_without_redis(api_client):
    with override_settings(CACHES=_dead_cache(), API_TOKEN_FAILURE_RATE="3/minute"):
        bad = {"HTTP_AUTHORIZATION": "Token wrong-key"}
        statuses = [api_client.get("/api/regions/", **bad).status_code for _ in range(5)]
        # Counted in process memory while Redis is away: guessing is still refused.
        assert statuses == [401, 401, 401, 429, 429]
        user = user_for_role(Role.CITY_OFFICIAL, region=Region.objects.get(code="5204"))
        api_client.force_authenticate(user)
        response = api_client.get("/api/regions/")
        assert response.status_code == 200 and response["Content-Type"].startswith("application/json")


def _picked_up():
    enroll(
        SpecialProject.HUIGUI,
        who=person(region=village()),
        release_date=date(2025, 3, 10),
        pickup_outcome="picked_up",
    )


def test_the_dashboard_works_without_redis_and_its_figures_are_fresh(client, settings):
    """No app caches its dashboard figures (they come from the rollups): with Redis away the
    page answers with the current figures, each with its rollup time, and nothing says "live,
    cache unavailable"."""
    settings.DASHBOARD_TILE_CACHE_SECONDS = 120
    region = Region.objects.get(code="520402")
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL, region=region))
    for _ in range(6):
        _picked_up()
    with override_settings(CACHES=_dead_cache()):
        first = client.get(reverse("surveys:dashboard"))
        _picked_up()
        second = client.get(reverse("surveys:dashboard"))
    assert first.status_code == second.status_code == 200
    tiles = {t.key: t for t in second.context["tiles"]}
    assert tiles["special_groups.picked_up"].value == 7
    assert not any(t.cache_unavailable for t in tiles.values())
    page = second.content.decode()
    assert 'data-testid="cache-unavailable"' not in page
    assert page.count('data-testid="as-of"') == len([t for t in tiles.values() if t.as_of]) > 0


@pytest.mark.parametrize("redis_up", [True, False])
def test_dashboard_says_when_its_figures_are_live_because_the_cache_is_away(
    client, settings, monkeypatch, redis_up
):
    """The mechanism for an app that declares its figures costly (here the special groups app)."""
    from django.apps import apps

    monkeypatch.setattr(apps.get_app_config("special_groups"), "dashboard_tiles_cached", True, raising=False)
    settings.DASHBOARD_TILE_CACHE_SECONDS = 120
    region = Region.objects.get(code="520402")
    official = user_for_role(Role.COUNTY_OFFICIAL, region=region)
    for _ in range(6):
        _picked_up()
    client.force_login(official)
    caches = settings.CACHES if redis_up else _dead_cache()
    with override_settings(CACHES=caches):
        first = client.get(reverse("surveys:dashboard"))
        _picked_up()
        second = client.get(reverse("surveys:dashboard"))
    assert first.status_code == second.status_code == 200
    page = second.content.decode()
    tiles = {t.key: t for t in second.context["tiles"]}
    if redis_up:
        assert tiles["special_groups.picked_up"].value == 6  # the cached figure, with its time
        assert 'data-testid="as-of"' in page and 'data-testid="cache-unavailable"' not in page
    else:
        assert tiles["special_groups.picked_up"].value == 7  # computed now, and said so
        assert tiles["special_groups.picked_up"].cache_unavailable
        assert "实时计算（缓存暂不可用）" in page
        # A tile computed live is never labelled with a cache time; tiles read from the rollups
        # (never cached) keep the time of the rollup they show.
        timed = [t for t in tiles.values() if t.as_of and not t.cache_unavailable]
        assert page.count('data-testid="as-of"') == len(timed)
        assert all(not t.key.startswith("special_groups.") for t in timed)
        # Tiles of apps that cache nothing are simply the rollups' figures.
        rolled = [t for t in tiles.values() if t.key.split(".")[0] in ("mediation", "safety_cells")]
        assert rolled and not any(t.cache_unavailable for t in rolled)


def test_metrics_report_redis_down_instead_of_failing(client, settings):
    up = client.get("/metrics").content.decode()
    assert "anshun_redis_up 1.0" in up and "anshun_http_requests_total" in up
    settings.REDIS_URL = DEAD_REDIS
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert "anshun_redis_up 0.0" in text
    assert "anshun_task_outbox_pending 0.0" in text
    assert "anshun_http_requests_total" not in text  # no figures rather than wrong ones


def test_tasks_sent_while_redis_is_away_are_kept_and_sent_once_when_it_returns(
    own_broker, django_capture_on_commit_callbacks
):
    from anshun.background import flush_task_outbox
    from surveys.models import RollupRun
    from surveys.services.rollup import request_rollup

    admin = user_for_role(Role.ADMIN)
    own_broker.stop()
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        run = request_rollup(actor=admin)  # the send after commit fails fast and is kept
    from mediation.tasks import check_deadlines

    check_deadlines.apply_async(headers={"periodic_task_name": "mediation-deadlines"})
    check_deadlines.apply_async(headers={"periodic_task_name": "mediation-deadlines"})
    assert time.monotonic() - started < 10
    kept = {row.task: row for row in TaskOutbox.objects.filter(sent_at__isnull=True)}
    assert set(kept) == {"surveys.tasks.rollup_surveys", "mediation.tasks.check_deadlines"}
    assert kept["surveys.tasks.rollup_surveys"].kwargs == {"run_id": run.pk}
    # The same periodic job missed twice is kept once: caught up once, not once per tick.
    assert TaskOutbox.objects.filter(task="mediation.tasks.check_deadlines").count() == 1
    assert flush_task_outbox() == 0  # still away: nothing sent, nothing lost
    assert (
        TaskOutbox.objects.filter(sent_at__isnull=True).count() == 2
    )  # the sender stopped at the first refusal
    assert TaskOutbox.objects.filter(attempts=1).count() == 1

    own_broker.start()
    assert flush_task_outbox() == 2
    assert flush_task_outbox() == 0  # sent once
    messages = own_broker.messages()
    ids = sorted(m["headers"]["id"] for m in messages)
    assert ids == sorted(str(row.id) for row in kept.values())  # each under its kept id, once
    assert {m["headers"]["task"] for m in messages} == set(kept)
    assert RollupRun.objects.get(pk=run.pk).status == RollupRun.Status.QUEUED


def test_the_next_successful_send_flushes_what_this_process_kept(own_broker):
    from mediation.tasks import check_deadlines

    own_broker.stop()
    kept = check_deadlines.delay()
    own_broker.start()
    sent = check_deadlines.delay()
    assert TaskOutbox.objects.get(pk=kept.id).sent_at is not None
    assert sorted(m["headers"]["id"] for m in own_broker.messages()) == sorted([kept.id, sent.id])


def test_supervised_process_is_restarted_and_stopped_with_its_supervisor(tmp_path):
    log = tmp_path / "sleeper.log"
    supervisor = subprocess.Popen(
        ["scripts/supervise.sh", "sleeper", str(log), "sleep", "300"],
        cwd=ROOT,
        env={**os.environ, "SUPERVISE_RESTART_DELAY": "0.2"},
    )

    def children():
        ps = ["ps", "-o", "pid=", "--ppid", str(supervisor.pid)]
        out = subprocess.run(ps, capture_output=True, text=True)
        pids = set()
        for pid in out.stdout.split():
            try:
                if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep\x00300"):
                    pids.add(int(pid))
            except OSError:
                pass  # gone meanwhile
        return pids

    try:
        deadline = time.monotonic() + 10
        while not children() and time.monotonic() < deadline:
            time.sleep(0.05)
        (first,) = children()
        os.kill(first, signal.SIGKILL)  # the supervised process dies; the supervisor does not
        deadline = time.monotonic() + 10
        while not (children() - {first}) and time.monotonic() < deadline:
            time.sleep(0.05)
        (second,) = children()
        assert second != first and supervisor.poll() is None
        assert "exited with status 137; restarting" in log.read_text()
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=10) == 0
        assert (
            not Path(f"/proc/{second}").exists()
            or b"sleep" not in Path(f"/proc/{second}/cmdline").read_bytes()
        )
    finally:
        if supervisor.poll() is None:
            supervisor.kill()


# --- Beat: hourly jobs at their times across restarts, a missed run made up once -------------

HOURLY = {"mediation-deadlines", "special-groups-daily-tasks"}


@pytest.fixture
def clock(monkeypatch):
    """The clock beat's scheduling reads (django-celery-beat's entries and crontabs), set by hand."""
    import datetime as dt
    import types
    from zoneinfo import ZoneInfo

    from django_celery_beat import schedulers, tzcrontab

    shanghai = ZoneInfo("Asia/Shanghai")
    state = types.SimpleNamespace(now=dt.datetime(2026, 3, 2, 10, 0, 30, tzinfo=shanghai))

    class Controlled(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return state.now.astimezone(tz) if tz else state.now.astimezone(shanghai).replace(tzinfo=None)

    monkeypatch.setattr(tzcrontab, "datetime", Controlled)
    monkeypatch.setattr(
        schedulers, "datetime", types.SimpleNamespace(datetime=Controlled, timedelta=dt.timedelta)
    )

    def at(hour, minute, second=0):
        state.now = state.now.replace(hour=hour, minute=minute, second=second)

    state.at = at
    return state


def _beat(own_broker):
    """A beat process's scheduler, as `celery beat` builds it at start-up (reads the database)."""
    from django_celery_beat.schedulers import DatabaseScheduler

    return DatabaseScheduler(app=celery_app)


def _run_due(scheduler) -> None:
    for _ in range(6):  # one due job per tick, as in beat's loop
        scheduler.tick()


def _sent(own_broker) -> list[str]:
    return [
        m["headers"]["periodic_task_name"]
        for m in own_broker.messages()
        if m["headers"].get("periodic_task_name") in HOURLY
    ]


@pytest.mark.django_db(transaction=True)  # beat closes and reopens its database connections
def test_hourly_jobs_keep_their_times_across_beat_restarts_and_catch_up_once(own_broker, clock):
    from django_celery_beat.models import PeriodicTask

    _beat(own_broker)  # the first start writes the schedule into the database
    assert set(PeriodicTask.objects.filter(crontab__isnull=False).values_list("name", flat=True)) >= HOURLY
    # Only the hourly jobs, so that every send counted below is theirs; first started at 10:00:30.
    PeriodicTask.objects.exclude(name__in=HOURLY).update(enabled=False)
    PeriodicTask.objects.filter(name__in=HOURLY).update(last_run_at=clock.now)

    beat = _beat(own_broker)
    _run_due(beat)
    assert _sent(own_broker) == []
    clock.at(10, 5, 1)
    _run_due(beat)
    clock.at(10, 10, 1)
    _run_due(beat)
    assert _sent(own_broker) == ["mediation-deadlines", "special-groups-daily-tasks"]  # 10:05, 10:10

    # Beat dies at 10:30 (no clean shutdown) and starts again: nothing is due until 11:05,
    # as before the restart. An interval restarted here would have waited until 11:30.
    clock.at(10, 30)
    del beat
    beat = _beat(own_broker)
    _run_due(beat)
    assert len(_sent(own_broker)) == 2
    clock.at(11, 5, 1)
    _run_due(beat)
    assert _sent(own_broker).count("mediation-deadlines") == 2

    # Beat is down from 11:06 to 14:20: three runs of each job are missed, one is made up.
    clock.at(11, 6)
    del beat
    clock.at(14, 20)
    beat = _beat(own_broker)
    _run_due(beat)
    _run_due(beat)
    sent = _sent(own_broker)
    assert sent.count("mediation-deadlines") == 3 and sent.count("special-groups-daily-tasks") == 2
    clock.at(15, 5, 1)
    _run_due(beat)
    sent = _sent(own_broker)
    assert sent.count("mediation-deadlines") == 4 and sent.count("special-groups-daily-tasks") == 2
    last = PeriodicTask.objects.get(name="mediation-deadlines").last_run_at
    assert last == clock.now.replace(second=1)
