"""System checks of the platform's own settings."""

from django.conf import settings
from django.core.checks import Warning, register


@register()
def visibility_outlasts_tasks(app_configs=None, **kwargs):
    """A task may not run longer than the broker waits before handing its message out again:
    otherwise a long task still running would be started a second time by another worker."""
    visibility = (getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}).get("visibility_timeout")
    limits = {"CELERY_TASK_TIME_LIMIT": getattr(settings, "CELERY_TASK_TIME_LIMIT", None)}
    from celery import current_app

    for name, task in current_app.tasks.items():
        if getattr(task, "time_limit", None):
            limits[name] = task.time_limit
    return [
        Warning(
            f"{name} lets a task run {limit} s, not less than the broker's visibility timeout "
            f"({visibility} s): a running task could be delivered a second time.",
            hint="Lower the time limit or raise CELERY_VISIBILITY_TIMEOUT.",
            id="anshun.W001",
        )
        for name, limit in limits.items()
        if visibility and limit and limit >= visibility
    ]
