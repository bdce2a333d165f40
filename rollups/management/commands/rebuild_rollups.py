"""``manage.py rebuild_rollups``: recount every dashboard tally from the raw records.

Run after imports and bulk loads (the demo loader does it by itself); ``--incremental`` folds
only what is queued, as the beat job does every minute.
"""

from django.core.management.base import BaseCommand

from rollups.services import fold


class Command(BaseCommand):
    help = "Recount the dashboard rollups from the raw records (or fold only the queued changes)."

    def add_arguments(self, parser):
        parser.add_argument("--incremental", action="store_true", help="fold only the queued changes")

    def handle(self, *args, incremental: bool = False, **options):
        result = fold(full=not incremental)
        self.stdout.write(f"{result.records} records, {result.rows} tally rows")
