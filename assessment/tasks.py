"""Celery tasks of the assessment: thin wrappers over the idempotent scoring run."""

from celery import shared_task
from django.utils import timezone

from assessment.services import compute_scores


@shared_task(name="assessment.tasks.compute_assessment", acks_late=True)
def compute_assessment(year: int | None = None) -> dict:
    """Score every unit for ``year`` (default: this year); a rerun writes only what changed."""
    result = compute_scores(year=year or timezone.localdate().year)
    return {"year": result.year, "written": result.rows_written, "deleted": result.rows_deleted}
