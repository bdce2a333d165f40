"""Request ids in every log line, and Prometheus metrics that hold across processes.

gunicorn runs several worker processes and Celery runs its own, so in-process
counters would each see a fraction of the traffic. Counters therefore live in
Redis (one pipelined round trip per request) and the `/metrics` view turns them,
plus the Celery queue length, into the Prometheus text format.

With Redis away nothing here raises: requests are served uncounted (one refused connection
every few seconds at most, not one per request), and ``/metrics`` still answers, with
``anshun_redis_up 0``, the tasks kept for later (``anshun_task_outbox_pending``) and no
counters, rather than failing the scrape.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

import redis
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseForbidden
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import CollectorRegistry

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
KEY_REQUESTS = "metrics:http_requests"
KEY_LATENCY = "metrics:http_latency"
KEY_TASKS = "metrics:celery_tasks"

logger = logging.getLogger(__name__)


_clients: dict[str, redis.Redis] = {}
_down_until: dict[str, float] = {}
RETRY_SECONDS = 2.0


def _redis() -> redis.Redis:
    """One client (and connection pool) per process, not a new connection per request."""
    client = _clients.get(settings.REDIS_URL)
    if client is None:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=0.5)
        _clients[settings.REDIS_URL] = client
    return client


def _record(write) -> None:
    """Run ``write(client)``; while Redis is away, skip it (trying again every few seconds)."""
    if time.monotonic() < _down_until.get(settings.REDIS_URL, 0.0):
        return
    try:
        write(_redis())
    except redis.RedisError:
        _down_until[settings.REDIS_URL] = time.monotonic() + RETRY_SECONDS
        logger.warning("metrics not recorded: Redis unavailable")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every log record, so one request's lines can be followed."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class RequestObservabilityMiddleware:
    """Takes the caller's X-Request-ID (or makes one), echoes it, and counts the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        self._count(request, response.status_code, time.perf_counter() - started)
        return response

    @staticmethod
    def _count(request, status: int, seconds: float) -> None:
        match = getattr(request, "resolver_match", None)
        route = match.route if match and match.route else "unmatched"
        label = f"{request.method}|{route}|{status}"
        bucket = next((str(b) for b in LATENCY_BUCKETS if seconds <= b), "+Inf")

        def write(client):
            pipe = client.pipeline(transaction=False)
            pipe.hincrby(KEY_REQUESTS, label, 1)
            pipe.hincrby(KEY_LATENCY, f"{route}|{bucket}", 1)
            pipe.hincrbyfloat(KEY_LATENCY, f"{route}|sum", seconds)
            pipe.execute()

        _record(write)


def count_task_outcome(task_name: str, outcome: str) -> None:
    _record(lambda client: client.hincrby(KEY_TASKS, f"{task_name}|{outcome}", 1))


class _RedisCollector:
    def collect(self):
        up = GaugeMetricFamily("anshun_redis_up", "1 when Redis (broker, cache, counters) answers, else 0")
        outbox = GaugeMetricFamily(
            "anshun_task_outbox_pending", "Tasks kept in the database while the broker was away, not yet sent"
        )
        try:
            from anshun.models import TaskOutbox

            outbox.add_metric([], TaskOutbox.objects.filter(sent_at__isnull=True).count())
            yield outbox
        except DatabaseError:
            logger.warning("metrics: database unavailable, outbox not counted")
        try:
            client = _redis()
            client.ping()
            families = list(self._counters(client))
        except redis.RedisError:
            logger.warning("metrics: Redis unavailable")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    @staticmethod
    def _counters(client):
        requests = CounterMetricFamily(
            "anshun_http_requests",
            "HTTP requests by method, route and status",
            labels=["method", "route", "status"],
        )
        for key, value in client.hgetall(KEY_REQUESTS).items():
            method, route, status = key.decode().split("|", 2)
            requests.add_metric([method, route, status], int(value))
        yield requests

        latency_raw: dict[str, dict[str, float]] = {}
        for key, value in client.hgetall(KEY_LATENCY).items():
            route, bucket = key.decode().rsplit("|", 1)
            latency_raw.setdefault(route, {})[bucket] = float(value)
        latency = HistogramMetricFamily(
            "anshun_http_request_duration_seconds", "Request latency by route", labels=["route"]
        )
        for route, buckets in latency_raw.items():
            cumulative, points = 0.0, []
            for bound in (*map(str, LATENCY_BUCKETS), "+Inf"):
                cumulative += buckets.get(bound, 0.0)
                points.append((bound, cumulative))
            latency.add_metric([route], points, sum_value=buckets.get("sum", 0.0))
        yield latency

        tasks = CounterMetricFamily("anshun_celery_tasks", "Celery task outcomes", labels=["task", "outcome"])
        for key, value in client.hgetall(KEY_TASKS).items():
            task, outcome = key.decode().rsplit("|", 1)
            tasks.add_metric([task, outcome], int(value))
        yield tasks

        queue = GaugeMetricFamily(
            "anshun_celery_queue_length", "Tasks waiting in the Celery queue", labels=["queue"]
        )
        queue.add_metric(["celery"], client.llen("celery"))
        yield queue


def metrics_view(request):
    """Prometheus scrape endpoint; only for the addresses in METRICS_ALLOWED_IPS."""
    if request.META.get("REMOTE_ADDR") not in settings.METRICS_ALLOWED_IPS:
        return HttpResponseForbidden("metrics are served to the monitoring network only")
    registry = CollectorRegistry()
    registry.register(_RedisCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
