"""Sending work to Celery so that a Redis outage loses nothing and runs nothing twice.

Every task of the project is an ``OutboxTask`` (the Celery app's ``task_cls``), so every
``.delay()`` / ``.apply_async()`` (services' ``transaction.on_commit`` enqueues, beat's sends,
retries) goes through ``OutboxTask.apply_async``:

- the task is sent to the broker as usual, with a fresh id;
- when the broker cannot be reached, the task is kept in ``TaskOutbox`` (the database) under
  that same id instead of raising, so the request that enqueued it still answers;
- kept tasks are sent by ``flush_task_outbox``: when a worker connects or reconnects to the
  broker (``FlushOutboxOnConnect``), every minute from beat (``anshun.tasks``), and by the
  next successful send of the process that kept them;
- a task id whose result is already a success is not run again (``OutboxTask.__call__``): a
  kept task sent twice, or a message redelivered after its worker finished it but died before
  acknowledging, has one effect. The tasks themselves are idempotent as well.

``enqueue_on_commit(task, *args, **kwargs)`` is the one way services queue work after their
transaction commits.
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
from functools import partial

import kombu.exceptions
import redis
from celery import Task
from celery.states import SUCCESS
from celery.utils import uuid
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from anshun.commands import system_command

logger = logging.getLogger(__name__)

BROKER_DOWN = (kombu.exceptions.OperationalError, redis.exceptions.RedisError, ConnectionError, TimeoutError)
_KEPT_OPTIONS = ("queue", "routing_key", "exchange", "priority", "headers", "countdown", "expires")
_pending_here = threading.Event()  # this process kept a task: try to flush after the next good send


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Queue ``task(*args, **kwargs)`` once the current transaction commits (now, outside one)."""
    transaction.on_commit(partial(task.apply_async, args, kwargs))


class OutboxTask(Task):
    """Celery's Task, with sends that survive a broker outage and runs that happen once."""

    #: False for tasks that must not be kept when the broker is away (the outbox's own sender).
    outbox = True

    def apply_async(self, args=None, kwargs=None, task_id=None, producer=None, link=None, link_error=None,
                    shadow=None, **options):  # fmt: skip
        direct = options.pop("_outbox_direct", False)
        if direct or not self.outbox or self.app.conf.task_always_eager:
            return super().apply_async(args, kwargs, task_id, producer, link, link_error, shadow, **options)
        task_id = task_id or uuid()
        try:
            result = super().apply_async(args, kwargs, task_id, producer, link, link_error, shadow, **options)
        except BROKER_DOWN as error:
            keep_task(task=self.name, task_id=task_id, args=args, kwargs=kwargs, options=options, error=error)
            return self.AsyncResult(task_id)
        if _pending_here.is_set():
            _pending_here.clear()
            try:
                flush_task_outbox(limit=100)
            except Exception:  # a failed opportunistic flush is retried by the others
                logger.exception("outbox: opportunistic flush failed")
        return result

    def __call__(self, *args, **kwargs):
        request = self.request
        if request.id and not request.called_directly and not request.is_eager and self._already_succeeded():
            logger.warning("task %s[%s] already succeeded; not run again", self.name, request.id)
            return None
        return super().__call__(*args, **kwargs)

    def _already_succeeded(self) -> bool:
        try:
            return self.backend.get_state(self.request.id) == SUCCESS
        except Exception:  # no result to compare with: run it (the tasks are idempotent)
            return False


def _json_safe(value) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


@system_command("OutboxTask.apply_async, when the broker cannot be reached")
def keep_task(*, task: str, task_id: str, args, kwargs, options: dict, error: Exception) -> None:
    """Keep a task the broker refused, to be sent when it is back. Raises the broker's error when
    the database cannot keep it either (then nothing is left to fall back on)."""
    from anshun.models import TaskOutbox

    kept = {k: v for k, v in options.items() if k in _KEPT_OPTIONS and _json_safe(v)}
    headers = kept.get("headers") or {}
    dedup_key = f"periodic:{headers['periodic_task_name']}" if headers.get("periodic_task_name") else ""
    try:
        TaskOutbox.objects.bulk_create(
            [
                TaskOutbox(
                    id=task_id,
                    task=task,
                    args=list(args or ()),
                    kwargs=dict(kwargs or {}),
                    options=kept,
                    dedup_key=dedup_key[:200],
                    last_error=str(error)[:500],
                )
            ],
            ignore_conflicts=True,  # the same periodic job already waiting: once is enough
        )
    except Exception as db_error:
        raise error from db_error
    _pending_here.set()
    logger.warning("outbox: broker unavailable (%s); kept %s[%s] to send later", error, task, task_id)


@system_command("the worker on (re)connecting, the periodic sender and the next successful send")
def flush_task_outbox(*, limit: int = 1000) -> int:
    """Send kept tasks, oldest first, each under its own id; stop at the first broker failure.

    Rows are taken with SKIP LOCKED, so two senders never send the same row at once.
    """
    from celery import current_app

    from anshun.models import TaskOutbox

    sent = 0
    while sent < limit:
        with transaction.atomic():
            rows = list(
                TaskOutbox.objects.select_for_update(skip_locked=True)
                .filter(sent_at__isnull=True)
                .order_by("created_at")[: min(50, limit - sent)]
            )
            if not rows:
                return sent
            for row in rows:
                try:
                    current_app.send_task(
                        row.task, args=row.args, kwargs=row.kwargs, task_id=str(row.id), **row.options
                    )
                except BROKER_DOWN as error:
                    TaskOutbox.objects.filter(pk=row.pk).update(
                        attempts=row.attempts + 1, last_error=str(error)[:500]
                    )
                    _pending_here.set()
                    logger.warning("outbox: broker still unavailable (%s); %s kept", error, row.task)
                    return sent
                TaskOutbox.objects.filter(pk=row.pk).update(sent_at=timezone.now(), attempts=row.attempts + 1)
                sent += 1
    if sent:
        logger.warning("outbox: sent %d kept task(s)", sent)
    return sent


@system_command("the periodic sender: forget tasks sent long ago")
def purge_sent_outbox(*, days: int = 7) -> int:
    from anshun.models import TaskOutbox

    cutoff = timezone.now() - datetime.timedelta(days=days)
    return TaskOutbox.objects.filter(sent_at__lt=cutoff).delete()[0]


def flush_in_background() -> None:
    """Flush from a thread of the worker's main process (celery.FlushOutboxOnConnect)."""
    try:
        close_old_connections()
        sent = flush_task_outbox()
        if sent:
            logger.warning("outbox: sent %d kept task(s) after connecting to the broker", sent)
    except Exception:
        logger.exception("outbox: flush after connecting failed; the periodic sender will retry")
    finally:
        connection.close()
