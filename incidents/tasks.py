"""Celery tasks of the incidents app: thin wrappers that pass ids to services."""

from celery import shared_task

from incidents.notifications import announce_due_soon, deliver
from incidents.open311_notify import tell_reporter
from incidents.services.escalation import alert_overdue_intake, escalate_overdue


@shared_task(name="incidents.tasks.escalate_overdue_incidents", acks_late=True)
def escalate_overdue_incidents() -> int:
    """Safe to run twice at once or again after a crash: each step happens at most once. The
    same job tells the centre of reports not registered, or cases not dispatched, in time."""
    return escalate_overdue() + alert_overdue_intake()


@shared_task(
    name="incidents.tasks.deliver_notifications",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def deliver_notifications(notification_ids: list[int]) -> int:
    """Safe to retry: each notification goes through each backend once (incidents.notifications)."""
    return deliver(notification_ids=notification_ids)


@shared_task(name="incidents.tasks.announce_due_soon", acks_late=True)
def announce_due_soon_incidents() -> int:
    """Safe to run twice: each (incident, due time) is announced once."""
    return announce_due_soon()


@shared_task(name="incidents.tasks.tell_open311_reporter", acks_late=True)
def tell_open311_reporter(incident_id: int) -> bool:
    """Safe to retry: the reporter is told of each status once (see incidents.open311_notify)."""
    return tell_reporter(incident_id=incident_id)


@shared_task(name="incidents.tasks.review_backlog", acks_late=True)
def review_backlog() -> int:
    """Flags each 挂账 entry whose review date has come, once (safe to run twice)."""
    from incidents.services.backlog import review_backlog as review

    return review()
