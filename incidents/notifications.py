"""Notifications: always in-app, plus whatever delivery backends the deployment configures.

``settings.INCIDENT_NOTIFICATION_BACKENDS`` lists dotted paths of classes with a
``send(notifications)`` method (e-mail, an SMS gateway...). They run in a Celery task
after the transaction commits, so a slow or failing gateway never blocks or undoes
the escalation; the in-app row is the record that the person was told.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from anshun.background import enqueue_on_commit
from incidents.models import Incident, Notification


def backends() -> list:
    return [import_string(path)() for path in getattr(settings, "INCIDENT_NOTIFICATION_BACKENDS", [])]


def notify(*, recipients: Iterable, incident: Incident | None, message: str) -> list[Notification]:
    notifications = Notification.objects.bulk_create(
        [Notification(recipient=user, incident=incident, message=message[:300]) for user in recipients]
    )
    if notifications and getattr(settings, "INCIDENT_NOTIFICATION_BACKENDS", []):
        from incidents.tasks import deliver_notifications

        ids = [n.pk for n in notifications]
        enqueue_on_commit(deliver_notifications, ids)
    return notifications


class EmailBackend:
    """Sends each notification to the recipient's e-mail address, when they have one."""

    def send(self, notifications: Iterable[Notification]) -> None:
        for notification in notifications:
            if notification.recipient.email:
                send_mail(
                    subject=notification.message[:60],
                    message=notification.message,
                    from_email=None,
                    recipient_list=[notification.recipient.email],
                )
