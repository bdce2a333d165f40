"""Exports past the inline limit become jobs: started through a command, run for the requester
with their scope checked again, progress saved, one stored file however often the job is run,
downloaded by the requester alone; a killed worker's job is resumable and never "running" for
ever; and the same through a real Celery worker."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.roles import Role, SpecialProject
from anshun.commands import COMMANDS, NotPermitted
from anshun.export_jobs import (
    LOCK_SPACE,
    fail_stale_export_jobs,
    job_state,
    purge_expired_export_jobs,
    run_export_job,
)
from anshun.models import ExportJob
from grids.models import Region
from tests.factories import user_for_role
from tests.special_groups.helpers import enroll, person
from tests.test_exports_streaming import fill_incidents

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limit(settings):
    settings.EXPORT_INLINE_MAX_ROWS = 100
    settings.EXPORT_BATCH_SIZE = 50
    return settings


def _stored_files(job: ExportJob) -> list[Path]:
    return sorted((Path(django_settings.MEDIA_ROOT) / "exports").glob(f"{job.pk}-*"))


def _start(client, user, name="incidents:list", params=None, export_format="xlsx") -> ExportJob:
    client.force_login(user)
    response = client.get(reverse(name), {**(params or {}), "export": export_format})
    assert response.status_code == 302, response.status_code
    job = ExportJob.objects.get(requester=user)
    assert response["Location"] == reverse("exports:detail", args=[job.pk])
    return job


def test_past_the_limit_a_job_is_made_for_the_requester_and_downloaded_by_them_only(client, small_limit):
    fill_incidents(300)
    official = user_for_role(Role.COUNTY_OFFICIAL)
    job = _start(client, official, params={"status": "reported"})
    assert job.status == ExportJob.Status.QUEUED and job.scope == f"region:{official.region.path}"
    assert "status=reported" in job.query and job.capability == "incident.view"

    assert run_export_job(job_id=job.pk) == ExportJob.Status.DONE
    job.refresh_from_db()
    assert (job.rows_done, job.rows_total, job.attempts) == (300, 300, 1)
    assert job.expires_at > timezone.now() and len(_stored_files(job)) == 1

    status = client.get(reverse("exports:status", args=[job.pk])).json()
    assert status["state"] == "done" and status["percent"] == 100
    assert status["download_url"] == reverse("exports:download", args=[job.pk])
    page = client.get(reverse("exports:detail", args=[job.pk]))
    assert page.status_code == 200 and b"js/export_job.js" in page.content
    assert reverse("exports:download", args=[job.pk]).encode() in page.content
    listing = client.get(reverse("exports:list"))
    assert listing.status_code == 200 and b"incidents.xlsx" in listing.content

    response = client.get(reverse("exports:download", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert (
        response["X-Content-Type-Options"] == "nosniff" and "sandbox" in response["Content-Security-Policy"]
    )
    rows = list(
        load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True)
    )
    assert len(rows) == 301

    # Another county's official, an official of the same county, an administrator: the same 404
    # as a job that does not exist. Anonymous: to the sign-in page, nothing else.
    others = [
        user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code="520425")),
        user_for_role(Role.COUNTY_OFFICIAL),
        user_for_role(Role.ADMIN),
    ]
    for other in others:
        client.force_login(other)
        for name in ("exports:detail", "exports:status", "exports:download"):
            assert client.get(reverse(name, args=[job.pk])).status_code == 404, (other.role, name)
        assert b"incidents.xlsx" not in client.get(reverse("exports:list")).content
    client.logout()
    for name in ("exports:detail", "exports:status", "exports:download"):
        response = client.get(reverse(name, args=[job.pk]))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_retry_never_leaves_a_second_file(client, small_limit):
    fill_incidents(150)
    official = user_for_role(Role.COUNTY_OFFICIAL)
    job = _start(client, official, export_format="csv")
    run_export_job(job_id=job.pk)
    # The message delivered again after the run (a lost acknowledgement): nothing more happens.
    assert run_export_job(job_id=job.pk) == ExportJob.Status.DONE
    assert len(_stored_files(job)) == 1
    # A worker killed after storing the file but before marking the job done: the next run
    # replaces the file under the same name.
    ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.RUNNING)
    assert run_export_job(job_id=job.pk) == ExportJob.Status.DONE
    files = _stored_files(job)
    assert len(files) == 1 and files[0].read_bytes().decode("utf-8").count("\n") == 151


def test_a_killed_workers_job_shows_interrupted_then_resumes_or_fails(client, small_limit):
    fill_incidents(150)
    official = user_for_role(Role.COUNTY_OFFICIAL)
    job = _start(client, official)
    long_ago = timezone.now() - timedelta(hours=1)
    # What SIGKILL leaves: running, some progress, the heartbeat stopped.
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJob.Status.RUNNING, rows_done=50, attempts=1, started_at=long_ago, heartbeat_at=long_ago
    )
    job.refresh_from_db()
    assert job_state(job) == "interrupted"
    assert client.get(reverse("exports:status", args=[job.pk])).json()["state"] == "interrupted"
    # The redelivered task takes the free lock and makes the file from the start.
    assert run_export_job(job_id=job.pk) == ExportJob.Status.DONE
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.attempts) == ("done", 150, 2)

    # If no run comes, the sweep marks it failed; a run that comes later does nothing.
    second = _start_again(client, official)
    ExportJob.objects.filter(pk=second.pk).update(status=ExportJob.Status.RUNNING, heartbeat_at=long_ago)
    assert fail_stale_export_jobs() == 1
    assert run_export_job(job_id=second.pk) == ExportJob.Status.FAILED
    assert _stored_files(second) == []


def _start_again(client, user) -> ExportJob:
    response = client.get(reverse("incidents:list"), {"export": "xlsx"})
    assert response.status_code == 302
    return ExportJob.objects.filter(requester=user).latest("id")


def test_one_run_at_a_time(client, small_limit):
    fill_incidents(150)
    job = _start(client, user_for_role(Role.COUNTY_OFFICIAL))
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_SPACE, job.pk])
            cursor.execute("SELECT pg_backend_pid()")
            holder = cursor.fetchone()[0]
        assert run_export_job(job_id=job.pk) == "busy"
        job.refresh_from_db()
        assert job.status == ExportJob.Status.QUEUED and job.attempts == 0
    finally:
        other.close()  # a dead worker's connection: the server frees its lock
    # The server ends the closed connection's backend (and frees its lock) a moment after the
    # client hangs up; on a busy machine that moment can come after the next statement.
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [holder])
            if cursor.fetchone() is None:
                break
            time.sleep(0.05)
    assert run_export_job(job_id=job.pk) == ExportJob.Status.DONE


def test_the_requesters_scope_is_checked_again_when_the_job_runs(client, small_limit):
    fill_incidents(150)
    official = user_for_role(Role.COUNTY_OFFICIAL)
    moved = _start(client, official)
    official.region = Region.objects.get(code="520425")
    official.save()
    assert run_export_job(job_id=moved.pk) == ExportJob.Status.FAILED
    moved.refresh_from_db()
    assert "jurisdiction" in moved.error.lower() or "管辖" in moved.error
    assert _stored_files(moved) == [] and not moved.file

    official.region = Region.objects.get(code="520402")
    official.save()
    demoted = _start_again(client, official)
    official.role = Role.LAWYER  # no incident.view any more
    official.save()
    assert run_export_job(job_id=demoted.pk) == ExportJob.Status.FAILED
    assert _stored_files(demoted) == []

    official.role = Role.COUNTY_OFFICIAL
    official.save()
    deactivated = _start_again(client, official)
    official.is_active = False
    official.save()
    assert run_export_job(job_id=deactivated.pk) == ExportJob.Status.FAILED
    assert _stored_files(deactivated) == []


def test_the_job_holds_only_what_the_page_shows_the_requester_when_it_runs(client, small_limit):
    fill_incidents(120, county="520402")
    fill_incidents(80, county="520425")
    official = user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code="520425"))
    small_limit.EXPORT_INLINE_MAX_ROWS = 50
    job = _start(client, official, export_format="csv")
    run_export_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.rows_total == 80
    text = _stored_files(job)[0].read_text(encoding="utf-8-sig")
    assert text.count("\n") == 81


def test_the_command_refuses_roles_without_the_pages_capability():
    command = COMMANDS["anshun.export_incident_view"]
    with pytest.raises(NotPermitted):
        command(
            actor=user_for_role(Role.LAWYER),
            path="/incidents/",
            query="",
            export_format="xlsx",
            filename="incidents",
            language="zh-hans",
            capability="incident.view",
        )
    assert not ExportJob.objects.exists()


def test_a_caseload_job_is_masked_and_logged_when_it_runs(client, small_limit):
    from special_groups.models import AccessRecord

    small_limit.EXPORT_INLINE_MAX_ROWS = 5
    officer = user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING)
    for n in range(12):
        enroll(SpecialProject.ANNING, who=person(name=f"赵大{n:02d}"), risk_grade=1)
    job = _start(client, officer, name="special_groups:caseload")
    logged = AccessRecord.objects.filter(actor=officer, action=AccessRecord.Action.EXPORT)
    assert not logged.exists()  # nothing read yet
    run_export_job(job_id=job.pk)
    assert list(logged.values_list("row_count", flat=True)) == [12]
    response = client.get(reverse("exports:download", args=[job.pk]))
    rows = list(
        load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True)
    )
    assert len(rows) == 13 and all("大" not in row[1] for row in rows[1:])


def test_expired_files_are_gone(client, small_limit):
    fill_incidents(150)
    official = user_for_role(Role.COUNTY_OFFICIAL)
    job = _start(client, official)
    run_export_job(job_id=job.pk)
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get(reverse("exports:download", args=[job.pk])).status_code == 410
    assert purge_expired_export_jobs() == 1
    assert _stored_files(job) == []
    assert client.get(reverse("exports:status", args=[job.pk])).json()["download_url"] is None


def test_a_nul_byte_never_reaches_a_job(client, small_limit):
    fill_incidents(150)
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    response = client.get(reverse("incidents:list"), {"export": "xlsx", "grid": "1\x00"})
    assert response.status_code == 400
    assert not ExportJob.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_makes_the_file(client, celery_worker_process, settings):
    """Through Redis and a `celery worker` process on the test database: the page's redirect,
    the queued job, the worker's run, progress polled until ready, the download."""
    settings.EXPORT_INLINE_MAX_ROWS = 100
    fill_incidents(400)
    official = user_for_role(Role.COUNTY_OFFICIAL)
    job = _start(client, official, export_format="csv")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        state = client.get(reverse("exports:status", args=[job.pk])).json()
        if state["state"] in ("done", "failed"):
            break
        time.sleep(0.5)
    assert state["state"] == "done", state
    assert state["rows_done"] == state["rows_total"] == 400
    response = client.get(state["download_url"])
    body = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    assert body.count("\n") == 401
    connection.close()


def test_beat_tidies_export_jobs_on_its_schedule(client, small_limit):
    """The sweep and the purge are on the beat schedule, and the task runs both."""
    from django.conf import settings

    from anshun.tasks import tidy_export_jobs

    entry = settings.CELERY_BEAT_SCHEDULE["tidy-export-jobs"]
    assert entry["task"] == tidy_export_jobs.name and entry["schedule"] <= 600
    fill_incidents(150)
    job = _start(client, user_for_role(Role.COUNTY_OFFICIAL))
    long_ago = timezone.now() - timedelta(hours=1)
    ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.RUNNING, heartbeat_at=long_ago)
    assert tidy_export_jobs() == {"failed": 1, "purged": 0}
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED
