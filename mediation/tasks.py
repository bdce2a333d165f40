"""Celery tasks of mediation: thin wrappers around services."""

from celery import shared_task

from mediation.services import deadlines_check


@shared_task(name="mediation.tasks.check_deadlines", acks_late=True)
def check_deadlines() -> dict:
    """Beat job: warn before each legal deadline and mark the missed ones (idempotent)."""
    run = deadlines_check()
    return {"warned": run.warned, "missed": run.missed}
