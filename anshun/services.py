"""The platform's own write services: export jobs (``anshun.export_jobs``).

Imported by ``anshun.commands.load_all_commands`` with every app's services, so that the export
commands are in ``COMMANDS`` for the access matrix."""

from anshun.export_jobs import (  # noqa: F401
    REQUEST_EXPORT,
    fail_stale_export_jobs,
    purge_expired_export_jobs,
    run_export_job,
)
