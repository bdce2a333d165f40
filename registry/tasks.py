"""Celery tasks of the registry: thin wrappers that pass ids to services."""

from celery import shared_task

from registry.services.imports import run_import


@shared_task(name="registry.tasks.run_import_task", acks_late=True)
def run_import_task(import_id: int) -> str:
    """Idempotent: a finished import is left as it is, a redelivered one checks its rows again."""
    return run_import(import_id=import_id)
