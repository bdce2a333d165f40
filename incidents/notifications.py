"""Notifications: stored as events, rendered in the reader's language, delivered by backends.

**Stored as events.** A ``Notification`` row holds a ``kind`` and its ``params`` (incident id,
category code, the unit's and actor's names, the note, a level or a due time), never text.
``render`` writes the sentence when it is read, in the active language: a page renders it in
the reader's, a delivery task under the recipient's language (``user.language`` when the user
model has one, else the site's default). Rows from before keep their frozen text
(``legacy_message``, kind ``legacy``) and show it as it is.

**One hook.** ``on_event`` is called by ``incidents.services.workflow._apply`` for the timeline
entry of every transition (and by the callback service for a reopening), and decides who is told:
the units a case is dispatched or referred to (主办 and 协办 staff), the dispatcher a unit
returned it to, the unit a failed verification or a dissatisfied callback sends it back to, the
grid office's heads when it awaits verification, the dispatcher when it is verified, the
reporter when it is declined or voided. The actor is never told of their own step. Overdue
comes from the escalation job, due soon from ``announce_due_soon`` (a beat job).

**Delivery.** In-app is the row itself, always. ``settings.INCIDENT_NOTIFICATION_BACKENDS``
lists further backends (classes with ``name`` and ``send(*, notification, text)``):
``EmailBackend`` and ``SmsBackend``, which hands the text to the gateway class named by
``settings.NOTIFICATION_SMS_GATEWAY`` (``SmsGateway``'s interface) or, with none configured,
to ``LoggingSmsGateway``, which logs (number masked) instead of sending. Delivery runs in a
Celery task after the transaction commits; each (notification, backend) is claimed in
``NotificationDelivery`` under a row lock and marked sent in the same transaction, so a retried
or redelivered task never sends a notification twice through one backend.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import Role
from anshun.background import enqueue_on_commit
from anshun.commands import system_command
from incidents.categories import SEEDED_NAMES, category_label
from incidents.models import (
    DueSoonNotice,
    DueSoonRun,
    Incident,
    IncidentAssignment,
    IncidentEvent,
    Notification,
    NotificationDelivery,
)

logger = logging.getLogger("incidents.notifications")

K = Notification.Kind
S = Incident.Status
NOTE_LENGTH = 300
UNIT_ROLES = (Role.GRID_WORKER, Role.GRID_OFFICE_HEAD, Role.DEPARTMENT_OFFICER)


# --- rendering ------------------------------------------------------------------------------


def _category(params: dict) -> str:
    code = params.get("category", "")
    return category_label(code, params.get("category_name") or SEEDED_NAMES.get(code, code))


def _due(params: dict) -> str:
    due = parse_datetime(params.get("due", "") or "")
    return f"{timezone.localtime(due):%Y-%m-%d %H:%M}" if due else ""


def _level(params: dict) -> str:
    try:
        return str(Incident.EscalationLevel(int(params.get("level", 0))).label)
    except ValueError:
        return str(params.get("level", ""))


def _part(params: dict) -> str:
    return str(dict(IncidentAssignment.Part.choices).get(params.get("part", ""), ""))


def _text(kind: str, p: dict) -> str:
    values = {
        "id": p.get("id", ""),
        "category": _category(p),
        "unit": p.get("unit", ""),
        "actor": p.get("actor", ""),
        "note": p.get("note", ""),
        "part": _part(p),
        "due": _due(p),
        "level": _level(p),
        "into": p.get("into", ""),
    }
    if kind == K.DISPATCHED:
        text = _("Incident #%(id)s (%(category)s) was dispatched to %(unit)s: %(part)s.")
    elif kind == K.REFERRED:
        text = _("Incident #%(id)s (%(category)s) was referred to %(unit)s: %(part)s.")
    elif kind == K.RETURNED:
        text = _("Incident #%(id)s (%(category)s) was returned by %(unit)s: %(note)s")
    elif kind == K.SENT_BACK:
        text = _("Incident #%(id)s (%(category)s) failed verification and is back with your unit: %(note)s")
    elif kind == K.CALLBACK_REOPENED:
        text = _("Incident #%(id)s (%(category)s) was reopened after a dissatisfied callback: %(note)s")
    elif kind == K.AWAITING_VERIFICATION:
        text = _(
            "Incident #%(id)s (%(category)s) was reported handled by %(unit)s and awaits your verification."
        )
    elif kind == K.VERIFIED:
        text = _("Incident #%(id)s (%(category)s) was verified and can be closed.")
    elif kind == K.REJECTED:
        text = _("Incident #%(id)s was not registered: %(note)s")
    elif kind == K.VOIDED:
        text = _("Incident #%(id)s was voided: %(note)s")
    elif kind == K.DUE_SOON:
        text = _("Incident #%(id)s (%(category)s) is due at %(due)s.")
    elif kind == K.OVERDUE:
        text = _("Incident #%(id)s (%(category)s) is overdue and now with %(level)s.")
    elif kind == K.NOT_REGISTERED:
        text = _("Incident #%(id)s (%(category)s) was not registered in time.")
    elif kind == K.NOT_DISPATCHED:
        text = _("Incident #%(id)s (%(category)s) was not dispatched in time.")
    elif kind == K.NOT_TAKEN:
        text = _("Incident #%(id)s (%(category)s) was not taken by %(unit)s in time.")
    elif kind == K.EXTENSION_REQUESTED:
        text = _("Incident #%(id)s (%(category)s): the handling unit asks for an extension to %(due)s.")
    elif kind == K.EXTENSION_APPROVED:
        text = _("Incident #%(id)s (%(category)s): your extension was approved, now due %(due)s.")
    elif kind == K.EXTENSION_REFUSED:
        text = _("Incident #%(id)s (%(category)s): your extension was refused: %(note)s")
    elif kind == K.MERGED:
        text = _("Your report #%(id)s (%(category)s) was merged into case #%(into)s.")
    elif kind == K.BACKLOG_REVIEW:
        text = _("Incident #%(id)s (%(category)s): its backlog review is due.")
    else:
        return ""
    return (text % values).rstrip(": ")


def render(notification: Notification, *, language: str | None = None) -> str:
    """The notification's sentence in ``language`` (default: the active one)."""
    if notification.kind == K.LEGACY:
        return notification.legacy_message
    if language:
        with translation.override(language):
            return _text(notification.kind, notification.params or {})
    return _text(notification.kind, notification.params or {})


def reader_language(user) -> str:
    """The language a notification is written in when no page is being rendered."""
    return getattr(user, "language", "") or settings.LANGUAGE_CODE


# --- who is told ----------------------------------------------------------------------------


def _name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def incident_params(incident: Incident, *, actor=None, note: str = "") -> dict:
    params = {"id": incident.pk, "category": incident.category.code}
    if not SEEDED_NAMES.get(incident.category.code):
        params["category_name"] = incident.category.name
    if actor is not None:
        params["actor"] = _name(actor)
    if note:
        params["note"] = note[:NOTE_LENGTH]
    return params


def unit_staff(*, offices: Iterable[int] = (), departments: Iterable[int] = ()):
    """Active staff of the given grid offices and departments."""
    offices, departments = list(offices), list(departments)
    if not offices and not departments:
        return User.objects.none()
    return User.objects.filter(
        Q(grid_office_id__in=offices) | Q(department_id__in=departments), is_active=True, role__in=UNIT_ROLES
    ).order_by("pk")


def lead_staff(incident: Incident):
    """Active staff of the case's 主办 unit."""
    return unit_staff(
        offices=[incident.handling_office_id] if incident.handling_office_id else [],
        departments=[incident.handling_department_id] if incident.handling_department_id else [],
    )


def _dispatcher(incident: Incident):
    """Who sent the case out last (the dispatcher a unit answers to)."""
    event = (
        IncidentEvent.objects.filter(incident=incident, to_status=S.DISPATCHED, actor__isnull=False)
        .select_related("actor")
        .order_by("-at", "-id")
        .first()
    )
    return [event.actor] if event is not None and event.actor.is_active else []


def _handover(event: IncidentEvent, incident: Incident) -> list[tuple]:
    """(recipient, kind, params) for one timeline entry."""
    actor, note = event.actor, event.note
    base = incident_params(incident, actor=actor, note=note)
    unit = str(incident.handling_unit) if incident.handling_unit is not None else ""
    to, came_from = event.to_status, event.from_status
    if to == S.DISPATCHED:
        kind = K.REFERRED if came_from == S.RETURNED else K.DISPATCHED
        rows = []
        shares = IncidentAssignment.objects.filter(
            incident=incident, state=IncidentAssignment.State.OPEN
        ).select_related("office", "department")
        for share in shares:
            staff = unit_staff(
                offices=[share.office_id] if share.office_id else [],
                departments=[share.department_id] if share.department_id else [],
            )
            params = {**base, "unit": str(share.unit), "part": share.part}
            rows += [(user, kind, params) for user in staff]
        return rows
    if to == S.RETURNED:
        params = {**base, "unit": _returning_unit(event)}
        return [(user, K.RETURNED, params) for user in _dispatcher(incident)]
    if to == S.HANDLING and came_from in (S.HANDLED, S.CLOSED):
        kind = K.CALLBACK_REOPENED if came_from == S.CLOSED else K.SENT_BACK
        users = list(lead_staff(incident))
        if incident.handler is not None and incident.handler not in users and incident.handler.is_active:
            users.append(incident.handler)
        return [(user, kind, {**base, "unit": unit}) for user in users]
    if to == S.HANDLED:
        heads = User.objects.filter(
            is_active=True, role=Role.GRID_OFFICE_HEAD, grid_office_id=incident.grid.office_id
        ).order_by("pk")
        return [(user, K.AWAITING_VERIFICATION, {**base, "unit": unit}) for user in heads]
    if to == S.VERIFIED:
        return [(user, K.VERIFIED, base) for user in _dispatcher(incident)]
    if to in (S.REJECTED, S.VOIDED) and incident.reporter is not None:
        kind = K.REJECTED if to == S.REJECTED else K.VOIDED
        return [(incident.reporter, kind, base)] if incident.reporter.is_active else []
    return []


def _returning_unit(event: IncidentEvent) -> str:
    actor = event.actor
    if actor is None:
        return ""
    unit = getattr(actor, "department", None) or getattr(actor, "grid_office", None)
    return str(unit) if unit is not None else _name(actor)


def on_event(*, event: IncidentEvent, incident: Incident) -> list[Notification]:
    """The notifications one timeline entry gives rise to (the workflow's single hook)."""
    rows, seen = [], set()
    for user, kind, params in _handover(event, incident):
        if event.actor_id is not None and user.pk == event.actor_id:
            continue  # nobody is told of their own step
        if (user.pk, kind) in seen:
            continue  # one person in two units: told once
        seen.add((user.pk, kind))
        rows.append(Notification(recipient=user, incident=incident, kind=kind, params=params))
    return store(rows)


def notify(*, recipients: Iterable, incident: Incident | None, kind: str, params: dict) -> list[Notification]:
    """The same notification (kind and parameters) to each recipient."""
    return store(
        [Notification(recipient=user, incident=incident, kind=kind, params=params) for user in recipients]
    )


def store(rows: list[Notification]) -> list[Notification]:
    """Write the in-app rows; other backends deliver them after the commit."""
    notifications = Notification.objects.bulk_create(rows)
    if notifications and settings.INCIDENT_NOTIFICATION_BACKENDS:
        from incidents.tasks import deliver_notifications

        enqueue_on_commit(deliver_notifications, [n.pk for n in notifications])
    return notifications


# --- due soon -------------------------------------------------------------------------------

CLOCKED = (S.DISPATCHED, S.HANDLING)


@system_command("The beat job (incidents.tasks.announce_due_soon) tells units of deadlines ahead.")
@transaction.atomic
def announce_due_soon(*, now: datetime.datetime | None = None) -> int:
    """Tell the handling unit (its handler, else its staff) of each incident whose deadline falls
    within ``settings.NOTIFICATION_DUE_SOON_HOURS``.

    A run reads only what fell into the window since the last run: due times between the
    window's previous end and its new end (``incidents_incident(status, due_at)`` index), plus
    incidents changed since the last run (a new dispatch with a short limit) whose due time is
    already inside it (``updated_at`` index). Each (incident, due time) is announced once
    (``DueSoonNotice``'s unique key), so overlapping or repeated runs tell nobody twice. The
    state row is locked for the run: two runs queue, the second finds the window covered."""
    now = now or timezone.now()
    end = now + datetime.timedelta(hours=settings.NOTIFICATION_DUE_SOON_HOURS)
    state, _created = DueSoonRun.objects.select_for_update().get_or_create(pk=1)
    since = state.covered_until or now
    ran_at = state.ran_at or now
    window = Q(due_at__gt=now, due_at__lte=end, status__in=CLOCKED, deleted_at__isnull=True)
    fresh = Q(due_at__gt=max(since, now)) | Q(updated_at__gte=ran_at)
    incidents = list(
        Incident.objects.filter(window & fresh)
        .select_related("category", "handler", "handling_office", "handling_department")
        .order_by("due_at", "pk")
    )
    told = 0
    for incident in incidents:
        try:
            with transaction.atomic():
                DueSoonNotice.objects.create(incident=incident, due_at=incident.due_at)
        except IntegrityError:
            continue  # this due time was announced already
        if incident.handler is not None and incident.handler.is_active:
            users = [incident.handler]
        else:
            users = list(lead_staff(incident))
        params = {**incident_params(incident), "due": incident.due_at.isoformat()}
        notify(recipients=users, incident=incident, kind=K.DUE_SOON, params=params)
        told += 1
    state.covered_until = max(end, state.covered_until or end)
    state.ran_at = now
    state.save()
    return told


# --- delivery -------------------------------------------------------------------------------


class SmsGateway(Protocol):
    """What a real SMS gateway class implements (named by ``settings.NOTIFICATION_SMS_GATEWAY``,
    constructed without arguments): send ``text`` to ``phone`` or raise, so the task retries."""

    def send_sms(self, *, phone: str, text: str) -> None: ...


def _mask(value: str) -> str:
    return value[:3] + "*" * max(len(value) - 5, 1) + value[-2:] if len(value) > 5 else "*" * len(value)


class LoggingSmsGateway:
    """No gateway configured: log that a text was due (the number masked) instead of sending."""

    def send_sms(self, *, phone: str, text: str) -> None:
        logger.info("sms not sent (no gateway configured) to %s: %s", _mask(phone), text)


class EmailBackend:
    """Sends each notification to the recipient's e-mail address, when they have one."""

    name = "email"

    def send(self, *, notification: Notification, text: str) -> None:
        if notification.recipient.email:
            address = notification.recipient.email
            send_mail(subject=text[:60], message=text, from_email=None, recipient_list=[address])


class SmsBackend:
    """Texts the recipient's phone through the configured gateway (or the logging one)."""

    name = "sms"

    def __init__(self):
        path = settings.NOTIFICATION_SMS_GATEWAY
        self.gateway: SmsGateway = import_string(path)() if path else LoggingSmsGateway()

    def send(self, *, notification: Notification, text: str) -> None:
        if notification.recipient.phone:
            self.gateway.send_sms(phone=notification.recipient.phone, text=text)


def backends() -> list:
    return [import_string(path)() for path in settings.INCIDENT_NOTIFICATION_BACKENDS]


@system_command("Run by a Celery task after the notifications' transaction commits.")
def deliver(*, notification_ids: list[int]) -> int:
    """Send each notification through each backend at most once; returns how many were sent.

    Each (notification, backend) is claimed by a ``NotificationDelivery`` row locked for the
    send and marked sent in the same transaction: a concurrent worker waits on the lock and then
    finds it sent; a retry after a failure (the send raised, nothing committed) sends it again."""
    sent = 0
    existing = set(Notification.objects.filter(pk__in=notification_ids).values_list("pk", flat=True))
    for backend in backends():
        for pk in sorted(existing):
            with transaction.atomic():
                NotificationDelivery.objects.get_or_create(notification_id=pk, backend=backend.name)
                claim = (
                    NotificationDelivery.objects.select_for_update()
                    .select_related("notification__recipient")
                    .filter(notification_id=pk, backend=backend.name)
                    .first()
                )
                if claim is None or claim.sent_at is not None:
                    continue
                notification = claim.notification
                text = render(notification, language=reader_language(notification.recipient))
                backend.send(notification=notification, text=text)
                claim.sent_at = timezone.now()
                claim.save(update_fields=["sent_at"])
                sent += 1
    return sent
