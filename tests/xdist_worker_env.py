"""Loaded with ``-p tests.xdist_worker_env`` when the suite runs on several xdist workers.

Each worker has its own test database (pytest-django names it ``test_…_gw0``, ``…_gw1``) but
would share one Redis: its Celery broker, results, cache and metrics. A real Celery worker that
one xdist worker starts would then take tasks the other worker's tests queued and run them
against the wrong database, and a test that counts or clears cached values would see the
other's. So every xdist worker gets a Redis database of its own (gw0 → 1, gw1 → 2, …; the
servers ``make test`` starts are throwaway), and its own folder of uploaded files, before
Django reads its settings, which is why this
is a plugin loaded at start-up and not a conftest (pytest-django configures Django first).
Kombu prefixes its broadcast channels with the database number, so ``celery inspect ping``
and worker control stay within one xdist worker too.
"""

from __future__ import annotations

import os
import re

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def redis_url_for_worker(url: str, worker: str) -> str:
    index = int(worker.removeprefix("gw")) + 1
    base, _sep, _db = url.rpartition("/")
    return f"{base}/{index}"


if WORKER and os.environ.get("REDIS_URL") and re.fullmatch(r"gw\d+", WORKER):
    os.environ["REDIS_URL"] = redis_url_for_worker(os.environ["REDIS_URL"], WORKER)
    # Uploaded files too: see tests/xdist_settings.py.
    os.environ["ANSHUN_TEST_MEDIA_DIR"] = f"test-media-{WORKER}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.xdist_settings"
    os.environ["ANSHUN_TEST_REDIS_ISOLATED"] = WORKER
    # A PostgreSQL server of its own where scripts/pytest_in_services.sh started one: the sync
    # feed's horizon (the oldest running transaction) spans every database of a server.
    own_server = os.environ.get(f"ANSHUN_TEST_DATABASE_URL_{WORKER.upper()}")
    if own_server:
        os.environ["DATABASE_URL"] = own_server
