"""Celery tasks of the rollups app: thin wrappers around the fold service."""

from celery import shared_task

from rollups.services import fold


@shared_task(name="rollups.tasks.fold_rollups", acks_late=True)
def fold_rollups(full: bool = False) -> dict:
    """Idempotent: a redelivered or repeated fold recomputes the same entries from the same records."""
    result = fold(full=full)
    return {"records": result.records, "rows": result.rows, "full": result.full}
