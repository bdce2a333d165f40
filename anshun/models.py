"""Tables of the platform itself (not of a feature app)."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anshun.scoping import ScopedQuerySet, ScopeRule


def _token() -> str:
    return secrets.token_hex(16)


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


class ExportJobQuerySet(ScopedQuerySet):
    def visible_to(self, actor) -> ExportJobQuerySet:
        """An export job is its requester's alone: nobody else sees it, administrators included
        (the file holds the requester's view of the data, and the data is served by its pages)."""
        if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
            scoped = self.none()
        else:
            scoped = self.filter(requester_id=actor.pk)
        scoped._scoped_for = getattr(actor, "pk", None) or 0
        return scoped


class ExportJob(models.Model):
    """An export too large to stream while the official waits (``anshun.export_jobs``).

    The page and filters (``path``, ``query``) are replayed by the worker for the requester, so
    the file holds exactly what that page would show the requester when it runs; the jurisdiction
    at the time of the request is kept and checked again then. The file is stored privately and
    leaves only through the job's download view, to its requester."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="export_jobs",
        verbose_name=_("requester"),
    )
    capability = models.CharField(_("capability"), max_length=64)
    path = models.CharField(_("page"), max_length=300)
    query = models.TextField(_("filters"), blank=True, default="")
    # The requester's jurisdiction when asked ("all", "region:<path>", "office:<id>").
    scope = models.CharField(_("scope"), max_length=300)
    export_format = models.CharField(_("format"), max_length=8)
    filename = models.CharField(_("file name"), max_length=200)
    language = models.CharField(_("language"), max_length=16, default="zh-hans")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    rows_total = models.PositiveIntegerField(_("rows in all"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    file = models.FileField(_("file"), blank=True, default="", max_length=300)
    token = models.CharField(max_length=32, default=_token, editable=False)
    error = models.CharField(_("error"), max_length=500, blank=True, default="")
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last progress at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    # Not used for reads (visible_to above is the requester's own jobs); present so that the
    # command boundary accepts the model as a target.
    scope_rule = ScopeRule(
        region_path="requester__region__path", also_require=lambda actor: Q(requester=actor)
    )
    objects = ExportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("export job")
        verbose_name_plural = _("export jobs")
        indexes = [models.Index(fields=["requester", "-created_at"], name="export_job_requester")]

    def __str__(self) -> str:
        return f"{self.filename}.{self.export_format} ({self.get_status_display()})"


class DemoDataset(models.Model):
    """That an app's demo loader (``load_anshun --demo``) has written synthetic records here.

    Holds no figure: it only lets the pages say which figures are computed from demo records
    (``anshun.provenance``), so a demo figure is never read as Anshun's own."""

    app_label = models.CharField(_("app"), max_length=40, unique=True)
    loaded_at = models.DateTimeField(_("loaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("demo data set")
        verbose_name_plural = _("demo data sets")

    def __str__(self) -> str:
        return self.app_label
