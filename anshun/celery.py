"""The Celery application. Workers and beat load Django settings through it."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anshun.settings.dev")

app = Celery("anshun")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
