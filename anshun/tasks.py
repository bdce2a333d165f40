"""Celery tasks of the platform itself."""

from celery import shared_task

from anshun.background import flush_task_outbox, purge_sent_outbox


@shared_task(name="anshun.tasks.send_kept_tasks", outbox=False)
def send_kept_tasks() -> int:
    """Beat, every minute: send the tasks kept while the broker was away (not kept itself:
    the next tick does the same work)."""
    sent = flush_task_outbox()
    purge_sent_outbox()
    return sent
