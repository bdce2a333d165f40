"""Telling an Open311 reporter that their request changed status.

The reporter left an e-mail address or a phone number with the Open311 client (stored encrypted
in ``Open311Request``). After a workflow step commits, ``incidents.tasks.tell_open311_reporter``
runs ``tell_reporter``: it sends one message per new status through every backend listed in
``settings.OPEN311_REPORTER_BACKENDS`` and remembers the status it told, so a retried task or a
second worker never sends the same news twice.

A backend is a class with ``send(*, contact, message)``. ``LoggingBackend`` (the default, for a
deployment with no SMS or e-mail gateway) only logs that a message was due, with the contact
masked; ``EmailBackend`` sends through Django's e-mail settings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from anshun.commands import system_command
from incidents.models import Incident, Open311Request

logger = logging.getLogger("incidents.open311")


@dataclass(frozen=True)
class Contact:
    email: str
    phone: str
    name: str


def _mask(value: str) -> str:
    if not value:
        return ""
    return value[:2] + "*" * max(len(value) - 4, 1) + value[-2:] if len(value) > 4 else "*" * len(value)


class LoggingBackend:
    """No gateway: record that the reporter was due a message (never the full contact)."""

    def send(self, *, contact: Contact, message: str) -> None:
        logger.info(
            "open311 reporter message (email %s, phone %s): %s",
            _mask(contact.email),
            _mask(contact.phone),
            message,
        )


class EmailBackend:
    """Sends the message to the reporter's e-mail address, when they gave one."""

    def send(self, *, contact: Contact, message: str) -> None:
        if contact.email:
            send_mail(subject=message[:60], message=message, from_email=None, recipient_list=[contact.email])


def backends() -> list:
    return [import_string(path)() for path in settings.OPEN311_REPORTER_BACKENDS]


def public_status_notes(request: Open311Request | None, incident: Incident) -> str:
    """The note the public reads: staff's note while the status it was written for holds,
    else the status in words."""
    if request is not None and request.status_notes and request.status_notes_status == incident.status:
        return request.status_notes
    return str(incident.get_status_display())


def queue_reporter_message(incident: Incident) -> None:
    """Called by a workflow step: after the commit, a task tells an Open311 reporter."""
    if incident.source != Incident.Source.OPEN311:
        return
    from incidents.tasks import tell_open311_reporter

    transaction.on_commit(lambda: tell_open311_reporter.delay(incident.pk))


@system_command(
    "Run by a Celery task after a workflow step commits: the reporter is a citizen outside the "
    "platform, told of the status the command centre's own step produced."
)
def tell_reporter(*, incident_id: int) -> bool:
    """Send the reporter the incident's current public status once; True when a message went out."""
    with transaction.atomic():
        request = (
            Open311Request.objects.select_for_update()
            .select_related("incident", "incident__category")
            .filter(incident_id=incident_id, incident__deleted_at__isnull=True)
            .first()
        )
        if request is None or not request.has_contact:
            return False
        incident = request.incident
        if request.notified_status == incident.status:
            return False
        with translation.override(settings.LANGUAGE_CODE):
            message = _("Your request #%(id)s (%(service)s): %(note)s") % {
                "id": incident.pk,
                "service": incident.category.name,
                "note": public_status_notes(request, incident),
            }
        contact = Contact(
            email=request.email,
            phone=request.phone,
            name=" ".join(part for part in (request.first_name, request.last_name) if part),
        )
        # Sent inside the lock: a second worker for the same incident waits, then finds it told.
        for backend in backends():
            backend.send(contact=contact, message=message)
        request.notified_status = incident.status
        request.save(update_fields=["notified_status"])
    return True
