"""Celery tasks of the surveys app: thin wrappers around the rollup service."""

from celery import shared_task

from surveys.services.rollup import run_rollup


@shared_task(name="surveys.tasks.rollup_surveys", acks_late=True)
def rollup_surveys(run_id: int | None = None, full: bool = False) -> dict:
    """Idempotent: a redelivered or repeated run recomputes the same rows from the same answers."""
    result = run_rollup(run_id=run_id, full=full)
    return {"run": result.run_id, "villages": result.villages, "rows": result.rows}
