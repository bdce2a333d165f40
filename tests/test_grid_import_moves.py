"""Real grids imported over the full demo data: every row placed in a grid moves to the real
grid that covers its point (or, without one, to a real grid of its village), in the import's
transaction; any failure leaves everything as it was and marks the import failed with its reason.
"""

import json
from datetime import timedelta

import pytest
import shapely
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone, translation

from grids.models import Grid, GridImport, GridOffice, Region
from grids.services import grid_import as grid_import_service
from grids.services.grid_import import (
    MAX_ATTEMPTS,
    requeue_stalled_grid_imports,
    run_grid_import,
)
from grids.services.regrid import DERIVED, PLACED, grid_relations, unplaced_relations
from incidents.models import Incident
from safety_cells.models import Camera
from surveys.models import AnswerDelta, Cell, Response
from surveys.services.rollup import run_rollup

pytestmark = pytest.mark.django_db

# Every placed model, with the SQL for its point (None: no point).
POINTS = {
    "incidents_incident": "t.location",
    "safety_cells_camera": "t.location::geometry",
    "surveys_response": None,
}


@pytest.fixture(autouse=True)
def english_messages():
    with translation.override("en"):
        yield


@pytest.fixture
def demo_data():
    call_command("load_anshun", demo=True, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _shape(geometry):
    return shapely.from_wkb(bytes(geometry.wkb))


def _feature(code, shape, **properties):
    return {
        "type": "Feature",
        "properties": {"code": code, **properties},
        "geometry": shapely.geometry.mapping(shape),
    }


def _halves(shape):
    minx, miny, maxx, maxy = shape.bounds
    middle = (minx + maxx) / 2
    return [
        shape.intersection(shapely.box(minx - 1, miny - 1, middle, maxy + 1)),
        shape.intersection(shapely.box(middle, miny - 1, maxx + 1, maxy + 1)),
    ]


def _city_file(overrides=None):
    """Real grids for every village that has grids: its boundary cut into a west and an east half
    (codes 101 and 102, so every demo grid is replaced); ``overrides`` maps a village code to its
    own list of features."""
    overrides = overrides or {}
    features = []
    for village in Region.objects.filter(level="village", grids__isnull=False).distinct():
        if village.code in overrides:
            features += overrides[village.code]
            continue
        for number, part in enumerate(_halves(_shape(village.boundary)), start=101):
            features.append(_feature(f"{village.code}{number}", part))
    return json.dumps({"type": "FeatureCollection", "features": features})


def _scalar(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


def _count(table, tail=""):
    return _scalar(f"SELECT count(*) FROM {table} t {tail}")  # noqa: S608 - test tables and fixed SQL


def _state():
    """A fingerprint of everything an import may touch."""
    queries = {
        "grids": "SELECT md5(string_agg(code || office_id || is_demo || ST_AsEWKB(geometry)::text, ',' "
        "ORDER BY code)) FROM grids_grid",
        "incidents": "SELECT md5(string_agg(id || '/' || grid_id || '/' || version || '/' || updated_at, ',' "
        "ORDER BY id)) FROM incidents_incident",
        "offices": "SELECT md5(string_agg(incident_id || '/' || gridoffice_id, ',' ORDER BY 1)) "
        "FROM incidents_incident_offices",
        "history": "SELECT count(*) || md5(string_agg(history_id || '/' || grid_id, ',' "
        "ORDER BY history_id)) FROM incidents_historicalincident",
        "cameras": "SELECT md5(string_agg(id || '/' || grid_id || '/' || village_id, ',' ORDER BY id)) "
        "FROM safety_cells_camera",
        "responses": "SELECT md5(string_agg(id || '/' || coalesce(grid_id, 0) || '/' || "
        "coalesce(grid_office_id, 0), ',' ORDER BY id)) FROM surveys_response",
        "answers": "SELECT md5(string_agg(id || '/' || coalesce(grid_office_id, 0), ',' ORDER BY id)) "
        "FROM surveys_answer",
        "deltas": "SELECT count(*) FROM surveys_answerdelta",
    }
    return {name: _scalar(sql) for name, sql in queries.items()}


CONSISTENT = {
    "camera in its grid's village": "SELECT count(*) FROM safety_cells_camera c "
    "JOIN grids_grid g ON g.id = c.grid_id WHERE g.village_id <> c.village_id",
    "response in its grid's village and office": "SELECT count(*) FROM surveys_response r "
    "JOIN grids_grid g ON g.id = r.grid_id "
    "WHERE g.village_id <> r.village_id OR g.office_id <> r.grid_office_id",
    "answer with its response's office": "SELECT count(*) FROM surveys_answer a "
    "JOIN surveys_response r ON r.id = a.response_id "
    "WHERE a.grid_office_id IS DISTINCT FROM r.grid_office_id",
    "incident seen by its grid's office": "SELECT count(*) FROM incidents_incident i "
    "JOIN grids_grid g ON g.id = i.grid_id WHERE NOT EXISTS (SELECT 1 FROM incidents_incident_offices o "
    "WHERE o.incident_id = i.id AND o.gridoffice_id = g.office_id)",
}
DANGLING_HISTORY = (
    "SELECT count(*) FROM incidents_historicalincident h "
    "LEFT JOIN grids_grid g ON g.id = h.grid_id WHERE g.id IS NULL"
)


def _import(raw, admin=None):
    grid_import = GridImport.objects.create(
        source=ContentFile(raw.encode(), name="real.geojson"), created_by=admin
    )
    return run_grid_import(grid_import_id=grid_import.pk)


def test_every_foreign_key_to_a_grid_is_moved_by_the_import():
    """A model that adds a grid key must say how its rows move, or imports refuse to run."""
    assert unplaced_relations() == []
    labels = {f"{model._meta.label}.{field.name}" for model, field in grid_relations()}
    assert labels == {p.label for p in PLACED} | set(DERIVED)
    assert not {p.label for p in PLACED} & set(DERIVED)
    assert {"incidents.Incident.grid", "safety_cells.Camera.grid", "surveys.Response.grid"} <= labels


def test_real_grids_over_the_full_demo_data_move_every_placed_row(demo_data):
    admin_office = GridOffice.objects.order_by("code").last()
    # A village whose real grids name another office: its responses change office, and so do their answers.
    response = (
        Response.objects.filter(grid__isnull=False).exclude(grid__office=admin_office).order_by("pk").first()
    )
    village = response.village
    old_office = response.grid_office_id
    west, east = _halves(_shape(village.boundary))
    other_office = [
        _feature(f"{village.code}101", west, office=admin_office.code),
        _feature(f"{village.code}102", east, office=admin_office.code),
    ]
    # Some history in demo grids (the demo loader writes none), and an incident placed by choosing a grid.
    changed = list(Incident.objects.order_by("pk")[:5])
    for incident in changed:
        incident.description += " (checked)"
        incident.save()
    chosen = Incident.objects.exclude(pk__in=[i.pk for i in changed]).order_by("pk").first()
    Incident.objects.filter(pk=chosen.pk).update(location=None)
    chosen_village = chosen.grid.village_id
    run_rollup(full=True)
    assert not AnswerDelta.objects.exists()

    totals = {p.model: _count(_table(p.model)) for p in PLACED}
    versions = dict(Incident.objects.values_list("pk", "version"))
    grids_of = dict(Incident.objects.values_list("pk", "grid_id"))
    assert Grid.objects.filter(is_demo=True).count() > 3000

    done = _import(_city_file({village.code: other_office}))

    assert done.status == GridImport.Status.SUCCEEDED, done.errors
    assert done.progress == 100 and done.attempts == 1
    assert not Grid.objects.filter(is_demo=True).exists()
    assert (
        Grid.objects.count()
        == 2 * Region.objects.filter(level="village", grids__isnull=False).distinct().count()
    )
    # The same rows, every one in a real grid, every point inside its grid.
    for placed in PLACED:
        if placed.only_removed:  # history: grows by the moves, checked below
            continue
        table = _table(placed.model)
        column = apps.get_model(placed.model)._meta.get_field(placed.field).column
        assert _count(table) == totals[placed.model]
        in_grids = _count(table, f"WHERE t.{column} IS NOT NULL")
        assert _count(table, f"JOIN grids_grid g ON g.id = t.{column}") == in_grids
        assert done.moved[placed.model]["placed"] == in_grids
    for table, point in POINTS.items():
        if point:
            outside = _count(
                table, f"JOIN grids_grid g ON g.id = t.grid_id WHERE NOT ST_Covers(g.geometry, {point})"
            )
            assert outside == 0, table
    assert done.moved["incidents.Incident"]["by_point"] == totals["incidents.Incident"] - 1
    assert done.moved["incidents.Incident"]["by_village"] == 1
    assert done.moved["surveys.Response"]["by_village"] == done.moved["surveys.Response"]["placed"]
    # Derived keys follow: a camera's village, a response's (and its answers') office, an incident's offices.
    for name, sql in CONSISTENT.items():
        assert _scalar(sql) == 0, name
    response.refresh_from_db()
    assert (
        response.grid.code.startswith(village.code)
        and response.grid_office_id == admin_office.pk != old_office
    )
    chosen.refresh_from_db()
    assert not chosen.grid.is_demo and chosen.grid.village_id == chosen_village
    # Moved incidents tell sync clients (version up) and their history records the move;
    # no history row is left pointing at a removed grid.
    moved = [i for i in Incident.objects.all() if i.grid_id != grids_of[i.pk]]
    assert len(moved) == done.moved["incidents.Incident"]["moved"] > 0
    assert all(i.version == versions[i.pk] + 1 for i in moved)
    history_total = _count("incidents_historicalincident")
    assert history_total == totals["incidents.HistoricalIncident"] + len(moved)
    assert done.moved["incidents.HistoricalIncident"]["placed"] == totals["incidents.HistoricalIncident"] == 5
    recorded = (
        Incident.history.filter(id__in=[i.pk for i in moved]).order_by("id", "-history_id").distinct("id")
    )
    assert {h.id: (h.grid_id, h.version) for h in recorded} == {i.pk: (i.grid_id, i.version) for i in moved}
    assert _scalar(DANGLING_HISTORY) == 0
    # The office change was queued for the rollup: the incremental run gives what a full run gives.
    assert AnswerDelta.objects.exists()
    run_rollup()
    incremental = sorted(
        Cell.objects.values_list("wave", "item", "village", "grid_office", "month", "choice", "count")
    )
    run_rollup(full=True)
    full = sorted(
        Cell.objects.values_list("wave", "item", "village", "grid_office", "month", "choice", "count")
    )
    assert incremental == full
    assert any(row[3] == admin_office.pk for row in full)


def _table(label):
    from django.apps import apps

    return apps.get_model(label)._meta.db_table


def test_a_point_goes_to_the_real_grid_that_covers_it_even_in_another_village(demo_data):
    """Village A's real grid takes in a piece of its neighbour B: B's camera and incident there
    move to A by their point; B's response (no point) stays in B; a point in a gap of the new
    outlines falls back to a real grid of its old village."""
    township = Region.objects.filter(level="township", code__startswith="520402").order_by("code").first()
    a, b = None, None
    for village in Region.objects.filter(parent=township).order_by("code"):
        piece = Grid.objects.filter(village=village).order_by("code").first()
        if piece and a is None:
            a = village
        elif (
            piece
            and Camera.objects.filter(grid=piece).exists()
            and Response.objects.filter(grid=piece).exists()
        ):
            b = village
            break
    assert a and b
    piece = Grid.objects.filter(village=b).order_by("code").first()
    piece_shape = _shape(piece.geometry)
    camera = Camera.objects.filter(grid=piece).order_by("pk").first()
    response = Response.objects.filter(grid=piece).order_by("pk").first()
    rest = Grid.objects.filter(village=b).exclude(pk=piece.pk).order_by("code").first()
    gap_camera = Camera.objects.filter(grid=rest).order_by("pk").first()
    gap = _shape(gap_camera.location).buffer(0.0003)
    b_rest = _shape(b.boundary).difference(piece_shape).difference(gap)
    raw = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                _feature(f"{a.code}101", shapely.union(_shape(a.boundary), piece_shape)),
                _feature(f"{b.code}101", b_rest),
            ],
        }
    )
    done = _import(raw)
    assert done.status == GridImport.Status.SUCCEEDED, done.errors
    camera.refresh_from_db()
    response.refresh_from_db()
    gap_camera.refresh_from_db()
    assert camera.grid.code == f"{a.code}101" and camera.village_id == a.pk
    assert response.grid.code == f"{b.code}101" and response.village_id == b.pk
    assert gap_camera.grid.code == f"{b.code}101" and gap_camera.village_id == b.pk
    assert done.moved["safety_cells.Camera"]["by_village"] >= 1


def test_a_failed_import_changes_nothing_and_says_why(demo_data):
    """Something the platform does not know refers to a demo grid (here a table of another
    system): deleting the demo grids fails after the new grids and the moves were written.
    Everything is as before, and the import is failed with the reason, not left running."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE legacy_grid_ref (grid_id bigint REFERENCES grids_grid (id))")
        cursor.execute("INSERT INTO legacy_grid_ref SELECT id FROM grids_grid ORDER BY code DESC LIMIT 1")
    before = _state()
    done = _import(_city_file())
    assert done.status == GridImport.Status.FAILED
    assert done.progress == 100 and done.finished_at is not None and done.imported_count == 0
    assert "legacy_grid_ref" in done.errors[0]["reason"]
    assert done.errors[0]["reason"].startswith("The import was not applied, nothing was changed")
    assert _state() == before
    assert Grid.objects.filter(is_demo=True).count() == Grid.objects.count()
    # It is not picked up again.
    later = timezone.now() + timedelta(hours=2)
    assert done.pk not in requeue_stalled_grid_imports(now=later)
    assert run_grid_import(grid_import_id=done.pk).status == GridImport.Status.FAILED


def test_an_unreadable_source_file_fails_the_import_at_once(tmp_path):
    grid_import = GridImport.objects.create(source=ContentFile(b"{}", name="real.geojson"))
    grid_import.source.storage.delete(grid_import.source.name)
    done = run_grid_import(grid_import_id=grid_import.pk)
    assert done.status == GridImport.Status.FAILED
    assert "FileNotFoundError" in done.errors[0]["reason"]


def test_a_stalled_import_is_retried_a_few_times_then_failed(monkeypatch):
    queued = []
    monkeypatch.setattr("grids.tasks.process_grid_import.delay", queued.append)
    long_ago = timezone.now() - timedelta(hours=1)
    retry = GridImport.objects.create(
        source=ContentFile(b"{}", name="a.geojson"),
        status=GridImport.Status.RUNNING,
        started_at=long_ago,
        attempts=1,
    )
    spent = GridImport.objects.create(
        source=ContentFile(b"{}", name="b.geojson"),
        status=GridImport.Status.RUNNING,
        started_at=long_ago,
        attempts=MAX_ATTEMPTS,
    )
    assert requeue_stalled_grid_imports() == [retry.pk]
    assert queued == [retry.pk]
    spent.refresh_from_db()
    assert spent.status == GridImport.Status.FAILED
    assert f"{MAX_ATTEMPTS} attempts" in spent.errors[0]["reason"]
    # A second beat run queues the live one again, never the failed one.
    queued.clear()
    assert requeue_stalled_grid_imports() == [retry.pk]
    # A task delivered once more after the last attempt also ends it rather than running again.
    GridImport.objects.filter(pk=retry.pk).update(attempts=MAX_ATTEMPTS)
    assert run_grid_import(grid_import_id=retry.pk).status == GridImport.Status.FAILED


def test_the_import_refuses_to_run_when_a_grid_key_has_no_rule(monkeypatch):
    monkeypatch.setattr(grid_import_service.regrid, "PLACED", PLACED[1:])
    village = Region.objects.filter(level="village", grids__isnull=False).order_by("code").first()
    before = _state()
    raw = json.dumps(
        {"type": "FeatureCollection", "features": [_feature(f"{village.code}101", _shape(village.boundary))]}
    )
    done = _import(raw)
    assert done.status == GridImport.Status.FAILED
    assert "incidents.Incident.grid" in done.errors[0]["reason"]
    assert _state() == before
