"""Celery tasks of the safety-cells app: thin wrappers around services."""

from celery import shared_task

from safety_cells.coverage import refresh_coverage


@shared_task(name="safety_cells.tasks.refresh_coverage", acks_late=True)
def refresh_coverage_task(reason: str = "beat", full: bool = False) -> str:
    """Idempotent: a redelivered or repeated run computes the same tables from the same records."""
    return str(refresh_coverage(reason=reason, full=full).finished_at)
