"""A real Celery worker killed in the middle of a rollup: readers only ever see the previous
complete figures, nothing is lost, and the next run (on a new worker) completes the work."""

import time

import psycopg2
import pytest
from django.db import connection
from django.db.models import Sum

from accounts.roles import Role
from surveys.demo import ensure_survey_setup, loader_actor
from surveys.models import AnswerDelta, Cell, RollupRun
from surveys.services.intake import import_responses
from surveys.services.rollup import request_rollup, rollup_progress, run_rollup
from tests.factories import user_for_role
from tests.surveys.conftest import row, villages_in

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _figures() -> tuple[int, int, int]:
    """City n, the sum of its counties' n, and the number of village rows, in one snapshot."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(n) FILTER (WHERE level = 'city'), 0), "
            "coalesce(sum(n) FILTER (WHERE level = 'county'), 0), count(*) FILTER (WHERE level = 'village') "
            "FROM surveys_regionmetric m JOIN surveys_item i ON i.id = m.item_id "
            "WHERE m.month IS NULL AND i.metric = 'security_sense'"
        )
        return cursor.fetchone()


def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0]


def _wait_for(predicate, timeout=60, on_each=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if on_each:
            on_each()
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return None


def test_a_worker_killed_mid_rollup_loses_nothing(celery_worker_factory):
    wave = ensure_survey_setup()
    admin = user_for_role(Role.ADMIN)
    first = villages_in("520402001", 3)
    import_responses(actor=admin, wave=wave, rows=[row(v) for v in first for _ in range(10)])
    run_rollup()
    before = _figures()
    assert before == (30, 30, 3)
    later = villages_in("520403", 2)
    import_responses(actor=admin, wave=wave, rows=[row(v, "不安全") for v in later for _ in range(5)])

    # Another session holds the city rows, so the run stops inside its transaction right after
    # it has taken the queued deltas and moved the cells, while it replaces the metric rows.
    db = connection.settings_dict
    blocker = psycopg2.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"], password=db["PASSWORD"] or None
    )
    blocker.cursor().execute("SELECT id FROM surveys_regionmetric WHERE level = 'city' FOR UPDATE")
    seen = []

    def read():
        seen.append(_figures())

    worker = celery_worker_factory("doomed")
    killed_run = request_rollup(actor=loader_actor())
    assert _wait_for(
        lambda: _waiting_on_a_lock() and (rollup_progress(killed_run.pk) or 0) >= 50, on_each=read
    )
    for _ in range(10):
        read()
        time.sleep(0.05)
    worker.kill()
    worker.wait(timeout=30)
    blocker.rollback()
    blocker.close()
    # The worker's database session notices its client is gone and rolls back.
    with connection.cursor() as cursor:
        assert _wait_for(
            lambda: not cursor.execute(
                "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = %s", [0x53555256]
            )
            and cursor.fetchone() is None,
            on_each=read,
        )
    read()
    assert len(seen) > 10
    assert set(seen) == {before}, "a reader saw a half-finished rollup"
    # The work is still queued: both communities' deltas, all 10 answers of each.
    queued = AnswerDelta.objects.filter(wave=wave).values_list("village_id", "delta")
    assert len({village for village, _delta in queued}) == 2
    assert sum(delta for _village, delta in queued) == 20
    assert Cell.objects.aggregate(total=Sum("count"))["total"] == 60  # the moved cells rolled back too
    assert RollupRun.objects.get(pk=killed_run.pk).status == RollupRun.Status.RUNNING

    celery_worker_factory("next")
    next_run = request_rollup(actor=loader_actor())
    done = _wait_for(lambda: RollupRun.objects.filter(pk=next_run.pk, status=RollupRun.Status.DONE).first())
    assert done is not None, RollupRun.objects.get(pk=next_run.pk).status
    assert _figures() == (40, 40, 5)
    assert AnswerDelta.objects.count() == 0
    assert Cell.objects.aggregate(total=Sum("count"))["total"] == 80
    assert RollupRun.objects.get(pk=killed_run.pk).status == RollupRun.Status.ABANDONED
