"""The Celery application. Workers and beat load Django settings through it."""

import os
import threading

from celery import Celery, bootsteps, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anshun.settings.dev")

# Every task is an OutboxTask: a send the broker refuses is kept in the database and sent
# later, and a task id that already succeeded is not run again (anshun.background).
app = Celery("anshun", task_cls="anshun.background:OutboxTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class FlushOutboxOnConnect(bootsteps.StartStopStep):
    """A consumer step: ``start`` runs when the worker connects to the broker and again after
    every reconnection, which is exactly when tasks kept during an outage can be sent."""

    requires = ("celery.worker.consumer.connection:Connection",)

    def start(self, consumer):
        from anshun.background import flush_in_background

        threading.Thread(target=flush_in_background, name="outbox-flush", daemon=True).start()


app.steps["consumer"].add(FlushOutboxOnConnect)


@signals.task_success.connect
def _count_success(sender=None, **kwargs):
    from anshun.observability import count_task_outcome

    count_task_outcome(sender.name, "success")


@signals.task_failure.connect
def _count_failure(sender=None, **kwargs):
    from anshun.observability import count_task_outcome

    count_task_outcome(sender.name, "failure")


@signals.task_retry.connect
def _count_retry(sender=None, request=None, **kwargs):
    from anshun.observability import count_task_outcome

    count_task_outcome(getattr(request, "task", None) or str(sender), "retry")
