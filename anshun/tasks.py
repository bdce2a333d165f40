"""Celery tasks of the platform itself."""

from celery import shared_task

from anshun.background import flush_task_outbox, purge_sent_outbox


@shared_task(name="anshun.tasks.send_kept_tasks", outbox=False)
def send_kept_tasks() -> int:
    """Beat, every minute: send the tasks kept while the broker was away (not kept itself:
    the next tick does the same work)."""
    sent = flush_task_outbox()
    purge_sent_outbox()
    return sent


@shared_task(name="anshun.tasks.run_export_job", acks_late=True)
def run_export_job_task(job_id: int) -> str:
    """Make an export job's file. Safe to deliver twice or again after a killed worker: one run
    at a time (advisory lock), and every run writes the same stored name (anshun.export_jobs)."""
    from anshun.export_jobs import run_export_job

    return run_export_job(job_id=job_id)


@shared_task(name="anshun.tasks.tidy_export_jobs")
def tidy_export_jobs() -> dict:
    """Beat, every five minutes: a job whose worker died and that no redelivery picked up is
    marked failed (its page says so instead of "running" for ever), and expired files go."""
    from anshun.export_jobs import fail_stale_export_jobs, purge_expired_export_jobs

    return {"failed": fail_stale_export_jobs(), "purged": purge_expired_export_jobs()}
