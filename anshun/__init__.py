"""Ping'an Anshun project package: settings, URLs, the Celery app and shared access scoping."""

from anshun.celery import app as celery_app

__all__ = ["celery_app"]
