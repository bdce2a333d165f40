"""`import_grids`: a valid file replaces a village's demo grids; a bad file is rejected
whole, with every bad feature and its reason, and nothing is written."""

import json

import pytest
import shapely
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from grids.models import Grid, GridOffice, Region
from grids.services.grid_import import GridImportRejected, import_grids

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english_messages():
    """Reasons are translated; assert on the English ones."""
    with translation.override("en"):
        yield


VILLAGE = "520402001004"  # 塔山社区, 南街街道, 西秀区


def _village_shape(code=VILLAGE):
    return shapely.from_wkb(bytes(Region.objects.get(code=code).boundary.wkb))


def _feature(code, geometry, **properties):
    return {
        "type": "Feature",
        "properties": {"code": code, **properties},
        "geometry": geometry if isinstance(geometry, dict) else shapely.geometry.mapping(geometry),
    }


def _collection(*features):
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def _split_village(code=VILLAGE):
    """Two real-looking grids: the village's demo boundary cut in half."""
    shape = _village_shape(code)
    minx, miny, maxx, maxy = shape.bounds
    middle = (minx + maxx) / 2
    west = shape.intersection(shapely.box(minx - 1, miny - 1, middle, maxy + 1))
    east = shape.intersection(shapely.box(middle, miny - 1, maxx + 1, maxy + 1))
    return west, east


def _grid_state():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT md5(string_agg(code || is_demo::text || ST_AsEWKB(geometry)::text, ','"
            " ORDER BY code)), count(*) FROM grids_grid"
        )
        return cursor.fetchone()


def test_valid_file_replaces_the_village_demo_grids():
    west, east = _split_village()
    office = Grid.objects.filter(village__code=VILLAGE).values_list("office__code", flat=True)[0]
    demo_before = Grid.objects.filter(village__code=VILLAGE).count()
    result = import_grids(
        raw=_collection(
            _feature(f"{VILLAGE}001", west, name="塔山一网格"),
            _feature(f"{VILLAGE}002", east, office=office),
        )
    )
    grids = Grid.objects.filter(village__code=VILLAGE).order_by("code")
    assert [(g.code, g.is_demo) for g in grids] == [
        (f"{VILLAGE}001", False),
        (f"{VILLAGE}002", False),
    ]
    assert grids[0].name == "塔山一网格"
    assert grids[1].name == "塔山社区第2网格"
    assert result.updated == 2 and result.created == 0 and result.removed == demo_before - 2
    assert abs(grids[0].geometry.area - west.area) < 1e-12


def test_importing_the_same_file_twice_gives_the_same_grids():
    west, east = _split_village()
    raw = _collection(_feature(f"{VILLAGE}001", west), _feature(f"{VILLAGE}002", east))
    import_grids(raw=raw)
    first = _grid_state()
    import_grids(raw=raw)
    assert _grid_state() == first


def test_every_bad_feature_is_reported_and_nothing_is_written():
    west, east = _split_village()
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[105.9, 26.2], [105.91, 26.21], [105.91, 26.2], [105.9, 26.21], [105.9, 26.2]]],
    }
    far_away = shapely.box(116.3, 39.9, 116.31, 39.91)  # Beijing
    office_elsewhere = GridOffice.objects.filter(code__startswith="520425").first()
    before = _grid_state()
    raw = _collection(
        _feature(f"{VILLAGE}001", west),  # 1 fine
        _feature(f"{VILLAGE}002", bowtie),  # 2 self-intersection
        _feature("999999999999001", east),  # 3 unknown village
        _feature(f"{VILLAGE}003", far_away),  # 4 outside its county
        _feature(f"{VILLAGE}004", west.buffer(-0.0001)),  # 5 overlaps feature 1
        _feature("12345", east),  # 6 malformed code
        _feature(f"{VILLAGE}001", east),  # 7 repeated code
        {"type": "Feature", "properties": {"code": f"{VILLAGE}005"}, "geometry": None},  # 8
        _feature(f"{VILLAGE}006", shapely.Point(105.9, 26.2)),  # 9 not a polygon
        _feature(f"{VILLAGE}007", east, office="52040200000000"),  # 10 unknown office
    )
    with pytest.raises(GridImportRejected) as caught:
        import_grids(raw=raw)
    reasons = {e.index: e.reason for e in caught.value.errors}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert "Self-intersection" in reasons[2]
    assert "999999999999" in reasons[3]
    assert "outside its county" in reasons[4]
    assert "overlaps feature #1" in reasons[5]
    assert "15 digits" in reasons[6]
    assert "repeats feature #1" in reasons[7]
    assert "no geometry" in reasons[8]
    assert "Point" in reasons[9]
    assert "52040200000000" in reasons[10]
    assert _grid_state() == before
    assert office_elsewhere is not None


def test_overlap_with_an_existing_real_grid_is_rejected():
    west, east = _split_village()
    import_grids(raw=_collection(_feature(f"{VILLAGE}001", west), _feature(f"{VILLAGE}002", east)))
    neighbour = Region.objects.get(code="520402001005")
    intruder = west.buffer(-0.0001)
    with pytest.raises(GridImportRejected) as caught:
        import_grids(raw=_collection(_feature(f"{neighbour.code}001", intruder)))
    reasons = [e.reason for e in caught.value.errors]
    assert any(f"existing grid {VILLAGE}001" in r for r in reasons)


@pytest.mark.parametrize(
    "raw, message",
    [
        ("not json", "Not valid JSON"),
        (json.dumps({"type": "Feature"}), "not a GeoJSON FeatureCollection"),
        (json.dumps({"type": "FeatureCollection", "features": []}), "no features"),
    ],
)
def test_unreadable_files_are_rejected(raw, message):
    before = _grid_state()
    with pytest.raises(GridImportRejected) as caught:
        import_grids(raw=raw)
    assert message in caught.value.errors[0].reason
    assert _grid_state() == before


def test_command_reports_each_bad_feature(tmp_path, capsys):
    west, _east = _split_village()
    bad = tmp_path / "bad.geojson"
    bad.write_text(_collection(_feature(f"{VILLAGE}001", west), _feature("999999999999001", west)))
    before = _grid_state()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_grids", str(bad))
    err = capsys.readouterr().err
    assert "feature #2 (999999999999001)" in err
    assert _grid_state() == before


def test_command_imports_a_good_file(tmp_path):
    west, east = _split_village()
    good = tmp_path / "good.geojson"
    good.write_text(_collection(_feature(f"{VILLAGE}001", west), _feature(f"{VILLAGE}002", east)))
    call_command("import_grids", str(good))
    assert set(Grid.objects.filter(village__code=VILLAGE).values_list("is_demo", flat=True)) == {False}


def test_admin_upload_records_the_import_and_queues_it(client, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.roles import Role
    from grids.models import GridImport
    from tests.factories import user_for_role

    client.force_login(user_for_role(Role.ADMIN))
    west, east = _split_village()
    upload = SimpleUploadedFile("tashan.geojson", _collection(_feature(f"{VILLAGE}001", west)).encode())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/admin/grids/gridimport/add/", {"source": upload})
    assert response.status_code == 302
    grid_import = GridImport.objects.get()
    assert grid_import.status == GridImport.Status.PENDING
    # The task is enqueued only once the row is committed (the storage also waits for the commit
    # to keep the stored file).
    enqueues = [c for c in callbacks if "start_grid_import" in getattr(c, "__qualname__", "")]
    assert len(enqueues) == 1
    listing = client.get("/admin/grids/gridimport/")
    assert b'http-equiv="refresh"' in listing.content
    page = client.get(f"/admin/grids/gridimport/{grid_import.pk}/change/")
    assert b"<progress" in page.content


def test_the_command_recomputes_the_coverage_tables_for_the_new_grids(tmp_path):
    """The per-grid coverage rows are derived: those of the replaced demo grids go with them and
    the command computes them for the real grids (grids.services.regrid.DERIVED)."""
    from safety_cells.coverage import refresh_coverage
    from safety_cells.models import GridCoverage

    refresh_coverage(reason="before", full=True)
    old = set(GridCoverage.objects.filter(grid__village__code=VILLAGE).values_list("grid__code", flat=True))
    assert len(old) == 3  # the demo grids 001-003
    west, east = _split_village()
    good = tmp_path / "good.geojson"
    good.write_text(_collection(_feature(f"{VILLAGE}001", west), _feature(f"{VILLAGE}002", east)))
    call_command("import_grids", str(good))
    now = set(GridCoverage.objects.filter(grid__village__code=VILLAGE).values_list("grid__code", flat=True))
    assert now == {f"{VILLAGE}001", f"{VILLAGE}002"}  # the removed demo grid's row went with it
    covered = GridCoverage.objects.filter(grid__village__code=VILLAGE)
    assert set(covered.values_list("grid__is_demo", flat=True)) == {False}


def test_every_relation_to_a_grid_is_moved_or_declared_derived():
    from grids.services.regrid import unplaced_relations

    assert unplaced_relations() == []
