"""Export jobs: an export too large to stream while the official waits, made by a Celery worker.

A page's export door (``anshun.exports.export_response``) starts a job when the rows pass
``EXPORT_INLINE_MAX_ROWS``, through the command ``anshun.export_<capability>`` (the capability
the page reads with). The job records the page and its filters, the requester and their
jurisdiction at the time, and the format.

When the worker runs it (``run_export_job``):

- the requester is authorised again by the same rule (still active, still holding the
  capability) and their jurisdiction must be the one recorded; otherwise the job fails, saying so;
- the page is replayed for the requester (its own selectors, ``visible_to``, its own checks and,
  for the special-population exports, its own access record), so the file holds exactly what the
  page would give them now;
- rows are written batch by batch to a local temporary file, progress (rows done / in all) saved
  after every batch; the file is then stored under a name fixed by the job (id and a random
  token), replacing any earlier attempt's, so a retry never leaves a second file;
- one run at a time: a PostgreSQL advisory lock on the job, held by the worker's connection,
  which the server releases if the worker dies. A killed worker leaves the job "running" with an
  old heartbeat: Celery delivers the task again (late acknowledgement) and the next run takes the
  lock and starts the file again; until then, and if no run comes, the progress page shows the
  job as interrupted (``ExportJob.state``), and ``fail_stale_export_jobs`` marks it failed.

The file is kept ``EXPORT_JOB_KEEP_HOURS`` and leaves only through the job's download view, to
its requester (``anshun.export_views``).
"""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponseRedirect, QueryDict
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from anshun.background import enqueue_on_commit
from anshun.commands import CommandRefused, Invalid, system_command
from anshun.exports import FORMATS, PreparedExport, chunks, has_nul
from anshun.models import ExportJob
from anshun.policy import EXPORT_CAPABILITIES, POLICY, authorize_export, export_rule_name
from anshun.scoping import Jurisdiction

logger = logging.getLogger(__name__)
LOCK_SPACE = 0x45585054  # "EXPT": the advisory-lock key space of export jobs
MAX_ATTEMPTS = 3


def keep_hours() -> int:
    return getattr(settings, "EXPORT_JOB_KEEP_HOURS", 24)


def stale_seconds() -> int:
    return getattr(settings, "EXPORT_JOB_STALE_SECONDS", 300)


def scope_of(actor) -> str:
    """The actor's jurisdiction as a short text, compared when the job runs."""
    jurisdiction = Jurisdiction.of(actor)
    if jurisdiction.unrestricted:
        return "all"
    if jurisdiction.grid_office_id is not None:
        return f"office:{jurisdiction.grid_office_id}"
    if jurisdiction.region_path is not None:
        return f"region:{jurisdiction.region_path}"
    return "none"


# ---- reads ------------------------------------------------------------------------------------


def export_jobs_visible_to(*, actor):
    """The actor's own export jobs, newest first."""
    return ExportJob.objects.visible_to(actor).order_by("-created_at", "-id")


def job_state(job: ExportJob, *, now=None) -> str:
    """The status shown: a job left "running" by a worker that stopped giving progress is
    "interrupted", and a ready file past its expiry "expired"."""
    now = now or timezone.now()
    if job.status == ExportJob.Status.RUNNING:
        beat = job.heartbeat_at or job.started_at or job.created_at
        if now - beat > timedelta(seconds=stale_seconds()):
            return "interrupted"
    if job.status == ExportJob.Status.DONE and job.expires_at and job.expires_at <= now:
        return ExportJob.Status.EXPIRED
    return job.status


# ---- starting a job ---------------------------------------------------------------------------


def _request_export(
    *, actor, path: str, query: str, export_format: str, filename: str, language: str, capability: str
) -> ExportJob:
    """Record the export and queue it once the row is committed (the worker reads it)."""
    from anshun.tasks import run_export_job_task

    if export_format not in FORMATS or has_nul(QueryDict(query)) or "\x00" in path:
        raise Invalid({"export": _("This export cannot be made.")})
    job = ExportJob.objects.create(
        requester=actor,
        capability=capability,
        path=path[:300],
        query=query,
        scope=scope_of(actor),
        export_format=export_format,
        filename=filename[:200],
        language=language[:16],
    )
    enqueue_on_commit(run_export_job_task, job.pk)
    return job


# One command per capability with an export door; each wraps the same service.
REQUEST_EXPORT = {
    capability: POLICY.command(export_rule_name(capability))(_request_export)
    for capability in EXPORT_CAPABILITIES
}


def start_export(*, request, prepared: PreparedExport):
    """The page's answer when its rows pass the inline limit: a job, and its progress page."""
    command = REQUEST_EXPORT.get(prepared.capability)
    if command is None:
        raise PermissionDenied
    query = request.GET.copy()
    job = command(
        actor=request.user,
        path=request.path,
        query=query.urlencode(),
        export_format=prepared.export_format,
        filename=prepared.filename,
        language=translation.get_language() or settings.LANGUAGE_CODE,
        capability=prepared.capability,
    )
    return HttpResponseRedirect(reverse("exports:detail", args=[job.pk]))


# ---- running a job ----------------------------------------------------------------------------


class _Refused(Exception):
    """The job cannot be made for its requester any more (said to them on the progress page)."""


def _replay(job: ExportJob) -> PreparedExport:
    """The page, as its requester would get it now, handing over its prepared export."""
    requester = job.requester
    try:
        authorize_export(actor=requester, capability=job.capability)
    except CommandRefused as refused:
        raise _Refused(_("You may no longer export this.")) from refused
    if scope_of(requester) != job.scope:
        raise _Refused(_("Your jurisdiction changed after the export was requested; request it again."))
    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = job.path
    request.GET = QueryDict(job.query)
    request.META = {
        "REQUEST_METHOD": "GET",
        "QUERY_STRING": job.query,
        "SERVER_NAME": "export-job",
        "SERVER_PORT": "443",
    }
    request.user = requester
    request.export_job = job
    try:
        match = resolve(job.path)
    except Resolver404 as missing:
        raise _Refused(_("This page no longer exists.")) from missing
    request.resolver_match = match
    try:
        answer = match.func(request, *match.args, **match.kwargs)
    except (PermissionDenied, Http404, CommandRefused) as refused:
        raise _Refused(_("You may no longer export this.")) from refused
    if not isinstance(answer, PreparedExport):
        raise _Refused(_("You may no longer export this."))
    return answer


def _try_lock(job_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_SPACE, job_id])
        return cursor.fetchone()[0]


def _unlock(job_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_SPACE, job_id])


def _save(job_id: int, **fields) -> None:
    ExportJob.objects.filter(pk=job_id).update(**fields)


@system_command("the Celery worker (anshun.tasks.run_export_job_task) runs a job its requester started")
def run_export_job(*, job_id: int) -> str:
    """Make the job's file; returns the job's status afterwards ("busy" if another run holds it).

    Safe to run twice, at once or after a crash: one run at a time, and each run writes the same
    stored name. The requester is authorised and their jurisdiction checked again here."""
    if not _try_lock(job_id):
        return "busy"
    try:
        job = ExportJob.objects.select_related("requester").filter(pk=job_id).first()
        if job is None or job.status in (
            ExportJob.Status.DONE,
            ExportJob.Status.FAILED,
            ExportJob.Status.EXPIRED,
        ):
            return job.status if job else "missing"
        if job.attempts >= MAX_ATTEMPTS:
            _save(job_id, status=ExportJob.Status.FAILED, error=_("The export stopped too often."),
                  finished_at=timezone.now())  # fmt: skip
            return ExportJob.Status.FAILED
        now = timezone.now()
        job.attempts += 1
        _save(job_id, status=ExportJob.Status.RUNNING, attempts=job.attempts, started_at=now,
              heartbeat_at=now, rows_done=0, error="")  # fmt: skip
        with translation.override(job.language):
            try:
                prepared = _replay(job)
                _write(job, prepared)
            except _Refused as refused:
                _save(
                    job_id,
                    status=ExportJob.Status.FAILED,
                    error=str(refused)[:500],
                    finished_at=timezone.now(),
                )
                return ExportJob.Status.FAILED
            except Exception:
                logger.exception("export job %s failed", job_id)
                _save(job_id, status=ExportJob.Status.FAILED, error=_("The export failed; request it again."),
                      finished_at=timezone.now())  # fmt: skip
                return ExportJob.Status.FAILED
        return ExportJob.Status.DONE
    finally:
        _unlock(job_id)


def _write(job: ExportJob, prepared: PreparedExport) -> None:
    total = prepared.source.count()
    _save(job.pk, rows_total=total)
    if prepared.before_send is not None:
        prepared.before_send(total)

    def progress(done: int) -> None:
        _save(job.pk, rows_done=done, heartbeat_at=timezone.now())

    name = f"exports/{job.pk}-{job.token}.{job.export_format}"
    handle, temporary = tempfile.mkstemp(prefix="anshun-export-", suffix=f".{job.export_format}")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks(
                prepared.export_format, headers=prepared.headers, source=prepared.source, progress=progress
            ):
                out.write(chunk)
        if default_storage.exists(name):
            default_storage.delete(name)  # an earlier attempt's file: replaced, never doubled
        with open(temporary, "rb") as done_file:
            stored = default_storage.save(name, File(done_file))
    finally:
        os.unlink(temporary)
    finished = timezone.now()
    _save(job.pk, status=ExportJob.Status.DONE, file=stored, rows_done=total, heartbeat_at=finished,
          finished_at=finished, expires_at=finished + timedelta(hours=keep_hours()))  # fmt: skip


@system_command("beat or an operator: jobs whose worker stopped and that no run picked up again")
def fail_stale_export_jobs() -> int:
    """Mark failed the jobs left running with no progress for ``EXPORT_JOB_STALE_SECONDS``
    (a run that comes later still finds the lock free and the job failed, and stops)."""
    cutoff = timezone.now() - timedelta(seconds=stale_seconds())
    return ExportJob.objects.filter(status=ExportJob.Status.RUNNING, heartbeat_at__lt=cutoff).update(
        status=ExportJob.Status.FAILED, error=_("The export was interrupted; request it again."),
        finished_at=timezone.now(),
    )  # fmt: skip


@system_command("beat or an operator: files of jobs past their expiry are deleted")
def purge_expired_export_jobs() -> int:
    """Delete the files of expired jobs and mark them expired."""
    expired = ExportJob.objects.filter(status=ExportJob.Status.DONE, expires_at__lte=timezone.now())
    count = 0
    for job in expired.iterator():
        if job.file:
            default_storage.delete(job.file.name)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.EXPIRED, file="")
        count += 1
    return count
