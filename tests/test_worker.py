"""A task run by a real Celery worker process through the real Redis broker (not eager mode)."""

import json
import time

import pytest
import shapely
from django.core.files.base import ContentFile

from accounts.roles import Role
from grids.models import Grid, GridImport, Region
from grids.services.grid_import import start_grid_import
from tests.factories import user_for_role

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return None


def test_grid_import_is_carried_out_by_the_worker(celery_worker_process):
    village = Region.objects.get(code="520402001004")
    shape = shapely.from_wkb(bytes(village.boundary.wkb))
    payload = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": f"{village.code}001"},
                "geometry": shapely.geometry.mapping(shape),
            },
        ],
    }
    admin = user_for_role(Role.ADMIN)
    grid_import = start_grid_import(
        actor=admin, source=ContentFile(json.dumps(payload).encode(), name="tashan.geojson")
    )
    # The worker, not this process, runs it: the row changes only through the broker.
    done = _wait_for(
        lambda: GridImport.objects.filter(pk=grid_import.pk, status=GridImport.Status.SUCCEEDED).first()
    )
    assert done is not None, GridImport.objects.get(pk=grid_import.pk).status
    assert (done.progress, done.feature_count, done.imported_count) == (100, 1, 1)
    assert list(Grid.objects.filter(village=village).values_list("code", "is_demo")) == [
        (f"{village.code}001", False)
    ]


def test_a_rejected_import_records_every_error(celery_worker_process):
    payload = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "999999999999001"},
                "geometry": {"type": "Point", "coordinates": [105.9, 26.2]},
            },
        ],
    }
    grid_import = start_grid_import(
        actor=user_for_role(Role.ADMIN), source=ContentFile(json.dumps(payload).encode(), name="bad.geojson")
    )
    done = _wait_for(
        lambda: GridImport.objects.filter(pk=grid_import.pk, status=GridImport.Status.FAILED).first()
    )
    assert done is not None
    assert {e["feature"] for e in done.errors} == {1}
    assert len(done.errors) == 2  # unknown village and not a polygon
