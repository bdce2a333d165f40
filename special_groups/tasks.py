"""Celery tasks of the six projects: thin wrappers over idempotent services."""

from celery import shared_task

from special_groups.services import plan_tasks


@shared_task(name="special_groups.tasks.plan_special_group_tasks", acks_late=True)
def plan_special_group_tasks() -> dict:
    """Pick-up tasks before releases, visits due by risk grade, overdue flags (beat, hourly)."""
    result = plan_tasks()
    return {
        "pickup_tasks": result.pickup_tasks,
        "visit_tasks": result.visit_tasks,
        "flagged": result.flagged_overdue,
    }
