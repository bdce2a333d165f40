"""Tables of the platform itself (not of a feature app)."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TaskOutbox(models.Model):
    """A Celery task that could not be handed to the broker (Redis away) and waits to be sent.

    Written only when sending fails (anshun.background); the row's id is the task's id, so a
    message sent twice (the send succeeded but marking the row failed) is run once: the worker
    skips a task id whose result is already a success.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    options = models.JSONField(_("options"), default=dict, blank=True)
    # Periodic sends carry "periodic:<schedule name>": one kept send per schedule is enough, so
    # a long outage is caught up once, not once per missed tick.
    dedup_key = models.CharField(_("deduplication key"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("kept at"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True, default="")
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("kept task")
        verbose_name_plural = _("kept tasks")
        constraints = [
            models.UniqueConstraint(
                fields=["dedup_key"],
                condition=Q(sent_at__isnull=True) & ~Q(dedup_key=""),
                name="one_pending_send_per_dedup_key",
            )
        ]
        indexes = [
            models.Index(fields=["created_at"], condition=Q(sent_at__isnull=True), name="outbox_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.task} ({self.id})"
