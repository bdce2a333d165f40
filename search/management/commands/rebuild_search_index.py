"""(Re)write the search documents of every incident, mediation case and safe cell, in batches,
then ANALYZE. Run after restoring a database without them, after a change of the segmentation,
or after renaming a category or a safe-cell type (the triggers follow the records, not names)."""

from django.core.management.base import BaseCommand

from search import services
from search.models import Kind


class Command(BaseCommand):
    help = "Rebuild the search index (incidents, mediation cases, safe cells) in batches."

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=[k.value for k in Kind], action="append", dest="kinds")
        parser.add_argument("--batch-size", type=int, default=services.BATCH)

    def handle(self, *args, **options):
        kinds = options["kinds"] or [k.value for k in Kind]
        written = services.rebuild(kinds=kinds, batch=max(1, options["batch_size"]))
        for kind, count in written.items():
            self.stdout.write(f"{kind}: {count} documents")
