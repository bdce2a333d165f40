"""Celery tasks of the grids app: thin wrappers that pass ids to services."""

from celery import current_app, shared_task

from grids.models import GridImport
from grids.services.grid_import import requeue_stalled_grid_imports, run_grid_import


@shared_task(acks_late=True)
def process_grid_import(grid_import_id: int) -> str:
    grid_import = run_grid_import(grid_import_id=grid_import_id)
    if grid_import is not None and grid_import.status == GridImport.Status.SUCCEEDED:
        # Grids moved: the safety app's coverage tables (cameras, patrols per grid) follow.
        current_app.tasks["safety_cells.tasks.refresh_coverage"].delay(reason="grid import", full=True)
    return grid_import.status if grid_import else "missing"


@shared_task(name="grids.tasks.requeue_stalled_grid_imports")
def requeue_stalled_grid_imports_task() -> int:
    return len(requeue_stalled_grid_imports())
