"""The Celery application. Workers and beat load Django settings through it."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anshun.settings.dev")

app = Celery("anshun")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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
