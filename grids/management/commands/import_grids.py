"""Import real grid boundaries from a GeoJSON FeatureCollection, all or nothing.

Each feature needs ``properties.code`` (15 digits: village code + sequence) and
optionally ``name`` and ``office`` (a grid office code). Every bad feature is
reported with its reason; nothing is imported unless every feature is valid.
"""

from pathlib import Path

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from grids.services.grid_import import GridImportRejected, import_grids


class Command(BaseCommand):
    help = "Import grid polygons from a GeoJSON file (all features valid, or nothing is written)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            result = import_grids(raw=path.read_bytes())
        except GridImportRejected as rejected:
            for error in rejected.errors:
                self.stderr.write(str(error))
            raise CommandError(
                f"Rejected: {len(rejected.errors)} problem(s); nothing was imported."
            ) from None
        self.stdout.write(
            f"Imported {result.created + result.updated} grids in {result.villages} villages "
            f"({result.created} new, {result.updated} updated, {result.removed} replaced)."
        )
        if apps.is_installed("safety_cells"):
            # The coverage tables are computed per grid: recompute them for the new grids now,
            # as the worker does after an uploaded import (grids.services.regrid.DERIVED).
            import_string("safety_cells.coverage.refresh_coverage")(reason="grid import", full=True)
            self.stdout.write("Coverage tables refreshed for the new grids.")
